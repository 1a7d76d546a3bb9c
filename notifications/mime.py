"""Building each message's MIME with yagmail, and building a big batch ahead of the SMTP talk.

Building a letter (headers, RFC 2047 words, base64 parts) is CPU work, about 0.6 ms; the SMTP
exchange that follows mostly waits for the server. For a batch of many letters the building
runs in a helper process, a few letters ahead of the conversation, so the two overlap instead of
adding up (threads would not: the interpreter lock makes the sending thread wait for the
building one). Nothing about delivery changes: the sender still sends one message at a time and
the caller marks each one before the next is sent.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import hashlib
import io
import logging
import os
import pickle
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.generator import Generator
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from yagmail.headers import resolve_addresses
from yagmail.message import prepare_message

from notifications.vietnamese import LOCAL_ZONE

if TYPE_CHECKING:
    from notifications.sender import OutgoingMessage

log = logging.getLogger(__name__)

ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")
MESSAGE_ID = re.compile(r"^<[^<>\s]+@[^<>\s]+>$")
RESERVED_HEADERS = {"message-id", "from", "to", "cc", "bcc", "subject", "date"}
# Batches at least this long are built ahead, CHUNK letters per request to the helper, except
# the first request of a batch: its letters are waited for, so it asks for FIRST_CHUNK only.
AHEAD_MIN_BATCH = 20
AHEAD_CHUNK = 5
AHEAD_FIRST_CHUNK = 1


@dataclass(frozen=True)
class Prepared:
    recipients: list[str]
    # The message as it goes on the wire: ASCII bytes with CRLF line endings. Given bytes,
    # smtplib sends them as they are; given a str, it rewrites every line ending with a regular
    # expression and encodes the result in the sending process, for every letter.
    data: bytes


def problem(message: OutgoingMessage) -> str | None:
    """Why a message cannot be sent at all (None when it can)."""
    if not MESSAGE_ID.match(message.message_id):
        return f"invalid Message-ID {message.message_id!r}: expected '<local@domain>'"
    if not message.to:
        return "no recipient in 'to'"
    bad = [a for a in [*message.to, *message.cc] if not ADDRESS.match(a)]
    if bad:
        return f"invalid address(es): {', '.join(map(repr, bad))}"
    if "\n" in message.subject or "\r" in message.subject:
        return "subject contains a line break"
    for name, value in message.headers.items():
        if name.lower() in RESERVED_HEADERS:
            return f"header {name!r} is set by the sender itself"
        if any(c in f"{name}{value}" for c in "\r\n"):
            return f"header {name!r} contains a line break"
    if message.reply_to is not None and not ADDRESS.match(message.reply_to):
        return f"invalid Reply-To address {message.reply_to!r}"
    missing = [str(p) for p in message.attachments or [] if not Path(p).is_file()]
    if missing:
        return f"attachment not found: {', '.join(missing)}"
    return None


def prepare(message: OutgoingMessage, sender: str, alias: str) -> Prepared | str:
    """The message ready for the wire, or why it cannot be sent."""
    refused = problem(message)
    if refused:
        return refused
    headers = {
        "Date": format_datetime(dt.datetime.now(LOCAL_ZONE)),
        # RFC 3834: stops out-of-office robots from answering into our outbox.
        "Auto-Submitted": "auto-generated",
        **message.headers,
    }
    if message.reply_to:
        headers["Reply-To"] = message.reply_to
    addresses = resolve_addresses(sender, alias, list(message.to), list(message.cc) or None, None)
    try:
        mime = prepare_message(
            user=sender,
            useralias=alias,
            addresses=addresses,
            subject=message.subject,
            contents=None,
            attachments=[str(p) for p in message.attachments or []] or None,
            headers=headers,
            encoding="utf-8",
            prettify_html=False,
            message_id=message.message_id,
        )
    except Exception as exc:  # one unpreparable message must not sink the batch
        log.error("cannot prepare %s: %s", message.message_id, exc)
        return f"cannot prepare message: {type(exc).__name__}: {exc}"
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(message.text, "plain", "utf-8"))
    alternative.attach(MIMEText(message.html, "html", "utf-8"))
    mime.set_payload([alternative, *mime.get_payload()[1:]])
    # Boundaries of our own: left unset, the generator draws random ones and compiles a regular
    # expression for each to check it against the text, which also evicts every other pattern
    # from the re module's cache (building a letter took 1.0-1.4 ms, now 0.6). Ours cannot occur
    # in the parts: they are base64, whose lines hold no '_'.
    tag = hashlib.sha256(message.message_id.encode()).hexdigest()[:24]
    mime.set_boundary(f"===kehoach_mixed_{tag}===")
    alternative.set_boundary(f"===kehoach_alt_{tag}===")
    # yagmail serialises without folding; RFC 2047 wants encoded words under 76 chars. The
    # generator writes CRLF itself: what as_string gives, with '\r\n' for every line end.
    out = io.StringIO()
    policy = mime.policy.clone(linesep="\r\n")
    Generator(out, mangle_from_=False, maxheaderlen=78, policy=policy).flatten(mime)
    try:
        data = out.getvalue().encode("ascii")
    except UnicodeEncodeError as exc:  # smtplib would refuse it too, mid-conversation
        return f"cannot prepare message: {type(exc).__name__}: {exc}"
    return Prepared(recipients=addresses["recipients"], data=data)


def prepare_chunk(messages: list[OutgoingMessage], sender: str, alias: str) -> list[Any]:
    """The helper process's work: a few letters at a time."""
    return [prepare(m, sender, alias) for m in messages]


