"""``simcore run --web``: the live page in a real headless browser (Debian's chromium driven by
Playwright), its controls, ``/metrics`` against the log, and the OpenTelemetry export.

Each test starts ``simcore run`` as a user would (a subprocess on a free loopback
port) and stops it. Screenshots go to ``test-artifacts/web/`` (not in git).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from simcore.logs.read import read_rows
from tests.support.helpers import wait_until
from tests.support.liveserver import free_port
from tests.support.paths import DEFAULT_PROFILE, REPO_ROOT
from tests.support.webrun import get, get_state, web_run

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
ARTIFACTS = REPO_ROOT / "test-artifacts" / "web"


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium; .ci/run does)"
)
def test_the_page_updates_and_its_controls_steer_the_run(tmp_path: Path) -> None:
    """Charts update; pause stops the run advancing; speed changes; a snapshot asked for while
    paused is written (at once, or when the paused tick is done); resume continues; stop ends the run cleanly with its summary, and the page says so."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with web_run(tmp_path, "--duration", "2d", "--speed", "600") as (base, proc, out):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(base)
            page.wait_for_function(
                "Number(document.documentElement.dataset.updates) >= 3", timeout=20_000
            )
            assert page.locator("#chart-actions canvas").count() >= 1  # uPlot drew
            first = int(page.get_attribute("#chart-actions", "data-points") or 0)
            page.wait_for_function(
                f"Number(document.getElementById('chart-actions').dataset.points) > {first}",
                timeout=10_000,
            )
            page.screenshot(path=str(ARTIFACTS / "running.png"), full_page=True)

            page.click("button[data-command=pause]")
            page.wait_for_function(
                "document.documentElement.dataset.status === 'paused'", timeout=10_000
            )
            tick = get_state(base)["tick"]
            time.sleep(2.0)
            assert get_state(base)["tick"] == tick  # it stopped advancing
            page.screenshot(path=str(ARTIFACTS / "paused.png"), full_page=True)

            page.select_option("#speed-select", "1800x")
            wait_until("the speed change", lambda: get_state(base)["speed"] == "1800x", 10)
            page.fill("#rate-input", "250")
            page.click("#rate-set")
            wait_until("the rate target", lambda: get_state(base)["rate"] == "250/s", 10)
            page.click("button[data-command=rate]")  # rate off
            wait_until("the rate target off", lambda: get_state(base)["rate"] == "off", 10)

            assert not list((out / "snapshots").glob("tick-*.npz"))
            page.click("button[data-command=snapshot]")  # paused: now, or when the paused tick is done
            page.wait_for_function(
                "document.getElementById('control-reply').textContent.startsWith('snapshot: ok')"
            )
            page.click("button[data-command=resume]")
            page.wait_for_function(
                "document.documentElement.dataset.status === 'running'", timeout=10_000
            )
            wait_until("the run to advance", lambda: get_state(base)["tick"] > tick, 10)
            wait_until("a snapshot", lambda: list((out / "snapshots").glob("tick-*.npz")), 10)
            assert get_state(base)["status"] == "running"

            page.click("button[data-command=stop]")
            page.wait_for_function("document.documentElement.dataset.status === 'ended'", timeout=30_000)
            assert page.is_visible("#ended")
            assert (
                get(base + "report").lower().startswith(b"<!doctype html")
            )  # the page's report link works
            page.screenshot(path=str(ARTIFACTS / "ended.png"), full_page=True)
            browser.close()
            assert not errors, errors
        proc.terminate()
        proc.wait(timeout=15)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_by"] == "ctl stop"
    assert summary["ticks"] < 2 * 1440


