"""Settings from command-line flags, then SAPA_* environment variables, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass

from chat_server.domain.attachments import UploadLimits
from chat_server.domain.public_rooms import (
    ADDRESS_POSTS_PER_MINUTE,
    NEW_IDENTITY_POSTS,
    ROOM_POSTS_PER_MINUTE,
    PostLimits,
)


@dataclass(frozen=True, slots=True)
class Settings:
    # A SQLite file path, or a PostgreSQL URL (postgresql://user:pass@host:5432/sapa).
    db_path: str = "sapa.db"
    # PostgreSQL: the most connections this process opens for reads (the writer has one more).
    db_pool: int = 10
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    redis_url: str | None = None
    secret_key: str | None = None  # generated once and kept in the database when unset
    public_url: str | None = None  # the console's origin; default: the request's own host
    demo: bool = False
    hello_timeout: float = 10.0
    max_body_bytes: int = 256 * 1024
    send_queue_size: int = 256
    # An agent's socket carries every event of its site: one group commit can release
    # hundreds of frames at once, so agents get a deeper queue than shoppers.
    agent_send_queue_size: int = 4096
    cookie_secure: bool = False
    # With Redis: how often processes compare their widget counts, and the excess over the mean
    # below which nobody is asked to move (0 interval turns rebalancing off).
    rebalance_interval: float = 10.0
    rebalance_min_excess: int = 50
    # Console sessions end after this long unused, and this long after login whatever happens.
    session_idle_hours: float = 12.0
    session_max_days: float = 30.0
    # Visitors' posts in public rooms, per minute, per process (0: no limit); see PostLimits.
    room_posts_per_address: int = ADDRESS_POSTS_PER_MINUTE
    room_posts_per_room: int = ROOM_POSTS_PER_MINUTE
    room_new_identity_posts: int = NEW_IDENTITY_POSTS
    # New widget sessions (anonymous visitors) per minute, per client address and per
    # site; 0 = unlimited. Counted per server process.
    session_rate_per_address: int = 60
    session_rate_per_site: int = 3000
    # Addresses whose X-Forwarded-For is believed (uvicorn's FORWARDED_ALLOW_IPS, same syntax).
    trusted_proxies: str = "127.0.0.1,::1"
    # Slow clients: a request's headers, then its body, must arrive within these seconds.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    # Open HTTP connections per client address and process (trusted proxies exempt; 0: no cap).
    connections_per_address: int = 100
    # Open WebSockets per widget token and per client address, per process (0: no cap).
    sockets_per_token: int = 20
    sockets_per_address: int = 200
    # Bearer token for /metrics from other machines; unset: /metrics answers loopback only.
    metrics_token: str | None = None
    # permessage-deflate on the sockets: less bandwidth for more CPU and memory per socket.
    ws_compression: bool = True
    # Seconds between giving freed C heap back to the system (glibc malloc_trim; 0: never).
    heap_trim_interval: float = 30.0
    # The FAQ's multilingual embedding model: "auto" uses it when its package loads, "off"
    # ranks on words alone (chat_server/services/faq_worker.py).
    faq_model: str = "auto"
    # A shopper's messages within this many seconds of their last ranked one are a burst:
    # ranked for FAQ suggestions once, its latest at the window's end (0: every message;
    # chat_server/services/bursts.py).
    faq_burst_seconds: float = 1.0
    # Email (docs/operations.md, "Email"): where mail goes out and comes in; unset, no mail.
    smtp_url: str | None = None
    mail_from: str | None = None
    mail_reply_to: str | None = None  # the address replies come back to (plus-addressed)
    imap_url: str | None = None
    mail_webhook_key: str | None = None  # the inbound webhook's signing key
    mail_sendgrid_key: str | None = None  # SendGrid Inbound Parse: the policy's public key
    mail_postmark_auth: str | None = None  # Postmark inbound: "user:password" of its URL
    mail_poll: float = 5.0  # seconds between outbox and mailbox polls
    # Seconds between checks for snoozes that ended and agents offline too long (0: never).
    routing_tick: float = 5.0
    mail_retry_base: float = 30.0  # seconds before the first retry; doubles each time
    # Attachments: where files live (a directory; default "files" next to a SQLite
    # database, "sapa-files" in the working directory otherwise), the origin links point
    # at (a domain of its own for files; default: this server), how long a link works,
    # and uploads per minute per uploader.
    files_dir: str | None = None
    # Where files live instead, for several hosts: s3://bucket/prefix?endpoint=... (the
    # files directory then only holds uploads while they arrive).
    files_storage: str | None = None
    files_url: str | None = None
    files_link_ttl: int = 3600
    uploads_per_minute: int = 30
    # All of a site's shoppers together, and each agent (agents never count in the site's).
    uploads_per_minute_per_site: int = 300
    agent_uploads_per_minute: int = 120

    def __post_init__(self) -> None:
        if self.db_pool < 1:
            raise ValueError(f"SAPA_DB_POOL must be at least 1, not {self.db_pool}")
        if self.faq_model not in ("auto", "off"):
            raise ValueError(f"SAPA_FAQ_MODEL must be auto or off, not {self.faq_model!r}")
        if not 0 <= self.faq_burst_seconds <= 60:
            raise ValueError(
                f"SAPA_FAQ_BURST_SECONDS must be 0 to 60, not {self.faq_burst_seconds}"
            )

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env, d = os.environ, cls()
        values: dict[str, object] = {
            "db_path": env.get("SAPA_DB", d.db_path),
            "db_pool": int(env.get("SAPA_DB_POOL", d.db_pool)),
            "host": env.get("SAPA_HOST", d.host),
            "port": int(env.get("SAPA_PORT", d.port)),
            "workers": int(env.get("SAPA_WORKERS", d.workers)),
            "redis_url": env.get("SAPA_REDIS_URL") or None,
            "secret_key": env.get("SAPA_SECRET_KEY") or None,
            "public_url": env.get("SAPA_PUBLIC_URL") or None,
            "demo": env.get("SAPA_DEMO", "") in ("1", "true", "yes"),
            "hello_timeout": float(env.get("SAPA_HELLO_TIMEOUT", d.hello_timeout)),
            "cookie_secure": env.get("SAPA_COOKIE_SECURE", "") in ("1", "true", "yes"),
            "rebalance_interval": float(env.get("SAPA_REBALANCE_INTERVAL", d.rebalance_interval)),
            "rebalance_min_excess": int(
                env.get("SAPA_REBALANCE_MIN_EXCESS", d.rebalance_min_excess)
            ),
            "session_idle_hours": float(env.get("SAPA_SESSION_IDLE_HOURS", d.session_idle_hours)),
            "session_max_days": float(env.get("SAPA_SESSION_MAX_DAYS", d.session_max_days)),
            "room_posts_per_address": int(
                env.get("SAPA_ROOM_POSTS_PER_ADDRESS", d.room_posts_per_address)
            ),
            "room_posts_per_room": int(env.get("SAPA_ROOM_POSTS_PER_ROOM", d.room_posts_per_room)),
            "room_new_identity_posts": int(
                env.get("SAPA_ROOM_NEW_IDENTITY_POSTS", d.room_new_identity_posts)
            ),
            "session_rate_per_address": int(
                env.get("SAPA_SESSION_RATE_PER_ADDRESS", d.session_rate_per_address)
            ),
            "session_rate_per_site": int(
                env.get("SAPA_SESSION_RATE_PER_SITE", d.session_rate_per_site)
            ),
            "trusted_proxies": env.get("FORWARDED_ALLOW_IPS", d.trusted_proxies),
            "header_timeout": float(env.get("SAPA_HEADER_TIMEOUT", d.header_timeout)),
            "body_timeout": float(env.get("SAPA_BODY_TIMEOUT", d.body_timeout)),
            "connections_per_address": int(
                env.get("SAPA_CONNECTIONS_PER_ADDRESS", d.connections_per_address)
            ),
            "sockets_per_token": int(env.get("SAPA_SOCKETS_PER_TOKEN", d.sockets_per_token)),
            "sockets_per_address": int(env.get("SAPA_SOCKETS_PER_ADDRESS", d.sockets_per_address)),
            "metrics_token": env.get("SAPA_METRICS_TOKEN") or None,
            "ws_compression": env.get("SAPA_WS_COMPRESSION", "on").lower()
            not in ("0", "off", "false", "no"),
            "heap_trim_interval": float(env.get("SAPA_HEAP_TRIM_INTERVAL", d.heap_trim_interval)),
            "faq_model": env.get("SAPA_FAQ_MODEL", d.faq_model).strip().lower() or d.faq_model,
            "faq_burst_seconds": float(env.get("SAPA_FAQ_BURST_SECONDS", d.faq_burst_seconds)),
            "smtp_url": env.get("SAPA_SMTP_URL") or None,
            "mail_from": env.get("SAPA_MAIL_FROM") or None,
            "mail_reply_to": env.get("SAPA_MAIL_REPLY_TO") or None,
            "imap_url": env.get("SAPA_IMAP_URL") or None,
            "mail_webhook_key": env.get("SAPA_MAIL_WEBHOOK_KEY") or None,
            "mail_sendgrid_key": env.get("SAPA_MAIL_SENDGRID_KEY") or None,
            "mail_postmark_auth": env.get("SAPA_MAIL_POSTMARK_AUTH") or None,
            "mail_poll": float(env.get("SAPA_MAIL_POLL", d.mail_poll)),
            "routing_tick": float(env.get("SAPA_ROUTING_TICK", d.routing_tick)),
            "mail_retry_base": float(env.get("SAPA_MAIL_RETRY_BASE", d.mail_retry_base)),
            "files_dir": env.get("SAPA_FILES_DIR") or None,
            "files_storage": env.get("SAPA_FILES_STORAGE") or None,
            "files_url": env.get("SAPA_FILES_URL") or None,
            "files_link_ttl": int(env.get("SAPA_FILES_LINK_TTL", d.files_link_ttl)),
            "uploads_per_minute": int(env.get("SAPA_UPLOADS_PER_MINUTE", d.uploads_per_minute)),
            "uploads_per_minute_per_site": int(
                env.get("SAPA_UPLOADS_PER_MINUTE_PER_SITE", d.uploads_per_minute_per_site)
            ),
            "agent_uploads_per_minute": int(
                env.get("SAPA_AGENT_UPLOADS_PER_MINUTE", d.agent_uploads_per_minute)
            ),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def files_root(self) -> str:
        if self.files_dir:
            return self.files_dir
        if self.db_path.startswith(("postgresql://", "postgres://")):
            return "sapa-files"
        return os.path.join(os.path.dirname(os.path.abspath(self.db_path)), "files")

    @property
    def upload_limits(self) -> UploadLimits:
        return UploadLimits(
            self.uploads_per_minute, self.uploads_per_minute_per_site, self.agent_uploads_per_minute
        )

    @property
    def post_limits(self) -> PostLimits:
        return PostLimits(
            per_address=self.room_posts_per_address,
            per_room=self.room_posts_per_room,
            new_identity_posts=self.room_new_identity_posts,
        )
