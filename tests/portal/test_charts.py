"""The server-rendered SVG bar chart."""

import re

from portal.templatetags.charts import bar_chart_svg
from portal.templatetags.portal import compact_number


def test_each_point_is_a_bar_with_its_exact_value_in_a_title():
    svg = bar_chart_svg([("01", 10), ("02", 2500), ("03", 0)], title="API calls", chart_id="c")
    assert svg.count('class="chart-bar"') == 3
    assert "<title>02: 2500</title>" in svg
    assert 'role="img"' in svg and 'aria-labelledby="c"' in svg
    heights = [float(h) for h in re.findall(r'class="chart-bar"[^>]*height="([\d.]+)"', svg)]
    assert heights[1] > heights[0] > heights[2] == 0


def test_many_points_label_every_other_month_and_drop_value_labels():
    points = [(f"{m:02d}", m) for m in range(1, 13)]
    svg = bar_chart_svg(points, title="t", chart_id="c")
    assert svg.count('class="chart-bar"') == 12
    assert svg.count('class="chart-value"') == 0
    month_labels = re.findall(
        r'class="chart-axis" x="[\d.]+" y="\d+" text-anchor="middle">(\d+)<', svg
    )
    assert month_labels == ["01", "03", "05", "07", "09", "11"]


def test_labels_are_escaped_and_bad_values_count_as_zero():
    svg = bar_chart_svg([("<b>", "x"), ("ok", -5), ("t", True)], title="<t>", chart_id="c")
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert "&lt;t&gt;" in svg
    assert "<title>ok: 0</title>" in svg


def test_compact_numbers():
    assert compact_number(999) == "999"
    assert compact_number(1234) == "1.2k"
    assert compact_number(3_400_000) == "3.4M"
    assert compact_number(2.5) == "2.5"
    assert compact_number("x") == ""
