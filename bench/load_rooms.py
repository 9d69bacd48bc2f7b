"""Open-loop load on a public room: V readers joined to one room, P posters posting R posts/s.

    python bench/load_rooms.py                              # V=1000, P=100, R=10 posts/s, 20 s
    python bench/load_rooms.py --rate 5 10 20               # one run per rate
    python bench/load_rooms.py --scenarios room both private --private-rate 100
                                                            # the room alone, the room with a
                                                            # private-chat load (bench/load_chat.py's
                                                            # clients), and that load alone
    python bench/load_rooms.py --no-compression             # no permessage-deflate

Each run seeds a fresh SQLite file (one site, domain 127.0.0.1; its default public
room), starts `python -m chat_server serve`, opens V reader widgets that `join` the
room and P poster widgets that choose a display name, then posts R times per second
for D seconds from poster i mod P. Post times are fixed in advance and every latency
is measured from the due time (open loop). Deliveries are timed at every reader;
each reader checks it gets every post exactly once and in `seq` order.

A visitor may post 5 times per 30 s in public rooms (one every 6 s sustained), so P
must be at least 6.5 R. With --private-rate, load_chat.py's shoppers and agents run
against the same server on the same schedule, and both workloads are reported.
The figures are printed, never asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import math
import multiprocessing as mp
import secrets
import sqlite3
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import psutil
import websockets
from _common import (
    WIDGET_ORIGIN,
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
    temp_dir,
    wait_for_quiet,
)
from load_chat import ClientPool, PeakSampler, Peer, dumps, loads
from load_chat import Plan as ChatPlan
from load_chat import Trial as ChatTrial
from websockets.asyncio.client import ClientConnection

POSTER_INTERVAL_MIN = 6.5  # s between one poster's posts: the server allows one per 6 s
MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class RoomPlan:
    url: str
    site_key: str
    room_id: str
    readers: int
    posters: int
    rate: float
    duration: float
    grace: float
    procs: int
    compression: bool
    body: str
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    setup_concurrency: int = 32
    relay: bool = False  # the target is bench/bare_relay.py (sessions by GET)

    @property
    def total(self) -> int:
        return round(self.rate * self.duration)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def due(self, start: float, i: int) -> float:
        return start + i / self.rate

    def mine(self, index: int, proc: int) -> bool:
        return index % self.procs == proc


@dataclass
class RoomTally:
    """What one client process measured (sent back to the parent as is)."""

    proc: int
    readers: int = 0
    setup_seconds: float = 0.0
    sent: int = 0
    acked: int = 0
    refused: int = 0
    ack_latency: array.array[float] = field(default_factory=lambda: array.array("d"))
    lag: array.array[float] = field(default_factory=lambda: array.array("d"))
    latency: array.array[float] = field(default_factory=lambda: array.array("d"))
    reach: array.array[int] = field(default_factory=lambda: array.array("l"))  # readers per post
    receipts: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    last_receipt: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0


class RoomClient:
    """The readers and posters owned by one client process."""

    def __init__(self, plan: RoomPlan, proc: int) -> None:
        self.plan = plan
        self.proc = proc
        self.tally = RoomTally(proc, reach=array.array("l", [0] * plan.total))
        self.readers: list[ClientConnection] = []
        self.posters: dict[int, Peer] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.answered = bytearray(plan.total)
        self.expected_posts = sum(1 for i in range(plan.total) if self._poster_mine(i))
        self.answers = 0
        self.complete = 0  # readers holding every post
        self.all_in = asyncio.Event()
        self.start = 0.0
        self.closing = False

    def _poster_mine(self, i: int) -> bool:
        return self.plan.mine(i % self.plan.posters, self.proc)

    # -- setup --------------------------------------------------------------------

    async def setup(self) -> None:
        began = time.monotonic()
        plan = self.plan
        gate = asyncio.Semaphore(plan.setup_concurrency)
        limits = httpx.Limits(max_connections=plan.setup_concurrency)
        async with httpx.AsyncClient(base_url=plan.url, limits=limits, timeout=60) as http:
            readers = [r for r in range(plan.readers) if plan.mine(r, self.proc)]
            self.readers = list(
                await asyncio.gather(*(self._open(http, gate, "join", r) for r in readers))
            )
            posters = [p for p in range(plan.posters) if plan.mine(p, self.proc)]
            opened = await asyncio.gather(*(self._open(http, gate, "profile", p) for p in posters))
        self.posters = {p: Peer(p, ws) for p, ws in zip(posters, opened, strict=True)}
        self.tally.readers = len(self.readers)
        for ws in self.readers:
            self.tasks.append(asyncio.create_task(self._read(ws)))
        for peer in self.posters.values():
            self.tasks += [
                asyncio.create_task(self._answers(peer)),
                asyncio.create_task(peer.write_loop()),
            ]
        self.tally.setup_seconds = time.monotonic() - began

    async def _open(
        self, http: httpx.AsyncClient, gate: asyncio.Semaphore, role: str, index: int
    ) -> ClientConnection:
        async with gate:
            for attempt in range(3):
                try:
                    response = await open_session(http, self.plan.site_key, self.plan.relay)
                    break
                except httpx.TransportError:
                    # A kept-alive connection the server closed meanwhile (a busy machine).
                    if attempt == 2:
                        raise
            ws = await websockets.connect(
                self.plan.ws_url + "/ws/widget",
                origin=WIDGET_ORIGIN,  # type: ignore[arg-type]
                compression="deflate" if self.plan.compression else None,
                ping_interval=None,
                open_timeout=60,
                close_timeout=2,
                max_queue=None,
            )
            await self._ask(ws, {"type": "hello", "token": response.json()["token"]}, "welcome")
            if role == "join":
                await self._ask(ws, {"type": "join", "room_id": self.plan.room_id, "ref": "j"})
            else:
                await self._ask(ws, {"type": "profile", "name": f"Pembeli {index}", "ref": "p"})
            return ws

    @staticmethod
    async def _ask(ws: ClientConnection, frame: dict[str, Any], until: str = "ack") -> None:
        await ws.send(dumps(frame))
        while True:
            answer = loads(await asyncio.wait_for(ws.recv(), 60))
            if answer.get("type") == "error" and answer.get("ref") == frame.get("ref"):
                raise RuntimeError(f"{frame['type']} refused: {answer}")
            if answer.get("type") == until and answer.get("ref") == frame.get("ref"):
                return

    # -- receiving ----------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        plan, tally = self.plan, self.tally
        got = bytearray(plan.total)
        count = last_seq = 0
        prefix = plan.run_id + "-"
        try:
            async for raw in ws:
                if '"type":"message"' not in raw:
                    continue
                now = time.monotonic()
                message = loads(raw)["message"]
                cmid = message.get("client_msg_id") or ""
                if not cmid.startswith(prefix):
                    continue
                i = int(cmid[len(prefix) :])
                if message["seq"] <= last_seq:
                    tally.out_of_order += 1
                last_seq = max(last_seq, message["seq"])
                if got[i]:
                    tally.duplicates += 1
                    continue
                got[i] = 1
                count += 1
                tally.reach[i] += 1
                tally.latency.append(now - plan.due(self.start, i))
                tally.receipts += 1
                tally.last_receipt = now
                if count == plan.total:
                    self.complete += 1
                    self._check_done()
        except websockets.ConnectionClosed:
            pass
        if not self.closing:
            tally.errors[f"reader closed {ws.close_code}"] += 1

    async def _answers(self, peer: Peer) -> None:
        tally = self.tally
        try:
            async for raw in peer.ws:
                frame = loads(raw)
                ref = frame.get("ref") or ""
                if not ref.startswith("m"):
                    continue
                i = int(ref[1:])
                if self.answered[i]:
                    continue
                self.answered[i] = 1
                self.answers += 1
                if frame["type"] == "ack":
                    tally.acked += 1
                    tally.ack_latency.append(time.monotonic() - self.plan.due(self.start, i))
                else:
                    tally.refused += 1
                    tally.errors[f"post refused: {frame.get('code')}"] += 1
                self._check_done()
        except websockets.ConnectionClosed:
            pass
        if not self.closing:
            tally.errors[f"poster closed {peer.ws.close_code}"] += 1

    def _check_done(self) -> None:
        if self.answers >= self.expected_posts and self.complete >= len(self.readers):
            self.all_in.set()

    # -- the run ------------------------------------------------------------------

    async def run(self, start: float) -> None:
        self.start = start
        self._check_done()
        cpu0 = time.process_time()
        plan, tally = self.plan, self.tally
        for i in range(plan.total):
            if not self._poster_mine(i):
                continue
            due = plan.due(start, i)
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            frame = {
                "type": "send",
                "ref": f"m{i}",
                "room_id": plan.room_id,
                "client_msg_id": f"{plan.run_id}-{i}",
                "body": plan.body,
            }
            self.posters[i % plan.posters].outbox.put_nowait(dumps(frame))
            tally.lag.append(time.monotonic() - due)
            tally.sent += 1
        deadline = plan.due(start, plan.total) + plan.grace
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_in.wait(), max(0.0, deadline - time.monotonic()))
        tally.cpu_seconds = time.process_time() - cpu0
        tally.wall_seconds = time.monotonic() - start

    async def close(self) -> None:
        self.closing = True
        for task in self.tasks:
            task.cancel()
        sockets = [*self.readers, *(p.ws for p in self.posters.values())]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True), 10
            )


async def _client_main(plan: RoomPlan, proc: int, pipe: Pipe) -> None:
    client = RoomClient(plan, proc)
    try:
        await client.setup()
        pipe.send(("ready", client.tally.setup_seconds))
        start = await asyncio.to_thread(pipe.recv)
        await client.run(start)
        pipe.send(("result", client.tally))
    finally:
        await client.close()


def room_client_entry(plan: RoomPlan, proc: int, pipe: Pipe) -> None:
    raise_nofile(plan.readers + plan.posters + 256)
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


class RoomPool(ClientPool):
    """load_chat's process pool, running room clients."""

    def __init__(self, plan: RoomPlan) -> None:
        self.plan = plan  # type: ignore[assignment]
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.processes = []
        for proc in range(plan.procs):
            parent, child = ctx.Pipe()
            process = ctx.Process(target=room_client_entry, args=(plan, proc, child), daemon=True)
            self.pipes.append(parent)
            self.processes.append(process)


