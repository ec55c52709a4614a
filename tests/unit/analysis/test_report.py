"""report.html's content without a browser: sections, charts, aggregation of long runs."""

from __future__ import annotations

import datetime as dt

from simcore.analysis.metrics import Metrics
from simcore.analysis.report import render
from simcore.scenario.kinds import ActionKind as K
from tests.unit.analysis.scripted import batch_of, feed, new_metrics, scripted


def test_sections_and_charts_of_a_short_run() -> None:
    """Every section is there; hourly charts; the config is shown escaped."""
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
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html and "<link" not in html and " src=" not in html


def test_long_runs_are_drawn_a_day_per_bar() -> None:
    """Past two weeks of hours, over-time charts aggregate by day (the last day may be partial)."""
    m = Metrics(3600, dt.datetime(2026, 1, 5), ("a", "b", "c"), ("p",), 10)
    for t in range(24 * 20 + 5):
        m.write(
            *batch_of(t, 2 * t, [(t, K.SIGN_UP, -1, 201, 3.0, 0), (0, K.BROWSE_FEED, -1, 200, 10.0, 0)])
        )
    html = render({}, m, "")
    assert "Actions per day by kind" in html and "Actions per hour by kind" not in html
    assert html.count('<rect class="bar"') == 21 * 2  # 21 days × (sign-ups, feed views)
    assert "sign_up Sat 24 Jan: 24" in html and "sign_up Sun 25 Jan: 5" in html  # 1 sign-up an hour
