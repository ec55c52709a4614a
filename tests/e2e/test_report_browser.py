"""report.html in a real headless browser (Debian's chromium): no console errors, charts drawn.

The browser is driven through the DevTools protocol over a websocket (aiohttp's
client): console messages and exceptions are collected while the page loads,
then each uPlot chart's canvas is measured (its size, its coloured pixels: the
series drawn, not just axes and grid, which are grey) and a screenshot saved in the
test's tmp dir. Without chromium the test is skipped and says so. Nothing goes to the
network: the page is a local file and the browser runs with networking off.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simcore.analysis.metrics import Metrics
from simcore.core.simulation import Simulation
from simcore.logs.fields import LogHeader
from simcore.logs.jsonl import JsonlSink
from simcore.run.controller import Controller
from simcore.run.runfiles import MetricsSink, analyse
from simcore.scenario.parse import dump_config, with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import ErrorKind
from simcore_backends.mock import MockBackend

aiohttp = pytest.importorskip("aiohttp")

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--window-size=1400,2400",
)
MEASURE = """JSON.stringify({
  charts: Array.from(document.querySelectorAll('figure.chart[data-chart]')).map(function (fig) {
    var c = fig.querySelector('canvas'), coloured = 0;
    if (c) {
      var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (var i = 0; i < d.length; i += 4) {
        var hi = Math.max(d[i], d[i + 1], d[i + 2]), lo = Math.min(d[i], d[i + 1], d[i + 2]);
        if (d[i + 3] > 0 && hi - lo > 40) coloured++;
      }
    }
    return {id: fig.id, canvas: !!c, width: c ? c.getBoundingClientRect().width : 0,
            coloured: coloured, legend: fig.querySelectorAll('.u-legend .u-series').length};
  }),
  empty: Array.from(document.querySelectorAll('figure.chart.empty')).map(function (f) { return f.id; }),
  ready: document.documentElement.dataset.charts,
  resources: performance.getEntriesByType('resource').length
})"""


#: The charts over simulated time and over the day, by figure id.
SIM_CHARTS = ("sim-users", "sim-actions", "day-states", "day-actions", "sim-latency", "sim-failures")


class LatencyMock(MockBackend):
    """The mock with lognormal latencies and a few timeouts, so every chart has data."""

    def execute(self, batch: Any) -> Any:
        out = super().execute(batch)
        rng = np.random.default_rng(batch.tick)
        out.latency_ms = rng.lognormal(2.0, 0.8, len(batch)).astype(np.float32)
        slow = rng.random(len(batch)) < 0.01
        out.error[slow], out.status[slow] = ErrorKind.TIMEOUT, 0
        return out


def _make_run(config: Config, directory: Path) -> Path:
    sim = Simulation(config)
    log = JsonlSink(directory / "actions.jsonl", LogHeader.of(sim))
    metrics = Metrics(config.tick_seconds, config.start, sim.routine.state_names, sim.profile_names)
    metrics.population_states = lambda: sim.population.state[: sim.population.n]
    controller = Controller(sim, LatencyMock(), [log, MetricsSink(metrics, directory)])
    controller.run(config.duration_ticks)
    controller.close()
    analyse(
        directory,
        metrics,
        controller.summary(),
        {"p99_ms": "< 250", "error_rate": "< 0.001"},
        dump_config(config),
    )
    return directory / "report.html"


class DevTools:
    """The smallest DevTools-protocol client: commands by id, events collected in order."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.next_id, self.events = ws, 0, []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        await self.ws.send_json({"id": my_id, "method": method, "params": params})
        while True:
            msg = await asyncio.wait_for(self.ws.receive_json(), 30)
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            self.events.append(msg)

    async def wait_for(self, event: str) -> None:
        if any(e.get("method") == event for e in self.events):
            return
        while True:
            msg = await asyncio.wait_for(self.ws.receive_json(), 30)
            self.events.append(msg)
            if msg.get("method") == event:
                return

    def problems(self) -> list[str]:
        out = []
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and p.get("type") in (
                "error",
                "assert",
                "warning",
            ):
                out.append(f"console.{p['type']}: {[a.get('value') for a in p.get('args', [])]}")
            elif method == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append(f"log {p['entry']['level']}: {p['entry']['text']}")
        return out


