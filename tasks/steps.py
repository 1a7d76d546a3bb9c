"""The steps of a collect tick as plain functions (no Prefect), so the Prefect tasks stay thin
and the simulator and tests can run the very same code.

Each step is a reconciliation: it reads the ledger, asks the pure decision code what is due, and
writes the difference. Running a step twice for the same date changes nothing the second time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from engine.calendar import LegalCalendar
from engine.decisions import Decision, HandOff, decide, openings
from engine.definitions.models import Definitions, Obligation
from engine.ledger import addresses as ledger_addresses
from engine.ledger import cycles as ledger_cycles
from engine.ledger import outbox as ledger_outbox
from engine.ledger import ticks as ledger_ticks
from engine.ledger.snapshot import LedgerSnapshot, load_cycles, load_open_state
from engine.periods import periods_between
from engine.vndates import short_date
from notifications.compose import REPLY_KINDS, Links, compose
from notifications.render import Renderer

# The drain lives in tasks.delivery; callers know it as a step of the tick.
from tasks.delivery import drain_outbox, worker_id  # noqa: F401

log = logging.getLogger("kehoach.collect")

# Periods are looked for this far around the tick's date: a cycle can open up to a year
# before its window ends (annual plans) and be chased for weeks after.
HORIZON = dt.timedelta(days=400)


@dataclass
class TickEnv:
    """What every step needs: the definitions, the ledger, rendering and the clock."""

    defs: Definitions
    sessions: sessionmaker[Session]
    renderer: Renderer
    links: Links
    mail_domain: str
    today: dt.date
    now: dt.datetime
    cal: LegalCalendar = field(init=False)

    def __post_init__(self) -> None:
        self.cal = LegalCalendar(self.defs.calendars)

    def snapshot(self, obligation_id: str) -> LedgerSnapshot:
        obligation = self.defs.obligations.get(obligation_id)
        hands_off = obligation is None or obligation.downstream is not None
        with self.sessions() as session:
            return load_open_state(session, obligation_id, hands_off=hands_off)

    def opened_cycles(self, obligation_id: str) -> LedgerSnapshot:
        """The obligation's cycles without their assignments: enough to know what is open."""
        with self.sessions() as session:
            return load_cycles(session, obligation_id)


@dataclass
class TickOutcome:
    opened: list[str] = field(default_factory=list)
    added: int = 0
    enqueued: int = 0
    skipped: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    handoffs: list[HandOff] = field(default_factory=list)
    late_starts: list[str] = field(default_factory=list)  # Vietnamese notes, one per cycle


def day_off(env: TickEnv) -> str | None:
    """Why the tick's date is not a working day (runs then do nothing), or None."""
    return env.cal.day_off_reason(env.today)


def refused_date(env: TickEnv, obligation_id: str, *, force: bool = False) -> dt.date | None:
    """Record this tick's date for the obligation; the later date already ticked when the
    tick goes back in time (and is not forced): then nothing must be sent."""
    with env.sessions() as session:
        return ledger_ticks.advance_tick(
            session, obligation_id, env.today, force=force, now=env.now
        )


def back_in_time_message(obligation_id: str, day: dt.date, latest: dt.date) -> str:
    """The Vietnamese warning for a refused tick."""
    return (
        f"{obligation_id}: không chạy cho ngày {short_date(day)} vì đã chạy đến ngày "
        f"{short_date(latest)}; chạy lùi ngày có thể gửi thư đã lỗi thời nên không gửi gì. "
        "Nếu thật sự cần, chạy lại với --force-date."
    )


def open_due_cycles(env: TickEnv, obligation: Obligation, outcome: TickOutcome) -> None:
    """Open every cycle whose request date has come (idempotent: get-or-create in the ledger)."""
    periods = periods_between(
        obligation.schedule, obligation.window, env.today - HORIZON, env.today + HORIZON
    )
    for opening in openings(
        env.defs, env.cal, obligation, env.opened_cycles(obligation.id), periods, env.today
    ):
        with env.sessions() as session:
            result = ledger_cycles.open_cycle(
                session,
                obligation.id,
                opening.period,
                opening.due_on,
                opening.closes_on,
                env.defs.digest,
                opening.bodies,
                env.today,
                now=env.now,
                rule_due_on=opening.rule_due_on,
                due_note=opening.due_note,
            )
        if result.created:
            outcome.opened.append(opening.period.key)
            log.info(
                "Mở kỳ %s của «%s» cho %d cơ quan.",
                opening.period.label,
                obligation.title,
                len(opening.bodies),
            )
            if opening.due_note:
                outcome.late_starts.append(f"{opening.period.key}: {opening.due_note}")


