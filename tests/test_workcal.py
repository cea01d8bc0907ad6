from __future__ import annotations

import datetime as dt
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from config.calendar_file import parse_overrides
from config.hours import CalendarError, DayRule, Overrides, WeekTemplate
from handlers.workcal import OfficialData, WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
OFFICIAL = OfficialData()
CAL = WorkCalendar(official=OFFICIAL)
US = dt.timedelta(microseconds=1)


def at(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SH)


moments = st.datetimes(
    min_value=dt.datetime(2004, 1, 1),  # noqa: DTZ001 (made aware below)
    max_value=dt.datetime(2030, 12, 31, 23, 59),  # noqa: DTZ001
).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=SH))
durations = st.integers(min_value=0, max_value=30 * 420).map(lambda m: dt.timedelta(minutes=m))


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2026-09-30 16:00", "0.5", "2026-10-08 11:30"),  # National Day week in between
        ("2026-10-09 09:00", "1", "2026-10-09 17:00"),  # a full day ends at 17:00, not 09:00 next
        ("2026-10-09 15:00", "0.5", "2026-10-10 10:30"),  # 10-10 is a Saturday make-up workday
        ("2026-02-13 16:00", "0.5", "2026-02-14 11:30"),  # 02-14 Saturday make-up day
        ("2026-02-14 16:00", "0.5", "2026-02-24 11:30"),  # then nine days off
        ("2026-06-18 12:00", "0.5", "2026-06-18 16:30"),  # the lunch hour does not count
        ("2026-06-18 15:00", "0.5", "2026-06-22 10:30"),  # Dragon Boat Festival
        ("2026-03-06 17:00", "2.5", "2026-03-11 13:30"),
    ],
)
def test_known_deadlines(start: str, days: str, expected: str) -> None:
    deadline = CAL.add(at(start), Fraction(days))
    assert deadline.at == at(expected)
    assert not deadline.provisional


def test_one_working_day_is_the_template_day() -> None:
    assert CAL.day_us == 7 * 3600 * 1_000_000
    assert CAL.between(at("2026-10-09 09:00"), at("2026-10-09 17:00")) == dt.timedelta(hours=7)
    assert CAL.workdays_between(at("2026-09-30 16:00"), at("2026-10-08 11:30")) == Fraction(1, 2)


def test_beyond_the_data_is_provisional_and_never_raises() -> None:
    deadline = CAL.add(at("2026-12-30 10:00"), "2.5")
    assert deadline.provisional
    assert deadline.at == at("2027-01-01 14:30")  # without 2027 data only weekends are closed
    far = CAL.add(at("2099-12-31 16:00"), 30)
    assert far.provisional and far.at.year == 2100
    assert CAL.add(at("2026-12-30 10:00"), "0.5").provisional is False
    early = CAL.add(at("1999-12-31 16:00"), 1)
    assert early.provisional and early.at == at("2000-01-03 16:00")


def test_override_year_makes_it_covered() -> None:
    overrides = parse_overrides(
        "2027-01-01 休 元旦\n2027 全年 国务院办公厅关于2027年部分节假日安排的通知\n"
    )
    cal = WorkCalendar(overrides=overrides, official=OFFICIAL)
    deadline = cal.add(at("2026-12-30 10:00"), "2.5")
    assert not deadline.provisional
    assert deadline.at == at("2027-01-04 14:30")


def test_override_hours_on_a_date() -> None:
    overrides = parse_overrides("2026-10-09 班 09:00-11:00 内部活动\n2026-10-10 休 补假\n")
    cal = WorkCalendar(overrides=overrides, official=OFFICIAL)
    assert cal.day(dt.date(2026, 10, 9)).hours == ((9 * 3600, 11 * 3600),)
    # 2h on Friday, Saturday closed by override, rest on Monday
    assert cal.add(at("2026-10-09 09:00"), "0.5").at == at("2026-10-12 10:30")
    assert not cal.is_working_time(at("2026-10-09 11:30"))


def test_working_time_and_next_moment() -> None:
    assert CAL.is_working_time(at("2026-10-09 09:00"))
    assert not CAL.is_working_time(at("2026-10-09 12:00"))
    assert not CAL.is_working_time(at("2026-10-01 10:00"))
    assert CAL.next_working_moment(at("2026-09-30 17:00")) == at("2026-10-08 09:00")
    assert CAL.next_working_moment(at("2026-10-09 12:10")) == at("2026-10-09 13:00")
    moment = at("2026-10-09 10:17")
    assert CAL.next_working_moment(moment) == moment
    # other zones are read in Shanghai time
    utc = dt.datetime(2026, 10, 9, 1, 0, tzinfo=dt.UTC)
    assert CAL.is_working_time(utc) and CAL.add(utc, 0).at == utc


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.add(dt.datetime(2026, 10, 9, 10, 0), 1)  # noqa: DTZ001
    with pytest.raises(ValueError):
        CAL.add(at("2026-10-09 10:00"), -1)


