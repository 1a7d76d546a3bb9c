"""The portal's own settings from the environment (KEHOACH_*): the operator credential and the
path prefix behind a reverse proxy. The ledger, links and mail come from engine.settings."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from portal.security import OperatorCredential


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEHOACH_", extra="ignore")

    operator_user: str = "vanhanh"
    # Either the password itself or, better, its hash from `kehoach portal-password`.
    operator_password: SecretStr | None = None
    operator_password_hash: SecretStr | None = None
    portal_base_path: str = ""

    def operator_credential(self) -> OperatorCredential | None:
        """None when no password is configured: the operator pages then say so (503)."""
        password = self.operator_password.get_secret_value() if self.operator_password else None
        hashed = (
            self.operator_password_hash.get_secret_value() if self.operator_password_hash else None
        )
        if not (password or hashed):
            return None
        return OperatorCredential(self.operator_user, password=password, password_hash=hashed)