@pytest.mark.server
def test_metrics_equal_the_log(tmp_path: Path) -> None:
    """/metrics, scraped once the run has ended, counts what the log holds, by kind and status."""
    from prometheus_client.parser import text_string_to_metric_families

    with web_run(tmp_path, "--duration", "3h", "--users", "300") as (base, _proc, out):
        wait_until("the run to end", lambda: get_state(base)["status"] == "ended", 60)
        text = get(base + "metrics").decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    scraped = Counter(
        {
            (s.labels["kind"], s.labels["status"]): int(s.value)
            for s in families["simcore_actions"].samples
            if s.name == "simcore_actions_total"
        }
    )
    rows = read_rows(out / "actions.jsonl")
    assert scraped == Counter((r["action"], str(r["status"])) for r in rows)
    users = sum(int(s.value) for s in families["simcore_users"].samples)
    assert users == sum(r["action"] == "sign_up" for r in rows)
    routes = {s.labels["route"] for s in families["simcore_actions"].samples}
    assert "GET /posts/{id}" in routes
    assert any(
        s.name == "simcore_request_latency_seconds_bucket"
        for s in families["simcore_request_latency_seconds"].samples
    )


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.mark.server
def test_otel_export_reaches_an_otlp_endpoint(tmp_path: Path) -> None:
    """--otel-endpoint sends the actions counter over OTLP/HTTP; its final value is the log's."""
    from click.testing import CliRunner
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    from simcore.ui.cli import main

    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        out = tmp_path / "run"
        args = ["run", str(DEFAULT_PROFILE), "--duration", "2h", "--users", "200", "--out", str(out)]
        result = CliRunner().invoke(main, [*args, "--quiet", "--no-control", "--otel-endpoint", url])
        assert result.exit_code == 0, result.output
    finally:
        server.shutdown()
    assert _Collector.received, "nothing was exported"
    last = ExportMetricsServiceRequest()
    last.ParseFromString(_Collector.received[-1])
    totals: Counter[str] = Counter()
    for resource in last.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "simcore_actions":
                    for point in metric.sum.data_points:
                        attrs = {a.key: a.value.string_value for a in point.attributes}
                        totals[attrs["kind"]] += int(point.as_int or point.as_double)
    rows = read_rows(out / "actions.jsonl")
    assert totals == Counter(r["action"] for r in rows)


def test_bind_addresses() -> None:
    """--web-bind is HOST:PORT; loopback hosts are told apart from others."""
    from simcore.errors import UsageError
    from simcore.ui.webview import is_loopback, parse_bind

    assert parse_bind("127.0.0.1:8089") == ("127.0.0.1", 8089)
    assert parse_bind("[::1]:9000") == ("::1", 9000)
    for bad in ("8089", "host:", "h:99999", ":80"):
        with pytest.raises(UsageError, match="HOST:PORT"):
            parse_bind(bad)
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and not is_loopback("0.0.0.0")


@pytest.mark.server
def test_the_web_view_follows_a_resumed_run(tmp_path: Path) -> None:
    """--resume with --web: the page's state continues from the snapshot, and /metrics counts
    the whole run (the part before the resume included), as the log does."""
    from click.testing import CliRunner
    from prometheus_client.parser import text_string_to_metric_families

    from simcore.ui.cli import main

    first = tmp_path / "run"
    args = ["run", str(DEFAULT_PROFILE), "--duration", "2h", "--users", "200", "--out", str(first)]
    assert CliRunner().invoke(main, [*args, "--quiet", "--no-control"]).exit_code == 0
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    cmd = [sys.executable, "-m", "simcore", "run", "--resume", str(first), "--duration", "4h", "--quiet"]
    cmd += ["--no-control", "--web-bind", f"127.0.0.1:{port}", "--web-linger", "20"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:

        def ended() -> bool:
            try:
                return bool(get_state(base)["status"] == "ended")
            except OSError:
                assert proc.poll() is None, proc.communicate()
                return False

        wait_until("the resumed run to end", ended, 60)
        state = get_state(base)
        text = get(base + "metrics").decode()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert state["tick"] == 240 and state["simulated_time"].endswith("04:00")
    rows = read_rows(first / "actions.jsonl")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    total = sum(
        int(s.value) for s in families["simcore_actions"].samples if s.name == "simcore_actions_total"
    )
    assert total == len(rows) == state["actions"]
