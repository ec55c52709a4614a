"""The chart module: the assets it inlines, the figures and JSON it writes, when an axis goes log."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from simcore.analysis.charts import chart, chart_assets, charts, no_chart, spans_decades
from simcore.analysis.numbers import compact, human


def _spec(html: str) -> dict[str, object]:
    m = re.search(r'<script type="application/json">(.*?)</script>', html)
    assert m is not None
    out: dict[str, object] = json.loads(m.group(1))
    return out


def test_assets_inline_uplot_and_the_helper() -> None:
    """uPlot's script and style (from the package's assets) and the builder, nothing fetched."""
    html = chart_assets()
    assert "var uPlot=" in html and ".uplot" in html and "simcoreCharts" in html
    assert "@WIDTH@" not in html and "@PALETTE@" not in html
    assert "<link" not in html and " src=" not in html


def test_a_chart_carries_its_data_as_json() -> None:
    """Series by name; NaN and None become gaps (null); ids and titles are escaped."""
    html = chart(
        "lat",
        "Latency <ms>",
        [0.0, 60.0, 120.0],
        {"p50": np.array([1.0, np.nan, 3.0]), "p99": [10.0, None, 30.123456789]},
        y_label="ms",
    )
    assert html.startswith(
        '<figure class="chart" id="lat" data-chart="line"><figcaption>Latency &lt;ms&gt;'
    )
    spec = _spec(html)
    assert spec["x"] == [0.0, 60.0, 120.0] and spec["x_axis"] == "time" and spec["y_label"] == "ms"
    assert spec["series"] == [
        {"label": "p50", "values": [1.0, None, 3.0]},
        {"label": "p99", "values": [10.0, None, 30.1235]},
    ]
    assert spec["y_log"] is False  # 1 .. 30: not two decades


def test_json_cannot_close_its_script_element() -> None:
    """A label with </script> stays inside the JSON."""
    html = chart("x", "t", [0], {"</script><b>": [1]})
    assert html.count("</script>") == 1
    assert _spec(html)["series"] == [{"label": "</script><b>", "values": [1.0]}]


def test_epoch_seconds_keep_their_precision() -> None:
    """x values are not rounded to 6 digits (epoch seconds need 10)."""
    xs = [1_764_561_600.0, 1_764_561_601.0]
    assert _spec(chart("t", "t", xs, {"a": [1, 2]}))["x"] == xs


def test_log_axis_when_values_span_two_decades() -> None:
    """Auto log scale from the positive values; forced either way by y_log."""
    assert spans_decades([1, 100]) and not spans_decades([1, 99.9])
    assert not spans_decades([0, 0, None, math.nan]) and not spans_decades([])
    assert _spec(chart("a", "a", [0, 1], {"p50": [0.5, 1], "p99": [50, 10_000]}))["y_log"] is True
    assert _spec(chart("a", "a", [0, 1], {"p": [1, 1000]}, y_log=False))["y_log"] is False


def test_category_and_shape_errors() -> None:
    """A category axis needs a label per x; every series needs a value per x."""
    spec = _spec(chart("d", "d", [0, 1], {"a": [1, 2]}, x_axis="category", labels=["00", "01"]))
    assert spec["labels"] == ["00", "01"] and spec["x_axis"] == "category"
    with pytest.raises(ValueError, match="one label per x"):
        chart("d", "d", [0, 1], {"a": [1, 2]}, x_axis="category", labels=["00"])
    with pytest.raises(ValueError, match="'a' has 1 values for 2"):
        chart("d", "d", [0, 1], {"a": [1]})
    with pytest.raises(ValueError, match="finite"):
        chart("d", "d", [0, math.nan], {"a": [1, 2]})


def test_no_chart_and_the_grid() -> None:
    """A placeholder names why; figures sit in one wrapping row."""
    html = charts(
        no_chart("rt", "Actions per second", "no real time on the mock"),
        chart("a", "a", [0], {"a": [1]}),
    )
    assert html.startswith('<div class="charts"><figure class="chart empty" id="rt">')
    assert '<p class="chart-note">no real time on the mock</p>' in html


@pytest.mark.parametrize(
    ("value", "shown", "short"),
    [
        (10_140.0, "10,140", "10.1k"),
        (1.014e4, "10,140", "10.1k"),
        (12, "12", "12"),
        (1_234_567, "1,234,567", "1.23M"),
        (0.000012345, "0.00001234", "0.00001234"),
        (123.456, "123.5", "123.5"),
        (0.0, "0", "0"),
        (math.nan, "–", "–"),
    ],
)
def test_numbers_for_people(value: float, shown: str, short: str) -> None:
    """No exponent anywhere; thousands separated in tables, k/M on axes."""
    assert human(value) == shown and compact(value) == short
    assert human(None) == "–"
