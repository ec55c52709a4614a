"""Run control: the control state, the socket, signals, `simcore ctl`, `run --resume` (a live run
in a real process: tests/e2e/test_live_run_control.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.errors import SimcoreError
from simcore.logs.fields import LogHeader
from simcore.logs.jsonl import JsonlSink, read_log
from simcore.run import snapshot
from simcore.run.clock import Pacer
from simcore.run.control import ControlError, ControlServer, RunControl, send, send_to, socket_path
from simcore.run.controller import Controller
from simcore.run.session import RunSession
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import BackendContext, Outcomes
from simcore.ui.cli import main
from simcore_backends.mock import MockBackend
from tests.support.paths import DEFAULT_PROFILE

PROFILE = str(DEFAULT_PROFILE)


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_run_control_commands() -> None:
    """pause/resume/toggle/speed/stop change the state and notify listeners."""
    control = RunControl(speed=None)
    events: list[str] = []
    control.listeners.append(events.append)
    control.apply("pause")
    control.apply("pause")  # already paused: no second event
    assert control.paused and control.wake.is_set()
    control.apply("toggle")
    assert not control.paused
    control.apply("speed", "60")
    assert control.speed == 60.0
    control.apply("faster")
    assert control.speed == 120.0
    control.apply("slower")
    control.apply("slower")
    assert control.speed == 30.0
    control.apply("speed", "max")
    control.apply("slower")  # from max, the top step
    assert control.speed is not None and control.speed > 3600
    control.apply("faster")
    assert control.speed is None
    assert control.request_stop("one") and not control.request_stop("two")
    assert control.stop_reason == "one"
    assert events[:2] == ["paused", "resumed"] and events[-1] == "stopping (one)"
    with pytest.raises(ControlError, match="unknown command"):
        control.apply("explode")


def test_run_control_rate_commands() -> None:
    """rate N sets the target, +/- (faster/slower) then step the rate, not the speed; rate off
    goes back to speed pacing."""
    control = RunControl(speed=600.0)
    events: list[str] = []
    control.listeners.append(events.append)
    assert control.apply("rate", "1000")["rate"] == 1000.0
    control.apply("faster")
    assert control.rate == 2000.0 and control.speed == 600.0
    control.apply("slower")
    control.apply("slower")
    assert control.rate == 500.0
    control.apply("rate", "0.7")
    control.apply("slower")
    assert control.rate == 0.35  # below the steps: halved
    assert control.apply("rate", "off")["rate"] is None
    control.apply("faster")
    assert control.speed == 1800.0 and control.rate is None
    assert events[:2] == ["rate 1,000/s", "rate 2,000/s"] and "rate off" in events
    with pytest.raises(SimcoreError, match="rate"):
        control.apply("rate", "lots")


def test_socket_round_trip(tmp_path: Path) -> None:
    """The control socket carries commands and replies with the status; bad input gets an error reply."""
    control = RunControl()
    control.status_provider = lambda: {"tick": 7}
    with ControlServer(tmp_path, control) as server:
        assert server.path == tmp_path.resolve() / "control.sock"
        status = send(tmp_path, "pause")
        assert status["paused"] is True and status["tick"] == 7
        assert send(tmp_path, "speed", "30")["speed"] == "30x"
        assert send(tmp_path, "rate", "250")["rate"] == 250.0
        with pytest.raises(SimcoreError, match="rate"):
            send(tmp_path, "rate", "-3")  # checked before sending
        with pytest.raises(SimcoreError, match="--speed"):
            send(tmp_path, "speed", "fast")  # checked before sending
        with pytest.raises(ControlError, match="--speed"):
            send_to(server.path, "speed", "fast")  # refused by the run
        with pytest.raises(ControlError, match="another run is live"):
            ControlServer(tmp_path, RunControl()).start()
    assert not (tmp_path / "control.sock").exists()
    with pytest.raises(ControlError, match="no live run"):
        send(tmp_path, "status")


def test_long_run_dir_gets_a_short_socket(tmp_path: Path) -> None:
    """Unix socket paths are short; a deep run directory gets one in the temp folder."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    path = socket_path(deep)
    assert path.parent != deep and len(str(path)) <= 100
    with ControlServer(deep, RunControl()):
        assert send(deep, "status")["paused"] is False


