"""Charts for self-contained, offline pages: uPlot (bundled in ``assets/``) drawn from JSON in the page.

A page (report.html, compare.html) puts :func:`chart_assets` once in its ``<head>``
and one :func:`chart` or :func:`no_chart` per chart in its ``<body>``. Each chart
is a ``<figure class="chart">`` carrying its data as JSON; when the page has loaded,
the helper script builds a uPlot chart in every such figure, then sets
``document.documentElement.dataset.charts`` to the number it drew. Nothing is
fetched: uPlot's script and style are inlined. They are uPlot 1.6.32's
``dist/uPlot.iife.min.js`` and ``dist/uPlot.min.css`` as npm ships them
(``npm pack uplot@1.6.32``, shasum c800a63b432bad692d6d746f44f0882aa73a49ae; MIT
licensed, ``assets/uPlot.LICENSE``); to update, replace the three files.

The x axis is one of: ``time`` (epoch seconds, shown in UTC, so a wall-time axis
lines up with server-side dashboards and simulated time reads as written),
``category`` (positions 0..n-1 named by ``labels``) or ``log`` (numbers on a
logarithmic axis). Series are drawn as ``line``, ``bars`` or ``stacked`` bars.
The y axis is logarithmic when the values span :data:`LOG_DECADES` decades or
more (latency percentiles: p50 stays readable under a 10 s p99), or when asked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from html import escape
from importlib import resources
from typing import Any, Literal

import numpy as np

XAxis = Literal["time", "category", "log"]
Style = Literal["line", "bars", "stacked"]

#: A y axis becomes logarithmic when its largest positive value is this many decades above its smallest.
LOG_DECADES = 2.0
#: Series colours in order (Tableau 10 and two more); further series get generated hues.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#1f3a5f",
    "#8cd17d",
)
#: The chart size in CSS pixels (narrower when the page is).
WIDTH, HEIGHT = 620, 280

_CSS = """
.charts{display:flex;flex-wrap:wrap;gap:14px}
figure.chart{margin:0;width:@WIDTH@px;max-width:100%}
figure.chart figcaption{font-weight:600;font-size:13px;margin:0 0 4px}
figure.chart .chart-note{color:#5b6475;height:@NOTE_HEIGHT@px;display:flex;align-items:center;justify-content:center;
border:1px dashed #d5d9e0;border-radius:6px;margin:0}
figure.chart .u-legend{font-size:12px;text-align:left}figure.chart .u-legend th{font-weight:500}
"""

#: The helper that turns each figure's JSON into a uPlot chart (plain ES5; needs only uPlot).
_HELPER = r"""
(function () {
  var PALETTE = @PALETTE@, WIDTH = @WIDTH@, HEIGHT = @HEIGHT@;
  function color(i) { return i < PALETTE.length ? PALETTE[i] : 'hsl(' + Math.round(i * 137.5 % 360) + ',55%,48%)'; }
  function sig(v, n) { return String(parseFloat(v.toPrecision(n))); }
  function human(v) {
    if (v == null || !isFinite(v)) return '–';
    var a = Math.abs(v);
    if (a >= 1000) return Math.round(v).toLocaleString('en-US');
    return a === 0 ? '0' : sig(v, 4);
  }
  function compact(v) {
    if (v == null || !isFinite(v)) return '';
    var a = Math.abs(v), units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
    for (var i = 0; i < units.length; i++) if (a >= units[i][0]) return sig(v / units[i][0], 3) + units[i][1];
    return a === 0 ? '0' : sig(v, 3);
  }
  function utc(ts) { return uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'); }
  var FULL = uPlot.fmtDate('{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}'), DAY = uPlot.fmtDate('{WWW} {D} {MMM}'),
    HM = uPlot.fmtDate('{HH}:{mm}'), HMS = uPlot.fmtDate('{HH}:{mm}:{ss}');
  function timeLabels(u, splits, ax, space, incr) {
    var lastDay = null;
    return splits.map(function (ts) {
      var d = utc(ts), day = DAY(d), first = day !== lastDay;
      lastDay = day;
      if (incr >= 86400) return day;
      var t = incr < 60 ? HMS(d) : HM(d);
      return first ? t + '\n' + day : t;
    });
  }
  function stack(data, show) {
    var acc = data[0].map(function () { return 0; }), out = [data[0]], bands = [], below = null;
    for (var s = 1; s < data.length; s++) {
      if (!show[s]) { out.push(data[s]); continue; }
      out.push(data[s].map(function (v, i) { return (acc[i] += +(v || 0)); }));
      if (below !== null) bands.push({series: [s, below]});
      below = s;
    }
    return {data: out, bands: bands};
  }
  function categorySplits(n) {
    return function (u, ax, lo, hi) {
      var every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / 60)))), out = [];
      for (var i = Math.max(0, Math.ceil(lo)); i <= Math.min(n - 1, hi); i++) if (i % every === 0) out.push(i);
      return out;
    };
  }
  function options(spec, width) {
    var xs = spec.x_axis, n = spec.x.length, bars = spec.style !== 'line';
    var series = [{label: spec.x_label || (xs === 'time' ? 'time (UTC)' : 'x')}];
    spec.series.forEach(function (s, k) {
      var c = color(k), one = {label: s.label, stroke: c, width: bars ? 1 : 2, spanGaps: false,
        value: function (u, v, si, i) { return human(i == null ? v : spec.series[si - 1].values[i]); },
        points: {show: !bars && n <= 60}};
      if (bars) {  // on a time axis a bar spans its period, from its x on
        one.fill = c.charAt(0) === '#' ? c + 'cc' : c;
        one.paths = uPlot.paths.bars({size: [0.9, 80], align: xs === 'time' ? 1 : 0});
      }
      series.push(one);
    });
    var o = {width: width, height: HEIGHT, series: series, legend: {live: true},
      cursor: {points: {show: !bars}}, scales: {x: {}, y: {}}, axes: [{}, {}]};
    if (xs === 'time') {
      o.scales.x.time = true;
      o.tzDate = utc;
      o.axes[0] = {space: 70, values: timeLabels};
      var step = spec.x_step || (n > 1 ? (spec.x[n - 1] - spec.x[0]) / (n - 1) : 3600);
      if (bars) o.scales.x.range = function () { return [spec.x[0], spec.x[n - 1] + step]; };
      else if (n === 1) o.scales.x.range = function () { return [spec.x[0] - step / 2, spec.x[0] + step / 2]; };
      series[0].value = function (u, v) { return v == null ? '' : FULL(utc(v)) + ' UTC'; };
    } else if (xs === 'category') {
      o.scales.x = {time: false, range: function () { return [-0.5, n - 0.5]; }};
      o.axes[0] = {splits: categorySplits(n), values: function (u, vals) {
        return vals.map(function (i) { return spec.labels[i] == null ? '' : spec.labels[i]; }); }};
      series[0].value = function (u, i) { return i == null ? '' : spec.labels[Math.round(i)]; };
    } else {
      o.scales.x = {time: false, distr: 3, log: 10};
      o.axes[0] = {values: function (u, vals) { return vals.map(compact); }};
      series[0].value = function (u, v) { return v == null ? '' : human(v) + (spec.x_label ? ' ' + spec.x_label : ''); };
    }
    o.axes[1] = {size: 56, label: spec.y_label || '', labelSize: 18,
      values: function (u, vals) { return vals.map(compact); }};
    if (spec.y_log) o.scales.y = {distr: 3, log: 10};
    else if (bars) o.scales.y = {range: function (u, lo, hi) { return [0, uPlot.rangeNum(0, hi || 1, 0.1, true)[1]]; }};
    return o;
  }
  function build(fig) {
    var spec = JSON.parse(fig.querySelector('script[type="application/json"]').textContent);
    var plot = fig.querySelector('.chart-plot');
    var width = Math.max(320, Math.min(WIDTH, plot.clientWidth || WIDTH));
    var opts = options(spec, width);
    var data = [spec.x].concat(spec.series.map(function (s) {
      return spec.y_log ? s.values.map(function (v) { return v > 0 ? v : null; }) : s.values;
    }));
    if (spec.style === 'stacked') {
      var raw = data, shown = raw.map(function () { return true; }), st = stack(raw, shown);
      opts.bands = st.bands;
      opts.hooks = {setSeries: [function (u) {
        var again = stack(raw, u.series.map(function (s) { return s.show; }));
        u.delBand(null); again.bands.forEach(function (b) { u.addBand(b); }); u.setData(again.data);
      }]};
      data = st.data;
    }
    return new uPlot(opts, data, plot);
  }
  function buildAll() {
    var drawn = 0;
    document.querySelectorAll('figure.chart[data-chart]').forEach(function (fig) {
      try { fig.uplot = build(fig); drawn++; } catch (e) { console.error('chart ' + fig.id + ': ' + e); }
    });
    document.documentElement.dataset.charts = String(drawn);
  }
  window.simcoreCharts = {human: human, compact: compact, build: build};
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', buildAll);
  else buildAll();
})();
"""


@cache
def _asset(name: str) -> str:
    return (resources.files("simcore.analysis") / "assets" / name).read_text(encoding="utf-8")


def chart_assets() -> str:
    """The ``<style>`` and ``<script>`` block a page needs once (in its ``<head>``) for its charts."""
    sizes = {"@PALETTE@": json.dumps(PALETTE), "@WIDTH@": str(WIDTH), "@HEIGHT@": str(HEIGHT)}
    sizes["@NOTE_HEIGHT@"] = str(HEIGHT - 60)
    helper, css = _HELPER, _CSS
    for token, value in sizes.items():
        helper, css = helper.replace(token, value), css.replace(token, value)
    return (
        f"<style>{_asset('uPlot.min.css')}{css}</style>\n"
        f"<script>{_asset('uPlot.iife.min.js')}</script>\n<script>{helper}</script>\n"
    )


def chart(
    chart_id: str,
    title: str,
    x: Sequence[float] | np.ndarray[Any, Any],
    series: Mapping[str, Sequence[float | None] | np.ndarray[Any, Any]],
    *,
    x_axis: XAxis = "time",
    labels: Sequence[str] | None = None,
    style: Style = "line",
    x_label: str = "",
    x_step: float | None = None,
    y_label: str = "",
    y_log: bool | None = None,
) -> str:
    """One chart: ``series`` (name -> one value per ``x``; None or NaN leaves a gap) over ``x``.

    ``x`` is epoch seconds (``x_axis="time"``, shown in UTC), positions 0..n-1 named by
    ``labels`` (``"category"``), or positive numbers on a log axis (``"log"``).
    ``x_step`` (a time axis's seconds per point) sets the room around bars and a lone point.
    ``y_log=None`` makes the y axis logarithmic when the values span :data:`LOG_DECADES`.
    """
    xs = [round(v, 3) for v in np.asarray(x, dtype=np.float64).tolist()]
    if not all(math.isfinite(v) for v in xs):
        raise ValueError("every x value of a chart must be a finite number")
    if x_axis == "category" and (labels is None or len(labels) != len(xs)):
        raise ValueError(f"a category chart needs one label per x value ({len(xs)})")
    cols = {name: _values(v) for name, v in series.items()}
    for name, v in cols.items():
        if len(v) != len(xs):
            raise ValueError(f"series {name!r} has {len(v)} values for {len(xs)} x values")
    log = spans_decades(v for c in cols.values() for v in c) if y_log is None else y_log
    spec = {
        "x": xs,
        "x_axis": x_axis,
        "labels": list(labels) if labels is not None else None,
        "x_label": x_label,
        "x_step": x_step,
        "y_label": y_label,
        "y_log": bool(log),
        "style": style,
        "series": [{"label": name, "values": v} for name, v in cols.items()],
    }
    return (
        f'<figure class="chart" id="{escape(chart_id)}" data-chart="{style}">'
        f"<figcaption>{escape(title)}</figcaption>"
        f'<div class="chart-plot"></div><script type="application/json">{_json(spec)}</script></figure>'
    )


def no_chart(chart_id: str, title: str, note: str) -> str:
    """A chart's place, saying why there is nothing to draw (no real time on the mock, say)."""
    return (
        f'<figure class="chart empty" id="{escape(chart_id)}"><figcaption>{escape(title)}</figcaption>'
        f'<p class="chart-note">{escape(note)}</p></figure>'
    )


def charts(*figures: str) -> str:
    """Figures side by side, wrapping on narrow pages."""
    return f'<div class="charts">{"".join(figures)}</div>'


def spans_decades(values: Iterable[float | None], decades: float = LOG_DECADES) -> bool:
    """Whether the positive finite ``values`` span at least ``decades`` powers of ten."""
    pos = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    return bool(pos) and math.log10(max(pos) / min(pos)) >= decades


def _values(v: Sequence[float | None] | np.ndarray[Any, Any], digits: int = 6) -> list[float | None]:
    """Plain JSON numbers of ``digits`` significant digits, None for missing or non-finite values."""
    out: list[float | None] = []
    for x in np.asarray(v, dtype=np.float64).tolist() if isinstance(v, np.ndarray) else v:
        if x is None or not math.isfinite(x):
            out.append(None)
        else:
            out.append(float(f"{x:.{digits}g}"))
    return out


def _json(spec: dict[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>``, no HTML comment openers)."""
    text = json.dumps(spec, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
