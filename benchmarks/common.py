"""What every benchmark shares: the machine and commit a figure belongs to, markdown tables,
the benchmark configs, timing, and building and running one simcore run (through
:func:`simcore.run.builder.build_run`, as ``simcore run`` builds it).

Each ``bench_*.py`` script reproduces one section of benchmarks/RESULTS.md and prints its
tables with :class:`Table`; the scripts import this module as ``common`` (they run as
``python benchmarks/NAME.py``, so this directory is on ``sys.path``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.run.builder import build_run
from simcore.run.controller import Controller
from simcore.run.loading import load_config
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import ErrorKind, Outcomes, Sink

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
PROFILE = ROOT / "profiles" / "default.toml"
EVENING = dt.datetime(2026, 1, 5, 19, 0)  # a Monday evening: most users are relaxing and active
SOCIAL_KINDS = ("like_post", "repost", "quote_post", "follow_user", "unfollow_user", "browse_following")


# --------------------------------------------------------------------------- where a figure comes from


def commit() -> str:
    """The checked-out commit (with "+changes" if the tree differs), so a row names its code."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT, check=False).returncode
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def cpu_model() -> str:
    """The CPU's model name from lscpu (platform's guess if lscpu is missing)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``0.41, 0.81, 0.94``."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """One line naming the machine, the software, the commit and the time a run started."""
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, {platform.system()} {platform.release()}; commit {commit()}; "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; load average at start {load_average()}"
    )


# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    """A table printed as GitHub markdown, the form RESULTS.md keeps it in.

    ``columns`` name the columns; a name starting with ``<`` is left-aligned (the ``<``
    is not printed), every other column is right-aligned.
    """

    title: str
    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    caption: str = ""

    def add(self, *cells: str) -> None:
        """Append one row (one cell per column)."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(cells)

    def markdown(self) -> str:
        """The title in bold, the table, and the caption in italics."""
        names = [c.removeprefix("<") for c in self.columns]
        widths = [max([len(n)] + [len(r[i]) for r in self.rows]) for i, n in enumerate(names)]
        left = [c.startswith("<") for c in self.columns]

        def line(cells: Sequence[str]) -> str:
            padded = (c.ljust(w) if lf else c.rjust(w) for c, w, lf in zip(cells, widths, left))
            return "| " + " | ".join(padded) + " |"

        rule = (
            "|"
            + "|".join(("-" * (w + 2)) if lf else "-" * (w + 1) + ":" for w, lf in zip(widths, left))
            + "|"
        )
        lines = [f"**{self.title}**", "", line(names), rule, *(line(r) for r in self.rows)]
        return "\n".join(lines + (["", f"_{self.caption}_"] if self.caption else []))

    def print(self) -> None:
        """Print the markdown with a blank line before it."""
        print("\n" + self.markdown(), flush=True)


def ms(value: float | None) -> str:
    """Milliseconds with two decimals, or a dash when there is no value."""
    return "–" if value is None else f"{value:.2f}"


def record_section(heading: str, body: str, path: Path = RESULTS) -> None:
    """Replace the section under ``heading`` (up to the next heading of its level or higher) in
    ``path``, or append it; written atomically."""
    level = heading.split(" ", 1)[0]
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    start = text.find(heading + "\n")
    section = heading + "\n\n" + body.strip("\n") + "\n"
    if start >= 0:
        ends = [text.find("\n" + "#" * n + " ", start + len(heading)) for n in range(2, len(level) + 1)]
        end = min((e for e in ends if e >= 0), default=-1)
        text = text[:start] + section + ("\n" + text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)


# --------------------------------------------------------------------------- configs


def default_config() -> Config:
    """profiles/default.toml as shipped."""
    return load_config(PROFILE)


def scenario_config(users: int, duration: str, seed: int = 42, start: dt.datetime = EVENING) -> Config:
    """The default profile from ``start`` (a Monday 19:00), ``users`` initial users, for ``duration``."""
    return with_overrides(
        default_config(),
        seed=seed,
        start=start,
        duration=duration,
        population__initial_users=users,
        population__max_users=max(users * 2, 1000),
    )


def core_config(users: int, days: float, profile: Path = PROFILE, plain: bool = False) -> Config:
    """The core benchmark's config: ``profile`` with ``users`` initial users for ``days``; with
    ``plain`` the community behaviours' weights and read shares set to zero."""
    import attrs

    base = load_config(profile)
    config = with_overrides(
        base,
        population__initial_users=users,
        population__max_users=max(users, base.population.max_users),  # the profile's cap, or no growth
        duration=f"{days * 24:g}h",
    )
    if not plain:
        return config
    profiles = {
        name: attrs.evolve(
            p,
            weights={
                s: {k: v for k, v in row.items() if k not in SOCIAL_KINDS}
                for s, row in p.weights.items()
            },
        )
        for name, p in config.profiles.items()
    }
    targets = attrs.evolve(config.targets, trending_share=0.0, following_share=0.0)
    return attrs.evolve(config, profiles=profiles, targets=targets)


