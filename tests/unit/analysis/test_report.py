"""report.html's content without a browser: sections, charts, aggregation of long runs, the fixes of issue 12."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from simcore.analysis.endpoint import endpoints_of
from simcore.analysis.metrics import Metrics
from simcore.analysis.report import render
from simcore.core.simulation import Simulation
from simcore.scenario.kinds import KIND_NAMES
from simcore.scenario.kinds import ActionKind as K
from simcore.scenario.parse import loads_config
from simcore.seam.contract import BackendContext
from simcore_backends.mock import MockBackend
from tests.support import kinds_api
from tests.support.runner import small
from tests.unit.analysis.scripted import T0, batch_of, feed, new_metrics, scripted, sent_at


def specs(html: str) -> dict[str, dict[str, Any]]:
    """Each drawn chart's JSON spec, by figure id."""
    found = re.findall(
        r'<figure class="chart" id="([^"]+)" data-chart="[a-z]+">.*?'
        r'<script type="application/json">(.*?)</script></figure>',
        html,
    )
    return {fid: json.loads(text) for fid, text in found}


def notes(html: str) -> dict[str, str]:
    """Each empty chart's note, by figure id."""
    return dict(
        re.findall(r'<figure class="chart empty" id="([^"]+)">.*?<p class="chart-note">(.*?)</p>', html)
    )


def test_sections_and_charts_of_a_short_run() -> None:
    """Every section is there; hourly charts; the config is shown escaped; nothing external."""
    html = render({"seed": 7, "backend": "mock"}, feed(new_metrics(), scripted()), 'name = "<b>"')
    for needle in (
        "Users over time",
        "Actions per hour by kind",
        "Users by state over the day",
        "Latency percentiles per hour",
        "Failures per hour",
        "Latency and failures per endpoint",
        "Top posters",
        "Shape of the crowd",
        "Latest actions",
        "Config used",
        "name = &quot;&lt;b&gt;&quot;",
    ):
        assert needle in html, needle
    assert "https://" not in html.replace("https://github.com/leeoniya/uPlot", "")
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "<link" not in html and " src=" not in html
    assert "var uPlot=" in html  # the bundled library, inlined


def test_every_kind_is_in_the_actions_chart() -> None:
    """All 12 kinds get a series (the SVG legend used to stop after 8)."""
    html = render({}, feed(new_metrics(), scripted()), "")
    series = specs(html)["sim-actions"]["series"]
    assert [s["label"] for s in series] == list(KIND_NAMES) and len(series) == 12
    assert series[0]["values"] == [3, 0]  # sign-ups in hours 0 and 1


def test_long_runs_are_drawn_a_day_per_bar() -> None:
    """Past two weeks of hours, over-time charts aggregate by day (the last day may be partial)."""
    m = Metrics(3600, dt.datetime(2026, 1, 5), ("a", "b", "c"), ("p",), 10)
    for t in range(24 * 20 + 5):
        m.write(
            *batch_of(t, 2 * t, [(t, K.SIGN_UP, -1, 201, 3.0, 0), (0, K.BROWSE_FEED, -1, 200, 10.0, 0)])
        )
    html = render({}, m, "")
    assert "Actions per day by kind" in html and "Actions per hour by kind" not in html
    acts = specs(html)["sim-actions"]
    assert len(acts["x"]) == 21 and acts["x"][1] - acts["x"][0] == 86400
    assert acts["x"][0] == dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc).timestamp()
    sign_ups = acts["series"][0]["values"]
    assert sign_ups[19] == 24 and sign_ups[20] == 5  # Sat 24 Jan, Sun 25 Jan: 1 sign-up an hour


def test_latency_on_a_log_axis_when_it_spans_decades() -> None:
    """p50 of 1 ms under a p99 of 10 s: a log axis, so p50 does not sit flat at 0."""
    m = new_metrics()
    rows = [(u, K.BROWSE_FEED, -1, 200, 1.0, 0) for u in range(98)]
    rows += [(98, K.BROWSE_FEED, -1, 200, 10_000.0, 0), (99, K.BROWSE_FEED, -1, 200, 10_000.0, 0)]
    m.write(*batch_of(0, 0, rows))
    lat = specs(render({"backend": "http"}, m, ""))["sim-latency"]
    assert lat["y_log"] is True
    p50, _, p99 = (s["values"][0] for s in lat["series"])
    assert 0.99 <= p50 <= 1.01 and 9_900 <= p99 <= 10_100
    narrow = new_metrics()  # 5 ms .. 50 ms: one decade, a linear axis
    narrow.write(*batch_of(0, 0, [(u, K.BROWSE_FEED, -1, 200, 5.0 + u, 0) for u in range(46)]))
    assert specs(render({}, narrow, ""))["sim-latency"]["y_log"] is False


