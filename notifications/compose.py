"""From a decision to a letter: build the template context a SendMessage needs, then render it.

Everything here reads the definitions and the ledger snapshot; nothing writes. The simulator
uses the same function with a captured transport, so simulated and live letters are the same.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from engine import letters
from engine.bodies import role_holder, successors_on
from engine.definitions.coverage import walk
from engine.definitions.models import Definitions, Obligation
from engine.ledger.snapshot import AssignmentView, CycleView, LedgerSnapshot
from engine.ledger.states import AWAITING
from engine.periods import period_for_key
from engine.tokens import reply_address, sign, sign_reply
from notifications.contexts import (
    Addressee,
    AttachmentRules,
    AuthorityRef,
    ClauseRef,
    ClosedSummaryContext,
    DueTodayContext,
    EscalationContext,
    FieldAsk,
    ObligationRef,
    OverdueContext,
    ReminderContext,
    ReplyInvite,
    RequestContext,
    Signature,
    Submitted,
)
from notifications.render import RenderedMessage, Renderer

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
RUNG_KINDS = ("reminder", "due-today", "overdue", "escalation")
# Letters that ask for the report, so they invite a reply carrying it.
REPLY_KINDS = ("request", *RUNG_KINDS)

# Generic, not plan-specific: who signs the notices the tracking system writes about itself.
SYSTEM_NAME = "Hệ thống theo dõi thực hiện kế hoạch"


class Links:
    """How form links are made: the portal's base URL and the signing key (kept out of repr)."""

    __slots__ = ("portal_url", "_key", "reply_mailbox")

    def __init__(
        self, portal_url: str, secret: str | SecretStr, reply_mailbox: str | None = None
    ) -> None:
        self.portal_url = portal_url
        self._key = secret if isinstance(secret, SecretStr) else SecretStr(secret)
        # The province's intake mailbox (KEHOACH_REPLY_TO); None: letters do not invite replies.
        self.reply_mailbox = reply_mailbox

    @property
    def secret(self) -> str:
        return self._key.get_secret_value()

    def __repr__(self) -> str:
        return (
            f"Links(portal_url={self.portal_url!r}, secret=SecretStr('**********'), "
            f"reply_mailbox={self.reply_mailbox!r})"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Links)
            and other.portal_url == self.portal_url
            and other.secret == self.secret
            and other.reply_mailbox == self.reply_mailbox
        )

    def __hash__(self) -> int:
        return hash(self.portal_url)

    def form_url(self, assignment_id: int, expires_on: dt.date, revision: int = 0) -> str:
        """The personal link; `revision` counts the returns for revision so far."""
        token = sign(assignment_id, expires_on, self.secret, revision)
        return f"{self.portal_url.rstrip('/')}/s/{token}"

    def reply_invite(self, assignment_id: int) -> ReplyInvite | None:
        """The Reply-To (plus-address with the assignment's token) and the token, if replies
        are taken."""
        if not self.reply_mailbox:
            return None
        return ReplyInvite(
            address=reply_address(self.reply_mailbox, assignment_id, self.secret),
            reference=sign_reply(assignment_id, self.secret),
        )


def period_label(obligation: Obligation, cycle: CycleView) -> str:
    period = period_for_key(
        obligation.schedule, obligation.window, cycle.period_key, on=cycle.period_start
    )
    return period.label


def obligation_ref(
    defs: Definitions, obligation: Obligation, on: dt.date, period_label: str
) -> ObligationRef:
    """The obligation as a letter cites it for one period (every phrase from the definitions)."""
    titles = _clause_titles(defs)
    plan_ref = letters.plan_citation(defs)
    report_to = _recipient_name(defs, obligation, on)
    words = letters.naming(obligation, period_label)
    names = letters.authority(defs)
    return ObligationRef(
        title=obligation.title,
        plan_ref=plan_ref,
        clauses=[ClauseRef(c, titles.get(c, "")) for c in obligation.clauses],
        report_to=report_to,
        named=words.named,
        action=words.action,
        task=words.task,
        result=words.result,
        duty=letters.duty(words, report_to, declared_result=obligation.letter.result is not None),
        citation=f"{plan_ref} ({letters.clause_citation(defs, list(obligation.clauses))})",
        authority=AuthorityRef(names.level, names.name, names.body),
    )


_TITLES: dict[int, tuple[Definitions, dict[str, str]]] = {}


def _clause_titles(defs: Definitions) -> dict[str, str]:
    """Clause titles by id, once per loaded Definitions (checked by identity)."""
    entry = _TITLES.get(id(defs))
    if entry is None or entry[0] is not defs:
        if len(_TITLES) > 16:
            _TITLES.clear()
        entry = _TITLES[id(defs)] = (defs, {c.id: c.title for c in walk(defs.plan.clauses)})
    return entry[1]


