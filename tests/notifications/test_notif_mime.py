"""Letters built ahead in the helper process: the same letters as built in place, each sent once
and marked before the next; a helper that dies mid-batch costs nothing; the helper never re-runs
the caller's script and does not outlive it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from email import message_from_bytes
from pathlib import Path

import pytest

from notifications import mime
from notifications.drain import drain
from tests.notifications.test_notif_drain import ListOutbox

REPO = Path(__file__).resolve().parents[2]
SENDER, ALIAS = "kehoach@tuyenquang.example", "Hệ thống theo dõi kế hoạch"


def without_date(data: bytes) -> bytes:
    return re.sub(rb"(?m)^Date: .*\r\n", b"", data)


def test_built_ahead_equals_built_here(make_message) -> None:
    messages = [make_message(n) for n in range(23)]
    messages.append(make_message(99, to=["khong-phai-dia-chi"]))  # cannot be built: a reason
    ahead = mime.Ahead()
    try:
        built = list(ahead.built(messages, SENDER, ALIAS))
        assert ahead._worker is not None and ahead._worker.pid != os.getpid()
    finally:
        ahead.close()
    here = mime.prepare_chunk(messages, SENDER, ALIAS)
    assert [without_date(b.data) if isinstance(b, mime.Prepared) else b for b in built] == [
        without_date(h.data) if isinstance(h, mime.Prepared) else h for h in here
    ]
    assert isinstance(built[-1], str) and "invalid address" in built[-1]
    # Ready for the wire: every line ends in CRLF, so smtplib sends the bytes as they are.
    assert all(b"\n" not in b.data.replace(b"\r\n", b"") for b in built[:-1])
    # Our boundaries, and a message that parses back into its text and HTML parts.
    parsed = message_from_bytes(built[0].data)
    assert "kehoach_mixed_" in parsed.get_boundary()
    alternative = parsed.get_payload()[0]
    types = [part.get_content_type() for part in alternative.get_payload()]
    assert types == ["text/plain", "text/html"]
    text = alternative.get_payload()[0].get_payload(decode=True).decode()
    assert text == messages[0].text


@pytest.mark.parametrize("count", [1, 2, 20, 24])
def test_a_batch_is_asked_for_in_contiguous_chunks_the_first_one_small(count: int) -> None:
    bounds = mime.chunk_bounds(count)
    assert bounds[0] == (0, mime.AHEAD_FIRST_CHUNK) and bounds[-1][1] == count
    assert all(end == start for (_, end), (start, _) in zip(bounds, bounds[1:], strict=False))
    assert all(0 < end - start <= mime.AHEAD_CHUNK for start, end in bounds)


def test_small_batches_are_built_here(make_message) -> None:
    ahead = mime.Ahead()
    built = ahead.built([make_message(n) for n in range(3)], SENDER, ALIAS)
    assert ahead._worker is None and isinstance(built, list) and len(built) == 3
    ahead.close()


def test_a_helper_that_dies_mid_batch_costs_nothing(make_message) -> None:
    messages = [make_message(n) for n in range(40)]
    ahead = mime.Ahead()
    try:
        built = ahead.built(messages, SENDER, ALIAS)
        first = built[0]
        os.kill(ahead._worker.pid, signal.SIGKILL)
        ahead._worker.wait(10)
        rest = [built[i] for i in range(len(messages))]
        # The next batch is built here without trying the dead helper again.
        again = ahead.built(messages, SENDER, ALIAS)
        assert isinstance(again, list)
    finally:
        ahead.close()
    assert isinstance(first, mime.Prepared)
    assert [message_from_bytes(b.data)["Message-ID"] for b in rest] == [
        m.message_id for m in messages
    ]


def test_closing_with_answers_unread_ends_the_helper(make_message) -> None:
    # A drain that fails mid-batch leaves answers unread: the helper waits for them to be taken
    # and stops reading its requests, so the writer thread waits too. Closing must end both.
    messages = [make_message(n) for n in range(400)]
    ahead = mime.Ahead()
    try:
        built = ahead.built(messages, SENDER, ALIAS)
        assert isinstance(built[0], mime.Prepared)
        worker, writer = ahead._worker, ahead._writer
    finally:
        started = time.monotonic()
        ahead.close()
    assert time.monotonic() - started < 30
    assert worker.poll() is not None and not writer.is_alive()


def test_drain_with_letters_built_ahead_sends_each_once_marked_in_turn(
    sink, make_sender, make_message
) -> None:
    outbox = ListOutbox([make_message(n) for n in range(120)], sink.mail_dir)
    sender = make_sender(sink)
    with sender.prepare_ahead():
        report = drain(
            outbox.claim, sender.send_each, outbox.mark_sent, outbox.mark_failed, batch_size=50
        )
    assert report.sent == 120 and report.batches == 3 and outbox.pending == []
    received = [m.message_id for m in sink.messages()]
    assert len(received) == 120 and set(received) == set(outbox.sent)
    # Each message marked the moment the server took it, before the next one went out.
    assert outbox.stored_when_marked == list(range(1, 121))


UNGUARDED_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
with open(sys.argv[2], "a") as runs:
    runs.write("ran\\n")
from notifications import mime
from notifications.sender import OutgoingMessage
messages = [
    OutgoingMessage(f"<m{n}@kehoach.example>", [f"a{n}@co-quan.example"], [], "Chủ đề", "Chữ", "")
    for n in range(30)
]
ahead = mime.Ahead()
built = list(ahead.built(messages, "kehoach@kehoach.example", "Kế hoạch"))
print(ahead._worker.pid, sum(isinstance(b, mime.Prepared) for b in built), flush=True)
if len(sys.argv) > 3:
    import time
    time.sleep(60)
ahead.close()
"""


def test_the_helper_does_not_rerun_a_script_without_a_main_guard(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, "-c", UNGUARDED_SCRIPT, str(REPO), str(runs)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1] == "30"
    assert runs.read_text() == "ran\n"


def test_the_helper_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", UNGUARDED_SCRIPT, str(REPO), str(tmp_path / "runs"), "wait"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        helper = int(parent.stdout.readline().split()[0])
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = subprocess.run(
                ["ps", "-o", "stat=", "-p", str(helper)], capture_output=True, text=True
            ).stdout.strip()
            if not state or state.startswith("Z"):
                break
            time.sleep(0.05)
        assert not state or state.startswith("Z")
    finally:
        parent.kill()
        parent.wait(10)
