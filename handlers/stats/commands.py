"""统计: the month's figures per department, in the chat."""

from __future__ import annotations

from handlers import texts
from handlers.args import MonthArg
from handlers.commands import LEADERS, Registry
from handlers.context import Ctx
from handlers.effects import Markdown
from handlers.stats import figures

router = Registry()


@router.command("统计", [MonthArg()], "各处室@件按时率、填报、亮灯、约谈", LEADERS)
def statistics(ctx: Ctx, month: str) -> str:
    period = month
    start, end = figures.month_window(period, ctx.cal.tz)
    numbers = figures.department_stats(ctx.session, ctx.roster, start, end, ctx.now, tz=ctx.cal.tz)
    title = texts.stats_title(period)
    return Markdown(figures.render_summary(numbers, title), title)
