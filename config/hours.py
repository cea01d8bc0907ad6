"""Office hours and dated day rules as the office writes them: plain data and its parsing.

The working calendar (``handlers.workcal``) is built from these; this module imports nothing
else of the project.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

US_PER_SECOND = 1_000_000
SECONDS_PER_DAY = 86_400

Interval = tuple[int, int]  # seconds from local midnight, [start, end)
Hours = tuple[Interval, ...]

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FIRST_DAY, LAST_DAY = dt.date.min.toordinal(), dt.date.max.toordinal()  # 0001-01-01, 9999-12-31
PAST_THE_END = "the date would fall after 9999-12-31, the last day the calendar knows"
BEFORE_THE_START = "the date would fall before 0001-01-01, the first day the calendar knows"


class CalendarError(ValueError):
    """A calendar setting or file is wrong; the message names the setting, file and line."""


def parse_clock(text: str) -> int:
    """'09:00' -> seconds from midnight; '24:00' is allowed as the end of a day."""
    try:
        hh, mm = text.split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        raise CalendarError(f"{text!r} is not a time of day (HH:MM)") from None
    if not (0 <= m < 60 and (0 <= h < 24 or (h == 24 and m == 0))) or len(mm) != 2:
        raise CalendarError(f"{text!r} is not a time of day (HH:MM)")
    return h * 3600 + m * 60


def format_clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def parse_hours(tokens: Iterable[str]) -> Hours:
    """['09:00-12:00', '13:00-17:00'] -> sorted, non-overlapping intervals."""
    out: list[Interval] = []
    for token in tokens:
        start, sep, end = token.partition("-")
        if not sep:
            raise CalendarError(f"{token!r} is not a time range (HH:MM-HH:MM)")
        a, b = parse_clock(start), parse_clock(end)
        if a >= b:
            raise CalendarError(f"{token!r}: the range ends before it starts")
        out.append((a, b))
    out.sort()
    for (_, prev_end), (next_start, _) in itertools.pairwise(out):
        if next_start < prev_end:
            raise CalendarError(f"time ranges overlap: {' '.join(tokens)}")
    return tuple(out)


def format_hours(hours: Hours) -> str:
    return " ".join(f"{format_clock(a)}-{format_clock(b)}" for a, b in hours)


def hours_length(hours: Hours) -> int:
    return sum(b - a for a, b in hours)


@dataclass(frozen=True)
class WeekTemplate:
    """Office hours for each weekday (Monday first)."""

    days: tuple[Hours, Hours, Hours, Hours, Hours, Hours, Hours]

    @classmethod
    def parse(cls, text: str) -> WeekTemplate:
        """'mon-fri 09:00-12:00 13:00-17:00; sat 09:00-11:00' (days not named are closed)."""
        days: list[Hours] = [(), (), (), (), (), (), ()]
        seen: set[int] = set()
        for clause in filter(None, (c.strip() for c in text.split(";"))):
            spec, *ranges = clause.split()
            if not ranges:
                raise CalendarError(f"{clause!r}: no hours given")
            hours = parse_hours(ranges)
            for index in _weekday_span(spec):
                if index in seen:
                    raise CalendarError(f"{clause!r}: {WEEKDAY_NAMES[index]} given twice")
                seen.add(index)
                days[index] = hours
        if not seen:
            raise CalendarError("no working day in the office hours")
        return cls((days[0], days[1], days[2], days[3], days[4], days[5], days[6]))

    @property
    def standard_day(self) -> Hours:
        """The most common non-empty day: the hours of a make-up workday and the length of
        one working day."""
        counts: dict[Hours, int] = {}
        for hours in self.days:
            if hours:
                counts[hours] = counts.get(hours, 0) + 1
        return max(counts, key=lambda h: (counts[h], -self.days.index(h)))


def _weekday_span(spec: str) -> list[int]:
    names = spec.lower().split("-")
    try:
        idx = [WEEKDAY_NAMES.index(n) for n in names]
    except ValueError:
        raise CalendarError(f"{spec!r}: weekdays are {', '.join(WEEKDAY_NAMES)}") from None
    if len(idx) == 1:
        return idx
    if len(idx) == 2 and idx[0] <= idx[1]:
        return list(range(idx[0], idx[1] + 1))
    raise CalendarError(f"{spec!r} is not a weekday or a range like mon-fri")


DEFAULT_OFFICE_HOURS = "mon-fri 09:00-12:00 13:00-17:00"


# --- day rules -----------------------------------------------------------------------------

Kind = Literal["休", "班"]


@dataclass(frozen=True)
class DayRule:
    """What one source says about one date: closed (休) or working (班) with hours."""

    kind: Kind
    note: str = ""
    hours: Hours | None = None  # for 班: None means the standard day


@dataclass(frozen=True)
class Overrides:
    """The office's dated overrides and the years they fully describe."""

    days: Mapping[dt.date, DayRule] = field(default_factory=dict)
    covered_years: frozenset[int] = frozenset()
