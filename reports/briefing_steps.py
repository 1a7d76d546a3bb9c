"""The press briefing's own steps as plain functions (no Prefect): send the pack with the
invitations, find the briefing whose minutes are due, record the minutes and hand out the
follow-up questions. Each step is a reconciliation: repeating it queues and records nothing new.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from engine.bodies import resolve_responsible
from engine.definitions.models import Body
from engine.forms import validate_submission
from engine.ledger import cycles as ledger_cycles
from engine.ledger.assignments import record_submission
from engine.ledger.outbox import outbox_key
from engine.ledger.results import cycle_results
from engine.ledger.snapshot import CycleView, load_open_state
from engine.letters import naming
from engine.periods import event_period, period_for_key
from engine.schedule import cycle_dates
from notifications.contexts import Addressee, Signature
from notifications.documents import queue_documents
from reports.briefing import BriefingSetup, Pack, agenda, collect_pack, invitees, pack_day
from reports.briefing_pack import PackFiles, pack_title, render_pack
from reports.consolidate import REPORTED
from reports.letters import renderer
from reports.minutes import FollowUp, Minutes, follow_ups, minutes_record, submission_values
from reports.office import Office

log = logging.getLogger("kehoach.briefing")
INVITATION = "doc-invitation"
AWAITED, RECORDED = "minutes-awaited", "minutes-recorded"


@dataclass(frozen=True)
class Briefing:
    """One month's briefing as the ledger holds it."""

    cycle: CycleView
    period_label: str
    title: str  # the briefing's declared name with its period ('letter.name')
    briefing_on: dt.date
    pack_on: dt.date


def host(office: Office, setup: BriefingSetup) -> Body:
    """The body holding the briefing (and writing its minutes): the obligation's responsible."""
    return resolve_responsible(office.defs, setup.briefing, office.today)[0]


def briefings(office: Office, setup: BriefingSetup) -> list[Briefing]:
    with office.sessions() as session:
        snapshot = load_open_state(session, setup.briefing.id)
    result = []
    for cycle in snapshot.cycles:
        if not cycle.assignments:
            continue  # finished and handed off: nothing left to do
        period = period_for_key(setup.briefing.schedule, setup.briefing.window, cycle.period_key)
        result.append(
            Briefing(
                cycle,
                period.label,
                naming(setup.briefing, period.label).named,
                cycle.due_on,
                pack_day(office.cal, cycle.due_on),
            )
        )
    return result


def _pack(office: Office, setup: BriefingSetup, briefing: Briefing) -> Pack:
    with office.sessions() as session:
        return collect_pack(
            office.defs,
            session,
            setup,
            briefing.cycle.period_key,
            briefing.period_label,
            briefing.briefing_on,
            host(office, setup),
        )


def _pack_files(office: Office, setup: BriefingSetup, briefing: Briefing, fresh: bool) -> PackFiles:
    folder = office.reports_dir / setup.briefing.id / briefing.cycle.period_key
    stem = f"tai-lieu-giao-ban-bao-chi-{briefing.cycle.period_key}"
    existing = PackFiles(folder / f"{stem}.docx", folder / f"{stem}.html")
    if not fresh and existing.docx.is_file() and existing.html.is_file():
        # Invitations already went out with these files: late invitees get the same pack.
        return existing
    return render_pack(office.defs, _pack(office, setup, briefing), folder, office.today)


def send_packs(office: Office, setup: BriefingSetup) -> list[str]:
    """On pack day (and until the briefing), compile the pack and queue the invitations."""
    sent = []
    with office.sessions() as session:
        keys = load_open_state(session, setup.briefing.id).outbox_keys
    for briefing in briefings(office, setup):
        if not (
            briefing.cycle.is_open and briefing.pack_on <= office.today <= briefing.briefing_on
        ):
            continue
        organiser = host(office, setup)
        guests = [b for b in invitees(office.defs, setup, office.today) if b.id != organiser.id]
        wanted = {
            b.id: outbox_key(briefing.cycle.id, b.id, "giay-moi", INVITATION)
            for b in guests
            if b.mailboxes.to
        }
        todo = [b for b in guests if b.id in wanted and wanted[b.id] not in keys]
        if not todo:
            continue
        files = _pack_files(office, setup, briefing, fresh=len(todo) == len(wanted))
        pack = _pack(office, setup, briefing)
        rows = []
        for body in todo:
            rendered = renderer().render(
                "press-invitation",
                {
                    "addressee": Addressee(body.name),
                    "signature": Signature(organiser.name, organiser.mailboxes.to[0]),
                    "title": pack_title(pack),
                    "briefing_on": briefing.briefing_on,
                    "agenda": agenda(pack),
                    "items": pack.items,
                    "files": [files.docx.name],
                },
            )
            rows.append(
                office.letter(
                    rendered,
                    key=wanted[body.id],
                    cycle_id=briefing.cycle.id,
                    body_id=body.id,
                    kind=INVITATION,
                    rung="giay-moi",
                    to=list(body.mailboxes.to),
                )
            )
        # The HTML pack stays beside the DOCX (and its content is in the letter itself): the
        # sender inlines an attached .html into the message body instead of attaching it.
        queued = queue_documents(
            office.sessions,
            rows,
            [files.docx],
            domain=office.mail_domain,
            now=office.now,
        )
        log.info(
            "Briefing %s: pack compiled, %d invitations queued", briefing.cycle.period_key, queued
        )
        sent.append(briefing.cycle.period_key)
    return sent


