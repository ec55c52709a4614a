"""``--workers N`` on a local Ray runtime: the same run as one process, stopped and resumed
with another worker count, a killed worker, and workers that cannot start.

One Ray runtime serves the whole test session (the ``ray_runtime`` fixture); the runs are
small (a couple of hundred users, a few simulated hours)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.core.simulation import Simulation
from simcore.run import snapshot as snapshots
from simcore.run.builder import build_run
from simcore.run.sharded import ShardedSimulation
from simcore.scenario.parse import loads_config, with_overrides
from simcore.scenario.schema import Config
from simcore.ui.cli import main
from tests.support.paths import DEFAULT_PROFILE
from tests.support.runner import AtTick

RUN = ("run", str(DEFAULT_PROFILE), "--users", "150", "--duration", "3h", "--quiet", "--no-control")


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def single_log(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The one-process log of the runs below."""
    out = tmp_path_factory.mktemp("single") / "run"
    code, output = _cli(*RUN, "--seed", "11", "--out", str(out))
    assert code == 0, output
    return (out / "actions.jsonl").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_workers_write_the_one_process_log(
    ray_runtime: None, single_log: bytes, workers: int, tmp_path: Path
) -> None:
    """``--workers N`` writes the one-process action log byte for byte, and the same summary."""
    out = tmp_path / "run"
    code, output = _cli(*RUN, "--seed", "11", "--workers", str(workers), "--out", str(out))
    assert code == 0, output
    assert (out / "actions.jsonl").read_bytes() == single_log
    summary = json.loads((out / "summary.json").read_text())
    assert summary["workers"] == workers
    assert summary["actions"] == len(single_log.splitlines())


def _state(sim: Simulation) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in sim.state_arrays().items()}


@pytest.mark.slow
@settings(max_examples=4, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(40, 400))
def test_any_worker_count_decides_the_one_process_batches(
    ray_runtime: None, seed: int, workers: int, users: int
) -> None:
    """Property: for any seed, worker count and population, every batch (and its tags) and the
    final state are the one-process run's."""
    config = with_overrides(loads_config(""), seed=seed, population__initial_users=users, duration="1h")
    one, sharded = Simulation(config), ShardedSimulation.start(config, workers)
    try:
        for _ in range(config.duration_ticks):
            a, b = one.step(), sharded.step()
            assert a.equals(b) and np.array_equal(a.tag, b.tag)
    finally:
        sharded.close()
    left, right = _state(one), _state(sharded)
    assert all(np.array_equal(left[k], right[k]) for k in left)


def _config(seed: int = 5) -> Config:
    return with_overrides(loads_config(""), seed=seed, population__initial_users=200, duration="3h")


def _straight(config: Config, folder: Path) -> bytes:
    with build_run(config, run_dir=folder, control_socket=False, handle_signals=False) as run:
        run.execute()
    return (folder / "actions.jsonl").read_bytes()


@pytest.mark.slow
def test_stopped_with_two_workers_resumed_with_three(ray_runtime: None, tmp_path: Path) -> None:
    """A run on 2 workers stopped (as `simcore ctl stop` does) and resumed on 3 workers, then
    on none, ends with the one-process log; the snapshots are the one process's."""
    config = _config()
    expected = _straight(config, tmp_path / "straight")
    folder = tmp_path / "split"
    with build_run(config, run_dir=folder, control_socket=False, handle_signals=False, workers=2) as run:
        run.watch(sink=AtTick(50, lambda: run.control.request_stop("ctl stop")))
        result = run.execute()
    assert result.stopped_by == "ctl stop" and result.tick == 51 and result.snapshot is not None
    snap = snapshots.load(result.snapshot)
    with build_run(
        snap.config, resume=snap, control_socket=False, handle_signals=False, workers=3
    ) as run:
        run.watch(sink=AtTick(120, lambda: run.control.request_stop("ctl stop")))
        result = run.execute()
    assert result.tick == 121 and result.snapshot is not None
    snap = snapshots.load(result.snapshot)
    with build_run(snap.config, resume=snap, control_socket=False, handle_signals=False) as run:
        result = run.execute()
    assert result.stopped_by is None
    assert (folder / "actions.jsonl").read_bytes() == expected


