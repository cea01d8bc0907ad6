"""A report's figures, from handlers.stats (the functions behind 统计 and the statistics
workbook), for its period and the one before; the Word, Excel and phone views only lay them
out. Reviews (复核) have no table in this tree: :data:`reviews_of` is the hook that fills the
section once they do (None: the section is left out)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import texts
from handlers.office_reports.periods import Period, previous
from handlers.office_reports.tasks import TaskFigures, task_figures
from handlers.stats import series
from handlers.stats.figures import (
    DEPARTMENT_CLOCKS,
    REVIEW_KINDS,
    ClockStats,
    FilingStats,
    Stats,
    department_stats,
)
from handlers.workcal import WorkCalendar
from storage.models import OfficeReport


def clock_total(stats: Stats, clock: str) -> ClockStats:
    """One clock over every department."""
    total = ClockStats()
    for dept in stats.departments:
        part = dept.clock(clock)
        total.on_time += part.on_time
        total.late += part.late
        total.open_overdue += part.open_overdue
        total.pending += part.pending
    return total


def filing_total(stats: Stats) -> FilingStats:
    total = FilingStats()
    for dept in stats.departments:
        total.on_time += dept.filings.on_time
        total.overdue += dept.filings.overdue
        total.open += dept.filings.open
    return total


def light_total(stats: Stats, color: str) -> int:
    return sum(d.lights.get(color, 0) for d in stats.departments)


def open_overdue(stats: Stats) -> int:
    """Items of the window still waiting past a department clock's deadline."""
    return sum(d.clock(c).open_overdue for d in stats.departments for c in DEPARTMENT_CLOCKS)


@dataclass
class Report:
    period: Period
    before: Period
    now: dt.datetime
    tz: dt.tzinfo
    stats: Stats
    previous: Stats
    weeks: list[tuple[dt.date, int]]
    lights: dict[str, dict[str, dict[str, int]]]
    instructions: series.InstructionStats
    overdue: list[series.OverdueItem]
    flagged: list[series.FlaggedMatter]
    interviews: list[series.OpenInterview]
    # (department, 实地核查, 回头看, 再督查, total) of the departments with reviews
    reviews: list[tuple[str, int, int, int, int]]
    tasks: TaskFigures
    record: OfficeReport | None

    @property
    def title(self) -> str:
        return texts.report_title(
            self.period.kind, self.period.year, self.period.number, self.period.made
        )

    @property
    def span(self) -> str:
        return texts.report_span(self.period.start, self.period.last)

    @property
    def words(self) -> tuple[str, str]:
        return texts.report_this_and_before(self.period.kind, self.period.number)

    @property
    def hard(self) -> int:
        return sum(d.placeholder.counted + d.placeholder.pending for d in self.stats.departments)

    def when(self, moment: dt.datetime) -> str:
        return texts.when(moment, self.tz)


def build(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    period: Period,
    now: dt.datetime,
) -> Report:
    """Every figure of ``period`` as of ``now`` (a period still running: so far)."""
    tz = cal.tz
    start, end = period.window(tz)
    before = previous(roster.data.reports, period)
    b_start, b_end = before.window(tz)
    stats = department_stats(session, roster, start, end, now, tz=tz)
    years = list(range(period.start.year, period.last.year + 1))  # the task books read
    reviews = []
    for d in stats.departments:
        field, lookback, recheck = (d.reviews[k] for k in REVIEW_KINDS)
        if field + lookback + recheck:
            reviews.append((d.name, field, lookback, recheck, field + lookback + recheck))
    return Report(
        period=period,
        before=before,
        now=now,
        tz=tz,
        stats=stats,
        previous=department_stats(session, roster, b_start, b_end, now, tz=tz),
        weeks=series.items_per_week(session, start, end, tz),
        lights=series.lights_by_month(session, roster, period.months()),
        instructions=series.instruction_stats(session, start, end, now),
        overdue=series.overdue_items(session, roster, now),
        flagged=series.flagged_matters(session, roster, period.months()),
        interviews=series.open_interviews(session, roster),
        reviews=reviews,
        tasks=task_figures(session, roster, cal, years, start, end, now),
        record=session.get(OfficeReport, period.label),
    )
