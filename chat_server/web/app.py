"""Assemble the ASGI app from plain lists of routes and middleware."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from itsdangerous import URLSafeSerializer
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server.bus import Bus, MemoryBus
from chat_server.config import Settings
from chat_server.domain.addresses import AddressSet
from chat_server.domain.attachments import LinkPolicy, set_link_policy
from chat_server.domain.mail import MailServer
from chat_server.domain.slots import Slots
from chat_server.domain.visitor_tokens import VisitorTokens
from chat_server.errors import SapaError
from chat_server.services import sites, storage
from chat_server.services.account import Account
from chat_server.services.canned import CannedService
from chat_server.services.chat import ChatService
from chat_server.services.console_auth import ConsoleAuth
from chat_server.services.crm import CrmService
from chat_server.services.email_channel import EmailChannel, Links, MailboxPoller
from chat_server.services.faq import FaqService
from chat_server.services.faq_worker import load_model
from chat_server.services.file_storage import open_storage
from chat_server.services.files import FileService
from chat_server.services.labels import LabelService
from chat_server.services.mail_inbound import InboundWebhooks
from chat_server.services.mailer import Mailer
from chat_server.services.presence import Presence
from chat_server.services.public_rooms import PublicRoomService
from chat_server.services.rfm_scoring import RfmScorer
from chat_server.services.routing import RoutingService, RoutingTimer
from chat_server.services.team import Team
from chat_server.services.teams import TeamsService
from chat_server.services.widget_sessions import SessionLimits
from chat_server.web import (
    account_routes,
    canned_routes,
    console_routes,
    crm_routes,
    errors_html,
    faq_routes,
    favicon,
    help_routes,
    mail_routes,
    metrics,
    report_routes,
    rest,
    room_routes,
    search_routes,
    site_routes,
    static_assets,
    team_routes,
    uploads,
    widget_routes,
    workgroup_routes,
)
from chat_server.web.access_log import AccessLog, configure_logging
from chat_server.web.context import AppContext, context_of
from chat_server.web.gateway import CLOSE_RESTART
from chat_server.web.hub import Hub
from chat_server.web.middleware import BodyLimit, SecurityHeaders
from chat_server.web.serving import HeapTrimmer, SapaApp, settle_heap, tune_collector

if TYPE_CHECKING:
    from chat_server.bus.redis_balance import Rebalancer

log = logging.getLogger(__name__)


def _templates() -> Environment:
    from importlib import resources

    widget_dir = str(resources.files("widget"))
    # Console templates extend each other by bare name ("base.html"), so no prefixes.
    loader = ChoiceLoader(
        [
            PackageLoader("agent_console", "templates"),
            FileSystemLoader(widget_dir),
            PackageLoader("chat_server", "web/templates"),
        ]
    )
    return Environment(loader=loader, autoescape=select_autoescape(["html"]))


RESYNC_REASON = "server restarting: reconnect and sync"


def make_bus(settings: Settings, hub: Hub) -> tuple[Bus, Presence, Rebalancer | None]:
    """The in-memory bus and per-process presence, or both shared through Redis (and then the
    rebalancing of widgets across processes)."""
    if not settings.redis_url:
        bus = MemoryBus()
        bus.subscribe(hub.deliver)
        return bus, Presence(bus), None
    from chat_server.bus.redis import RedisBus
    from chat_server.bus.redis_balance import Rebalancer
    from chat_server.bus.redis_presence import RedisPresence

    redis_bus = RedisBus(settings.redis_url)
    redis_bus.subscribe(hub.deliver)
    # Clients that may have missed other processes' events reconnect and sync (see RedisBus).
    redis_bus.on_resync = lambda before: hub.close_all(CLOSE_RESTART, RESYNC_REASON, before)
    presence = Presence(redis_bus, RedisPresence(redis_bus))
    redis_bus.on_link_up.append(presence.refresh)
    balancer = None
    if settings.rebalance_interval > 0:
        balancer = Rebalancer(
            redis_bus,
            hub.staying_widgets,
            hub.shed_widgets,
            interval=settings.rebalance_interval,
            min_excess=settings.rebalance_min_excess,
        )
    return redis_bus, presence, balancer


def email_channel(
    settings: Settings, db: storage.Store, chat: ChatService, secret: str
) -> EmailChannel:
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return EmailChannel(
        db,
        chat,
        Links(secret, base.rstrip("/")),
        reply_to=settings.mail_reply_to or settings.mail_from,
        webhooks=InboundWebhooks.configured(
            settings.mail_webhook_key, settings.mail_sendgrid_key, settings.mail_postmark_auth
        ),
    )


def email_tasks(
    settings: Settings, channel: EmailChannel, online: Callable[[str], Awaitable[set[str]]]
) -> list[Mailer | MailboxPoller | EmailChannel]:
    """The outbox sender, the replies' timer and the mailbox reader, as configured."""
    if not (settings.smtp_url and settings.mail_from):
        return []
    mailer = Mailer(
        channel.db,
        MailServer.parse(settings.smtp_url, "smtp"),
        settings.mail_from,
        poll=settings.mail_poll,
        retry_base=settings.mail_retry_base,
    )
    channel.on_queued.append(mailer.wake)
    channel.online = online
    mailer.start()
    channel.start(settings.mail_poll)
    tasks: list[Mailer | MailboxPoller | EmailChannel] = [mailer, channel]
    if settings.imap_url:
        poller = MailboxPoller(
            channel, MailServer.parse(settings.imap_url, "imap"), settings.mail_poll
        )
        poller.start()
        tasks.append(poller)
    return tasks


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    ctx = context_of(request)
    checks = {"database": "ok", "bus": "ok" if ctx.bus.healthy else "degraded"}
    try:
        await storage.ping(ctx.db)
    except Exception as exc:
        checks["database"] = f"error: {exc}"
    ready = checks["database"] == "ok"
    status = "ready" if ready and checks["bus"] == "ok" else ("degraded" if ready else "unready")
    return JSONResponse({"status": status, **checks}, status_code=200 if ready else 503)


