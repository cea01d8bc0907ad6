"""The bureau's working calendar and working-time arithmetic.

Pure code: the calendar is built once from the weekly office-hours template, the official
State Council data (``chinese-calendar``) and the office's override file; questions are then
answered from memory. Every moment is an aware datetime; time of day is read in the calendar's
time zone.

Working time is measured in microseconds. One *working day* is the template's standard day
(by default 7 hours), so ``0.5`` working days is 3.5 working hours wherever they fall.

Answers are O(log n): a prefix sum of working time per calendar day is kept for a window of
dates and widened on demand, so a 30-day deadline costs what a half-day one does.
"""

from __future__ import annotations

import bisect
import calendar as _stdcal
import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo

from config.calendar_file import load_overrides
from config.hours import (
    BEFORE_THE_START,
    DEFAULT_OFFICE_HOURS,
    FIRST_DAY,
    LAST_DAY,
    PAST_THE_END,
    SECONDS_PER_DAY,
    US_PER_SECOND,
    CalendarError,
    DayRule,
    Hours,
    Kind,
    Overrides,
    WeekTemplate,
    hours_length,
)
from config.settings import Settings


class OfficialData:
    """State Council holidays and make-up workdays as published in ``chinese-calendar``."""

    NAMES: ClassVar[dict[str, str]] = {
        "New Year's Day": "元旦",
        "Spring Festival": "春节",
        "Tomb-sweeping Day": "清明节",
        "Labour Day": "劳动节",
        "Dragon Boat Festival": "端午节",
        "Mid-autumn Festival": "中秋节",
        "National Day": "国庆节",
        "Anti-Fascist 70th Day": "抗战胜利纪念日",
    }

    def __init__(self) -> None:
        from chinese_calendar import constants

        self.days: dict[dt.date, DayRule] = {}
        for day, name in constants.holidays.items():
            self.days[day] = DayRule("休", self.NAMES.get(name, name))
        for day, name in constants.workdays.items():
            self.days[day] = DayRule("班", f"{self.NAMES.get(name, name)}调休")
        self.years = frozenset(d.year for d in constants.holidays)


@dataclass(frozen=True)
class DayInfo:
    date: dt.date
    hours: Hours
    kind: Kind | None  # None: an ordinary day of the weekly template
    note: str
    covered: bool

    @property
    def working(self) -> bool:
        return bool(self.hours)


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    provisional: bool  # it crossed a date with no official or override data


# --- the calendar --------------------------------------------------------------------------