def test_ctl_cli_errors(tmp_path: Path) -> None:
    """`simcore ctl` without a live run, or without a speed, exits 2 with a clear message."""
    code, out = _invoke("ctl", str(tmp_path), "status")
    assert code == 2 and "no live run" in out and "Traceback" not in out
    code, out = _invoke("ctl", str(tmp_path), "speed")
    assert code == 2 and "give the new speed" in out
    code, out = _invoke("ctl", str(tmp_path), "rate")
    assert code == 2 and "give the new rate" in out
    code, out = _invoke("ctl", str(tmp_path / "nope"), "pause")
    assert code == 2 and "does not exist" in out


class _Interrupter:
    """A mock backend that delivers SIGINT to its own process during chosen ticks."""

    name = "mock"

    def __init__(self, signals: dict[int, int], which: signal.Signals = signal.SIGINT) -> None:
        self.inner = MockBackend()
        self.signals = signals  # tick -> how many signals to send during it
        self.which = which

    def open(self, context: BackendContext) -> None:
        self.inner.open(context)

    def close(self) -> None:
        self.inner.close()

    def execute(self, batch: ActionBatch) -> Outcomes:
        for _ in range(self.signals.get(batch.tick, 0)):
            os.kill(os.getpid(), self.which)
        return self.inner.execute(batch)


def _session(
    config: Config, folder: Path, signals: dict[int, int], which: signal.Signals = signal.SIGINT
) -> tuple[RunSession, Path]:
    config = with_overrides(config, start=dt.datetime(2026, 1, 5, 19, 0))  # evening: every tick acts
    sim = Simulation(config)
    log = folder / "actions.jsonl"
    sink = JsonlSink(log, LogHeader.of(sim))
    control = RunControl()
    controller = Controller(sim, _Interrupter(signals, which), [sink], pacer=Pacer(config.tick_seconds))
    return RunSession(
        controller, folder, control, log_file=log, snapshot_every=4, serve_control=False
    ), log


def test_first_sigint_finishes_the_tick_and_snapshots(small_config: Config, tmp_path: Path) -> None:
    """One SIGINT: the tick finishes, the log has it, a snapshot is written at the stop."""
    session, log = _session(small_config, tmp_path, {9: 1})
    result = session.run(50)
    session.controller.close()
    assert result.stopped_by == "SIGINT" and not result.hard and result.tick == 10
    assert result.snapshot == tmp_path / "snapshots" / snapshot.snapshot_name(10)
    assert snapshot.load(result.snapshot).manifest["log"]["bytes"] == log.stat().st_size
    assert max(r["tick"] for r in read_log(log)) == 9


def test_sigterm_stops_gracefully(small_config: Config, tmp_path: Path) -> None:
    """SIGTERM is a graceful stop too, and the previous handler comes back afterwards."""
    before = signal.getsignal(signal.SIGTERM)
    session, _ = _session(small_config, tmp_path, {5: 1}, signal.SIGTERM)
    result = session.run(50)
    session.controller.close()
    assert result.stopped_by == "SIGTERM" and not result.hard and result.tick == 6
    assert result.snapshot is not None and snapshot.load(result.snapshot).tick == 6
    assert signal.getsignal(signal.SIGTERM) == before


