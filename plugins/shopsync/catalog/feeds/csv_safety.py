"""Spreadsheet formula-injection protection for CSV files that people open in Excel / LibreOffice.

A spreadsheet treats a cell starting with = + - @ (and, in some versions, TAB or CR before one of them) as a
formula; a customer name like "=HYPERLINK(...)" typed on a site would then run on a manager's machine. The
OWASP recommendation is applied: such a text cell gets a leading apostrophe, which the spreadsheet hides
and which turns the cell into text.

Only TEXT cells go through `protect_text`. Numbers are written by the caller as plain numbers and are never
prefixed: "-5.00" in a numeric column stays a number. Phone numbers are text: an E.164 phone "+380501234567"
is written as "'+380501234567" (without it Excel also turns the phone into the number 380501234567).

Machine feeds (TSGoods.trs, WooCommerce CSV) are not protected: see their module docstrings.
"""

from __future__ import annotations

FORMULA_TRIGGERS = frozenset("=+-@\t\r")


def protect_text(text: str | None) -> str:
    """The text as a spreadsheet shows it literally; None -> ''."""
    if not text:
        return ""
    if text[0] in FORMULA_TRIGGERS:
        return "'" + text
    return text
