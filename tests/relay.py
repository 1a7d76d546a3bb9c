"""A real SMTP relay on one loopback port that misbehaves on command, for delivery tests.

relay = Relay(mail_dir)
relay.refuse()   # nothing listens: connections are refused
relay.hang()     # connections are accepted and never answered
relay.accept()   # the aiosmtpd sink answers (with its per-recipient faults)
relay.handler.refuse_for_good.add("x@y")   # 550 for this recipient
relay.handler.busy["x@y"] = 2              # 451 twice for this recipient, then accepted
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

from notifications.mailsink import MailSinkHandler, _Controller, list_messages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FaultyHandler(MailSinkHandler):
    """The sink's handler with recipients refused for good (550) or for now (451)."""

    def __init__(self, mail_dir: Path) -> None:
        super().__init__(mail_dir)
        self.refuse_for_good: set[str] = set()
        self.busy: dict[str, int] = {}
        self.rcpt_seen: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_seen.append(address)
        if address in self.refuse_for_good:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if self.busy.get(address, 0) > 0:
            self.busy[address] -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class Relay:
    def __init__(self, mail_dir: Path, port: int | None = None) -> None:
        self.mail_dir = Path(mail_dir)
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.handler = FaultyHandler(self.mail_dir)
        self._controller: _Controller | None = None
        self._hanging: socket.socket | None = None
        self._held: list[socket.socket] = []
        self.mode = "refuse"

    def accept(self) -> None:
        self._stop()
        self._controller = _Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        self.mode = "accept"

    def refuse(self) -> None:
        self._stop()
        self.mode = "refuse"

    def hang(self) -> None:
        self._stop()
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(50)
        self._hanging = listener

        def hold() -> None:
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                self._held.append(connection)  # never answered, never closed until stop

        threading.Thread(target=hold, daemon=True).start()
        self.mode = "hang"

    def delivered(self) -> list:
        return list_messages(self.mail_dir)

    def _stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        if self._hanging is not None:
            with contextlib.suppress(OSError):
                self._hanging.shutdown(socket.SHUT_RDWR)
            self._hanging.close()
            self._hanging = None
        for connection in self._held:
            with contextlib.suppress(OSError):
                connection.close()
        self._held.clear()

    def stop(self) -> None:
        self._stop()

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