def test_second_sigint_stops_at_once_but_keeps_the_log(small_config: Config, tmp_path: Path) -> None:
    """Two SIGINTs: stop inside the tick; the log holds every finished tick; the last snapshot stays."""
    session, log = _session(small_config, tmp_path, {9: 2})
    result = session.run(50)
    session.controller.close()
    assert result.hard and result.stopped_by == "SIGINT" and result.tick == 9
    assert result.snapshot == tmp_path / "snapshots" / snapshot.snapshot_name(8)  # the periodic one
    ticks = [r["tick"] for r in read_log(log)]
    assert ticks and max(ticks) <= 8 and log.read_bytes().endswith(b"\n")
    assert snapshot.load(result.snapshot).manifest["log"]["bytes"] < log.stat().st_size  # tick 8 since
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


# --- the CLI ----------------------------------------------------------------------------


def test_cli_resume_from_a_middle_snapshot_matches_a_straight_run(tmp_path: Path) -> None:
    """`run --resume` from an older snapshot cuts the log back and finishes identically."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _invoke("run", PROFILE, "--duration", "4h", "-q", "--out", str(straight))[0] == 0
    args = ("run", PROFILE, "--duration", "4h", "-q", "--out", str(split), "--snapshot-every", "1h")
    assert _invoke(*args)[0] == 0
    names = [p.name for p in snapshot.all_snapshots(split)]
    assert names == ["tick-00000120.npz", "tick-00000180.npz", "tick-00000240.npz"]
    code, out = _invoke("run", "--resume", str(split / "snapshots" / names[0]))
    assert code == 0, out
    assert "resuming from" in out
    assert (split / "actions.jsonl").read_bytes() == (straight / "actions.jsonl").read_bytes()
    a = json.loads((straight / "summary.json").read_text())
    b = json.loads((split / "summary.json").read_text())
    for key in ("wall_seconds", "actions_per_second", "log", "snapshot", "resumed_from"):
        a.pop(key, None)
        b.pop(key, None)
    for pacing in (a["pacing"], b["pacing"]):
        pacing.pop("actions_per_second")  # real time, like wall_seconds
    assert a == b


def test_cli_resume_refuses_a_changed_config(tmp_path: Path) -> None:
    """A changed config is refused naming the change; --force continues; --duration may grow."""
    out_dir = tmp_path / "run"
    assert _invoke("run", PROFILE, "--duration", "2h", "-q", "--out", str(out_dir))[0] == 0
    code, out = _invoke("run", PROFILE, "--resume", str(out_dir), "--users", "50")
    assert code == 2 and "population.initial_users: 1000 → 50" in out and "--force" in out
    assert "Traceback" not in out
    code, out = _invoke("run", "--resume", str(out_dir), "--duration", "3h", "-q")
    assert code == 0, out
    assert max(r["tick"] for r in read_log(out_dir / "actions.jsonl")) == 179
    code, out = _invoke(
        "run", PROFILE, "--resume", str(out_dir), "--users", "50", "--duration", "4h", "--force"
    )
    assert code == 0 and "--force: continuing despite population.initial_users" in out


def test_cli_bad_snapshot_and_missing_config(tmp_path: Path) -> None:
    """A corrupt snapshot or no CONFIG at all: exit 2, a message, no traceback."""
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really")
    code, out = _invoke("run", "--resume", str(bad))
    assert code == 2 and "not a usable simcore snapshot" in out and "Traceback" not in out
    code, out = _invoke("run")
    assert code == 2 and "--resume" in out


def test_a_failing_snapshot_is_reported_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If snapshots cannot be written (here: a full disk), the run finishes and says so.
    (A run directory that already holds files is refused, so the disk fails instead.)"""
    run_dir = tmp_path / "run"

    def full_disk(path: Path, *_: object) -> Path:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(snapshot, "_write", full_disk)
    code, out = _invoke(
        "run", PROFILE, "--duration", "3h", "--snapshot-every", "1h", "--out", str(run_dir)
    )
    assert code == 0, out
    assert "snapshot failed" in out and "a snapshot could not be written" in out
    assert "Traceback" not in out
    assert max(r["tick"] for r in read_log(run_dir / "actions.jsonl")) == 179
