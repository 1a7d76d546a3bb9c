"""The .example guard: reserved test addresses only ever go to an SMTP server on this machine.

Seed data and tests address bodies under the reserved `.example` top-level domain; sending those
through a real relay would leak test traffic, so the sender refuses before connecting.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Protocol


class _Addressed(Protocol):
    message_id: str
    to: list[str]
    cc: list[str]


class UnsafeRecipientError(ValueError):
    """A reserved test address (.example) would go to a real relay."""


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or the name 'localhost'; other names are not trusted to resolve there."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_example_address(address: str) -> bool:
    domain = address.rpartition("@")[2].strip().rstrip(".>").lower()
    return domain == "example" or domain.endswith(".example")


def check_recipients(messages: Iterable[_Addressed], smtp_host: str) -> None:
    """Refuse .example addresses unless the SMTP server is on this machine."""
    if is_loopback_host(smtp_host):
        return
    for message in messages:
        bad = [a for a in [*message.to, *message.cc] if is_example_address(a)]
        if bad:
            raise UnsafeRecipientError(
                f"refusing to send {message.message_id} to reserved test address(es) "
                f"{', '.join(bad)} through non-loopback SMTP host {smtp_host!r}; "
                ".example addresses are for the local mail sink only"
            )
