"""What a run shows while it goes: a live rich dashboard on a terminal, plain lines elsewhere.

:class:`LiveStats` is a sink that keeps what the views need (actions per tick
by kind, the latest actions, recent latencies, errors), cheap per batch. The
views only read it:

- :class:`Dashboard` (a terminal): simulated clock and day, speed (or rate
  target) and lag, real actions per second over the last few seconds,
  users total and by state, actions per minute by kind as sparklines, top
  posters and top posts, the latest actions, backend latency and errors, and at
  max speed a progress bar with ETA. Keys: space pauses and resumes, ``+``/``-``
  change the speed, ``s`` takes a snapshot, ``q`` stops (:mod:`simcore.ui.keys`).
- :mod:`simcore.ui.plainlines` (CI, pipes): one line per simulated hour (with the
  real actions per second it was sent at) and one per control event (paused,
  resumed, speed, rate, snapshot, stop).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from simcore.core.actions import ActionBatch, spelling
from simcore.logs.fields import action_paths
from simcore.run.clock import Pacer, format_speed
from simcore.run.control import RunControl
from simcore.run.controller import Controller
from simcore.run.rate import format_rate
from simcore.scenario.kinds import BUILT_IN, SHORT, KindSet
from simcore.seam.contract import Outcomes

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float] | NDArray[Any], width: int = 40) -> str:
    """Block characters scaled to the largest of the last ``width`` values."""
    data = np.asarray(values, dtype=np.float64)[-width:]
    if len(data) == 0:
        return ""
    top = float(data.max())
    if top <= 0:
        return _BARS[0] * len(data)
    levels = np.minimum((data / top * (len(_BARS) - 1)).round().astype(np.int64), len(_BARS) - 1)
    return "".join(_BARS[i] for i in levels.tolist())


class LiveStats:
    """A sink that remembers the recent past for the views (not saved in snapshots)."""

    def __init__(
        self,
        history: int = 60,
        latest: int = 8,
        kinds: KindSet = BUILT_IN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kinds = kinds
        self._methods = spelling(kinds).methods
        self.per_tick: deque[NDArray[np.int64]] = deque(maxlen=history)
        self.clock = clock
        self.sent: deque[tuple[float, int]] = deque(maxlen=4096)  # (real time, actions) per batch
        self.latest: deque[tuple[int, str, str, str, int]] = deque(maxlen=latest)
        self.latencies: deque[NDArray[np.float32]] = deque(maxlen=history)
        self.failed = 0

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Count one batch."""
        self.sent.append((self.clock(), len(batch)))
        self.per_tick.append(batch.counts())
        self.latencies.append(outcomes.latency_ms)
        self.failed += int(np.count_nonzero(outcomes.failed()))
        start = max(len(batch) - (self.latest.maxlen or 0), 0)
        part = batch.take(np.arange(start, len(batch)))
        paths = action_paths(part.kind, part.post, part.ref, self.kinds)
        for user, kind, path, status in zip(
            part.user.tolist(), part.kind.tolist(), paths, outcomes.status[start:].tolist()
        ):
            self.latest.append((batch.tick, f"user {user}", self._methods[kind], path, status))

    def close(self) -> None:
        """Nothing to release."""

    def actions_per_second(self, window: float = 5.0) -> float | None:
        """Real actions per second over the batches of the last ``window`` seconds (None: too
        few batches to tell)."""
        sent = list(self.sent)
        if len(sent) < 2:
            return None
        now = self.clock()
        recent = [(t, n) for t, n in sent if now - t <= window] or sent[-2:]
        if len(recent) < 2:
            recent = sent[-2:]
        span = recent[-1][0] - recent[0][0]
        if span <= 0:
            return None
        return sum(n for _, n in recent[1:]) / span

    def latency(self) -> tuple[float, float]:
        """(mean, p95) of recent latencies in ms."""
        recent = [a for a in self.latencies if len(a)]
        if not recent:
            return 0.0, 0.0
        all_ms = np.concatenate(recent).astype(np.float64)
        return float(all_ms.mean()), float(np.percentile(all_ms, 95))


def current_speed(pacer: Pacer) -> str:
    """The speed the current tick runs at (with a rate target it changes tick by tick)."""
    speed = pacer.tick_speed if pacer.rate is not None else pacer.speed
    return "max" if speed is None or speed == float("inf") else f"{speed:,.0f}x"


#: Below this many columns or rows the dashboard shows its compact form.
COMPACT_WIDTH, COMPACT_HEIGHT = 110, 36


def _rate(x: float) -> str:
    """A per-minute rate: whole numbers as such (16, not 16.0), small fractions with one decimal."""
    return f"{x:,.0f}" if x >= 10 or x == int(x) else f"{x:.1f}"


def _top(values: NDArray[Any], n: int) -> list[tuple[int, int]]:
    if len(values) == 0:
        return []
    k = min(n, len(values))
    idx = np.argpartition(-values.astype(np.int64), k - 1)[:k]
    idx = idx[np.lexsort((idx, -values[idx].astype(np.int64)))]
    return [(int(i), int(values[i])) for i in idx if values[i] > 0]