class WorkCalendar:
    """Working-time arithmetic on office hours, official holidays and the office's overrides."""

    _EPOCH = dt.date(2000, 1, 1)

    def __init__(
        self,
        template: WeekTemplate | None = None,
        tz: ZoneInfo | str = "Asia/Shanghai",
        overrides: Overrides | None = None,
        official: OfficialData | None = None,
    ) -> None:
        self.template = template or WeekTemplate.parse(DEFAULT_OFFICE_HOURS)
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.overrides = overrides or Overrides()
        self.official = official or OfficialData()
        self.covered_years = self.official.years | self.overrides.covered_years
        self.standard_day = self.template.standard_day
        self.day_us = hours_length(self.standard_day) * US_PER_SECOND
        # Window of precomputed days: [_lo, _lo + len(_hours)), _cum has one more entry.
        self._lo = self._EPOCH.toordinal()
        self._hours: list[Hours] = []
        self._cum: list[int] = [0]
        last = max(self.covered_years, default=self._EPOCH.year)
        self._extend_to(dt.date(last + 2, 12, 31).toordinal())

    # -- days --

    def day(self, date: dt.date) -> DayInfo:
        covered = date.year in self.covered_years
        rule = self.overrides.days.get(date) or self.official.days.get(date)
        if rule is None:
            return DayInfo(date, self.template.days[date.weekday()], None, "", covered)
        if rule.kind == "休":
            return DayInfo(date, (), "休", rule.note, covered)
        return DayInfo(date, rule.hours or self.standard_day, "班", rule.note, covered)

    def is_working_day(self, date: dt.date) -> bool:
        return bool(self._day_hours(date.toordinal()))

    def is_covered(self, year: int) -> bool:
        return year in self.covered_years

    def differing_days(self, year: int) -> list[DayInfo]:
        """Days of ``year`` whose hours differ from the plain weekly template."""
        if not dt.MINYEAR <= year <= dt.MAXYEAR:
            raise CalendarError(f"year {year} is out of range ({dt.MINYEAR} to {dt.MAXYEAR})")
        out = []
        first, last = dt.date(year, 1, 1).toordinal(), dt.date(year, 12, 31).toordinal()
        for ordinal in range(first, last + 1):
            day = dt.date.fromordinal(ordinal)
            info = self.day(day)
            if info.hours != self.template.days[day.weekday()]:
                out.append(info)
        return out

    # -- moments --

    def is_working_time(self, moment: dt.datetime) -> bool:
        ordinal, sec = self._local(moment)
        return any(
            a * US_PER_SECOND <= sec < b * US_PER_SECOND for a, b in self._day_hours(ordinal)
        )

    def next_working_moment(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` itself when it is working time, else the start of the next working period."""
        if self.is_working_time(moment):
            return moment
        return self._at(self._position(moment), after=True)

    def add(self, start: dt.datetime, workdays: float | int | Fraction | str) -> Deadline:
        """The moment by which ``workdays`` working days have passed since ``start``.

        The answer lies in working time, closed on the right: a deadline may be the end of a
        working period (17:00), never its start.
        """
        if isinstance(workdays, str):
            workdays = Fraction(workdays)
        duration = round(workdays * self.day_us)
        if duration < 0:
            raise ValueError("a deadline cannot lie before its start")
        if duration > _td_us(dt.timedelta.max):
            raise CalendarError(PAST_THE_END)
        return self.add_duration(start, dt.timedelta(microseconds=duration))

    def add_duration(self, start: dt.datetime, duration: dt.timedelta) -> Deadline:
        us = _td_us(duration)
        if us < 0:
            raise ValueError("a deadline cannot lie before its start")
        if us == 0:
            at = self.next_working_moment(start)
        else:
            at = self._at(self._position(start) + us, after=False)
        return Deadline(at, self._uncovered_between(start, at))

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time from ``start`` to ``end`` (negative when ``end`` is earlier)."""
        return dt.timedelta(microseconds=self._position(end) - self._position(start))

    def workdays_between(self, start: dt.datetime, end: dt.datetime) -> Fraction:
        return Fraction(_td_us(self.between(start, end)), self.day_us)

    def month_node(
        self, year: int, month: int, day: int, direction: Literal["before", "after"] = "before"
    ) -> tuple[dt.date, bool]:
        """The last working day on or before day ``day`` of the month (or the first on or
        after it), and whether it is provisional. A day past the month's end means its last day."""
        if not dt.MINYEAR <= year <= dt.MAXYEAR:
            raise CalendarError(f"year {year} is out of range ({dt.MINYEAR} to {dt.MAXYEAR})")
        last = _stdcal.monthrange(year, month)[1]
        target = dt.date(year, month, min(max(day, 1), last))
        step = dt.timedelta(days=-1 if direction == "before" else 1)
        found = target
        while not self.is_working_day(found):
            try:
                found += step
            except OverflowError:
                raise CalendarError(
                    PAST_THE_END if direction == "after" else BEFORE_THE_START
                ) from None
        lo, hi = min(found, target), max(found, target)
        provisional = any(not self.is_covered(y) for y in range(lo.year, hi.year + 1))
        return found, provisional

    # -- internals --

    def _local(self, moment: dt.datetime) -> tuple[int, int]:
        """(day ordinal, microseconds since local midnight)."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("naive datetime: the calendar only takes aware datetimes")
        local = moment.astimezone(self.tz)
        sec = local.hour * 3600 + local.minute * 60 + local.second
        return local.toordinal(), sec * US_PER_SECOND + local.microsecond

    def _day_hours(self, ordinal: int) -> Hours:
        self._extend_to(ordinal)
        return self._hours[ordinal - self._lo]

    def _position(self, moment: dt.datetime) -> int:
        """Working microseconds from the window's start to ``moment``."""
        ordinal, us = self._local(moment)
        self._extend_to(ordinal)
        index = ordinal - self._lo
        pos = self._cum[index]
        for a, b in self._hours[index]:
            a_us, b_us = a * US_PER_SECOND, b * US_PER_SECOND
            if us <= a_us:
                break
            pos += min(us, b_us) - a_us
        return pos

    def _at(self, pos: int, *, after: bool) -> dt.datetime:
        """The moment at working position ``pos``: the earliest one (closed on the right) or,
        with ``after``, the start of the working period that continues from it."""
        while pos >= self._cum[-1]:
            end = self._lo + len(self._hours)  # the first day after the window
            # not even every hour of every day to the calendar's end would reach it
            if end > LAST_DAY or pos - self._cum[-1] > (LAST_DAY - end + 1) * _DAY_US:
                raise CalendarError(PAST_THE_END)
            self._extend_to(min(self._lo + 2 * len(self._hours), LAST_DAY))
        cum = self._cum
        index = bisect.bisect_right(cum, pos) - 1 if after else bisect.bisect_left(cum, pos) - 1
        index = max(index, 0)
        rest = pos - cum[index]
        for a, b in self._hours[index]:
            length = (b - a) * US_PER_SECOND
            if rest < length or (not after and rest <= length):
                return self._moment(index, a * US_PER_SECOND + rest)
            rest -= length
        raise AssertionError("working position outside its day")  # pragma: no cover

    def _moment(self, index: int, us: int) -> dt.datetime:
        date = dt.date.fromordinal(self._lo + index)
        midnight = dt.datetime(date.year, date.month, date.day, tzinfo=self.tz)
        return midnight + dt.timedelta(microseconds=us)

    def _extend_to(self, ordinal: int) -> None:
        """Widen the precomputed window so that it holds ``ordinal`` (CalendarError past the
        dates Python knows)."""
        if ordinal > LAST_DAY:
            raise CalendarError(PAST_THE_END)
        if ordinal < FIRST_DAY:
            raise CalendarError(BEFORE_THE_START)
        if ordinal < self._lo:
            new_lo = max(FIRST_DAY, min(ordinal, self._lo - max(len(self._hours), 366)))
            prefix = [self._compute(o) for o in range(new_lo, self._lo)]
            self._lo = new_lo
            self._hours = prefix + self._hours
            self._rebuild_cum()
        end = self._lo + len(self._hours)
        if ordinal >= end:
            # computed whole before it is kept: a failure leaves all as it was
            suffix = [self._compute(o) for o in range(end, min(ordinal + 366, LAST_DAY + 1))]
            self._hours = self._hours + suffix
            self._rebuild_cum()

    def _rebuild_cum(self) -> None:
        cum = [0]
        for hours in self._hours:
            cum.append(cum[-1] + hours_length(hours) * US_PER_SECOND)
        self._cum = cum

    def _compute(self, ordinal: int) -> Hours:
        return self.day(dt.date.fromordinal(ordinal)).hours

    def _uncovered_between(self, start: dt.datetime, end: dt.datetime) -> bool:
        a = start.astimezone(self.tz).year
        b = end.astimezone(self.tz).year
        return any(y not in self.covered_years for y in range(min(a, b), max(a, b) + 1))


_DAY_US = SECONDS_PER_DAY * US_PER_SECOND


def _td_us(delta: dt.timedelta) -> int:
    return (delta.days * SECONDS_PER_DAY + delta.seconds) * US_PER_SECOND + delta.microseconds


def load_calendar(settings: Settings) -> WorkCalendar:
    """The working calendar of the settings: office hours, time zone and the override file
    (raises CalendarError naming the file's line)."""
    overrides = load_overrides(settings.bot_calendar_file)
    return WorkCalendar(settings.week_template, settings.tz, overrides)