@pytest.mark.parametrize(
    ("month", "day", "expected"),
    [
        ((2026, 10), 6, dt.date(2026, 9, 30)),
        ((2026, 10), 20, dt.date(2026, 10, 20)),
        ((2026, 2), 20, dt.date(2026, 2, 14)),  # Spring Festival: back to the make-up Saturday
        ((2026, 2), 28, dt.date(2026, 2, 28)),  # a make-up Saturday is a working day
        ((2026, 6), 20, dt.date(2026, 6, 18)),
        ((2026, 2), 31, dt.date(2026, 2, 28)),  # past the month's end: its last day
        ((2026, 1), 3, dt.date(2025, 12, 31)),
    ],
)
def test_month_node(month: tuple[int, int], day: int, expected: dt.date) -> None:
    assert CAL.month_node(*month, day) == (expected, False)


def test_month_node_after_and_provisional() -> None:
    assert CAL.month_node(2026, 10, 6, "after") == (dt.date(2026, 10, 8), False)
    assert CAL.month_node(2027, 1, 3) == (dt.date(2027, 1, 1), True)


def test_week_template() -> None:
    template = WeekTemplate.parse("mon-thu 08:30-12:00 13:00-17:30; fri 08:30-12:00 13:00-16:30")
    assert template.standard_day == ((30600, 43200), (46800, 63000))
    assert template.days[5] == ()
    cal = WorkCalendar(template, official=OFFICIAL)
    # Friday's short afternoon, then the rest of an 8-hour standard day on Monday
    assert cal.add(at("2026-11-20 15:00"), 1).at == at("2026-11-23 16:00")
    # a make-up Saturday works the standard day
    assert cal.day(dt.date(2026, 10, 10)).hours == template.standard_day
    for bad, message in [
        ("", "no working day"),
        ("mon-fri", "no hours"),
        ("fri-mon 09:00-10:00", "range like"),
        ("mon 10:00-09:00", "ends before"),
        ("mon 09:00-12:00 11:00-13:00", "overlap"),
        ("mon 9h-10h", "time"),
        ("mon 09:00-10:00; mon-fri 09:00-10:00", "twice"),
        ("xyz 09:00-10:00", "weekdays are"),
    ]:
        with pytest.raises(CalendarError, match=message):
            WeekTemplate.parse(bad)


# --- properties ----------------------------------------------------------------------------


@given(moments, durations)
def test_add_then_measure_gives_the_duration_back(start: dt.datetime, d: dt.timedelta) -> None:
    deadline = CAL.add_duration(start, d)
    assert CAL.between(start, deadline.at) == d


@given(moments, durations)
def test_deadline_falls_in_working_time(start: dt.datetime, d: dt.timedelta) -> None:
    deadline = CAL.add_duration(start, d).at
    assert deadline >= start
    if d:
        assert CAL.is_working_time(deadline - US)  # closed on the right: (start, end]
    else:
        assert CAL.is_working_time(deadline)


@given(moments, moments, durations, durations)
def test_deadlines_are_monotonic(
    a: dt.datetime, b: dt.datetime, d1: dt.timedelta, d2: dt.timedelta
) -> None:
    a, b = min(a, b), max(a, b)
    d1, d2 = min(d1, d2), max(d1, d2)
    assert CAL.add_duration(a, d1).at <= CAL.add_duration(b, d1).at
    assert CAL.add_duration(a, d1).at <= CAL.add_duration(a, d2).at


@given(moments, st.integers(min_value=1, max_value=30 * 420), st.data())
def test_an_override_moves_the_deadline_the_right_way(
    start: dt.datetime, minutes: int, data: st.DataObject
) -> None:
    d = dt.timedelta(minutes=minutes)
    old = CAL.add_duration(start, d).at
    first, last = start.date() + dt.timedelta(days=1), old.date() - dt.timedelta(days=1)
    assume(first <= last)
    day = first + dt.timedelta(days=data.draw(st.integers(0, (last - first).days)))
    if CAL.is_working_day(day):
        rule = DayRule("休", "closed")
        expect_later = True
    else:
        rule = DayRule("班", "extra")
        expect_later = False
    cal = WorkCalendar(overrides=Overrides({day: rule}), official=OFFICIAL)
    new = cal.add_duration(start, d).at
    assert (new > old) if expect_later else (new < old)
    assert cal.between(start, new) == d