# --------------------------------------------------------------------------- timing


@dataclass
class Stopwatch:
    """Wall and CPU seconds of this process over a ``with`` block."""

    wall: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall0, self._cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall = self.elapsed()
        self.cpu = time.process_time() - self._cpu0

    def elapsed(self) -> float:
        """Wall seconds since the block began."""
        return time.perf_counter() - self._wall0


# --------------------------------------------------------------------------- one simcore run


class OutcomeSink:
    """Keeps every outcome (a few bytes per action) for percentiles and status counts, and a
    digest of the action stream (outcome fields left out) to compare runs through backends."""

    def __init__(self) -> None:
        self.parts: list[Outcomes] = []
        self.kinds: list[NDArray[np.uint8]] = []
        self.digest = hashlib.sha256()

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Keep the batch's kinds and outcomes; fold its actions into the digest."""
        self.parts.append(outcomes)
        self.kinds.append(batch.kind)
        self.digest.update(np.array([batch.tick, batch.seq0], dtype=np.int64).tobytes())
        for name in ActionBatch.ARRAYS:
            self.digest.update(np.ascontiguousarray(getattr(batch, name)).tobytes())

    def close(self) -> None:
        """Nothing to flush."""

    def joined(self, name: str) -> NDArray[Any]:
        """One outcome field over the whole run."""
        arrays = [getattr(p, name) for p in self.parts]
        return np.concatenate(arrays) if arrays else np.zeros(0)

    def sent(self) -> NDArray[np.bool_]:
        """Which actions went to the backend (not skipped, not failed by an injected fault)."""
        error = self.joined("error")
        sent: NDArray[np.bool_] = (error != ErrorKind.SKIPPED) & (error != ErrorKind.INJECTED)
        return sent

    def latency_percentiles(self) -> tuple[float | None, float | None]:
        """p50 and p99 latency in ms of the sent actions (None when the backend measures none)."""
        latency = self.joined("latency_ms").astype(np.float64)[self.sent()]
        if not latency.size or latency.max() <= 0:
            return None, None
        return float(np.percentile(latency, 50)), float(np.percentile(latency, 99))

    def statuses(self) -> dict[int, int]:
        """How many actions got each status."""
        codes, counts = np.unique(self.joined("status"), return_counts=True)
        return dict(zip(codes.tolist(), counts.tolist()))


@dataclass
class SimcoreRun:
    """What :func:`run_simcore` measured: ticks run, wall and CPU seconds of the run loop, and
    the most ticks the controller had in flight at once (> 1: the run was pipelined)."""

    controller: Controller
    backend: Any
    ticks: int
    complete: bool
    wall: float
    cpu: float
    max_ticks_in_flight: int


def run_simcore(
    config: Config,
    backend: str,
    options: dict[str, Any] | None = None,
    sinks: Sequence[Sink] = (),
    max_seconds: float = float("inf"),
) -> SimcoreRun:
    """Run ``config`` through the backend ``backend`` as ``simcore run --speed max --log none``
    runs it (:func:`simcore.run.builder.build_run`: metrics on, pipelining where the backend
    offers it), in a temporary run directory; ``sinks`` see every batch.

    Once ``max_seconds`` have passed the run is stopped between two ticks, as ``simcore ctl
    stop`` would stop it (one execute, one snapshot at the end, ticks in flight drained).
    Wall and CPU time cover running, not building (opening the backend) nor finishing (the
    summary and report).
    """
    config = with_overrides(config, backend__name=backend)
    with tempfile.TemporaryDirectory(prefix="simcore-bench-run-") as directory:
        run = build_run(
            config,
            run_dir=Path(directory) / "run",
            backend_options=options or {},
            logs=["none"],
            sinks=sinks,
            control_socket=False,
            handle_signals=False,
        )
        limit = threading.Timer(max_seconds, run.control.request_stop, ["time limit"])
        limit.daemon = True
        with run, Stopwatch() as watch:
            if max_seconds != float("inf"):
                limit.start()
            try:
                run.execute()
            finally:
                limit.cancel()
    controller = run.controller
    return SimcoreRun(
        controller,
        run.backend,
        controller.ticks_done,
        run.remaining_ticks() == 0,
        watch.wall,
        watch.cpu,
        controller.max_ticks_in_flight,
    )


def missed_note(missed: Sequence[str]) -> str:
    """Why targets were missed, when they were: the benchmarks time work on a free core, so
    on a loaded machine they measure the load too (say so instead of a bare MISSED)."""
    if not missed:
        return ""
    cpus = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    busy = load >= 0.5 * cpus
    why = (
        f"the machine was busy (load {load:.1f} on {cpus} CPUs): other processes took the CPU these "
        "timings assume is free; rerun when the load is below 1"
        if busy
        else f"the machine was quiet (load {load:.1f} on {cpus} CPUs), so this is a real shortfall"
    )
    return f"MISSED {', '.join(missed)}: {why}."
