"""A real IMAP server for the tests: Debian's Dovecot with a throw-away configuration.

Plain authentication on 127.0.0.1 and a random port, one passwd-file user, Maildir storage in a
temporary directory; stopped (and removed) when the test ends.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD = "nop", "mat-khau-thu"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
protocol imap {{
  mail_max_userip_connections = 50
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@dataclass(frozen=True)
class Dovecot:
    host: str
    port: int
    user: str
    password: str
    root: Path

    def env(self) -> dict[str, str]:
        """KEHOACH_IMAP_* settings pointing at this server."""
        return {
            "KEHOACH_IMAP_HOST": self.host,
            "KEHOACH_IMAP_PORT": str(self.port),
            "KEHOACH_IMAP_USER": self.user,
            "KEHOACH_IMAP_PASSWORD": self.password,
            "KEHOACH_IMAP_SSL": "false",
            "KEHOACH_IMAP_STARTTLS": "false",
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def available() -> str | None:
    """None when Dovecot can run here, else why not."""
    if not DOVECOT.exists():
        return "Dovecot is not installed (apt-get install dovecot-imapd; `make test` does)"
    return None


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    # Under /tmp with open modes, not pytest's private tmp_path: Dovecot's mail processes run
    # as the mail user, which must reach the Maildir.
    root = Path(tempfile.mkdtemp(prefix="kehoach-dovecot-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        mail_user = pwd.getpwnam("dovecot")
        uid, gid = mail_user.pw_uid, mail_user.pw_gid
        login_user, internal_user = "dovenull", "dovecot"
    else:
        uid, gid = os.getuid(), os.getgid()
        login_user = internal_user = pwd.getpwuid(uid).pw_name
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir()
    for sub in ("mail", "home"):
        os.chown(root / sub, uid, gid) if os.geteuid() == 0 else None
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(
        CONFIG.format(
            root=root,
            port=port,
            uid=uid,
            gid=gid,
            login_user=login_user,
            internal_user=internal_user,
        )
    )
    process = subprocess.Popen(
        [str(DOVECOT), "-F", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"dovecot did not start: {output}\n{log}")
            time.sleep(0.05)
        yield Dovecot("127.0.0.1", port, USER, PASSWORD, root)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        shutil.rmtree(root, ignore_errors=True)
