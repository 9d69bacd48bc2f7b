"""Open-loop load on the private-chat path: N shoppers send, A agents receive (and reply).

    python bench/load_chat.py                          # N=500, A=4, 200 msg/s for 20 s
    python bench/load_chat.py --rate 800 --duration 30 --client-procs 2
    python bench/load_chat.py --reply-fraction 0.1     # agents answer every 10th message
    python bench/load_chat.py --find-max               # highest rate with p99 < 200 ms, no loss
    python bench/load_chat.py --url http://127.0.0.1:8000 --site-key KEY \\
        --agent-email a@x.test --agent-password PW [--server-pid PID]   # a running server

Each run seeds a fresh SQLite file (one site, domain 127.0.0.1, A agents),
starts `python -m chat_server serve` on a free port, opens N widget sessions
and sockets and A agent sockets, then sends R messages per second in total for
D seconds. Send times are fixed in advance (message i is due at start + i/R,
from widget i mod N) and every latency is measured from the due time, so a
slow server cannot slow the schedule down (open loop, no coordinated
omission). Acks are timed at the sending widget; deliveries at every agent.
The figures are printed, never asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import functools
import math
import multiprocessing as mp
import os
import random
import secrets
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import psutil
import websockets
from _common import (
    PASSWORD,
    WIDGET_ORIGIN,
    CpuSnapshot,
    CpuUse,
    Seed,
    Summary,
    copy_database,
    cpu_snapshot,
    install_sigterm_as_interrupt,
    load_average,
    machine_busy_seconds,
    open_session,
    profiling,
    raise_nofile,
    rss_bytes,
    running_relay,
    running_server,
    seed_database,
    server_counters,
    server_version,
    set_priority,
    temp_dir,
    wait_for_quiet,
)
from websockets.asyncio.client import ClientConnection

from chat_server.services.demo import demo_faq  # _common put the repository on the path

try:  # a faster parser keeps the client out of the way; json is the fallback
    from orjson import dumps as _dumps
    from orjson import loads

    def dumps(obj: Any) -> str:
        return _dumps(obj).decode()

except ImportError:  # pragma: no cover
    import json

    loads = json.loads

    def dumps(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"))


WIDGET_RATE_LIMIT = 20.0  # frames/s per widget socket (server side)
AGENT_RATE_LIMIT = 50.0  # frames/s per agent socket
CLIENT_BUSY = 85.0  # % of one core above which a client process may be the bottleneck
LAG_BUSY = 0.050  # s of p99 schedule lag: the client fell behind its own schedule
NOISY_CORES = 0.3  # other processes using more than this many cores make a run suspect
MiB = 1024 * 1024


# -- the plan every client process follows ------------------------------------------


def shopper_texts() -> tuple[str, ...]:
    """The demo shop's FAQ questions and phrasings: Indonesian and English, as shoppers
    ask them, so every one is ranked against the FAQ for real."""
    texts: list[str] = []
    for entry in demo_faq():
        texts.extend([entry.question or "", *(entry.phrasings or ())])
    return tuple(t for t in texts if t)


@dataclass(frozen=True, slots=True)
class Plan:
    url: str
    site_key: str
    agent_emails: tuple[str, ...]
    password: str
    widgets: int
    rate: float
    duration: float
    grace: float
    reply_every: int  # 0: agents never reply; k: they answer every k-th message
    procs: int
    compression: bool
    warm_rooms: bool  # each widget opens its room before the measured window
    body: str
    same_body: bool = False  # one text for every message (see --same-body)
    # Texts sent in turn instead of `body` (see --shopper-texts); empty: `body` alone.
    bodies: tuple[str, ...] = ()
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    setup_concurrency: int = 32
    nice: int = 0  # the client processes' scheduling priority (see --nice)
    poisson: bool = False  # send times from a Poisson process instead of evenly spaced
    relay: bool = False  # the target is bench/bare_relay.py (sessions by GET, no login)
    client_cpu: int = -1  # pin the client processes to this core (-1: anywhere)

    @property
    def total(self) -> int:
        return round(self.rate * self.duration)

    @property
    def agents(self) -> int:
        return len(self.agent_emails)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def due(self, start: float, i: int) -> float:
        if self.poisson:
            return start + poisson_offsets(self.rate, self.total, self.run_id)[i]
        return start + i / self.rate

    def widget_of(self, i: int) -> int:
        return i % self.widgets

    def replier_of(self, i: int) -> int | None:
        """The agent that answers message i, if anyone does."""
        if not self.reply_every or i % self.reply_every:
            return None
        return (i // self.reply_every) % self.agents

    def mine(self, index: int, proc: int) -> bool:
        return index % self.procs == proc


@functools.cache
def poisson_offsets(rate: float, total: int, seed: str) -> array.array[float]:
    """Send times (s after the start) of an open-loop Poisson process of `rate` per second:
    exponential gaps, the same in every client process of one run (seeded by the run)."""
    rng = random.Random(seed)
    offsets: array.array[float] = array.array("d")
    # total + 1 entries: due(start, total) is the end of the schedule.
    t = 0.0
    for _ in range(total + 1):
        offsets.append(t)
        t += rng.expovariate(rate)
    return offsets


# -- one client process --------------------------------------------------------------


class Peer:
    """A socket with a writer task: sends are queued, so one slow socket never stalls another."""

    def __init__(self, index: int, ws: ClientConnection) -> None:
        self.index = index
        self.ws = ws
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []

    async def write_loop(self) -> None:
        while True:
            await self.ws.send(await self.outbox.get())


@dataclass
class AgentTally:
    got: bytearray
    latency: array.array[float] = field(default_factory=lambda: array.array("d"))
    index: array.array[int] = field(default_factory=lambda: array.array("l"))
    last: float = 0.0
    count: int = 0
    duplicates: int = 0


@dataclass
class Tally:
    """Everything one client process measured; sent back to the parent as is."""

    proc: int
    acked_flags: bytearray = field(default_factory=bytearray)
    setup_seconds: float = 0.0
    ack_latency: array.array[float] = field(default_factory=lambda: array.array("d"))
    ack_index: array.array[int] = field(default_factory=lambda: array.array("l"))
    reply_latency: array.array[float] = field(default_factory=lambda: array.array("d"))
    lag: array.array[float] = field(default_factory=lambda: array.array("d"))
    sent: int = 0
    acked: int = 0
    refused: int = 0  # answered with an error frame
    replies_sent: int = 0
    replies_acked: int = 0
    replies_seen: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    agents: dict[int, AgentTally] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    finished_at: float = 0.0


class ClientProcess:
    """The widgets and agents owned by process `proc` (index mod procs)."""

    def __init__(self, plan: Plan, proc: int) -> None:
        self.plan = plan
        self.proc = proc
        self.tally = Tally(proc, bytearray(plan.total))
        self.widgets: dict[int, Peer] = {}
        self.agents: dict[int, Peer] = {}
        self.start = 0.0
        self.answered = bytearray(plan.total)  # own messages acked or refused
        self.expected = sum(1 for i in range(plan.total) if plan.mine(plan.widget_of(i), proc))
        self.answers = 0
        self.all_in = asyncio.Event()
        self.openings: dict[str, asyncio.Future[None]] = {}
        self.closing = False

    # -- setup ------------------------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        return {
            "compression": "deflate" if self.plan.compression else None,
            "ping_interval": None,
            "open_timeout": 60,
            "close_timeout": 2,
        }

    async def setup(self) -> None:
        began = time.monotonic()
        limits = httpx.Limits(max_connections=self.plan.setup_concurrency)
        async with httpx.AsyncClient(base_url=self.plan.url, limits=limits, timeout=60) as http:
            for a in range(self.plan.agents):
                if self.plan.mine(a, self.proc):
                    self.agents[a] = await self._open_agent(http, a)
            gate = asyncio.Semaphore(self.plan.setup_concurrency)
            owned = [w for w in range(self.plan.widgets) if self.plan.mine(w, self.proc)]
            peers = await asyncio.gather(*(self._open_widget(http, gate, w) for w in owned))
        self.widgets = {p.index: p for p in peers}
        for a, peer in self.agents.items():
            self.tally.agents[a] = AgentTally(bytearray(self.plan.total))
            self._spawn(peer, self._agent_reader(peer))
        for peer in self.widgets.values():
            self._spawn(peer, self._widget_reader(peer))
        if self.plan.warm_rooms:
            await self._open_rooms()
        self.tally.setup_seconds = time.monotonic() - began

    async def _open_rooms(self) -> None:
        """A first message per widget creates its room, so the measured window is steady state."""
        gate = asyncio.Semaphore(8)
        loop = asyncio.get_running_loop()

        async def open_room(peer: Peer) -> None:
            async with gate:
                ref = f"o{peer.index}"
                self.openings[ref] = answered = loop.create_future()
                cmid = f"{self.plan.run_id}-open{peer.index}"
                frame = {"type": "send", "ref": ref, "client_msg_id": cmid, "body": "Hi!"}
                peer.outbox.put_nowait(dumps(frame))
                await asyncio.wait_for(answered, 60)

        await asyncio.gather(*(open_room(p) for p in self.widgets.values()))

    def _spawn(self, peer: Peer, reader: Any) -> None:
        peer.tasks = [asyncio.create_task(reader), asyncio.create_task(peer.write_loop())]

    async def _hello(self, ws: ClientConnection, hello: dict[str, Any]) -> None:
        await ws.send(dumps(hello))
        while True:
            frame = loads(await asyncio.wait_for(ws.recv(), 30))
            if frame.get("type") == "welcome":
                return

    async def _open_widget(self, http: httpx.AsyncClient, gate: asyncio.Semaphore, w: int) -> Peer:
        async with gate:
            response = await open_session(http, self.plan.site_key, self.plan.relay)
            ws = await websockets.connect(
                self.plan.ws_url + "/ws/widget", origin=WIDGET_ORIGIN, **self._connect_kwargs()
            )  # type: ignore[arg-type]
            await self._hello(ws, {"type": "hello", "token": response.json()["token"]})
            return Peer(w, ws)

    async def _open_agent(self, http: httpx.AsyncClient, a: int) -> Peer:
        if self.plan.relay:  # the relay has no accounts
            ws = await websockets.connect(self.plan.ws_url + "/ws/agent", **self._connect_kwargs())
            await self._hello(ws, {"type": "hello"})
            return Peer(a, ws)
        response = await http.post(
            "/api/v1/auth/login",
            json={"email": self.plan.agent_emails[a], "password": self.plan.password},
        )
        response.raise_for_status()
        cookie = response.cookies["sapa_session"]
        http.cookies.clear()
        ws = await websockets.connect(
            self.plan.ws_url + "/ws/agent",
            origin=self.plan.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"sapa_session={cookie}"},
            **self._connect_kwargs(),
        )
        await self._hello(ws, {"type": "hello"})
        return Peer(a, ws)

    # -- readers ------------------------------------------------------------------

    async def _widget_reader(self, peer: Peer) -> None:
        try:
            async for raw in peer.ws:
                self._on_widget_frame(raw, time.monotonic())
        except websockets.ConnectionClosed:
            pass
        if not self.closing:
            self.tally.errors[f"widget closed {peer.ws.close_code}"] += 1

    def _on_widget_frame(self, raw: str | bytes, now: float) -> None:
        frame = loads(raw)
        kind = frame.get("type")
        if kind == "ack" or kind == "error":
            self._on_answer(frame, now)
        elif kind == "message":
            message = frame["message"]
            cmid = message.get("client_msg_id") or ""
            if message["author"]["kind"] == "agent" and cmid.startswith(self.plan.run_id + "-r"):
                sent_ns = int(cmid.rsplit("-", 1)[1])
                self.tally.reply_latency.append(now - sent_ns / 1e9)
                self.tally.replies_seen += 1

    def _on_answer(self, frame: dict[str, Any], now: float) -> None:
        ref = frame.get("ref") or ""
        if frame["type"] == "error":
            self.tally.errors[f"widget error {frame.get('code')}"] += 1
        if ref in self.openings:
            self.openings.pop(ref).set_result(None)
        if not ref.startswith("m"):
            return
        i = int(ref[1:])
        if self.answered[i]:
            return
        self.answered[i] = 1
        if frame["type"] == "ack":
            self.tally.ack_latency.append(now - self.plan.due(self.start, i))
            self.tally.ack_index.append(i)
            self.tally.acked += 1
            self.tally.acked_flags[i] = 1
        else:
            self.tally.refused += 1
        self.answers += 1
        self._check_done()

    async def _agent_reader(self, peer: Peer) -> None:
        tally = self.tally.agents[peer.index]
        try:
            async for raw in peer.ws:
                now = time.monotonic()
                # Cheap filter: presence and room events carry no client_msg_id.
                if '"client_msg_id"' in raw or '"error"' in raw:
                    self._on_agent_frame(peer, tally, loads(raw), now)
        except websockets.ConnectionClosed:
            pass
        if not self.closing:
            self.tally.errors[f"agent closed {peer.ws.close_code}"] += 1

    def _on_agent_frame(
        self, peer: Peer, tally: AgentTally, frame: dict[str, Any], now: float
    ) -> None:
        kind = frame.get("type")
        if kind == "ack":
            self.tally.replies_acked += 1
            return
        if kind == "error":
            self.tally.errors[f"agent error {frame.get('code')}"] += 1
            return
        if kind != "message":
            return
        message = frame["message"]
        run, _, number = (message.get("client_msg_id") or "").partition("-")
        if message["author"]["kind"] != "customer" or run != self.plan.run_id:
            return
        if not number.isdigit():  # a room-opening message, before the measured window
            return
        i = int(number)
        if tally.got[i]:
            tally.duplicates += 1
            return
        tally.got[i] = 1
        tally.latency.append(now - self.plan.due(self.start, i))
        tally.index.append(i)
        tally.count += 1
        tally.last = now
        if self.plan.replier_of(i) == peer.index:
            self._reply(peer, message["room_id"], i)
        self._check_done()

    def _reply(self, peer: Peer, room_id: str, i: int) -> None:
        cmid = f"{self.plan.run_id}-r{i}-{time.monotonic_ns()}"
        frame = {"type": "send", "ref": f"a{i}", "room_id": room_id, "client_msg_id": cmid}
        peer.outbox.put_nowait(dumps({**frame, "body": "Thanks, let me check that for you."}))
        self.tally.replies_sent += 1

    def _check_done(self) -> None:
        if self.answers < self.expected:
            return
        if any(t.count < self.plan.total for t in self.tally.agents.values()):
            return
        if self.tally.replies_seen < self._replies_expected():
            return
        self.all_in.set()

    def _replies_expected(self) -> int:
        """Replies to this process's own widgets (agents answer customers of every process)."""
        plan = self.plan
        if not plan.reply_every:
            return 0
        return sum(
            1
            for i in range(0, plan.total, plan.reply_every)
            if plan.mine(plan.widget_of(i), self.proc)
        )

    # -- the run --------------------------------------------------------------------

    async def run(self, start: float) -> None:
        self.start = start
        self._check_done()
        cpu0 = time.process_time()
        await self._schedule()
        deadline = self.plan.due(start, self.plan.total) + self.plan.grace
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_in.wait(), max(0.0, deadline - time.monotonic()))
        self.tally.finished_at = time.monotonic()
        self.tally.cpu_seconds = time.process_time() - cpu0
        self.tally.wall_seconds = self.tally.finished_at - start

    async def _schedule(self) -> None:
        plan, tally = self.plan, self.tally
        body = plan.body
        for i in range(plan.total):
            w = plan.widget_of(i)
            if not plan.mine(w, self.proc):
                continue
            due = plan.due(self.start, i)
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            frame = {"type": "send", "ref": f"m{i}", "client_msg_id": f"{plan.run_id}-{i}"}
            # Every text differs (as shoppers' do), so the server's FAQ ranking cache,
            # keyed by the text, cannot make the run cheaper than real traffic.
            if plan.bodies:
                text = f"{plan.bodies[i % len(plan.bodies)]} #{i}"
            else:
                text = body if plan.same_body else f"{body[: max(1, len(body) - 8)]} #{i}"
            self.widgets[w].outbox.put_nowait(dumps({**frame, "body": text}))
            tally.lag.append(time.monotonic() - due)
            tally.sent += 1

    async def close(self) -> None:
        self.closing = True
        peers = [*self.widgets.values(), *self.agents.values()]
        for peer in peers:
            for task in peer.tasks:
                task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(p.ws.close() for p in peers), return_exceptions=True), 10
            )


