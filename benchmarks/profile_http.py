"""Profile a ``simcore run --backend http`` with py-spy and say where the client core's time goes.

Used by ``bench_throughput.py --profile DIR`` (one extra simcore run against nginx, not
timed), or directly on a stored py-spy ``--format raw`` file::

    python benchmarks/profile_http.py DIR/simcore-http.txt

It prints the functions that hold the most samples, by self time (the frame on top of
the stack) and by inclusive time (anywhere on the stack), and the share of a few
groups that tell what to fix: the simulation's step, aiohttp's request path, the
event loop, the backend's own code.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from servers import pinned

#: Where a sample's time goes, by the frame on top of its stack (first match wins).
#: A sample whose top frame is the controller's ``run_until_complete`` call is time
#: inside uvloop's C code (epoll, socket reads, callbacks' C parts), waiting included:
#: py-spy cannot tell uvloop's idle waits from work. Time in a C call made from Python
#: (``transport.write`` in a send function) counts as the calling function's self time.
CATEGORIES: list[tuple[str, str]] = [
    ("uvloop's C code: socket reads, epoll, also idle waits", r"^Controller\._execute \("),
    ("aiohttp", r"\(aiohttp/"),
    ("yarl / multidict (URLs, headers)", r"\((yarl|multidict)/"),
    ("asyncio (tasks, futures, events, timeouts)", r"\(asyncio/"),
    ("json", r"\(json/"),
    (
        "http backend (simcore_backends/http.py, wire.py, ordering.py)",
        r"\(simcore_backends/(http|wire|ordering)\.py",
    ),
    (
        "request building (rest, routes, content, idmap)",
        r"\((simcore_backends/(rest|idmap)|simcore/(routes|content))\.py",
    ),
    ("simulation step (core)", r"\(simcore/(simulation|actions|user|world|routine|targets|rng)\.py"),
    ("numpy", r"\(numpy/"),
    ("ssl (contexts made per run)", r"\(ssl\.py"),
]

#: A sample with any frame matching this is start-up (imports, opening the backend), not load.
STARTUP = r"<frozen importlib|^HttpBackend\.open |^Controller\.open "

#: Functions whose inclusive share is reported (a regex on the frame without line number).
KEY_FUNCTIONS: list[tuple[str, str]] = [
    ("Simulation.step (the core)", r"^Simulation\.step \("),
    ("HttpBackend.execute (whole batches)", r"^HttpBackend\.execute"),
    ("Rest.prepare (per batch)", r"^Rest\.prepare \("),
    ("Rest.request (build one request)", r"^Rest\.request \("),
    ("Rest.record (read one answer)", r"^Rest\.record \("),
    ("post_text (generated content)", r"^post_text \("),
    ("ClientSession._request (aiohttp, one request)", r"^ClientSession\._request \("),
    ("Controller.run_tick", r"^Controller\.run_tick \("),
]


def record(
    command: list[str], out: Path, core: int | None, rate: int = 250, timeout: float = 300.0
) -> Path:
    """Run ``command`` (pinned to ``core``) under ``py-spy record --format raw``; return the file."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("py-spy is not installed: pip install py-spy")
    out.parent.mkdir(parents=True, exist_ok=True)
    full = [spy, "record", "--format", "raw", "--rate", str(rate), "--output", str(out), "--"]
    # py-spy itself stays unpinned; the profiled client is pinned like in the benchmark
    subprocess.run(full + pinned(command, core), check=True, timeout=timeout, capture_output=True)
    return out


def summarize(raw: Path, top: int = 20) -> str:
    """A plain-text report of a py-spy raw (collapsed stacks) file."""
    by_category: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [f for f in stack.split(";") if f]
        if not frames or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        leaf = frames[-1]
        if any(re.search(STARTUP, f) for f in frames):
            category = "start-up (imports, opening the backend)"
        else:
            category = next((name for name, rx in CATEGORIES if re.search(rx, leaf)), "other")
        by_category[category] += count
        self_time[_function(leaf)] += count
        for name, rx in KEY_FUNCTIONS:
            if any(re.search(rx, f) for f in frames):
                inclusive[name] += count
    if total == 0:
        return f"{raw}: no samples"

    def pct(count: int) -> str:
        return f"{100 * count / total:5.1f}%"

    startup = "start-up (imports, opening the backend)"
    load = max(1, total - by_category[startup])
    lines = [f"py-spy samples: {total:,} ({raw.name})", ""]
    lines += [
        "self time by where the top frame is (share of all samples, of the samples after start-up):"
    ]
    names = [name for name, _ in CATEGORIES] + ["other", startup]
    lines += [
        f"  {pct(by_category[name])}  {100 * by_category[name] / load if name != startup else 0:5.1f}%  {name}"
        for name in names
    ]
    lines += ["", "inclusive time of key functions:"]
    lines += [f"  {pct(inclusive[name])}  {name}" for name, _ in KEY_FUNCTIONS]
    lines += ["", f"top {top} functions by self time:"]
    lines += [f"  {pct(c)}  {name}" for name, c in self_time.most_common(top)]
    return "\n".join(lines)


def _function(frame: str) -> str:
    """``func (pkg/mod.py:123)`` → ``func (pkg/mod.py)``: samples of one function add up."""
    return re.sub(r":\d+\)$", ")", frame)


def main() -> None:
    """Summarize a stored raw profile."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("raw", type=Path, help="a py-spy --format raw output file")
    parser.add_argument("--top", type=int, default=20, help="rows of the top list (default 20)")
    args = parser.parse_args()
    print(summarize(args.raw, args.top))


if __name__ == "__main__":
    main()
