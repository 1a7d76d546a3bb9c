"""Checks of what a plan declares instead of what the engine used to guess from names: a
consolidation's recipients, sources and recorded fields; a briefing's companions and the fields
its minutes fill. Each finding names the key an administrator must fix (path:line:col).
"""

from __future__ import annotations

import datetime as dt

from engine.definitions.findings import Finding
from engine.definitions.models import (
    Cadence,
    Definitions,
    FieldType,
    Obligation,
    Schedule,
    Window,
)
from engine.periods import PERIODIC, periods_between

# Cadences a consolidation can have: calendar periods, so sources' periods can end with them.
CONSOLIDATING = frozenset(PERIODIC)
NUMERIC = (FieldType.integer, FieldType.decimal)
# What each minutes fact needs of the field it fills.
MINUTES_TYPES: dict[str, tuple[FieldType, ...]] = {
    "held_on": (FieldType.date,),
    "form_of": (FieldType.choice, FieldType.text),
    "chair": (FieldType.text, FieldType.long_text),
    "attendees": NUMERIC,
    "items": NUMERIC,
    "questions": NUMERIC,
    "answered": NUMERIC,
    "conclusion": (FieldType.long_text, FieldType.text),
    "open_questions": (FieldType.long_text, FieldType.text),
}
RECORD_TYPES: dict[str, tuple[FieldType, ...]] = {
    "number": (FieldType.text,),
    "signed_on": (FieldType.date,),
    "bodies_reported": NUMERIC,
    "bodies_missing": NUMERIC,
}


def sources_of(defs: Definitions, obligation_id: str) -> list[Obligation]:
    """The obligations whose `downstream` names this one, by id."""
    return [
        o
        for o in sorted(defs.obligations.values(), key=lambda o: o.id)
        if o.downstream is not None and o.downstream.obligation == obligation_id
    ]


def can_consolidate(source: Cadence, consolidation: Cadence) -> bool:
    """Whether every period of `source` ends with a period of `consolidation` no longer than
    itself: the same periods, or a longer source ending with one of them (an annual report
    feeds the year cycle of "6 tháng và năm" or the second half-year). Tried on one calendar
    year: these cadences repeat every year."""
    if source not in CONSOLIDATING or consolidation not in CONSOLIDATING:
        return False
    window, first, last = Window(name="calendar"), dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    ends = {
        p.end: p.start for p in periods_between(Schedule(every=consolidation), window, first, last)
    }
    return all(
        p.end in ends and ends[p.end] >= p.start
        for p in periods_between(Schedule(every=source), window, first, last)
    )


def _field(obligation: Obligation, field_id: str):
    return next((f for f in obligation.form.fields if f.id == field_id), None)


def _field_findings(
    obligation: Obligation,
    item: tuple[str, str],
    keys: tuple,
    field_id: str,
    types: tuple[FieldType, ...],
    owner: Obligation | None = None,
) -> list[Finding]:
    owner = owner or obligation
    field = _field(owner, field_id)
    if field is None:
        known = ", ".join(f.id for f in owner.form.fields)
        message = f"biểu mẫu của '{owner.id}' không có trường '{field_id}' (có: {known})"
        return [Finding(*item, keys, message)]
    if field.type not in types:
        wanted = " hoặc ".join(t.value for t in types)
        message = f"trường '{field_id}' của '{owner.id}' có kiểu {field.type.value}, cần {wanted}"
        return [Finding(*item, keys, message)]
    return []


def _check_report(defs: Definitions, obligation: Obligation) -> list[Finding]:
    item = ("obligations", obligation.id)
    findings: list[Finding] = []
    if obligation.report is not None and obligation.flow != "consolidation":
        message = "'report' chỉ dùng với flow: consolidation"
        return [Finding(*item, ("report",), message)]
    if obligation.flow != "consolidation":
        return []
    if obligation.schedule.every not in CONSOLIDATING:
        message = (
            f"nghĩa vụ tổng hợp cần kỳ theo tháng, quý, 6 tháng, 6 tháng và năm hoặc năm; "
            f"'{obligation.schedule.every.value}' không tổng hợp được"
        )
        findings.append(Finding(*item, ("schedule", "every"), message))
    # No source at all is a warning (engine.definitions.advice): nothing would start it.
    sources = sources_of(defs, obligation.id)
    for source in sources:
        every = source.schedule.every
        if obligation.schedule.every in CONSOLIDATING and not can_consolidate(
            every, obligation.schedule.every
        ):
            message = (
                f"kỳ '{every.value}' của '{source.id}' không khớp kỳ "
                f"'{obligation.schedule.every.value}' của nghĩa vụ tổng hợp "
                f"'{obligation.id}': nguồn phải cùng kỳ hoặc kỳ dài hơn kết thúc cùng lúc"
            )
            if obligation.schedule.every == Cadence.half_yearly_and_annual:
                # The usual slip: a half-yearly source whose second half is not a year's data.
                message += (
                    "; kỳ thứ hai của lịch 6 tháng và năm là cả năm, nên nguồn cần lịch "
                    "'half-yearly-and-annual' hoặc 'annual'"
                )
            findings.append(
                Finding("obligations", source.id, ("downstream", "obligation"), message)
            )
        elif source.window.start_day != obligation.window.start_day:
            message = (
                f"khung số liệu ('window') của '{source.id}' khác của nghĩa vụ tổng hợp "
                f"'{obligation.id}': kỳ không kết thúc cùng ngày"
            )
            findings.append(Finding("obligations", source.id, ("window",), message))
    spec = obligation.report
    if spec is None:
        return findings
    findings += _check_subject(obligation)
    for index, target in enumerate(spec.recipients):
        if target.mailbox is not None:
            message = "nơi nhận báo cáo là 'role' hoặc 'body', không phải 'mailbox'"
            findings.append(Finding(*item, ("report", "recipients", index, "mailbox"), message))
    for fact, field_id in spec.record.items():
        keys = ("report", "record", fact)
        findings += _field_findings(obligation, item, keys, field_id, RECORD_TYPES[fact])
    for total, source_field in spec.totals.items():
        keys = ("report", "totals", total)
        findings += _field_findings(obligation, item, keys, total, NUMERIC)
        if not any(
            f.id == source_field and f.type in NUMERIC for s in sources for f in s.form.fields
        ):
            message = f"không báo cáo nguồn nào có trường số liệu '{source_field}'"
            findings.append(Finding(*item, keys, message))
    for field_id in spec.sections:
        keys = ("report", "sections", field_id)
        types = (FieldType.long_text, FieldType.text)
        findings += _field_findings(obligation, item, keys, field_id, types)
    return findings


