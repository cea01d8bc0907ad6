from __future__ import annotations

import datetime as dt
from pathlib import Path

import chinese_calendar
import pytest

from config.hours import WeekTemplate
from config.notice import NoticeError, parse_notice

NOTICES = Path(__file__).parent / "data" / "notices"
YEARS = sorted(int(p.stem) for p in NOTICES.glob("*.txt"))
PLAIN = WeekTemplate.parse("mon-fri 09:00-12:00 13:00-17:00")
# chinese-calendar also applies 国办发明电〔2019〕3号, which moved the 2019 Labour Day holiday
# after the yearly notice was published.
LATER_NOTICES = {2019: {"2019-04-28", "2019-05-02", "2019-05-03", "2019-05-05"}}


def notice(year: int) -> str:
    return (NOTICES / f"{year}.txt").read_text(encoding="utf-8")


def is_workday(days: dict[dt.date, str], date: dt.date) -> bool:
    kind = days.get(date)
    return kind == "班" if kind else date.weekday() < 5


def test_the_real_notices_cover_the_years_asked_for() -> None:
    assert min(YEARS) < 2015
    assert {2024, 2025, 2026} <= set(YEARS)


@pytest.mark.parametrize("year", YEARS)
def test_real_notice_reproduces_chinese_calendar(year: int) -> None:
    parsed = parse_notice(notice(year))
    assert parsed.year == year
    days = {d: r.kind for d, r in parsed.days.items()}
    # The previous year's New Year arrangement can reach into the first days of this one and
    # this notice can reach back into December: read both.
    for other in (year - 1, year + 1):
        if other in YEARS:
            for d, r in parse_notice(notice(other)).days.items():
                days.setdefault(d, r.kind)
    differences = set()
    day = dt.date(year, 1, 1)
    while day.year == year:
        if is_workday(days, day) != chinese_calendar.is_workday(day):
            differences.add(day.isoformat())
        day += dt.timedelta(days=1)
    assert differences == LATER_NOTICES.get(year, set())


def test_2026_entries_and_names() -> None:
    lines = [f"{d} {r.kind} {r.note}" for d, r in parse_notice(notice(2026)).differing(PLAIN)]
    assert [line for line in lines if " 班 " in line] == [
        "2026-01-04 班 元旦调休",
        "2026-02-14 班 春节调休",
        "2026-02-28 班 春节调休",
        "2026-05-09 班 劳动节调休",
        "2026-09-20 班 国庆节调休",
        "2026-10-10 班 国庆节调休",
    ]
    assert "2026-02-16 休 春节" in lines
    assert "2026-01-03 休 元旦" not in lines  # a Saturday: no change to the plain week


def test_ranges_across_a_month_and_into_the_previous_year() -> None:
    days = parse_notice(notice(2014)).days
    assert all(days[dt.date(2014, m, d)].kind == "休" for m, d in [(1, 31), (2, 1), (2, 6)])
    days = parse_notice(notice(2023)).days
    assert days[dt.date(2022, 12, 31)].kind == "休"
    assert days[dt.date(2023, 1, 2)].kind == "休"
    days = parse_notice(notice(2012)).days
    assert days[dt.date(2011, 12, 31)].kind == "班"


def test_a_range_into_the_next_year() -> None:
    text = (
        "国务院办公厅关于2030年部分节假日安排的通知\n一、元旦：12月31日至1月2日放假调休，共3天。\n"
    )
    days = parse_notice(text).days
    assert sorted(days) == [dt.date(2030, 12, 31), dt.date(2031, 1, 1), dt.date(2031, 1, 2)]


def test_month_less_list_items_take_the_previous_month() -> None:
    days = parse_notice(notice(2010)).days
    assert days[dt.date(2010, 2, 20)].kind == "班"
    assert days[dt.date(2010, 2, 21)].kind == "班"


def test_issue_examples_in_half_and_full_width() -> None:
    examples = {
        2023: "六、中秋节、国庆节：9月29日至10月6日放假调休，共8天。"
        "10月7日（星期六）、10月8日（星期日）上班。",
        2017: "一、元旦：1月1日放假，1月2日（星期一）补休。",
        2026: "二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，"
        "共9天。2月14日（周六）、2月28日（周六）上班。",
    }
    for year, line in examples.items():
        title = f"国务院办公厅关于{year}年部分节假日安排的通知\n"
        full = parse_notice(title + line)
        half = parse_notice(
            title + line.replace("：", ":").replace("，", ",").replace("（", "(").replace("）", ")")
        )
        wide = parse_notice(
            title + line.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        )
        assert full.days == half.days == wide.days
        assert full.days


def test_a_pasted_notice_without_line_breaks() -> None:
    flat = notice(2024).replace("\n", "")
    assert parse_notice(flat).days == parse_notice(notice(2024)).days


@pytest.mark.parametrize(
    ("line", "reason", "sentence"),
    [
        (
            "一、元旦：1月1日至3日放假调休，共4天。",
            "共4天 does not match",
            "1月1日至3日放假调休,共4天",
        ),
        ("一、元旦：1月3日（星期一）上班。1月1日放假。", "not a 星期一", "1月3日(星期一)上班"),
        ("一、元旦：1月1日起放假三天。", "cannot read", "1月1日起放假三天"),
        (
            "二、春节：除夕至正月初六放假调休，共7天。",
            "without a date",
            "除夕至正月初六放假调休,共7天",
        ),
        ("二、春节：2月30日放假。", "no such date", "2月30日放假"),
        ("二、春节：2月10日至2月1日放假。", "does not run forward", "2月10日至2月1日放假"),
        ("一、元旦：1月1日放假。1月1日（星期一）上班。", "both", ""),
        ("一、元旦：放假安排另行通知。", "without a date", "放假安排另行通知"),
        ("一、元旦：1月6日（星期六）上班。", "no day off", "一、元旦:1月6日(星期六)上班。"),
        ("一、元旦：1月1日至3日放假，共3天，1月6日（星期六）上班。", "", ""),
    ],
)
def test_refusals_name_the_sentence(line: str, reason: str, sentence: str) -> None:
    if not reason:  # a control: the same shapes, readable
        assert parse_notice("国务院办公厅关于2024年部分节假日安排的通知\n" + line).days
        return
    with pytest.raises(NoticeError, match=reason) as caught:
        parse_notice("国务院办公厅关于2024年部分节假日安排的通知\n" + line)
    if sentence:
        assert caught.value.sentence == sentence


def test_refuses_a_text_that_is_not_a_notice() -> None:
    with pytest.raises(NoticeError, match="year"):
        parse_notice("一、元旦：1月1日放假。")
    with pytest.raises(NoticeError, match="numbered"):
        parse_notice("国务院办公厅关于2027年部分节假日安排的通知\n今年不放假。")
