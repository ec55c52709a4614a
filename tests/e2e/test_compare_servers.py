"""The proof of ``simcore compare`` on real servers: the reference app served twice by ``simcore
serve`` (once as is, once with ``--slow`` on GET /posts/{id}), one ``simcore run`` of the same
seed against each, side by side; ``simcore compare`` flags exactly that endpoint, exit 3.

The two runs go at the same time so that both see the machine as it is (other jobs on a
shared machine move latencies between runs made one after the other; benchmarks/RESULTS.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from simcore.analysis.thresholds import EXIT_THRESHOLDS_FAILED
from simcore.ui.cli import main
from tests.support.liveserver import free_port

pytest.importorskip("uvicorn")

SCENARIO = """
seed = {seed}
duration = "1h"
start = 2026-01-05T19:00:00
[population]
initial_users = 300
"""


@contextmanager
def served(tmp: Path, *slow: str) -> Iterator[str]:
    """``simcore serve`` on a free loopback port with a fresh database; yield its URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "simcore",
        "serve",
        "--port",
        str(port),
        "--db",
        str(tmp / "app.db"),
    ]
    for spec in slow:
        command += ["--slow", spec]
    tmp.mkdir(parents=True)
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"simcore serve did not start: {server.stderr.read()!r}"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("seed", [3])
def test_compare_flags_exactly_the_slowed_endpoint(tmp_path: Path, seed: int) -> None:
    config = tmp_path / "scenario.toml"
    config.write_text(SCENARIO.format(seed=seed), encoding="utf-8")
    runs = {"a": tmp_path / "run-a", "b": tmp_path / "run-b"}
    with ExitStack() as stack:
        urls = {
            "a": stack.enter_context(served(tmp_path / "app-a")),
            "b": stack.enter_context(served(tmp_path / "app-b", "GET /posts/{id}=20ms")),
        }
        processes = {}
        for name in ("a", "b"):
            command = [sys.executable, "-m", "simcore", "run", str(config), "--backend", "http"]
            command += ["--target", urls[name], "--speed", "240", "--out", str(runs[name]), "-q"]
            processes[name] = subprocess.Popen(
                [*command, "--no-control"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
        for name, process in processes.items():
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, f"run {name}: {err}"
    result = CliRunner().invoke(main, ["compare", str(runs["a"]), str(runs["b"])])
    assert result.exit_code == EXIT_THRESHOLDS_FAILED, result.output
    data = json.loads((runs["b"] / "compare.json").read_text())
    assert data["regressed"] == ["GET /posts/{id}"], result.output
    read = next(e for e in data["endpoints"] if e["endpoint"] == "GET /posts/{id}")
    assert read["median_ratio"]["low"] > 2  # 20 ms on a few ms
    assert read["latency_ms"]["b"]["p50"] - read["latency_ms"]["a"]["p50"] >= 19
    assert data["throughput"]["a"] > 0 and data["throughput"]["b"] > 0
    assert all(e["new_failures"] == 0 for e in data["endpoints"])
