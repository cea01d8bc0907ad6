"""Which months a report covers, how its period is written, and when its draft is due.

A quarterly report is named by the year and its place among the roster's report months:
with the default months (February, May, August, November) ``2026Q3`` is the report made in
August 2026, covering May-July (the three full months before it). ``2026H1`` covers
January-June, ``2026`` the calendar year; both are made in the month after they end.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from config.reports import ReportRules
from handlers.workcal import WorkCalendar

Kind = Literal["quarter", "half", "year"]
KINDS: tuple[Kind, ...] = ("quarter", "half", "year")
NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4}

_QUARTER = re.compile(r"^(\d{4})(?:[Qq]|年?第)([1-4一二三四])(?:季度|期)?$")
_HALF = re.compile(r"^(\d{4})(?:[Hh]([12])|年?([上下])半年)$")
_YEAR = re.compile(r"^(\d{4})(?:年度?)?$")


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: Kind
    year: int
    number: int  # the quarter's place among the report months, the half (1, 2); 0 for a year
    start: dt.date  # the first day covered
    end: dt.date  # the day after the last one covered
    made: dt.date  # the first day of the month the report is made in

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"{self.year}Q{self.number}"
        if self.kind == "half":
            return f"{self.year}H{self.number}"
        return str(self.year)

    @property
    def last(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def window(self, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """[start 00:00, end 00:00) in ``tz``."""
        return (
            dt.datetime.combine(self.start, dt.time(), tz),
            dt.datetime.combine(self.end, dt.time(), tz),
        )

    def months(self) -> list[str]:
        """The "YYYY-MM" months covered."""
        out, day = [], self.start
        while day < self.end:
            out.append(f"{day.year:04d}-{day.month:02d}")
            day = _add_months(day, 1)
        return out


def quarter(rules: ReportRules, year: int, number: int) -> Period:
    made = dt.date(year, rules.quarter_months[number - 1], 1)
    start = _add_months(made, -rules.quarter_span_months)
    return Period("quarter", year, number, start, made, made)


def half(year: int, number: int) -> Period:
    start = dt.date(year, 1 if number == 1 else 7, 1)
    end = _add_months(start, 6)
    return Period("half", year, number, start, end, end)


def year_of(year: int) -> Period:
    end = dt.date(year + 1, 1, 1)
    return Period("year", year, 0, dt.date(year, 1, 1), end, end)


def previous(rules: ReportRules, period: Period) -> Period:
    """The period before, for the comparisons (上季度, 上半年, 上年)."""
    if period.kind == "quarter":
        if period.number > 1:
            return quarter(rules, period.year, period.number - 1)
        return quarter(rules, period.year - 1, len(rules.quarter_months))
    if period.kind == "half":
        return half(period.year, 1) if period.number == 2 else half(period.year - 1, 2)
    return year_of(period.year - 1)


def latest(rules: ReportRules, kind: Kind, today: dt.date) -> Period:
    """The latest report of ``kind`` whose month has begun (a half or a year: that has ended)."""
    if kind == "quarter":
        made = [
            quarter(rules, year, n + 1)
            for year in (today.year - 1, today.year)
            for n in range(len(rules.quarter_months))
        ]
        return [p for p in made if p.made <= today][-1]
    if kind == "half":
        return half(today.year, 1) if today.month >= 7 else half(today.year - 1, 2)
    return year_of(today.year - 1)


def parse(rules: ReportRules, text: str) -> Period | None:
    """A period as written (2026Q3, 2026年第三季度, 2026上半年, 2026H2, 2026年, 2026年度);
    None when it is none of these, or a quarter the roster's months do not have."""
    text = "".join(unicodedata.normalize("NFKC", text).split())
    if found := _QUARTER.match(text):
        year, number = int(found[1]), NUMERALS.get(found[2]) or int(found[2])
        if not 2000 <= year <= 2100 or number > len(rules.quarter_months):
            return None
        return quarter(rules, year, number)
    if found := _HALF.match(text):
        year = int(found[1])
        number = int(found[2]) if found[2] else (1 if found[3] == "上" else 2)
        return half(year, number) if 2000 <= year <= 2100 else None
    if found := _YEAR.match(text):
        year = int(found[1])
        return year_of(year) if 2000 <= year <= 2100 else None
    return None


def made_in(rules: ReportRules, year: int, month: int) -> list[Period]:
    """The reports whose drafts go out in that month, as the roster says."""
    out = [quarter(rules, year, n + 1) for n, m in enumerate(rules.quarter_months) if m == month]
    if rules.half_year and month == 7:
        out.append(half(year, 1))
    if rules.year and month == 1:
        out.append(year_of(year - 1))
    return out


def draft_day(rules: ReportRules, cal: WorkCalendar, made: dt.date) -> dt.date | None:
    """The ``draft_workday``-th working day of the month ``made`` begins; None when the month
    has fewer working days."""
    day, count = made, 0
    while day.month == made.month:
        if cal.is_working_day(day):
            count += 1
            if count == rules.draft_workday:
                return day
        day += dt.timedelta(days=1)
    return None