async def _visit(port: int, pages: list[Path], shot: Path) -> list[tuple[list[str], dict[str, Any]]]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json(content_type=None)
        page = next(t for t in targets if t["type"] == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            dt = DevTools(ws)
            for domain in ("Runtime", "Log", "Page"):
                await dt.call(f"{domain}.enable")
            results = []
            for i, path in enumerate(pages):
                dt.events = []
                await dt.call("Page.navigate", url=path.as_uri())
                await dt.wait_for("Page.loadEventFired")
                measured = await dt.call("Runtime.evaluate", expression=MEASURE, returnByValue=True)
                if i == 0:
                    png = await dt.call(
                        "Page.captureScreenshot", format="png", captureBeyondViewport=True
                    )
                    shot.write_bytes(base64.b64decode(png["data"]))
                results.append((dt.problems(), json.loads(measured["result"]["value"])))
            return results


def _browse(pages: list[Path], workdir: Path) -> list[tuple[list[str], dict[str, Any]]]:
    assert CHROMIUM is not None
    profile = workdir / "chromium-profile"
    proc = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"chromium did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        return asyncio.run(_visit(port, pages, workdir / "report.png"))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium found (apt-get install chromium); report not checked in a browser",
)
def test_report_opens_offline_with_charts_drawn(small_config: Config, tmp_path: Path) -> None:
    """report.html: no console errors, every uPlot chart drawn on its canvas, nothing loaded;
    a screenshot is saved."""
    config = with_overrides(small_config, duration="8h", tick_seconds=120)
    run = tmp_path / "run"
    run.mkdir()
    report = _make_run(config, run)
    broken = tmp_path / "broken.html"  # a control: the harness must see a script error
    broken.write_text(
        "<!DOCTYPE html><html><body><script>console.error('boom'); nope();</script></body></html>"
    )
    (problems, measured), (broken_problems, _) = _browse([report, broken], tmp_path)
    assert problems == []
    assert len(broken_problems) == 2, broken_problems
    charts = {c["id"]: c for c in measured["charts"]}
    assert set(charts) == {*SIM_CHARTS, "crowd-day", "latency-distribution"}, charts
    assert measured["ready"] == str(len(charts))  # the helper built every chart
    assert all(c["canvas"] and c["width"] > 300 and c["coloured"] > 200 for c in charts.values()), charts
    assert charts["sim-actions"]["legend"] == 1 + 12  # x, then every kind
    assert measured["empty"] == ["wall-none"]  # the mock sends nothing: no real time, said once
    assert "no real time on the mock" in report.read_text()
    assert measured["resources"] == 0  # self-contained: nothing fetched
    shot = tmp_path / "report.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


#: The charts over wall-clock time, by figure id.
WALL_CHARTS = ("wall-actions", "wall-latency", "wall-failures", "wall-endpoints", "wall-sessions")
HTTP_PROFILE = """
seed = 11
duration = "40m"
start = 2026-01-05T19:00:00
[population]
initial_users = 80
"""


def _specs(html: str) -> dict[str, dict[str, Any]]:
    found = re.findall(
        r'<figure class="chart" id="([^"]+)" data-chart="[a-z]+">.*?'
        r'<script type="application/json">(.*?)</script></figure>',
        html,
    )
    return {fid: json.loads(text) for fid, text in found}


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium found (apt-get install chromium)")
def test_report_of_an_http_run_draws_the_real_time_charts(tmp_path: Path) -> None:
    """Against the reference app served by uvicorn: actions/s, latency, failures/s, latency per
    endpoint and users in a session over wall-clock time, drawn; their numbers match the log."""
    from click.testing import CliRunner

    from simcore.logs.read import read_columns
    from simcore.ui.cli import main
    from simcore_backends.refapp import create_app
    from tests.support.liveserver import uvicorn_server

    profile = tmp_path / "p.toml"
    profile.write_text(HTTP_PROFILE)
    run = tmp_path / "run"
    with uvicorn_server(create_app(tmp_path / "app.db")) as url:
        args = ["run", str(profile), "--backend", "http", "--target", url, "--out", str(run)]
        result = CliRunner().invoke(main, [*args, "--speed", "800", "--quiet", "--no-control"])
    assert result.exit_code == 0, result.output
    html = (run / "report.html").read_text()
    specs = _specs(html)
    assert set(WALL_CHARTS) <= set(specs) and "no real time" not in html
    log = read_columns(run / "actions.jsonl", outcomes=True)
    sent = log.sent_at[log.sent_at > 0]
    assert len(sent) > 100
    per_second = specs["wall-actions"]
    assert per_second["x_axis"] == "time" and per_second["x_step"] == 1
    counts = np.bincount(sent // 1000 - int(per_second["x"][0]), minlength=len(per_second["x"]))
    assert per_second["series"][0]["values"] == counts.astype(float).tolist()  # 1 s buckets: actions/s
    sessions = specs["wall-sessions"]["series"][0]["values"]
    assert any(v is not None and v > 0 for v in sessions)
    assert {s["label"] for s in specs["wall-endpoints"]["series"]} >= {"sign_up", "browse_feed"}
    csv_rows = (run / "walltime.csv").read_text().splitlines()
    assert len(csv_rows) == 1 + len(per_second["x"])
    ((problems, measured),) = _browse([run / "report.html"], tmp_path)
    assert problems == []
    charts = {c["id"]: c for c in measured["charts"]}
    for fid in (*WALL_CHARTS, "latency-distribution"):
        assert charts[fid]["canvas"] and charts[fid]["coloured"] > 50, charts[fid]
    assert measured["ready"] == str(len(charts)) and measured["resources"] == 0
