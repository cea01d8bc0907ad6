"""The report as a Word document (python-docx, in memory): the form of a government
督查情况报告, a title, the period, numbered sections, a table per department where there are
figures, and the list of what needs the leaders' attention."""

from __future__ import annotations

import io
from collections.abc import Sequence

import docx
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.run import Run

from handlers import texts
from handlers.office_reports import prose
from handlers.office_reports.model import (
    Report,
    clock_total,
    filing_total,
    light_total,
    open_overdue,
)
from handlers.office_reports.tasks import STATES
from handlers.stats.figures import COLORS, FilingStats

BODY_FONT, HEADING_FONT, TITLE_FONT = "仿宋_GB2312", "黑体", "方正小标宋简体"
NUMERALS = "一二三四五六七八九十"
ATTENTION_LIMIT = 20  # entries of each kind in the document; the workbook lists them all


def _font(run: Run, name: str, size: float, bold: bool = False) -> None:
    run.font.name, run.font.size, run.font.bold = name, Pt(size), bold
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)  # Chinese text uses the east-Asian font


def _para(doc: Document, text: str, font: str = BODY_FONT, size: float = 16) -> None:
    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.first_line_indent = Pt(size * 2)
    _font(paragraph.add_run(text), font, size)


def _heading(doc: Document, number: int, key: str) -> None:
    paragraph = doc.add_heading(level=1)
    _font(paragraph.add_run(f"{NUMERALS[number]}、{texts.REPORT_SECTIONS[key]}"), HEADING_FONT, 16)


def _table(doc: Document, head: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    table = doc.add_table(rows=1, cols=len(head))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, head, strict=True):
        cell.text = ""
        _font(cell.paragraphs[0].add_run(text), HEADING_FONT, 10.5)
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(str(value)), BODY_FONT, 10.5)


def _pct(rate: float | None) -> str:
    return texts.report_percent(rate)


def _filing_row(name: str, f: FilingStats) -> list[object]:
    return [name, f.on_time + f.overdue + f.open, f.on_time, f.overdue, f.open, _pct(f.rate)]


def _tasks(doc: Document, report: Report) -> None:
    """任务书执行情况: a sentence, a row per department, the tasks behind plan."""
    figures = report.tasks
    if not figures.any:
        _para(doc, texts.report_tasks_none(figures.label))
        return
    _para(
        doc,
        texts.report_tasks_para(
            figures.label,
            sum(d.tasks for d in figures.departments),
            figures.total("on_time"),
            figures.total("late"),
            figures.total("missed"),
            figures.total("due"),
            len(figures.behind),
        ),
    )
    rows: list[list[object]] = [
        [d.name, d.tasks, *(d.milestones[s] for s in STATES)] for d in figures.departments
    ]
    rows.append(
        [
            texts.REPORT_TOTAL,
            sum(d.tasks for d in figures.departments),
            *(figures.total(s) for s in STATES),
        ]
    )
    _table(doc, texts.REPORT_TASKS_HEAD, rows)
    if figures.behind:
        _para(doc, texts.REPORT_TASKS_BEHIND)
        for index, b in enumerate(figures.behind[:ATTENTION_LIMIT], 1):
            _para(doc, f"{index}. {texts.report_attention_task(b.label, b.department, b.evidence)}")
        if len(figures.behind) > ATTENTION_LIMIT:
            label = texts.REPORT_ATTENTION_KINDS["task"]
            _para(doc, texts.report_attention_more(label, len(figures.behind) - ATTENTION_LIMIT))


def build(report: Report) -> bytes:
    doc = docx.Document()
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title.add_run(report.title), TITLE_FONT, 22)
    sub = doc.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    made = report.now.astimezone(report.tz).date()
    _font(sub.add_run(f"（{report.span}）"), BODY_FONT, 16)
    by = doc.add_paragraph()
    by.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(
        by.add_run(f"{texts.REPORT_MADE_BY}　{made.year}年{made.month}月{made.day}日"),
        BODY_FONT,
        14,
    )

    stats, number = report.stats, 0
    _heading(doc, number, "overview")
    for sentence in prose.overview(report):
        _para(doc, sentence)

    number += 1
    _heading(doc, number, "items")
    shown = [d for d in stats.departments if d.items]
    _para(
        doc,
        texts.report_items_para(sum(d.items for d in shown), len(shown), open_overdue(stats)),
    )
    rows: list[list[object]] = [
        [
            d.name,
            d.items,
            _pct(d.claim.rate),
            _pct(d.reply.rate),
            _pct(d.placeholder.rate),
            sum(d.clock(c).open_overdue for c in ("claim", "reply", "placeholder")),
        ]
        for d in shown
    ]
    claim, reply, placeholder = (clock_total(stats, c) for c in ("claim", "reply", "placeholder"))
    rows.append(
        [
            texts.REPORT_TOTAL,
            sum(d.items for d in shown),
            _pct(claim.rate),
            _pct(reply.rate),
            _pct(placeholder.rate),
            claim.open_overdue + reply.open_overdue + placeholder.open_overdue,
        ]
    )
    _table(doc, texts.REPORT_ITEMS_HEAD, rows)

    number += 1
    _heading(doc, number, "filings")
    total = filing_total(stats)
    _para(doc, texts.report_filings_para(total.on_time + total.overdue, total.overdue))
    filed = [d for d in stats.departments if d.filings.total]
    _table(
        doc,
        texts.REPORT_FILINGS_HEAD,
        [_filing_row(d.name, d.filings) for d in filed] + [_filing_row(texts.REPORT_TOTAL, total)],
    )

    number += 1
    _heading(doc, number, "tasks")
    _tasks(doc, report)

    number += 1
    _heading(doc, number, "instructions")
    ins = report.instructions
    _para(doc, texts.report_overview_instructions(ins.registered, ins.closed, ins.open))
    _table(
        doc,
        texts.REPORT_INSTRUCTIONS_HEAD,
        [
            [texts.REPORT_INSTRUCTION_STEPS[step], f.on_time, f.overdue, f.open, _pct(f.rate)]
            for step, f in (("sign", ins.sign), ("feedback", ins.feedback))
        ],
    )

    number += 1
    _heading(doc, number, "lights")
    interviews: dict[str, int] = {}
    for interview in report.interviews:
        interviews[interview.department] = interviews.get(interview.department, 0) + 1
    _para(
        doc,
        texts.report_lights_para(
            light_total(stats, "yellow"), light_total(stats, "red"), len(report.interviews)
        ),
    )
    lit = [d for d in stats.departments if any(d.lights.values()) or interviews.get(d.name)]
    _table(
        doc,
        texts.REPORT_LIGHTS_HEAD,
        [[d.name, *(d.lights.get(c, 0) for c in COLORS), interviews.get(d.name, 0)] for d in lit],
    )

    number += 1
    _heading(doc, number, "reviews")
    _para(doc, texts.report_reviews_para(sum(r[-1] for r in report.reviews)))
    if report.reviews:
        _table(doc, texts.REPORT_REVIEWS_HEAD, [list(r) for r in report.reviews])

    number += 1
    _heading(doc, number, "attention")
    entries = prose.attention(report)
    if not entries:
        _para(doc, texts.REPORT_NONE)
    index = 0
    for kind, label in texts.REPORT_ATTENTION_KINDS.items():
        mine = [e for e in entries if e.kind == kind]
        for entry in mine[:ATTENTION_LIMIT]:
            index += 1
            _para(doc, f"{index}. {label}：{entry.text}")
        if len(mine) > ATTENTION_LIMIT:
            _para(doc, texts.report_attention_more(label, len(mine) - ATTENTION_LIMIT))

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
