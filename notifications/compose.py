"""From a decision to a letter: build the template context a SendMessage needs, then render it.

Everything here reads the definitions and the ledger snapshot; nothing writes. The simulator
uses the same function with a captured transport, so simulated and live letters are the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from engine.bodies import resolve_target, role_holder
from engine.definitions.coverage import walk
from engine.definitions.models import Definitions, Obligation
from engine.ledger.snapshot import AssignmentView, CycleView, LedgerSnapshot
from engine.ledger.states import AWAITING
from engine.periods import period_for_key
from engine.tokens import sign
from notifications.contexts import (
    Addressee,
    AttachmentRules,
    ClauseRef,
    ClosedSummaryContext,
    DueTodayContext,
    EscalationContext,
    FieldAsk,
    ObligationRef,
    OverdueContext,
    ReminderContext,
    RequestContext,
    Signature,
    Submitted,
)
from notifications.render import RenderedMessage, Renderer

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
RUNG_KINDS = ("reminder", "due-today", "overdue", "escalation")


@dataclass(frozen=True)
class Links:
    """How form links are made: the portal's base URL and the signing key."""

    portal_url: str
    secret: str

    def form_url(self, assignment_id: int, expires_on: dt.date) -> str:
        return f"{self.portal_url.rstrip('/')}/s/{sign(assignment_id, expires_on, self.secret)}"


def period_label(obligation: Obligation, cycle: CycleView) -> str:
    period = period_for_key(
        obligation.schedule, obligation.window, cycle.period_key, on=cycle.period_start
    )
    return period.label


def obligation_ref(defs: Definitions, obligation: Obligation, on: dt.date) -> ObligationRef:
    titles = {c.id: c.title for c in walk(defs.plan.clauses)}
    plan = defs.plan
    issuer = defs.bodies.get(plan.issuer)
    plan_ref = f"Kế hoạch số {plan.number} của {issuer.name if issuer else plan.issuer}"
    return ObligationRef(
        title=obligation.title,
        plan_ref=f"{plan_ref} ({plan.title})" if plan.title else plan_ref,
        clauses=[ClauseRef(c, titles.get(c, "")) for c in obligation.clauses],
        report_to=_recipient_name(defs, obligation, on),
    )


def _recipient_name(defs: Definitions, obligation: Obligation, on: dt.date) -> str:
    target = obligation.recipient
    body = defs.bodies.get(target.body) if target.body else None
    if target.role:
        body = role_holder(defs, target.role, on)
    return body.name if body else "cơ quan tiếp nhận"


def signature(defs: Definitions, obligation: Obligation, on: dt.date) -> Signature:
    """Letters speak for the body that receives the results (usually the lead department)."""
    addresses = resolve_target(defs, obligation.recipient, None, on)
    return Signature(
        name=_recipient_name(defs, obligation, on),
        contact_email=addresses[0] if addresses else None,
    )


def _body_name(defs: Definitions, body_id: str, fallback: str) -> str:
    body = defs.bodies.get(body_id)
    return body.name if body else fallback


def _chase_context(
    defs: Definitions,
    obligation: Obligation,
    cycle: CycleView,
    assignment: AssignmentView,
    kind: str,
    today: dt.date,
    links: Links,
    snapshot: LedgerSnapshot,
    cc: tuple[str, ...],
) -> object:
    common = {
        "addressee": Addressee(_body_name(defs, assignment.body_id, assignment.body_name)),
        "obligation": obligation_ref(defs, obligation, today),
        "period_label": period_label(obligation, cycle),
        "due_on": assignment.due_on,
        "signature": signature(defs, obligation, today),
    }
    form_url = links.form_url(assignment.id, cycle.closes_on)
    late_days = (today - assignment.due_on).days
    if kind == "request":
        rules = obligation.form.attachments
        return RequestContext(
            **common,
            form_url=form_url,
            fields=[FieldAsk(f.label, f.required, f.help) for f in obligation.form.fields],
            attachments=AttachmentRules(list(rules.types), rules.max_mb, rules.max_files)
            if rules.max_files
            else None,
            rule_due_on=cycle.rule_due_on,
            rule_due_passed=cycle.rule_due_on is not None and cycle.rule_due_on < today,
        )
    if kind == "reminder":
        return ReminderContext(**common, form_url=form_url, days_left=-late_days)
    if kind == "due-today":
        return DueTodayContext(**common, form_url=form_url)
    if kind == "overdue":
        return OverdueContext(**common, form_url=form_url, days_overdue=late_days)
    sent = sum(
        1
        for m in snapshot.outbox
        if m.cycle_id == cycle.id and m.body_id == assignment.body_id and m.kind in RUNG_KINDS
    )
    common["addressee"] = Addressee(f"Thủ trưởng {common['addressee'].name}")
    return EscalationContext(
        **common,
        form_url=form_url,
        days_overdue=late_days,
        requested_on=assignment.requested_on or cycle.opened_on,
        reminders_sent=sent,
        cc=list(cc),
    )


def _summary_context(
    defs: Definitions, obligation: Obligation, cycle: CycleView, today: dt.date
) -> ClosedSummaryContext:
    on_time, late, missing = [], [], []
    for a in cycle.assignments:
        name = _body_name(defs, a.body_id, a.body_name)
        if a.state in AWAITING or a.state == "closed-missing":
            missing.append(name)
        elif a.last_submitted_at is not None:
            submitted = Submitted(name, a.last_submitted_at)
            vn_day = a.last_submitted_at.astimezone(VIETNAM).date()
            (late if vn_day > a.due_on else on_time).append(submitted)
    return ClosedSummaryContext(
        addressee=Addressee(_recipient_name(defs, obligation, today)),
        obligation=obligation_ref(defs, obligation, today),
        period_label=period_label(obligation, cycle),
        due_on=cycle.due_on,
        signature=Signature(name="Hệ thống kehoach"),
        closed_on=today,
        on_time=on_time,
        late=late,
        missing=missing,
    )


def compose(
    renderer: Renderer,
    defs: Definitions,
    message: object,
    snapshot: LedgerSnapshot,
    today: dt.date,
    links: Links,
) -> RenderedMessage:
    """Render one decided message (engine.decisions.SendMessage) into subject, text and HTML."""
    obligation = defs.obligations[message.obligation_id]
    cycle = next(c for c in snapshot.cycles if c.id == message.cycle_id)
    if message.kind == "closed-summary":
        return renderer.render("closed-summary", _summary_context(defs, obligation, cycle, today))
    assignment = cycle.assignment(message.body_id)
    if assignment is None:
        raise LookupError(f"no assignment of {message.body_id} in cycle {cycle.id}")
    context = _chase_context(
        defs, obligation, cycle, assignment, message.kind, today, links, snapshot, message.cc
    )
    rung = next((r for r in obligation.ladder if r.id == message.rung), None)
    # A rung sent as another kind (a due-today reached only after its day goes as an overdue
    # notice) uses that kind's template, not the rung's own.
    own = rung is not None and rung.template and rung.kind.value == message.kind
    template = rung.template if own else message.kind
    return renderer.render(template, context)
