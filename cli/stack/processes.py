"""Child processes of the stack: each in its own process group, output prefixed, stopped whole.

A child leads its own process group, so the terminal's Ctrl-C reaches only the supervisor,
which then stops the children in order; anything a child started (uvicorn, a flow run's
subprocess) is in the child's group and is stopped with it.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

# Re-entrant: the main thread may be interrupted by a signal while it holds it.
_OUTPUT = threading.RLock()


def emit(line: str) -> None:
    with _OUTPUT:
        sys.stdout.write(line if line.endswith("\n") else line + "\n")
        sys.stdout.flush()


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is `pgid` (read from /proc, no psutil here)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields start after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


@dataclass
class Child:
    """One long-running program of the stack."""

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    stop_signal: signal.Signals = signal.SIGTERM
    process: subprocess.Popen | None = None
    tail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=40))

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        threading.Thread(target=self._pump, name=f"output-{self.name}", daemon=True).start()

    def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.tail.append(line.rstrip("\n"))
            emit(f"[{self.name}] {line.rstrip()}")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, grace: float = 20.0) -> None:
        """Ask the leader to stop, then the rest of its group, then kill what is left."""
        if self.process is None:
            return
        pgid = self.process.pid
        if self.alive():
            _signal_pid(pgid, self.stop_signal)
            _wait(lambda: not self.alive(), grace)
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
            if not group_members(pgid) and not self.alive():
                break
            _signal_group(pgid, sig)
            _wait(lambda: not group_members(pgid) and not self.alive(), wait)
        if self.process.poll() is None:
            self.process.wait(timeout=5)

    def leftovers(self) -> list[int]:
        return group_members(self.process.pid) if self.process else []


def _signal_pid(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait(done, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.1)
    return done()


def stop_recorded(records: list[dict]) -> list[str]:
    """Stop process groups a previous supervisor left behind (it was killed, not stopped).

    Only a group whose leader still runs the recorded command line is touched: a reused pid
    belongs to someone else."""
    stopped = []
    for record in records:
        pid = int(record.get("pid", 0))
        if pid <= 0 or cmdline(pid) != record.get("cmdline"):
            continue
        _signal_group(pid, signal.SIGTERM)
        if not _wait(lambda p=pid: not group_members(p), 10.0):
            _signal_group(pid, signal.SIGKILL)
            _wait(lambda p=pid: not group_members(p), 3.0)
        stopped.append(f"{record.get('name')} (pid {pid})")
    return stopped
