"""The monthly press briefing as data: its companion obligations, its dates, its pack.

A briefing obligation (`flow: press-briefing`) declares its companions under `briefing:`: the
items the participants send before it (`items`, a collect obligation of the same periods) and
the questions it hands out afterwards (`followups`, event-started, one round per briefing), with
the item fields that give a title and a presenter and the form fields the minutes fill.
The briefing date is the briefing cycle's due date; the pack goes out PACK_LEAD working days
before it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.bodies import resolve_responsible
from engine.calendar import LegalCalendar
from engine.definitions.models import (
    Body,
    BodyKind,
    BriefingSpec,
    Definitions,
    FieldType,
    Obligation,
)
from engine.ledger.cycles import get_cycle
from engine.ledger.results import cycle_results
from engine.letters import naming
from reports.consolidate import REPORTED, ReportError

PACK_LEAD = 2  # working days between the pack and the briefing (the plan's practice)


@dataclass(frozen=True)
class BriefingSetup:
    briefing: Obligation
    items: Obligation | None
    followups: Obligation | None
    spec: BriefingSpec = BriefingSpec()

    @property
    def obligations(self) -> list[Obligation]:
        return [o for o in (self.briefing, self.items, self.followups) if o is not None]


def briefing_setup(defs: Definitions, obligation_id: str) -> BriefingSetup:
    briefing = defs.obligations.get(obligation_id)
    if briefing is None or briefing.flow != "press-briefing":
        raise ReportError(f"'{obligation_id}' không phải nghĩa vụ hội nghị giao ban báo chí.")
    spec = briefing.briefing or BriefingSpec()
    return BriefingSetup(
        briefing,
        defs.obligations.get(spec.items) if spec.items else None,
        defs.obligations.get(spec.followups) if spec.followups else None,
        spec,
    )


def pack_day(cal: LegalCalendar, briefing_on: dt.date) -> dt.date:
    return cal.add_working_days(briefing_on, -PACK_LEAD)


def invitees(defs: Definitions, setup: BriefingSetup, on: dt.date) -> list[Body]:
    """Participants (whoever owes items) and every press body existing that day, by id."""
    found: dict[str, Body] = {}
    if setup.items is not None:
        found.update((b.id, b) for b in resolve_responsible(defs, setup.items, on))
    for body in defs.bodies.values():
        if body.kind == BodyKind.co_quan_bao_chi and body.exists_on(on):
            found.setdefault(body.id, body)
    return [found[k] for k in sorted(found)]


@dataclass(frozen=True)
class PackItem:
    body_name: str
    title: str
    presenter: str
    sections: tuple[tuple[str, str], ...]  # (label, text) of the long texts given
    attachments: tuple[str, ...]


@dataclass(frozen=True)
class Pack:
    period_key: str
    period_label: str
    title: str  # the briefing's declared name with its period ('letter.name')
    briefing_on: dt.date
    host: Body
    items: tuple[PackItem, ...]
    nothing: tuple[str, ...]  # answered "no content this time"
    missing: tuple[str, ...]  # sent nothing
    direction: str = ""  # the declared programme line on the authority's direction


def _no_content(setup: BriefingSetup, values: dict) -> bool:
    """The declared "nothing this time" answer (`briefing.item_none`)."""
    none = setup.spec.item_none
    return none is not None and str(values.get(none.field, "")) == none.value


def _value(values: dict, field_id: str | None):
    return values.get(field_id) if field_id else None


def collect_pack(
    defs: Definitions,
    session: Session,
    setup: BriefingSetup,
    period_key: str,
    period_label: str,
    briefing_on: dt.date,
    host: Body,
) -> Pack:
    """What the participants sent for this briefing, as the ledger holds it now."""
    items: list[PackItem] = []
    nothing: list[str] = []
    missing: list[str] = []
    cycle = get_cycle(session, setup.items.id, period_key) if setup.items else None
    if cycle is not None:
        fields = setup.items.form.fields
        for entry in cycle_results(session, cycle.id).entries:
            a = entry.assignment
            name = defs.bodies[a.body_id].name if a.body_id in defs.bodies else a.body_name
            if entry.latest is None or a.state not in REPORTED:
                missing.append(name)
                continue
            values = entry.latest.fields
            if _no_content(setup, values):
                nothing.append(name)
                continue
            sections = tuple(
                (f.label, str(values[f.id]).strip())
                for f in fields
                if f.type == FieldType.long_text and str(values.get(f.id) or "").strip()
            )
            first_line = sections[0][1].splitlines()[0] if sections else "Nội dung đề nghị"
            items.append(
                PackItem(
                    body_name=name,
                    title=str(_value(values, setup.spec.item_title) or first_line).strip(),
                    presenter=str(_value(values, setup.spec.item_presenter) or "").strip(),
                    sections=sections,
                    attachments=tuple(f.file_name for f in entry.latest.attachments),
                )
            )
    return Pack(
        period_key=period_key,
        period_label=period_label,
        title=naming(setup.briefing, period_label).named,
        briefing_on=briefing_on,
        host=host,
        items=tuple(items),
        nothing=tuple(nothing),
        missing=tuple(missing),
        direction=setup.spec.direction,
    )


def agenda(pack: Pack) -> list[tuple[str, str]]:
    """(what, who) lines of the briefing's programme."""
    host = pack.host.name
    lines = [("Khai mạc, giới thiệu thành phần dự hội nghị", host)]
    if pack.direction:
        lines.append((pack.direction, "Lãnh đạo chủ trì"))
    for item in pack.items:
        lines.append(
            (item.title, f"{item.body_name}" + (f" ({item.presenter})" if item.presenter else ""))
        )
    lines += [
        ("Trao đổi, trả lời câu hỏi, đề nghị của cơ quan báo chí", "Các cơ quan liên quan"),
        ("Kết luận hội nghị", "Lãnh đạo chủ trì"),
    ]
    return lines
