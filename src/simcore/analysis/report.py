"""report.html: one self-contained page (inline CSS and scripts, uPlot charts, no network) about a run.

It shows users over time, actions per hour stacked by kind, the day's shape
(users by state and actions per hour of day), latency percentiles over time,
latency and failures per endpoint, top posters and posts, the crowd's shape,
the thresholds with their values, the latest actions and the config used.
The charts are built by :mod:`simcore.analysis.charts`; numbers print through
:mod:`simcore.analysis.numbers`.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from simcore import atomic
from simcore.analysis.charts import chart, chart_assets, charts
from simcore.analysis.metrics import Metrics
from simcore.analysis.numbers import human
from simcore.analysis.report_sim_charts import HOURS_OF_DAY, sim_charts
from simcore.analysis.report_wall_charts import distribution_chart, wall_charts

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c9cfdb}main{padding:8px 28px 40px;max-width:1640px}
section{background:#fff;border-radius:8px;padding:14px 18px;margin:16px 0;box-shadow:0 1px 2px #0001}
h2{font-size:17px;margin:0 0 10px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:8px;padding:10px 16px;min-width:130px;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:20px}.card span{color:#5b6475;font-size:12px}
.grid{display:flex;flex-wrap:wrap;gap:14px}table{border-collapse:collapse;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #e3e6ec;text-align:right}th{background:#f0f2f5;cursor:pointer}
td:first-child,th:first-child{text-align:left}.pass{color:#1a7f37;font-weight:600}
.fail{color:#c62828;font-weight:600}pre{background:#f0f2f5;padding:10px;overflow:auto;max-height:480px;font-size:12px}
.note{color:#5b6475}
"""
#: Sort a table by clicking a header (the charts' script is :func:`~simcore.analysis.charts.chart_assets`).
SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var down = th.dataset.dir !== 'down';
    th.dataset.dir = down ? 'down' : 'up';
    rows.sort(function (a, b) {
      var x = a.cells[col].textContent, y = b.cells[col].textContent;
      var nx = parseFloat(x.replace(/,/g, '')), ny = parseFloat(y.replace(/,/g, ''));
      var c = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
      return down ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def _fmt(v: Any) -> str:
    return escape(v) if isinstance(v, str) else human(v)


def _percent(share: float | None) -> str | None:
    return None if share is None else f"{human(100 * share)}%"


def _table(head: list[str], rows: list[list[Any]], cls: str = "sortable") -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{''.join(parts)}</section>"


def render(summary: dict[str, Any], metrics: Metrics, config_text: str) -> str:
    """The whole report page."""
    m = summary.get("metrics") or metrics.summary()
    backend = summary.get("backend")
    parts = [
        _cards(summary, m),
        _thresholds(summary.get("thresholds")),
        _section("Over simulated time and over the day", charts(*sim_charts(metrics, backend))),
        _section(
            "Over wall-clock time (UTC)",
            _wall_note(metrics.wall_time()),
            charts(*wall_charts(metrics, backend)),
        ),
        _endpoints(m["endpoints"], distribution_chart(metrics, backend)),
        _failures(m["failures_by_endpoint"]),
        _tops(m),
        _crowd(summary.get("crowd")),
        _latest(metrics),
        _section("Config used", f"<pre>{escape(config_text)}</pre>"),
    ]
    return _page(summary, parts)


def _wall_note(wall: dict[str, Any] | None) -> str:
    """When the run's actions were sent, and how wide the charts' buckets are."""
    if wall is None:
        return ""
    return (
        f'<p class="note">sent from {escape(wall["first_bucket"])} to {escape(wall["end"])}, '
        f"{human(wall['sent'])} actions with a send time, in buckets of {human(wall['bucket_seconds'])} s</p>"
    )


def _page(summary: dict[str, Any], parts: list[str]) -> str:
    """The page around its sections: head, style, title, script."""
    title = f"simcore report: seed {summary.get('seed', '?')}, backend {summary.get('backend', '?')}"
    sub = (
        f"simulated {escape(str(summary.get('simulated_start', '')))} → "
        f"{escape(str(summary.get('simulated_end', '')))} · {_fmt(summary.get('ticks'))} ticks"
        + (" · stopped early" if summary.get("stopped_early") else "")
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style>\n{chart_assets()}</head>\n"
        f"<body><header><h1>{escape(title)}</h1><p>{sub}</p></header>\n<main>\n"
        + "\n".join(parts)
        + f"\n</main><script>{SCRIPT}</script></body></html>\n"
    )


def _cards(summary: dict[str, Any], m: dict[str, Any]) -> str:
    """The headline numbers."""
    overall = next(r for r in m["endpoints"] if r["endpoint"] == "all")
    cards = [
        ("users", m["users"]),
        ("posts", m["posts"]),
        ("actions", m["actions"]),
        ("actions / sim. hour", m["actions_per_hour"]),
        ("actions / s (wall)", _real_rate(summary)),
        ("error rate", _percent(m["error_rate"])),
        ("p99 latency (ms)", overall["p99_ms"]),
        ("wall time (s)", summary.get("wall_seconds")),
    ]
    card_html = "".join(
        f'<div class="card"><b>{_fmt(v)}</b><span>{escape(k)}</span></div>' for k, v in cards
    )
    return f'<div class="cards">{card_html}</div>'


def _real_rate(summary: dict[str, Any]) -> float | None:
    """Actions per real second: the pacer's figure (paused time left out) when it has one."""
    pacing = summary.get("pacing") or {}
    rate: float | None = pacing.get("actions_per_second") or summary.get("actions_per_second")
    return rate


def _thresholds(th: dict[str, Any] | None) -> str:
    """Each threshold with its value and verdict, and the run's verdict."""
    if not th or not th["results"]:
        return _section("Thresholds", '<p class="note">none configured ([thresholds] in the config)</p>')
    rows = [
        [r["metric"], r["condition"], r["value"], "pass" if r["passed"] else "FAIL"]
        for r in th["results"]
    ]
    verdict = (
        '<p class="pass">all thresholds passed</p>'
        if th["passed"]
        else '<p class="fail">thresholds failed: exit code 3</p>'
    )
    table = _table(["metric", "condition", "value", "result"], rows, "thresholds")
    table = table.replace("<td>pass</td>", '<td class="pass">pass</td>').replace(
        "<td>FAIL</td>", '<td class="fail">FAIL</td>'
    )
    return _section("Thresholds", verdict, table)


#: The columns of the per-endpoint table.
ENDPOINT_HEAD = [
    "endpoint",
    "route",
    "count",
    "failures",
    "error rate",
    "mean ms",
    "p50",
    "p90",
    "p95",
    "p99",
    "max",
    "mean bytes",
    "total bytes",
]


def _endpoints(endpoints: list[dict[str, Any]], distribution: str) -> str:
    """Count, failures, latency figures and answer sizes per endpoint and for all; the
    response-time distribution chart."""
    rows = [
        [
            r["endpoint"],
            f"{r['method']} {r['path']}".strip(),
            r["count"],
            r["failures"],
            _percent(r["error_rate"]),
            r["mean_ms"],
            r["p50_ms"],
            r["p90_ms"],
            r["p95_ms"],
            r["p99_ms"],
            r["max_ms"],
            r.get("bytes_mean"),
            r.get("bytes_total"),
        ]
        for r in endpoints
    ]
    return _section(
        "Latency and failures per endpoint", _table(ENDPOINT_HEAD, rows), charts(distribution)
    )


def _failures(failures: dict[str, dict[str, int]]) -> str:
    """Failures by endpoint and by status or error."""
    if not failures:
        return _section("Failures by kind", '<p class="note">no failures</p>')
    rows = [[ep, why, n] for ep, row in failures.items() for why, n in row.items()]
    return _section("Failures by kind", _table(["endpoint", "status / error", "count"], rows))


def _tops(m: dict[str, Any]) -> str:
    """The top posters and the most viewed posts."""
    posters = _table(["user", "posts"], [[r["user"], r["posts"]] for r in m["top_posters"]])
    posts = _table(
        ["post", "views", "author"], [[r["post"], r["views"], r["author"]] for r in m["top_posts"]]
    )
    return _section(
        "Top posters and top posts",
        f'<div class="grid"><div><h3>Top posters</h3>{posters}</div>'
        f"<div><h3>Most viewed posts (reads answered 2xx)</h3>{posts}</div></div>",
    )


#: The columns of the latest actions table, and how many of the latest actions it shows.
LATEST_KEYS = [
    "seq",
    "time",
    "user",
    "profile",
    "state",
    "action",
    "path",
    "status",
    "latency_ms",
    "error",
]
LATEST_SHOWN = 25


def _latest(metrics: Metrics) -> str:
    """The latest actions, newest first."""
    latest = metrics.latest_actions()[-LATEST_SHOWN:][::-1]
    rows = [[a[k] for k in LATEST_KEYS] for a in latest]
    return _section("Latest actions (newest first)", _table(LATEST_KEYS, rows))


def _crowd(crowd: dict[str, Any] | None) -> str:
    if not crowd:
        return _section(
            "Shape of the crowd",
            '<p class="note">no action log in this run (--log none), so no crowd numbers</p>',
        )
    b = crowd["burstiness"]
    rows = [
        ["users in the log", crowd["users"]],
        ["share of users who posted", crowd["share_users_posted"]],
        ["share of posts by the top 1% of posters", crowd["top1_posters_share"]],
        ["share of posts by the top 10% of posters", crowd["top10_posters_share"]],
        ["share of views taken by the top 1% of posts", crowd["top1_posts_view_share"]],
        [f"burstiness B, median over {b['users']:,} users", b["median"]],
        ["burstiness B, mean", b["mean"]],
    ]
    act = crowd["activity_by_hour"]
    day = chart(
        "crowd-day",
        "Share of the day's actions by hour (from the log)",
        list(range(24)),
        {"weekday": [v or None for v in act["weekday"]], "weekend": [v or None for v in act["weekend"]]},
        x_axis="category",
        labels=HOURS_OF_DAY,
        x_label="hour of day",
        y_label="share",
        y_log=False,
    )
    note = f'<p class="note">computed from {escape(str(crowd.get("log", "the log")))}</p>'
    return _section(
        "Shape of the crowd",
        note,
        f'<div class="grid"><div>{_table(["measure", "value"], rows, "crowd")}</div>{day}</div>',
    )


def write_report(path: Path, summary: dict[str, Any], metrics: Metrics, config_text: str) -> Path:
    """Write report.html atomically; return its path."""
    atomic.write_text(path, render(summary, metrics, config_text))
    return path
