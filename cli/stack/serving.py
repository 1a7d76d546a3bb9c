"""`kehoach serve`: one served deployment per obligation, following edits of the definitions.

Reloads happen inside the serving process (a Prefect Runner accepts new deployments while it
runs), so runs in flight are never cut short by an edit. A valid edit is snapshotted, its
deployments re-registered, those of deleted obligations removed from the server, and new runs
start on the snapshot; a broken edit is refused with the validator's messages and the last
good version keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from cli.stack.pruning import remove_undefined
from cli.stack.state import (
    Snapshot,
    StackPaths,
    describe,
    short,
    source_signature,
    take_snapshot,
    write_json,
)

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.runner import Runner

# An editor writes a file in several steps: wait for the tree to stop changing.
SETTLE_SECONDS = 0.5


def say(message: str) -> None:
    print(message, flush=True)


@dataclass
class Served:
    digest: str
    snapshot: Path
    ids: dict[str, UUID] = field(default_factory=dict)


class DeploymentServer:
    """Registers the deployments of the current definitions and serves them with one Runner."""

    def __init__(
        self, source: Path, paths: StackPaths, *, watch: bool, poll_seconds: float = 1.0
    ) -> None:
        self.source = source
        self.paths = paths
        self.watch_source = watch
        self.poll_seconds = poll_seconds
        self.served: Served | None = None
        self.runner: Runner | None = None
        self.client: PrefectClient | None = None

    async def run(self) -> int:
        from prefect.context import AsyncClientContext
        from prefect.runner import Runner

        self.paths.make()
        # Taken before the snapshot, so an edit made while we start is not missed.
        seen = await asyncio.to_thread(source_signature, self.source)
        snapshot = await asyncio.to_thread(take_snapshot, self.source, self.paths)
        if snapshot.path is None:
            refuse(snapshot, initial=True)
            return 1
        # Built while the server may still be starting (`kehoach up` starts both at once).
        prepared = await self.prepare(snapshot)
        # Pausing on shutdown is ours to do: the Runner would also try deployments we deleted.
        self.runner = Runner(name=f"kehoach-{socket.gethostname()}", pause_on_shutdown=False)
        await wait_for_api()
        # One client for every call (aadd_deployment would otherwise open one per deployment).
        async with AsyncClientContext.get_or_create() as context:
            self.client = context.client
            outcome = await self.register(snapshot, prepared)
            await self.ensure_automation()
            say(f"Đang phục vụ {outcome['deployments']} triển khai (định nghĩa {short(outcome)}).")
            # Written last: the supervisor takes this file as "ready".
            write_json(self.paths.reload_result, {**outcome, "nonce": None})
            signal.signal(signal.SIGINT, lambda *_: self.runner.handle_sigterm())
            watcher = asyncio.create_task(self.watch(seen)) if self.watch_source else None
            try:
                await self.runner.start()
            finally:
                if watcher is not None:
                    watcher.cancel()
                await self.pause_all()
                self.paths.current.unlink(missing_ok=True)
        return 0

    async def prepare(self, snapshot: Snapshot) -> tuple:
        """The snapshot's deployment specs and Prefect deployments (no API calls yet)."""
        from flows.deployments import deployment_set, runner_deployments

        wanted = await asyncio.to_thread(deployment_set, snapshot.result.definitions)
        for line in wanted.skipped:
            say(f"Cảnh báo: {line}")
        # to_deployment is sync-or-async by caller: a worker thread gets the sync flavour.
        return wanted, await asyncio.to_thread(runner_deployments, wanted.specs)

    async def apply(self, snapshot: Snapshot, *, force: bool) -> dict:
        defs = snapshot.result.definitions
        if self.served is not None and defs.digest == self.served.digest and not force:
            return self.outcome(True, changed=False)
        return await self.register(snapshot, await self.prepare(snapshot))

    async def register(self, snapshot: Snapshot, prepared: tuple) -> dict:
        """Register the snapshot's deployments, delete the ones no longer defined."""
        wanted, deployments = prepared
        defs = snapshot.result.definitions
        changed = self.served is None or defs.digest != self.served.digest
        before = set(self.served.ids) if self.served else set()
        ids = {}
        for spec, deployment in zip(wanted.specs, deployments, strict=True):
            ids[spec.full_name] = await self.runner.aadd_deployment(deployment)
            if spec.cron is None:
                await self.clear_schedules(ids[spec.full_name])
        removed = await remove_undefined(self.client, set(ids))
        # Runs are started in subprocesses that inherit this environment.
        os.environ["KEHOACH_DEFINITIONS"] = str(snapshot.path)
        self.served = Served(defs.digest, snapshot.path, ids)
        write_json(
            self.paths.current,
            {"digest": defs.digest, "path": str(snapshot.path), "source": str(self.source)},
        )
        return self.outcome(
            True,
            changed=changed,
            added=sorted(set(ids) - before),
            removed=removed,
            skipped=wanted.skipped,
        )

    def outcome(self, accepted: bool, **details: object) -> dict:
        return {
            "accepted": accepted,
            "digest": self.served.digest if self.served else None,
            "deployments": len(self.served.ids) if self.served else 0,
            "names": sorted(self.served.ids) if self.served else [],
            "at": dt.datetime.now(dt.UTC).isoformat(),
            **details,
        }

    async def clear_schedules(self, deployment_id: UUID) -> None:
        """An empty schedule list would keep the old schedules on update: delete them."""
        deployment = await self.client.read_deployment(deployment_id)
        for schedule in deployment.schedules:
            await self.client.delete_deployment_schedule(deployment_id, schedule.id)

    async def ensure_automation(self) -> None:
        from cli.stack.automation import ensure_failure_automation
        from flows.deployments import NOTIFY_FLOW

        notify = self.served.ids[f"{NOTIFY_FLOW}/{NOTIFY_FLOW}"]
        await ensure_failure_automation(self.client, notify)

    async def pause_all(self) -> None:
        if self.served is None or self.client is None:
            return
        for deployment_id in self.served.ids.values():
            with contextlib.suppress(Exception):
                await self.client.pause_deployment(deployment_id)

    async def watch(self, seen: tuple) -> None:
        """Poll the definitions and the reload request; reload when either changes."""
        request = request_stamp(self.paths)
        while True:
            await asyncio.sleep(self.poll_seconds)
            current = await asyncio.to_thread(source_signature, self.source)
            asked = request_stamp(self.paths)
            if current == seen and asked == request:
                continue
            if current != seen:
                await asyncio.sleep(SETTLE_SECONDS)
                if await asyncio.to_thread(source_signature, self.source) != current:
                    continue  # still being written: look again next round
            forced = asked != request
            seen, request = current, asked
            try:
                outcome = await self.reload(forced)
                nonce = asked[1] if forced else None
                write_json(self.paths.reload_result, {**outcome, "nonce": nonce})
            except Exception as error:  # noqa: BLE001 - the watcher must outlive one bad reload
                say(f"Lỗi khi nạp lại định nghĩa ({error}); vẫn chạy phiên bản đang dùng.")

    async def reload(self, forced: bool) -> dict:
        snapshot = await asyncio.to_thread(take_snapshot, self.source, self.paths)
        if snapshot.path is None:
            refuse(snapshot, initial=False, running=self.served)
            return self.outcome(False, problems=snapshot.problems)
        try:
            outcome = await self.apply(snapshot, force=forced)
        except Exception as error:  # noqa: BLE001 - keep serving what we have
            say(f"Không đăng ký được các triển khai mới ({error}); giữ nguyên phiên bản đang chạy.")
            return self.outcome(False, problems=[str(error)])
        if outcome["changed"]:
            say(f"Đã nạp định nghĩa mới {describe(outcome)}")
        elif forced:
            say(f"Định nghĩa không đổi, đã đăng ký lại: {describe(outcome)}")
        return outcome


