"""Reads the State Council's yearly notice «国务院办公厅关于YYYY年部分节假日安排的通知».

The office pastes the notice as published; this turns its numbered arrangements
(``一、元旦：1月1日放假，1月2日（星期一）补休。``) into dated 休/班 entries. It reads the wording
of the years as published (放假调休, 放假公休, 补休, 与周末连休, 不调休, month-less list items
such as ``2月20日（星期六）、21日（星期日）上班``, ranges across a month or into the next year)
and checks itself against the notice: a stated weekday must match the date, a stated
``共N天`` must match the range. Anything it cannot fully read is refused with the sentence;
it never guesses.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from config.calendar_file import normalize
from config.hours import DayRule, WeekTemplate


class NoticeError(ValueError):
    """The notice cannot be read; ``sentence`` is the part that could not be read."""

    def __init__(self, reason: str, sentence: str = "") -> None:
        self.reason = reason
        self.sentence = sentence
        super().__init__(f"{reason}: «{sentence}»" if sentence else reason)


@dataclass(frozen=True)
class Notice:
    year: int
    title: str
    days: dict[dt.date, DayRule]

    def differing(self, template: WeekTemplate) -> list[tuple[dt.date, DayRule]]:
        """The entries that change a day of the weekly template, by date."""
        out = []
        for date, rule in sorted(self.days.items()):
            hours = template.days[date.weekday()]
            if (rule.kind == "休" and hours) or (
                rule.kind == "班" and hours != template.standard_day
            ):
                out.append((date, rule))
        return out


_NUMERAL = "一二三四五六七八九十"
_SECTION = re.compile(rf"(?:^|(?<=[\n。]))[{_NUMERAL}]+、([^:\n。,]{{1,16}}):")
_DATE = re.compile(r"(?:(\d{4})年)?(?:(\d{1,2})月)?(\d{1,2})日(?:\(([^)]*)\))?")
_SIGNATURE = re.compile(r"国务院办公厅(?!关于)")
_WEEKDAY = re.compile(r"(?:星期|周)([一二三四五六日天])")
_WEEKDAYS = "一二三四五六日"
_TITLE_YEAR = (re.compile(r"关于(\d{4})年(?:部分)?节假日"), re.compile(r"现将(\d{4})年"))

# Clause shapes, with every date written as D. Each clause of a sentence must be one of these.
_OFF = re.compile(r"D(至D)?放假(调休|公休)?(\d+天)?")
_COUNT = re.compile(r"共(\d+)天")
_LIST = re.compile(r"D(、D)*(两天|共\d+天)?(补休|上班)")
_NOOP = re.compile(r"与周末连休|不调休|与周[六日]连休")
_ADVISORY = ("鼓励",)
_KEYWORDS = ("放假", "上班", "补休", "调休")


@dataclass
class _Token:
    date: dt.date


def parse_notice(text: str) -> Notice:
    text = normalize(text).replace("\r", "")
    text = "\n".join(re.sub(r"\s+", "", line) for line in text.split("\n"))
    year = next((int(m.group(1)) for p in _TITLE_YEAR if (m := p.search(text))), None)
    if year is None:
        raise NoticeError("cannot find the year (国务院办公厅关于YYYY年部分节假日安排的通知)")
    title = f"国务院办公厅关于{year}年部分节假日安排的通知"
    headers = list(_SECTION.finditer(text))
    if not headers:
        raise NoticeError("no numbered arrangement (一、元旦：…) found")
    days: dict[dt.date, DayRule] = {}
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        body = text[header.end() : end].split("\n", 1)[0]
        body = _SIGNATURE.split(body, 1)[0]  # a notice pasted as one line runs into it
        name = header.group(1)
        found = _read_section(year, name, body)
        if not any(rule.kind == "休" for rule in found.values()):
            raise NoticeError("no day off found in this arrangement", header.group(0) + body)
        for date, rule in found.items():
            if date in days and days[date].kind != rule.kind:
                raise NoticeError(f"{date} is both a day off and a workday", header.group(0) + body)
            days.setdefault(date, rule)
    return Notice(year, title, days)


def _read_section(year: int, name: str, body: str) -> dict[dt.date, DayRule]:
    out: dict[dt.date, DayRule] = {}
    for sentence in filter(None, re.split(r"[。;]", body)):
        if sentence.startswith(_ADVISORY):
            continue
        for date, kind in _read_sentence(year, sentence):
            rule = DayRule("休", name) if kind == "休" else DayRule("班", f"{name}调休")
            if out.get(date, rule).kind != kind:
                raise NoticeError(f"{date} is both a day off and a workday", sentence)
            out[date] = rule
    return out


def _read_sentence(year: int, sentence: str) -> list[tuple[dt.date, str]]:
    tokens: list[dt.date] = []
    last: list[int] = []  # [year, month] of the previous date in the sentence

    def resolve(match: re.Match[str]) -> str:
        y, m, d, paren = match.groups()
        if m is None and not last:
            raise NoticeError("a day without its month", sentence)
        month = int(m) if m else last[1]
        yr = int(y) if y else (last[0] if last else year)
        if last and not y and m and month < last[1]:
            yr = last[0] + 1  # 12月31日至1月2日: the range runs into the next year
        try:
            date = dt.date(yr, month, int(d))
        except ValueError:
            raise NoticeError(f"no such date {yr}-{month}-{d}", sentence) from None
        if paren and (wd := _WEEKDAY.search(paren)):
            stated = _WEEKDAYS.index(wd.group(1).replace("天", "日"))
            if stated != date.weekday():
                raise NoticeError(f"{date} is not a {wd.group(0)}", sentence)
        last[:] = [yr, month]
        tokens.append(date)
        return "D"

    shape = _DATE.sub(resolve, sentence)
    if not tokens:
        if any(k in sentence for k in _KEYWORDS):
            raise NoticeError("an arrangement without a date", sentence)
        return []
    out: list[tuple[dt.date, str]] = []
    queue = list(tokens)
    last_range: list[dt.date] = []
    for clause in shape.split(","):
        if _NOOP.fullmatch(clause):
            continue
        if match := _OFF.fullmatch(clause):
            start = queue.pop(0)
            stop = queue.pop(0) if match.group(1) else start
            if not start <= stop <= start + dt.timedelta(days=15):
                raise NoticeError("a range that does not run forward", sentence)
            last_range = [start + dt.timedelta(days=n) for n in range((stop - start).days + 1)]
            if match.group(3) and int(match.group(3)[:-1]) != len(last_range):
                raise NoticeError(
                    f"the range is {len(last_range)} days, not {match.group(3)}", sentence
                )
            out.extend((d, "休") for d in last_range)
        elif match := _COUNT.fullmatch(clause):
            if not last_range or int(match.group(1)) != len(last_range):
                raise NoticeError(f"共{match.group(1)}天 does not match the dates", sentence)
        elif match := _LIST.fullmatch(clause):
            count = clause.count("D")
            kind = "班" if match.group(3) == "上班" else "休"
            out.extend((queue.pop(0), kind) for _ in range(count))
        else:
            raise NoticeError("cannot read this sentence", sentence)
    return out
