"""Reading the intake mailbox as plain functions (no Prefect), shared by the `intake` flow and
`kehoach intake`: each mail is recorded in the ledger first and moved out of the inbox after.

A crash (even kill -9) between the commit and the move leaves the mail in the inbox; the next
run finds its Message-ID in the ledger and only moves it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import ValidationError

from engine.ledger import inbox as ledger_inbox
from engine.settings import Settings
from notifications import intake
from notifications.mailbox import (
    PROCESSED,
    TRIAGE,
    ImapSettings,
    MailboxUnavailable,
    MailSource,
    open_source,
)
from notifications.receipts import Desk

log = logging.getLogger("kehoach.intake")
BATCH = 50

# How each outcome reads for operators (the artifact, the CLI).
OUTCOME_LABELS = {
    "recorded": "ghi nhận báo cáo",
    "assigned": "đã gán",
    "triage": "chờ phân loại",
    "bounce": "thư báo lỗi gửi",
    "auto-reply": "trả lời tự động (bỏ qua)",
    "dismissed": "đã bỏ qua",
}


@dataclass
class IntakeReport:
    outcomes: list[intake.Outcome] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter("duplicate" if o.duplicate else o.state for o in self.outcomes)

    def summary(self) -> str:
        """One Vietnamese sentence: how many mails became what."""
        counts = self.counts()
        if not self.outcomes:
            return "Hộp thư không có thư mới."
        parts = [f"{n} {OUTCOME_LABELS.get(k, 'đã xử lý trước đó')}" for k, n in counts.items()]
        return f"Đã đọc {len(self.outcomes)} thư: " + ", ".join(parts) + "."

    def table(self) -> list[dict[str, str]]:
        return [
            {
                "Thư": o.message_id,
                "Người gửi": o.from_addr,
                "Tiêu đề": o.subject,
                "Kết quả": "đã xử lý trước đó"
                if o.duplicate
                else OUTCOME_LABELS.get(o.state, o.state),
                "Cơ quan": o.body_id or "",
                "Lần gửi": str(o.version or ""),
                "Ghi chú": o.reason,
            }
            for o in self.outcomes
        ]


def rules_from(settings: Settings, secret: str) -> intake.IntakeRules:
    return intake.IntakeRules(
        secret=secret,
        trust_domain=settings.intake_trust_domain,
        max_bytes=int(settings.intake_max_mb * 1024 * 1024),
    )


def read_mailbox(
    desk: Desk,
    source: MailSource,
    rules: intake.IntakeRules,
    *,
    today: dt.date,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    batch_size: int = BATCH,
    limit: int | None = None,
) -> IntakeReport:
    """Every mail in the source: record (a fetched batch commits together), then move the
    batch out."""
    report = IntakeReport()
    for batch in source.batches(batch_size, rules.max_bytes):
        moves: dict[str, list[str]] = {PROCESSED: [], TRIAGE: []}
        whole = [mail for mail in batch if mail.raw is not None]
        outcomes = dict(
            zip(
                (mail.key for mail in whole),
                intake.process_batch(
                    desk, [mail.raw for mail in whole], rules, today=today, clock=clock
                ),
                strict=True,
            )
        )
        for mail in batch:
            if mail.raw is None:
                outcome = intake.too_big(desk, source.headers(mail.key), mail.size, rules, clock())
            else:
                outcome = outcomes[mail.key]
            report.outcomes.append(outcome)
            moves[TRIAGE if outcome.folder == "triage" else PROCESSED].append(mail.key)
        # Versions were committed without waiting for the disk; one durable commit covers them
        # all before any mail leaves the mailbox (a power cut cannot lose a moved mail).
        with desk.sessions() as session:
            ledger_inbox.make_durable(session)
        for folder, keys in moves.items():
            source.move(keys, folder)
        if limit is not None and len(report.outcomes) >= limit:
            break
    return report


def open_mailbox(settings: Settings) -> MailSource:
    """The configured source: IMAP if KEHOACH_IMAP_HOST is set, the local Maildir otherwise;
    MailboxUnavailable (a Vietnamese sentence, never the password) when it cannot be opened."""
    try:
        imap = ImapSettings()
    except ValidationError as error:
        # Only the messages: pydantic's own text repeats the input, password included, and a
        # flow's failure message is stored on the Prefect server.
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
        raise MailboxUnavailable(f"Cấu hình hộp thư không hợp lệ: {reasons}") from None
    return open_source(imap, settings.intake_maildir)
