"""Small inline-SVG charts (lines and stacked bars) generated in Python, for the offline report.

Each chart is one ``<svg class="chart">`` string with its axes, ticks, legend and
a ``<title>`` per point for hover text; no script and no external resource.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

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
)
WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 58


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``high``."""
    if not math.isfinite(high) or high <= 0:
        return [0.0, 1.0]
    raw = high / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    n = math.ceil(high / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _fmt(v: float) -> str:
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:g}" if v == int(v) else f"{v:.3g}"


def _frame(title: str, labels: Sequence[str], ticks: list[float], y_label: str) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = ticks[-1] or 1.0
    out = [
        f'<text x="{LEFT}" y="18" class="title">{escape(title)}</text>',
        f'<text x="14" y="{TOP + plot_h / 2:.0f}" class="axis" transform="rotate(-90 14 '
        f'{TOP + plot_h / 2:.0f})" text-anchor="middle">{escape(y_label)}</text>',
    ]
    for t in ticks:
        y = TOP + plot_h * (1 - t / top)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{_fmt(t)}</text>'
        )
    n = len(labels)
    every = max(1, math.ceil(n / 12))
    for i in range(0, n, every):
        x = LEFT + plot_w * (i + 0.5) / max(n, 1)
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" class="axis" text-anchor="end" '
            f'transform="rotate(-35 {x:.1f} {HEIGHT - BOTTOM + 14})">{escape(labels[i])}</text>'
        )
    return out


def _legend(names: Sequence[str]) -> list[str]:
    out, x = [], LEFT
    for i, name in enumerate(names):
        color = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{x + 14}" y="{HEIGHT - 5}" class="legend">{escape(name)}</text>')
        x += 22 + 7 * len(name)
    return out


def _wrap(parts: list[str], kind: str, n_series: int) -> str:
    body = "\n".join(parts)
    return (
        f'<svg class="chart {kind}" data-series="{n_series}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img">\n{body}\n</svg>'
    )


def empty_chart(title: str, note: str) -> str:
    """A placeholder saying why a chart has no data."""
    parts = [
        f'<text x="{LEFT}" y="18" class="title">{escape(title)}</text>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" class="axis" text-anchor="middle">{escape(note)}</text>',
    ]
    return _wrap(parts, "empty", 0)


def line_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    y_label: str = "",
) -> str:
    """Lines over ``labels``; ``None`` or NaN values leave gaps."""
    values = [v for s in series.values() for v in s if v is not None and math.isfinite(v)]
    if not labels or not values:
        return empty_chart(title, "no data")
    ticks = nice_ticks(max(values))
    top = ticks[-1] or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(labels)
    parts = _frame(title, labels, ticks, y_label)
    for k, (name, ys) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        d, pen = [], "M"
        dots = []
        for i, v in enumerate(ys):
            if v is None or not math.isfinite(v):
                pen = "M"
                continue
            x = LEFT + plot_w * (i + 0.5) / n
            y = TOP + plot_h * (1 - v / top)
            d.append(f"{pen}{x:.1f},{y:.1f}")
            pen = "L"
            if n <= 200:
                dots.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="{color}">'
                    f"<title>{escape(name)} {escape(labels[i])}: {v:,.4g}</title></circle>"
                )
        if d:
            parts.append(
                f'<path class="series" d="{" ".join(d)}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
            parts.extend(dots)
    parts.extend(_legend(list(series)))
    return _wrap(parts, "line", len(series))


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    y_label: str = "",
) -> str:
    """Bars over ``labels``, each stacked from the series in order."""
    n = len(labels)
    totals = [sum(float(s[i]) for s in series.values()) for i in range(n)]
    if not n or max(totals, default=0) <= 0:
        return empty_chart(title, "no data")
    ticks = nice_ticks(max(totals))
    top = ticks[-1] or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bar = plot_w / n
    gap = min(2.0, bar * 0.15)
    parts = _frame(title, labels, ticks, y_label)
    base = [0.0] * n
    for k, (name, ys) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        for i in range(n):
            v = float(ys[i])
            if v <= 0:
                continue
            h = plot_h * v / top
            y = TOP + plot_h * (1 - base[i] / top) - h
            parts.append(
                f'<rect class="bar" x="{LEFT + i * bar + gap / 2:.1f}" y="{y:.1f}" '
                f'width="{max(bar - gap, 0.5):.1f}" height="{h:.1f}" fill="{color}">'
                f"<title>{escape(name)} {escape(labels[i])}: {v:,.4g}</title></rect>"
            )
            base[i] += v
    parts.extend(_legend(list(series)))
    return _wrap(parts, "bars", len(series))
