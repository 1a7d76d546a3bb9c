"""Hand-offs in the simulation: the downstream work runs without Prefect.

A live tick starts the downstream deployment (`run_deployment`) and records the hand-off in
the ledger; the simulation records it the same way (mark_handed_off) and, for the annual
consolidation, renders its documents (reports.annual) so the administrator sees what would be
produced.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from cli.simulator.documents import DocumentDesk
from engine.decisions import HandOff
from engine.definitions.models import Definitions
from engine.ledger import cycles as ledger_cycles
from engine.ledger.models import Cycle
from engine.ledger.states import CycleState
from engine.ledger.transactions import committing


@dataclass(frozen=True)
class HandOffRecord:
    day: dt.date
    obligation_id: str
    period_key: str
    version: int
    downstream: str
    flow: str
    documents: tuple[str, ...] = ()
    note: str = ""


def annual_available() -> bool:
    """Whether the reports layer's annual consolidation is installed (issue 5)."""
    return importlib.util.find_spec("reports.annual") is not None


class HandOffs:
    """Records each hand-off in the ledger and has its downstream documents made."""

    def __init__(
        self,
        defs: Definitions,
        sessions: sessionmaker[Session],
        out_dir: Path | None,
        documents: DocumentDesk | None,
    ) -> None:
        self.defs, self.sessions, self.out_dir = defs, sessions, out_dir
        self.documents = documents
        self._made: list[tuple[HandOffRecord, int | None]] = []
        self._submitted: set[tuple[str, str, int]] = set()

    def deliver(self, day: dt.date, obligation_id: str, handoff: HandOff, now: dt.datetime) -> None:
        """Start the downstream work, then record the hand-off version as delivered."""
        downstream = self.defs.obligations[handoff.downstream]
        note, job = "", None
        if downstream.flow == "consolidation":
            note, job = self._consolidate(day, downstream.id, handoff)
        with self.sessions() as session:
            ledger_cycles.mark_handed_off(
                session, handoff.cycle_id, handoff.version, now=now, before_close=handoff.early
            )
        record = HandOffRecord(
            day,
            obligation_id,
            handoff.period_key,
            handoff.version,
            downstream.id,
            downstream.flow,
            note=note,
        )
        self._made.append((record, job))

    def _consolidate(
        self, day: dt.date, obligation_id: str, handoff: HandOff
    ) -> tuple[str, int | None]:
        if not annual_available():
            return "chưa có mô-đun tổng hợp (reports.annual): không tạo văn bản", None
        if self.out_dir is None or self.documents is None:
            return "không có --out: không lưu văn bản tổng hợp", None
        from reports.consolidate import (
            ReportError,
            consolidation_key,
            handoff_total,
            sources_still_open,
        )

        obligation = self.defs.obligations[obligation_id]
        try:
            key = consolidation_key(self.defs, obligation, handoff.period_key)
        except ReportError as error:
            return f"kỳ {handoff.period_key}: {error}", None
        # The version counts every source's late reports, as the consolidation flow does;
        # several sources closing together make one document, not one each.
        with self.sessions() as session:
            version = handoff_total(self.defs, session, obligation, key) + 1
            waiting = sources_still_open(self.defs, session, obligation, key)
        if waiting:
            names = ", ".join(f"«{self.defs.obligations[w].title}»" for w in waiting)
            return f"chờ kỳ của {names} bàn giao rồi mới tổng hợp", None
        if (obligation_id, key, version) in self._submitted:
            return f"đã tạo văn bản {key} bản {version} cùng đợt", None
        self._submitted.add((obligation_id, key, version))
        target = self.out_dir / "documents"
        target.mkdir(parents=True, exist_ok=True)
        return "", self.documents.submit(obligation_id, key, target, version, day)

    def finish(self) -> list[HandOffRecord]:
        """Every hand-off, with its documents once the worker has made them."""
        made = self.documents.results() if self.documents is not None else []
        records = []
        for record, job in self._made:
            if job is not None:
                files, note = made[job]
                record = replace(record, documents=files, note=note)
            records.append(record)
        return records

    def abandon(self) -> None:
        """Stop the document worker of a simulation that failed."""
        if self.documents is not None:
            self.documents.kill()

    def open_cycles_remain(self) -> bool:
        """A cycle still open, or closed with a hand-off version not yet delivered."""
        query = (
            select(func.count())
            .select_from(Cycle)
            .where(
                or_(
                    Cycle.state == CycleState.open.value,
                    Cycle.handed_off_version < Cycle.handoff_version,
                )
            )
        )
        with self.sessions() as session, committing(session):
            return bool(session.scalar(query))
