"""The simulator's parts: capture like the live sender, snapshots reused without changing a
letter, the progress bar only on a terminal, run schedules from the definitions."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path

from cli.simulator.capture import CaptureTransport
from cli.simulator.progress import DayProgress
from cli.simulator.runs import run_slot
from engine.definitions.models import RunSchedule
from notifications.sender import OutgoingMessage
from tests.simulate.conftest import SHIPPED, wiring_for


def message(message_id: str, to: str) -> OutgoingMessage:
    return OutgoingMessage(message_id, [to], [], "Tiêu đề", "Nội dung", "<p>Nội dung</p>")


def test_capture_accepts_what_the_sender_accepts_and_refuses_the_rest() -> None:
    transport = CaptureTransport(day=dt.date(2026, 3, 4))
    results = list(
        transport.send_each(
            [
                message("<a@kehoach.example>", "van-thu@stp.tuyenquang.example"),
                message("<b@kehoach.example>", "không phải địa chỉ"),
                message("no-angle-brackets", "van-thu@stp.tuyenquang.example"),
            ]
        )
    )
    assert [r.accepted for r in results] == [True, False, False]
    assert not any(r.retryable for r in results)
    assert [c.message.message_id for c in transport.captured] == ["<a@kehoach.example>"]
    assert transport.captured[0].day == dt.date(2026, 3, 4)
    assert "invalid address" in transport.refused[0][2]


def test_reused_snapshots_change_no_letter(shipped_defs, year_personas_file) -> None:
    """The same four months with the snapshot cache and without: identical mail, day by day."""
    from cli.simulator.driver import simulate
    from cli.simulator.personas import Cast, load_personas

    cast = Cast(load_personas(year_personas_file, shipped_defs), seed=3)
    runs = []
    for reuse in (True, False):
        with tempfile.TemporaryDirectory() as work:
            run = simulate(
                shipped_defs,
                wiring_for(SHIPPED),
                cast,
                dt.date(2026, 1, 1),
                dt.date(2026, 4, 30),
                Path(work),
                follow_to_close=False,
                reuse_snapshots=reuse,
            )
            run.ledger.dispose()
        runs.append(run)
    cached, fresh = runs
    letters = [
        [(c.day, c.message.message_id, c.message.subject, c.message.text) for c in r.mail]
        for r in runs
    ]
    assert len(letters[0]) > 100
    assert letters[0] == letters[1]
    assert [(a.day, a.body_id, a.version) for a in cached.answers] == [
        (a.day, a.body_id, a.version) for a in fresh.answers
    ]
    assert cached.snapshot_loads < fresh.snapshot_loads / 5 or fresh.snapshot_loads == 0


def test_progress_is_drawn_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    start, end = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    quiet, tty = io.StringIO(), Terminal()
    for stream in (quiet, tty):
        progress = DayProgress(start, end, stream)
        for offset in range(365):
            progress(start + dt.timedelta(days=offset))
        progress.done()
    assert quiet.getvalue() == ""
    drawn = tty.getvalue()
    assert drawn.startswith("\rMô phỏng [") and drawn.endswith("\n")
    assert "31/12/2026" in drawn and "#" * 30 in drawn
    assert drawn.count("\r") <= 31  # redrawn when the bar grows, not 365 times


def test_runs_follow_the_deployment_schedule(shipped_defs) -> None:
    obligation = next(iter(shipped_defs.obligations.values()))
    default = run_slot(obligation)
    monday, saturday = dt.date(2026, 3, 2), dt.date(2026, 3, 7)
    # Daily by default: the run itself does nothing on a day off (the driver skips those days).
    assert default.fires_on(monday) and default.fires_on(saturday)
    assert default.moment(monday) == dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.UTC)  # 07:30 VN
    daily = obligation.model_copy(update={"deployment": RunSchedule(cron="15 18 * * *")})
    assert run_slot(daily).fires_on(saturday)
    assert run_slot(daily).moment(saturday).hour == 11
