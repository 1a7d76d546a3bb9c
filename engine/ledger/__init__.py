"""The ledger: the state of every cycle, assignment, submission and outgoing email.

Each operation runs in its own short transaction and can be repeated safely; read models are
frozen dataclasses the pure decision code can use without a session.
"""

from engine.ledger.archive import archive_file
from engine.ledger.assignments import (
    AttachmentInfo,
    RecordedSubmission,
    accept,
    record_submission,
    return_for_revision,
    waive,
)
from engine.ledger.cycles import (
    CycleClosing,
    CycleOpening,
    PeriodLike,
    close_cycle,
    get_cycle,
    mark_handed_off,
    mark_requested,
    open_cycle,
)
from engine.ledger.db import default_url, make_engine, session_factory, upgrade
from engine.ledger.errors import CycleClosed, InvalidInput, InvalidTransition, LedgerError, NotFound
from engine.ledger.events import EventLogIsAppendOnly, list_events, record_event
from engine.ledger.models import (
    AddressFailure,
    ArchivedFile,
    Assignment,
    Attachment,
    Base,
    Cycle,
    Event,
    LedgerMeta,
    OutboxMessage,
    Submission,
)
from engine.ledger.outbox import (
    OutboxItem,
    claim,
    enqueue,
    mark_failed,
    mark_sent,
    message_id_for,
    outbox_counts,
    outbox_key,
)
from engine.ledger.queries import StatusRow, find_assignment, status_rows
from engine.ledger.results import (
    CycleResults,
    ResultEntry,
    SubmissionView,
    cycle_results,
    submission_history,
)
from engine.ledger.snapshot import (
    AssignmentView,
    CycleView,
    LedgerSnapshot,
    OutboxView,
    load_open_state,
)
from engine.ledger.states import (
    AssignmentState,
    Channel,
    CycleState,
    OutboxState,
    assignment_label,
    is_overdue,
)

__all__ = [
    "AddressFailure",
    "ArchivedFile",
    "Assignment",
    "AssignmentState",
    "AssignmentView",
    "Attachment",
    "AttachmentInfo",
    "Base",
    "Channel",
    "Cycle",
    "CycleClosed",
    "CycleClosing",
    "CycleOpening",
    "CycleResults",
    "CycleState",
    "CycleView",
    "Event",
    "EventLogIsAppendOnly",
    "InvalidInput",
    "InvalidTransition",
    "LedgerError",
    "LedgerMeta",
    "LedgerSnapshot",
    "NotFound",
    "OutboxItem",
    "OutboxMessage",
    "OutboxState",
    "OutboxView",
    "PeriodLike",
    "RecordedSubmission",
    "ResultEntry",
    "StatusRow",
    "Submission",
    "SubmissionView",
    "accept",
    "archive_file",
    "assignment_label",
    "claim",
    "close_cycle",
    "cycle_results",
    "default_url",
    "enqueue",
    "find_assignment",
    "get_cycle",
    "is_overdue",
    "list_events",
    "load_open_state",
    "make_engine",
    "mark_failed",
    "mark_handed_off",
    "mark_requested",
    "mark_sent",
    "message_id_for",
    "open_cycle",
    "outbox_counts",
    "outbox_key",
    "record_event",
    "record_submission",
    "return_for_revision",
    "session_factory",
    "status_rows",
    "submission_history",
    "upgrade",
    "waive",
]
