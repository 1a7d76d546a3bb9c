"""Warnings over valid definitions: what loads and runs but is probably not what was meant.

Every finding here has `warning=True`: `kehoach validate` prints it with path:line:col and the
"cảnh báo:" label (findings.Problem) and still exits 0.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from engine.definitions.checks import plan_start
from engine.definitions.findings import Finding
from engine.definitions.models import Definitions, Obligation
from engine.names import fold

PLACE_WORDS = ("tỉnh", "thành phố")


def _late_due(obligation: Obligation, year: int) -> list[Finding]:
    """A due date more than one period after the end of its period (e.g. `month: 1` on an
    annual report: thirteen months after the period's last month)."""
    from engine.calendar import LegalCalendar
    from engine.periods import periods_between
    from engine.schedule import raw_due_date

    if obligation.due.rule != "day-of-month":
        return []
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    periods = periods_between(obligation.schedule, obligation.window, start, end)
    cal = LegalCalendar({})
    for period in periods:
        due, _steps = raw_due_date(obligation.due, period, cal, None)
        if obligation.due.in_month is None and obligation.due.month > 0:
            # `month` counts from the period's last month: `month: 1` on a yearly plan is
            # January of the next year, thirteen months after the period began.
            message = (
                f"'month: {obligation.due.month}' tính từ tháng cuối của kỳ, nên hạn "
                f"của kỳ {period.label} là {due.strftime('%d/%m/%Y')}; nếu muốn ghi tháng dương "
                f"lịch, dùng in_month: {due.month} (year: next nếu là năm sau)"
            )
            return [Finding("obligations", obligation.id, ("due", "month"), message, warning=True)]
        length = period.end - period.start
        if due > period.end + length + dt.timedelta(days=1):
            key = "in_month" if obligation.due.in_month is not None else "month"
            message = (
                f"hạn {due.strftime('%d/%m/%Y')} của kỳ {period.label} muộn hơn một kỳ "
                f"sau khi kỳ kết thúc ({period.end.strftime('%d/%m/%Y')}); tháng của hạn nên ghi "
                "theo tháng dương lịch: in_month (và year: next nếu là năm sau)"
            )
            return [Finding("obligations", obligation.id, ("due", key), message, warning=True)]
    return []


def _place_spellings(defs: Definitions) -> list[Finding]:
    """Bodies naming the plan's place with another spelling (dash, spaces, Unicode form): the
    document header and symbol derive from the place, so both spellings are shown."""
    place = defs.plan.place
    findings = []
    for body in sorted(defs.bodies.values(), key=lambda b: b.id):
        folded = f" {fold(body.name)}"
        for word in PLACE_WORDS:
            marker = f" {word} "
            if marker not in folded:
                continue
            tail = folded.split(marker, 1)[1]
            if tail != fold(place) or body.name.endswith(f" {place}"):
                continue
            raw = unicodedata.normalize("NFC", body.name)
            written = raw.split(marker, 1)[1] if marker in raw else tail
            nfd = unicodedata.normalize("NFC", body.name) != body.name
            message = (
                f"tên cơ quan ghi địa danh '{written.strip()}', kế hoạch ghi '{place}' "
                + (
                    "(khác cách mã hóa dấu tiếng Việt)"
                    if nfd
                    else "(khác dấu gạch hoặc khoảng trắng)"
                )
                + "; hệ thống coi là một địa danh, nên thống nhất một cách viết"
            )
            findings.append(Finding("bodies", body.id, ("name",), message, warning=True))
            break
    return findings


def _undeclared_briefing(defs: Definitions) -> list[Finding]:
    return [
        Finding(
            "obligations",
            o.id,
            ("flow",),
            "hội nghị (flow: press-briefing) không khai báo 'briefing': không có "
            "nghĩa vụ gửi nội dung trước và trả lời sau hội nghị",
            warning=True,
        )
        for o in defs.obligations.values()
        if o.flow == "press-briefing" and o.briefing is None
    ]


def _consolidations_without_source(defs: Definitions) -> list[Finding]:
    from engine.definitions.declarations import sources_of

    return [
        Finding(
            "obligations",
            o.id,
            ("flow",),
            "nghĩa vụ tổng hợp chưa có báo cáo nguồn nào (khai báo 'downstream: "
            f"{{obligation: {o.id}}}' ở nghĩa vụ nguồn): không có gì khởi động việc tổng hợp",
            warning=True,
        )
        for o in defs.obligations.values()
        if o.flow == "consolidation" and not sources_of(defs, o.id)
    ]


def _undeclared_subject(defs: Definitions) -> list[Finding]:
    """A consolidation without `report.subject`: its document's summary line falls back to the
    name in letters, which usually starts with the document type ("Báo cáo …") again."""
    from engine.definitions.declarations import sources_of
    from engine.definitions.letter_checks import sample_period_label
    from engine.letters import naming

    findings = []
    for o in sorted(defs.obligations.values(), key=lambda o: o.id):
        if o.flow != "consolidation" or not sources_of(defs, o.id):
            continue
        if o.report is not None and o.report.subject is not None:
            continue
        named = naming(o, sample_period_label(o)).named
        message = (
            f"chưa khai báo trích yếu của văn bản tổng hợp ('report.subject'): dưới chữ BÁO CÁO "
            f"sẽ ghi '{named[:1].upper()}{named[1:]}'; khai báo ví dụ 'subject: Kết quả … "
            "{period}'"
        )
        keys = ("report",) if o.report is not None else ("flow",)
        findings.append(Finding("obligations", o.id, keys, message, warning=True))
    return findings


def check_advice(defs: Definitions) -> list[Finding]:
    """Every warning over loaded, valid definitions."""
    start = plan_start(defs.plan)
    year = (start.year + 1) if start else dt.date.today().year
    findings: list[Finding] = []
    for obligation in sorted(defs.obligations.values(), key=lambda o: o.id):
        findings += _late_due(obligation, year)
    findings += _place_spellings(defs)
    findings += _undeclared_briefing(defs)
    findings += _consolidations_without_source(defs)
    findings += _undeclared_subject(defs)
    return findings
