"""Who a queued letter should go to under the current definitions (for `outbox retry`).

A letter keeps its Message-ID and its text when requeued; only its envelope follows the
definitions, so a corrected address in bodies.yaml reaches the body without a new letter.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from engine.bodies import resolve_target
from engine.decisions import _rung_message  # the very addressing the chase uses
from engine.definitions.models import Definitions
from engine.ledger.letters import LetterView

Addresses = tuple[tuple[str, ...], tuple[str, ...]]


def current_addresses(defs: Definitions, letter: LetterView, today: dt.date) -> Addresses | None:
    """The letter's To and Cc today, or None when the definitions say nothing about it."""
    obligation = defs.obligations.get(letter.obligation_id or "")
    body = defs.bodies.get(letter.body_id)
    if obligation is not None and letter.kind == "request" and body is not None:
        return tuple(body.mailboxes.to), ()
    if obligation is not None and letter.rung is not None:
        rung = next((r for r in obligation.ladder if r.id == letter.rung), None)
        if rung is not None:
            cycle = SimpleNamespace(id=0, period_key=letter.period_key)
            assignment = SimpleNamespace(body_id=letter.body_id, due_on=today)
            message = _rung_message(defs, obligation, cycle, assignment, rung, today)
            return message.to, message.cc
    if obligation is not None and letter.kind == "closed-summary":
        to = tuple(dict.fromkeys(resolve_target(defs, obligation.recipient, None, today)))
        return to, letter.cc_addrs
    if body is None:
        return None
    # Any other letter to a body (a receipt, a returned submission): if its To is no longer
    # one of the body's addresses, it goes to the body's current mailbox.
    known = {*body.mailboxes.to, *body.mailboxes.head, *body.mailboxes.cc}
    if any(address in known for address in letter.to_addrs):
        return None
    return tuple(body.mailboxes.to), letter.cc_addrs
