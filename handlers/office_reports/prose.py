"""The report's words: the overview written from the figures, the attention list, and the
short markdown summary for the phone (the title and the five figures first)."""

from __future__ import annotations

from dataclasses import dataclass

from handlers import texts
from handlers.office_reports.model import (
    Report,
    clock_total,
    filing_total,
    light_total,
)
from handlers.stats import series

SUMMARY_ENTRIES = 3  # entries per kind in the phone's attention list
SUMMARY_LIMIT = 1000  # characters: a phone screen or two, far under DingTalk's 15,000 bytes


def overview(report: Report) -> list[str]:
    """The overview's sentences, in plain Chinese, with the comparisons to the period before."""
    this, before = report.words
    now, prev = report.stats, report.previous
    triage, triage_before = now.office.triage.rate, prev.office.triage.rate
    reply, reply_before = clock_total(now, "reply").rate, clock_total(prev, "reply").rate
    filings, filings_before = filing_total(now), filing_total(prev)
    return [
        texts.report_overview_items(
            this,
            now.office.items,
            texts.report_count_change(now.office.items, prev.office.items, before, "件"),
            now.office.rejected,
            texts.report_percent(triage),
            texts.report_rate_change(triage, triage_before, before),
        )
        + texts.report_overview_departments(
            texts.report_percent(clock_total(now, "claim").rate),
            texts.report_percent(reply),
            texts.report_rate_change(reply, reply_before, before),
            report.hard,
        ),
        texts.report_overview_filings(
            filings.on_time + filings.overdue,
            filings.on_time,
            filings.overdue,
            texts.report_percent(filings.rate),
            texts.report_rate_change(filings.rate, filings_before.rate, before),
        )
        + texts.report_overview_instructions(
            report.instructions.registered, report.instructions.closed, report.instructions.open
        ),
        texts.report_overview_lights(
            sum(light_total(now, c) for c in ("green", "yellow", "red")),
            light_total(now, "yellow"),
            light_total(now, "red"),
            len(report.interviews),
        )
        + texts.report_overview_overdue(report.when(report.now), len(report.overdue)),
    ]


@dataclass(frozen=True)
class Attention:
    kind: str  # item | light | interview | overdue | task
    subject: str  # #12, 督3, a department
    department: str
    text: str
    short: str  # in the phone's list


def attention(report: Report) -> list[Attention]:
    """What needs the leaders' attention: overdue @件, matters on yellow/red, open interviews,
    超限 by department, tasks clearly behind plan."""
    out = [
        Attention(
            "item",
            f"#{o.number}",
            o.department,
            texts.report_attention_item(
                o.number, o.town, o.department, o.clock, report.when(o.due)
            ),
            texts.report_short_item(o.number, o.department, o.clock),
        )
        for o in report.overdue
    ]
    out += [
        Attention(
            "light",
            f"督{f.number}",
            f.department,
            texts.report_attention_light(f.number, f.name, list(f.colors)),
            texts.report_short_light(f.number, f.name, f.colors[-1]),
        )
        for f in report.flagged
    ]
    out += [
        Attention(
            "interview",
            f"督{i.matter}",
            i.department,
            texts.report_attention_interview(i.matter, i.name, i.tier, i.rule),
            texts.report_short_interview(i.matter, i.tier),
        )
        for i in report.interviews
    ]
    out += [
        Attention("overdue", name, name, *[texts.report_attention_overdue(name, count)] * 2)
        for name, count in series.overdue_filings_by_department(report.stats)
    ]
    out += [
        Attention(
            "task",
            b.label,
            b.department,
            texts.report_attention_task(b.label, b.department, b.evidence),
            texts.report_short_task(b.label, b.department),
        )
        for b in report.tasks.behind
    ]
    return out


def summary(report: Report) -> str:
    """The markdown for the phone: the title and span, the five figures, the attention list
    (a few entries of each kind), under SUMMARY_LIMIT characters."""
    now, prev = report.stats, report.previous
    reply, reply_before = clock_total(now, "reply").rate, clock_total(prev, "reply").rate
    triage, triage_before = now.office.triage.rate, prev.office.triage.rate
    filings, filings_before = filing_total(now), filing_total(prev)
    figures = texts.report_summary_figures(
        texts.report_summary_items(
            now.office.items, texts.report_summary_count_change(now.office.items, prev.office.items)
        ),
        texts.report_percent(triage) + texts.report_short_change(triage, triage_before),
        texts.report_percent(reply) + texts.report_short_change(reply, reply_before),
        texts.report_summary_filings(
            texts.report_percent(filings.rate),
            texts.report_short_change(filings.rate, filings_before.rate),
            filings.overdue,
        ),
        texts.report_summary_lights(
            light_total(now, "yellow"), light_total(now, "red"), len(report.interviews)
        ),
    )
    lines = [texts.report_summary_head(report.title, report.span), "", *figures, ""]
    lines.append(texts.REPORT_SUMMARY_ATTENTION)
    entries = attention(report)
    if not entries:
        lines.append(texts.REPORT_SUMMARY_NOTHING)
    for kind in texts.REPORT_ATTENTION_KINDS:
        mine = [a for a in entries if a.kind == kind]
        if mine:
            shown = [a.short for a in mine[:SUMMARY_ENTRIES]]
            lines.append(texts.report_summary_line(kind, shown, len(mine)))
    lines += ["", texts.REPORT_SUMMARY_FILES]
    text = "\n".join(lines)
    return text[:SUMMARY_LIMIT]
