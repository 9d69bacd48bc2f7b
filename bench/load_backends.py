"""The private-chat load on both stores: SQLite and PostgreSQL, one process and two + Redis.

    python bench/load_backends.py                        # find-max for every backend and config
    python bench/load_backends.py --backends postgresql --configs 1
    python bench/load_backends.py --rate 200 400         # fixed rates instead of find-max
    python bench/load_backends.py --configs 1 --repeat 3 # three rounds, backends interleaved

For each backend (`sqlite`, `postgresql`) and configuration (`1`: one `sapa serve` process;
`2r`: `sapa serve --workers 2 --redis URL`, so about half of all deliveries cross processes
through Redis) it searches the highest rate with delivery p99 < 200 ms and nothing lost
(bench/load_chat.py's find-max: double, then bisect), or runs the given rates. Every run gets
a fresh copy of one seeded database: a copy of the SQLite file, or `CREATE DATABASE ...
TEMPLATE seed` on a PostgreSQL server this script starts for itself (tests/pg_server.py:
initdb in a temporary directory, fsync on, a free port of 127.0.0.1) and removes at the end.

Server CPU is reported per message sent, apart for the `sapa serve` processes and for
PostgreSQL (the postmaster and its backends): with SQLite all database work is inside the
server process, so "sapa + postgres" is the figure to compare. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load_chat
import scale_out
from _common import (
    CpuUse,
    Seed,
    copy_database,
    cpu_snapshot,
    install_sigterm_as_interrupt,
    load_average,
    raise_nofile,
    rss_bytes,
    seed_database,
    temp_dir,
    wait_for_quiet,
)

from tests.pg_server import PgServer  # the tests' throw-away cluster (_common put ROOT on the path)

BACKENDS = ("sqlite", "postgresql")
LABELS = {"1": "1 process", "2r": "2 processes + Redis"}


@dataclass
class Store:
    """One backend's seeded database, and how to hand each run a fresh copy of it."""

    backend: str
    seed: Seed
    pg: PgServer | None = None
    _runs: itertools.count[int] = field(default_factory=itertools.count)

    @contextlib.contextmanager
    def fresh(self, work: Path) -> Iterator[Seed]:
        n = next(self._runs)
        if self.pg is None:
            yield copy_database(self.seed, str(work / f"run{n}.db"))
            return
        name = f"run{n}"
        url = self.pg.create_database(name, template="seed")
        try:
            yield Seed(url, self.seed.site_key, self.seed.agent_emails, self.seed.password)
        finally:
            self.pg.drop_database(name)

    def postgres(self) -> scale_out.ProcessTree | None:
        """The postmaster and every backend it forked (their CPU is the database's)."""
        if self.pg is None:
            return None
        pid = int((self.pg.data / "postmaster.pid").read_text().split()[0])
        return scale_out.ProcessTree(pid)


@contextlib.contextmanager
def open_stores(backends: list[str], work: Path, agents: int) -> Iterator[dict[str, Store]]:
    stores: dict[str, Store] = {}
    with contextlib.ExitStack() as stack:
        for backend in backends:
            if backend == "sqlite":
                stores[backend] = Store(backend, seed_database(str(work / "seed.db"), agents))
                continue
            pg = PgServer(scale_out.free_port())
            stack.callback(pg.destroy)
            pg.start()
            seed = seed_database(pg.create_database("seed"), agents)
            stores[backend] = Store(backend, seed, pg)
        yield stores


@dataclass
class Result:
    backend: str
    config: str
    trial: load_chat.Trial
    postgres_cpu: CpuUse | None

    def ms_per_message(self, cpu: CpuUse | None) -> float:
        sent = self.trial.sent
        return 1e3 * cpu.total / sent if cpu and sent else math.nan

    @property
    def sapa_ms(self) -> float:
        return self.ms_per_message(self.trial.server_cpu)

    @property
    def postgres_ms(self) -> float:
        return self.ms_per_message(self.postgres_cpu) if self.postgres_cpu else 0.0


def run(
    args: argparse.Namespace, store: Store, config: str, rate: float, work: Path
) -> tuple[load_chat.Trial, Result]:
    workers, with_redis = scale_out.CONFIGS[config]
    load_args = _load_args(args, rate)
    quiet = wait_for_quiet(args.quiet_wait, 0.3) if args.quiet_wait > 0 else ""
    with contextlib.ExitStack() as stack:
        copy = stack.enter_context(store.fresh(work))
        redis_url = stack.enter_context(scale_out.redis_server(work)) if with_redis else None
        log = work / f"{store.backend}-{config}-{rate:g}.log"
        server = stack.enter_context(scale_out.sapa_server(copy.db_path, workers, redis_url, log))
        where = load_chat.Target(server.url, copy, server.tree())  # type: ignore[arg-type]
        plan = load_chat.make_plan(load_args, where, rate)
        trial = load_chat.Trial(plan, load_average(), 0.0, [], 0.0, quiet=quiet)
        trial.rss_idle = rss_bytes(where.server)  # type: ignore[arg-type]
        postgres = store.postgres()
        pg_cpu = None
        try:
            with load_chat.ClientPool(plan) as pool:
                trial.setup_seconds = max(pool.ready(timeout=300))
                time.sleep(1.0)
                trial.rss_connected = rss_bytes(where.server)  # type: ignore[arg-type]
                before = cpu_snapshot(postgres) if postgres else None  # type: ignore[arg-type]
                load_chat.measure_run(pool, plan, where.server, trial)
                if postgres and before:
                    pg_cpu = cpu_snapshot(postgres).minus(before)  # type: ignore[arg-type]
        except RuntimeError as exc:
            # A client that could not even set up (a starved machine) makes a failed step,
            # with nothing delivered, instead of ending the whole search.
            print(f"  run failed: {str(exc).strip().splitlines()[-1]}", flush=True)
            trial.tallies = []
    return trial, Result(store.backend, config, trial, pg_cpu)


