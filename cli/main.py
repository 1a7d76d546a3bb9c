"""The `kehoach` command. Heavy layers (Prefect, the portal) are imported inside the commands
that need them, so `kehoach validate` stays fast and Prefect-free."""

from __future__ import annotations

import os
import sys

import typer

from cli import (
    bodies_cmds,
    definitions_cmds,
    errors,
    intake_cmds,
    ledger_cmds,
    outbox_cmds,
    portal_cmds,
    report_cmds,
    run_cmds,
    simulate_cmds,
    stack_cmds,
)
from cli.errors import GuardedGroup

app = typer.Typer(
    name="kehoach",
    cls=GuardedGroup,
    help="kehoach: kế hoạch hành chính thành quy trình chạy trên Prefect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    debug: bool = typer.Option(
        False, "--debug", help="In đầy đủ dấu vết lỗi (traceback) khi có sự cố hạ tầng."
    ),
) -> None:
    """kehoach: kế hoạch hành chính thành quy trình chạy trên Prefect."""
    errors.debug_flag = debug


definitions_cmds.register(app)
bodies_cmds.register(app)
ledger_cmds.register(app)
outbox_cmds.register(app)
run_cmds.register(app)
portal_cmds.register(app)
report_cmds.register(app)
simulate_cmds.register(app)
stack_cmds.register(app)
intake_cmds.register(app)


def main() -> None:
    # Everything kehoach writes (the ledger, the outbox's live links, attachments, the signing
    # key, logs) is private to the service user: no other local account may read a live link.
    os.umask(0o077)
    from engine.tokens import SecretKeyInvalid

    try:
        app()
    except SecretKeyInvalid as error:
        print(f"Lỗi: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
