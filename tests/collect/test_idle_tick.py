"""A tick with nothing due costs a constant number of SQL statements, however many bodies owe."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from sqlalchemy import event, update

from engine.ledger.models import OutboxMessage
from tasks import runtime, steps

DEFS = Path(__file__).parent / "fixtures" / "defs"


def definitions_with(small: int, large: int, target: Path) -> Path:
    """The fixture definitions with two copies of the quarterly report: one owed by `small`
    bodies, one by `large` bodies, so both are measured on the same ledger."""
    shutil.copytree(DEFS, target)
    lines = ["bodies:"]
    for body in ("ubnd-tinh", "so-vhttdl"):
        lines += [
            f"  - id: {body}",
            f"    name: Cơ quan {body}",
            f"    short_name: {body}",
            "    kind: so",
            "    mailboxes:",
            f"      to: [van-thu@{body}.example]",
            f"      head: [lanh-dao@{body}.example]",
        ]
    for group, count in (("bao-cao", small), ("bao-cao-lon", large)):
        for i in range(count):
            lines += [
                f"  - id: {group}-{i}",
                f"    name: Cơ quan {group} số {i}",
                f"    short_name: CQ {i}",
                "    kind: so",
                f"    groups: [{group}]",
                "    mailboxes:",
                f"      to: [van-thu@{group}-{i}.example]",
                f"      head: [lanh-dao@{group}-{i}.example]",
                f"      cc: [vp@{group}-{i}.example]",
            ]
    (target / "bodies.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    groups = (target / "groups.yaml").read_text(encoding="utf-8")
    (target / "groups.yaml").write_text(
        groups.replace("roles:", "  - id: bao-cao-lon\n    name: Nhóm lớn\nroles:"),
        encoding="utf-8",
    )
    report = (target / "obligations" / "quarterly-report.yaml").read_text(encoding="utf-8")
    copy = (
        report.split("  - id: yearly-summary")[0]
        .replace("id: quarterly-report", "id: quarterly-report-lon")
        .replace("groups: [bao-cao]", "groups: [bao-cao-lon]")
        .replace("    downstream: {obligation: yearly-summary, min_working_days: 0}\n", "")
    )
    (target / "obligations" / "quarterly-report-lon.yaml").write_text(copy, encoding="utf-8")
    return target


def statements_for_idle_tick(obligation_id: str, bodies: int) -> int:
    obligation = runtime.definitions().obligations[obligation_id]
    opening = runtime.tick_env(dt.date(2026, 3, 4))
    outcome = steps.TickOutcome()
    steps.open_due_cycles(opening, obligation, outcome)
    steps.enqueue_and_close(opening, obligation, outcome)
    assert outcome.enqueued == bodies
    with runtime.sessions()() as session, session.begin():
        session.execute(update(OutboxMessage).values(state="sent"))  # as if delivered

    idle = runtime.tick_env(dt.date(2026, 3, 5))  # requests out, first reminder on 16/03
    engine = runtime.sessions().kw["bind"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        outcome = steps.TickOutcome()
        steps.open_due_cycles(idle, obligation, outcome)
        steps.enqueue_and_close(idle, obligation, outcome)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert outcome.enqueued == 0 and not outcome.opened and not outcome.closed
    # Nothing to write, so no write transaction: an idle tick never takes the write lock.
    writes = [s for s in statements if s.split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == [] and not any("IMMEDIATE" in s.upper() for s in statements)
    return len(statements)


def test_idle_tick_statement_count_does_not_grow(kehoach_env, tmp_path: Path) -> None:
    kehoach_env(definitions_with(10, 1000, tmp_path / "defs"))
    small = statements_for_idle_tick("quarterly-report", 10)
    large = statements_for_idle_tick("quarterly-report-lon", 1000)
    assert small == large
    assert small <= 12
