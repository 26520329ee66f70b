"""Text from outside the market made safe to show and to export.

Vendor text (names, descriptions, plan names, error messages) reaches pages, e-mails and CSV.
Two things in it can mislead a reader without being visible:

- bidirectional control characters (U+202A-U+202E embeddings and overrides, U+2066-U+2069
  isolates, U+200E/U+200F marks) reorder what is displayed, so ``invoice‮fdp.exe`` reads as
  ``invoiceexe.pdf``. The market's languages (Korean, English) never need them, so
  `strip_bidi_controls` removes them where vendor text enters the market (a valid manifest's
  data, a vendor's error message, a vendor's name) and again in every CSV cell, so rows stored
  before this rule are safe to export too;
- a spreadsheet runs a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula, also after
  leading spaces (`` =cmd|' /C calc'!A0``): `spreadsheet_cell` prefixes such a cell with ``'``.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What a spreadsheet may read as the start of a formula (after any leading whitespace), and
# the control characters that start a new cell or line in some of them.
_FORMULA_STARTS = ("=", "+", "-", "@")
_CELL_BREAKS = ("\t", "\r", "\n")


def strip_bidi_controls(text: str) -> str:
    """`text` without bidirectional control characters (see the module docstring)."""
    return BIDI_CONTROLS.sub("", text)


def strip_bidi_in(value):
    """`value` (JSON-like: dicts, lists, strings) with every string, key included, stripped."""
    if isinstance(value, str):
        return strip_bidi_controls(value)
    if isinstance(value, dict):
        return {strip_bidi_in(key): strip_bidi_in(child) for key, child in value.items()}
    if isinstance(value, list):
        return [strip_bidi_in(child) for child in value]
    return value


def spreadsheet_cell(value) -> str:
    """`value` as CSV cell text a spreadsheet shows as text, never runs as a formula."""
    text = strip_bidi_controls(str(value))
    if text.startswith(_CELL_BREAKS) or text.lstrip().startswith(_FORMULA_STARTS):
        return "'" + text
    return text