def _decide(
    env: TickEnv,
    obligation: Obligation,
    outcome: TickOutcome,
) -> tuple[Decision, LedgerSnapshot]:
    snapshot = env.snapshot(obligation.id)
    decision = decide(env.defs, env.cal, obligation, snapshot, env.today)
    if not decision.additions:
        return decision, snapshot
    # The definitions now name bodies the open cycle lacks: add them (never remove), re-read.
    for addition in decision.additions:
        cycle = next(c for c in snapshot.cycles if c.id == addition.cycle_id)
        with env.sessions() as session:
            result = ledger_cycles.open_cycle(
                session,
                obligation.id,
                _PeriodOf(cycle),
                cycle.due_on,
                cycle.closes_on,
                cycle.definitions_digest,
                addition.bodies,
                env.today,
                now=env.now,
            )
        outcome.added += len(result.added_bodies)
    snapshot = env.snapshot(obligation.id)
    return decide(env.defs, env.cal, obligation, snapshot, env.today), snapshot


@dataclass(frozen=True)
class _PeriodOf:
    """The period of a cycle already in the ledger, in the shape open_cycle takes."""

    cycle: object

    @property
    def key(self) -> str:
        return self.cycle.period_key

    @property
    def start(self) -> dt.date:
        return self.cycle.period_start

    @property
    def end(self) -> dt.date:
        return self.cycle.period_end


def enqueue_and_close(env: TickEnv, obligation: Obligation, outcome: TickOutcome) -> None:
    """Render what is due into the outbox in one batch, then close cycles past their grace."""
    decision, snapshot = _decide(env, obligation, outcome)
    rows = []
    failing = _failing_addresses(env) if decision.messages else {}
    for message in decision.messages:
        message = _without_failing(message, failing)
        if not message.to:
            outcome.skipped.append(message.key)
            log.warning(
                "%s chưa có địa chỉ thư: thư %s không gửi được.",
                env.defs.bodies[message.body_id].name
                if message.body_id in env.defs.bodies
                else message.body_id,
                message.key,
            )
            continue
        rendered = compose(env.renderer, env.defs, message, snapshot, env.today, env.links)
        headers = _reply_headers(env, message, snapshot)
        rows.append(
            {
                "key": message.key,
                "cycle_id": message.cycle_id,
                "body_id": message.body_id,
                "kind": message.kind,
                "rung": message.rung,
                "to_addrs": list(message.to),
                "cc_addrs": list(message.cc),
                "subject": rendered.subject,
                "text_body": rendered.text,
                "html_body": rendered.html,
                **({"headers": headers} if headers else {}),
            }
        )
    asked = {(m.cycle_id, m.body_id) for m in decision.messages if m.kind == "request"}
    requested = [a.id for c in snapshot.cycles for a in c.assignments if (c.id, a.body_id) in asked]
    with env.sessions() as session:
        outcome.enqueued += ledger_outbox.enqueue(
            session, rows, domain=env.mail_domain, now=env.now
        )
        if requested:
            ledger_cycles.mark_requested(session, requested, env.today, now=env.now)
    for close in decision.closes:
        with env.sessions() as session:
            result = ledger_cycles.close_cycle(session, close.cycle_id, env.today, now=env.now)
        if result.closed_now:
            outcome.closed.append(close.period_key)
            log.info(
                "Đóng kỳ %s của «%s»; cơ quan chưa nộp: %s.",
                close.period_key,
                obligation.title,
                ", ".join(result.missing_bodies) or "không",
            )
    outcome.handoffs.extend(decision.handoffs)


def _failing_addresses(env: TickEnv) -> dict[str, set[str]]:
    with env.sessions() as session:
        failing = ledger_addresses.failing_addresses(session)
    result: dict[str, set[str]] = {}
    for f in failing:
        result.setdefault(f.body_id, set()).add(f.address)
    return result


def _without_failing(message, failing: dict[str, set[str]]):
    """The message without the addresses of its body that bounced (a reply intake saw the
    delivery report): chasing a dead address only hides that the body cannot be reached."""
    dead = failing.get(message.body_id)
    if not dead:
        return message
    return dataclasses.replace(
        message,
        to=tuple(a for a in message.to if a.lower() not in dead),
        cc=tuple(a for a in message.cc if a.lower() not in dead),
    )


def _reply_headers(env: TickEnv, message, snapshot: LedgerSnapshot) -> dict[str, str]:
    """Reply-To with the assignment's token, for the letters that ask for the report."""
    if message.kind not in REPLY_KINDS or not env.links.reply_mailbox:
        return {}
    cycle = next(c for c in snapshot.cycles if c.id == message.cycle_id)
    assignment = cycle.assignment(message.body_id)
    invite = env.links.reply_invite(assignment.id) if assignment else None
    return {"Reply-To": invite.address} if invite else {}
