"""Real mail servers for tests: aiosmtpd receiving on 127.0.0.1, and Debian's dovecot
serving one mailbox from a temporary directory."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.conftest import free_port, timeout


class SmtpSink:
    """An SMTP server that keeps what it receives. `refuse` answers 4xx to that many
    deliveries first; addresses in `reject` get 5xx."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = 0
        self.refused = 0
        self.reject: set[str] = set()
        self.port = free_port()
        self._lock = threading.Lock()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            # The controller's own loop is left open by stop(): close it here.
            self.controller.loop.close()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() in self.reject:
            return "550 5.1.1 no such mailbox here"
        with self._lock:
            if self.refused < self.refuse:
                self.refused += 1
                return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def _found(self, where: Callable[[EmailMessage], bool] | None) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if where is None or where(m)]

    async def wait_for(
        self, count: int = 1, where: Callable[[EmailMessage], bool] | None = None, wait: float = 10
    ) -> list[EmailMessage]:
        """The received messages (that fit `where`) once there are `count` of them."""
        deadline = time.monotonic() + timeout(wait)
        while len(found := self._found(where)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} mails arrived")
            await asyncio.sleep(0.05)
        return found

    def wait_sync(
        self, count: int = 1, where: Callable[[EmailMessage], bool] | None = None, wait: float = 10
    ) -> list[EmailMessage]:
        """As wait_for, for tests without an event loop of their own (Playwright's sync API)."""
        deadline = time.monotonic() + timeout(wait)
        while len(found := self._found(where)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} mails arrived")
            time.sleep(0.05)
        return found


def text_of(msg: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) of a received mail."""
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    return str(plain.get_content()), str(html.get_content())


DOVECOT = "/usr/sbin/dovecot"


class Dovecot:
    """dovecot with one user (`sapa`, password `secret`) whose Maildir is in `root`."""

    user = "sapa"
    password = "secret"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.maildir = root / "mail" / "Maildir"
        self.process: subprocess.Popen[bytes] | None = None
        self.run_dir = root

    @property
    def url(self) -> str:
        return f"imap://{self.user}:{self.password}@127.0.0.1:{self.port}"

    def start(self) -> Dovecot:
        me = os.getuid()
        import pwd

        account = pwd.getpwuid(me).pw_name
        # As root, dovecot's login processes must run as an unprivileged user (the package's
        # dovenull), who must reach the sockets: they live outside pytest's private tmp.
        login_user, internal_user = ("dovenull", "dovecot") if me == 0 else (account, account)
        self.run_dir = Path(tempfile.mkdtemp(prefix="sapa-dovecot-"))
        self.run_dir.chmod(0o755)
        # Mail is never read as root: as root, the mailbox belongs to the dovecot user.
        self.uid, self.gid = (os.getuid(), os.getgid())
        if me == 0:
            owner = pwd.getpwnam("dovecot")
            self.uid, self.gid = owner.pw_uid, owner.pw_gid
        home = self.run_dir / "mail"
        self.maildir = home / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        for path in (home, self.maildir, *self.maildir.iterdir()):
            os.chown(path, self.uid, self.gid)
        passwd = self.run_dir / "passwd"
        passwd.write_text(f"{self.user}:{{PLAIN}}{self.password}:{self.uid}:{self.gid}::{home}\n")
        conf = self.run_dir / "sapa-dovecot.conf"
        conf.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.run_dir / "run"}
state_dir = {self.run_dir / "state"}
log_path = {self.run_dir / "dovecot.log"}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
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
        )
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout(10)
        import socket

        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (
                        (self.run_dir / "dovecot.log").read_text(errors="replace")
                        if (self.run_dir / "dovecot.log").exists()
                        else ""
                    )
                    raise RuntimeError(f"dovecot did not start: {log[-2000:]}") from None
                time.sleep(0.05)

    def deliver(self, raw: bytes, name: str) -> None:
        """Put a mail in the inbox as a delivery agent would (Maildir: tmp, then new)."""
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw)
        os.chown(tmp, self.uid, self.gid)
        tmp.rename(self.maildir / "new" / name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout(10))
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)