def minutes_due(office: Office, setup: BriefingSetup) -> Briefing | None:
    """The earliest briefing past its date whose minutes nobody has recorded yet."""
    organiser = host(office, setup)
    for briefing in briefings(office, setup):
        mine = briefing.cycle.assignment(organiser.id)
        if (
            briefing.cycle.is_open
            and briefing.briefing_on < office.today
            and mine is not None
            and mine.latest_version == 0
        ):
            return briefing
    return None


def awaiting_run(office: Office, briefing: Briefing) -> str | None:
    """The flow run last noted as waiting for this briefing's minutes."""
    noted = office.events(briefing.cycle.id, AWAITED)
    return noted[-1]["flow_run_id"] if noted else None


def note_awaiting(office: Office, briefing: Briefing, flow_run_id: str) -> None:
    if awaiting_run(office, briefing) != flow_run_id:
        office.note(briefing.cycle.id, AWAITED, {"flow_run_id": flow_run_id})


def default_answer_due(office: Office, setup: BriefingSetup, held_on: dt.date) -> dt.date:
    """When a question without a date must be answered: the follow-up obligation's rule."""
    if setup.followups is None:
        return office.cal.add_working_days(held_on, 10)
    period = event_period("giao-ban", held_on)
    return cycle_dates(setup.followups, period, office.cal, event_on=held_on).due_on


def record_minutes(
    office: Office, setup: BriefingSetup, briefing: Briefing, minutes: Minutes
) -> list[FollowUp]:
    """Record the briefing as held, note the minutes, open and send the follow-ups."""
    organiser = host(office, setup)
    assignment = briefing.cycle.assignment(organiser.id)
    pack = _pack(office, setup, briefing)
    filled = submission_values(setup.briefing.form, minutes, len(pack.items), setup.spec.minutes)
    values = validate_submission(setup.briefing.form, filled)
    if assignment is not None:
        with office.sessions() as session:
            record_submission(
                session,
                assignment.id,
                values,
                [],
                "operator",
                minutes.recorded_by,
                office.now,
                office.today,
                allow_late=True,
            )
    if not office.events(briefing.cycle.id, RECORDED):
        office.note(briefing.cycle.id, RECORDED, minutes_record(minutes))
    items = follow_ups(minutes, office.cal)
    if items and setup.followups is not None:
        _open_follow_ups(office, setup, briefing, minutes, items)
    return items


def _open_follow_ups(
    office: Office,
    setup: BriefingSetup,
    briefing: Briefing,
    minutes: Minutes,
    items: list[FollowUp],
) -> None:
    followups = setup.followups
    period = event_period(f"giao-ban-{briefing.cycle.period_key}".lower(), minutes.held_on)
    last_due = max(i.due_on for i in items)
    closes_on = office.cal.roll_forward(office.cal.shift(last_due, followups.grace))[0]
    coordinators = resolve_responsible(office.defs, followups, office.today)
    bodies = [(i.body_id, i.body_name, i.due_on) for i in items]
    bodies += [
        (b.id, b.name, last_due) for b in coordinators if b.id not in {i.body_id for i in items}
    ]
    with office.sessions() as session:
        opening = ledger_cycles.open_cycle(
            session,
            followups.id,
            period,
            last_due,
            closes_on,
            office.defs.digest,
            bodies,
            office.today,
            now=office.now,
        )
        results = cycle_results(session, opening.cycle.id)
    by_body = {i.body_id: i for i in items}
    everything = [q for i in items for q in i.questions]
    rows, asked = [], []
    for entry in results.entries:
        a = entry.assignment
        body = office.defs.bodies.get(a.body_id)
        if body is None or not body.mailboxes.to or entry.latest is not None or a.state in REPORTED:
            continue
        mine = by_body.get(a.body_id)
        rendered = renderer().render(
            "press-followup",
            {
                "addressee": Addressee(body.name),
                "signature": Signature(host(office, setup).name),
                "title": briefing.title,
                "held_on": minutes.held_on,
                "questions": mine.questions if mine else everything,
                "coordinator": mine is None,
                "due_on": a.due_on,
                "form_url": office.links.form_url(a.id, closes_on),
            },
        )
        # The engine's own request key: the collect ladder then reminds from the next day on
        # instead of sending its generic request, which cannot list the questions.
        rows.append(
            office.letter(
                rendered,
                key=outbox_key(opening.cycle.id, body.id, None, "request"),
                cycle_id=opening.cycle.id,
                body_id=body.id,
                kind="request",
                rung=None,
                to=list(body.mailboxes.to),
            )
        )
        asked.append(a.id)
    office.enqueue(rows)
    with office.sessions() as session:
        ledger_cycles.mark_requested(session, asked, office.today, now=office.now)


def held_briefings(office: Office, setup: BriefingSetup) -> list[dt.date]:
    """The dates of the briefings recorded as held (the field declared `minutes.held_on`)."""
    field_id = setup.spec.minutes.get("held_on")
    if field_id is None:
        return []
    held = []
    with office.sessions() as session:
        snapshot = load_open_state(session, setup.briefing.id)
        for cycle in snapshot.cycles:
            for entry in cycle_results(session, cycle.id).entries:
                value = entry.latest.fields.get(field_id) if entry.latest else None
                if value:
                    held.append(dt.date.fromisoformat(str(value)))
    return sorted(held)


def pack_folder(office: Office, setup: BriefingSetup, period_key: str) -> Path:
    return office.reports_dir / setup.briefing.id / period_key
