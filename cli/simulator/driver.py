"""The year simulator: the live tick steps, day by day, on a fake clock and a throwaway ledger.

Each simulated day does what `kehoach tick` does for every obligation in force — open due
cycles, enqueue and close, drain the outbox, hand off closed cycles — through tasks.steps, the
very functions the Prefect tasks wrap; only the transport differs (mail is captured, not sent)
and hand-offs run in-process instead of starting a deployment. Then the simulated agencies
answer, through the portal's own submit function. Prefect is never imported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cli.simulator.agencies import Agencies, Answer, answer_moment
from cli.simulator.capture import CapturedMessage, CaptureTransport
from cli.simulator.documents import DocumentDesk
from cli.simulator.handoffs import HandOffRecord, HandOffs, annual_available
from cli.simulator.ledger import Ledger, SimulatedTickEnv, SnapshotCache
from cli.simulator.personas import Cast, SimulatedEvent
from cli.simulator.runs import run_slot
from engine.bodies import resolve_responsible
from engine.decisions import HandOff
from engine.definitions.models import Definitions, Obligation
from engine.digest import digest_week, weekly_digests
from engine.ledger import cycles as ledger_cycles
from engine.periods import event_period
from engine.plan import obligation_active
from engine.schedule import cycle_dates
from notifications.compose import Links
from notifications.digest import queue_weekly_digests
from notifications.receipts import Desk
from notifications.render import Renderer
from tasks import steps

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
# Operators record an outside event in the morning.
TICK_TIME = dt.time(7, 30)
DIGEST_TIME = dt.time(8, 0)
# Cycles opened in the simulated range are followed to their close, but not forever.
MAX_TAIL_DAYS = 120
ONE_DAY = dt.timedelta(days=1)


def tick_moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, TICK_TIME, tzinfo=VIETNAM).astimezone(dt.UTC)


def digest_moment(day: dt.date) -> dt.datetime:
    """When the weekly digest's deployment runs (flows.deployments.DIGEST_CRON)."""
    return dt.datetime.combine(day, DIGEST_TIME, tzinfo=VIETNAM).astimezone(dt.UTC)


@dataclass(frozen=True)
class Wiring:
    """Rendering and links as the live runtime builds them (tasks.runtime), minus Prefect."""

    renderer: Renderer
    links: Links
    mail_domain: str


def live_wiring(definitions_dir: Path) -> Wiring:
    """Templates, form links and Message-ID domain as a live tick would use them (tasks.runtime),
    without creating a secret file: a simulation leaves nothing behind."""
    from engine.settings import get_settings
    from notifications.sender import SmtpSettings

    custom = definitions_dir / "templates"
    settings = get_settings()
    mail_from = SmtpSettings().mail_from
    return Wiring(
        renderer=Renderer(custom if custom.is_dir() else None),
        links=Links(settings.portal_url, settings.secret_key or "kehoach-simulation"),
        mail_domain=mail_from.rsplit("@", 1)[-1],
    )


