"""Vendor text made safe: no bidirectional controls, no spreadsheet formulas."""

import pytest

from market.lib.text import spreadsheet_cell, strip_bidi_controls, strip_bidi_in

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def test_every_bidirectional_control_is_removed():
    assert strip_bidi_controls(f"invoice{BIDI}fdp.exe") == "invoicefdp.exe"
    assert strip_bidi_controls("튜터 Tutor") == "튜터 Tutor"


def test_json_like_values_are_stripped_keys_included():
    value = {"name\u202e": ["a\u2066b", 3, None, {"c": "\u200fd"}]}
    assert strip_bidi_in(value) == {"name": ["ab", 3, None, {"c": "d"}]}


@pytest.mark.parametrize(
    "cell",
    ["=cmd", "+1", "-1+2", "@SUM(A1)", " =cmd|' /C calc'!A0", "\t=1", "  \u00a0@x", "\r=1", "\n-1"],
)
def test_a_cell_that_a_spreadsheet_would_run_is_made_text(cell):
    assert spreadsheet_cell(cell).startswith("'")


@pytest.mark.parametrize("cell", ["Basic plan", "AI 토큰 1,000개", " plain", "a=b"])
def test_ordinary_text_is_left_alone(cell):
    assert spreadsheet_cell(cell) == cell


def test_a_cell_loses_bidirectional_controls_before_the_formula_check():
    assert spreadsheet_cell("\u202e=cmd") == "'=cmd"
