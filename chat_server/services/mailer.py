"""Outgoing mail: the durable outbox sent over SMTP by a task in each server process.

A mail is a row of `mail_outbox` before anything is sent (`store/mail.enqueue`, keyed by
an idempotency key, in the same transaction as whatever caused it). Each poll claims the
due rows inside a write transaction with a lease, so several processes never hold the
same mail; a process that dies mid-send leaves it to be claimed again when the lease
ends. Connection failures and 4xx answers are retried with doubling delays; a 5xx answer
gives the mail up with the server's words as its visible reason. The idempotency key is
also the mail's Message-ID: in the one window no outbox can close (the server accepted
the mail, the process died before recording it), the copy sent again carries the same
Message-ID, which receiving systems use to drop duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import smtplib
import ssl
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from chat_server.domain import mail as rules
from chat_server.ids import format_time, new_id, now_iso
from chat_server.services.storage import Store
from chat_server.store import mail as mail_store
from chat_server.store.mail import OutboxMail

log = logging.getLogger(__name__)

LEASE_S = 300.0  # longer than any one SMTP conversation (its timeout is 30 s)
BATCH = 20
SMTP_TIMEOUT_S = 30.0


class SendFailed(Exception):
    def __init__(self, reason: str, code: int | None) -> None:
        super().__init__(reason)
        self.code = code


def message_id(mail: OutboxMail, mail_from: str) -> str:
    digest = hashlib.sha256(mail.idem_key.encode()).hexdigest()[:32]
    return f"<{digest}@{mail_from.rsplit('@', 1)[1]}>"


def build_message(mail: OutboxMail, mail_from: str, from_name: str = "") -> EmailMessage:
    """The MIME message: plain text and HTML alternatives, headers set through the email
    package's header objects (a value holding a line break is refused there, and names and
    subjects are made one line before that)."""
    msg = EmailMessage()
    local, domain = mail_from.rsplit("@", 1)
    msg["From"] = Address(rules.header_text(from_name), local, domain)
    to_local, to_domain = mail.to_addr.rsplit("@", 1)
    msg["To"] = Address(rules.header_text(mail.to_name), to_local, to_domain)
    msg["Subject"] = rules.header_text(mail.subject)
    msg["Message-ID"] = message_id(mail, mail_from)
    msg["Date"] = format_datetime(datetime.now(UTC))
    # Our own mail is automatic from the receiver's view only when nobody wrote it.
    msg["Auto-Submitted"] = "auto-generated" if mail.kind == "notify" else "no"
    if mail.reply_to:
        r_local, r_domain = mail.reply_to.rsplit("@", 1)
        msg["Reply-To"] = Address("", r_local, r_domain)
    if mail.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(mail.text_body)
    msg.add_alternative(mail.html_body, subtype="html")
    return msg


def smtp_send(server: rules.MailServer, msg: EmailMessage) -> None:
    """One SMTP conversation (blocking: run in a thread). Raises SendFailed."""
    try:
        client: smtplib.SMTP
        if server.tls:
            client = smtplib.SMTP_SSL(
                server.host,
                server.port,
                timeout=SMTP_TIMEOUT_S,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT_S)
        with client:
            if server.starttls:
                client.starttls(context=ssl.create_default_context())
            if server.username:
                client.login(server.username, server.password or "")
            client.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        code, answer = next(iter(exc.recipients.values()))
        raise SendFailed(f"{code} {answer.decode(errors='replace')}", code) from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        raise SendFailed(f"{exc.smtp_code} {text}", exc.smtp_code) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(f"connection: {exc}", None) from None


class Mailer:
    """Sends the outbox; `run_once` is one poll (tests call it; the task loops it)."""

    def __init__(
        self,
        db: Store,
        server: rules.MailServer,
        mail_from: str,
        *,
        poll: float = 5.0,
        retry_base: float = 30.0,
    ) -> None:
        self.db = db
        self.server = server
        self.mail_from = mail_from
        self.poll = poll
        self.retry_base = retry_base
        self.owner = new_id("mailer")
        self.sent = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sapa-mailer")

    def wake(self) -> None:
        """Something was queued: poll now rather than at the next tick."""
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("sending the outbox failed; retrying at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
            self._wake.clear()

    async def run_once(self) -> int:
        """Send every due mail once; answers how many were sent."""
        now = datetime.now(UTC)
        lease = format_time(now + timedelta(seconds=LEASE_S))
        claimed = await self.db.write(
            lambda conn: mail_store.claim_due(conn, format_time(now), lease, BATCH)
        )
        sent = 0
        for mail in claimed:
            sent += await self._deliver(mail)
        return sent

    async def _deliver(self, mail: OutboxMail) -> int:
        try:
            message = build_message(mail, self.mail_from, "Sapa")
        except (ValueError, TypeError, IndexError) as exc:
            # An address stored by another path that no header can hold: never sendable.
            reason = f"not sendable: {exc}"
            await self.db.write(lambda conn: mail_store.mark_failed(conn, mail.id, reason))
            return 0
        try:
            await asyncio.to_thread(smtp_send, self.server, message)
        except SendFailed as exc:
            reason, attempts = str(exc), mail.attempts + 1
            if rules.verdict(exc.code) == "fail" or attempts >= rules.MAX_ATTEMPTS:
                log.warning("mail %s given up: %s", mail.id, exc)
                await self.db.write(lambda conn: mail_store.mark_failed(conn, mail.id, reason))
            else:
                delay = rules.retry_delay(attempts, self.retry_base)
                next_at = format_time(datetime.now(UTC) + timedelta(seconds=delay))
                log.info("mail %s deferred %.0f s: %s", mail.id, delay, exc)
                await self.db.write(
                    lambda conn: mail_store.mark_retry(conn, mail.id, reason, next_at)
                )
            return 0
        at = now_iso()
        await self.db.write(lambda conn: mail_store.mark_sent(conn, mail.id, at))
        self.sent += 1
        return 1