# -- one run ---------------------------------------------------------------------


@dataclass
class Run:
    scenario: str
    room: RoomPlan | None
    chat: ChatPlan | None
    load: str
    start: float = 0.0
    setup_seconds: float = 0.0
    room_tallies: list[RoomTally] = field(default_factory=list)
    chat_trial: ChatTrial | None = None
    server_cpu: CpuUse | None = None
    peak: PeakSampler | None = None
    rss_connected: int = 0
    counters: dict[str, float] = field(default_factory=dict)
    others_cores: float = math.nan
    quiet: str = ""
    version: str = field(default_factory=server_version)

    # -- room figures ----------------------------------------------------------------

    @property
    def readers(self) -> int:
        return sum(t.readers for t in self.room_tallies)

    def delivery(self) -> Summary:
        return Summary.of([x for t in self.room_tallies for x in t.latency])

    def ack(self) -> Summary:
        return Summary.of([x for t in self.room_tallies for x in t.ack_latency])

    def lag(self) -> Summary:
        return Summary.of([x for t in self.room_tallies for x in t.lag])

    @property
    def receipts(self) -> int:
        return sum(t.receipts for t in self.room_tallies)

    @property
    def reached_all(self) -> int:
        """Posts that reached every reader."""
        if not self.room_tallies or self.room is None:
            return 0
        reach = [sum(col) for col in zip(*(t.reach for t in self.room_tallies), strict=True)]
        return sum(1 for n in reach if n == self.readers)

    @property
    def deliveries_per_second(self) -> float:
        if self.room is None:
            return 0.0
        last = max((t.last_receipt for t in self.room_tallies), default=0.0)
        span = max(last - self.start, self.room.duration)
        return self.receipts / span if span > 0 else 0.0

    def errors(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for t in self.room_tallies:
            total.update(t.errors)
        return total

    def client_cpu(self) -> list[float]:
        tallies = [(t.cpu_seconds, t.wall_seconds) for t in self.room_tallies]
        if self.chat_trial is not None:
            tallies += [(t.cpu_seconds, t.wall_seconds) for t in self.chat_trial.tallies]
        return [100 * cpu / wall if wall else 0.0 for cpu, wall in tallies]


def _chat_plan(args: argparse.Namespace, url: str, seed: Seed) -> ChatPlan:
    return ChatPlan(
        url=url,
        site_key=seed.site_key,
        agent_emails=seed.agent_emails,
        password=seed.password,
        widgets=args.private_widgets,
        rate=args.private_rate,
        duration=args.duration,
        grace=args.grace,
        reply_every=0,
        procs=1,
        compression=not args.no_compression,
        warm_rooms=True,
        body=("Hello, is this item still in stock? " * 20)[:60],
    )


def _room_plan(
    args: argparse.Namespace, url: str, seed: Seed, room_id: str, rate: float, relay: bool
) -> RoomPlan:
    return RoomPlan(
        relay=relay,
        url=url,
        site_key=seed.site_key,
        room_id=room_id,
        readers=args.readers,
        posters=args.posters,
        rate=rate,
        duration=args.duration,
        grace=args.grace,
        procs=args.client_procs,
        compression=not args.no_compression,
        body=("Kak, ukuran XL masih ada? Kirim ke Medan berapa hari ya? " * 10)[: args.body_bytes],
    )


def default_room_id(db_path: str) -> str:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        return str(conn.execute("SELECT id FROM rooms WHERE kind = 'public'").fetchone()[0])


@contextlib.contextmanager
def _target(
    args: argparse.Namespace, seed: Seed, work: Path, tag: str, relay: bool
) -> Iterator[tuple[str, Seed, str, psutil.Process]]:
    """(url, seed, the public room's id, the server's process) of a fresh Sapa or relay."""
    if relay:
        with running_relay(work / f"{tag}.log", args.server_cpus, not args.no_compression) as r:
            yield r.url, Seed("", "relay", (), ""), "public", r.psutil
        return
    copy = copy_database(seed, str(work / f"{tag}.db"))
    room_id = default_room_id(copy.db_path)
    with running_server(copy.db_path, work / f"{tag}.log", cpus=args.server_cpus) as server:
        # The site's FAQ engine is built (every entry embedded by the model: seconds of
        # CPU) on its first ranking. Here, not on the first measured post.
        httpx.get(f"{server.url}/help/{copy.site_key}", params={"q": "ongkos kirim"}, timeout=120)
        yield server.url, copy, room_id, server.psutil


def run_scenario(
    args: argparse.Namespace,
    seed: Seed,
    work: Path,
    scenario: str,
    rate: float,
    relay: bool = False,
) -> Run:
    """One run; with `relay` against bench/bare_relay.py (the room scenario only)."""
    tag = f"{'relay-' if relay else ''}{scenario}-{rate:g}"
    with _target(args, seed, work, tag, relay) as (url, copy, room_id, proc):
        room = _room_plan(args, url, copy, room_id, rate, relay) if scenario != "private" else None
        chat = _chat_plan(args, url, copy) if scenario != "room" else None
        run = Run(scenario, room, chat, load_average())
        with contextlib.ExitStack() as stack:
            pools: list[ClientPool] = []
            began = time.monotonic()
            # One workload after the other: thousands of sessions opening at once is not
            # what is measured here.
            if room is not None:
                pools.append(stack.enter_context(RoomPool(room)))
                pools[-1].ready(timeout=600)
            if chat is not None:
                pools.append(stack.enter_context(ClientPool(chat)))
                pools[-1].ready(timeout=600)
            run.setup_seconds = time.monotonic() - began
            time.sleep(1.0)
            run.quiet = wait_for_quiet(args.quiet_wait, 0.3) if args.quiet_wait else ""
            run.rss_connected = rss_bytes(proc)
            counters = server_counters(url)
            run.start = time.monotonic() + 1.0
            for pool in pools:
                pool.go(run.start)
            time.sleep(max(0.0, run.start - time.monotonic()))
            before = cpu_snapshot(proc)
            busy0 = machine_busy_seconds()
            sampler = PeakSampler(proc)
            previous = before
            with profiling(proc.pid, tag if relay else f"sapa-{tag}"):
                while time.monotonic() < run.start + args.duration:
                    time.sleep(1.0)
                    previous = sampler.sample(previous)
            budget = args.grace + 120
            if room is not None:
                run.room_tallies = pools[0].results(budget)  # type: ignore[assignment]
            if chat is not None:
                chat_tallies = pools[-1].results(budget)
                run.chat_trial = ChatTrial(
                    chat, run.load, run.setup_seconds, chat_tallies, run.start
                )
            wall = time.monotonic() - before.wall
            run.server_cpu = cpu_snapshot(proc).minus(before)
            run.peak = sampler
            ours = (
                run.server_cpu.total
                + sum(t.cpu_seconds for t in run.room_tallies)
                + sum(t.cpu_seconds for t in (run.chat_trial.tallies if run.chat_trial else []))
            )
            run.others_cores = max(0.0, machine_busy_seconds() - busy0 - ours) / wall
            after = server_counters(url)
            run.counters = {k: v - counters.get(k, 0.0) for k, v in after.items()}
    return run


def steady_run(args: argparse.Namespace, seed: Seed, work: Path, scenario: str, rate: float) -> Run:
    """The run least disturbed by other processes of the machine, in a few attempts."""
    best: Run | None = None
    for attempt in range(1, args.attempts + 1):
        run = run_scenario(args, seed, work, scenario, rate)
        if best is None or run.others_cores < best.others_cores:
            best = run
        if run.others_cores <= args.max_others:
            break
        print(
            f"   ({scenario} at {rate:g} posts/s, attempt {attempt}: other processes used "
            f"{run.others_cores:.2f} cores; running it again)",
            flush=True,
        )
    assert best is not None
    return best


# -- printing ---------------------------------------------------------------------


def report(run: Run) -> str:
    lines = [f"== scenario: {run.scenario}"]
    room, chat = run.room, run.chat
    if room is not None:
        lines[0] += (
            f"; room: V={room.readers} readers, P={room.posters} posters, R={room.rate:g} posts/s"
            f" for {room.duration:g} s ({room.total} posts)"
        )
    if chat is not None:
        lines[0] += (
            f"; private chat: {chat.widgets} shoppers, {chat.agents} agents, {chat.rate:g} msg/s"
        )
    lines[0] += f"; compression {'deflate' if (room or chat).compression else 'off'}"  # type: ignore[union-attr]
    lines += [
        f"server version          {run.version}",
        f"load average at start   {run.load}; {run.quiet or 'no wait for quiet'}",
        f"other processes         used {run.others_cores:.2f} cores during the run"
        + ("  WARNING: figures disturbed by other processes" if run.others_cores > 0.5 else ""),
        f"setup                   {run.setup_seconds:.1f} s",
    ]
    if room is not None:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(run.errors().items())) or "none"
        expected = room.total * room.readers
        lines += [
            f"posts                   sent {sum(t.sent for t in run.room_tallies)}, "
            f"acked {sum(t.acked for t in run.room_tallies)}, "
            f"refused {sum(t.refused for t in run.room_tallies)}  (schedule lag {run.lag().ms()})",
            f"post ack latency        {run.ack().ms()}",
            f"room delivery latency   {run.delivery().ms()}",
            f"room deliveries         {run.deliveries_per_second:,.0f}/s; {run.receipts}/{expected} "
            f"receipts; {run.reached_all}/{room.total} posts reached every reader; "
            f"duplicates {sum(t.duplicates for t in run.room_tallies)}, "
            f"out of order {sum(t.out_of_order for t in run.room_tallies)}",
            f"room errors             {errors}",
        ]
    if run.chat_trial is not None:
        trial = run.chat_trial
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(trial.errors().items())) or "none"
        lines += [
            f"private ack latency     {trial.ack().ms()}",
            f"private delivery        {trial.delivery().ms()}  [at every agent]",
            f"private lost / errors   {trial.lost} / {errors}",
        ]
    cpu, peak = run.server_cpu, run.peak
    if cpu is not None and peak is not None:
        c = run.counters
        lines += [
            f"server CPU              {cpu.percent:.0f}% of one core; event-loop thread "
            f"{cpu.main_percent:.0f}%; busiest second {peak.peak_total:.0f}% "
            f"(loop {peak.peak_main:.0f}%)",
            f"server RSS connected    {run.rss_connected / MiB:.1f} MiB",
            f"server counters         {c.get('sapa_messages_delivered_total', 0):,.0f} frames "
            f"queued; {c.get('sapa_send_queue_overflows_total', 0):.0f} send-queue overflows",
        ]
    cpus = ", ".join(f"{x:.0f}%" for x in run.client_cpu())
    lines.append(f"client CPU              {cpus} of one core per client process")
    return "\n".join(lines)


