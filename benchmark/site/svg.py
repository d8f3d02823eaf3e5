"""A line chart as inline SVG (a training curve): no script, no style attribute, numbers only."""

from __future__ import annotations

from benchmark.site import escape

WIDTH, HEIGHT, PAD = 480, 200, 36


def line_chart(points: list[tuple[float, float]], label: str) -> str:
    """``points`` (x, y) as a polyline with min/max tick labels on both axes."""
    if not points:
        return ""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx = (WIDTH - 2 * PAD) / ((x1 - x0) or 1.0)
    sy = (HEIGHT - 2 * PAD) / ((y1 - y0) or 1.0)
    coords = " ".join(f"{PAD + (x - x0) * sx:.1f},{HEIGHT - PAD - (y - y0) * sy:.1f}" for x, y in points)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape.attr(label)}" xmlns="http://www.w3.org/2000/svg">'
        f'<rect x="{PAD}" y="{PAD}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}" fill="none" stroke="#ccc"/>'
        f'<polyline fill="none" stroke="#2b6cb0" stroke-width="1.5" points="{coords}"/>'
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="11">{x0:g}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">{x1:g}</text>'
        f'<text x="4" y="{PAD + 4}" font-size="11">{y1:.4g}</text>'
        f'<text x="4" y="{HEIGHT - PAD}" font-size="11">{y0:.4g}</text>'
        "</svg>"
    )
