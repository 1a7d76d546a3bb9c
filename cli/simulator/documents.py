"""The consolidation documents of a simulation, rendered beside it in a second process.

Rendering the annual report (python-docx, openpyxl, matplotlib: seconds to import, a second to
render) would otherwise stop the simulated clock. At each hand-off the ledger is copied as it
stands (SQLite's online backup: a consistent picture in milliseconds) and the job is passed to
a worker process, started with the simulation so that its imports overlap the first simulated
months. The worker renders from the copy: the documents are exactly those a sequential run
would make.

The worker is `python -m cli.simulator.documents`, fed one JSON job per line on stdin and
answering one JSON line per job on stdout (a plain subprocess: multiprocessing's spawn would
re-run the caller's main script).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

from engine.definitions.models import Definitions

REPO = Path(__file__).resolve().parents[2]


def render_from_copy(
    defs: Definitions,
    ledger: str,
    obligation_id: str,
    period_key: str,
    target: str,
    version: int,
    today: dt.date,
) -> tuple[tuple[str, ...], str]:
    """(files, note) for one hand-off, from a copy of the ledger at that moment."""
    from engine.ledger.db import make_engine, session_factory
    from reports.annual import render_annual
    from reports.consolidate import ReportError

    engine = make_engine(f"sqlite:///{ledger}")
    try:
        made = render_annual(
            defs,
            session_factory(engine),
            period_key,
            Path(target),
            obligation_id=obligation_id,
            version=version,
            today=today,
        )
    except ReportError as error:
        return (), f"không tạo được văn bản tổng hợp: {error}"
    finally:
        engine.dispose()
        Path(ledger).unlink(missing_ok=True)
    files = tuple(str(p) for p in (made.docx, made.xlsx, made.chart) if p)
    state = "đủ" if made.complete else "chưa đủ"
    return files, f"{made.bodies_reported}/{made.bodies_expected} cơ quan đã báo cáo ({state})"


class DocumentDesk:
    """Hands render jobs to the worker; `results()` waits for all of them, in order."""

    def __init__(self, defs: Definitions, ledger_path: Path, work_dir: Path) -> None:
        self.ledger_path, self.work_dir = ledger_path, work_dir
        definitions = work_dir / "definitions.pickle"
        definitions.write_bytes(pickle.dumps(defs))
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
        self._worker = subprocess.Popen(
            [sys.executable, "-m", "cli.simulator.documents", str(definitions)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env={**os.environ, "PYTHONPATH": path},
        )
        self._jobs = 0

    def _copy_ledger(self) -> Path:
        copy = self.work_dir / f"ledger-handoff-{self._jobs}.db"
        source, target = sqlite3.connect(self.ledger_path), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return copy

    def submit(
        self, obligation_id: str, period_key: str, target: Path, version: int, today: dt.date
    ) -> int:
        """Queue one render; returns its index in `results()`."""
        self._jobs += 1
        job = {
            "ledger": str(self._copy_ledger()),
            "obligation": obligation_id,
            "period": period_key,
            "target": str(target),
            "version": version,
            "today": today.isoformat(),
        }
        assert self._worker.stdin is not None
        self._worker.stdin.write(json.dumps(job) + "\n")
        self._worker.stdin.flush()
        return self._jobs - 1

    def results(self) -> list[tuple[tuple[str, ...], str]]:
        output, _ = self._worker.communicate()
        if self._worker.returncode != 0:
            raise RuntimeError(f"document worker exited with {self._worker.returncode}")
        answers = [json.loads(line) for line in output.splitlines() if line.strip()]
        if len(answers) != self._jobs:
            raise RuntimeError(f"document worker answered {len(answers)} of {self._jobs} jobs")
        return [(tuple(a["files"]), a["note"]) for a in answers]

    def kill(self) -> None:
        if self._worker.poll() is None:
            self._worker.kill()
        self._worker.wait()


def main(definitions: str) -> None:
    """Worker loop: import the reports now, then render each job read from stdin."""
    import reports.annual  # noqa: F401 - the costly imports, done while the parent simulates

    defs = pickle.loads(Path(definitions).read_bytes())
    for line in sys.stdin:
        job = json.loads(line)
        files, note = render_from_copy(
            defs,
            job["ledger"],
            job["obligation"],
            job["period"],
            job["target"],
            job["version"],
            dt.date.fromisoformat(job["today"]),
        )
        print(json.dumps({"files": list(files), "note": note}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
