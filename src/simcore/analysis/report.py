"""report.html: one self-contained page (inline CSS, inline SVG charts, no network) about a run.

It shows users over time, actions per hour stacked by kind, the day's shape
(users by state and actions per hour of day), latency percentiles over time,
latency and failures per endpoint, top posters and posts, the crowd's shape,
the thresholds with their values, the latest actions and the config used.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from simcore import atomic
from simcore.analysis.histogram import percentiles
from simcore.analysis.metrics import Metrics
from simcore.analysis.svgchart import line_chart, stacked_bars

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c9cfdb}main{padding:8px 28px 40px;max-width:1640px}
section{background:#fff;border-radius:8px;padding:14px 18px;margin:16px 0;box-shadow:0 1px 2px #0001}
h2{font-size:17px;margin:0 0 10px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:8px;padding:10px 16px;min-width:130px;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:20px}.card span{color:#5b6475;font-size:12px}
.grid{display:flex;flex-wrap:wrap;gap:14px}svg.chart{background:#fff;max-width:100%;height:auto}
svg .title{font-weight:600;font-size:13px;fill:#1d2330}svg .axis,svg .legend{font-size:11px;fill:#5b6475}
svg line.grid{stroke:#e3e6ec}table{border-collapse:collapse;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #e3e6ec;text-align:right}th{background:#f0f2f5;cursor:pointer}
td:first-child,th:first-child{text-align:left}.pass{color:#1a7f37;font-weight:600}
.fail{color:#c62828;font-weight:600}pre{background:#f0f2f5;padding:10px;overflow:auto;max-height:480px;font-size:12px}
.note{color:#5b6475}
"""
#: Sort a table by clicking a header (the page's only script; it needs nothing external).
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
document.documentElement.dataset.charts = String(document.querySelectorAll('svg.chart').length);
"""


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "–"
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return escape(str(v))


def _percent(share: float | None) -> str | None:
    return None if share is None else f"{100 * share:.3g}%"


def _table(head: list[str], rows: list[list[Any]], cls: str = "sortable") -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{''.join(parts)}</section>"


#: Over-time charts show at most this many bars; longer runs are drawn a day per bar.
MAX_HOURLY_BARS = 336


def _charts(metrics: Metrics) -> list[str]:
    n = metrics.n_hours
    step = 24 if n > MAX_HOURLY_BARS else 1
    unit = "day" if step == 24 else "hour"
    groups = np.arange(n) // step
    starts = metrics.hour_starts()[::step]
    labels = [t.strftime("%a %d %b" if step == 24 else "%a %H:%M") for t in starts]

    def per_group(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        out = np.zeros((len(starts), *values.shape[1:]), dtype=values.dtype)
        np.add.at(out, groups, values)
        return out

    acts = per_group(metrics.actions_by_hour())
    users = metrics.users_by_hour()
    out = [
        line_chart(
            "Users over time",
            labels,
            {"users": users[np.minimum(np.arange(len(starts)) * step + step - 1, n - 1)].tolist()},
            "users",
        ),
        stacked_bars(
            f"Actions per {unit} by kind",
            labels,
            {name: acts[:, k].tolist() for k, name in enumerate(_kind_names())},
            f"actions / {unit}",
        ),
    ]
    shape = metrics.day_shape()
    hours = [f"{h:02d}:00" for h in range(24)]
    by_state = shape["users_by_state"]
    out.append(
        stacked_bars(
            "Users by state over the day (mean)",
            hours,
            {s: by_state[:, i].tolist() for i, s in enumerate(metrics.state_names)},
            "users",
        )
    )
    out.append(
        line_chart(
            "Actions per hour of day (mean)",
            hours,
            {
                "weekday": _gaps(shape["actions_weekday"]),
                "weekend": _gaps(shape["actions_weekend"]),
            },
            "actions / hour",
        )
    )
    lat = percentiles(per_group(metrics.hour_latency[:n]), (50, 90, 99))
    out.append(
        line_chart(
            f"Latency percentiles per {unit} (all endpoints)",
            labels,
            {
                f"p{q}": [None if math.isnan(v) else float(v) for v in lat[:, j]]
                for j, q in enumerate((50, 90, 99))
            },
            "ms",
        )
    )
    out.append(
        stacked_bars(
            f"Failures per {unit}",
            labels,
            {"failures": per_group(metrics.hour_failed[:n]).tolist()},
            "failures",
        )
    )
    return out


def _kind_names() -> tuple[str, ...]:
    from simcore.scenario.kinds import KIND_NAMES

    return KIND_NAMES


def _gaps(values: np.ndarray[Any, Any]) -> list[float | None]:
    return [float(v) if v > 0 else None for v in values]


def render(summary: dict[str, Any], metrics: Metrics, config_text: str) -> str:
    """The whole report page."""
    m = summary.get("metrics") or metrics.summary()
    endpoints = m["endpoints"]
    overall = next(r for r in endpoints if r["endpoint"] == "all")
    cards = [
        ("users", m["users"]),
        ("posts", m["posts"]),
        ("actions", m["actions"]),
        ("actions / sim. hour", m["actions_per_hour"]),
        ("error rate", _percent(m["error_rate"])),
        ("p99 latency (ms)", overall["p99_ms"]),
        ("wall time (s)", summary.get("wall_seconds")),
    ]
    card_html = "".join(
        f'<div class="card"><b>{_fmt(v)}</b><span>{escape(k)}</span></div>' for k, v in cards
    )
    parts = [f'<div class="cards">{card_html}</div>']

    th = summary.get("thresholds") or {"passed": True, "results": []}
    if th["results"]:
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
        parts.append(_section("Thresholds", verdict, table))
    else:
        parts.append(
            _section("Thresholds", '<p class="note">none configured ([thresholds] in the config)</p>')
        )

    parts.append(
        _section(
            "Over time and over the day", '<div class="grid">' + "".join(_charts(metrics)) + "</div>"
        )
    )

    ep_rows = [
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
        ]
        for r in endpoints
    ]
    head = [
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
    ]
    parts.append(_section("Latency and failures per endpoint", _table(head, ep_rows)))
    failures = m["failures_by_endpoint"]
    if failures:
        f_rows = [[ep, why, n] for ep, row in failures.items() for why, n in row.items()]
        parts.append(
            _section("Failures by kind", _table(["endpoint", "status / error", "count"], f_rows))
        )
    else:
        parts.append(_section("Failures by kind", '<p class="note">no failures</p>'))

    posters = _table(["user", "posts"], [[r["user"], r["posts"]] for r in m["top_posters"]])
    posts = _table(
        ["post", "views", "author"], [[r["post"], r["views"], r["author"]] for r in m["top_posts"]]
    )
    parts.append(
        _section(
            "Top posters and top posts",
            f'<div class="grid"><div><h3>Top posters</h3>{posters}</div>'
            f"<div><h3>Most viewed posts (reads answered 2xx)</h3>{posts}</div></div>",
        )
    )
    parts.append(_crowd(summary.get("crowd")))
    latest = metrics.latest_actions()[-25:][::-1]
    keys = ["seq", "time", "user", "profile", "state", "action", "path", "status", "latency_ms", "error"]
    parts.append(
        _section("Latest actions (newest first)", _table(keys, [[a[k] for k in keys] for a in latest]))
    )
    parts.append(_section("Config used", f"<pre>{escape(config_text)}</pre>"))

    title = f"simcore report: seed {summary.get('seed', '?')}, backend {summary.get('backend', '?')}"
    sub = (
        f"simulated {escape(str(summary.get('simulated_start', '')))} → "
        f"{escape(str(summary.get('simulated_end', '')))} · {_fmt(summary.get('ticks'))} ticks"
        + (" · stopped early" if summary.get("stopped_early") else "")
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
        f"<body><header><h1>{escape(title)}</h1><p>{sub}</p></header>\n<main>\n"
        + "\n".join(parts)
        + f"\n</main><script>{SCRIPT}</script></body></html>\n"
    )


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
    hours = [f"{h:02d}:00" for h in range(24)]
    act = crowd["activity_by_hour"]
    chart = line_chart(
        "Share of the day's actions by hour (from the log)",
        hours,
        {"weekday": [v or None for v in act["weekday"]], "weekend": [v or None for v in act["weekend"]]},
        "share",
    )
    note = f'<p class="note">computed from {escape(str(crowd.get("log", "the log")))}</p>'
    return _section(
        "Shape of the crowd",
        note,
        f'<div class="grid"><div>{_table(["measure", "value"], rows, "crowd")}</div>{chart}</div>',
    )


def write_report(path: Path, summary: dict[str, Any], metrics: Metrics, config_text: str) -> Path:
    """Write report.html atomically; return its path."""
    atomic.write_text(path, render(summary, metrics, config_text))
    return path
