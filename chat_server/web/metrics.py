"""`GET /metrics`: this process's counters in the Prometheus text format (version 0.0.4).

Open to this machine (loopback, not relayed by a proxy); from anywhere else it
needs `Authorization: Bearer $SAPA_METRICS_TOKEN` (401), or is refused (403)
when no token is set. Written by hand: a dozen series do not need a client library. Every number is
per process; with several processes, scrape each one (one container per
process, as in docker-compose.yml) and let Prometheus add them up.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chat_server.bus.stats import BusStats
from chat_server.domain.addresses import is_loopback
from chat_server.histogram import Histogram
from chat_server.web.context import AppContext, context_of
from chat_server.web.hub import Connection
from chat_server.web.serving import WebSocketProtocol

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _series(name: str, kind: str, help_: str, *samples: tuple[str, int | float]) -> Iterator[str]:
    yield f"# HELP {name} {help_}"
    yield f"# TYPE {name} {kind}"
    for labels, value in samples:
        yield f"{name}{labels} {value}"


def _bus(stats: BusStats, up: bool) -> Iterator[str]:
    yield from _series(
        "sapa_redis_up", "gauge", "1 while the Redis bus link is up, else 0.", ("", int(up))
    )
    for name, value, help_ in (
        ("received", stats.received, "Events from other processes delivered here."),
        ("echoes_ignored", stats.echoes, "This process's own events back from Redis, ignored."),
        ("dropped", stats.dropped, "Events other processes never got (replay backlog full)."),
        ("replayed", stats.replayed, "Events published late, after the Redis link came back."),
        ("duplicates", stats.duplicates, "Replayed events from other processes already seen."),
        ("gaps", stats.gaps, "Holes in another process's event numbering."),
        ("resyncs", stats.resyncs, "Times clients were told to reconnect and sync."),
        ("link_failures", stats.link_failures, "Times the Redis link broke."),
    ):
        yield from _series(f"sapa_bus_{name}_total", "counter", help_, ("", value))
    yield from _histogram(
        "sapa_bus_latency_seconds",
        "Publish to receive time of events from other processes.",
        stats.latency,
    )


def _histogram(name: str, help_: str, histogram: Histogram) -> Iterator[str]:
    yield f"# HELP {name} {help_}"
    yield f"# TYPE {name} histogram"
    for bound, count in histogram.cumulative():
        yield f'{name}_bucket{{le="{bound}"}} {count}'
    yield f"{name}_sum {histogram.total:.6f}"
    yield f"{name}_count {histogram.count}"


def render(ctx: AppContext) -> str:
    hub, db = ctx.hub, ctx.db
    bus_kind = "redis" if hasattr(ctx.bus, "origin") else "memory"
    lines = [
        # Which process answered: with `--workers N` a scrape reaches any one of them.
        *_series(
            "sapa_process_info",
            "gauge",
            "The process that answered this scrape.",
            (f'{{pid="{os.getpid()}",bus="{bus_kind}"}}', 1),
        ),
        *_series(
            "sapa_connections",
            "gauge",
            "Open WebSocket connections by kind.",
            ('{kind="widget"}', hub.count("widget")),
            ('{kind="agent"}', hub.count("agent")),
        ),
        *_series(
            "sapa_messages_stored_total",
            "counter",
            "Messages committed by this process (sent and system events).",
            ("", ctx.chat.messages_stored),
        ),
        *_series(
            "sapa_uploads_total",
            "counter",
            "Files uploaded and kept by this process (photos re-encoded, documents checked).",
            ("", ctx.files.uploads),
        ),
        *_series(
            "sapa_faq_engine_builds_total",
            "counter",
            "FAQ engines built by this process (learnt phrasings arrive in batches).",
            ("", ctx.faq.builds),
        ),
        *_series(
            "sapa_faq_semantic_total",
            "counter",
            "FAQ messages ranked with the multilingual model.",
            ("", ctx.faq.worker.semantic_used),
        ),
        *_series(
            "sapa_faq_semantic_skipped_total",
            "counter",
            "FAQ messages ranked on words alone because the model was busy (load).",
            ("", ctx.faq.worker.semantic_skipped),
        ),
        *_series(
            "sapa_faq_semantic_cpu_seconds_total",
            "counter",
            "CPU seconds the model spent embedding messages.",
            ("", round(ctx.faq.worker.semantic_cpu_seconds, 6)),
        ),
        *_series(
            "sapa_faq_rankings_reused_total",
            "counter",
            "FAQ suggestions answered from a ranking of the same words kept since the FAQ's"
            " last change.",
            ("", ctx.faq.rankings_reused),
        ),
        *_series(
            "sapa_faq_suggestions_skipped_total",
            "counter",
            "Shoppers' messages not ranked: no agent had a console open to be shown them.",
            ("", ctx.faq.suggestions_skipped),
        ),
        *_series(
            "sapa_faq_suggestions_held_total",
            "counter",
            "Shoppers' messages not ranked: a later one of the same burst was ranked instead.",
            ("", ctx.faq.bursts.held),
        ),
        *_series(
            "sapa_faq_model_loaded",
            "gauge",
            "1 when this process ranks FAQ answers with the multilingual model.",
            ("", int(ctx.faq.embedder is not None)),
        ),
        *_series(
            "sapa_db_writes_total",
            "counter",
            "Write jobs committed by the group-commit writer.",
            ("", db.writes),
        ),
        *_series(
            "sapa_db_batches_total", "counter", "Group-commit transactions.", ("", db.batches)
        ),
        *_histogram(
            "sapa_db_commit_seconds",
            "Time each group-commit transaction took to end: the search index's feed and"
            " COMMIT (SQLite's fsync, PostgreSQL's round trip). Every ack of the batch waits"
            " for it.",
            db.commit_seconds,
        ),
        *_histogram(
            "sapa_event_loop_lag_seconds",
            f"How late the event loop ran a timer due every {ctx.loop_lag.interval:g} s: time"
            " every socket of this process waited.",
            ctx.loop_lag.seconds,
        ),
        *_series(
            "sapa_db_relaxed_batches_total",
            "counter",
            "Group-commit transactions that did not wait for the disk (only writes nobody"
            " loses work by: visits' times, widget tokens' rows, FAQ cards shown).",
            ("", db.relaxed_batches),
        ),
        *_series(
            "sapa_db_inline_writes_total",
            "counter",
            "Of those, the ones committed on the event loop's own connection while the writer"
            " was between batches (SQLite).",
            ("", db.inline_writes),
        ),
        *_series(
            "sapa_messages_delivered_total",
            "counter",
            "Event frames queued to client sockets.",
            ("", hub.delivered),
        ),
        *_series(
            "sapa_send_queue_overflows_total",
            "counter",
            "Clients closed with 1013 because their send queue was full.",
            ("", Connection.overflows),
        ),
        *_series(
            "sapa_ws_frames_read_directly_total",
            "counter",
            "Text frames read by the server's own short way, not websockets' parser.",
            ("", WebSocketProtocol.frames_read),
        ),
        *_series(
            "sapa_bus_healthy",
            "gauge",
            "1 when the bus fans out to every process.",
            ("", int(ctx.bus.healthy)),
        ),
    ]
    stats: BusStats | None = getattr(ctx.bus, "stats", None)
    published = stats.published if stats else int(getattr(ctx.bus, "published", 0))
    lines += _series(
        "sapa_bus_published_total", "counter", "Events published by this process.", ("", published)
    )
    if stats is not None:
        lines += _bus(stats, ctx.bus.healthy)
    return "\n".join(lines) + "\n"


def _refusal(request: Request, token: str | None) -> Response | None:
    """None when this request may read the metrics, else the answer it gets."""
    client = request.client.host if request.client else None
    relayed = "x-forwarded-for" in request.headers or "forwarded" in request.headers
    # This machine itself, not relayed: a proxy on loopback passes its clients' requests on.
    if is_loopback(client) and not relayed:
        return None
    if token is None:
        return _error(403, "forbidden", "metrics are served to this machine only")
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if given and hmac.compare_digest(given.encode(), token.encode()):
        return None
    response = _error(401, "unauthorized", "a metrics token is required")
    response.headers["www-authenticate"] = 'Bearer realm="metrics"'
    return response


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def endpoint(request: Request) -> Response:
    ctx = context_of(request)
    refusal = _refusal(request, ctx.settings.metrics_token)
    if refusal is not None:
        return refusal
    return Response(render(ctx), media_type=CONTENT_TYPE)