@dataclass
class SimulationRun:
    """Everything a simulation did; figures.py turns it into numbers."""

    defs: Definitions
    start: dt.date
    end: dt.date
    last_day: dt.date
    ledger: Ledger
    mail: list[CapturedMessage]
    refused_mail: list[tuple[dt.date, Any, str]]
    answers: list[Answer]
    handoffs: list[HandOffRecord]
    opened: list[tuple[dt.date, str, str]] = field(default_factory=list)
    closed: list[tuple[dt.date, str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    events: list[SimulatedEvent] = field(default_factory=list)
    events_ignored: list[SimulatedEvent] = field(default_factory=list)
    annual_available: bool = False
    snapshot_loads: int = 0

    @property
    def sessions(self) -> Any:
        return self.ledger.sessions


def _consolidates(defs: Definitions) -> bool:
    """Whether some obligation hands off to a consolidation (so documents may be made)."""
    return any(
        o.downstream and defs.obligations[o.downstream.obligation].flow == "consolidation"
        for o in defs.obligations.values()
        if o.downstream and o.downstream.obligation in defs.obligations
    )


class Simulation:
    """One simulated deployment: its ledger, its clock, its mailbox, its agencies."""

    def __init__(
        self,
        defs: Definitions,
        wiring: Wiring,
        cast: Cast,
        work_dir: Path,
        out_dir: Path | None,
        *,
        reuse_snapshots: bool = True,
    ) -> None:
        self.defs = defs
        self.ledger = Ledger(work_dir / "ledger.db")
        self.cache = SnapshotCache(self.ledger)
        self.transport = CaptureTransport()
        self.env = SimulatedTickEnv(
            defs=defs,
            sessions=self.ledger.sessions,
            renderer=wiring.renderer,
            links=wiring.links,
            mail_domain=wiring.mail_domain,
            today=dt.date.min,
            now=dt.datetime.min.replace(tzinfo=dt.UTC),
        )
        # One TickEnv (so one legal calendar, whose holiday tables are costly) for the run.
        self.env.cache = self.cache if reuse_snapshots else None
        desk = Desk(
            defs,
            self.ledger.sessions,
            wiring.renderer,
            wiring.links,
            wiring.mail_domain,
            work_dir / "files",
            # Personas answer on a simulated clock; folding receipts guards the live portal
            # against floods, and would only blur the simulated year's letter counts.
            receipt_interval=dt.timedelta(0),
        )
        self.agencies = Agencies(desk, cast, self.env.cal, self.ledger.changes)
        documents = None
        if out_dir is not None and annual_available() and _consolidates(defs):
            documents = DocumentDesk(defs, self.ledger.path, work_dir)
        self.handoffs = HandOffs(defs, self.ledger.sessions, out_dir, documents)
        self.answers: list[Answer] = []
        self.opened: list[tuple[dt.date, str, str]] = []
        self.closed: list[tuple[dt.date, str, str]] = []
        self.skipped: list[str] = []
        self.slots = {o.id: run_slot(o) for o in defs.obligations.values()}
        self.digest_done: str | None = None

    def _on(self, day: dt.date, moment: dt.datetime) -> SimulatedTickEnv:
        self.env.today, self.env.now = day, moment
        self.transport.day = day
        return self.env

    def open_events(self, day: dt.date, events: list[SimulatedEvent]) -> None:
        """Event-started cycles open on their request day, as an operator recording it would."""
        for item in events:
            obligation = self.defs.obligations[item.obligation]
            period = event_period(item.name, item.on)
            dates = cycle_dates(obligation, period, self.env.cal, item.on)
            if max(dates.request_on, item.on) != day:
                continue
            bodies = resolve_responsible(self.defs, obligation, day)
            with self.cache.acting([obligation.id]), self.ledger.sessions() as session:
                result = ledger_cycles.open_cycle(
                    session,
                    obligation.id,
                    period,
                    dates.due_on,
                    dates.closes_on,
                    self.defs.digest,
                    [(b.id, b.name, dates.due_on) for b in bodies],
                    day,
                    now=tick_moment(day),
                )
            if result.created:
                self.opened.append((day, obligation.id, period.key))

    def run_day(self, day: dt.date, *, openings: bool = True) -> None:
        """The day's scheduled runs, in time order, and the agencies' answers in office hours."""
        by_moment: dict[dt.datetime, list[Obligation]] = {}
        for obligation in self.defs.obligations.values():
            slot = self.slots[obligation.id]
            # A run on a day off of the legal calendar returns at once (flows.collect).
            working = self.env.cal.is_working_day(day)
            if working and obligation_active(obligation, day) and slot.fires_on(day):
                by_moment.setdefault(slot.moment(day), []).append(obligation)
        answered = digested = False
        for moment in sorted(by_moment):
            if not digested and moment > digest_moment(day):
                self.digest(day)
                digested = True
            if not answered and moment > answer_moment(day):
                self.answer(day)
                answered = True
            self.runs(day, moment, by_moment[moment], openings=openings)
        if not digested:
            self.digest(day)
        if not answered:
            self.answer(day)

    def runs(
        self,
        day: dt.date,
        moment: dt.datetime,
        obligations: list[Obligation],
        *,
        openings: bool = True,
    ) -> None:
        """The collect runs that start together, as `kehoach tick` runs them: one by one."""
        env = self._on(day, moment)
        handoffs: list[tuple[str, HandOff]] = []
        for obligation in obligations:
            outcome = steps.TickOutcome()
            with self.cache.acting([obligation.id]):
                if openings:
                    steps.open_due_cycles(env, obligation, outcome)
                steps.enqueue_and_close(env, obligation, outcome)
            self.opened += [(day, obligation.id, key) for key in outcome.opened]
            self.closed += [(day, obligation.id, key) for key in outcome.closed]
            self.skipped += outcome.skipped
            handoffs += [(obligation.id, h) for h in outcome.handoffs]
        self._drain()
        for obligation_id, handoff in handoffs:
            with self.cache.acting([obligation_id]):
                self.handoffs.deliver(day, obligation_id, handoff, moment)

    def digest(self, day: dt.date) -> None:
        """The weekly digest's run (flows/digest.py): daily at its own time, after the
        morning's collect runs; it acts on the week's first working day only."""
        env = self._on(day, digest_moment(day))
        week = digest_week(env.cal, day)
        if week is None or week == self.digest_done or not self._digest_owed(week, day):
            # The live call would queue nothing (already queued, or nothing owed): skipped.
            return
        # Digest rows belong to no cycle: no obligation's snapshot changes.
        with self.cache.acting(()):
            if queue_weekly_digests(
                self.defs, env.sessions, env.renderer, env.mail_domain, day, env.now
            ):
                self.digest_done = week
        self._drain()

    def _digest_owed(self, week: str, day: dt.date) -> bool:
        """Whether the live digest call would queue anything: the same pure function over the
        same (cached) snapshots. When it would not, the call is skipped, not imitated."""
        snapshots = [self.env.snapshot(o) for o in self.defs.obligations]
        return bool(weekly_digests(self.defs, snapshots, week, day))

    def answer(self, day: dt.date) -> None:
        self.cache.settle()
        answers = self.agencies.act(day)
        # A submission writes its own assignment, cycle and receipt: its obligation only.
        self.cache.forget({a.obligation_id for a in answers})
        self.answers += answers

    def _drain(self) -> None:
        # Each live collect run drains the whole outbox; one drain after the runs that start
        # together sends the same messages on the same day.
        self.cache.settle()
        before = len(self.transport.captured) + len(self.transport.refused)
        steps.drain_outbox(self.ledger.sessions, self.transport, clock=lambda: self.env.now)
        if len(self.transport.captured) + len(self.transport.refused) > before:
            self.cache.forget_unsent()

    def open_cycles_remain(self) -> bool:
        return self.handoffs.open_cycles_remain()


def simulate(
    defs: Definitions,
    wiring: Wiring,
    cast: Cast,
    start: dt.date,
    end: dt.date,
    work_dir: Path,
    *,
    out_dir: Path | None = None,
    follow_to_close: bool = True,
    progress: Callable[[dt.date], None] | None = None,
    reuse_snapshots: bool = True,
    while_documents: Callable[[list[CapturedMessage]], None] | None = None,
) -> SimulationRun:
    """Tick every day from start to end, then (optionally) until the cycles opened are closed.

    `while_documents` gets the captured mail once the last day has run, while the document
    worker may still be rendering: work on the letters then overlaps the wait for it.
    """
    simulation = Simulation(defs, wiring, cast, work_dir, out_dir, reuse_snapshots=reuse_snapshots)
    events = [e for e in cast.personas.events if start <= e.on <= end]
    day, last = start, end
    try:
        while day <= end:
            simulation.open_events(day, events)
            simulation.run_day(day)
            if progress:
                progress(day)
            day += ONE_DAY
        # After the range no new cycle opens; the open ones run to their close and hand-off.
        while follow_to_close and simulation.open_cycles_remain():
            if day > end + dt.timedelta(MAX_TAIL_DAYS):
                break
            simulation.run_day(day, openings=False)
            if progress:
                progress(day)
            last = day
            day += ONE_DAY
        if while_documents:
            while_documents(simulation.transport.captured)
    except BaseException:
        simulation.handoffs.abandon()
        raise
    return SimulationRun(
        defs=defs,
        start=start,
        end=end,
        last_day=last,
        ledger=simulation.ledger,
        mail=simulation.transport.captured,
        refused_mail=simulation.transport.refused,
        answers=simulation.answers,
        handoffs=simulation.handoffs.finish(),
        opened=simulation.opened,
        closed=simulation.closed,
        skipped=simulation.skipped,
        events=events,
        events_ignored=[e for e in cast.personas.events if e not in events],
        annual_available=annual_available(),
        snapshot_loads=simulation.cache.loads,
    )
