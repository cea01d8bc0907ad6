"""The bureau's task book of a year as a Word document (grouped by department, a table each)
and as a workbook (one sheet, a 处室 column: it imports again), both in memory."""

from __future__ import annotations

import io

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import texts
from handlers.taskbook import progress
from handlers.taskbook.sweep import owner_of
from handlers.word_tables import grid
from storage.models import Task, TaskBook


def _rows(session: Session, roster: Roster, year: int) -> list[tuple[str, list[list[str]]]]:
    """(department, its tasks' cells in TASKBOOK_COLUMNS order after 处室), by department."""
    out: list[tuple[str, list[list[str]]]] = []
    tasks = session.scalars(
        select(Task).where(Task.year == year).order_by(Task.department, Task.id)
    ).all()
    for task in tasks:
        if not out or out[-1][0] != task.department:
            out.append((task.department, []))
        nodes = "\n".join(
            f"{m.due.month}月{m.due.day}日 {m.what}".strip()
            if m.due.year == year
            else f"{m.due.isoformat()} {m.what}".strip()
            for m in progress.milestones(session, task.id)
        )
        _, owner = owner_of(roster, task)
        out[-1][1].append(
            [
                progress.task_label(task),
                task.name,
                task.category,
                task.target,
                nodes,
                task.measures,
                owner if task.owner else "",
                task.platform,
            ]
        )
    return out


def word(session: Session, roster: Roster, year: int) -> bytes:
    document = docx.Document()
    title = document.add_heading(texts.taskbook_doc_title(year), level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    books = session.scalars(select(TaskBook).where(TaskBook.year == year)).all()
    approved = [b for b in books if b.approved_meeting]
    if approved:
        document.add_paragraph(texts.taskbook_doc_approved(approved[0].approved_meeting or ""))
    groups = _rows(session, roster, year)
    if not groups:
        document.add_paragraph(texts.TASKBOOK_DOC_EMPTY)
    header = texts.TASKBOOK_COLUMNS[1:]  # 处室 is the heading
    for number, (dept, rows) in enumerate(groups, 1):
        document.add_heading(f"{texts.chinese_number(number)}、{dept}", level=1)
        grid(document, header, rows)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def workbook(session: Session, roster: Roster, year: int) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = texts.taskbook_sheet_title(year)
    sheet.append(list(texts.TASKBOOK_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for dept, rows in _rows(session, roster, year):
        for values in rows:
            sheet.append([dept, *values])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDEFGHI", (14, 7, 24, 14, 28, 28, 28, 10, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