async def _client_main(plan: Plan, proc: int, pipe: Pipe) -> None:
    client = ClientProcess(plan, proc)
    try:
        await client.setup()
        pipe.send(("ready", client.tally.setup_seconds))
        start = await asyncio.to_thread(pipe.recv)
        await client.run(start)
        pipe.send(("result", client.tally))
    finally:
        await client.close()


def client_entry(plan: Plan, proc: int, pipe: Pipe) -> None:
    """The body of a client process (spawned, so it imports nothing from the parent's state)."""
    raise_nofile(plan.widgets + plan.agents + 256)
    if plan.client_cpu >= 0:
        os.sched_setaffinity(0, {plan.client_cpu})
    if plan.nice:
        set_priority(0, plan.nice)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    try:
        asyncio.run(_client_main(plan, proc, pipe))
    except KeyboardInterrupt:
        pass
    except BaseException:
        with contextlib.suppress(Exception):
            pipe.send(("error", traceback.format_exc()))
    finally:
        pipe.close()


# -- the parent: client processes, server metrics, the report ----------------------------


class ClientPool:
    """`plan.procs` client processes; terminated on the way out whatever happened."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        ctx = mp.get_context("spawn")
        self.pipes: list[Pipe] = []
        self.processes: list[Any] = []
        for proc in range(plan.procs):
            parent, child = ctx.Pipe()
            process = ctx.Process(target=client_entry, args=(plan, proc, child), daemon=True)
            self.pipes.append(parent)
            self.processes.append(process)

    def __enter__(self) -> ClientPool:
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        for process in self.processes:
            process.join(15 if kind is None else 0.5)  # on an error or Ctrl-C, don't wait
            if process.is_alive():
                process.terminate()
                process.join(5)
            if process.is_alive():
                process.kill()

    def _collect(self, kind: str, timeout: float) -> list[Any]:
        out = []
        deadline = time.monotonic() + timeout
        for pipe in self.pipes:
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise RuntimeError(f"a client process sent no {kind!r} in {timeout:.0f} s")
            try:
                tag, value = pipe.recv()
            except EOFError:
                raise RuntimeError(f"a client process exited before its {kind!r}") from None
            if tag == "error":
                raise RuntimeError(f"a client process failed:\n{value}")
            out.append(value)
        return out

    def ready(self, timeout: float) -> list[float]:
        return self._collect("ready", timeout)

    def go(self, start: float) -> None:
        for pipe in self.pipes:
            pipe.send(start)

    def results(self, timeout: float) -> list[Tally]:
        return self._collect("result", timeout)

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]


class PeakSampler:
    """Samples the server's CPU once a second in the background; keeps the busiest second."""

    def __init__(self, proc: psutil.Process | None) -> None:
        self.proc = proc
        self.peak_total = 0.0
        self.peak_main = 0.0

    def sample(self, previous: CpuSnapshot) -> CpuSnapshot:
        assert self.proc is not None
        now = cpu_snapshot(self.proc)
        use = now.minus(previous)
        self.peak_total = max(self.peak_total, use.percent)
        self.peak_main = max(self.peak_main, use.main_percent)
        return now


