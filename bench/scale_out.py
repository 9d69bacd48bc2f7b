"""What scaling out costs: the private-chat workload on 1 process, 1 process + Redis, 2 + Redis.

    python bench/scale_out.py                         # 300 widgets, 4 agents, 200 and 400 msg/s
    python bench/scale_out.py --rate 200 400 800 --duration 15
    python bench/scale_out.py --configs 1 1r          # a subset: 1, 1r (1 + Redis), 2r

Each configuration gets a fresh copy of one seeded SQLite file and its own
redis-server (`--save "" --appendonly no`, as the tests run it), then the
load generator of bench/load_chat.py drives it through `--url` (open loop,
latency from each message's due time). "2r" is `sapa serve --workers 2
--redis URL`: the kernel spreads sockets over both workers, so about half of
all deliveries cross processes through Redis.

Printed per configuration and rate: delivered msg/s, ack and delivery p50/p99,
server CPU (all processes) per message, Redis bus latency (from the workers'
`sapa_bus_latency_seconds` histograms). Then the cost of the Redis hop: the
extra server CPU per message (1r - 1) and the extra delivery latency (2r - 1r).
On a 2-core machine the client, both workers and redis-server share two
cores, so "2r" shows the price of the hop, not a speed-up: adding processes
pays off with cores (or hosts) to put them on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import math
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import load_chat
import psutil
from _common import (
    ROOT,
    Seed,
    copy_database,
    free_port,
    install_sigterm_as_interrupt,
    load_average,
    raise_nofile,
    rss_bytes,
    seed_database,
    temp_dir,
    wait_for_quiet,
)

CONFIGS = {"1": (1, False), "1r": (1, True), "2r": (2, True)}
LABELS = {"1": "1 process", "1r": "1 process + Redis", "2r": "2 processes + Redis"}


# -- the processes under test -------------------------------------------------------


@contextlib.contextmanager
def redis_server(work: Path) -> Iterator[str]:
    binary = os.environ.get("SAPA_REDIS_SERVER") or shutil.which("redis-server")
    if not binary:
        raise SystemExit("redis-server is required (apt-get install redis-server)")
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with open(work / f"redis-{port}.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


class ProcessTree:
    """`sapa serve` and its worker processes, shaped like the psutil.Process that load_chat
    measures: CPU and memory are summed over the tree (the main-thread share is not)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.root = psutil.Process(pid)

    def members(self) -> list[psutil.Process]:
        return [self.root, *self.root.children(recursive=True)]

    @contextlib.contextmanager
    def oneshot(self) -> Iterator[None]:
        yield

    def cpu_times(self) -> SimpleNamespace:
        user = system = 0.0
        for proc in self.members():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                user, system = user + times.user, system + times.system
        return SimpleNamespace(user=user, system=system)

    def threads(self) -> list[Any]:
        return []

    def memory_info(self) -> SimpleNamespace:
        rss = 0
        for proc in self.members():
            with contextlib.suppress(psutil.Error):
                rss += proc.memory_info().rss
        return SimpleNamespace(rss=rss)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    workers: int

    def tree(self) -> ProcessTree:
        return ProcessTree(self.process.pid)


