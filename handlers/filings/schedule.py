"""Monthly filing schedules (attachment 6, 月度统计制度) and the 领导批示件 clocks (attachment 1).

Pure code on the working calendar. A filing belongs to a *period* "YYYY-MM": the month whose
node it meets. The node may move into the previous month (the 6th of October 2026 is a
holiday: the node is 30 September), but the period stays "2026-10".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from config.categories import category as find_category
from config.categories import platform as find_platform
from config.filings import FilingRules
from handlers.workcal import WorkCalendar

NO_PLATFORM = "无"


@dataclass(frozen=True)
class Schedule:
    period: str  # "YYYY-MM"; a half-year or year report's "YYYY-H1" / "YYYY-Y"
    node: dt.date  # the category's node that month, moved to a working day
    due_date: dt.date  # node, or the category's office lead earlier for platform "无"
    due_at: dt.datetime  # the end of due_date's working hours
    reminders: tuple[dt.datetime, ...]  # starts of working days before due_date, ascending
    escalate_at: dt.datetime  # the first working moment after due_at
    provisional: bool  # a date involved lies in a year the calendar has no official data for


def schedule(
    cal: WorkCalendar,
    rules: FilingRules,
    category: str,
    platform: str,
    year: int,
    month: int,
) -> Schedule | None:
    """The filing schedule of one matter for one month; None when its category has no node.

    ``category`` is a name or alias; ``platform`` one of ``config.categories.PLATFORMS``
    (or an alias): "无" means the matter is reported to the office, the category's
    ``office_lead_workdays`` working days before the node (局重点工作: none by default).
    """
    found = find_category(category)
    name = found.name if found else unicodedata.normalize("NFKC", category).strip()
    day = rules.nodes.get(name)
    if day is None:
        return None
    year_month = format_period(year, month)
    return _schedule(cal, rules, name, platform, year, month, day, year_month)


def _schedule(
    cal: WorkCalendar,
    rules: FilingRules,
    name: str,
    platform: str,
    year: int,
    month: int,
    day: int,
    period: str,
) -> Schedule:
    """The schedule of a node on day ``day`` of ``year``-``month`` for the category ``name``."""
    where = find_platform(platform)
    if where is None:
        raise ValueError(f"unknown platform {platform!r}")
    node, provisional = cal.month_node(year, month, day, rules.move)
    lead = rules.office_lead(name) if where == NO_PLATFORM else 0
    due_date = workday_before(cal, node, lead)
    due_at = end_of_day(cal, due_date)
    reminders = sorted(
        start_of_day(cal, workday_before(cal, due_date, n)) for n in rules.remind_workdays_before
    )
    escalate_at = cal.next_working_moment(due_at)
    dates = [node, due_date, escalate_at.astimezone(cal.tz).date()]
    dates += [r.astimezone(cal.tz).date() for r in reminders]
    provisional = provisional or any(not cal.is_covered(d.year) for d in dates)
    return Schedule(
        period=period,
        node=node,
        due_date=due_date,
        due_at=due_at,
        reminders=tuple(reminders),
        escalate_at=escalate_at,
        provisional=provisional,
    )


# --- 实事项目's half-year and year reports (attachment 2) --------------------------------------

HALF, YEAR = "half", "year"
PROGRESS_KINDS = (HALF, YEAR)


def progress_period(kind: str, year: int) -> str:
    """'2026-H1' (the half-year report of 2026) or '2026-Y' (its year report)."""
    return f"{year:04d}-{'H1' if kind == HALF else 'Y'}"


def parse_progress(period: str) -> tuple[str, int] | None:
    """(kind, year) of a half-year or year report's period; None for any other period."""
    match = re.fullmatch(r"([0-9]{4})-(H1|Y)", period)
    if match is None:
        return None
    return (HALF if match[2] == "H1" else YEAR), int(match[1])


def progress_schedule(
    cal: WorkCalendar, rules: FilingRules, category: str, platform: str, kind: str, year: int
) -> Schedule | None:
    """The half-year report of ``year`` (due in July) or its year report (due the next
    January) for a matter of ``category``; None when the category has no yearly plan."""
    found = find_category(category)
    name = found.name if found else category
    if name not in rules.annual.categories:
        return None
    if kind == HALF:
        due_year, due_month, day = year, 7, rules.annual.half_year_due_day
    else:
        due_year, due_month, day = year + 1, 1, rules.annual.year_due_day
    period = progress_period(kind, year)
    return _schedule(cal, rules, name, platform, due_year, due_month, day, period)


def progress_due_in(period: str) -> tuple[str, int] | None:
    """The report due in the month ``period`` ("YYYY-MM"): the half-year report in July, the
    previous year's report in January; None in other months."""
    year, month = parse_period(period)
    if month == 7:
        return HALF, year
    if month == 1:
        return YEAR, year - 1
    return None


# --- working days ---------------------------------------------------------------------------


def workday_before(cal: WorkCalendar, day: dt.date, workdays: int) -> dt.date:
    """The working day ``workdays`` working days before ``day``; counted from the last working
    day on or before ``day`` (so 0 gives that day)."""
    if workdays < 0:
        raise ValueError("workdays must be 0 or more")
    found = day
    while not cal.is_working_day(found):
        found -= dt.timedelta(days=1)
    for _ in range(workdays):
        found -= dt.timedelta(days=1)
        while not cal.is_working_day(found):
            found -= dt.timedelta(days=1)
    return found


def start_of_day(cal: WorkCalendar, day: dt.date) -> dt.datetime:
    """The start of ``day``'s working hours (aware, in the calendar's zone)."""
    return _local(cal, day, _hours(cal, day)[0][0])