@dataclass
class Trial:
    plan: Plan
    load: str
    setup_seconds: float
    tallies: list[Tally]
    start: float
    server_cpu: CpuUse | None = None
    peak: PeakSampler | None = None
    rss_idle: int = 0
    rss_connected: int = 0
    rss_after: int = 0
    counters: dict[str, float] = field(default_factory=dict)  # /metrics, after minus before
    quiet: str = ""
    machine_busy: float = math.nan  # CPU-s of the whole machine during the run
    machine_wall: float = math.nan
    version: str = field(default_factory=server_version)

    # -- derived figures ------------------------------------------------------------

    @property
    def sent(self) -> int:
        return sum(t.sent for t in self.tallies)

    @property
    def acked(self) -> int:
        return sum(t.acked for t in self.tallies)

    @property
    def refused(self) -> int:
        return sum(t.refused for t in self.tallies)

    @property
    def unacked(self) -> int:
        return self.sent - self.acked - self.refused

    def agent_tallies(self) -> list[AgentTally]:
        return [a for t in self.tallies for a in t.agents.values()]

    def _delivered_bits(self) -> int:
        """Bit set (one byte per message) of the messages that reached every agent."""
        agents = self.agent_tallies()
        if not agents:
            return 0
        common = int.from_bytes(agents[0].got, "little")
        for agent in agents[1:]:
            common &= int.from_bytes(agent.got, "little")
        return common

    @property
    def delivered_to_all(self) -> int:
        return self._delivered_bits().bit_count()

    @property
    def missing_receipts(self) -> int:
        return sum(self.plan.total - a.count for a in self.agent_tallies())

    @property
    def lost(self) -> int:
        """Messages sent but never acked, or not delivered to every agent, within the grace."""
        acked = 0
        for t in self.tallies:
            acked |= int.from_bytes(t.acked_flags, "little")
        return self.plan.total - (acked & self._delivered_bits()).bit_count()

    @property
    def delivered_rate(self) -> float:
        last = max((a.last for a in self.agent_tallies()), default=0.0)
        span = max(last - self.start, self.plan.duration)
        return self.delivered_to_all / span if span > 0 else 0.0

    def ack(self) -> Summary:
        return Summary.of([x for t in self.tallies for x in t.ack_latency])

    def delivery(self) -> Summary:
        return Summary.of([x for a in self.agent_tallies() for x in a.latency])

    def timeline(self) -> list[tuple[int, Summary, Summary]]:
        """Per second of the schedule: ack and delivery latency of the messages due then."""
        acks: dict[int, list[float]] = {}
        deliveries: dict[int, list[float]] = {}
        for t in self.tallies:
            for i, x in zip(t.ack_index, t.ack_latency, strict=True):
                acks.setdefault(int(i / self.plan.rate), []).append(x)
        for a in self.agent_tallies():
            for i, x in zip(a.index, a.latency, strict=True):
                deliveries.setdefault(int(i / self.plan.rate), []).append(x)
        seconds = range(math.ceil(self.plan.duration))
        return [
            (s, Summary.of(acks.get(s, [])), Summary.of(deliveries.get(s, []))) for s in seconds
        ]

    def replies(self) -> Summary:
        return Summary.of([x for t in self.tallies for x in t.reply_latency])

    def lag(self) -> Summary:
        return Summary.of([x for t in self.tallies for x in t.lag])

    def errors(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for t in self.tallies:
            total.update(t.errors)
        return total

    def client_cpu(self) -> list[float]:
        return [100 * t.cpu_seconds / t.wall_seconds if t.wall_seconds else 0 for t in self.tallies]

    @property
    def others_cores(self) -> float:
        """Cores used by other processes of the machine during the run (not server, not client)."""
        if not self.machine_wall or self.server_cpu is None:
            return math.nan
        ours = self.server_cpu.total + sum(t.cpu_seconds for t in self.tallies)
        return max(0.0, self.machine_busy - ours) / self.machine_wall

    @property
    def noisy(self) -> bool:
        return self.others_cores > NOISY_CORES

    def client_busy(self) -> bool:
        return max(self.client_cpu(), default=0) > CLIENT_BUSY or self.lag().p99 > LAG_BUSY

    def passed(self, p99_limit: float) -> bool:
        return (
            self.lost == 0
            and self.refused == 0
            and not self.errors()
            and self.delivery().p99 < p99_limit
        )


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    seed: Seed
    server: psutil.Process | None


@contextlib.contextmanager
def target(args: argparse.Namespace, seed: Seed | None, work: Path, tag: str) -> Iterator[Target]:
    """A fresh server on a copy of the seeded file, or the running server named by --url."""
    if getattr(args, "relay", False):
        emails = tuple(f"agent{a}@relay" for a in range(args.agents))
        with running_relay(work / f"{tag}.log", args.server_cpus, not args.no_compression) as relay:
            yield Target(relay.url, Seed("", "relay", emails, ""), relay.psutil)
        return
    if args.url:
        emails = tuple(args.agent_email)
        external = Seed("", args.site_key, emails, args.agent_password)
        server = psutil.Process(args.server_pid) if args.server_pid else None
        yield Target(args.url.rstrip("/"), external, server)
        return
    assert seed is not None
    copy = copy_database(seed, str(work / f"{tag}.db"))
    log = work / f"{tag}.log"
    with running_server(copy.db_path, log, nice=args.nice, cpus=args.server_cpus) as server:
        yield Target(server.url, copy, server.psutil)


def make_plan(args: argparse.Namespace, where: Target, rate: float) -> Plan:
    reply_every = round(1 / args.reply_fraction) if args.reply_fraction > 0 else 0
    return Plan(
        url=where.url,
        site_key=where.seed.site_key,
        agent_emails=where.seed.agent_emails,
        password=where.seed.password,
        widgets=args.widgets,
        rate=rate,
        duration=args.duration,
        grace=args.grace,
        reply_every=reply_every,
        procs=args.client_procs,
        compression=not args.no_compression,
        warm_rooms=not args.cold_rooms,
        body=("Hello, is this item still in stock? " * 20)[: args.body_bytes],
        same_body=getattr(args, "same_body", False),
        bodies=shopper_texts() if getattr(args, "shopper_texts", False) else (),
        nice=args.nice,
        poisson=args.poisson,
        relay=getattr(args, "relay", False),
        client_cpu=args.client_cpu,
    )


def measure_run(pool: ClientPool, plan: Plan, server: psutil.Process | None, trial: Trial) -> None:
    """Start the clients on one shared due time and watch the server until they report."""
    counters = server_counters(plan.url)
    trial.start = time.monotonic() + 1.0
    pool.go(trial.start)
    time.sleep(max(0.0, trial.start - time.monotonic()))
    before = cpu_snapshot(server) if server else None
    busy0, wall0 = machine_busy_seconds(), time.monotonic()
    sampler = PeakSampler(server)
    previous = before
    label = "relay" if plan.relay else f"sapa-r{plan.rate:g}"
    with profiling(server.pid if server else None, label):
        while previous is not None and time.monotonic() < plan.due(trial.start, plan.total):
            time.sleep(1.0)
            previous = sampler.sample(previous)
    deadline = plan.due(trial.start, plan.total) + plan.grace + 60
    trial.tallies = pool.results(max(1.0, deadline - time.monotonic()))
    trial.machine_busy = machine_busy_seconds() - busy0
    trial.machine_wall = time.monotonic() - wall0
    after = server_counters(plan.url)
    trial.counters = {k: v - counters.get(k, 0.0) for k, v in after.items()}
    if server is not None and before is not None:
        trial.server_cpu = cpu_snapshot(server).minus(before)
        trial.peak = sampler
        trial.rss_after = rss_bytes(server)


def run_trial(args: argparse.Namespace, seed: Seed | None, work: Path, rate: float) -> Trial:
    quiet = wait_for_quiet(args.quiet_wait, args.quiet_cores) if args.quiet_wait > 0 else ""
    with target(args, seed, work, f"r{rate:g}") as where:
        plan = make_plan(args, where, rate)
        trial = Trial(plan, load_average(), 0.0, [], 0.0, quiet=quiet)
        if where.server:
            time.sleep(0.5)
            trial.rss_idle = rss_bytes(where.server)
        with ClientPool(plan) as pool:
            trial.setup_seconds = max(pool.ready(timeout=300))
            time.sleep(1.0)  # let the connect burst settle before measuring memory
            if where.server:
                trial.rss_connected = rss_bytes(where.server)
            measure_run(pool, plan, where.server, trial)
    return trial


# -- printing ------------------------------------------------------------------------------


def _mib(n: int) -> str:
    return f"{n / MiB:.1f} MiB"


def report(trial: Trial, timeline: bool = False) -> str:
    plan = trial.plan
    lines = [
        f"== private chat: N={plan.widgets} widgets, A={plan.agents} agents, "
        f"R={plan.rate:g} msg/s for {plan.duration:g} s ({plan.total} messages), "
        f"client processes={plan.procs}, nice={plan.nice}, compression={'deflate' if plan.compression else 'off'}, "
        f"rooms {'opened before the run' if plan.warm_rooms else 'created in the run (cold)'}",
        f"server version          {trial.version}  (git describe --dirty of this work tree)",
        f"load average at start   {trial.load}{'; ' + trial.quiet if trial.quiet else ''}",
        f"setup                   {plan.widgets} widgets + {plan.agents} agents in "
        f"{trial.setup_seconds:.1f} s",
        f"sent                    {trial.sent}  (schedule lag {trial.lag().ms()})",
        f"ack latency             {trial.ack().ms()}",
        f"delivery latency        {trial.delivery().ms()}  [all agent receipts]",
        f"delivered               {trial.delivered_rate:.1f} msg/s to all agents "
        f"({trial.delivered_to_all}/{plan.total} messages reached every agent)",
    ]
    if plan.reply_every:
        lines.append(
            f"reply delivery          {trial.replies().ms()}  "
            f"[agent→widget, {sum(t.replies_sent for t in trial.tallies)} replies sent, "
            f"{sum(t.replies_acked for t in trial.tallies)} acked]"
        )
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(trial.errors().items())) or "none"
    lines += [
        f"lost                    {trial.lost}  (unacked {trial.unacked}, refused {trial.refused}, "
        f"missing agent receipts {trial.missing_receipts}; grace {plan.grace:g} s)",
        f"errors                  {errors}",
    ]
    lines += _server_lines(trial) + _client_lines(trial) + _machine_lines(trial)
    if timeline:
        lines += _timeline_lines(trial)
    return "\n".join(lines)


