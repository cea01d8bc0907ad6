"""The agenda draft as a Word document (python-docx, in memory)."""

from __future__ import annotations

import io

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH

from handlers import texts
from handlers.context import Ctx
from handlers.matters.base import label
from handlers.meetings.agenda import Agenda
from handlers.word_tables import grid


def render(ctx: Ctx, agenda: Agenda) -> bytes:
    """The document's bytes: title, the meeting, the agenda points, the counts per
    department, each department's lagging items, the last meeting's decisions."""
    meeting = agenda.meeting
    name = texts.meeting_label(meeting.period)
    document = docx.Document()
    title = document.add_heading(f"{name}议程草案", level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(
        texts.doc_agenda_intro(
            name, ctx.when(meeting.at), ctx.when(agenda.since), ctx.when(ctx.now)
        )
    )
    points, summary, details, decisions = texts.DOC_SECTIONS
    document.add_heading(points, level=1)
    for i, point in enumerate(texts.AGENDA_POINTS, 1):
        document.add_paragraph(f"{i}. {point}")

    document.add_heading(summary, level=1)
    kinds = list(texts.LAGGING_KINDS)
    if agenda.departments:
        rows = []
        for dept, entries in agenda.departments:
            counts = [sum(e.kind == k for e in entries) for k in kinds]
            rows.append([dept, *map(str, counts), str(sum(counts))])
        grid(document, texts.DOC_COUNT_HEADER, rows)
    else:
        document.add_paragraph(texts.DOC_NOTHING)

    document.add_heading(details, level=1)
    if not agenda.departments:
        document.add_paragraph(texts.DOC_NOTHING)
    for dept, entries in agenda.departments:
        document.add_heading(dept, level=2)
        rows = []
        for entry in entries:
            ref, _, what = entry.text.partition("：")
            rows.append([texts.LAGGING_KINDS[entry.kind], ref, what])
        grid(document, texts.DOC_DETAIL_HEADER, rows)

    document.add_heading(decisions, level=1)
    if not agenda.previous:
        document.add_paragraph(texts.DOC_NOTHING)
    else:
        rows = [
            [
                label(view.matter),
                view.matter.department,
                ctx.roster.name(view.matter.owner),
                ctx.when(view.due_at) if view.due_at else texts.decision_due(""),
                texts.DECISION_STATES[view.state],
            ]
            for view in agenda.previous
        ]
        grid(document, texts.DOC_DECISION_HEADER, rows)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
