"""Shared helpers for the load benchmarks: a seeded server subprocess, its metrics, statistics.

Everything here talks to 127.0.0.1 only and cleans up after itself: the server
runs in its own session (so a Ctrl-C in the terminal reaches the benchmark,
which then stops the server in order) and its files live in a temporary
directory that is removed on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1234"
SITE_DOMAIN = "127.0.0.1"
WIDGET_ORIGIN = "http://127.0.0.1"


# -- small utilities ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_nofile(wanted: int) -> int:
    """Raise the soft open-file limit towards `wanted` (up to the hard limit); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (cores: {os.cpu_count()})"


def server_version() -> str:
    """The commit under test, with "-dirty" when the work tree has uncommitted changes."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def server_counters(url: str) -> dict[str, float]:
    """The unlabelled series of the server's /metrics (empty when it has none)."""
    try:
        response = httpx.get(url + "/metrics", timeout=5)
    except httpx.HTTPError:
        return {}
    if response.status_code != 200:
        return {}
    out: dict[str, float] = {}
    for line in response.text.splitlines():
        name, _, value = line.partition(" ")
        if line.startswith("#") or "{" in name or not value:
            continue
        with contextlib.suppress(ValueError):
            out[name] = float(value)
    return out


def set_priority(pid: int, nice: int) -> None:
    """Set a process's nice value (0 = this process); a negative one needs root."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    except PermissionError:
        print(f"note: cannot set nice {nice} (not root); running at the default", file=sys.stderr)


def install_sigterm_as_interrupt() -> None:
    """SIGTERM (and SIGINT, even where a shell started us with it ignored) unwind like
    Ctrl-C, so every `finally` (server stop, client processes, temp files) runs."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# -- statistics ----------------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (q in 0..100)."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        ordered = sorted(values)
        top = ordered[-1] if ordered else math.nan
        return cls(len(ordered), percentile(ordered, 50), percentile(ordered, 99), top)

    def ms(self) -> str:
        if not self.count:
            return "n=0"
        return (
            f"p50 {self.p50 * 1e3:7.1f} ms  p99 {self.p99 * 1e3:7.1f} ms  "
            f"max {self.max * 1e3:7.1f} ms  (n={self.count})"
        )


# -- seeding -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seed:
    db_path: str
    site_key: str
    agent_emails: tuple[str, ...]
    password: str = PASSWORD


async def _seed(db_path: str, agents: int) -> Seed:
    from chat_server.services import admin, demo
    from chat_server.store import faq as faq_store
    from chat_server.store import open_database
    from chat_server.store.sql import Tx

    db = open_database(db_path, readers=1)
    await db.open()
    try:
        creds = await admin.create_site(db, "Bench Shop", [SITE_DOMAIN], locale="en")
        emails = tuple(f"agent{i}@bench.test" for i in range(agents))
        for i, email in enumerate(emails):
            role = "owner" if i == 0 else "agent"
            await admin.create_agent(db, creds.site_id, email, f"Agent {i}", role, PASSWORD)
        # The demo shop's FAQ (19 entries): every shopper message is ranked against a real
        # FAQ, as issue 17's "agents still getting FAQ suggestions" means. Before 2026-12-07
        # the bench site had none, and the follow-up ranked against nothing.
        entries = demo.demo_faq()

        def add_faq(conn: Tx) -> None:
            for fields in entries:
                faq_store.insert_entry(conn, creds.site_id, fields)

        await db.write(add_faq)
    finally:
        await db.close()
    return Seed(db_path, creds.site_key, emails)


def seed_database(db_path: str, agents: int) -> Seed:
    """A fresh SQLite file with one site (domain 127.0.0.1) and `agents` agents."""
    return asyncio.run(_seed(db_path, agents))


def copy_database(seed: Seed, db_path: str) -> Seed:
    """A copy of a seeded file (seeding hashes passwords with argon2, which is slow)."""
    shutil.copyfile(seed.db_path, db_path)
    return Seed(db_path, seed.site_key, seed.agent_emails, seed.password)


@contextlib.contextmanager
def temp_dir(prefix: str = "sapa-bench-") -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- the server subprocess -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """CPU seconds of a process (user + system): in total, on its main thread, and on its
    threads of lowest priority (niceness above 0: the FAQ model's worker, which takes only
    CPU nobody else wants; services/faq_worker.py)."""

    wall: float
    total: float
    main_thread: float
    idle_priority: float = 0.0

    def minus(self, earlier: CpuSnapshot) -> CpuUse:
        return CpuUse(
            self.wall - earlier.wall,
            self.total - earlier.total,
            self.main_thread - earlier.main_thread,
            self.idle_priority - earlier.idle_priority,
        )