def _timeline_lines(trial: Trial) -> list[str]:
    lines = ["second   acked  ack p99 ms  receipts  del p50 ms  del p99 ms  del max ms"]
    for second, ack, dl in trial.timeline():
        lines.append(
            f"{second:>6} {ack.count:>7} {ack.p99 * 1e3:>11.1f} {dl.count:>9} "
            f"{dl.p50 * 1e3:>11.1f} {dl.p99 * 1e3:>11.1f} {dl.max * 1e3:>11.1f}"
        )
    return lines


def _server_lines(trial: Trial) -> list[str]:
    cpu, peak = trial.server_cpu, trial.peak
    if cpu is None or peak is None:
        return ["server                  not measured (no --server-pid)"]
    conns = trial.plan.widgets + trial.plan.agents
    lines = _counter_lines(trial)
    per_conn = (trial.rss_connected - trial.rss_idle) / conns if conns else math.nan
    return [
        *lines,
        f"server CPU              {cpu.percent:.0f}% of one core ({cpu.total:.1f} CPU-s in "
        f"{cpu.wall:.1f} s, {1e3 * cpu.total / max(trial.sent, 1):.2f} ms per message); "
        f"event-loop thread {cpu.main_percent:.0f}%; "
        f"busiest second {peak.peak_total:.0f}% (loop thread {peak.peak_main:.0f}%)",
        f"  without the FAQ model {100 * cpu.wanted / cpu.wall:.0f}% of one core "
        f"({1e3 * cpu.wanted / max(trial.sent, 1):.2f} ms per message): its worker runs at the "
        "lowest priority, on CPU nothing else wanted",
        f"server RSS              idle {_mib(trial.rss_idle)}, connected "
        f"{_mib(trial.rss_connected)}, after the run {_mib(trial.rss_after)}",
        f"memory per connection   {per_conn / 1024:.1f} KiB  "
        f"((connected - idle) / {conns} sockets)",
    ]


