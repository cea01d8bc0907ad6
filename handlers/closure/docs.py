"""The Word documents of a closure, built in memory (python-docx): a 攻坚 matter's 销项 report
(attachment 4's template) and a 批示件's 专报 (attachment 1, 形成专报)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH

from handlers import texts
from handlers.word_tables import grid


def _new(title: str, subtitle: str = "") -> DocxDocument:
    doc = Document()
    heading = doc.add_heading(title, level=1)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if subtitle:
        doc.add_paragraph(subtitle).alignment = WD_ALIGN_PARAGRAPH.CENTER
    return doc


def _field(doc: DocxDocument, name: str, value: str) -> None:
    """``名称：`` in bold, then the value; a value of several lines keeps its lines."""
    paragraph = doc.add_paragraph()
    paragraph.add_run(f"{name}：").bold = True
    lines = value.split("\n") if value else [""]
    paragraph.add_run(lines[0])
    for line in lines[1:]:
        doc.add_paragraph(line)


def _bytes(doc: DocxDocument) -> bytes:
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def closure_report(
    number: str,
    name: str,
    department: str,
    problem: str,
    solution: str,
    attachments: Sequence[tuple[str, str]],
) -> bytes:
    """Attachment 4: 事项编号, 事项名称, 报送机构, 问题描述, 解决情况, and 附件 naming the two
    files (``attachments``: (purpose, file name))."""
    doc = _new(texts.CLOSURE_TITLE, texts.TEMPLATE_MARK)
    values = (number, name, department, problem, solution)
    for field, value in zip(texts.CLOSURE_FIELDS, values, strict=True):
        _field(doc, field, value)
    doc.add_paragraph().add_run(texts.CLOSURE_ATTACHMENT_HEAD).bold = True
    for i, (purpose, file_name) in enumerate(attachments, 1):
        doc.add_paragraph(f"{i}. {texts.CLOSURE_ATTACHMENTS[purpose]}（{file_name}）")
    return _bytes(doc)


def special_report(
    title: str,
    notice: Sequence[tuple[str, str]],
    feedback: Sequence[tuple[str, str]],
    tracking: Sequence[tuple[str, str]],
    steps: Sequence[tuple[str, str]],
) -> bytes:
    """A 批示件's 专报: the notice's facts, the feedback, each month's tracking report
    (heading, text) and the closure steps (step, who and when)."""
    doc = _new(title)
    doc.add_heading(texts.SPECIAL_SECTIONS[0], level=2)
    for name, value in notice:
        _field(doc, name, value)
    doc.add_heading(texts.SPECIAL_SECTIONS[1], level=2)
    for name, value in feedback:
        _field(doc, name, value)
    doc.add_heading(texts.SPECIAL_SECTIONS[2], level=2)
    if not tracking:
        doc.add_paragraph(texts.SPECIAL_NO_TRACKING)
    for heading, text in tracking:
        doc.add_heading(heading, level=3)
        for line in text.split("\n"):
            doc.add_paragraph(line)
    doc.add_heading(texts.SPECIAL_SECTIONS[3], level=2)
    grid(doc, texts.SPECIAL_STEP_HEADER, steps)
    return _bytes(doc)
