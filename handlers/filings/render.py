"""A node's compiled filings as a Word document (python-docx) and an Excel sheet (openpyxl),
built in memory. The table layout is the 月报表 (one row per matter, parts joined by their
``column``); the sections layout is the 简报 (each matter's parts under their headings).
Both mark late (超限) and missing filings."""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING

import docx
from docx.shared import Pt, RGBColor
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from config.filings import Template
from config.roster import Roster
from handlers import texts

if TYPE_CHECKING:
    from handlers.filings.compiled import Entry, Node

_RED = RGBColor(0xC0, 0x00, 0x00)
_MARKED = ("late", "missing_late", "missing")


def columns(template: Template) -> list[tuple[str, list[str]]]:
    """The table's part columns: (heading, the parts it joins), in the template's order."""
    out: dict[str, list[str]] = {}
    for part in template.parts:
        out.setdefault(part.heading, []).append(part.name)
    return list(out.items())


def cell_text(entry: Entry, parts: list[str]) -> str:
    """A column's text: one part as written; several numbered, each with its name."""
    if not entry.content:
        return ""  # the status column says why
    if len(parts) == 1:
        return entry.content.get(parts[0], "")
    return "\n".join(
        texts.compiled_joined(i, name, entry.content.get(name, ""))
        for i, name in enumerate(parts, 1)
    )


def _when(moment: dt.datetime | None, tz: dt.tzinfo) -> str:
    return texts.when(moment, tz) if moment is not None else ""


def render_docx(node: Node, roster: Roster, tz: dt.tzinfo, now: dt.datetime) -> bytes:
    document = docx.Document()
    document.add_heading(texts.compiled_title(node.template.title, node.period), level=1)
    document.add_paragraph(
        texts.compiled_subtitle(node.category, texts.when(node.due_at, tz), texts.when(now, tz))
    )
    if node.template.layout == "table":
        _docx_table(document, node, tz)
    else:
        _docx_sections(document, node, tz)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_table(document: docx.document.Document, node: Node, tz: dt.tzinfo) -> None:
    cols = columns(node.template)
    headers = [*texts.COMPILED_HEADERS[:3], *(h for h, _ in cols), *texts.COMPILED_HEADERS[3:]]
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, header in zip(table.rows[0].cells, headers, strict=True):
        cell.text = header
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for number, entry in enumerate(node.entries, 1):
        values = [
            str(number),
            entry.department,
            texts.compiled_ref(entry.matter_id, entry.name),
            *(cell_text(entry, parts) for _, parts in cols),
            _when(entry.done_at, tz),
            texts.COMPILED_STATUS[entry.status],
        ]
        if not entry.content:
            values[3] = texts.COMPILED_MISSING
        cells = table.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            cell.text = value
        if entry.status in _MARKED:
            for run in cells[-1].paragraphs[0].runs:
                run.bold, run.font.color.rgb = True, _RED


def _docx_sections(document: docx.document.Document, node: Node, tz: dt.tzinfo) -> None:
    for number, entry in enumerate(node.entries, 1):
        status = texts.COMPILED_STATUS[entry.status]
        document.add_heading(
            texts.compiled_section(
                number, texts.compiled_ref(entry.matter_id, entry.name), entry.department
            ),
            level=2,
        )
        line = document.add_paragraph()
        done = f" · {_when(entry.done_at, tz)}" if entry.done_at else ""
        run = line.add_run(status + done)
        if entry.status in _MARKED:
            run.bold, run.font.color.rgb = True, _RED
        if not entry.content:
            continue
        for i, part in enumerate(node.template.parts):
            if part.name not in entry.content:
                continue
            heading = document.add_paragraph()
            title = heading.add_run(texts.compiled_part_heading(i, part.name))
            title.bold, title.font.size = True, Pt(12)
            document.add_paragraph(entry.content[part.name])


def render_xlsx(node: Node, roster: Roster, tz: dt.tzinfo, now: dt.datetime) -> bytes:
    """One sheet: the title, then a header row and one row per matter (the import reads the
    same columns back: handlers.filings.sheet)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = node.category[:31]
    cols = columns(node.template)
    headers = [
        texts.COMPILED_HEADERS[0],
        texts.COMPILED_HEADERS[1],
        texts.SHEET_NUMBER,
        texts.COMPILED_HEADERS[2],
        *(h for h, _ in cols),
        *texts.COMPILED_HEADERS[3:],
    ]
    sheet.append([texts.compiled_title(node.template.title, node.period)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    marked = PatternFill("solid", fgColor="FFC7CE")
    for number, entry in enumerate(node.entries, 1):
        sheet.append(
            [
                number,
                entry.department,
                texts.compiled_ref(entry.matter_id),
                entry.name,
                *(cell_text(entry, parts) for _, parts in cols),
                _when(entry.done_at, tz),
                texts.COMPILED_STATUS[entry.status],
            ]
        )
        if entry.status in _MARKED:
            sheet.cell(row=sheet.max_row, column=len(headers)).fill = marked
    wrap = Alignment(wrap_text=True, vertical="top")
    kinds = {p.name: p.kind for p in node.template.parts}
    texty = {h for h, parts in cols if any(kinds[p] == "text" for p in parts)}
    for index, header in enumerate(headers, 1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = 40 if header in texty else 14
        for row in sheet.iter_rows(min_row=3, min_col=index, max_col=index):
            row[0].alignment = wrap
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