def _machine_lines(trial: Trial) -> list[str]:
    if math.isnan(trial.others_cores):
        return []
    cores = psutil.cpu_count() or 1
    verdict = (
        "NOISY: other processes competed for the CPU; repeat when the machine is quiet"
        if trial.noisy
        else "quiet enough"
    )
    return [
        f"machine                 {trial.machine_busy / trial.machine_wall:.2f} of {cores} cores "
        f"busy; other processes {trial.others_cores:.2f} cores; {verdict}"
    ]


def _counter_lines(trial: Trial) -> list[str]:
    c = trial.counters
    writes, batches = c.get("sapa_db_writes_total", 0), c.get("sapa_db_batches_total", 0)
    if not batches:
        return []
    return [
        f"server counters         {writes:.0f} DB writes in {batches:.0f} commits "
        f"(mean group-commit batch {writes / batches:.1f}); "
        f"{c.get('sapa_messages_delivered_total', 0):.0f} event frames queued; "
        f"{c.get('sapa_send_queue_overflows_total', 0):.0f} send-queue overflows (1013)",
        f"FAQ follow-ups           {c.get('sapa_faq_semantic_total', 0):.0f} ranked with the model,"
        f" {c.get('sapa_faq_semantic_skipped_total', 0):.0f} on words alone (the model"
        " busy: its queue full, or an engine being built)",
    ]


