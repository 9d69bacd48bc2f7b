"""Sapa against the bare `websockets` relay (bench/bare_relay.py), side by side, one run.

    python bench/relay_compare.py                  # every workload, both servers
    python bench/relay_compare.py --quick          # shorter runs, fewer connections: a look
    python bench/relay_compare.py --find-max       # also the highest private rate (slow)

The server under test is pinned to one core (`--server-cpus`, default 0) and the load
generator to another (`--client-cpu`, default 1); compression is off on both sides unless
`--compression`; sends are open-loop Poisson (bench/load_chat.py `--poisson`). For each
workload the relay runs first, then Sapa (a fresh server on a fresh copy of one seeded
SQLite file, `synchronous=FULL`, ack after commit), and the ratio is printed:

- private chat at 500 msgs/s: delivery p50 / p99 (500 widgets, 2 agents);
- server CPU per private message at 2,000 msgs/s (from /proc, all threads);
- with `--find-max`: the highest private rate with delivery p99 < 200 ms and nothing lost;
- connections per second (widget session request + upgrade + hello/welcome), then the
  memory each idle widget connection holds (`--idle` of them, default 5,000); with
  `--connect-rounds N`, relay and Sapa N times in turn, each one's median (a connect burst
  lasts seconds, and the relay's own rate moves from one minute to the next); with
  `--connect-backend postgresql`, Sapa on a PostgreSQL cluster the script starts (a fresh
  database each run; PostgreSQL's own CPU per connection printed apart);
- public-room fan-out (bench/load_rooms.py's clients): 300 readers joined to one room, 40
  posts/s from 260 posters, so 12,000 deliveries/s offered: server CPU per delivery and
  delivery p50 / p99; with `--room-rounds N`, relay and Sapa N times in turn, each figure
  the median of N (one run's CPU per delivery moves by a third between minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load_chat
import load_rooms
import psutil
import raw_client
from _common import (
    WIDGET_ORIGIN,
    Seed,
    copy_database,
    cpu_snapshot,
    install_sigterm_as_interrupt,
    load_average,
    profiling,
    raise_nofile,
    rss_bytes,
    running_relay,
    running_server,
    seed_database,
    temp_dir,
)

KiB = 1024


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    relay: float
    sapa: float
    unit: str
    better: str  # "lower" or "higher"

    def row(self) -> str:
        ratio = self.sapa / self.relay if self.relay else float("nan")
        return (
            f"| {self.name} | {self.relay:,.2f} {self.unit} | {self.sapa:,.2f} {self.unit}"
            f" | {ratio:.2f}× ({self.better} is better) |"
        )


def chat_args(options: argparse.Namespace, rate: float, relay: bool) -> argparse.Namespace:
    argv = [
        *("-n", str(options.widgets), "-a", "2", "-r", str(rate)),
        *("-d", str(options.duration), "--poisson", "--quiet-wait", "0"),
        *("--server-cpus", options.server_cpus, "--client-cpu", str(options.client_cpu)),
    ]
    if not options.compression:
        argv.append("--no-compression")
    if options.find_max:
        argv += ["--start-rate", str(options.start_rate), "--max-rate", str(options.max_rate)]
    if options.shopper_texts:
        argv.append("--shopper-texts")
    args = load_chat.parse_args(argv)
    args.relay = relay
    return args


def trial(
    options: argparse.Namespace, seed: Seed, work: Path, rate: float, relay: bool
) -> load_chat.Trial:
    args = chat_args(options, rate, relay)
    return load_chat.run_trial(args, None if relay else seed, work, rate)


def private_latency(options: argparse.Namespace, seed: Seed, work: Path) -> list[Figure]:
    runs = [trial(options, seed, work, options.latency_rate, relay) for relay in (True, False)]
    for run in runs:
        print(load_chat.report(run), flush=True)
    relay, sapa = (run.delivery() for run in runs)
    rate = f"{options.latency_rate:g} msgs/s"
    return [
        Figure(
            f"private chat at {rate}: delivery p50", relay.p50 * 1e3, sapa.p50 * 1e3, "ms", "lower"
        ),
        Figure(
            f"private chat at {rate}: delivery p99", relay.p99 * 1e3, sapa.p99 * 1e3, "ms", "lower"
        ),
    ]


def private_cpu(options: argparse.Namespace, seed: Seed, work: Path) -> list[Figure]:
    per_message, wanted = [], []
    for relay in (True, False):
        run = trial(options, seed, work, options.cpu_rate, relay)
        print(load_chat.report(run), flush=True)
        assert run.server_cpu is not None
        delivered = max(1, run.delivered_to_all)
        per_message.append(1e3 * run.server_cpu.total / delivered)
        wanted.append(1e3 * run.server_cpu.wanted / delivered)
    name = f"server CPU per private message at {options.cpu_rate:g} msgs/s"
    return [
        Figure(name, per_message[0], per_message[1], "ms", "lower"),
        Figure(f"{name}, without {IDLE_PRIORITY}", wanted[0], wanted[1], "ms", "lower"),
    ]


# The FAQ model's worker runs at the lowest priority and takes only CPU nobody else wants
# (services/faq_worker.py); with the server pinned to one core it fills all of that core's
# spare time, so "all threads" counts CPU no other work was denied.
IDLE_PRIORITY = "the FAQ model's idle-priority thread"


def private_max(options: argparse.Namespace, seed: Seed, work: Path) -> list[Figure]:
    best = []
    for relay in (True, False):
        args = chat_args(options, options.start_rate, relay)
        found, failed = load_chat.search_max(
            args,
            lambda rate, a=args, r=relay: load_chat.run_trial(a, None if r else seed, work, rate),
        )
        best.append(found.plan.rate if found else 0.0)
        if not math.isfinite(failed):
            # Every step up to --max-rate passed: the figure is a floor, not the highest rate.
            name = "relay" if relay else "sapa"
            print(f"{name}: no step failed up to --max-rate; {best[-1]:g} msgs/s is a lower bound")
    return [
        Figure("private chat: highest rate with delivery p99 < 200 ms", *best, "msgs/s", "higher")
    ]


@contextmanager
def server(
    options: argparse.Namespace, seed: Seed, work: Path, relay: bool, tag: str, pg: Any = None
) -> Iterator[tuple[str, str, psutil.Process]]:
    """(url, site key, the server's process) of a fresh relay or Sapa, pinned; Sapa on a
    fresh database of `pg` (load_backends.Store: a PostgreSQL cluster) when given."""
    if relay:
        with running_relay(work / f"{tag}.log", options.server_cpus, options.compression) as r:
            yield r.url, "relay", r.psutil
        return
    with contextlib.ExitStack() as stack:
        if pg is not None:
            copy = stack.enter_context(pg.fresh(work))
        else:
            copy = copy_database(seed, str(work / f"{tag}.db"))
        log = work / f"{tag}.log"
        s = stack.enter_context(running_server(copy.db_path, log, cpus=options.server_cpus))
        yield s.url, copy.site_key, s.psutil


async def connect_many(
    url: str, site_key: str, count: int, relay: bool, width: int
) -> tuple[float, list[raw_client.RawWidget]]:
    """Open `count` widget connections, `width` at a time (each of `width` workers asks for
    its sessions on one kept-alive connection, as a page's fetches do): (seconds, sockets)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    sockets: list[raw_client.RawWidget] = []

    async def worker(share: int) -> None:
        line = raw_client.SessionLine(host, port, WIDGET_ORIGIN, relay)
        try:
            for _ in range(share):
                token = await line.token(site_key)
                sockets.append(
                    await raw_client.open_widget(host, port, "/ws/widget", WIDGET_ORIGIN, token)
                )
        finally:
            await line.close()

    began = time.monotonic()
    shares = [count // width + (1 if i < count % width else 0) for i in range(width)]
    await asyncio.gather(*(worker(share) for share in shares if share))
    return time.monotonic() - began, sockets


async def hold_idle(
    options: argparse.Namespace,
    url: str,
    key: str,
    proc: psutil.Process,
    relay: bool,
    database: Any = None,
) -> tuple[float, float, float]:
    """(connections per second, bytes of server RSS per idle connection held, server CPU
    seconds per connection: the rate may be the client's limit, the CPU is the server's).
    `database`: PostgreSQL's processes, whose CPU per connection is printed apart."""
    idle = rss_bytes(proc)
    before = cpu_snapshot(proc)
    database_before = cpu_snapshot(database) if database is not None else None
    client_before = time.process_time()
    with profiling(proc.pid, "relay-connect" if relay else "sapa-connect"):
        taken, sockets = await connect_many(url, key, options.idle, relay, 64)
    used = cpu_snapshot(proc).minus(before)
    cpu = used.total
    client = time.process_time() - client_before
    if database is not None and database_before is not None:
        spent = cpu_snapshot(database).minus(database_before).total
        print(f"postgresql: {spent / options.idle * 1e3:.2f} ms CPU per connection")
    print(
        f"client: {client / taken:.0%} of its core while connecting,"
        f" {client / options.idle * 1e3:.2f} ms CPU per connection"
    )
    # Where the server's CPU went: its event loop, and its other threads (Sapa's store writer
    # and readers; the relay has none).
    print(
        f"server: event-loop thread {used.main_thread / options.idle * 1e3:.2f} ms,"
        f" other threads {(used.total - used.main_thread) / options.idle * 1e3:.2f} ms"
        " per connection"
    )
    await asyncio.sleep(2.0)  # let the connect burst's garbage go before reading RSS
    held = rss_bytes(proc)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return options.idle / taken, (held - idle) / options.idle, cpu / options.idle


def connections(options: argparse.Namespace, seed: Seed, work: Path) -> list[Figure]:
    """Relay then Sapa, `--connect-rounds` times in turn; the figures are each one's median.

    A connect burst lasts a few seconds, and the relay's own rate moved by a quarter between
    runs minutes apart (bench/README.md): rounds in turn meet the same minutes.
    """
    measured: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
    with contextlib.ExitStack() as stack:
        pg = None
        if options.connect_backend == "postgresql":
            import load_backends  # starts nothing until asked

            stores = load_backends.open_stores(["postgresql"], work, 2)
            pg = stack.enter_context(stores)["postgresql"]
        _connect_rounds(options, seed, work, pg, measured)
    rates, per_connection, cpu_each = (
        [statistics.median(m[i] for m in measured[relay]) for relay in (True, False)]
        for i in range(3)
    )
    backend = "" if options.connect_backend == "sqlite" else ", Sapa on PostgreSQL"
    return [
        Figure(
            f"connections per second (session + upgrade + hello/welcome{backend})",
            *rates,
            "conn/s",
            "higher",
        ),
        Figure(
            f"server CPU per connection (all threads, /proc{backend})", *cpu_each, "ms", "lower"
        ),
        Figure(
            f"memory per idle widget connection ({options.idle:,} held)",
            *per_connection,
            "KiB",
            "lower",
        ),
    ]


def _connect_rounds(
    options: argparse.Namespace,
    seed: Seed,
    work: Path,
    pg: Any,
    measured: dict[bool, list[tuple[float, float, float]]],
) -> None:
    database = pg.postgres() if pg is not None else None
    for round_ in range(options.connect_rounds):
        for relay in (True, False):
            name = "relay" if relay else "sapa"
            with server(options, seed, work, relay, f"conn-{name}", pg) as (url, key, proc):
                time.sleep(1.0)
                watched = None if relay else database
                rate, memory, cpu = asyncio.run(hold_idle(options, url, key, proc, relay, watched))
            print(
                f"{name}: {options.idle} connections at {rate:,.0f}/s,"
                f" {memory / KiB:.1f} KiB each, server CPU {cpu * 1e3:.2f} ms each"
            )
            measured[relay].append((rate, memory / KiB, cpu * 1e3))
        if options.connect_rounds > 1:
            ratio = measured[False][-1][0] / measured[True][-1][0]
            print(f"round {round_ + 1}: sapa ÷ relay {ratio:.2f}× connections per second")


def room_fanout(options: argparse.Namespace, seed: Seed, work: Path) -> list[Figure]:
    argv = [
        *("-V", str(options.room_readers), "-P", str(options.room_posters)),
        *("-r", str(options.room_rate), "-d", str(options.duration)),
        *("--quiet-wait", "0", "--attempts", "1", "--server-cpus", options.server_cpus),
    ]
    if not options.compression:
        argv.append("--no-compression")
    args = load_rooms.parse_args(argv)
    # Per round: the relay, then Sapa. One round's CPU per delivery moves by a third from
    # one minute to the next for either server (the kernel's share of a send, charged to
    # whichever process the core runs), so with `--room-rounds N` each figure is the
    # median of N, and the rounds' own ratios are printed beside it.
    measured: dict[str, list[tuple[float, float, float, float]]] = {"relay": [], "sapa": []}
    for round_ in range(options.room_rounds):
        for name, relay in (("relay", True), ("sapa", False)):
            run = load_rooms.run_scenario(args, seed, work, "room", options.room_rate, relay)
            print(f"-- {name}\n{load_rooms.report(run)}", flush=True)
            assert run.server_cpu is not None
            delivery = run.delivery()
            measured[name].append(
                (
                    1e6 * run.server_cpu.total / max(1, run.receipts),
                    1e6 * run.server_cpu.wanted / max(1, run.receipts),
                    delivery.p50 * 1e3,
                    delivery.p99 * 1e3,
                )
            )
        if options.room_rounds > 1:
            relay_cpu, sapa_cpu = measured["relay"][-1][0], measured["sapa"][-1][0]
            print(
                f"round {round_ + 1}: relay {relay_cpu:.2f} µs, Sapa {sapa_cpu:.2f} µs"
                f" per delivery: {sapa_cpu / relay_cpu:.2f}×",
                flush=True,
            )
    cpu, wanted, p50, p99 = (
        [statistics.median(r[i] for r in measured[name]) for name in ("relay", "sapa")]
        for i in range(4)
    )
    offered = f"{options.room_readers} members, {options.room_rate * options.room_readers:,.0f}"
    return [
        Figure(f"room ({offered} deliveries/s): server CPU per delivery", *cpu, "µs", "lower"),
        Figure(
            f"room ({offered} deliveries/s): server CPU per delivery, without {IDLE_PRIORITY}",
            *wanted,
            "µs",
            "lower",
        ),
        Figure(f"room ({offered} deliveries/s): delivery p50", *p50, "ms", "lower"),
        Figure(f"room ({offered} deliveries/s): delivery p99", *p99, "ms", "lower"),
    ]


WORKLOADS: dict[str, Callable[[argparse.Namespace, Seed, Path], list[Figure]]] = {
    "latency": private_latency,
    "cpu": private_cpu,
    "connections": connections,
    "rooms": room_fanout,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--only", choices=sorted(WORKLOADS), action="append", help="run these only")
    p.add_argument("--quick", action="store_true", help="5 s runs and 1,000 idle connections")
    p.add_argument("--find-max", action="store_true", help="also search the highest private rate")
    p.add_argument("--widgets", type=int, default=500)
    p.add_argument("--duration", type=float, default=20.0, help="seconds of sending per run")
    p.add_argument("--latency-rate", type=float, default=500.0)
    p.add_argument("--cpu-rate", type=float, default=2000.0)
    p.add_argument("--start-rate", type=float, default=500.0, help="find-max: first rate")
    p.add_argument("--max-rate", type=float, default=8000.0, help="find-max: highest rate")
    p.add_argument("--idle", type=int, default=5000, help="idle widget connections held")
    p.add_argument(
        "--connect-backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="connections: Sapa's store (postgresql: a cluster this script starts)",
    )
    p.add_argument(
        "--connect-rounds",
        type=int,
        default=1,
        help="connections: relay and Sapa this many times in turn; each one's median",
    )
    p.add_argument("--room-readers", type=int, default=300, help="rooms: members reading")
    p.add_argument("--room-posters", type=int, default=260, help="rooms: widgets posting")
    p.add_argument("--room-rate", type=float, default=40.0, help="rooms: posts per second")
    p.add_argument(
        "--room-rounds",
        type=int,
        default=1,
        help="rooms: relay and Sapa this many times in turn; each figure the median",
    )
    p.add_argument("--server-cpus", default="0")
    p.add_argument("--client-cpu", type=int, default=1)
    p.add_argument("--compression", action="store_true", help="permessage-deflate on")
    p.add_argument(
        "--shopper-texts",
        action="store_true",
        help="private chat sends the demo FAQ's questions (see load_chat.py --shopper-texts)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.idle = 5.0, min(args.idle, 1000)
    return args


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    install_sigterm_as_interrupt()
    raise_nofile(options.idle + options.widgets + 1024)
    if options.client_cpu >= 0:
        os.sched_setaffinity(0, {options.client_cpu})
    print(f"load before: {load_average()}", flush=True)
    figures: list[Figure] = []
    try:
        with temp_dir() as work:
            seed = seed_database(str(work / "seed.db"), 2)
            for name, workload in WORKLOADS.items():
                if options.only and name not in options.only:
                    continue
                figures += workload(options, seed, work)
            if options.find_max:
                figures += private_max(options, seed, work)
    except KeyboardInterrupt:
        print("\ninterrupted; servers and temporary files cleaned up", file=sys.stderr)
        return 130
    print(f"\nload after: {load_average()}")
    print("| workload | bare websockets relay | Sapa | Sapa ÷ relay |")
    print("| --- | ---: | ---: | ---: |")
    for figure in figures:
        print(figure.row())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
