"""Errors the ledger raises; their messages are Vietnamese because operators read them."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal by the ledger; str(error) is a sentence for an administrator."""


class NotFound(LedgerError):
    """The cycle or assignment asked for does not exist."""


class InvalidTransition(LedgerError):
    """The requested action is not allowed from the assignment's current state."""


class CycleClosed(LedgerError):
    """The cycle is closed and the action needs it open (or an explicit late allowance)."""


class InvalidInput(LedgerError):
    """A value handed to the ledger is malformed (unknown channel, naive timestamp…)."""