def _client_lines(trial: Trial) -> list[str]:
    cpus = ", ".join(f"{c:.0f}%" for c in trial.client_cpu())
    verdict = (
        "WARNING: a client process used most of a core or fell behind its own schedule "
        "(p99 lag > 50 ms): the client, or other processes on this machine, may inflate "
        "these latencies; compare with --client-procs 2 and check the load average"
        if trial.client_busy()
        else "ok (not the bottleneck)"
    )
    return [f"client CPU              {cpus} of one core per process; {verdict}"]


TABLE_HEAD = (
    f"{'rate':>6} {'deliv/s':>8} {'ack p50':>8} {'ack p99':>8} {'del p50':>8} "
    f"{'del p99':>8} {'del max':>8} {'lost':>5} {'errs':>5} {'srv CPU':>7} {'ms/msg':>6} {'loop':>5} "
    f"{'client':>7} {'others':>6}  verdict"
)


def table_row(trial: Trial, p99_limit: float) -> str:
    ack, dl = trial.ack(), trial.delivery()
    cpu = trial.server_cpu
    srv = f"{cpu.percent:.0f}%" if cpu else "-"
    loop = f"{cpu.main_percent:.0f}%" if cpu else "-"
    per_msg = f"{1e3 * cpu.total / max(trial.sent, 1):.2f}" if cpu else "-"
    client = "/".join(f"{c:.0f}" for c in trial.client_cpu()) + "%"
    verdict = "pass" if trial.passed(p99_limit) else "FAIL"
    if trial.client_busy():
        verdict += " (client busy)"
    if trial.noisy:
        verdict += " (noisy)"
    return (
        f"{trial.plan.rate:>6g} {trial.delivered_rate:>8.1f} {ack.p50 * 1e3:>8.1f} "
        f"{ack.p99 * 1e3:>8.1f} {dl.p50 * 1e3:>8.1f} {dl.p99 * 1e3:>8.1f} "
        f"{dl.max * 1e3:>8.1f} {trial.lost:>5} {sum(trial.errors().values()):>5} {srv:>7} "
        f"{per_msg:>6} {loop:>5} {client:>7} {trial.others_cores:>6.2f}  {verdict}"
    )