@pytest.mark.slow
def test_a_killed_worker_stops_the_run_at_its_last_whole_tick(ray_runtime: None, tmp_path: Path) -> None:
    """Killing a worker's process stops the run cleanly: the error names the worker, the
    summary and a snapshot of the last whole tick are written, and --resume (on workers)
    finishes the one-process log."""
    config = _config(seed=9)
    expected = _straight(config, tmp_path / "straight")
    folder = tmp_path / "killed"
    with build_run(config, run_dir=folder, control_socket=False, handle_signals=False, workers=2) as run:
        sim = run.simulation
        assert isinstance(sim, ShardedSimulation)
        _, pid = sim.pool.places[1]
        run.watch(sink=AtTick(70, lambda: os.kill(pid, signal.SIGKILL)))
        result = run.execute()
    lost = run.session.lost
    assert lost is not None and lost.worker == 1
    assert f"worker 1 of 2 (pid {pid}" in str(
        lost
    ) and "stopped after tick 70, its last whole tick" in str(lost)
    assert result.stopped_by == "worker 1 lost" and result.tick == 71
    assert result.snapshot is not None and result.snapshot.name == snapshots.snapshot_name(71)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["stopped_by"] == "worker 1 lost" and summary["ticks"] == 71
    code, output = _cli("run", "--resume", str(folder), "--workers", "2", "--quiet", "--no-control")
    assert code == 0, output
    assert (folder / "actions.jsonl").read_bytes() == expected


def test_workers_without_ray_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Ray not installed: exit 2, the install command, no run directory."""
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code, output = _cli(*RUN, "--workers", "2", "--out", str(tmp_path / "run"))
    assert code == 2
    assert "needs Ray, which is not installed" in output and "pip install 'simcore[ray]'" in output
    assert not (tmp_path / "run").exists()


def test_an_unreachable_cluster_is_a_clear_error(tmp_path: Path) -> None:
    """A cluster nobody listens at: exit 2 naming the address and how to start one."""
    pytest.importorskip("ray")
    code, output = _cli(*RUN, "--ray-address", "127.0.0.1:9", "--out", str(tmp_path / "run"))
    assert code == 2
    assert "cannot reach the Ray cluster at 127.0.0.1:9" in output and "ray start --head" in output
    assert not (tmp_path / "run").exists()
    code, output = _cli(*RUN, "--ray-address", "nowhere", "--out", str(tmp_path / "run"))
    assert code == 2 and "expected HOST:PORT" in output


def test_zero_workers_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    code, output = _cli(*RUN, "--workers", "0", "--out", str(tmp_path / "run"))
    assert code == 2 and "--workers: got 0, expected a count >= 1" in output


@pytest.mark.slow
def test_ctrl_c_on_workers_stops_gracefully_and_resumes(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the run's whole process group, as a terminal sends it) stops a
    `--workers 2` run after its tick with a snapshot (exit 130); --resume finishes the
    one-process log. The run starts its own local Ray runtime and shuts it down."""
    import subprocess
    import time

    args = ["run", str(DEFAULT_PROFILE), "--seed", "4", "--users", "300", "--duration", "1d"]
    straight = tmp_path / "straight"
    code, output = _cli(*args, "--quiet", "--no-control", "--out", str(straight))
    assert code == 0, output
    folder = tmp_path / "stopped"
    command = [sys.executable, "-m", "simcore", *args, "--workers", "2", "--out", str(folder)]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        log = folder / "actions.jsonl"
        deadline = time.monotonic() + 180
        while (not log.exists() or log.stat().st_size < 200_000) and proc.poll() is None:
            assert time.monotonic() < deadline, "the run did not get going"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, output
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["stopped_by"] == "SIGINT" and summary["workers"] == 2
    assert summary["snapshot"] is not None and "continue with: simcore run --resume" in output
    code, output = _cli("run", "--resume", str(folder), "--quiet", "--no-control")
    assert code == 0, output
    assert log.read_bytes() == (straight / "actions.jsonl").read_bytes()


@pytest.mark.slow
@pytest.mark.server
def test_http_on_workers_sends_the_one_process_stream(ray_runtime: None, tmp_path: Path) -> None:
    """`--backend http --workers 2` against the reference app: each worker sends its users'
    actions on its own http backend, learning the server ids the other learned at each tick's
    end; the same action stream (and, without faults, the same statuses) as the one-process
    mock run."""
    from simcore.logs.read import read_rows
    from simcore_backends.refapp import create_app
    from tests.support.liveserver import uvicorn_server

    profile = tmp_path / "evening.toml"
    profile.write_text('seed = 3\nduration = "40m"\nstart = 2026-01-05T19:00:00\n')
    args = ["run", str(profile), "--users", "150"]
    code, output = _cli(*args, "--quiet", "--no-control", "--out", str(tmp_path / "mock"))
    assert code == 0, output
    keep = ("seq", "tick", "time", "user", "action", "method", "path", "post", "ref", "status")
    mock = [{k: r[k] for k in keep} for r in read_rows(tmp_path / "mock" / "actions.jsonl")]
    for name, speed in (("http", "max"), ("paced", "3000")):
        with uvicorn_server(create_app(tmp_path / f"{name}.db")) as url:
            code, output = _cli(
                *args, "--backend", "http", "--target", url, "--workers", "2", "--speed", speed,
                "--quiet", "--no-control", "--out", str(tmp_path / name),
            )  # fmt: skip
        assert code == 0, output
        http = [{k: r[k] for k in keep} for r in read_rows(tmp_path / name / "actions.jsonl")]
        assert http == mock and len(mock) > 100, name
    kinds = {r["action"] for r in mock}
    assert {"like_post", "read_post", "follow_user", "repost"} <= kinds  # ids from the other worker
    summary = json.loads((tmp_path / "http" / "summary.json").read_text())
    assert summary["backend"] == "http" and summary["workers"] == 2