async def sapa_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SapaError)
    if errors_html.wants_html(request):
        return errors_html.error_page(request, exc.http_status)
    return JSONResponse({"error": exc.as_dict()}, status_code=exc.http_status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if errors_html.wants_html(request):
        return errors_html.error_page(request, exc.status_code)
    code = {404: "not_found", 405: "bad_request"}.get(exc.status_code, "bad_request")
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code
    )


async def client_gone(request: Request, exc: Exception) -> Response:
    # The client left mid-body (or was cut off by the body deadline): nobody reads this.
    return Response(status_code=400)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    assets = static_assets.StaticAssets.load()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = await storage.open_store(settings.db_path, pool=settings.db_pool)
        secret = settings.secret_key or await sites.secret_key(db)
        demo_key = await sites.demo_site_key(db) if settings.demo else None
        hub = Hub()
        bus, presence, balancer = make_bus(settings, hub)
        await bus.start()
        await presence.start()
        if balancer is not None:
            await balancer.start()
        # Loading the model reads ~100 MB and runs one warm-up pass: not on the loop.
        embedder = await asyncio.to_thread(load_model, settings.faq_model)
        chat = ChatService(db, bus, settings.post_limits)
        chat.online_agents = presence.online_ids
        faq = FaqService(db, bus, embedder, burst_seconds=settings.faq_burst_seconds)
        if settings.redis_url:
            from chat_server.bus.redis import RedisBus
            from chat_server.bus.redis_limits import RedisPostAllowances

            assert isinstance(bus, RedisBus)
            # Every process draws on the same public-room post allowances.
            chat.posts.shared = RedisPostAllowances(bus)
        chat.after_customer_message.append(faq.on_customer_message)
        set_link_policy(LinkPolicy((settings.files_url or "").rstrip("/"), settings.files_link_ttl))
        files = FileService(
            db,
            open_storage(
                settings.files_storage or settings.files_root,
                Path(settings.files_root) / ".incoming",
            ),
            limits=settings.upload_limits,
        )
        if settings.redis_url:
            from chat_server.bus.redis import RedisBus
            from chat_server.bus.redis_limits import UPLOADS_PREFIX, RedisPostAllowances

            assert isinstance(bus, RedisBus)
            # Upload allowances too: a flood spread over the replicas is one flood.
            files.shared = RedisPostAllowances(bus, prefix=UPLOADS_PREFIX)
        auth = ConsoleAuth(db, bus, settings)
        email = email_channel(settings, db, chat, secret)
        sends_mail = bool(settings.smtp_url and settings.mail_from)
        ctx = AppContext(
            settings=settings,
            db=db,
            bus=bus,
            hub=hub,
            chat=chat,
            auth=auth,
            presence=presence,
            faq=faq,
            crm=CrmService(db, bus, faq, files),
            rooms=PublicRoomService(db, bus, chat, faq),
            routing=RoutingService(db, chat),
            canned=CannedService(db),
            cookies=URLSafeSerializer(secret, salt="sapa-console-session"),
            templates=assets.install(_templates()),
            session_limits=SessionLimits(
                settings.session_rate_per_address, settings.session_rate_per_site
            ),
            email=email,
            files=files,
            team=Team(db, auth, chat, email if sends_mail else None),
            account=Account(auth),
            teams=TeamsService(db, chat),
            labels=LabelService(db, chat),
            tokens=VisitorTokens(secret),
            demo_site_key=demo_key,
            token_sockets=Slots(settings.sockets_per_token),
            address_sockets=Slots(settings.sockets_per_address),
            trusted_proxies=AddressSet.parse(settings.trusted_proxies),
        )
        app.state.ctx = ctx
        ctx.routing.connected_agents = presence.connected_ids
        ctx.faq.connected_agents = presence.connected_ids
        routing_timer = RoutingTimer(chat, ctx.routing, settings.routing_tick)
        routing_timer.start()
        await ctx.auth.start()
        scorer = RfmScorer(db)
        scorer.start()
        mail_tasks = email_tasks(settings, ctx.email, presence.connected_ids)
        sweeper = asyncio.create_task(files.run_sweeper())
        trimmer = HeapTrimmer(settings.heap_trim_interval)
        trimmer.start()
        ctx.loop_lag.start()
        settle_heap()
        try:
            yield
        finally:
            await routing_timer.close()
            await trimmer.close()
            await ctx.loop_lag.close()
            for task in mail_tasks:
                await task.close()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            files.close()
            await scorer.close()
            if balancer is not None:
                await balancer.close()
            await ctx.auth.close()
            await chat.followups.close()
            faq.close()
            hub.close_all(CLOSE_RESTART, "server restarting")
            await presence.close()
            await bus.close()
            await db.close()

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics.endpoint),
        *favicon.routes,
        *widget_routes.routes,
        *console_routes.routes,
        *rest.routes,
        *room_routes.routes,
        *canned_routes.routes,
        *search_routes.routes,
        *workgroup_routes.routes,
        *faq_routes.routes,
        *help_routes.routes,
        *crm_routes.routes,
        *site_routes.routes,
        *report_routes.routes,
        *mail_routes.routes,
        *uploads.routes,
        *team_routes.routes,
        *account_routes.routes,
        *assets.routes,
    ]
    middleware = [
        Middleware(AccessLog),
        Middleware(
            SecurityHeaders,
            script_sources=(assets.import_map_csp_source(),),
            image_sources=(settings.files_url,) if settings.files_url else (),
        ),
        # Uploads bound their own bodies, by each site's file limit, as they stream in.
        # So do inbound mail webhooks (mail_routes.WEBHOOK_PATHS).
        Middleware(
            BodyLimit,
            max_bytes=settings.max_body_bytes,
            exempt=uploads.UPLOAD_PATHS + mail_routes.WEBHOOK_PATHS,
        ),
    ]
    return SapaApp(
        sockets=widget_routes.SOCKETS,
        http=widget_routes.HTTP,
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            SapaError: sapa_error,
            HTTPException: http_error,
            ClientDisconnect: client_gone,
        },
    )


def app_from_env() -> Starlette:
    """Uvicorn factory for worker processes: settings come from SAPA_* variables."""
    configure_logging()
    tune_collector()
    return create_app(Settings.from_env())