class Dashboard:
    """A rich live view of a running :class:`Controller`."""

    def __init__(
        self,
        controller: Controller,
        stats: LiveStats,
        control: RunControl,
        pacer: Pacer | None,
        total_ticks: int,
        console: Console | None = None,
    ) -> None:
        self.controller = controller
        self.stats = stats
        self.control = control
        self.pacer = pacer
        self.total_ticks = total_ticks
        self.console = console or Console()
        self.first_tick = controller.sim.tick
        self.began = time.monotonic()
        # panels that scan every user or post are rebuilt once per finished tick, not per frame
        self._scanned: dict[str, tuple[int, Table]] = {}
        self.notes: deque[str] = deque(maxlen=3)
        self._live: Live | None = None
        self.finished = False

    def note(self, event: str) -> None:
        """Show a control event (paused, snapshot written…) for a while."""
        self.notes.append(f"{dt.datetime.now():%H:%M:%S} {event}")

    def _sim_now(self) -> dt.datetime:
        """The simulated time now, between tick edges too when paced (it stands still while paused)."""
        ctl = self.controller
        tick_seconds = ctl.sim.config.tick_seconds
        done = ctl.ticks_done
        seconds = float(done * tick_seconds)
        reached = self.pacer.sim_seconds_now() if self.pacer is not None else None
        if reached is not None and ctl.mid_tick:
            seconds = min(max(reached, seconds), seconds + tick_seconds)
        return ctl.sim.config.start + dt.timedelta(seconds=int(seconds))

    def _header(self) -> Table:
        ctl = self.controller
        sim = ctl.sim
        now = self._sim_now()
        day = (now.date() - sim.config.start.date()).days + 1
        table = Table.grid(padding=(0, 2))
        state = "[bold yellow]PAUSED[/]" if self.control.paused else "[bold green]running[/]"
        if self.control.stopping:
            state = "[bold red]stopping[/]"
        if self.finished:
            state = "[bold]stopped[/]" if self.control.stopping else "[bold]finished[/]"
        pace = f"speed [bold]{format_speed(self.pacer.speed if self.pacer else None)}[/]"
        lag = ""
        if self.pacer is not None and self.pacer.paced:
            lag = f"lag {self.pacer.lag:.2f}s (max {self.pacer.max_lag:.2f}s)"
        if self.pacer is not None and self.pacer.rate is not None:
            pace = f"rate [bold]{format_rate(self.pacer.rate)}[/] speed {current_speed(self.pacer)}"
        real = self.stats.actions_per_second()
        cells = [
            f"[bold]{now:%a %Y-%m-%d %H:%M}[/]",
            f"day {day}",
            f"tick {ctl.ticks_done:,}/{self.total_ticks:,}",
            state,
            pace,
            "" if real is None else f"[bold]{real:,.0f}[/] actions/s",
            lag,
        ]
        if self._compact():  # two lines on a narrow terminal, rather than cells cut off
            table.add_row(*cells[:4])
            table.add_row(*cells[4:], "")
        else:
            table.add_row(*cells)
        return table

    def _compact(self) -> bool:
        """Whether the terminal is too small for every panel (80×24, say)."""
        width, height = self.console.size
        return width < COMPACT_WIDTH or height < COMPACT_HEIGHT

    def _summary_lines(self) -> RenderableType:
        """The users, activity and backend panels as a few lines (compact mode)."""
        sim = self.controller.sim
        pop = sim.population
        names = sim.routine.state_names
        counts = np.bincount(pop.state[: pop.n], minlength=len(names))[: len(names)]
        per_tick = list(self.stats.per_tick)
        minutes = sim.config.tick_seconds / 60.0
        last = per_tick[-1] / minutes if per_tick else np.zeros(1)
        kinds = sim.config.kind_set.names
        busiest = sorted(
            ((float(last[k]), name) for k, name in enumerate(kinds) if k < len(last)), reverse=True
        )
        mean, p95 = self.stats.latency()
        grid = Table.grid(padding=(0, 1))
        grid.add_row(
            "[bold]users[/]",
            f"{pop.n:,}  " + "  ".join(f"{name} {c:,}" for name, c in zip(names, counts.tolist())),
        )
        grid.add_row(
            "[bold]per min[/]",
            "  ".join(f"{SHORT.get(name, name)} {_rate(rate)}" for rate, name in busiest[:6] if rate > 0)
            or "–",
        )
        grid.add_row(
            "[bold]backend[/]",
            f"{self.controller.backend.name}  mean {mean:.1f} ms  p95 {p95:.1f} ms  failed {self.stats.failed:,}",
        )
        return grid

    def _per_tick(self, name: str, build: Callable[[], Table]) -> Table:
        done = self.controller.ticks_done
        cached = self._scanned.get(name)
        if cached is None or cached[0] != done:
            cached = self._scanned[name] = (done, build())
        return cached[1]

    def _users(self) -> Table:
        sim = self.controller.sim
        pop = sim.population
        n = pop.n
        names = sim.routine.state_names
        counts = np.bincount(pop.state[:n], minlength=len(names))[: len(names)]
        table = Table(title="users", show_header=False, box=None, pad_edge=False)
        table.add_row("total", f"[bold]{n:,}[/]")
        for name, count in zip(names, counts.tolist()):
            table.add_row(name, f"{count:,}")
        table.add_row("posts live", f"{int(sim.world.live().sum()):,}")
        return table

    def _activity(self) -> Table:
        per_tick = list(self.stats.per_tick)
        minutes = self.controller.sim.config.tick_seconds / 60.0
        table = Table(title="actions per minute", show_header=False, box=None, pad_edge=False)
        for k, name in enumerate(self.controller.sim.config.kind_set.names):
            series = np.array([c[k] for c in per_tick], dtype=np.float64) / minutes
            last = series[-1] if len(series) else 0.0
            table.add_row(SHORT.get(name, name), sparkline(series, 30), _rate(last))
        return table

    def _tops(self) -> Table:
        sim = self.controller.sim
        posters = _top(sim.population.n_posts[: sim.population.n], 5)
        posts = _top(sim.world.views[: sim.world.n], 5)
        table = Table(title="top posters · top posts", box=None, pad_edge=False)
        table.add_column("user")
        table.add_column("posts", justify="right")
        table.add_column("post")
        table.add_column("views", justify="right")
        for i in range(max(len(posters), len(posts))):
            u = posters[i] if i < len(posters) else None
            p = posts[i] if i < len(posts) else None
            table.add_row(
                f"user {u[0]}" if u else "",
                f"{u[1]:,}" if u else "",
                f"post {p[0]}" if p else "",
                f"{p[1]:,}" if p else "",
            )
        return table

    def _latest(self, n: int | None = None) -> Table:
        table = Table(title="latest actions", box=None, pad_edge=False, header_style="dim")
        for column in ("tick", "user", "method", "path", "status"):
            table.add_column(column)
        latest = list(self.stats.latest)
        for tick, user, method, path, status in latest[-n:] if n else latest:
            colour = "green" if 0 < status < 400 else "red"
            table.add_row(str(tick), user, method, escape(path), f"[{colour}]{status}[/]")
        return table

    def _backend(self) -> Table:
        mean, p95 = self.stats.latency()
        totals = self.controller.totals
        table = Table(title=f"backend {self.controller.backend.name}", show_header=False, box=None)
        table.add_row("latency", f"mean {mean:.1f} ms  p95 {p95:.1f} ms")
        table.add_row("failed", f"{self.stats.failed:,}")
        table.add_row("errors", ", ".join(f"{k} {v:,}" for k, v in totals.errors.items()) or "none")
        return table

    def _progress(self) -> RenderableType:
        done = self.controller.ticks_done
        total = max(self.total_ticks, 1)
        elapsed = time.monotonic() - self.began
        ran = done - self.first_tick
        eta = "—"
        if ran > 0 and done < total:
            eta = f"{elapsed / ran * (total - done):,.0f}s"
        grid = Table.grid(padding=(0, 1))
        grid.add_row(
            ProgressBar(total=total, completed=min(done, total), width=40),
            f"{done / total:4.0%}",
            f"ETA {eta}",
        )
        return grid

    def render(self) -> RenderableType:
        """The whole dashboard as one renderable (what the live view shows): every panel on a
        large terminal; on a small one (80×24) a few summary lines and the latest actions, so
        the key help and the event lines always fit."""
        if self._compact():
            parts: list[RenderableType] = [self._header(), self._summary_lines(), self._latest(3)]
        else:
            middle = Table.grid(padding=(0, 3))
            middle.add_row(self._per_tick("users", self._users), self._activity(), self._backend())
            lower = Table.grid(padding=(0, 3))
            lower.add_row(self._per_tick("tops", self._tops), self._latest())
            parts = [self._header(), middle, lower]
        if self.pacer is None or not self.pacer.paced:
            parts.append(self._progress())
        keys = Text("space pause/resume · + faster · - slower · s snapshot · q stop", style="dim")
        parts.append(keys)
        for note in self.notes:
            parts.append(Text(note, style="dim"))
        return Panel(Group(*parts), title="simcore", border_style="blue")

    def _safe_render(self) -> RenderableType:
        try:
            return self.render()
        except Exception as exc:  # the run thread may be mid-update; show that, not a traceback
            return Text(f"(dashboard refresh skipped: {exc})")

    def start(self) -> Dashboard:
        """Start the live view (refreshed 4 times a second from a rich thread)."""
        self._live = Live(
            console=self.console,
            get_renderable=self._safe_render,
            refresh_per_second=4,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()
        return self

    def stop(self) -> None:
        """Leave the last frame on screen, saying the run has finished (idempotent)."""
        self.finished = True
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None
