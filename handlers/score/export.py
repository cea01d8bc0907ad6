"""A score sheet (handlers.score.sheet's dict, live or frozen) for its readers: the chat's
summary, the Word document for the leaders and 组织人事处, the Excel workbook of every line."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import docx
import openpyxl
from docx.enum.text import WD_ALIGN_PARAGRAPH

from handlers import texts
from handlers.word_tables import grid

Sheet = dict[str, Any]


def _points(value: float) -> str:
    return texts.score_points(value)


def _totals(dept: dict[str, Any]) -> list[str]:
    points = [_points(line["points"]) for line in dept["lines"]]
    return [dept["name"], *points, _points(dept["total"]), "是" if dept["vetoes"] else ""]


def _lines(dept: dict[str, Any]) -> list[list[str]]:
    return [
        [
            dept["name"],
            line["item"],
            str(line["full"]),
            _points(line["base"]),
            _points(line["adjust"]) if line["adjust"] else "",
            _points(line["points"]),
            "\n".join(line["evidence"]),
        ]
        for line in dept["lines"]
    ]


def _figures(dept: dict[str, Any]) -> list[str]:
    f = dept["figures"]
    return [dept["name"], f["items"], f["claim"], f["reply"], f["placeholder"], f["filings"]]


def summary(sheet: Sheet) -> str:
    """The chat's markdown: each department's total, then the vetoes."""
    lines = [
        texts.score_summary(sheet["year"], sheet["state"], len(sheet["departments"])),
        texts.score_taken(sheet["taken_at"]),
    ]
    if sheet.get("approved"):
        approved = sheet["approved"]
        lines.append(texts.score_frozen_note(approved["by"], approved["at"]))
    for dept in sheet["departments"]:
        lines.append(texts.score_summary_line(dept["name"], dept["total"], bool(dept["vetoes"])))
        lines += [f"  - {veto}" for veto in dept["vetoes"]]
    return "\n".join(lines)


def word(sheet: Sheet) -> bytes:
    document = docx.Document()
    title = document.add_heading(sheet["title"], level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(summary(sheet).splitlines()[0])
    document.add_paragraph(texts.score_taken(sheet["taken_at"]))
    if sheet.get("approved"):
        approved = sheet["approved"]
        document.add_paragraph(texts.score_frozen_note(approved["by"], approved["at"]))
    totals, details, figures, opinion, notes = texts.SCORE_SECTIONS
    departments = sheet["departments"]
    document.add_heading(totals, level=1)
    grid(document, texts.SCORE_HEADER, [_totals(d) for d in departments])
    document.add_heading(details, level=1)
    for dept in departments:
        document.add_heading(dept["name"], level=2)
        grid(document, texts.SCORE_LINE_HEADER[1:], [row[1:] for row in _lines(dept)])
    document.add_heading(figures, level=1)
    grid(document, texts.SCORE_FIGURES_HEADER, [_figures(d) for d in departments])
    document.add_heading(opinion, level=1)
    document.add_paragraph(sheet["opinion"] or texts.SCORE_NO_OPINION)
    document.add_heading(notes, level=1)
    for i, note in enumerate(sheet["notes"], 1):
        document.add_paragraph(f"{i}. {note}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def excel(sheet: Sheet) -> bytes:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    totals, details, figures, opinion, notes = texts.SCORE_SECTIONS
    sheets: list[tuple[str, Sequence[str], list[list[str]]]] = [
        (totals, texts.SCORE_HEADER, [_totals(d) for d in sheet["departments"]]),
        (details, texts.SCORE_LINE_HEADER, [r for d in sheet["departments"] for r in _lines(d)]),
        (figures, texts.SCORE_FIGURES_HEADER, [_figures(d) for d in sheet["departments"]]),
        (opinion, (opinion,), [[sheet["opinion"] or texts.SCORE_NO_OPINION]]),
        (notes, (notes,), [[n] for n in sheet["notes"]]),
    ]
    for i, (name, header, rows) in enumerate(sheets):
        ws = first if i == 0 else book.create_sheet()
        ws.title = name.split("、", 1)[-1]
        ws.append(list(header))
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def names(sheet: Sheet) -> tuple[str, str]:
    """The Word document's and the workbook's file names."""
    title = sheet["title"]
    return f"{title}.docx", f"{title}{texts.SCORE_DOC_SUFFIX}.xlsx"