def refuse(snapshot: Snapshot, *, initial: bool, running: Served | None = None) -> None:
    problems = snapshot.problems
    if initial:
        say(f"Định nghĩa không hợp lệ ({len(problems)} lỗi), không thể khởi động:")
    else:
        version = running.digest[:12] if running else "?"
        say(
            f"Từ chối bản sửa định nghĩa: {len(problems)} lỗi. "
            f"Vẫn chạy phiên bản đang dùng ({version}). Sửa các lỗi sau rồi lưu lại:"
        )
    for problem in problems:
        say(f"  {problem}")


async def wait_for_api(timeout: float = 300) -> None:
    """Until the Prefect API answers (a client cannot even be opened before that)."""
    from prefect import get_client

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            async with get_client() as client:
                problem = await client.api_healthcheck()
        except Exception as error:  # noqa: BLE001 - refused connections while it starts
            problem = error
        if problem is None:
            return
        if loop.time() > deadline:
            raise RuntimeError(f"không kết nối được máy chủ Prefect: {problem}")
        await asyncio.sleep(0.5)


def request_stamp(paths: StackPaths) -> tuple[int, str]:
    """(mtime, nonce) of the reload request `kehoach reload` writes; (0, '') when none."""
    try:
        return paths.reload_request.stat().st_mtime_ns, paths.reload_request.read_text().strip()
    except OSError:
        return 0, ""


def serve(source: Path, paths: StackPaths, *, watch: bool) -> int:
    try:
        return asyncio.run(DeploymentServer(source, paths, watch=watch).run())
    except KeyboardInterrupt:
        return 0
    except Exception as error:  # noqa: BLE001 - one clear line for the operator, not a traceback
        say(f"Lỗi: không phục vụ được các triển khai: {error}")
        return 1
    finally:
        sys.stdout.flush()