def end_of_day(cal: WorkCalendar, day: dt.date) -> dt.datetime:
    """The end of ``day``'s working hours (aware, in the calendar's zone)."""
    return _local(cal, day, _hours(cal, day)[-1][1])


def _hours(cal: WorkCalendar, day: dt.date) -> tuple[tuple[int, int], ...]:
    hours = cal.day(day).hours
    if not hours:
        raise ValueError(f"{day} is not a working day")
    return hours


def _local(cal: WorkCalendar, day: dt.date, seconds: int) -> dt.datetime:
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=cal.tz)
    return midnight + dt.timedelta(seconds=seconds)


# --- 领导批示件 ------------------------------------------------------------------------------


def instruction_sign_due(
    cal: WorkCalendar, rules: FilingRules, registered_at: dt.datetime
) -> dt.datetime:
    """签收 is due ``instruction_sign_workdays`` working days after registration."""
    return cal.add(registered_at, rules.instruction_sign_workdays).at


def instruction_feedback_due(
    cal: WorkCalendar, rules: FilingRules, notice_due: dt.date
) -> dt.datetime:
    """Feedback is due at the end of the working day ``instruction_feedback_lead_workdays``
    working days before the notice's deadline as the notice writes it (attachment 1: 时间节点
    较《领导批示件办理通知》的反馈时间提前一个工作日). A deadline on a non-working day is not
    first moved: a Sunday deadline with a lead of 1 is due on Friday (the working day before
    Sunday), not Thursday. A lead of 0: the deadline's day, or the last working day before it."""
    day = workday_strictly_before(cal, notice_due, rules.instruction_feedback_lead_workdays)
    return end_of_day(cal, day)


def workday_strictly_before(cal: WorkCalendar, day: dt.date, workdays: int) -> dt.date:
    """The ``workdays``-th working day before ``day`` itself, working or not (0: ``day``, or
    the last working day before it)."""
    if workdays < 0:
        raise ValueError("workdays must be 0 or more")
    if workdays == 0:
        return workday_before(cal, day, 0)
    found = day
    for _ in range(workdays):
        found -= dt.timedelta(days=1)
        while not cal.is_working_day(found):
            found -= dt.timedelta(days=1)
    return found


# --- periods --------------------------------------------------------------------------------

_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})")


def format_period(year: int, month: int) -> str:
    if not 1 <= month <= 12 or not 1 <= year <= 9999:
        raise ValueError(f"no such month: {year}-{month}")
    return f"{year:04d}-{month:02d}"


def parse_period(period: str) -> tuple[int, int]:
    """Parse "2026-11" into (2026, 11); anything else is a ValueError."""
    match = _PERIOD.fullmatch(period)
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"not a period (YYYY-MM): {period!r}")
    return int(match[1]), int(match[2])


def shift_period(period: str, months: int) -> str:
    year, month = parse_period(period)
    index = year * 12 + month - 1 + months
    return format_period(index // 12, index % 12 + 1)


def next_period(period: str) -> str:
    return shift_period(period, 1)


def previous_period(period: str) -> str:
    return shift_period(period, -1)


def period_of(moment: dt.date | dt.datetime, tz: dt.tzinfo) -> str:
    """The period of a date, or of an aware moment read in ``tz``."""
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("naive datetime: give an aware one")
        moment = moment.astimezone(tz)
    return format_period(moment.year, moment.month)


_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_CN_MONTH = r"[一二三四五六七八九十]{1,3}"
_RELATIVE = {"本月": 0, "这个月": 0, "当月": 0, "上月": -1, "上个月": -1, "下月": 1, "下个月": 1}
_NUMERIC = re.compile(r"([0-9]{4})[-./]([0-9]{1,2})")
_WITH_YEAR = re.compile(rf"([0-9]{{4}}|[0-9]{{2}})年([0-9]{{1,2}}|{_CN_MONTH})月份?")
_BARE = re.compile(rf"([0-9]{{1,2}}|{_CN_MONTH})月份?")


def parse_month(text: str, reference: dt.date) -> str | None:
    """A user's month as a period, or None when the text is not a month.

    Accepts "2026-11", "2026.11", "2026/11", "2026年11月", "26年11月", "11月", "11月份",
    "十一月", "本月", "上月", "下月" (full-width digits too). A bare month means the latest
    such month not after the month following ``reference`` (the local date): in December
    "1月" is next January, in January "12月" is the December just past.
    """
    key = "".join(unicodedata.normalize("NFKC", text).split())
    if key in _RELATIVE:
        return shift_period(format_period(reference.year, reference.month), _RELATIVE[key])
    if match := _NUMERIC.fullmatch(key):
        year, month = int(match[1]), int(match[2])
    elif match := _WITH_YEAR.fullmatch(key):
        year, month = int(match[1]), _month_number(match[2])
        if len(match[1]) == 2:
            year += 2000
    elif match := _BARE.fullmatch(key):
        month = _month_number(match[1])
        limit = parse_period(shift_period(format_period(reference.year, reference.month), 1))
        year = limit[0] if month <= limit[1] else limit[0] - 1
    else:
        return None
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        return None
    return format_period(year, month)


def _month_number(text: str) -> int:
    """Month "11" or "十一" as 11; 0 for a malformed numeral."""
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十") and len(text) == 2:
        return 10 + _CN_DIGITS.get(text[1], -10)
    if len(text) == 1:
        return _CN_DIGITS.get(text, 0)
    return 0
