"""A Word table the way every document of the bot lays one out: a grid, the header row, then
the rows as text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def grid(document: Any, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Add the table to ``document`` (a python-docx Document)."""
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for values in rows:
        for cell, value in zip(table.add_row().cells, values, strict=True):
            cell.text = str(value)
