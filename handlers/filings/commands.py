"""已填报: a monthly filing done; the filings in 待办."""

from __future__ import annotations

from sqlalchemy import select

from handlers import taps, texts
from handlers.annual.args import FilingPeriodArg
from handlers.args import MatterArg
from handlers.commands import Registry
from handlers.context import CommandError, Ctx
from handlers.filings.done import mark_done, owed_row
from handlers.matters.base import (
    DEPT,
    INSTRUCTION,
    label,
)
from handlers.matters.states import MatterStatus
from handlers.taps import Taps
from storage.models import Filing, Matter

router = Registry()


@router.command(
    "已填报",
    [MatterArg(instruction=False, department=True), FilingPeriodArg()],
    "本月（或所写月份）已在平台填报；实事项目的半年度、年度进展报告写「半年」「年度」",
    DEPT,
)
def filed(ctx: Ctx, matter: Matter, month: str | None) -> str:
    row = owed_row(ctx, matter, month)
    if row is None:
        raise CommandError(texts.nothing_to_file(label(matter)))
    return mark_done(ctx, matter, row)


TODO_HORIZON_WORKDAYS = 5  # filings shown in 待办 this far ahead, and every overdue one


def todo_lines(ctx: Ctx) -> list[tuple[str, Taps]]:
    """The person's filings for 待办: their departments' (or their own matters') filings and
    批示件 steps due soon or overdue."""
    roles, session = ctx.roles, ctx.session
    depts = roles.clerk_of | roles.head_of
    horizon = ctx.cal.add(ctx.now, TODO_HORIZON_WORKDAYS).at
    lines: list[tuple[str, Taps]] = []
    rows = session.execute(
        select(Filing, Matter)
        .join(Matter, Filing.matter_id == Matter.id)
        .where(
            Matter.status == MatterStatus.OPEN,
            Filing.done_at.is_(None),
            Filing.due_at <= horizon,
            (Matter.department.in_(sorted(depts)) | (Matter.owner == ctx.actor)),
        )
        .order_by(Filing.due_at, Filing.id)
    ).all()
    for row, matter in rows:
        what = texts.filing_label(row.kind, row.period, matter.category == INSTRUCTION)
        due = ctx.when(row.due_at, row.provisional)
        line = texts.todo_filing(label(matter), what, due, ctx.late(row.due_at))
        acts = taps.filing(row.kind, f"督{matter.id}", matter.category == INSTRUCTION)
        lines.append((line, acts))
    return lines
