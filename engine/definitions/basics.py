"""What every definition model shares: strict models, ids, clause ids, e-mail addresses."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
Id = Annotated[str, Field(pattern=ID_PATTERN, description="Định danh: chữ thường, số, gạch nối.")]
# The plan's own numbering: Roman parts, then numbers, letters or Roman numerals (II.4.a).
CLAUSE_PATTERN = r"^[IVXLC]+(\.([0-9]+|[a-zđ]|[IVXLC]+))*$"
ClauseId = Annotated[
    str,
    Field(
        pattern=CLAUSE_PATTERN,
        description="Số hiệu mục của kế hoạch như kế hoạch ghi, ví dụ III.3, II.4.a, I.2.b.",
    ),
]
# Deliberately simple: the validator reports the exact address, and real relays reject the rest.
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
Email = Annotated[str, Field(description="Địa chỉ thư điện tử.")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


def check_emails(values: list[str]) -> list[str]:
    for value in values:
        if not EMAIL_RE.match(value):
            raise ValueError(f"địa chỉ thư không hợp lệ: {value!r}")
    return values
