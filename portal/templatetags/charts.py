"""Server-rendered SVG charts: no JavaScript, readable by screen readers, printable."""

import math

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from portal.templatetags.portal import compact_number

register = template.Library()

# Sized for a half-width card: text stays readable when the SVG is scaled to ~300 px.
WIDTH = 360
HEIGHT = 210
LEFT = 44
RIGHT = 8
TOP = 22
BOTTOM = 26


def _number(value) -> float:
    if isinstance(value, bool):
        return 0.0
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 0.0


def bar_chart_svg(points: list[tuple[str, float]], *, title: str, chart_id: str) -> str:
    """A bar chart of (label, value) points as an SVG string with a title and per-bar values."""
    values = [_number(value) for _label, value in points]
    top_value = max(values, default=0.0) or 1.0
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(points), 1)
    bar_w = max(min(slot * 0.62, 44), 4)
    grid = format_html_join(
        "",
        '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
        '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
        (
            (
                LEFT,
                WIDTH - RIGHT,
                f"{TOP + plot_h * (1 - share):.1f}",
                f"{TOP + plot_h * (1 - share):.1f}",
                LEFT - 6,
                f"{TOP + plot_h * (1 - share) + 4:.1f}",
                compact_number(top_value * share),
            )
            for share in (0, 0.5, 1)
        ),
    )
    # Up to 6 bars carry their value and month; with more, every k-th month is labelled and
    # exact values stay in each bar's <title> and in the table under the chart.
    label_every = max(math.ceil(len(points) / 6), 1)
    bars = []
    for index, ((label, _raw), value) in enumerate(zip(points, values, strict=True)):
        height = plot_h * value / top_value
        x = LEFT + slot * index + (slot - bar_w) / 2
        y = TOP + plot_h - height
        labelled = index % label_every == 0
        bars.append(
            format_html(
                '<g class="chart-bar-group"><rect class="chart-bar" x="{}" y="{}" width="{}" '
                'height="{}" rx="3"><title>{}: {}</title></rect>{}{}</g>',
                f"{x:.1f}",
                f"{y:.1f}",
                f"{bar_w:.1f}",
                f"{height:.1f}",
                label,
                f"{value:g}",
                format_html(
                    '<text class="chart-value" x="{}" y="{}" text-anchor="middle">{}</text>',
                    f"{x + bar_w / 2:.1f}",
                    f"{max(y - 5, 10):.1f}",
                    compact_number(value),
                )
                if label_every == 1
                else "",
                format_html(
                    '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                    f"{x + bar_w / 2:.1f}",
                    HEIGHT - 8,
                    label,
                )
                if labelled
                else "",
            )
        )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}" '
        'preserveAspectRatio="xMidYMid meet"><title id="{}">{}</title>{}{}</svg>',
        WIDTH,
        HEIGHT,
        chart_id,
        chart_id,
        title,
        grid,
        mark_safe("".join(bars)),  # noqa: S308 - each bar is built with format_html above
    )


@register.simple_tag
def usage_chart(reports, metric: str, title: str = ""):
    """One metric of a tenant's monthly usage reports as a bar chart (months oldest first)."""
    points = [(f"{report.month:%y-%m}", report.metrics.get(metric, 0)) for report in reports]
    return bar_chart_svg(points, title=title or metric, chart_id=f"chart-{metric}")