class Ahead:
    """A helper process (`python -m notifications.mime`) that builds big batches ahead.

    A plain subprocess rather than multiprocessing: spawning through multiprocessing re-runs
    the caller's main module in the child, and a caller's script without a `__main__` guard
    would run twice. The helper reads requests on stdin and answers on stdout, in order; it
    exits when its stdin closes, so it does not outlive its parent.
    """

    def __init__(self) -> None:
        self._worker: subprocess.Popen | None = None
        self._unavailable = False
        self._pending = 0  # answers not read yet
        # One writer thread for the helper's life, fed batches of requests: starting a thread
        # per batch made the sender wait for it to be scheduled (about 1-4 ms a batch under load).
        self._requests: queue.SimpleQueue[list[bytes] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None

    def built(self, messages: list[OutgoingMessage], sender: str, alias: str) -> Sequence[Any]:
        """The batch's letters in order (built here when the batch is small or the helper
        cannot be used)."""

        def here(chunk: list[OutgoingMessage]) -> list[Any]:
            return prepare_chunk(chunk, sender, alias)

        worker = self._helper() if len(messages) >= AHEAD_MIN_BATCH else None
        if worker is None:
            return here(messages)
        chunks = [messages[start:end] for start, end in chunk_bounds(len(messages))]
        requests = [pickle.dumps((chunk, sender, alias)) for chunk in chunks]
        self._pending += len(requests)
        # Written from a thread: the helper answers while we still write, and both pipes would
        # otherwise fill up and wait for each other.
        if self._writer is None:
            self._writer = threading.Thread(target=self._write, args=(worker,), daemon=True)
            self._writer.start()
        self._requests.put(requests)
        return Built(messages, self._answer, here)

    def _write(self, worker: subprocess.Popen) -> None:
        """The writer thread: each batch's requests in turn, until told to stop (None)."""
        while (requests := self._requests.get()) is not None:
            try:
                for request in requests:
                    worker.stdin.write(len(request).to_bytes(4, "big") + request)
                worker.stdin.flush()
            except (OSError, ValueError):
                pass  # the helper is gone: the reader notices and builds here

    def _answer(self) -> list[Any]:
        """The next answer from the helper; raises when it cannot give one."""
        if self._worker is None:
            raise EOFError("no helper")
        head = self._worker.stdout.read(4)
        if len(head) < 4:
            raise EOFError("the helper stopped")
        body = self._worker.stdout.read(int.from_bytes(head, "big"))
        self._pending -= 1
        return pickle.loads(body)

    def _helper(self) -> subprocess.Popen | None:
        if self._worker is not None and self._worker.poll() is None:
            try:
                while self._pending:  # answers a previous batch left unread
                    self._answer()
            except Exception:  # noqa: BLE001 - a helper that answers wrong is not used again
                self.close()
                self._unavailable = True
            return self._worker
        if self._worker is not None or self._unavailable:
            self.close()
            self._unavailable = True
            return None
        paths = [p for p in sys.path if p and Path(p).is_dir()]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        try:
            self._worker = subprocess.Popen(
                [sys.executable, "-m", "notifications.mime"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
        except OSError as error:
            log.warning("cannot start the letter-building helper (%s); building here", error)
            self._unavailable = True
        return self._worker

    def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        writer, self._writer = self._writer, None
        if writer is not None:
            self._requests.put(None)
            writer.join(5)
            if writer.is_alive():
                # Blocked writing to a helper that waits for its unread answers to be taken.
                worker.kill()
                writer.join(5)
        with contextlib.suppress(OSError, ValueError):
            worker.stdin.close()
        try:
            worker.wait(5)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)
        with contextlib.suppress(OSError, ValueError):
            worker.stdout.close()
        self._pending = 0


def chunk_bounds(count: int) -> list[tuple[int, int]]:
    """(start, end) of each request for a batch of `count` letters: a small first one, so the
    conversation starts after one letter is built rather than a whole chunk."""
    if count == 0:
        return []
    starts = [0, *range(min(AHEAD_FIRST_CHUNK, count), count, AHEAD_CHUNK)]
    return list(zip(starts, [*starts[1:], count], strict=True))


class Built(Sequence):
    """A batch's letters in order, each chunk read from the helper when first asked for; once
    the helper fails, the chunks not yet read are built here."""

    def __init__(
        self,
        messages: list[OutgoingMessage],
        answer: Callable[[], list[Any]],
        build: Callable[[list[OutgoingMessage]], list[Any]],
    ) -> None:
        self._messages = messages
        self._answer = answer
        self._build = build
        self._bounds = chunk_bounds(len(messages))
        self._chunks: list[list[Any]] = []
        self._helper_failed = False

    def __len__(self) -> int:
        return len(self._messages)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)  # how iteration knows where to stop
        index %= len(self)
        number = bisect.bisect_right(self._bounds, (index, len(self))) - 1
        offset = index - self._bounds[number][0]
        while len(self._chunks) <= number:
            start, end = self._bounds[len(self._chunks)]
            chunk = self._messages[start:end]
            if not self._helper_failed:
                try:
                    answer = self._answer()
                    if len(answer) == len(chunk):
                        self._chunks.append(answer)
                        continue
                    raise EOFError("an answer of the wrong length")
                except Exception as error:  # noqa: BLE001 - building here is always safe
                    log.warning("letters could not be built ahead (%s); building here", error)
                    self._helper_failed = True
            self._chunks.append(self._build(chunk))
        return self._chunks[number][offset]


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The helper's loop: build each requested chunk, answer in order, stop at end of input."""
    while True:
        head = requests.read(4)
        if len(head) < 4:
            return
        chunk, sender, alias = pickle.loads(requests.read(int.from_bytes(head, "big")))
        answer = pickle.dumps(prepare_chunk(chunk, sender, alias))
        answers.write(len(answer).to_bytes(4, "big") + answer)
        answers.flush()


if __name__ == "__main__":
    # Through the package's module, not this __main__ copy: what is pickled back must name
    # notifications.mime.Prepared, the class the parent knows.
    from notifications import mime

    mime.serve(sys.stdin.buffer, sys.stdout.buffer)
