"""The office's calendar override file: dated entries that win over the official data.

One entry per line; ``#`` starts a comment; full-width digits and punctuation are fine::

    2027-01-01 休 元旦                     # closed
    2027-02-07 班 春节调休                  # a make-up workday, standard hours
    2027-06-30 班 09:00-11:30 半天          # working, other hours on that date
    2027 全年 国务院办公厅关于2027年部分节假日安排的通知   # the year's official data is complete

A year counts as covered (its deadlines are not provisional) only with its ``全年`` line.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from config.hours import CalendarError, DayRule, Overrides, format_hours, parse_hours

_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_RANGE = re.compile(r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$")
YEAR_MARK = "全年"


def normalize(text: str) -> str:
    """Full-width digits, letters and punctuation to their ASCII forms (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def parse_overrides(text: str, source: str = "<calendar file>") -> Overrides:
    days: dict[dt.date, DayRule] = {}
    seen: dict[dt.date, int] = {}
    years: dict[int, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = normalize(raw).split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{lineno}"
        head, *rest = line.split()
        if re.fullmatch(r"\d{4}", head):
            if not rest or rest[0] != YEAR_MARK:
                raise CalendarError(f"{where}: a year line reads 'YYYY {YEAR_MARK} [note]'")
            year = int(head)
            if year in years:
                raise CalendarError(f"{where}: year {year} already declared on line {years[year]}")
            years[year] = lineno
            continue
        date = _parse_date(head, where)
        if date in seen:
            raise CalendarError(f"{where}: {date} already has an entry on line {seen[date]}")
        if not rest or rest[0] not in ("休", "班"):
            raise CalendarError(
                f"{where}: after the date write 休 (closed) or 班 (working), e.g. "
                f"'{date} 休 元旦' or '{date} 班 09:00-12:00 半天'"
            )
        kind = rest[0]
        words = rest[1:]
        ranges = []
        while words and _RANGE.match(words[0]):
            ranges.append(words.pop(0))
        if kind == "休" and ranges:
            raise CalendarError(f"{where}: a closed day (休) takes no hours")
        try:
            hours = parse_hours(ranges) if ranges else None
        except CalendarError as exc:
            raise CalendarError(f"{where}: {exc}") from None
        seen[date] = lineno
        days[date] = DayRule("休" if kind == "休" else "班", " ".join(words), hours)
    return Overrides(days, frozenset(years))


def _parse_date(text: str, where: str) -> dt.date:
    match = _DATE.match(text)
    if not match:
        raise CalendarError(f"{where}: {text!r} is not a date (YYYY-MM-DD) or a year")
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        raise CalendarError(f"{where}: {text!r} is not a real date") from None


def load_overrides(path: Path) -> Overrides:
    """The overrides in ``path``; no file means no overrides."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Overrides()
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarError(f"{path}: cannot read the calendar file: {exc}") from None
    return parse_overrides(text, str(path))


def format_entry(date: dt.date, rule: DayRule) -> str:
    parts = [date.isoformat(), rule.kind]
    if rule.hours:
        parts.append(format_hours(rule.hours))
    if rule.note:
        parts.append(rule.note)
    return " ".join(parts)


def add_year(path: Path, year: int, entries: Iterable[tuple[dt.date, DayRule]], note: str) -> None:
    """Append a year's entries and its 全年 line, all or nothing.

    Refuses when the file already declares the year or has an entry on one of the dates, so
    that nothing the office typed by hand is overwritten.
    """
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    existing = parse_overrides(current, str(path))
    if year in existing.covered_years:
        raise CalendarError(f"{path}: year {year} is already in the file; remove its lines first")
    entries = list(entries)
    clash = sorted(d for d, _ in entries if d in existing.days)
    if clash:
        raise CalendarError(f"{path}: already has entries on {', '.join(map(str, clash))}")
    block = (
        [f"# {note}"] + [format_entry(d, r) for d, r in entries] + [f"{year} {YEAR_MARK} {note}"]
    )
    text = current
    if text and not text.endswith("\n"):
        text += "\n"
    text += "\n".join(block) + "\n"
    parse_overrides(text, str(path))  # never write a file we could not read back
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
