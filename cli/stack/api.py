"""Which Prefect server a command talks to: the running stack's, else PREFECT_API_URL.

`kehoach up` records the API address of the server it started in var/stack/prefect.json; a
command that starts flow runs (`tick`) uses it when that server answers, so an operator's runs
appear in the UI the operator has open. Without either, Prefect would start a throw-away server
whose runs nobody can see: we refuse unless the caller asks for it (see docs/operations.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from cli.stack.state import StackPaths, read_json, write_json


@dataclass(frozen=True)
class PrefectApi:
    """An API address and where it came from ('stack', 'env' or 'temporary')."""

    url: str | None
    source: str

    def describe(self) -> str:
        if self.source == "stack":
            return f"máy chủ Prefect của `kehoach up` đang chạy ({self.url})"
        if self.source == "env":
            return f"máy chủ Prefect theo PREFECT_API_URL ({self.url})"
        return "máy chủ Prefect tạm thời (giao diện Prefect sẽ không thấy các lượt chạy này)"


def record_stack_api(paths: StackPaths, url: str) -> None:
    """Called by `kehoach up` once its server answers."""
    write_json(paths.prefect_api, {"api_url": url, "supervisor": os.getpid()})


def forget_stack_api(paths: StackPaths) -> None:
    paths.prefect_api.unlink(missing_ok=True)


def answers(url: str, timeout: float = 3.0) -> bool:
    try:
        return httpx.get(f"{url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def stack_api(paths: StackPaths) -> str | None:
    """The recorded address of the running stack's server, if it still answers."""
    recorded = (read_json(paths.prefect_api) or {}).get("api_url")
    return recorded if recorded and answers(recorded) else None


def resolve(var_dir: Path) -> PrefectApi:
    """The stack's server if it runs, else PREFECT_API_URL, else a temporary server."""
    url = stack_api(StackPaths(var_dir))
    if url:
        return PrefectApi(url, "stack")
    env_url = os.environ.get("PREFECT_API_URL", "").strip()
    if not env_url:
        # A profile may set it too (`prefect config set PREFECT_API_URL=…`).
        from prefect.settings import PREFECT_API_URL

        env_url = (PREFECT_API_URL.value() or "").strip()
    if env_url:
        return PrefectApi(env_url, "env")
    return PrefectApi(None, "temporary")


def use(api: PrefectApi) -> None:
    """Point this process's Prefect client at `api` (before any client is created)."""
    if api.url:
        os.environ["PREFECT_API_URL"] = api.url
        # With basic auth on the stack's server, our client must present the same credentials.
        server_auth = os.environ.get("PREFECT_SERVER_API_AUTH_STRING")
        if server_auth:
            os.environ.setdefault("PREFECT_API_AUTH_STRING", server_auth)
