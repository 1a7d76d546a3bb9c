"""Process-wide wiring for the tasks: settings, definitions, the ledger engine, the renderer.

Built once per process and reused by every task run, so a batch of ticks does not reload the
YAML or reconnect to the database for each step.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from engine.calendar import today_in_vietnam
from engine.definitions.loader import load_definitions
from engine.definitions.models import Definitions
from engine.ledger.db import make_engine, session_factory
from engine.ledger.outbox import RetryPolicy
from engine.settings import Settings, get_settings
from engine.tokens import load_or_create_secret
from notifications.compose import Links
from notifications.receipts import Desk
from notifications.render import Renderer
from notifications.sender import Sender, SmtpSettings
from tasks.steps import TickEnv


class DefinitionsInvalid(RuntimeError):
    """The definitions do not validate: nothing may run on them."""


@functools.cache
def settings() -> Settings:
    return get_settings()


# Definitions a command has already loaded from the settings' directory (see share_definitions).
_shared: list[Definitions] = []


@functools.cache
def definitions() -> Definitions:
    if _shared:
        return _shared[0]
    result = load_definitions(settings().definitions)
    if result.problems or result.definitions is None:
        lines = "\n".join(str(p) for p in result.problems[:20])
        raise DefinitionsInvalid(f"definitions in {settings().definitions} are invalid:\n{lines}")
    return result.definitions


def share_definitions(directory: Path, defs: Definitions) -> None:
    """Use `defs`, loaded by the caller from `directory`, when that is the directory the runs
    read: loading and checking the YAML again costs a command a third of a second."""
    if Path(directory).resolve() == Path(settings().definitions).resolve():
        _shared[:] = [defs]
        definitions.cache_clear()


@functools.cache
def sessions() -> sessionmaker[Session]:
    return session_factory(make_engine(settings().ledger_url))


@functools.cache
def renderer() -> Renderer:
    custom = settings().definitions / "templates"
    return Renderer(custom if custom.is_dir() else None)


@functools.cache
def smtp_settings() -> SmtpSettings:
    return SmtpSettings()


def sender() -> Sender:
    # One quick retry inside a drain (a dropped connection, a 451); beyond that the outbox's
    # next-attempt times take over.
    return Sender(smtp_settings(), retries=1, backoff=2.0)


def retry_policy() -> RetryPolicy:
    current = settings()
    return RetryPolicy(
        first=current.delivery_retry_first,
        ceiling=current.delivery_retry_ceiling,
        give_up_after=current.delivery_give_up_after,
    )


@functools.cache
def links() -> Links:
    current = settings()
    given = current.secret_key.get_secret_value() if current.secret_key else None
    secret = load_or_create_secret(given, current.var_dir)
    return Links(current.portal_url, secret, reply_mailbox=current.reply_to)


def mail_domain() -> str:
    return smtp_settings().mail_from.rsplit("@", 1)[-1]


def desk(defs: Definitions | None = None) -> Desk:
    """Where answers are received (the portal, `kehoach submit` and `review`), from the
    settings; `defs` when the caller loaded definitions of its own (a --definitions option)."""
    return Desk(
        defs=defs or definitions(),
        sessions=sessions(),
        renderer=renderer(),
        links=links(),
        mail_domain=mail_domain(),
        files_dir=settings().attachments_dir,
        receipt_interval=dt.timedelta(seconds=settings().receipt_interval_seconds),
    )


def tick_env(as_of: dt.date | None) -> TickEnv:
    return TickEnv(
        defs=definitions(),
        sessions=sessions(),
        renderer=renderer(),
        links=links(),
        mail_domain=mail_domain(),
        today=as_of or today_in_vietnam(),
        now=dt.datetime.now(dt.UTC),
    )


def alert_failed_letters() -> int:
    """Tell the operators, once each, of letters the outbox gave up on."""
    from notifications.operators import alert_failed_letters as alert

    return alert(
        sessions(),
        renderer=renderer(),
        mail_domain=mail_domain(),
        signature=smtp_settings().mail_from_name,
    )


def alert(incident: object) -> bool:
    """notifications.operators.alert_operators with this process's wiring."""
    from notifications.operators import alert_operators

    return alert_operators(
        sessions(),
        incident,
        renderer=renderer(),
        mail_domain=mail_domain(),
        signature=smtp_settings().mail_from_name,
    )


def reset() -> None:
    """Forget the cached wiring (tests switch databases and settings between cases)."""
    _shared.clear()
    for cached in (settings, definitions, sessions, renderer, smtp_settings, links):
        cached.cache_clear()
