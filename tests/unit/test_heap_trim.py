"""Freed C heap goes back to the system: what keeps a long-running server's RSS flat.

Sockets that carried traffic leave freed glibc heap behind, pinned under live
allocations made after them; glibc keeps those pages until `malloc_trim`
(bench/README.md, "Memory soak"). The same pattern, made on purpose here.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from chat_server.config import Settings
from chat_server.web.serving import HeapTrimmer
from tests.conftest import timeout

MIB = 2**20

needs_glibc = pytest.mark.skipif(
    HeapTrimmer(0).trim is None, reason="malloc_trim is glibc's (another C library here)"
)


def fragment_heap(megabytes: int) -> list[bytes]:
    """Allocate `megabytes` in 48 KiB blocks (below glibc's mmap threshold, so on the heap),
    each followed by a small block that stays, then free the big ones: the freed pages sit
    between live blocks, where glibc never trims on its own."""
    big: list[bytes] = []
    keep: list[bytes] = []
    for i in range(megabytes * 1024 // 48):
        big.append(bytes([i % 251]) * (48 * 1024))  # written: every page resident
        keep.append(bytes([i % 241]) * 1000)  # over pymalloc's 512 bytes: glibc's heap too
    del big
    return keep


TRIM_IN_A_FRESH_PROCESS = """
import psutil
from chat_server.web.serving import HeapTrimmer
from tests.unit.test_heap_trim import fragment_heap
process = psutil.Process()
keep = fragment_heap(64)
held = process.memory_info().rss
released = HeapTrimmer(0).release()
print(released, held - process.memory_info().rss, len(keep))
"""


@needs_glibc
def test_trimming_gives_freed_heap_pages_between_live_blocks_back() -> None:
    # In an interpreter of its own: in a test worker, other tests' threads allocate while
    # this one measures, and RSS is the whole process's.
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", TRIM_IN_A_FRESH_PROCESS],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout(60),
        check=True,
    ).stdout.split()
    released, given_back, kept = out[0] == "True", int(out[1]), int(out[2])
    assert released and kept > 0
    assert given_back > 32 * MIB


@needs_glibc
async def test_the_server_trims_on_its_interval_and_stops_with_it() -> None:
    trimmer = HeapTrimmer(Settings(heap_trim_interval=0.01).heap_trim_interval)
    trimmer.start()
    for _ in range(int(timeout(10) / 0.01)):
        if trimmer.trims >= 2:
            break
        await asyncio.sleep(0.01)
    assert trimmer.trims >= 2
    await trimmer.close()
    done = trimmer.trims
    await asyncio.sleep(0.05)
    assert trimmer.trims == done


def test_no_trimming_when_the_interval_is_zero() -> None:
    assert Settings.from_env(heap_trim_interval=0).heap_trim_interval == 0
    assert Settings().heap_trim_interval > 0
