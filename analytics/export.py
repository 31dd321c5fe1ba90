"""CSV export of a dashboard table, for a spreadsheet in French.

Semicolon-separated, decimal comma, UTF-8 with a byte-order mark: what a French spreadsheet
opens as columns without an import dialog. A text cell that starts with = + - @ (or a tab or
carriage return) would be read as a formula by the spreadsheet (CSV injection: a masked
question « =HYPERLINK(…) » typed by anyone): it gets a leading apostrophe, which the
spreadsheet shows as text. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return format(value, ".10g").replace(".", ",")
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([cell(c) for c in columns])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return "\ufeff" + out.getvalue()