def test_no_latency_on_the_mock_says_so() -> None:
    """All latencies 0 (the mock): a note instead of a flat 0 line."""
    m = new_metrics()
    m.write(*batch_of(0, 0, [(0, K.SIGN_UP, -1, 201, 0.0, 0), (1, K.BROWSE_FEED, -1, 200, 0.0, 0)]))
    html = render({"backend": "mock"}, m, "")
    assert "sim-latency" not in specs(html)
    assert notes(html)["sim-latency"].startswith("no latency on the mock")


def test_numbers_print_for_people() -> None:
    """10,140 rather than 1.014e+04, in tables and cards."""
    m = new_metrics()
    m.write(*batch_of(0, 0, [(u, K.BROWSE_FEED, -1, 200, 10_140.0, 0) for u in range(3)]))
    html = render({"backend": "http"}, m, "")
    assert "e+0" not in html.split("<script>")[0] + html.split("</script>")[-1]
    assert "<td>10,140</td>" in html


def test_wall_clock_charts_from_send_times() -> None:
    """Outcomes with send times: actions/s, latency, failures/s and per endpoint over UTC wall time."""
    m = new_metrics()
    m.population_sessions = lambda: 7
    m.write(
        *sent_at(batch_of(0, 0, [(0, K.SIGN_UP, -1, 201, 10, 0), (1, K.SIGN_UP, -1, 201, 1, 0)]), T0, 90)
    )
    m.write(*sent_at(batch_of(1, 2, [(1, K.BROWSE_FEED, -1, 500, 2000, 0)]), T0 + 2_000, 900))
    html = render({"backend": "http"}, m, "")
    got = specs(html)
    assert got["wall-actions"]["x"] == [T0 / 1000, T0 / 1000 + 1, T0 / 1000 + 2]
    assert got["wall-actions"]["series"][0]["values"] == [2, 0, 1]
    assert got["wall-failures"]["series"][0]["values"] == [0, 0, 1]
    assert got["wall-latency"]["y_log"] is True  # 1 ms .. 2 s
    assert [s["label"] for s in got["wall-endpoints"]["series"]] == ["sign_up", "browse_feed"]
    assert got["wall-sessions"]["series"][0]["values"] == [7, None, 7]
    assert "wall-none" not in notes(html)
    assert "<td>900</td>" in html  # browse_feed's mean answer size


def test_distribution_is_cumulative_per_endpoint() -> None:
    """The share of each endpoint's answers within each time rises to 100 %."""
    html = render({}, feed(new_metrics(), scripted()), "")
    dist = specs(html)["latency-distribution"]
    assert dist["x_axis"] == "log" and dist["x"] == sorted(dist["x"])
    for s in dist["series"]:
        assert s["values"][-1] == 100 and s["values"] == sorted(s["values"])


def test_the_mock_has_no_real_time_section() -> None:
    """No send times: one note for the wall-clock section instead of empty charts."""
    html = render({"backend": "mock"}, feed(new_metrics(), scripted()), "")
    assert notes(html)["wall-none"].startswith("no real time on the mock")
    assert not any(fid.startswith("wall-") for fid in specs(html))


CUSTOM_CROWD = """
[profiles.chatterbox.weights.relaxing]
comment = 3
bookmark = 2
story = 4
[profiles.lurker.weights.relaxing]
comment = 1
story = 1
"""


def test_kinds_of_a_config_own_are_charted_and_their_posts_have_authors() -> None:
    """Custom kinds join the actions chart (past the 12 built-in ones); a story (creates =
    "post") read by others shows its author, not -1."""
    config = small(
        loads_config(kinds_api.ROUTES + CUSTOM_CROWD),
        users=300,
        duration="6h",
        population__mix={"lurker": 0.5, "chatterbox": 0.5},
    )
    sim, backend = Simulation(config), MockBackend()
    backend.open(BackendContext(config))
    m = Metrics(
        config.tick_seconds, config.start, sim.routine.state_names, sim.profile_names,
        endpoints=endpoints_of(config),
    )  # fmt: skip
    story = m.kind_names.index("story")
    stories: list[int] = []
    for _ in range(config.duration_ticks):
        batch = sim.step()
        m.write(batch, backend.execute(batch))
        stories += batch.post[(batch.kind == story) & (batch.post >= 0)].tolist()
    labels = [s["label"] for s in specs(render({"backend": "mock"}, m, ""))["sim-actions"]["series"]]
    assert labels == list(m.kind_names) and {"comment", "bookmark", "story"} <= set(labels)
    assert len(labels) > 12
    viewed = [p for p in stories if m.post_views[p] > 0]
    assert viewed and all(m.post_author[p] >= 0 for p in viewed)
