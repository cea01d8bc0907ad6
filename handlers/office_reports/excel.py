"""The report's tables as an Excel workbook (openpyxl, in memory) with native charts, drawn
by Excel on the reader's machine (no font needed on the server): on-time rates per department
and clock, @件 per week, yellow and red lights per month per department, filings on time
against 超限."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from handlers import texts
from handlers.office_reports import prose
from handlers.office_reports.model import Report
from handlers.office_reports.tasks import STATES
from handlers.stats.figures import COLORS, DEPARTMENT_CLOCKS

PERCENT = "0.0%"


def _sheet(ws: Worksheet, head: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    ws.append(list(head))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(list(row))
    for index, name in enumerate(head, 1):
        ws.column_dimensions[get_column_letter(index)].width = max(10, len(str(name)) * 2 + 2)
    ws.freeze_panes = "B2"


def _place(ws: Worksheet, chart: BarChart | LineChart, title: str, columns: int) -> None:
    chart.title = title
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, f"{get_column_letter(columns + 2)}2")


def build(report: Report) -> bytes:
    book = Workbook()
    stats = report.stats
    interviews: dict[str, int] = {}
    for interview in report.interviews:
        interviews[interview.department] = interviews.get(interview.department, 0) + 1

    summary = book.active
    assert summary is not None
    summary.title = texts.REPORT_XLSX_SUMMARY
    rows = [
        [
            d.name,
            d.items,
            *(d.clock(c).rate for c in DEPARTMENT_CLOCKS),
            sum(d.clock(c).open_overdue for c in DEPARTMENT_CLOCKS),
            d.filings.on_time,
            d.filings.overdue,
            d.filings.open,
            *(d.lights.get(c, 0) for c in COLORS),
            interviews.get(d.name, 0),
        ]
        for d in stats.departments
    ]
    _sheet(summary, texts.REPORT_XLSX_SUMMARY_HEAD, rows)
    for row in summary.iter_rows(min_row=2, min_col=3, max_col=5):
        for cell in row:
            cell.number_format = PERCENT
    last = len(rows) + 1
    rates = BarChart()
    rates.type, rates.y_axis.number_format = "col", PERCENT
    rates.y_axis.scaling.min, rates.y_axis.scaling.max = 0, 1
    rates.add_data(
        Reference(summary, min_col=3, max_col=5, min_row=1, max_row=last), titles_from_data=True
    )
    rates.set_categories(Reference(summary, min_col=1, min_row=2, max_row=last))
    _place(summary, rates, texts.REPORT_CHART_RATES, len(texts.REPORT_XLSX_SUMMARY_HEAD))

    weeks = book.create_sheet(texts.REPORT_XLSX_WEEKS)
    _sheet(weeks, texts.REPORT_XLSX_WEEK_HEAD, [[w, n] for w, n in report.weeks])
    for (cell,) in weeks.iter_rows(min_row=2, max_col=1):
        cell.number_format = "yyyy-mm-dd"
    line = LineChart()
    last = len(report.weeks) + 1
    line.add_data(Reference(weeks, min_col=2, min_row=1, max_row=last), titles_from_data=True)
    line.set_categories(Reference(weeks, min_col=1, min_row=2, max_row=last))
    line.x_axis.number_format = "mm-dd"
    _place(weeks, line, texts.REPORT_CHART_WEEKS, 2)

    lights = book.create_sheet(texts.REPORT_XLSX_LIGHTS)
    departments = list(report.lights)
    months = report.period.months()
    _sheet(
        lights,
        [texts.REPORT_XLSX_MONTH, *departments],
        [
            [texts.period_label(m)]
            + [report.lights[d][m]["yellow"] + report.lights[d][m]["red"] for d in departments]
            for m in months
        ],
    )
    bars = BarChart()
    bars.type = "col"
    bars.add_data(
        Reference(
            lights, min_col=2, max_col=len(departments) + 1, min_row=1, max_row=len(months) + 1
        ),
        titles_from_data=True,
    )
    bars.set_categories(Reference(lights, min_col=1, min_row=2, max_row=len(months) + 1))
    _place(lights, bars, texts.REPORT_CHART_LIGHTS, len(departments) + 1)

    filings = book.create_sheet(texts.REPORT_XLSX_FILINGS)
    filed = [d for d in stats.departments if d.filings.total] or stats.departments
    _sheet(
        filings,
        texts.REPORT_XLSX_FILING_HEAD,
        [[d.name, d.filings.on_time, d.filings.overdue] for d in filed],
    )
    stacked = BarChart()
    stacked.type, stacked.grouping, stacked.overlap = "col", "stacked", 100
    stacked.add_data(
        Reference(filings, min_col=2, max_col=3, min_row=1, max_row=len(filed) + 1),
        titles_from_data=True,
    )
    stacked.set_categories(Reference(filings, min_col=1, min_row=2, max_row=len(filed) + 1))
    _place(filings, stacked, texts.REPORT_CHART_FILINGS, 3)

    tasks = book.create_sheet(texts.REPORT_XLSX_TASKS)
    figures = report.tasks
    if not figures.any:
        tasks.append([texts.report_tasks_none(figures.label)])
    else:
        _sheet(
            tasks,
            texts.REPORT_TASKS_HEAD,
            [[d.name, d.tasks, *(d.milestones[s] for s in STATES)] for d in figures.departments],
        )
        if figures.behind:
            tasks.append([])
            tasks.append(list(texts.REPORT_XLSX_BEHIND_HEAD))
            for b in figures.behind:
                tasks.append([b.label, b.department, b.name, b.evidence])
            tasks.column_dimensions["D"].width = 60

    attention = book.create_sheet(texts.REPORT_XLSX_ATTENTION)
    _sheet(
        attention,
        texts.REPORT_ATTENTION_HEAD,
        [
            [texts.REPORT_ATTENTION_KINDS[a.kind], a.subject, a.department, a.text]
            for a in prose.attention(report)
        ],
    )
    attention.column_dimensions["D"].width = 60

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
