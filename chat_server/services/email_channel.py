"""Email as a channel: addresses captured in the widget, agents' replies emailed to shoppers
who were not there to read them, their answers brought back into the conversation
(IMAP polling or a signed webhook), transcripts, unsubscribes and signed reopen links.

Every outgoing mail is a row of the outbox (`services/mailer.py` sends it); every mail in
or out is on the customer's timeline (`timeline_items`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import imaplib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from functools import partial
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, PackageLoader, select_autoescape

from chat_server import errors
from chat_server.domain import mail as rules
from chat_server.domain.access import Viewer
from chat_server.domain.frames import Send
from chat_server.domain.models import Message, Site, anonymous_name
from chat_server.domain.origins import origin_allowed
from chat_server.ids import format_time
from chat_server.services.chat import ChatService
from chat_server.services.mail_inbound import Inbound, InboundWebhooks
from chat_server.services.storage import Store
from chat_server.store import crm as crm_store
from chat_server.store import customers as customer_store
from chat_server.store import mail as mail_store
from chat_server.store import rooms as room_store
from chat_server.store import sites as site_store
from chat_server.store.mail import NewMail, OutboxMail
from chat_server.store.sql import Tx

log = logging.getLogger(__name__)

TAIL = 10  # messages an email shows
LINK_MAX_AGE_S = 30 * 86_400

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "hello": "Halo",
        "intro": "Ada balasan baru untuk Anda dari",
        "answer": "Balas email ini untuk menjawab, atau lanjutkan percakapan di situs kami.",
        "open": "Buka percakapan",
        "unsubscribe": "Berhenti menerima email ini",
        "subject_reply": "Balasan dari {site}",
        "subject_transcript": "Transkrip percakapan Anda dengan {site}",
        "waiting": "Seorang pelanggan menunggu balasan.",
        "subject_notify": "Percakapan menunggu balasan di {site}",
    },
    "en": {
        "hello": "Hi",
        "intro": "You have a new reply from",
        "answer": "Reply to this email to answer, or carry on the conversation on our site.",
        "open": "Open the conversation",
        "unsubscribe": "Stop these emails",
        "subject_reply": "A reply from {site}",
        "subject_transcript": "Your conversation with {site}",
        "waiting": "A customer is waiting for a reply.",
        "subject_notify": "A conversation is waiting at {site}",
    },
}


@dataclass(frozen=True, slots=True)
class Links:
    """Signed links: reopen a conversation in the widget, and unsubscribe."""

    secret: str
    base_url: str

    def _serializer(self, salt: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=salt)

    def token(self, salt: str, site_id: str, customer_id: str, room_id: str | None) -> str:
        return str(self._serializer(salt).dumps([site_id, customer_id, room_id]))

    def read(self, salt: str, token: str) -> tuple[str, str, str | None]:
        """(site_id, customer_id, room_id) of a link; a tampered or old one is refused."""
        try:
            site_id, customer_id, room_id = self._serializer(salt).loads(
                token, max_age=LINK_MAX_AGE_S
            )
        except (BadSignature, ValueError, TypeError):
            raise errors.forbidden(
                "this link is not valid (it was changed or is too old)"
            ) from None
        return str(site_id), str(customer_id), room_id

    def open_url(self, site_id: str, customer_id: str, room_id: str) -> str:
        return f"{self.base_url}/mail/open/{self.token('sapa-open', site_id, customer_id, room_id)}"

    def unsubscribe_url(self, site_id: str, customer_id: str) -> str:
        token = self.token("sapa-unsubscribe", site_id, customer_id, None)
        return f"{self.base_url}/mail/unsubscribe/{token}"


def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("chat_server", "mail_templates"),
        autoescape=select_autoescape(["html"], default_for_string=False),
        keep_trailing_newline=True,
    )


_TAGS = re.compile(r"<[^>]*>")


class EmailChannel:
    def __init__(
        self,
        db: Store,
        chat: ChatService,
        links: Links,
        *,
        reply_to: str | None = None,
        reply_secret: str = "",
        webhook_key: str | None = None,
        webhooks: InboundWebhooks | None = None,
    ) -> None:
        self.db = db
        self.chat = chat
        self.links = links
        self.reply_to = reply_to
        self.reply_secret = reply_secret or links.secret
        self.webhooks = webhooks or InboundWebhooks(mailgun_key=webhook_key)
        self.templates = _templates()
        self.on_queued: list[Any] = []  # callables told that mail was queued (the mailer)
        self._task: asyncio.Task[None] | None = None
        # Which agents of a site are connected (presence): notifications skip them.
        self.online: Callable[[str], Awaitable[set[str]]] | None = None

    def start(self, poll: float) -> None:
        """Email conversations whose delay is over, every `poll` seconds."""
        self._task = asyncio.create_task(self._run(poll), name="sapa-mail-replies")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, poll: float) -> None:
        while True:
            try:
                await self.send_due()
                await self.notify_waiting()
            except Exception:
                log.exception("emailing replies failed; retrying at the next poll")
            await asyncio.sleep(poll)

    # -- rendering --------------------------------------------------------------------

    def render(self, template: str, locale: str, **data: Any) -> tuple[str, str]:
        words = WORDS.get(locale, WORDS["en"])
        text = self.templates.get_template(f"{template}.txt").render(w=words, locale=locale, **data)
        html = self.templates.get_template(f"{template}.html").render(
            w=words, locale=locale, **data
        )
        return text, html

    def _conversation_mail(
        self,
        site: Site,
        recipient: mail_store.Recipient,
        room_id: str,
        kind: str,
        key: str,
        messages: list[Message],
    ) -> NewMail:
        assert recipient.email is not None
        locale = site.locale if site.locale in WORDS else "en"
        words = WORDS[locale]
        shown = [
            {
                "author": m.author.name if m.author.kind != "system" else site.name,
                "at": m.created_at[:16].replace("T", " ") + " UTC",
                "body": m.body,
            }
            for m in messages
        ]
        unsubscribe = self.links.unsubscribe_url(site.id, recipient.customer_id)
        text, html = self.render(
            "reply",
            locale,
            kind=kind,
            name=""
            if recipient.name in (None, anonymous_name(recipient.customer_id))
            else recipient.name,
            site_name=site.name,
            messages=shown,
            open_url=self.links.open_url(site.id, recipient.customer_id, room_id),
            unsubscribe_url=unsubscribe,
        )
        subject = words["subject_" + kind].format(site=site.name)
        reply_to = None
        if self.reply_to and kind == "reply":
            reply_to = rules.reply_address(self.reply_to, self.reply_secret, room_id)
        return NewMail(
            site.id,
            key,
            kind,
            recipient.email,
            subject,
            text,
            html,
            to_name=recipient.name or "",
            customer_id=recipient.customer_id,
            room_id=room_id,
            reply_to=reply_to,
            unsubscribe_url=unsubscribe,
        )

    # -- capture ------------------------------------------------------------------------

    async def capture(self, site_id: str, customer_id: str, email: object, consent: bool) -> None:
        """The shopper gave an address (widget form or `contact` frame); their consent to
        be emailed is recorded with it in the customer record."""
        address = rules.valid_address(email)

        def job(conn: Tx) -> None:
            customer_store.activate(conn, site_id, customer_id)
            mail_store.set_customer_email(conn, customer_id, address)
            crm_store.set_consent(conn, customer_id, "email", consent, "widget_capture")

        await self.db.write(job)

    # -- replies by email ---------------------------------------------------------------

    async def send_due(self, now: datetime | None = None) -> int:
        """Email every conversation whose delay has passed; answers how many were queued."""
        at = now or datetime.now(UTC)
        moment, since = format_time(at), format_time(at - rules.ADDRESS_WAIT)
        queued = 0
        for thread in await mail_store.due_threads(self.db, moment, since):
            queued += await self.db.write(partial(self._email_thread, thread=thread))
        if queued:
            self._queued()
        return queued

    def _email_thread(self, conn: Tx, thread: mail_store.MailThread) -> int:
        taken = mail_store.take_thread(conn, thread.room_id, thread.due_at or "")
        if taken is None:
            return False
        site = site_store.load_site(conn, taken.site_id)
        recipient = mail_store.recipient(conn, taken.site_id, taken.customer_id)
        if site is None or recipient is None or not recipient.email:
            return False
        if not recipient.subscribed or recipient.erased:
            return False
        seen = max(
            taken.emailed_seq, mail_store.customer_read_seq(conn, taken.room_id, taken.customer_id)
        )
        tail = mail_store.visible_tail(conn, taken.room_id, TAIL)
        fresh = [m for m in tail if m.seq > seen and m.author.kind == "agent" and m.kind == "text"]
        if not fresh:
            return False  # the shopper read them in the widget meanwhile
        last = tail[-1].seq
        mail = self._conversation_mail(
            site, recipient, taken.room_id, "reply", f"reply:{taken.room_id}:{last}", tail
        )
        mail_store.set_emailed(conn, taken.room_id, last)
        return mail_store.enqueue(conn, mail)

    async def transcript(self, site_id: str, customer_id: str, room_id: str, by: str) -> bool:
        """Email the conversation to its customer (the shopper asked, or an agent sent it)."""

        def job(conn: Tx) -> bool:
            site = site_store.load_site(conn, site_id)
            recipient = mail_store.recipient(conn, site_id, customer_id)
            if site is None or recipient is None or recipient.erased:
                raise errors.not_found("customer")
            if not recipient.email:
                raise errors.SapaError(errors.ErrorCode.CONFLICT, "no email address is known")
            tail = mail_store.visible_tail(conn, room_id, 200)
            last = tail[-1].seq if tail else 0
            key = f"transcript:{room_id}:{last}:{by}"
            return mail_store.enqueue(
                conn, self._conversation_mail(site, recipient, room_id, "transcript", key, tail)
            )

        queued = await self.db.write(job)
        self._queued()
        return queued

    def _queued(self) -> None:
        for tell in self.on_queued:
            tell()

    # -- links --------------------------------------------------------------------------

    async def open_page(self, token: str) -> str | None:
        """The shop page a reopen link leads to (the site's `open_url` while it is still on
        the site's domains, else the origin the widget last ran on); None when unknown.
        The link itself is the credential: it was sent to the customer's address."""
        site_id, _, _ = self.links.read("sapa-open", token)
        site = await site_store.get_site(self.db, site_id)
        if site is None:
            raise errors.not_found("site")
        page = site.email_settings.get("open_url")
        if isinstance(page, str) and origin_allowed(page, site.domains):
            return page.split("#", 1)[0]
        seen = [o for o in await site_store.origins_seen(self.db, site_id)]
        if seen:
            return seen[0].origin + "/"
        plain = [d for d in site.domains if not d.startswith("*.")]
        return f"https://{plain[0]}/" if plain else None

    async def widget_token(self, site: Site, link: str) -> str:
        """A new widget token for the customer a reopen link names (on that link's site)."""
        site_id, customer_id, _ = self.links.read("sapa-open", link)
        if site_id != site.id:
            raise errors.forbidden("this link belongs to another site")
        token: str | None = await self.db.write(
            lambda conn: customer_store.new_token(conn, site_id, customer_id)
        )
        if token is None:
            raise errors.not_found("customer")
        return token

    async def unsubscribe(self, token: str) -> None:
        _, customer_id, _ = self.links.read("sapa-unsubscribe", token)
        await self.db.write(
            lambda conn: crm_store.set_consent(conn, customer_id, "email", False, "unsubscribe")
        )

    # -- inbound ------------------------------------------------------------------------

    async def receive(self, raw: bytes) -> str:
        """One inbound mail (IMAP or webhook): posted into its conversation as the customer,
        or recorded with the reason it was not. Answers the outcome."""
        if len(raw) > rules.MAX_INBOUND_BYTES:
            key = "sha256:" + hashlib.sha256(raw).hexdigest()
            await self._record(key, None, None, None, "", "", "too_large")
            log.warning("inbound mail of %d bytes dropped (too large)", len(raw))
            return "too_large"
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(msg, EmailMessage)
        return await self.receive_message(msg, raw)

    async def receive_message(self, msg: EmailMessage, raw: bytes) -> str:
        key = str(msg.get("Message-ID", "")).strip()[:300] or (
            "sha256:" + hashlib.sha256(raw).hexdigest()
        )
        sender = getaddresses([str(msg.get("From", ""))])
        from_addr = sender[0][1].lower() if sender else ""
        subject = rules.header_text(str(msg.get("Subject", "")))
        headers = {k: str(v) for k, v in msg.items()}
        if rules.is_automatic(headers):
            await self._record(key, None, None, None, from_addr, subject, "loop")
            return "loop"
        room_id = None
        for _, address in getaddresses(
            [str(msg.get(h, "")) for h in ("To", "Cc", "Delivered-To", "X-Original-To")]
        ):
            room_id = room_id or rules.room_of_address(address, self.reply_secret)
        room = await mail_store.room_by_id(self.db, room_id) if room_id else None
        if room is None or room.customer_id is None:
            await self._record(key, None, None, None, from_addr, subject, "unknown")
            return "unknown"
        customer = await customer_store.get_customer(self.db, room.site_id, room.customer_id)
        if customer is None or (customer.email or "").lower() != from_addr:
            # Never posted as them: anyone can put a reply address in a To line.
            log.warning("inbound mail for %s from a sender that is not its customer", room.id)
            await self._record(key, room.site_id, None, room.id, from_addr, subject, "sender")
            return "sender"
        body = msg.get_body(preferencelist=("plain", "html"))
        content = body.get_content() if isinstance(body, EmailMessage) else ""
        if body is not None and body.get_content_subtype() == "html":
            content = _TAGS.sub(" ", content)
        text = rules.reply_text(str(content))
        if not text:
            await self._record(key, room.site_id, customer.id, room.id, from_addr, subject, "empty")
            return "empty"
        viewer = Viewer(room.site_id, "customer", customer.id, customer.display_name())
        client_msg_id = "mail-" + hashlib.sha256(key.encode()).hexdigest()[:40]
        try:
            # A reply to a conversation the shopper has since left goes to their current one.
            target = None if room.superseded_at is not None else room.id
            await self.chat.send(viewer, Send(target, client_msg_id, text))
        except errors.SapaError as exc:
            # An erased customer, a conversation gone: recorded, never retried by the sender.
            log.warning("inbound mail for %s refused: %s", room.id, exc.message)
            await self._record(
                key, room.site_id, customer.id, room.id, from_addr, subject, "refused"
            )
            return "refused"
        await self._record(key, room.site_id, customer.id, room.id, from_addr, subject, "posted")
        return "posted"

    async def _record(
        self,
        key: str,
        site_id: str | None,
        customer_id: str | None,
        room_id: str | None,
        from_addr: str,
        subject: str,
        outcome: str,
    ) -> None:
        await self.db.write(
            lambda conn: mail_store.record_inbound(
                conn, key, site_id, customer_id, room_id, from_addr, subject, outcome
            )
        )

    async def receive_webhook(self, inbound: Inbound) -> str:
        """A provider's verified post (services/mail_inbound.py), received like any mail."""
        if inbound.message is None:
            return await self.receive(inbound.raw)  # too large: recorded and dropped
        return await self.receive_message(inbound.message, inbound.raw)

    # -- agents' notifications ------------------------------------------------------------

    async def set_notify_after(self, agent_id: str, minutes: int) -> None:
        await self.db.write(lambda conn: mail_store.set_notify_after(conn, agent_id, minutes))

    async def notify_after(self, agent_id: str) -> int:
        return await mail_store.notify_after(self.db, agent_id)

    async def notify_waiting(self, now: datetime | None = None) -> int:
        """Email each agent who asked for it about conversations waiting their number of
        minutes while they are offline: the assignee's, or unassigned ones to owners. Once
        per agent and wait (the outbox's key names the shopper's last message)."""
        moment = now or datetime.now(UTC)
        queued = 0
        by_site: dict[str, list[mail_store.Watcher]] = {}
        for watcher in await mail_store.watchers(self.db):
            by_site.setdefault(watcher.site_id, []).append(watcher)
        for site_id, watching in by_site.items():
            online = await self.online(site_id) if self.online else set()
            site = await site_store.get_site(self.db, site_id)
            if site is None:
                continue
            since = format_time(moment - timedelta(days=1))
            rooms = await mail_store.waiting_rooms(self.db, site_id, since, format_time(moment))
            for watcher in watching:
                if watcher.id in online:
                    continue
                due = format_time(moment - timedelta(minutes=watcher.minutes))
                for room in rooms:
                    mine = room.assignee_id == watcher.id or (
                        room.assignee_id is None and watcher.role == "owner"
                    )
                    if mine and room.since <= due:
                        mail = self._notify_mail(site, watcher, room)
                        queued += await self.db.write(partial(mail_store.enqueue, mail=mail))
        if queued:
            self._queued()
        return queued

    def _notify_mail(
        self, site: Site, watcher: mail_store.Watcher, room: mail_store.Waiting
    ) -> NewMail:
        locale = site.locale if site.locale in WORDS else "en"
        text, html = self.render(
            "notify",
            locale,
            customer=room.customer_name,
            body=room.body[:500],
            console_url=f"{self.links.base_url}/console",
        )
        return NewMail(
            site.id,
            f"notify:{room.room_id}:{watcher.id}:{room.last_seq}",
            "notify",
            watcher.email,
            WORDS[locale]["subject_notify"].format(site=site.name),
            text,
            html,
            to_name=watcher.name,
            room_id=room.room_id,
        )

    async def private_room(self, customer_id: str) -> str:
        room = await room_store.get_private_room(self.db, customer_id)
        if room is None:
            raise errors.not_found("conversation")
        return room.id

    async def outbox(self, site_id: str) -> list[OutboxMail]:
        """The site's latest mails with their state and, when given up, why."""
        return await mail_store.outbox_of_site(self.db, site_id)


class MailboxPoller:
    """Reads replies from an IMAP mailbox (SAPA_IMAP_URL): unseen mail is fetched, handed to
    the channel, then flagged seen. A crash between the two fetches it again; its
    Message-ID makes the second pass a no-op."""

    def __init__(self, channel: EmailChannel, server: rules.MailServer, poll: float) -> None:
        self.channel = channel
        self.server = server
        self.poll = poll
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sapa-imap")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("reading the mailbox failed; retrying at the next poll")
            await asyncio.sleep(self.poll)

    async def run_once(self) -> int:
        fetched = await asyncio.to_thread(self._fetch)
        for _, raw in fetched:
            await self.channel.receive(raw)
        if fetched:
            await asyncio.to_thread(self._mark_seen, [uid for uid, _ in fetched])
        return len(fetched)

    def _connect(self) -> imaplib.IMAP4:
        server = self.server
        client: imaplib.IMAP4
        if server.tls:
            client = imaplib.IMAP4_SSL(server.host, server.port, timeout=30)
        else:
            client = imaplib.IMAP4(server.host, server.port, timeout=30)
            if server.starttls:
                client.starttls()
        client.login(server.username or "", server.password or "")
        client.select(server.mailbox)
        return client

    def _fetch(self) -> list[tuple[bytes, bytes]]:
        client = self._connect()
        try:
            _, data = client.uid("SEARCH", "UNSEEN")
            out = []
            for uid in (data[0] or b"").split()[:50]:
                _, parts = client.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
                for part in parts:
                    if isinstance(part, tuple):
                        out.append((uid, part[1]))
            return out
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def _mark_seen(self, uids: list[bytes]) -> None:
        client = self._connect()
        try:
            client.uid("STORE", b",".join(uids).decode(), "+FLAGS", "(\\Seen)")
        finally:
            with contextlib.suppress(Exception):
                client.logout()
