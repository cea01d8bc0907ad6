"""The arguments of 实事项目's year: 已填报's period (a month, 半年 or 年度) and 新增事项's
年度."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from config.categories import Category
from handlers import texts
from handlers.args import MonthArg
from handlers.commands import Arg, Resolved, Rest
from handlers.context import CommandError, Ctx
from handlers.filings import schedule
from handlers.matters.fields import to_plan_year

_PROGRESS_WORD = re.compile(r"(?:([0-9]{4})年?)?(上半年|半年度?|年度|全年)(?:报告)?")


class FilingPeriodArg(MonthArg):
    """已填报's period: a month, or 实事项目's half-year (半年, 2026年半年) or year report (年度,
    2026年度) as "2026-H1" / "2026-Y"; None when absent. Without a year: the half-year report
    of this year from June on (else last year's), the year report of this year in December
    (else last year's)."""

    def __init__(self) -> None:
        super().__init__(current=False, label="月份/半年/年度")

    def take(self, rest: Rest) -> str:
        """The next word only when it is a month or a report's name: the parts may follow."""
        word = unicodedata.normalize("NFKC", rest.text.split(" ", 1)[0])
        if word and (
            _PROGRESS_WORD.fullmatch(word) or schedule.parse_month(word, dt.date(2050, 6, 1))
        ):
            return rest.word()
        return ""

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> str | None:
        match = _PROGRESS_WORD.fullmatch(unicodedata.normalize("NFKC", raw or ""))
        if match is None:
            return super().resolve(ctx, raw, got)
        today = ctx.now.astimezone(ctx.cal.tz).date()
        half = match[2] != "年度" and match[2] != "全年"
        if match[1]:
            year = int(match[1])
        elif half:
            year = today.year if today.month >= 6 else today.year - 1
        else:
            year = today.year if today.month == 12 else today.year - 1
        return schedule.progress_period(schedule.HALF if half else schedule.YEAR, year)


_PLAN_YEAR_WORD = re.compile(r"([0-9]{4})年度(?= |$)")


class PlanYearArg(Arg[int | None]):
    """新增事项's optional 年度 (2027年度) of a category with a yearly plan (实事项目): the
    year its filings start; None when absent. Only a word of that exact form is taken, so a
    name never loses its first word."""

    def __init__(self, name: str = "year", label: str = "年度") -> None:
        super().__init__(name, label, optional=True)

    def take(self, rest: Rest) -> str:
        found = rest.match(_PLAN_YEAR_WORD)
        return found[1] if found else ""

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> int | None:
        if not raw:
            return None
        cat = got.get("cat")
        if isinstance(cat, Category) and cat.name not in ctx.roster.filings.annual.categories:
            raise CommandError(texts.plan_year_not_for(cat.name))
        return to_plan_year(str(raw), ctx.now.astimezone(ctx.cal.tz).year + 1)

    def sample(self) -> str:
        return "2026年度"