# -- command line --------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--readers", "-V", type=int, default=1000, help="widgets joined to the room")
    p.add_argument("--posters", "-P", type=int, default=100, help="widgets that post")
    p.add_argument(
        "--rate", "-r", type=float, nargs="+", default=[10.0], help="posts/s (several: a run each)"
    )
    p.add_argument("--duration", "-d", type=float, default=20.0, help="seconds of posting")
    p.add_argument("--grace", type=float, default=5.0, help="seconds to wait for late receipts")
    p.add_argument(
        "--scenarios",
        nargs="+",
        choices=["room", "both", "private"],
        default=["room"],
        help="room: the room alone; both: with the private-chat load; private: that load alone",
    )
    p.add_argument("--private-rate", type=float, default=100.0, help="private msg/s (both/private)")
    p.add_argument("--private-widgets", type=int, default=500, help="shoppers of the private load")
    p.add_argument("--agents", type=int, default=4, help="agents of the private load")
    p.add_argument("--client-procs", type=int, default=1, help="room client processes")
    p.add_argument("--body-bytes", type=int, default=80, help="post length")
    p.add_argument("--no-compression", action="store_true", help="no permessage-deflate")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="seconds to wait for other processes to calm down before each run (0: none)",
    )
    p.add_argument(
        "--max-others",
        type=float,
        default=0.5,
        help="cores other processes may use during a run before it is run again",
    )
    p.add_argument("--attempts", type=int, default=3, help="runs at most, when others interfere")
    p.add_argument("--server-cpus", default="", help="pin the server to these cores (taskset)")
    args = p.parse_args(argv)
    if min(args.readers, args.posters, args.client_procs) < 1:
        p.error("--readers, --posters and --client-procs must be at least 1")
    if args.posters / max(args.rate) < POSTER_INTERVAL_MIN:
        p.error(
            f"{max(args.rate):g} posts/s from {args.posters} posters passes the server's limit "
            f"of one post per 6 s per visitor: use --posters {math.ceil(max(args.rate) * 6.5)}"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_sigterm_as_interrupt()
    raise_nofile(args.readers + args.posters + args.private_widgets + 1024)
    try:
        with temp_dir() as work:
            seed = seed_database(str(work / "seed.db"), args.agents)
            for rate in args.rate:
                for scenario in args.scenarios:
                    if scenario == "private" and rate != args.rate[0]:
                        continue
                    print(report(steady_run(args, seed, work, scenario, rate)), flush=True)
                    print(flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted; server and temporary files cleaned up", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
