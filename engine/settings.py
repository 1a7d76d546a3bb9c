"""Configuration from the environment (KEHOACH_*), with embedded defaults for one machine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEHOACH_", extra="ignore")

    definitions: Path = REPO_ROOT / "definitions"
    var_dir: Path = REPO_ROOT / "var"
    database_url: str | None = None
    portal_url: str = "http://127.0.0.1:8080"
    # Held as SecretStr so that a repr or a log of the settings never shows it.
    secret_key: SecretStr | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    # At most one receipt email per assignment within this many seconds (a flood is folded).
    receipt_interval_seconds: float = 120.0
    # Where attachments are stored (content-addressed); default: files/ under var_dir.
    files_dir: Path | None = None
    # Delivery: the first wait after a transient failure (doubling up to the ceiling), and how
    # long a letter keeps being tried before it is given up and reported (seconds or ISO 8601).
    delivery_retry_first: dt.timedelta = dt.timedelta(minutes=5)
    delivery_retry_ceiling: dt.timedelta = dt.timedelta(hours=4)
    delivery_give_up_after: dt.timedelta = dt.timedelta(days=3)
    # The province's intake mailbox: letters carry Reply-To nop+<token>@… and invite a reply.
    reply_to: str | None = None
    # Accept a reply from any address of a body's mail domain, not only its declared mailboxes.
    intake_trust_domain: bool = False
    # Mails larger than this are kept for triage without being parsed.
    intake_max_mb: float = 30.0
    # How often the intake deployment reads the mailbox.
    intake_every_minutes: int = 5
    # Where the embedded mail sink delivers mail for the intake mailbox (no IMAP configured).
    maildir: Path | None = None

    @property
    def ledger_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'kehoach.db'}"

    @property
    def intake_maildir(self) -> Path:
        return self.maildir or self.var_dir / "maildir"

    @property
    def attachments_dir(self) -> Path:
        return self.files_dir or self.var_dir / "files"


def get_settings() -> Settings:
    return Settings()
