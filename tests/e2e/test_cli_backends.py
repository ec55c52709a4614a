"""The CLI's backend options and `simcore serve`: clear messages and exit 2 for bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from simcore.ui.cli import main
from tests.support.liveserver import free_port

SMALL = """
seed = 3
duration = "30m"
start = 2026-01-05T18:00:00
[population]
initial_users = 60
"""


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "nosuch"], "unknown backend 'nosuch'"),
        (["--backend", "htp"], "did you mean 'http'"),
        (["--backend", "http", "--target", "not a url"], "--target"),
        (["--backend", "http", "--target", "ftp://127.0.0.1:21"], "http:// or https://"),
        (["--backend", "http", "--target", "http://127.0.0.1:70000"], "--target"),
        (["--backend", "testclient", "--app", "no_such_module_here:app"], "cannot import module"),
        (["--backend", "testclient", "--app", "json:no_such_attr"], "has no attribute 'no_such_attr'"),
        (["--backend", "testclient", "--app", "nocolon"], "module:attribute"),
        (["--backend", "mock", "--target", "http://127.0.0.1:8000"], "takes no option --target"),
    ],
)
def test_bad_backend_input_exits_2_with_a_message(
    profile: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    """Each is one clear message, exit code 2, no traceback, and no run directory."""
    code, output = invoke("run", str(profile), "--out", str(tmp_path / "out"), *args)
    assert code == 2, output
    assert message in output
    assert "Traceback" not in output
    assert not (tmp_path / "out").exists()


def test_unreachable_target_exits_2(profile: Path, tmp_path: Path) -> None:
    """Nothing listens on the port: say so, and how to fix it."""
    port = free_port()
    code, output = invoke(
        "run",
        str(profile),
        "--backend",
        "http",
        "--target",
        f"http://127.0.0.1:{port}",
        "--out",
        str(tmp_path),
    )
    assert code == 2
    assert f"cannot reach the target http://127.0.0.1:{port}" in output and "simcore serve" in output
    assert "Traceback" not in output


def test_run_with_testclient_writes_a_log(profile: Path, tmp_path: Path) -> None:
    """--backend testclient runs the reference app in process over a temporary database."""
    code, output = invoke(
        "run", str(profile), "--backend", "testclient", "-q", "--out", str(tmp_path / "r")
    )
    assert code == 0, output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["backend"] == "testclient" and summary["actions"] > 60
    lines = (tmp_path / "r" / "actions.jsonl").read_text().splitlines()
    assert len(lines) == summary["actions"]
    assert set(summary["statuses"]) <= {"200", "201", "204", "404"}


@pytest.mark.server
def test_serve_then_run_http_then_ctrl_c(profile: Path, tmp_path: Path) -> None:
    """`simcore serve` answers, `simcore run --backend http` drives it, Ctrl-C stops it cleanly."""
    port = free_port()
    db = tmp_path / "served.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "simcore.ui.cli", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    assert json.load(r) == {"status": "ok"}
                break
            except OSError:
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "simcore serve did not come up"
                time.sleep(0.1)
        target = f"http://127.0.0.1:{port}"
        code, output = invoke(
            "run",
            str(profile),
            "--backend",
            "http",
            "--target",
            target,
            "-q",
            "--out",
            str(tmp_path / "r"),
        )
        assert code == 0, output
        summary = json.loads((tmp_path / "r" / "summary.json").read_text())
        assert summary["backend"] == "http" and summary["errors"] == {}
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=20)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, out
    assert "stopped" in out and "Traceback" not in out
    assert db.exists()


def test_serve_refuses_a_busy_port(tmp_path: Path) -> None:
    """A port already taken is a clear message and exit 2, not a uvicorn traceback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, output = invoke("serve", "--db", str(tmp_path / "x.db"), "--port", str(port))
    assert code == 2 and "cannot listen on" in output and "Traceback" not in output