def _load_args(args: argparse.Namespace, rate: float) -> argparse.Namespace:
    """load_chat's own options for one run (its Plan is built from them)."""
    return load_chat.parse_args(
        [
            "--url", "http://127.0.0.1", "--site-key", "-", "--agent-email", "-",
            "--agents", str(args.agents), "--widgets", str(args.widgets),
            "--rate", str(rate), "--duration", str(args.duration),
            "--client-procs", str(args.client_procs), "--p99-ms", str(args.p99_ms),
            "--start-rate", str(args.start_rate), "--max-rate", str(args.max_rate),
            "--bisect-steps", str(args.bisect_steps), "--retries", str(args.retries),
        ]
    )  # fmt: skip


HEAD = (
    f"{'backend':<11} {'config':<20} {'rate':>5} {'deliv/s':>8} {'del p50':>8} {'del p99':>8} "
    f"{'lost':>5} {'sapa ms/msg':>11} {'pg ms/msg':>9} {'total':>6} {'load':>5}  verdict"
)


def row(result: Result, p99_ms: float) -> str:
    t = result.trial
    dl = t.delivery()
    verdict = "pass" if t.passed(p99_ms / 1e3) else "FAIL"
    if t.noisy:
        verdict += f" (noisy: others {t.others_cores:.2f} cores)"
    if t.client_busy():
        verdict += " (client busy)"
    total = result.sapa_ms + result.postgres_ms
    return (
        f"{result.backend:<11} {LABELS[result.config]:<20} {t.plan.rate:>5g} "
        f"{t.delivered_rate:>8.1f} {dl.p50 * 1e3:>8.1f} {dl.p99 * 1e3:>8.1f} {t.lost:>5} "
        f"{result.sapa_ms:>11.2f} {result.postgres_ms:>9.2f} {total:>6.2f} "
        f"{t.load.split()[0]:>5}  {verdict}"
    )


def find_max(
    args: argparse.Namespace, store: Store, config: str, work: Path
) -> tuple[Result | None, float]:
    results: dict[int, Result] = {}

    def one(rate: float) -> load_chat.Trial:
        trial, results[id(trial)] = run(args, store, config, rate, work)
        return trial

    def show(trial: load_chat.Trial, note: str) -> None:
        print("  " + row(results[id(trial)], args.p99_ms) + note, flush=True)

    best, high = load_chat.search_max(_load_args(args, args.start_rate), one, show)
    return (results[id(best)] if best else None), high


def summary(best: dict[tuple[str, str], tuple[Result | None, float]], p99_ms: float) -> list[str]:
    lines = ["", f"highest rate with delivery p99 < {p99_ms:g} ms and nothing lost:"]
    for (backend, config), (result, high) in best.items():
        if result is None:
            lines.append(f"  {backend:<11} {LABELS[config]:<20} no rate passed")
            continue
        above = f"{high:g} failed" if math.isfinite(high) else "cap reached"
        lines.append(f"  {row(result, p99_ms)}  [{above}]")
    one_sqlite, one_pg = best.get(("sqlite", "1")), best.get(("postgresql", "1"))
    if one_sqlite and one_pg and one_sqlite[0] and one_pg[0]:
        ratio = one_pg[0].trial.plan.rate / one_sqlite[0].trial.plan.rate
        lines.append(f"one process: PostgreSQL reaches {100 * ratio:.0f}% of the SQLite rate")
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    p.add_argument("--configs", nargs="+", choices=list(LABELS), default=list(LABELS))
    p.add_argument("--rate", type=float, nargs="+", help="fixed rates (default: find-max)")
    p.add_argument("--duration", type=float, default=15.0, help="seconds of sending per run")
    p.add_argument("--widgets", type=int, default=500)
    p.add_argument("--agents", type=int, default=4)
    p.add_argument("--client-procs", type=int, default=1)
    p.add_argument("--p99-ms", type=float, default=200.0, help="delivery p99 limit")
    p.add_argument("--start-rate", type=float, default=100.0, help="find-max: first rate")
    p.add_argument("--max-rate", type=float, default=3200.0, help="find-max: highest rate")
    p.add_argument("--bisect-steps", type=int, default=3, help="find-max: bisection steps")
    p.add_argument("--retries", type=int, default=1, help="find-max: re-runs of a noisy fail")
    p.add_argument("--repeat", type=int, default=1, help="rounds of the whole set of runs")
    p.add_argument("--quiet-wait", type=float, default=30.0, help="wait for a calm machine")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_sigterm_as_interrupt()
    raise_nofile(args.widgets + args.agents + 1024)
    try:
        with (
            temp_dir("sapa-backends-") as work,
            open_stores(args.backends, work, args.agents) as stores,
        ):
            print(
                f"private chat: {args.widgets} widgets, {args.agents} agents, "
                f"{args.duration:g} s per run, {os.cpu_count()} cores",
                flush=True,
            )
            print("  " + HEAD, flush=True)
            # Rounds interleave the backends: on a shared machine each round's figures were
            # taken under about the same load (the `load` column: 1-minute load average).
            for _ in range(args.repeat):
                if args.rate:
                    for rate in args.rate:
                        for backend in args.backends:
                            for config in args.configs:
                                _, result = run(args, stores[backend], config, rate, work)
                                print("  " + row(result, args.p99_ms), flush=True)
                    continue
                best = {
                    (backend, config): find_max(args, stores[backend], config, work)
                    for backend in args.backends
                    for config in args.configs
                }
                print("\n".join(summary(best, args.p99_ms)), flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted; servers and temporary files cleaned up", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
