"""The report's crowd section: the crowd's shape beside what real platforms measure.

One self-contained HTML section built from ``summary["crowd"]``
(:func:`simcore.analysis.crowd.crowd_shape`): the measures with their reference
values and sources, the night trough, sessions, retention and the hourly profile.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from simcore.analysis.charts import chart, charts

HOURS_OF_DAY = [f"{h:02d}:00" for h in range(24)]

TITLE = "Shape of the crowd"


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.4g}"
    return escape(str(v))


def _table(head: list[str], rows: list[list[Any]], cls: str) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("within" if ok else "outside")


def crowd_section(crowd: dict[str, Any] | None) -> str:
    """The crowd section of report.html (a note when the run kept no action log)."""
    if not crowd:
        note = '<p class="note">no action log in this run (--log none), so no crowd numbers</p>'
        return f"<section><h2>{TITLE}</h2>{note}</section>"
    b = crowd["burstiness"]
    counts = [
        ["users in the log", crowd["users"]],
        ["posts (create_post, quote_post)", crowd["posts"]],
        ["views (read_post)", crowd["views"]],
        ["share of posts by the top 1% of posters", crowd["top1_posters_share"]],
        [f"burstiness B, median over {b['users']:,} users", b["median"]],
        ["burstiness B, mean", b["mean"]],
    ]
    checks = [
        [c["measure"], c["value"], c["reference"], _verdict(c["ok"]), c["source"]]
        for c in crowd.get("references", [])
    ]
    night = crowd.get("night") or {}
    night_rows = [
        [day, (night.get(day) or {}).get("trough_ratio"), (night.get(day) or {}).get("trough_hour"),
         (night.get(day) or {}).get("peak_hour")]
        for day in ("weekday", "weekend")
    ]  # fmt: skip
    kept = crowd.get("retention") or {}
    retention_rows = [[f"day {k}", kept.get(f"day{k}"), kept.get(f"day{k}_cohort")] for k in (1, 7)]
    sessions = crowd.get("sessions") or {}
    hist = sessions.get("histogram") or {}
    act = crowd["activity_by_hour"]
    hourly = chart(
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
    lengths = chart(
        "crowd-sessions",
        "Sessions by actions (split at 30-minute pauses)",
        list(range(len(hist))),
        {"sessions": [float(v) for v in hist.values()]},
        x_axis="category",
        labels=list(hist),
        style="bars",
        x_label="actions in the session",
        y_label="sessions",
        y_log=False,
    ) if hist else ""  # fmt: skip
    session_rows = [
        ["sessions", sessions.get("sessions")],
        ["actions per session, median", sessions.get("median_actions")],
        ["actions per session, mean", sessions.get("mean_actions")],
        ["actions per session, p90", sessions.get("p90_actions")],
        ["minutes per session, median", sessions.get("median_minutes")],
    ]
    note = f'<p class="note">computed from {escape(str(crowd.get("log", "the log")))}</p>'
    return (
        f"<section><h2>{TITLE}</h2>{note}"
        + _table(["measure", "this run", "real platforms", "", "source"], checks, "crowd-references")
        + '<div class="grid">'
        + "".join(
            f"<div>{table}</div>"
            for table in (
                _table(["measure", "value"], counts, "crowd"),
                _table(
                    ["days", "trough / evening peak", "trough hour", "peak hour"], night_rows, "crowd"
                ),
                _table(["newcomers active on", "share", "cohort"], retention_rows, "crowd"),
                _table(["sessions", "value"], session_rows, "crowd"),
            )
        )
        + "</div>"
        + charts(hourly, *([lengths] if lengths else []))
        + "</section>"
    )
