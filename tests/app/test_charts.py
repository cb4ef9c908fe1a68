"""The server-side SVG charts: named by title and description, every text escaped, scaled by
their viewBox, the numbers where a reader of the description finds them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from app.charts import Series, column_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_a_chart_is_an_image_named_by_its_title_and_description() -> None:
    svg = column_chart(
        "c1", "Verifiche <per> mese", "gen: 3 & feb: 0", ["01/26", "02/26"], [Series("V", [3, 0])]
    )
    root = ET.fromstring(str(svg))  # noqa: S314 - our own output; well-formed XML
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-t c1-d"
    assert root.find(f"{SVG}title").text == "Verifiche <per> mese"
    assert root.find(f"{SVG}desc").text == "gen: 3 & feb: 0"
    assert root.get("viewBox", "").startswith("0 0 ") and root.get("width") is None
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 1 and bars[0].find(f"{SVG}title").text == "01/26, V: 3"


def test_labels_and_series_names_are_escaped() -> None:
    evil = '<script>alert("x")</script>'
    for draw in (column_chart, line_chart):
        svg = str(draw("c2", evil, evil, [evil, "b"], [Series(evil, [1, 2]), Series("b", [0, 4])]))
        assert "<script" not in svg
        ET.fromstring(svg)  # noqa: S314 - our own output
        assert len(re.findall("&lt;script&gt;", svg)) >= 3


def test_stacked_columns_scale_to_the_largest_total() -> None:
    svg = str(
        column_chart("c3", "t", "d", ["A", "B"], [Series("full", [2, 1]), Series("none", [2, 0])])
    )
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    # A's two parts (2 + 2) fill the axis whose top is 4; B's single part is a quarter of it
    assert heights[0] == heights[1] and abs(heights[2] * 4 - (heights[0] + heights[1])) < 0.5
