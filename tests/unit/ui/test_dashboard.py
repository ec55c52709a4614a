"""The live dashboard renders; without a terminal, plain lines; --quiet, only the summary."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from simcore.core.simulation import Simulation
from simcore.run.clock import Pacer
from simcore.run.control import RunControl
from simcore.run.controller import Controller
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import Outcomes
from simcore.ui.cli import main
from simcore.ui.dashboard import Dashboard, LiveStats, sparkline
from simcore.ui.keys import KeyReader
from simcore.ui.plainlines import PlainLines
from simcore_backends.mock import MockBackend
from tests.support.paths import DEFAULT_PROFILE

PROFILE = str(DEFAULT_PROFILE)


def _dashboard(
    config: Config, speed: float | None, ticks: int, size: tuple[int, int] = (160, 50)
) -> tuple[Dashboard, RunControl]:
    stats = LiveStats()
    control = RunControl(speed)
    pacer = Pacer(config.tick_seconds, speed)
    controller = Controller(Simulation(config), MockBackend(), [stats])
    for _ in range(ticks):
        controller.run_tick()
    console = Console(record=True, width=size[0], height=size[1], force_terminal=True, color_system=None)
    return Dashboard(controller, stats, control, pacer, config.duration_ticks, console), control


def _text(dashboard: Dashboard) -> str:
    console = dashboard.console
    console.print(dashboard.render())
    return console.export_text()


def test_a_small_terminal_keeps_the_keys_and_events(small_config: Config) -> None:
    """At 80×24: the whole frame fits (header on two lines, nothing cut), with the key help,
    the event lines, a labelled latest-actions table; rates print as whole numbers; the last
    frame says the run finished."""
    config = with_overrides(small_config, start=dt.datetime(2026, 1, 5, 19, 0))
    dashboard, _ = _dashboard(config, None, 40, size=(80, 24))
    dashboard.note("paused")
    dashboard.note("snapshot runs/x/snapshots/tick-00000040.npz")
    lines = _text(dashboard).rstrip("\n").splitlines()
    text = "\n".join(lines)
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines), text
    assert "q stop" in text and "s snapshot" in text
    assert "paused" in text and "tick-00000040.npz" in text
    assert "speed max" in text and "tick 40/360" in text and "Mon 2026-01-05 19:40" in text
    assert "tick  user" in text.replace("tick   user", "tick  user") or "tick" in lines[-8]
    assert ".0 " not in text.split("per min", 1)[1].split("\n", 1)[0] + " "
    dashboard.stop()
    assert "finished" in _text(dashboard) and "running" not in _text(dashboard).split("\n", 3)[1]


def test_sparkline() -> None:
    """Scaled to the largest value; zeros are the lowest bar."""
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert sparkline([0, 0]) == "▁▁" and sparkline([]) == ""
    assert len(sparkline(range(100), width=10)) == 10


def test_dashboard_renders_everything(small_config: Config) -> None:
    """Clock and day, speed, users by state, sparklines, tops, latest actions, backend, progress."""
    config = with_overrides(small_config, start=dt.datetime(2026, 1, 5, 19, 0))
    dashboard, control = _dashboard(config, None, 40)
    text = _text(dashboard)
    for expected in (
        "Mon 2026-01-05 19:40",
        "day 1",
        "tick 40/360",
        "speed max",
        "running",
        "total",
        "sleeping",
        "working",
        "relaxing",
        "actions per minute",
        "top posters",
        "latest actions",
        "backend mock",
        "p95",
        "ETA",
        "space pause/resume",
    ):
        assert expected in text, expected
    assert any(bar in text for bar in "▂▃▄▅▆▇█"), "no sparkline"
    sim = dashboard.controller.sim
    top = int(sim.population.n_posts[: sim.population.n].argmax())
    assert f"user {top}" in text
    control.pause()
    dashboard.note("paused")
    assert "PAUSED" in _text(dashboard) and "paused" in _text(dashboard)


def test_paced_dashboard_shows_lag(small_config: Config) -> None:
    """Paced: speed and lag instead of a progress bar."""
    dashboard, _ = _dashboard(small_config, 60.0, 3)
    text = _text(dashboard)
    assert "speed 60x" in text and "lag 0.00s" in text and "ETA" not in text


def test_keys_drive_the_control() -> None:
    """space toggles pause, + and - step the speed, q stops."""
    control = RunControl(speed=60.0)
    keys = KeyReader(control)
    keys.handle(" ")
    assert control.paused
    keys.handle(" ")
    assert not control.paused
    keys.handle("+")
    assert control.speed == 120.0
    keys.handle("-")
    keys.handle("-")
    assert control.speed == 30.0
    keys.handle("q")
    assert control.stop_reason == "key q"
    assert keys.start() is keys  # not a terminal under pytest: a no-op
    keys.stop()


def test_not_a_terminal_prints_plain_lines(tmp_path: Path) -> None:
    """Piped output: one plain line per simulated hour, no live panel."""
    result = CliRunner().invoke(main, ["run", PROFILE, "--duration", "3h", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    hours = [line for line in lines if line.startswith("Mon 2026-01-05 0") and "users" in line]
    assert len(hours) == 3
    assert not any(ch in result.output for ch in "╭│╰"), "a live panel was drawn to a pipe"
    assert "snapshot" in result.output and "run summary" in result.output


def test_quiet_prints_only_the_summary(tmp_path: Path) -> None:
    """--quiet: no start line, no hour lines, no events; the summary table."""
    result = CliRunner().invoke(
        main, ["run", PROFILE, "--duration", "3h", "-q", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 0
    assert result.output.lstrip().startswith("run summary")
    assert "Mon 2026-01-05 01:00" not in result.output and "simcore " not in result.output


def test_forced_dashboard_runs_through_the_cli(tmp_path: Path) -> None:
    """--dashboard starts and stops the live view cleanly and leaves its last frame."""
    result = CliRunner().invoke(
        main,
        ["run", PROFILE, "--duration", "2h", "--dashboard", "--out", str(tmp_path / "r")],
        env={"COLUMNS": "160", "LINES": "50"},  # a large terminal: every panel
    )
    assert result.exit_code == 0, result.output
    assert "top posters" in result.output and "run summary" in result.output


def test_key_reader_reads_a_real_terminal() -> None:
    """On a (pseudo) terminal, a key press reaches the control without Enter."""
    import os
    import time

    master, slave = os.openpty()
    control = RunControl(speed=60.0)
    with os.fdopen(slave, "rb", buffering=0) as tty_in:
        keys = KeyReader(control, stream=tty_in).start()
        try:
            os.write(master, b" ")
            deadline = time.monotonic() + 5
            while not control.paused and time.monotonic() < deadline:
                time.sleep(0.01)
            assert control.paused
            os.write(master, b"q")
            while not control.stopping and time.monotonic() < deadline:
                time.sleep(0.01)
            assert control.stop_reason == "key q"
        finally:
            keys.stop()
    os.close(master)


def test_plain_lines_report_progress_between_slow_hours(small_config: Config) -> None:
    """Paced slowly, a progress line still appears every `every` real seconds."""

    console = Console(record=True, width=160, color_system=None)
    pacer = Pacer(small_config.tick_seconds, 1.0)
    plain = PlainLines(console, pacer, every=0.0)
    controller = Controller(Simulation(small_config), MockBackend(), [plain], on_hour=plain.hour)
    plain.controller = controller
    for _ in range(3):
        controller.run_tick()
    lines = console.export_text().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("Mon 2026-01-05 06:03  tick 3  users 200")
    assert "speed 1x lag" in lines[-1]


def test_hour_lines_follow_simulated_hours_whatever_the_tick_length(small_config: Config) -> None:
    """With 40-minute ticks an hour line comes at the last tick that begins in each hour
    (ticks 1, 2 and 4 of five), the same hours the metrics count, not after every tick."""
    from simcore.analysis.metrics import Metrics
    from simcore.run.totals import HourReport

    config = with_overrides(small_config, tick_seconds=2400)
    hours: list[HourReport] = []
    metrics = Metrics(2400, config.start, ("a",), ("b",))
    controller = Controller(Simulation(config), MockBackend(), [metrics], on_hour=hours.append)
    controller.run(5)
    assert [h.tick for h in hours] == [1, 2, 4]
    assert metrics.n_hours == len(hours) == 3


def test_live_stats_actions_per_second_from_batch_times(small_config: Config) -> None:
    """Real actions/s over the recent batches: what arrived after the first, over the span."""
    now = [0.0]
    stats = LiveStats(clock=lambda: now[0])
    sim = Simulation(with_overrides(small_config, start=dt.datetime(2026, 1, 5, 19, 0)))
    assert stats.actions_per_second() is None
    sizes = []
    for step in range(6):
        now[0] = step * 0.5
        batch = sim.step()
        sizes.append(len(batch))
        stats.write(batch, Outcomes.ok(len(batch)))
    assert stats.actions_per_second() == sum(sizes[1:]) / 2.5
    now[0] = 100.0  # nothing for a long while: the last two batches still give a figure
    assert stats.actions_per_second() == sizes[-1] / 0.5


def test_rate_dashboard_and_plain_lines_show_the_target_and_real_rate(small_config: Config) -> None:
    """With --rate: the target, the current speed and the real actions/s, in both views."""
    config = with_overrides(small_config, start=dt.datetime(2026, 1, 5, 19, 0))
    stats = LiveStats()
    control = RunControl(None, 2000.0)
    pacer = Pacer(config.tick_seconds, None, rate=2000.0)
    console = Console(record=True, width=200, force_terminal=False, color_system=None)
    plain = PlainLines(console, pacer)
    controller = Controller(Simulation(config), MockBackend(), [stats], on_hour=plain.hour, pacer=pacer)
    controller.run(61)
    screen = Console(record=True, width=160, height=50, force_terminal=True, color_system=None)
    dashboard = Dashboard(controller, stats, control, pacer, config.duration_ticks, screen)
    text = _text(dashboard)
    assert "rate 2,000/s" in text and "actions/s" in text
    line = console.export_text().splitlines()[0]
    assert "Mon 2026-01-05 20:00" in line and "rate 2,000/s" in line
    shown = float(line.split(" actions/s")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert 0 < shown <= 2000 * 1.05  # paced: never faster than the target


def test_run_at_a_rate_on_the_mock_reports_real_actions_per_second(tmp_path: Path) -> None:
    """`simcore run --rate N`: the summary's pacing has the target and the real actions/s, which
    a paced run never exceeds (accuracy is benchmarks/bench_rate.py's job), and the printed
    summary shows both; the action log is the one a max-speed run writes."""
    args = ["run", PROFILE, "--users", "200", "--duration", "90m", "--seed", "3", "--no-control"]
    result = CliRunner().invoke(main, [*args, "--rate", "400", "--out", str(tmp_path / "rate")])
    assert result.exit_code == 0, result.output
    assert (
        "rate 400/s" in result.output
        and "real rate" in result.output
        and "target 400/s" in result.output
    )
    summary = json.loads((tmp_path / "rate" / "summary.json").read_text())
    pacing = summary["pacing"]
    assert pacing["rate"] == 400.0
    assert summary["actions"] > 300
    assert 0.3 * 400 < pacing["actions_per_second"] <= 400 * 1.05
    fast = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "fast"), "-q"])
    assert fast.exit_code == 0
    assert (tmp_path / "rate" / "actions.jsonl").read_bytes() == (
        tmp_path / "fast" / "actions.jsonl"
    ).read_bytes()
    bad = CliRunner().invoke(main, [*args, "--rate", "lots", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--rate: got 'lots'" in bad.output
    assert not (tmp_path / "bad").exists(), "a bad --rate must fail before the run directory is made"