# -- modes ---------------------------------------------------------------------------------


def single(args: argparse.Namespace, seed: Seed | None, work: Path) -> None:
    for rate in args.rate:
        trial = run_trial(args, seed, work, rate)
        print(report(trial, args.timeline), flush=True)
        print(flush=True)


def find_max(args: argparse.Namespace, seed: Seed | None, work: Path) -> None:
    """Double the rate until a step fails, then bisect between the last pass and that fail."""
    print(
        f"find-max: N={args.widgets}, A={args.agents}, {args.duration:g} s per step; "
        f"pass = delivery p99 < {args.p99_ms:g} ms, nothing lost, no errors",
        flush=True,
    )
    print(TABLE_HEAD, flush=True)
    best, high = search_max(args, lambda rate: run_trial(args, seed, work, rate))
    _conclude(best, high, args.p99_ms)


def search_max(
    args: argparse.Namespace,
    run: Callable[[float], Trial],
    show: Callable[[Trial, str], None] | None = None,
) -> tuple[Trial | None, float]:
    """The best passing trial and the lowest failing rate (inf if none failed), `run` making
    one trial at a rate; `show` reports every step (default: a table row)."""
    limit = args.p99_ms / 1e3
    show = show or (lambda trial, note: print(table_row(trial, limit) + note, flush=True))
    best: Trial | None = None
    low, high = 0.0, math.inf
    rate = args.start_rate
    while rate <= args.max_rate:
        trial = _step(args, run, show, rate, limit)
        if not trial.passed(limit):
            high = rate
            break
        best, low = trial, rate
        rate *= 2
    for _ in range(args.bisect_steps if math.isfinite(high) and low > 0 else 0):
        rate = round((low + high) / 2, -1) or (low + high) / 2
        if rate in (low, high):
            break
        trial = _step(args, run, show, rate, limit)
        if trial.passed(limit):
            best, low = trial, rate
        else:
            high = rate
    return best, high