@dataclass(frozen=True, slots=True)
class CpuUse:
    wall: float
    total: float
    main_thread: float
    idle_priority: float = 0.0

    @property
    def percent(self) -> float:
        return 100 * self.total / self.wall if self.wall > 0 else math.nan

    @property
    def main_percent(self) -> float:
        return 100 * self.main_thread / self.wall if self.wall > 0 else math.nan

    @property
    def wanted(self) -> float:
        """CPU seconds without the idle-priority threads': what the work itself took."""
        return self.total - self.idle_priority


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def idle_priority_seconds(pid: int) -> float:
    """CPU seconds of the process's threads whose niceness is above 0 (Linux /proc)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            fields = task.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the thread ended meanwhile
        # After the command name: state is field 3 of stat(5), utime 14, stime 15, nice 19.
        if int(fields[16]) > 0:
            total += int(fields[11]) + int(fields[12])
    return total / _CLOCK_TICKS


def cpu_snapshot(proc: psutil.Process) -> CpuSnapshot:
    with proc.oneshot():
        times = proc.cpu_times()
        main = next((t for t in proc.threads() if t.id == proc.pid), None)
    main_cpu = (main.user_time + main.system_time) if main else math.nan
    background = idle_priority_seconds(proc.pid) if sys.platform.startswith("linux") else 0.0
    return CpuSnapshot(time.monotonic(), times.user + times.system, main_cpu, background)


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, all processes)."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def wait_for_quiet(max_wait: float, busy_cores: float) -> str:
    """Wait (up to `max_wait` s) until other processes use under `busy_cores` cores."""
    deadline = time.monotonic() + max_wait
    cores = psutil.cpu_count() or 1
    while True:
        busy = psutil.cpu_percent(interval=2.0) / 100 * cores
        if busy < busy_cores:
            return f"machine quiet ({busy:.2f} cores busy)"
        if time.monotonic() >= deadline:
            return f"machine still busy after {max_wait:.0f} s ({busy:.2f} cores busy); ran anyway"


def rss_bytes(proc: psutil.Process) -> int:
    return int(proc.memory_info().rss)


@contextlib.contextmanager
def profiling(pid: int | None, label: str) -> Iterator[None]:
    """With SAPA_BENCH_PROFILE=DIR: py-spy samples process `pid` (every thread, 250 Hz,
    without pausing it) while the block runs, into DIR/LABEL-PID.txt as collapsed stacks
    (bench/profile_top.py summarises them). Without the variable: nothing."""
    out = os.environ.get("SAPA_BENCH_PROFILE")
    if not out or pid is None:
        yield
        return
    Path(out).mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    path = Path(out) / f"{label}-{pid}.txt"
    command = [spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw"]
    command += ["--threads", "--nonblocking", "--output", str(path)]
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # it writes the file when interrupted
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(30)


@dataclass
class ServerProcess:
    """`python -m chat_server serve` on a free port of 127.0.0.1, with its log in `log_path`."""

    db_path: str
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    nice: int = 0  # scheduling priority; negative (root only) shields it from other processes
    cpus: str = ""  # pin it to these cores (taskset's list, e.g. "0"); "" = anywhere

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def psutil(self) -> psutil.Process:
        assert self.process is not None
        return psutil.Process(self.process.pid)

    def start(self, timeout: float = 30) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for key in ("SAPA_REDIS_URL", "SAPA_PUBLIC_URL", "SAPA_WORKERS", "SAPA_DEMO"):
            env.pop(key, None)
        # Every load client shares 127.0.0.1 and posts on a plan: limits shared by identities
        # (per address, per room, slow first posts) would measure themselves, not the server.
        for key in (
            "SAPA_ROOM_POSTS_PER_ADDRESS",
            "SAPA_ROOM_POSTS_PER_ROOM",
            "SAPA_ROOM_NEW_IDENTITY_POSTS",
        ):
            env.setdefault(key, "0")
        # Every simulated shopper comes from 127.0.0.1, and thousands of them join one site
        # within seconds: no per-address or per-site session limit here.
        env["SAPA_SESSION_RATE_PER_ADDRESS"] = "0"
        env["SAPA_SESSION_RATE_PER_SITE"] = "0"
        with open(self.log_path, "wb") as log:
            pin = ["taskset", "-c", self.cpus] if self.cpus else []
            self.process = subprocess.Popen(
                [*pin, *self.command()],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal Ctrl-C reaches us; we stop it in order
            )
        if self.nice:
            set_priority(self.process.pid, self.nice)
        self._wait_healthy(timeout)

    def command(self) -> list[str]:
        """The server's command line (a subclass may wrap it, e.g. for an experiment)."""
        return [
            *(sys.executable, "-m", "chat_server", "serve", "--db", self.db_path),
            *("--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"),
        ]

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"server not healthy after {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful stop), then SIGTERM, then SIGKILL."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, 8.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(wait)
                return


@dataclass
class RelayProcess(ServerProcess):
    """bench/bare_relay.py, the reference every figure is read against (no database)."""

    compression: bool = False

    def command(self) -> list[str]:
        relay = str(Path(__file__).resolve().parent / "bare_relay.py")
        extra = ["--compression"] if self.compression else []
        return [sys.executable, relay, "--port", str(self.port), *extra]


@contextlib.contextmanager
def running_relay(
    log_path: Path, cpus: str = "", compression: bool = False
) -> Iterator[ServerProcess]:
    relay = RelayProcess("", log_path, cpus=cpus, compression=compression)
    try:
        relay.start()
        yield relay
    finally:
        relay.stop()


async def open_session(
    http: httpx.AsyncClient, site_key: str, relay: bool = False
) -> httpx.Response:
    """A widget session: Sapa's POST, or the bare relay's GET (websockets reads no request
    bodies; the round trip is the same)."""
    if relay:
        # websockets closes the TCP connection after any plain HTTP answer: say so, so the
        # client never reuses a closed one (the relay pays a connect per session for it).
        response = await http.get(
            "/api/widget/session", params={"site_key": site_key}, headers={"Connection": "close"}
        )
    else:
        response = await http.post(
            "/api/widget/session", json={"site_key": site_key}, headers={"origin": WIDGET_ORIGIN}
        )
    response.raise_for_status()
    return response


@contextlib.contextmanager
def running_server(
    db_path: str, log_path: Path, nice: int = 0, cpus: str = ""
) -> Iterator[ServerProcess]:
    server = ServerProcess(db_path, log_path, nice=nice, cpus=cpus)
    try:
        server.start()
        yield server
    finally:
        server.stop()
