"""Where a server's samples went: the top frames of a py-spy profile, as text.

    SAPA_BENCH_PROFILE=/tmp/prof python bench/relay_compare.py --only cpu --quick
    python bench/profile_top.py /tmp/prof/ServerProcess-*.txt       # Sapa's run
    python bench/profile_top.py FILE --top 30 --match gateway          # frames under one name

Input is py-spy's raw format (collapsed stacks, `frame;frame;... count`; with `--threads`
the first frame names the thread), as bench/_common.py's SAPA_BENCH_PROFILE writes it.
Prints the share of samples per thread, then per function: self (the leaf: where the CPU
actually was) and inclusive (anywhere on the stack). Line numbers are dropped, so a
function's lines count together.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

LINE = re.compile(r":\d+\)$")


def frame_name(frame: str) -> str:
    """`send_text (starlette/websockets.py:123)` → `send_text (starlette/websockets.py)`."""
    name = LINE.sub(")", frame.strip())
    return re.sub(r"\(.*?site-packages/", "(", name)


def read(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append(([frame_name(f) for f in stack.split(";")], int(count)))
    return stacks


def summarise(stacks: list[tuple[list[str], int]], top: int, match: str | None) -> str:
    total = sum(n for _, n in stacks)
    if not total:
        return "no samples"
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for frames, n in stacks:
        thread, calls = (frames[0], frames[1:]) if frames[0].startswith("thread") else ("", frames)
        threads[thread] += n
        if match and not any(match in f for f in frames):
            continue
        if calls:
            own[calls[-1]] += n
        for name in set(calls):
            anywhere[name] += n
    out = [f"{total} samples"]
    out += [f"  {n / total:6.1%}  {name or '(all threads)'}" for name, n in threads.most_common()]
    out.append(f"self (top {top}):")
    out += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    out.append(f"inclusive (top {top}):")
    out += [f"  {n / total:6.1%}  {name}" for name, n in anywhere.most_common(top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--match", help="only stacks with a frame containing this text")
    args = p.parse_args(argv)
    for path in args.files:
        print(f"== {path}")
        print(summarise(read(path), args.top, args.match))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
