"""An email policy that parses and folds each distinct header once.

Writing a year of letters as .eml spends most of its time in the email package parsing and
folding headers (Vietnamese subjects become encoded words), yet a year has a few hundred
distinct subjects, a few hundred addressees, one date per working day and a handful of MIME
headers for thousands of letters. The header objects are immutable once made, so sharing them
between messages yields exactly the bytes the standard policy writes.
"""

from __future__ import annotations

from email.policy import EmailPolicy
from typing import Any


class CachingPolicy(EmailPolicy):
    """email.policy.default, with header parsing and folding memoised per instance.

    One instance is meant for one batch of letters: the caches grow with the distinct headers
    it sees and go away with it.
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        # Policies are read-only after construction; clone() shares these dicts, which is
        # correct because the fold key below carries every setting a fold depends on.
        object.__setattr__(self, "_parsed", {})
        object.__setattr__(self, "_folded", {})

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if hasattr(value, "name") or not isinstance(value, str):
            return super().header_store_parse(name, value)
        key = (name, value)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = super().header_store_parse(name, value)
            self._parsed[key] = parsed
        return parsed

    def fold_binary(self, name: str, value: Any) -> bytes:
        # Keyed on the header object itself, not its text: two sources with the same decoded
        # text may fold differently. The entry keeps the object alive, so its id stays unique.
        key = (
            name,
            id(value),
            self.max_line_length,
            self.linesep,
            self.utf8,
            self.cte_type,
            self.refold_source,
        )
        entry = self._folded.get(key)
        if entry is not None and entry[0] is value:
            return entry[1]
        folded = super().fold_binary(name, value)
        self._folded[key] = (value, folded)
        return folded
