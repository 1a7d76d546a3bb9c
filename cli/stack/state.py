"""Where the stack keeps its state under var/, and the definitions snapshots runs execute from.

A valid edit of the definitions is copied to `var/stack/definitions/<digest>/` before anything
uses it, and runs and the portal read that copy: an administrator who breaks a file afterwards
cannot break what is already running.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from engine.definitions.loader import LoadResult, load_definitions

KEEP_SNAPSHOTS = 10


@dataclass(frozen=True)
class StackPaths:
    var_dir: Path

    @property
    def stack_dir(self) -> Path:
        return self.var_dir / "stack"

    @property
    def prefect_home(self) -> Path:
        return self.var_dir / "prefect"

    @property
    def snapshots(self) -> Path:
        return self.stack_dir / "definitions"

    @property
    def current(self) -> Path:
        """JSON: the snapshot in use (digest, path); rewritten on every accepted reload."""
        return self.stack_dir / "current.json"

    @property
    def reload_request(self) -> Path:
        return self.stack_dir / "reload-request"

    @property
    def reload_result(self) -> Path:
        return self.stack_dir / "reload-result.json"

    @property
    def children(self) -> Path:
        return self.stack_dir / "children.json"

    @property
    def prefect_api(self) -> Path:
        """JSON: the API address of the Prefect server `kehoach up` runs (see cli.stack.api)."""
        return self.stack_dir / "prefect.json"

    @property
    def lock(self) -> Path:
        return self.stack_dir / "up.lock"

    def make(self) -> None:
        for directory in (self.stack_dir, self.prefect_home, self.snapshots):
            directory.mkdir(parents=True, exist_ok=True)


def write_json(path: Path, value: object) -> None:
    """Atomic: readers polling the file never see half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def source_signature(source: Path) -> tuple:
    """Names, sizes and mtimes of every file the loader reads: cheap enough to poll."""
    entries = []
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if Path(root) == source and "schema" in dirs:
            dirs.remove("schema")
        for name in sorted(files):
            if name.startswith("."):
                continue
            try:
                stat = os.stat(os.path.join(root, name))
            except OSError:
                continue
            relative = os.path.relpath(os.path.join(root, name), source)
            entries.append((relative, stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


@dataclass
class Snapshot:
    """A validated copy of the definitions, or the validator's problems with the source."""

    result: LoadResult
    path: Path | None

    @property
    def problems(self) -> list[str]:
        return [str(p) for p in self.result.problems]


def take_snapshot(source: Path, paths: StackPaths, attempts: int = 3) -> Snapshot:
    """Validate `source`, copy it, and keep the copy only if it is the very version validated
    (an editor saving while we copy gets a retry, never a mixed snapshot)."""
    for _ in range(attempts):
        checked = load_definitions(source)
        if checked.definitions is None:
            return Snapshot(checked, None)
        digest = checked.definitions.digest
        target = paths.snapshots / digest[:16]
        if target.is_dir():
            os.utime(target)  # in use again: not among the oldest to prune
            return Snapshot(checked, target)
        staging = paths.snapshots / f".staging-{uuid.uuid4().hex}"
        shutil.copytree(source, staging, ignore=_skip_hidden_and_schema(source))
        copied = load_definitions(staging)
        if copied.definitions is not None and copied.definitions.digest == digest:
            try:
                os.rename(staging, target)
            except OSError:  # another process made the same snapshot first
                shutil.rmtree(staging, ignore_errors=True)
            os.utime(target)
            _prune(paths.snapshots, keep=target)
            return Snapshot(checked, target)
        shutil.rmtree(staging, ignore_errors=True)
        time.sleep(0.2)
    return Snapshot(load_definitions(source), None)


def _skip_hidden_and_schema(source: Path):
    def ignore(directory: str, names: list[str]) -> list[str]:
        skipped = [n for n in names if n.startswith(".")]
        if Path(directory) == source and "schema" in names:
            skipped.append("schema")
        return skipped

    return ignore


def _prune(snapshots: Path, keep: Path) -> None:
    """Keep the newest few: a run started a minute ago may still read an older one."""
    dirs = sorted(
        (d for d in snapshots.iterdir() if d.is_dir() and not d.name.startswith(".")),
        key=lambda d: d.stat().st_mtime,
        reverse=True,
    )
    for old in dirs[KEEP_SNAPSHOTS:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def short(outcome: dict) -> str:
    return (outcome.get("digest") or "")[:12]


def describe(outcome: dict) -> str:
    """'<digest>: N triển khai; thêm: …; xóa: …' (shared with `kehoach reload`)."""
    return (
        f"{short(outcome)}: {outcome.get('deployments')} triển khai"
        f"; thêm: {', '.join(outcome.get('added') or []) or 'không'}"
        f"; xóa: {', '.join(outcome.get('removed') or []) or 'không'}."
    )