@contextlib.contextmanager
def sapa_server(db_path: str, workers: int, redis_url: str | None, log: Path) -> Iterator[Server]:
    port = free_port()
    cmd = [sys.executable, "-m", "chat_server", "serve", "--db", db_path, "--port", str(port)]
    cmd += ["--host", "127.0.0.1", "--workers", str(workers)]
    if redis_url:
        cmd += ["--redis", redis_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAPA_")}
    env["SAPA_SESSION_RATE_PER_ADDRESS"] = "0"  # every simulated shopper is on 127.0.0.1
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", proc, workers)
    try:
        _wait_ready(server, log)
        yield server
    finally:
        for sig, wait in ((signal.SIGINT, 8.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(wait)
                break


def _wait_ready(server: Server, log: Path) -> None:
    """Every worker ready, bus included: sample /readyz until all workers have answered ok."""
    deadline = time.monotonic() + 60
    ready: set[int] = set()
    while len(ready) < server.workers:
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not become ready:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            with httpx.Client(base_url=server.url, timeout=2) as http:
                if http.get("/readyz").json().get("status") == "ready":
                    ready.add(_scrape(server.url).pid)
        time.sleep(0.1)


# -- per-worker bus latency from /metrics ------------------------------------------------


@dataclass
class Scrape:
    pid: int
    buckets: list[tuple[float, float]] = field(default_factory=list)  # (le, cumulative count)


def _scrape(url: str) -> Scrape:
    # A fresh connection each time, so the kernel may hand it to any worker.
    text = httpx.get(url + "/metrics", timeout=5, headers={"connection": "close"}).text
    pid, buckets = 0, []
    for line in text.splitlines():
        if line.startswith("sapa_process_info{"):
            pid = int(line.split('pid="', 1)[1].split('"', 1)[0])
        elif line.startswith("sapa_bus_latency_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((math.inf if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    return Scrape(pid, buckets)


def scrape_all(url: str, workers: int) -> dict[int, Scrape]:
    seen: dict[int, Scrape] = {}
    for _ in range(50 * workers):
        scrape = _scrape(url)
        seen.setdefault(scrape.pid, scrape)
        if len(seen) == workers:
            break
    return seen


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' estimate: linear within the bucket that holds the q-th observation."""
    if not buckets or buckets[-1][1] <= 0:
        return math.nan
    rank, lower, below = q * buckets[-1][1], 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower
            return lower + (le - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = le, count
    return lower


def bus_latency(before: dict[int, Scrape], after: dict[int, Scrape]) -> tuple[float, float, int]:
    """p50, p99 and count of cross-process events during the run, all workers together."""
    merged: dict[float, float] = {}
    for pid, scrape in after.items():
        old = dict(before[pid].buckets) if pid in before else {}
        for le, count in scrape.buckets:
            merged[le] = merged.get(le, 0.0) + count - old.get(le, 0.0)
    buckets = sorted(merged.items())
    total = int(buckets[-1][1]) if buckets else 0
    return histogram_quantile(0.5, buckets), histogram_quantile(0.99, buckets), total


# -- one run --------------------------------------------------------------------------


@dataclass
class Result:
    config: str
    rate: float
    trial: load_chat.Trial
    bus: tuple[float, float, int]

    @property
    def cpu_us_per_message(self) -> float:
        """Server CPU (every process of it) during the sending window, per message sent."""
        cpu = self.trial.server_cpu
        sent = self.trial.sent
        return 1e6 * cpu.total / sent if cpu and sent else math.nan


def run(args: argparse.Namespace, seed: Seed, work: Path, config: str, rate: float) -> Result:
    workers, with_redis = CONFIGS[config]
    tag = f"{config}-{rate:g}"
    copy = copy_database(seed, str(work / f"{tag}.db"))
    load_args = load_chat.parse_args(
        [
            "--url", "http://127.0.0.1", "--site-key", copy.site_key,
            *[x for email in copy.agent_emails for x in ("--agent-email", email)],
            "--agent-password", copy.password,
            "--widgets", str(args.widgets), "--rate", str(rate),
            "--duration", str(args.duration), "--client-procs", str(args.client_procs),
        ]
    )  # fmt: skip
    quiet = wait_for_quiet(args.quiet_wait, 0.3) if args.quiet_wait > 0 else ""
    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(redis_server(work)) if with_redis else None
        server = stack.enter_context(sapa_server(copy.db_path, workers, redis_url, work / tag))
        # load_chat.run_trial, with the whole process tree measured instead of one pid.
        where = load_chat.Target(server.url, copy, server.tree())  # type: ignore[arg-type]
        plan = load_chat.make_plan(load_args, where, rate)
        trial = load_chat.Trial(plan, load_average(), 0.0, [], 0.0, quiet=quiet)
        trial.rss_idle = rss_bytes(where.server)  # type: ignore[arg-type]
        with load_chat.ClientPool(plan) as pool:
            trial.setup_seconds = max(pool.ready(timeout=300))
            time.sleep(1.0)
            trial.rss_connected = rss_bytes(where.server)  # type: ignore[arg-type]
            before = scrape_all(server.url, workers) if with_redis else {}
            load_chat.measure_run(pool, plan, where.server, trial)
            after = scrape_all(server.url, workers) if with_redis else {}
    bus = bus_latency(before, after) if with_redis else (math.nan, math.nan, 0)
    return Result(config, rate, trial, bus)


# -- the hop alone: RedisBus between two processes, no web server --------------------------


HOP_PAYLOAD = {
    "type": "message",
    "message": {
        "id": "msg_0123456789abcdef",
        "room_id": "room_0123456789abcdef",
        "seq": 42,
        "kind": "text",
        "body": "Hello, is this item still in stock? Hello, is this item still in",
        "author": {"kind": "customer", "id": "cus_0123456789abcdef", "name": "Pengunjung"},
        "client_msg_id": "c-0123456789",
        "created_at": "2026-11-22T10:00:00.123Z",
    },
}


async def _receive(url: str, count: int, pipe: Any) -> None:
    from chat_server.bus.redis import RedisBus

    bus, got, done = RedisBus(url), 0, asyncio.Event()

    async def handler(event: Any) -> None:
        nonlocal got
        got += 1
        if got == count:
            done.set()

    bus.subscribe(handler)
    await bus.start()
    pipe.send("ready")
    cpu = time.process_time()
    await asyncio.wait_for(done.wait(), 120)
    cpu = time.process_time() - cpu
    buckets = [(float(b), c) for b, c in bus.stats.latency.cumulative() if b != "+Inf"]
    pipe.send((cpu, [*buckets, (math.inf, bus.stats.latency.count)]))
    await bus.close()


def _run(coro: Any) -> Any:
    """On uvloop when it is there, as uvicorn runs the server."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _receiver_entry(url: str, count: int, pipe: Any) -> None:
    _run(_receive(url, count, pipe))


async def _publish(url: str, count: int, pace: float) -> tuple[float, float]:
    from chat_server.bus import Event
    from chat_server.bus.redis import RedisBus
    from chat_server.domain import audience

    bus = RedisBus(url)
    await bus.start()
    audiences = (audience.AGENTS, audience.customer("cus_0123456789abcdef"))
    cpu, wall = time.process_time(), time.monotonic()
    for i in range(count):
        # What ChatService does per message: build the frame once, publish it.
        await bus.publish(Event.frame("site_1", audiences, HOP_PAYLOAD))
        if i % 10 == 9:  # a server publishes between awaits, never thousands in one go
            await asyncio.sleep(max(0.0, wall + (i + 1) / pace - time.monotonic()))
    for _ in range(120_000):  # our own echoes are part of the cost (wait up to 2 min)
        if bus.stats.echoes >= count:
            break
        await asyncio.sleep(0.001)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    await bus.close()
    return cpu, wall


def hop_micro(work: Path, count: int = 10_000, pace: float = 1_000.0) -> list[str]:
    """CPU per event on the publishing and on a receiving process, and publish->receive time."""
    ctx = mp.get_context("spawn")
    with redis_server(work) as url:
        parent, child = ctx.Pipe()
        receiver = ctx.Process(target=_receiver_entry, args=(url, count, child), daemon=True)
        receiver.start()
        try:
            if not parent.poll(30) or parent.recv() != "ready":
                raise RuntimeError("the receiving bus did not start")
            cpu, wall = _run(_publish(url, count, pace))
            if not parent.poll(120):
                raise RuntimeError("the receiving bus did not get every event")
            receiver_cpu, buckets = parent.recv()
        finally:
            receiver.join(10)
            if receiver.is_alive():
                receiver.kill()
    parser = "hiredis" if importlib.util.find_spec("hiredis") else "pure Python (no hiredis)"
    return [
        f"Redis hop alone ({count} message events of {len(json.dumps(HOP_PAYLOAD))} bytes at "
        f"{count / wall:.0f}/s, reply parser: {parser}):",
        f"  publishing process  {1e6 * cpu / count:6.1f} us CPU per event "
        "(encode, pipeline PUBLISH, read and ignore its own echo)",
        f"  receiving process   {1e6 * receiver_cpu / count:6.1f} us CPU per event "
        "(read, decode, hand to the hub)",
        f"  publish -> receive  p50 {histogram_quantile(0.5, buckets) * 1e3:.2f} ms, "
        f"p99 {histogram_quantile(0.99, buckets) * 1e3:.2f} ms",
    ]


# -- the report --------------------------------------------------------------------------


HEAD = (
    f"{'configuration':<22} {'rate':>5} {'deliv/s':>8} {'ack p50':>8} {'ack p99':>8} "
    f"{'del p50':>8} {'del p99':>8} {'lost':>5} {'CPU/msg':>9} {'bus p50':>8} {'bus p99':>8} "
    f"{'bus n':>7}  machine"
)


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1e3:.1f}"


def row(r: Result) -> str:
    t = r.trial
    ack, dl = t.ack(), t.delivery()
    machine = "NOISY" if t.noisy else "quiet"
    if t.client_busy():
        machine += ", client busy"
    return (
        f"{LABELS[r.config]:<22} {r.rate:>5g} {t.delivered_rate:>8.1f} {_ms(ack.p50):>8} "
        f"{_ms(ack.p99):>8} {_ms(dl.p50):>8} {_ms(dl.p99):>8} {t.lost:>5} "
        f"{r.cpu_us_per_message:>7.0f}us {_ms(r.bus[0]):>8} {_ms(r.bus[1]):>8} {r.bus[2]:>7}  "
        f"{machine} (others {t.others_cores:.2f} cores)"
    )


def hop_cost(results: list[Result]) -> list[str]:
    by = {(r.config, r.rate): r for r in results}
    lines = ["", "cost of the Redis hop (per message; ms are delivery-latency differences):"]
    for rate in sorted({r.rate for r in results}):
        one, red, two = by.get(("1", rate)), by.get(("1r", rate)), by.get(("2r", rate))
        parts = []
        if one and red:
            extra = red.cpu_us_per_message - one.cpu_us_per_message
            parts.append(
                f"server CPU {extra:+.0f} us/msg with Redis on one process "
                f"(publish + own echo); del p50 {_ms(red.trial.delivery().p50)} vs "
                f"{_ms(one.trial.delivery().p50)} ms"
            )
        if red and two:
            parts.append(
                f"across processes: del p50 {_ms(two.trial.delivery().p50)} vs "
                f"{_ms(red.trial.delivery().p50)} ms, p99 {_ms(two.trial.delivery().p99)} vs "
                f"{_ms(red.trial.delivery().p99)} ms; Redis publish->receive p50 "
                f"{_ms(two.bus[0])} ms, p99 {_ms(two.bus[1])} ms"
            )
        lines.append(f"  {rate:g} msg/s: " + "; ".join(parts))
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    p.add_argument("--rate", type=float, nargs="+", default=[200.0, 400.0], help="msg/s")
    p.add_argument("--duration", type=float, default=15.0, help="seconds of sending per run")
    p.add_argument("--widgets", type=int, default=300)
    p.add_argument("--agents", type=int, default=4)
    p.add_argument("--client-procs", type=int, default=1)
    p.add_argument("--quiet-wait", type=float, default=30.0, help="wait for a calm machine")
    p.add_argument("--repeat", type=int, default=1, help="runs per point; the quietest counts")
    p.add_argument("--no-micro", action="store_true", help="skip the Redis-hop-alone measurement")
    p.add_argument("--verbose", action="store_true", help="print load_chat's full report too")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_sigterm_as_interrupt()
    raise_nofile(args.widgets + args.agents + 1024)
    results: list[Result] = []
    try:
        with temp_dir("sapa-scale-") as work:
            seed = seed_database(str(work / "seed.db"), args.agents)
            print(
                f"private chat: {args.widgets} widgets, {args.agents} agents, "
                f"{args.duration:g} s per run, {os.cpu_count()} cores",
                flush=True,
            )
            print(HEAD, flush=True)
            for rate in args.rate:
                for config in args.configs:
                    tries = [run(args, seed, work, config, rate) for _ in range(args.repeat)]
                    # Best of N by the machine's noise: other processes share these two cores.
                    result = min(tries, key=lambda r: r.trial.others_cores)
                    results.append(result)
                    print(row(result), flush=True)
                    if args.verbose:
                        print(load_chat.report(result.trial), flush=True)
            print("\n".join(hop_cost(results)), flush=True)
            if not args.no_micro:
                print()
                print("\n".join(hop_micro(work)), flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted; servers and temporary files cleaned up", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
