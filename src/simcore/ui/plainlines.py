"""What a run prints where there is no terminal to draw on (CI, pipes): one line per simulated
hour, one per control event, and a progress line when hours are far apart."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape

from simcore.core.actions import ActionBatch
from simcore.run.clock import Pacer, format_speed
from simcore.run.controller import Controller
from simcore.run.rate import format_rate
from simcore.run.totals import HourReport
from simcore.scenario.kinds import SHORT
from simcore.seam.contract import Outcomes
from simcore.ui.dashboard import current_speed


class PlainLines:
    """Periodic plain lines for logs and pipes.

    One line per simulated hour (``on_hour``), one per control event, and, when
    paced slowly enough that hours are far apart, a progress line at least every
    ``every`` real seconds (it is a sink, to see each tick go by).
    """

    def __init__(self, console: Console, pacer: Pacer | None = None, every: float = 10.0) -> None:
        self.console = console
        self.pacer = pacer
        self.every = every
        self.controller: Controller | None = None
        self._last = time.monotonic()
        self._hour_began = self._last  # real time (and paused seconds) when the hour began
        self._hour_paused = 0.0

    def _pace(self) -> str:
        pacer = self.pacer
        if pacer is not None and pacer.rate is not None:
            return (
                f"  [dim]rate {format_rate(pacer.rate)} speed {current_speed(pacer)} "
                f"lag {pacer.lag:.2f}s[/]"
            )
        if pacer is not None and pacer.paced:
            return f"  [dim]speed {format_speed(pacer.speed)} lag {pacer.lag:.2f}s[/]"
        return ""

    def _hour_rate(self, actions: int) -> str:
        """The hour's real actions per second (time paused left out), and start the next hour."""
        now = time.monotonic()
        paused = self.pacer.paused_seconds if self.pacer is not None else 0.0
        seconds = now - self._hour_began - (paused - self._hour_paused)
        self._hour_began, self._hour_paused = now, paused
        return f"  [bold]{actions / seconds:,.0f}[/] actions/s" if seconds > 0 else ""

    def hour(self, report: HourReport) -> None:
        """One line for a finished simulated hour."""
        kinds = "  ".join(f"{SHORT.get(k, k)} {v:,}" for k, v in report.actions.items() if v)
        failed = f"  [red]failed {report.failed:,}[/]" if report.failed else ""
        actions = sum(report.actions.values())
        self.console.print(
            f"[dim]{report.time:%a %Y-%m-%d %H:%M}[/]  users [bold]{report.users:,}[/]  "
            f"posts {report.posts:,}  actions {actions:,}{self._hour_rate(actions)}  [dim]{kinds}[/]"
            f"{failed}{self._pace()}",
            highlight=False,
        )
        self._last = time.monotonic()

    def event(self, text: str) -> None:
        """One line for a control event."""
        self.console.print(f"[yellow]{escape(text)}[/]", highlight=False)
        self._last = time.monotonic()

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """A progress line if nothing was printed for ``every`` real seconds."""
        ctl = self.controller
        if ctl is None or time.monotonic() - self._last < self.every:
            return
        when = ctl.sim_time(batch.tick + 1)
        self.console.print(
            f"[dim]{when:%a %Y-%m-%d %H:%M}[/]  tick {batch.tick + 1:,}  users {ctl.users_before(batch.tick + 1):,}  "
            f"actions {ctl.totals.actions + len(batch):,}{self._pace()}",
            highlight=False,
        )
        self._last = time.monotonic()

    def close(self) -> None:
        """Nothing to release."""
