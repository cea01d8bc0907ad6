from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from config.calendar_file import add_year, load_overrides, parse_overrides
from config.hours import CalendarError, DayRule


def test_entries_years_comments_and_full_width() -> None:
    text = """# 2027 年，办公室维护
2027-01-01 休 元旦
２０２７－０２－０６　班　春节调休
2027-06-30 班 09:00-11:30 半天   # 下午全局大会
2027 全年 国务院办公厅关于2027年部分节假日安排的通知
"""
    overrides = parse_overrides(text, "cal.txt")
    assert overrides.covered_years == {2027}
    assert overrides.days[dt.date(2027, 1, 1)] == DayRule("休", "元旦")
    assert overrides.days[dt.date(2027, 2, 6)] == DayRule("班", "春节调休")
    assert overrides.days[dt.date(2027, 6, 30)] == DayRule("班", "半天", ((32400, 41400),))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2027-01-01 休\n2027-01-01 班\n", "cal.txt:2: 2027-01-01 already has an entry on line 1"),
        ("2027-13-01 休\n", "cal.txt:1: '2027-13-01' is not a real date"),
        ("2027/01/01 休\n", "cal.txt:1: '2027/01/01' is not a date"),
        ("\n\n2027-01-01 放假\n", "cal.txt:3: after the date write 休"),
        ("2027-01-01 休 09:00-12:00\n", "cal.txt:1: a closed day"),
        ("2027-01-01 班 12:00-09:00\n", "cal.txt:1: '12:00-09:00': the range ends"),
        ("2027\n", "cal.txt:1: a year line reads"),
        ("2027 全年\n2027 全年\n", "cal.txt:2: year 2027 already declared on line 1"),
    ],
)
def test_bad_entries_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(CalendarError) as caught:
        parse_overrides(text, "cal.txt")
    assert str(caught.value).startswith(message)


def test_missing_file_is_empty_and_unreadable_file_is_an_error(tmp_path: Path) -> None:
    assert not load_overrides(tmp_path / "none.txt").days
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CalendarError, match=r"bad\.txt"):
        load_overrides(bad)


def test_add_year_appends_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cal.txt"
    path.write_text("2027-03-01 休 局庆", encoding="utf-8")  # no trailing newline
    entries = [
        (dt.date(2027, 1, 1), DayRule("休", "元旦")),
        (dt.date(2027, 2, 7), DayRule("班", "春节调休")),
    ]
    add_year(path, 2027, entries, "通知")
    overrides = load_overrides(path)
    assert overrides.covered_years == {2027}
    assert set(overrides.days) == {dt.date(2027, 3, 1), dt.date(2027, 1, 1), dt.date(2027, 2, 7)}
    before = path.read_text(encoding="utf-8")
    with pytest.raises(CalendarError, match="already in the file"):
        add_year(path, 2027, [], "通知")
    with pytest.raises(CalendarError, match="2027-03-01"):
        add_year(path, 2028, [(dt.date(2027, 3, 1), DayRule("班", ""))], "通知")
    assert path.read_text(encoding="utf-8") == before
    assert [p.name for p in tmp_path.iterdir()] == ["cal.txt"]  # no temp file left behind
