"""Everything a request handler needs, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field

from itsdangerous import URLSafeSerializer
from jinja2 import Environment
from starlette.requests import HTTPConnection

from chat_server.bus import Bus
from chat_server.config import Settings
from chat_server.domain.addresses import AddressSet
from chat_server.domain.slots import Slots
from chat_server.domain.visitor_tokens import VisitorTokens
from chat_server.services.account import Account
from chat_server.services.canned import CannedService
from chat_server.services.chat import ChatService
from chat_server.services.console_auth import ConsoleAuth
from chat_server.services.crm import CrmService
from chat_server.services.email_channel import EmailChannel
from chat_server.services.faq import FaqService
from chat_server.services.files import FileService
from chat_server.services.labels import LabelService
from chat_server.services.presence import Presence
from chat_server.services.public_rooms import PublicRoomService
from chat_server.services.routing import RoutingService
from chat_server.services.storage import Store
from chat_server.services.team import Team
from chat_server.services.teams import TeamsService
from chat_server.services.widget_sessions import SessionLimits
from chat_server.web.hub import Hub
from chat_server.web.serving import LoopLag


@dataclass(slots=True)
class AppContext:
    settings: Settings
    db: Store
    bus: Bus
    hub: Hub
    chat: ChatService
    auth: ConsoleAuth
    presence: Presence
    faq: FaqService
    crm: CrmService
    rooms: PublicRoomService
    routing: RoutingService
    canned: CannedService
    cookies: URLSafeSerializer
    templates: Environment
    session_limits: SessionLimits
    email: EmailChannel
    files: FileService
    team: Team
    account: Account
    teams: TeamsService
    labels: LabelService
    tokens: VisitorTokens  # widget tokens that need no row until their visitor acts
    demo_site_key: str | None = None
    # WebSockets held at once, this process: per widget token and per client address.
    token_sockets: Slots = field(default_factory=lambda: Slots(0))
    address_sockets: Slots = field(default_factory=lambda: Slots(0))
    trusted_proxies: AddressSet = field(default_factory=AddressSet)
    loop_lag: LoopLag = field(default_factory=LoopLag)  # started by the app's lifespan


def context_of(conn: HTTPConnection) -> AppContext:
    ctx: AppContext = conn.app.state.ctx
    return ctx
