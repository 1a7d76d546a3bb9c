"""What the briefing and consolidation steps work with: definitions, ledger, links, the clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from engine.calendar import LegalCalendar
from engine.definitions.models import Definitions
from engine.ledger import outbox as ledger_outbox
from engine.ledger.events import list_events, record_event
from engine.ledger.transactions import writing
from notifications.compose import Links
from notifications.render import RenderedMessage


@dataclass
class Office:
    defs: Definitions
    sessions: sessionmaker[Session]
    links: Links
    mail_domain: str
    reports_dir: Path  # where produced documents are kept (var/reports)
    today: dt.date
    now: dt.datetime
    cal: LegalCalendar = field(init=False)

    def __post_init__(self) -> None:
        self.cal = LegalCalendar(self.defs.calendars)

    def letter(
        self,
        rendered: RenderedMessage,
        *,
        key: str,
        cycle_id: int | None,
        body_id: str,
        kind: str,
        rung: str | None,
        to: list[str],
        cc: list[str] | None = None,
    ) -> dict:
        """An outbox row for a rendered letter."""
        return {
            "key": key,
            "cycle_id": cycle_id,
            "body_id": body_id,
            "kind": kind,
            "rung": rung,
            "to_addrs": list(to),
            "cc_addrs": list(cc or []),
            "subject": rendered.subject,
            "text_body": rendered.text,
            "html_body": rendered.html,
        }

    def enqueue(self, rows: list[dict]) -> int:
        with self.sessions() as session:
            return ledger_outbox.enqueue(session, rows, domain=self.mail_domain, now=self.now)

    def events(self, cycle_id: int, kind: str) -> list[dict]:
        """The data of a cycle's events of one kind, oldest first."""
        with self.sessions() as session:
            return [dict(e.data) for e in list_events(session, cycle_id=cycle_id, kind=kind)]

    def note(self, cycle_id: int | None, kind: str, data: dict) -> None:
        with self.sessions() as session, writing(session):
            record_event(session, kind, self.now, cycle_id=cycle_id, data=data)