def _step(
    args: argparse.Namespace,
    run: Callable[[float], Trial],
    show: Callable[[Trial, str], None],
    rate: float,
    limit: float,
) -> Trial:
    trial = run(rate)
    show(trial, "")
    for _ in range(args.retries):
        if trial.passed(limit) or not (trial.noisy or trial.client_busy()):
            break
        again = run(rate)
        show(again, "  [retry]")
        trial = again if again.passed(limit) else trial
    return trial


def _conclude(best: Trial | None, high: float, p99_ms: float) -> None:
    print()
    if best is None:
        print(f"no rate passed (delivery p99 < {p99_ms:g} ms with nothing lost)")
        return
    above = f"; {high:g} msg/s failed" if math.isfinite(high) else " (the cap; raise --max-rate)"
    print(f"max sustainable rate: {best.plan.rate:g} msg/s{above}")
    if best.client_busy():
        print("note: the client was busy at that rate; the server may manage more")
    print()
    print(report(best))


# -- command line ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--widgets", "-n", type=int, default=500, help="widget sockets (N)")
    p.add_argument("--agents", "-a", type=int, default=4, help="agent sockets (A)")
    p.add_argument(
        "--rate",
        "-r",
        type=float,
        nargs="+",
        default=[200.0],
        help="total msg/s (several: one run each)",
    )
    p.add_argument("--duration", "-d", type=float, default=20.0, help="seconds of sending")
    p.add_argument(
        "--grace", type=float, default=5.0, help="seconds to wait for late acks/deliveries"
    )
    p.add_argument(
        "--reply-fraction", type=float, default=0.0, help="share of messages agents answer"
    )
    p.add_argument(
        "--client-procs", type=int, default=1, help="client processes (widgets/agents split)"
    )
    p.add_argument("--body-bytes", type=int, default=60, help="message body length")
    p.add_argument(
        "--same-body",
        action="store_true",
        help="send one text every time (lets the server reuse its FAQ ranking; default: each differs)",
    )
    p.add_argument(
        "--shopper-texts",
        action="store_true",
        help="send the demo FAQ's questions and phrasings in turn, each numbered, instead of\n"
        "one English line: what the FAQ ranking costs on the questions shoppers ask",
    )
    p.add_argument(
        "--cold-rooms",
        action="store_true",
        help="no room-opening message per widget before the run: the first measured\n"
        "message of each widget creates its room (all N rooms in the first N/R s)",
    )
    p.add_argument("--no-compression", action="store_true", help="no permessage-deflate")
    p.add_argument("--timeline", action="store_true", help="print latency per second too")
    p.add_argument("--find-max", action="store_true", help="search for the highest passing rate")
    p.add_argument("--start-rate", type=float, default=100.0, help="find-max: first rate")
    p.add_argument("--max-rate", type=float, default=6400.0, help="find-max: highest rate tried")
    p.add_argument("--bisect-steps", type=int, default=3, help="find-max: bisection steps")
    p.add_argument("--p99-ms", type=float, default=200.0, help="find-max: delivery p99 limit")
    p.add_argument(
        "--retries", type=int, default=1, help="find-max: re-runs of a noisy failed step"
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each run, wait up to this many s for the machine to calm down (0: never)",
    )
    p.add_argument(
        "--quiet-cores", type=float, default=0.3, help="calm = fewer cores busy than this"
    )
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="nice value of the server and client processes; a negative one (root only)\n"
        "shields the measurement from other work on a shared machine",
    )
    p.add_argument("--poisson", action="store_true", help="Poisson send times (open loop)")
    p.add_argument("--server-cpus", default="", help="pin the server to these cores (taskset)")
    p.add_argument("--client-cpu", type=int, default=-1, help="pin the clients to this core")
    p.add_argument("--url", help="use a running server instead of starting one")
    p.add_argument("--site-key", help="with --url: the site's key (domain 127.0.0.1 allowed)")
    p.add_argument("--agent-email", action="append", default=[], help="with --url (repeat)")
    p.add_argument("--agent-password", default=PASSWORD, help="with --url")
    p.add_argument("--server-pid", type=int, help="with --url: measure this process")
    args = p.parse_args(argv)
    _check(p, args)
    return args


def _check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.url and not (args.site_key and args.agent_email):
        p.error("--url needs --site-key and at least one --agent-email")
    if args.url and not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        p.error("this benchmark only talks to 127.0.0.1")
    if args.url:
        args.agents = len(args.agent_email)
    if min(args.widgets, args.agents, args.client_procs) < 1:
        p.error("--widgets, --agents and --client-procs must be at least 1")
    top = args.max_rate if args.find_max else max(args.rate)
    if top / args.widgets > WIDGET_RATE_LIMIT * 0.9:
        p.error(f"{top:g} msg/s over {args.widgets} widgets passes the server's 20 frames/s limit")
    replies = top * args.reply_fraction / args.agents
    if replies > AGENT_RATE_LIMIT * 0.8:
        p.error(f"{replies:.0f} replies/s per agent passes the server's 50 frames/s limit")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_sigterm_as_interrupt()
    raise_nofile(args.widgets + args.agents + 1024)
    try:
        with temp_dir() as work:
            seed = None if args.url else seed_database(str(work / "seed.db"), args.agents)
            (find_max if args.find_max else single)(args, seed, work)
    except KeyboardInterrupt:
        print("\ninterrupted; server and temporary files cleaned up", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
