"""Runs left `Running` by a process that died (SIGKILL, a lost machine, a server restart) are
turned Crashed, so the failure automation (flows/notify.py) tells the operators.

Each of our flow runs records where it runs (`infrastructure_pid` = "host:pid", from inside the
flow process itself). `crash_dead_runs` looks at the runs tagged `kehoach` still Running and
crashes those whose process on this host no longer exists. `kehoach tick` runs it before its
own runs, and `kehoach up` every RECONCILE_INTERVAL; a run on another host is left to that
host's own reconciliation.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
from dataclasses import dataclass

from flows.deployments import RUN_TAG

log = logging.getLogger(__name__)

RECONCILE_INTERVAL = dt.timedelta(seconds=30)
_WHERE = re.compile(r"^(?P<host>.+):(?P<pid>\d+)$")


def process_marker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def note_process() -> None:
    """Record on the current flow run the host and process running it (one API call)."""
    from prefect import get_client
    from prefect.runtime import flow_run

    run_id = flow_run.id
    if not run_id:
        return
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run_id, infrastructure_pid=process_marker())
    except Exception as error:  # noqa: BLE001 - the run itself must not fail for this
        log.debug("could not record the run's process: %s", error)


def _process_gone(marker: str | None) -> bool:
    found = _WHERE.match(marker or "")
    if found is None or found["host"] != socket.gethostname():
        return False
    pid = int(found["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class CrashedRun:
    id: str
    name: str


def crash_dead_runs() -> list[CrashedRun]:
    """Turn Crashed every Running run of ours whose process on this host is gone."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    crashed = []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])),
                tags=FlowRunFilterTags(all_=[RUN_TAG]),
            ),
            limit=200,
        )
        for run in runs:
            if not _process_gone(run.infrastructure_pid):
                continue
            message = (
                f"Tiến trình chạy lượt này ({run.infrastructure_pid}) đã dừng đột ngột; "
                "lượt chạy được đánh dấu gặp sự cố. Các thư chưa gửi sẽ được gửi ở lượt sau."
            )
            client.set_flow_run_state(run.id, Crashed(message=message), force=True)
            log.warning("run %s (%s) crashed: its process is gone", run.name, run.id)
            crashed.append(CrashedRun(str(run.id), run.name))
    return crashed
