"""compare.html: one self-contained page of a comparison (what compare.json holds, and charts of
the paired runs drawn with :mod:`simcore.analysis.charts`, offline).

The page holds the verdict table, per endpoint the latency distributions of A and B
overlaid, the paired ratio B/A over (simulated) time, and the actions whose status
changed between the runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.analysis.charts import chart, chart_assets, charts, no_chart
from simcore.analysis.pairing import PairedRuns
from simcore.analysis.report import CSS, SCRIPT

#: Bins of the latency distributions (log-spaced) and of the ratio over time.
DISTRIBUTION_BINS = 40
TIME_BINS = 48
#: A time bin with fewer paired actions than this shows a gap, not a median of noise.
MIN_PER_BIN = 5

_EXTRA_CSS = """
.regressed{color:#c62828;font-weight:600}.improved{color:#1a7f37;font-weight:600}.unchanged{color:#5b6475}
"""


def latency_distribution(
    latency_a: NDArray[np.float64], latency_b: NDArray[np.float64], bins: int = DISTRIBUTION_BINS
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Log-spaced bin centres (ms) and the share (%) of A's and of B's latencies in each bin."""
    both = np.concatenate([latency_a, latency_b])
    lo, hi = float(both.min()), float(both.max())
    hi = max(hi, lo * 1.01)
    edges = np.geomspace(lo, hi, bins + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    share_a = np.histogram(latency_a, edges)[0] / max(len(latency_a), 1) * 100
    share_b = np.histogram(latency_b, edges)[0] / max(len(latency_b), 1) * 100
    return centres, share_a, share_b


def ratio_over_time(
    time_ms: NDArray[np.int64], ratio: NDArray[np.float64], edges: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The median of ``ratio`` in each time bin (``edges``: ms, ``len(edges) - 1`` bins), NaN
    where a bin holds fewer than :data:`MIN_PER_BIN` values."""
    n = len(edges) - 1
    bins = np.clip(np.searchsorted(edges, time_ms, side="right") - 1, 0, n - 1)
    order = np.lexsort((ratio, bins))
    ordered = ratio[order]
    counts = np.bincount(bins, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    lo = np.minimum(starts + np.maximum(counts - 1, 0) // 2, max(len(ordered) - 1, 0))
    hi = np.minimum(starts + counts // 2, max(len(ordered) - 1, 0))
    out = np.full(n, np.nan)
    full = counts >= MIN_PER_BIN
    if len(ordered):
        out[full] = (ordered[lo[full]] + ordered[hi[full]]) / 2
    return out


def _interval(cell: dict[str, float] | None) -> str:
    if cell is None:
        return "–"
    return f"{cell['value']:.3f} [{cell['low']:.3f}, {cell['high']:.3f}]"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _table(head: Sequence[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="sortable"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _verdicts(result: dict[str, Any]) -> str:
    rows = []
    for e in result["endpoints"]:
        lat = e["latency_ms"]
        rows.append(
            [
                escape(e["endpoint"]),
                f"{e['paired']:,} / {e['actions']:,}",
                _interval(e["median_ratio"]),
                _interval(e["p95_ratio"]),
                _interval(e["p99_ratio"]),
                f"{_ms(lat['a']['p50'])} / {_ms(lat['b']['p50'])}",
                "–" if e["p_value"] is None else f"{e['p_value']:.2g}",
                f"{e['new_failures']:,}",
                f"{e['fixed_failures']:,}",
                f'<span class="{e["verdict"]}">{e["verdict"]}</span>'
                + (f'<br><span class="note">{escape(e["note"])}</span>' if e["note"] else "")
                + "".join(f'<br><span class="note">{escape(r)}</span>' for r in e["reasons"]),
            ]
        )
    head = [
        "endpoint",
        "paired / actions",
        "median ratio B/A [CI]",
        "p95 ratio [CI]",
        "p99 ratio [CI]",
        "p50 ms A / B",
        "p-value",
        "new failures",
        "fixed",
        "verdict",
    ]
    return _table(head, rows)


def _changes(result: dict[str, Any]) -> str:
    rows = []
    for e in result["endpoints"]:
        for label, items in (
            ("success → failure", e["status_changes"]),
            ("failure → success", e["fixed"]),
        ):
            for c in items:
                a = str(c["status_a"]) if c["status_a"] else c["error_a"]
                b = str(c["status_b"]) if c["status_b"] else c["error_b"]
                rows.append(
                    [
                        escape(e["endpoint"]),
                        label,
                        str(c["seq"]),
                        escape(c["kind"]),
                        escape(str(c.get("sent_path") or "–")),
                        f"{escape(a)} → {escape(b)}",
                    ]
                )
    if not rows:
        return '<p class="note">No action changed between success and failure.</p>'
    counts = ", ".join(
        f"{escape(e['endpoint'])}: {e['new_failures']:,} new, {e['fixed_failures']:,} fixed"
        for e in result["endpoints"]
        if e["new_failures"] or e["fixed_failures"]
    )
    listed = result.get("options", {}).get("listed", 10)
    return f'<p class="note">{counts} (the first {listed} of each listed)</p>' + _table(
        ["endpoint", "change", "seq", "kind", "sent path", "status A → B"], rows
    )


def _charts(result: dict[str, Any], pairs: PairedRuns, names: Sequence[str]) -> tuple[str, str]:
    """The distribution charts and the ratio-over-time chart."""
    label = np.array(list(names), dtype=object)[pairs.kind]
    answered = pairs.answered
    min_pairs = result["options"].get("min_pairs", 20)
    judged = [
        e for e in result["endpoints"] if e["median_ratio"] is not None and e["paired"] >= min_pairs
    ]
    if not judged:
        note = (
            "No latency measured in both runs (on the mock: no latency); nothing to draw."
            if not any(e["paired"] for e in result["endpoints"])
            else f"No endpoint has {min_pairs} paired latencies; nothing to draw."
        )
        return no_chart("distributions", "Latency distributions", note), no_chart(
            "ratio-over-time", "Paired ratio B/A over time", note
        )
    figures = []
    lo, hi = int(pairs.time_ms.min()), int(pairs.time_ms.max()) + 1
    edges = np.linspace(lo, hi, TIME_BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2 / 1000
    over_time: dict[str, NDArray[np.float64]] = {}
    for i, e in enumerate(judged):
        rows = np.flatnonzero((label == e["endpoint"]) & answered)
        a, b = pairs.latency_a[rows], pairs.latency_b[rows]
        x, share_a, share_b = latency_distribution(a, b)
        figures.append(
            chart(
                f"distribution-{i}",
                f"{e['endpoint']}: latency distribution ({len(rows):,} paired actions)",
                x,
                {"A": share_a, "B": share_b},
                x_axis="log",
                x_label="ms",
                y_label="% of actions",
                y_log=False,
            )
        )
        over_time[e["endpoint"]] = ratio_over_time(pairs.time_ms[rows], b / a, edges)
    ratio = chart(
        "ratio-over-time",
        f"Median paired ratio B/A over simulated time ({TIME_BINS} bins; 1 = as fast as A)",
        centres,
        over_time,
        y_label="B/A",
        y_log=True,
    )
    return charts(*figures), charts(ratio)


def compare_page(result: dict[str, Any], pairs: PairedRuns, names: Sequence[str]) -> str:
    """The page of ``result`` (what compare.json holds) for the paired runs ``pairs``; ``names``:
    each kind's endpoint name."""
    distributions, ratio = _charts(result, pairs, names)
    o = result["options"]
    rates = result["throughput"]
    rate = (
        f" · throughput A {rates['a']:,.1f}, B {rates['b']:,.1f} actions/s"
        if rates["a"] is not None and rates["b"] is not None
        else ""
    )
    regressed = result["regressed"]
    headline = (
        f'<p class="regressed">Regressed: {escape(", ".join(regressed))}</p>'
        if regressed
        else '<p class="improved">No endpoint regressed.</p>'
    )
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in result.get("notes", []))
    title = "simcore compare: B against A"
    sub = (
        f"A {escape(str(result.get('run_a', '')))} · B {escape(str(result.get('run_b', '')))} · "
        f"{result['actions']:,} actions paired by their place in the stream{rate} · tolerance "
        f"{o['tolerance']:g}, max new failures {o['max_new_failures']:g}, "
        f"{o['confidence']:.0%} bootstrap intervals ({o['resamples']:,} resamples, seed {o['seed']})"
    )
    sections = [
        f"<section><h2>Verdicts</h2>{headline}{notes}{_verdicts(result)}</section>",
        f"<section><h2>Latency distributions, A and B</h2>{distributions}</section>",
        f"<section><h2>The paired ratio over time</h2>{ratio}</section>",
        f"<section><h2>Status changes</h2>{_changes(result)}</section>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{CSS}{_EXTRA_CSS}</style>\n{chart_assets()}</head>\n"
        f"<body><header><h1>{title}</h1><p>{sub}</p></header>\n<main>\n"
        + "\n".join(sections)
        + f"\n</main><script>{SCRIPT}</script></body></html>\n"
    )
