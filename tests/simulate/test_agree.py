"""Simulation and live ticks agree: thirty days of the fixture plan run both ways — the simulator,
and `kehoach tick` (real Prefect flow runs, a real SMTP server) with the same agencies answering
on the same days — send the same letters, to the same people, on the same days."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from tests.collect.helpers import delivered
from tests.simulate.conftest import FIXTURE_DEFS, load

START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 30)
# Q1 2026 of the quarterly report: request 04/03, reminder 16/03, due 18/03, overdue 19/03,
# escalation 23/03, closed on the run after 25/03 (hand-off to the yearly summary).
PERSONAS = """
personas:
  som: {kind: punctual, days_before_due: 5}
  sau-nhac-2: {kind: after-reminders, reminders: 2}
  khong-nop: {kind: never}
  sua: {kind: revises, days_before_due: 1, revise_after: 1}
mix: {sua: 1}
bodies: {so-noi-vu: som, ubnd-son-duong: sau-nhac-2, so-tu-phap: khong-nop}
"""


def register_downstream() -> None:
    """The hand-off target, named as the engine names it (`collect/yearly-summary`)."""
    from flows.collect import collect

    collect.to_deployment(name="yearly-summary", parameters={}).apply()


def live_outbox() -> dict[str, dict]:
    from sqlalchemy import select

    from engine.ledger.models import Cycle, OutboxMessage
    from tasks import runtime

    with runtime.sessions()() as session:
        rows = session.execute(
            select(OutboxMessage, Cycle.period_key).outerjoin(
                Cycle, Cycle.id == OutboxMessage.cycle_id
            )
        ).all()
        return {
            m.message_id: {
                "kind": m.kind,
                "body": m.body_id,
                "period": period,
                "to": tuple(m.to_addrs),
                "cc": tuple(m.cc_addrs),
                "subject": m.subject,
                "text": m.text_body,
                "state": m.state,
            }
            for m, period in rows
        }


def letter(day: dt.date, message_id: str, row: dict) -> tuple:
    return (
        day,
        row["kind"],
        row["body"],
        row["period"],
        row["to"],
        row["cc"],
        row["subject"],
        row["text"],
        message_id,
    )


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_thirty_days_simulated_and_ticked_send_the_same_letters(
    prefect_server, mail_sink, kehoach_env, tmp_path: Path
) -> None:
    from cli.run_cmds import tick
    from cli.simulator.agencies import Agencies
    from cli.simulator.driver import live_wiring, simulate
    from cli.simulator.figures import mail_rows
    from cli.simulator.personas import Cast, load_personas
    from cli.simulator.runs import run_slot
    from engine.calendar import LegalCalendar
    from tasks import runtime

    kehoach_env(FIXTURE_DEFS)
    register_downstream()
    defs = load(FIXTURE_DEFS)
    personas = tmp_path / "personas.yaml"
    personas.write_text(PERSONAS, encoding="utf-8")
    cast = Cast(load_personas(personas, defs), seed=9)

    # The simulator, wired from the same environment as the live runs.
    (tmp_path / "sim").mkdir()
    run = simulate(
        defs,
        live_wiring(FIXTURE_DEFS),
        cast,
        START,
        END,
        tmp_path / "sim",
        follow_to_close=False,
    )
    texts = {c.message.message_id: c.message.text for c in run.mail}
    simulated = sorted(
        letter(
            m.day,
            m.message_id,
            {
                "kind": m.kind,
                "body": m.body_id,
                "period": m.period_key,
                "to": m.to,
                "cc": m.cc,
                "subject": m.subject,
                "text": texts[m.message_id],
            },
        )
        for m in mail_rows(run)
    )
    run.ledger.dispose()

    # The live path: `kehoach tick` on the days the deployments run, the agencies after it.
    desk = runtime.desk()
    agencies = Agencies(desk, cast, LegalCalendar(defs.calendars))
    slots = [run_slot(o) for o in defs.obligations.values()]
    sent_on: dict[str, dt.date] = {}
    day = START
    while day <= END:
        if any(slot.fires_on(day) for slot in slots):
            tick(as_of=dt.datetime.combine(day, dt.time()), obligation=None, definitions=None)
        for message_id, row in live_outbox().items():
            if row["state"] == "sent":
                sent_on.setdefault(message_id, day)
        agencies.act(day)
        day += dt.timedelta(days=1)
    outbox = live_outbox()
    live = sorted(letter(sent_on[i], i, row) for i, row in outbox.items() if i in sent_on)

    # Worked out by hand: three requests; so-noi-vu answers on 11/03 before any reminder;
    # ubnd-son-duong answers on the due date, after its second reminder; so-tu-phap never does
    # (overdue, then escalation); receipts the next run; digests on the Mondays something is owed.
    assert Counter(x[1] for x in simulated) == Counter(
        {
            "request": 3,
            "reminder": 2,
            "due-today": 2,
            "overdue": 1,
            "escalation": 1,
            "receipt": 2,
            "closed-summary": 1,
            "digest": 3,
        }
    )
    assert [x[:7] for x in live] == [x[:7] for x in simulated]  # kind, body, period, day, to, cc
    assert [x[:8] for x in live] == [x[:8] for x in simulated]  # and the very text
    # Message-IDs name their ledger (its random installation id): one each, never shared.
    live_ids, simulated_ids = {x[8] for x in live}, {x[8] for x in simulated}
    assert len(live_ids) == len(live) and len(simulated_ids) == len(simulated)
    assert not live_ids & simulated_ids
    # Everything the live outbox holds went out through the SMTP server, once each.
    assert all(row["state"] == "sent" for row in outbox.values())
    on_wire = Counter(str(m["Message-ID"]) for m in delivered(mail_sink.mail_dir))
    assert on_wire == Counter(list(outbox))