@pytest.mark.slow
def test_a_killed_worker_through_the_cli(ray_runtime: None, tmp_path: Path) -> None:
    """Through `simcore run --workers 2`: a worker killed mid-run is named in a red error,
    the stop message says where to resume from, and the exit code is 5."""
    import threading
    import time

    import ray

    out = tmp_path / "run"
    done = threading.Event()

    def kill_one() -> None:
        log = out / "actions.jsonl"
        while not done.is_set() and (not log.exists() or log.stat().st_size < 100_000):
            time.sleep(0.05)
        named = ray.util.list_named_actors(all_namespaces=True)
        mine = [a for a in named if a["name"].startswith("simcore-") and a["name"].endswith("-worker-1")]
        actor = ray.get_actor(mine[-1]["name"], namespace=mine[-1]["namespace"])
        _, pid = ray.get(actor.where.remote())
        os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_one, daemon=True)
    killer.start()
    try:
        code, output = _cli(
            "run", str(DEFAULT_PROFILE), "--users", "300", "--duration", "1d", "--workers", "2",
            "--out", str(out), "--no-control", "--no-dashboard",
        )  # fmt: skip
    finally:
        done.set()
        killer.join(timeout=30)
    assert code == 5, output
    assert "error: worker 1 of 2 (pid" in output and "died" in output
    assert (
        "stopped gracefully by worker 1 lost" in output
        and "continue with: simcore run --resume" in output
    )


@pytest.mark.slow
@pytest.mark.server
def test_http_on_workers_resumes_with_every_workers_ids(ray_runtime: None, tmp_path: Path) -> None:
    """An http run on 2 workers, stopped and resumed on 3 workers, then on none, against the
    same reference app: the snapshots carry the ids every worker learned (tokens, users',
    posts'), so the resumed runs read, like and follow what was created before the stop and
    the statuses are the one-process mock run's."""
    from simcore.logs.read import read_rows
    from simcore_backends.refapp import create_app
    from tests.support.liveserver import uvicorn_server

    keep = ("seq", "tick", "user", "action", "path", "post", "ref", "status")
    evening = with_overrides(
        loads_config("start = 2026-01-05T19:00:00\n"),
        seed=3,
        population__initial_users=150,
        duration="40m",
    )
    _straight(evening, tmp_path / "mock")
    expected = [{k: r[k] for k in keep} for r in read_rows(tmp_path / "mock" / "actions.jsonl")]
    folder = tmp_path / "http"
    with uvicorn_server(create_app(tmp_path / "app.db")) as url:
        config = with_overrides(evening, backend__name="http", backend__target=url)
        snap = None
        for workers, stop in ((2, 12), (3, 25), (None, None)):
            with build_run(
                config if snap is None else snap.config,
                run_dir=folder if snap is None else None,
                resume=snap,
                control_socket=False,
                handle_signals=False,
                workers=workers,
            ) as run:
                if stop is not None:
                    run.watch(sink=AtTick(stop, lambda: run.control.request_stop("ctl stop")))
                result = run.execute()
            if stop is not None:
                assert result.tick == stop + 1 and result.snapshot is not None
                snap = snapshots.load(result.snapshot)
                assert any(k.startswith("backend.") for k in snap.arrays), "no id map saved"
    got = [{k: r[k] for k in keep} for r in read_rows(folder / "actions.jsonl")]
    assert len(got) == len(expected) > 100
    assert got == expected
    kinds = {r["action"] for r in got if r["tick"] > 12}
    assert {"like_post", "read_post", "follow_user"} <= kinds  # of what the first part created


@pytest.mark.slow
def test_ray_address_joins_a_running_cluster(
    ray_runtime: None, single_log: bytes, tmp_path: Path
) -> None:
    """`--ray-address` joins a cluster that is already up (this session's runtime, as `ray
    start --head` would leave one) from another process, places a worker on it without a
    count (one per node), writes the one-process log, and leaves the cluster running."""
    import subprocess

    import ray

    address = ray.get_runtime_context().gcs_address
    out = tmp_path / "run"
    command = [sys.executable, "-m", "simcore", *RUN, "--seed", "11", "--ray-address", address]
    proc = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "actions.jsonl").read_bytes() == single_log
    summary = json.loads((out / "summary.json").read_text())
    assert summary["workers"] == len([n for n in ray.nodes() if n["Alive"]]) == 1
    assert ray.is_initialized() and ray.get(ray.put(7)) == 7  # the cluster is still up