def _recipient_name(defs: Definitions, obligation: Obligation, on: dt.date) -> str:
    target = obligation.recipient
    body = defs.bodies.get(target.body) if target.body else None
    if target.role:
        body = role_holder(defs, target.role, on)
    return body.name if body else "cơ quan tiếp nhận"


def signature(defs: Definitions, obligation: Obligation, on: dt.date) -> Signature:
    """Letters speak for the obligation's declared sender (by default the body receiving the
    results), on behalf of the authority where one is declared: never as the authority itself."""
    sender = letters.sender_of(defs, obligation, on)
    body = letters.party_body(defs, sender, on)
    principal = letters.party_body(defs, sender.on_behalf_of, on) if sender.on_behalf_of else None
    return Signature(
        name=body.name if body else _recipient_name(defs, obligation, on),
        contact_email=body.mailboxes.to[0] if body and body.mailboxes.to else None,
        on_behalf_of=principal.name if principal else None,
    )


def system_signature() -> Signature:
    """Notices the system writes about itself (closing summaries, digests)."""
    return Signature(name=SYSTEM_NAME)


def _body_name(defs: Definitions, body_id: str, fallback: str) -> str:
    body = defs.bodies.get(body_id)
    return body.name if body else fallback


def copied_bodies(
    defs: Definitions, obligation: Obligation, rung_id: str | None, body_id: str, on: dt.date
) -> list[str]:
    """The bodies an escalation also goes to ("Đồng gửi"), by name: the rung's roles and bodies
    other than the addressee (the addressee's own head and cc mailboxes are the addressee)."""
    rung = next((r for r in obligation.ladder if r.id == rung_id), None)
    if rung is None:
        return []
    names: list[str] = []
    for target in [*rung.escalate_to, *rung.cc]:
        if target.role is not None:
            holder = role_holder(defs, target.role, on)
            found = [holder] if holder is not None else []
        elif target.body is not None:
            found = successors_on(defs, target.body, on)
        else:
            continue
        names += [b.name for b in found if b.id != body_id]
    return list(dict.fromkeys(names))


def _chase_context(
    defs: Definitions,
    obligation: Obligation,
    cycle: CycleView,
    assignment: AssignmentView,
    kind: str,
    today: dt.date,
    links: Links,
    snapshot: LedgerSnapshot,
    rung_id: str | None,
) -> object:
    label = period_label(obligation, cycle)
    common = {
        "addressee": Addressee(_body_name(defs, assignment.body_id, assignment.body_name)),
        "obligation": obligation_ref(defs, obligation, today, label),
        "period_label": label,
        "due_on": assignment.due_on,
        "signature": signature(defs, obligation, today),
    }
    if kind in REPLY_KINDS:
        common["reply"] = links.reply_invite(assignment.id)
    form_url = links.form_url(assignment.id, cycle.closes_on, assignment.link_revision)
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
        return DueTodayContext(**common, form_url=form_url, sent_on=today)
    if kind == "overdue":
        return OverdueContext(**common, form_url=form_url, days_overdue=late_days)
    sent = sum(
        1
        for m in snapshot.outbox
        if m.cycle_id == cycle.id and m.body_id == assignment.body_id and m.kind in RUNG_KINDS
    )
    return EscalationContext(
        **common,
        form_url=form_url,
        days_overdue=late_days,
        requested_on=assignment.requested_on or cycle.opened_on,
        reminders_sent=sent,
        # The signer's own copy is its record, not a recipient's: it is not "Đồng gửi".
        cc=[
            name
            for name in copied_bodies(defs, obligation, rung_id, assignment.body_id, today)
            if name != common["signature"].name
        ],
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
    label = period_label(obligation, cycle)
    return ClosedSummaryContext(
        addressee=Addressee(_recipient_name(defs, obligation, today)),
        obligation=obligation_ref(defs, obligation, today, label),
        period_label=label,
        due_on=cycle.due_on,
        signature=system_signature(),
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
        defs, obligation, cycle, assignment, message.kind, today, links, snapshot, message.rung
    )
    rung = next((r for r in obligation.ladder if r.id == message.rung), None)
    # A rung sent as another kind (a due-today reached only after its day goes as an overdue
    # notice) uses that kind's template, not the rung's own.
    own = rung is not None and rung.template and rung.kind.value == message.kind
    template = rung.template if own else message.kind
    return renderer.render(template, context)