def _check_subject(obligation: Obligation) -> list[Finding]:
    """The document's summary line reads as written: no cadence word its period repeats, no
    word written twice where the period goes in."""
    subject = obligation.report.subject if obligation.report else None
    if subject is None:
        return []
    # Imported here: engine.letters imports the models this module checks.
    from engine.definitions.letter_checks import sample_period_label
    from engine.letters import cadence_words, repeated_words, with_period

    label = sample_period_label(obligation)
    line = with_period(subject, label)
    keys = ("obligations", obligation.id), ("report", "subject")
    bare = cadence_words(subject)
    if bare:
        message = (
            f"trích yếu có '{bare[0]}' trong khi kỳ đã ghi '{label}' (văn bản sẽ ghi '{line}'); "
            "bỏ từ chỉ kỳ, hoặc ghi '{period}' ở chỗ ghi kỳ"
        )
        return [Finding(*keys[0], keys[1], message)]
    return [
        Finding(*keys[0], keys[1], f"văn bản sẽ ghi '{line}': từ '{twice}' lặp lại liền nhau")
        for twice in dict.fromkeys(repeated_words(line))
    ]


def _companion(
    defs: Definitions, obligation: Obligation, key: str, companion_id: str | None
) -> tuple[Obligation | None, list[Finding]]:
    if companion_id is None:
        return None, []
    item = ("obligations", obligation.id)
    companion = defs.obligations.get(companion_id)
    if companion is None:
        message = f"nghĩa vụ '{companion_id}' không tồn tại"
        return None, [Finding(*item, ("briefing", key), message)]
    if companion.id == obligation.id or companion.flow != "collect":
        message = f"nghĩa vụ đi kèm '{companion_id}' phải là nghĩa vụ thu thập (flow: collect)"
        return None, [Finding(*item, ("briefing", key), message)]
    if key == "items" and companion.schedule.every != obligation.schedule.every:
        message = f"nghĩa vụ '{companion_id}' phải cùng kỳ với hội nghị ('{key}')"
        return None, [Finding(*item, ("briefing", key), message)]
    if key == "followups" and companion.schedule.every != Cadence.event:
        message = f"nghĩa vụ '{companion_id}' phải khởi động theo sự kiện (every: event)"
        return None, [Finding(*item, ("briefing", key), message)]
    return companion, []


def _check_briefing(defs: Definitions, obligation: Obligation) -> list[Finding]:
    item = ("obligations", obligation.id)
    spec = obligation.briefing
    if spec is not None and obligation.flow != "press-briefing":
        return [Finding(*item, ("briefing",), "'briefing' chỉ dùng với flow: press-briefing")]
    if spec is None:
        return []
    items, findings = _companion(defs, obligation, "items", spec.items)
    _followups, more = _companion(defs, obligation, "followups", spec.followups)
    findings += more
    text = (FieldType.text, FieldType.long_text)
    for key, field_id in (("item_title", spec.item_title), ("item_presenter", spec.item_presenter)):
        if field_id is None:
            continue
        if items is None:
            if spec.items is None:
                message = f"'{key}' cần khai báo 'items'"
                findings.append(Finding(*item, ("briefing", key), message))
            continue
        findings += _field_findings(obligation, item, ("briefing", key), field_id, text, items)
    if spec.item_none is not None and items is not None:
        keys = ("briefing", "item_none", "field")
        wrong = _field_findings(
            obligation, item, keys, spec.item_none.field, (FieldType.choice,), items
        )
        findings += wrong
        field = _field(items, spec.item_none.field)
        if not wrong and field is not None and spec.item_none.value not in field.choices:
            message = (
                f"'{spec.item_none.value}' không phải lựa chọn của trường '{field.id}' "
                f"(có: {'; '.join(field.choices)})"
            )
            findings.append(Finding(*item, ("briefing", "item_none", "value"), message))
    if spec.minutes and "held_on" not in spec.minutes:
        message = "'minutes' cần 'held_on' (trường ngày tổ chức hội nghị)"
        findings.append(Finding(*item, ("briefing", "minutes"), message))
    for fact, field_id in spec.minutes.items():
        keys = ("briefing", "minutes", fact)
        findings += _field_findings(obligation, item, keys, field_id, MINUTES_TYPES[fact])
    return findings


def check_declarations(defs: Definitions) -> list[Finding]:
    """Findings about consolidation and briefing declarations."""
    findings: list[Finding] = []
    for obligation in defs.obligations.values():
        findings += _check_report(defs, obligation)
        findings += _check_briefing(defs, obligation)
    return findings
