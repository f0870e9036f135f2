"""Inline SVG plots, drawn on the server: a time series of counts per series, horizontal bars and a
sparkline. No script, no style attribute (the pages' CSP allows styles from the stylesheet only):
shapes take SVG presentation attributes and classes. Every label is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from otel_apisec.estate.html import escape

__all__ = ["SEVERITY_ORDER", "bars", "sparkline", "time_series"]

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def time_series(series: Mapping[str, Sequence[int]], labels: Sequence[str], title: str, *, width: int = 640,
                height: int = 180) -> str:
    """One line per series (`series[name][i]` is the count in bucket i), the buckets' labels under the
    first, middle and last; the lines take the class `s-NAME` (the stylesheet colours severities)."""
    left, right, top, bottom = 36, 8, 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    buckets = max((len(v) for v in series.values()), default=0)
    peak = max((max(v, default=0) for v in series.values()), default=0) or 1
    step = plot_w / max(1, buckets - 1)

    def y(count: float) -> float:
        return top + plot_h - plot_h * count / peak

    parts = [f'<svg class="chart" role="img" aria-labelledby="t-{id(series)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title id="t-{id(series)}">{escape(title)}</title>',
             f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>',
             f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>',
             f'<text class="tick" x="{left - 4}" y="{top + 4}" text-anchor="end">{peak}</text>',
             f'<text class="tick" x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>']
    for index in sorted({0, buckets // 2, buckets - 1}) if buckets else ():
        if index < len(labels):
            anchor = "start" if index == 0 else "end" if index == buckets - 1 else "middle"
            parts.append(f'<text class="tick" x="{_n(left + index * step)}" y="{height - 18}" '
                         f'text-anchor="{anchor}">{escape(labels[index])}</text>')
    x_legend = left
    for name, counts in series.items():
        if not any(counts):
            continue
        points = " ".join(f"{_n(left + i * step)},{_n(y(c))}" for i, c in enumerate(counts))
        css = escape(name if name in SEVERITY_ORDER else "other")
        parts.append(f'<polyline class="line s-{css}" points="{points}"><title>{escape(name)}: {sum(counts)}</title>'
                     "</polyline>")
        parts.append(f'<rect class="s-{css}" x="{x_legend}" y="{height - 10}" width="10" height="10"/>'
                     f'<text class="tick" x="{x_legend + 14}" y="{height - 1}">{escape(name)} {sum(counts)}</text>')
        x_legend += 110
    if not any(any(v) for v in series.values()):
        parts.append(f'<text class="tick" x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle">'
                     "no findings in this window</text>")
    parts.append("</svg>")
    return "".join(parts)


def bars(items: Sequence[tuple[str, float]], title: str, *, width: int = 520, unit: str = "") -> str:
    """Horizontal bars, one per (label, value), the largest the full width, labelled with its value."""
    if not items:
        return '<p class="muted">nothing to plot</p>'
    row, label_w = 22, 200
    height = row * len(items) + 4
    peak = max(value for _, value in items) or 1
    parts = [f'<svg class="chart" role="img" aria-labelledby="b-{id(items)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title id="b-{id(items)}">{escape(title)}</title>']
    for index, (label, value) in enumerate(items):
        y = index * row + 2
        span = (width - label_w - 70) * value / peak
        text = label if len(label) <= 30 else label[:29] + "…"
        parts.append(f'<text class="tick" x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(text)}'
                     f"<title>{escape(label)}</title></text>"
                     f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{_n(max(span, 1))}" height="{row - 8}"/>'
                     f'<text class="tick" x="{_n(label_w + max(span, 1) + 4)}" y="{y + 14}">{escape(_n(value))}{escape(unit)}'
                     "</text>")
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: Sequence[float], title: str, *, width: int = 120, height: int = 28, low: float = 0,
              high: float = 100) -> str:
    """A small line over `low`-`high` (scores: 0-100); a single value is a flat line."""
    if not values:
        return '<span class="muted">-</span>'
    points = list(values) if len(values) > 1 else [values[0], values[0]]
    step = (width - 4) / (len(points) - 1)
    scale = (height - 4) / ((high - low) or 1)
    coords = " ".join(f"{_n(2 + i * step)},{_n(height - 2 - (min(high, max(low, v)) - low) * scale)}"
                      for i, v in enumerate(points))
    return (f'<svg class="spark" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<title>{escape(title)}</title><polyline class="line" points="{coords}"/></svg>')
