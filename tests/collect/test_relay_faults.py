"""Delivery when the relay misbehaves: refused connections, a relay that hangs, refusals.

A "full tick" here is what `kehoach tick` does for every obligation in force, through the very
step functions the Prefect tasks wrap (tasks.steps), on a fake clock; the relay is a real SMTP
server on loopback (tests/relay.py) switched between refusing, hanging and accepting.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.ledger.models import OutboxMessage
from engine.plan import obligation_active
from tasks import runtime, steps
from tests.relay import Relay

REPO = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 2, 2)
T0 = dt.datetime(2026, 2, 2, 0, 30, tzinfo=dt.UTC)

pytestmark = pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)


@pytest.fixture
def relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kehoach_env):
    kehoach_env(REPO / "definitions")
    with Relay(tmp_path / "mail") as relay:
        monkeypatch.setenv("KEHOACH_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("KEHOACH_SMTP_PORT", str(relay.port))
        runtime.reset()
        yield relay


def full_tick(at: dt.datetime, day: dt.date = DAY) -> list:
    """Every obligation in force, each with its own drain, as a tick's flows do."""
    env = runtime.tick_env(day)
    env.now = at
    reports = []
    for obligation in env.defs.obligations.values():
        if not obligation_active(obligation, day):
            continue
        outcome = steps.TickOutcome()
        steps.open_due_cycles(env, obligation, outcome)
        steps.enqueue_and_close(env, obligation, outcome)
        reports.append(
            steps.drain_outbox(
                env.sessions, runtime.sender(), clock=lambda: at, policy=runtime.retry_policy()
            )
        )
    return reports


def rows() -> list[OutboxMessage]:
    with runtime.sessions()() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_relay_refusing_for_the_first_minute_costs_one_attempt(relay: Relay) -> None:
    relay.refuse()
    full_tick(T0)
    queued = rows()
    assert len(queued) >= 20 and relay.delivered() == []
    assert {r.state for r in queued} == {"pending"}
    # The first drain found the relay down and paused the others: one attempt, not twenty.
    assert sum(r.attempts for r in queued) <= steps.drain_outbox.__globals__["DRAIN_BATCH"]
    full_tick(T0 + dt.timedelta(seconds=30))  # still down, within the minute
    assert sum(r.attempts for r in rows()) == sum(r.attempts for r in queued)

    relay.accept()
    for minutes in (1, 10, 30):  # later ticks and drains
        full_tick(T0 + dt.timedelta(minutes=minutes))
    delivered = Counter(m.message_id for m in relay.delivered())
    after = rows()
    assert {r.state for r in after} == {"sent"}
    assert sorted(delivered) == sorted(r.message_id for r in after)
    assert set(delivered.values()) == {1}  # each exactly once
    assert max(r.attempts for r in after) <= 1  # at most one failed try, then delivered
    assert all(r.next_attempt_at is None for r in after)


def test_a_hanging_relay_ends_the_tick_in_seconds_and_loses_nothing(relay: Relay) -> None:
    relay.hang()
    started = time.monotonic()
    full_tick(T0)
    elapsed = time.monotonic() - started
    print(f"full tick against a hanging relay: {elapsed:.1f} s")
    queued = rows()
    assert elapsed < 60, f"a full tick against a hanging relay took {elapsed:.0f} s"
    assert queued and {r.state for r in queued} == {"pending"}  # nothing failed
    assert any("timed out" in (r.last_error or "") for r in queued)

    relay.accept()
    full_tick(T0 + dt.timedelta(hours=1))
    delivered = Counter(m.message_id for m in relay.delivered())
    after = rows()
    assert {r.state for r in after} == {"sent"}
    # Everything queued during the hang went out once (the later tick may queue more).
    assert {r.message_id for r in queued} <= set(delivered)
    assert sorted(delivered) == sorted(r.message_id for r in after)
    assert set(delivered.values()) == {1}


def test_temporary_refusals_are_retried_later_and_delivered_once(relay: Relay) -> None:
    relay.refuse()
    full_tick(T0)
    busy = rows()[0].to_addrs[0]
    relay.handler.busy[busy] = 1000  # busy for as long as the drain at +10 min lasts
    relay.accept()
    full_tick(T0 + dt.timedelta(minutes=10))
    waiting = [r for r in rows() if busy in r.to_addrs]
    assert waiting and {r.state for r in waiting} == {"pending"}
    assert all(r.next_attempt_at > T0 + dt.timedelta(minutes=10) for r in waiting)
    assert all("451" in r.last_error for r in waiting)
    relay.handler.busy[busy] = 0
    for hours in (1, 3, 8):
        full_tick(T0 + dt.timedelta(hours=hours))
    assert {r.state for r in rows()} == {"sent"}
    delivered = Counter(m.message_id for m in relay.delivered())
    assert set(delivered.values()) == {1}
