"""已填报: a monthly filing done; the filings in 待办."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from config.categories import Category
from config.filings import Template
from handlers import pending, taps, texts
from handlers.annual.args import FilingPeriodArg
from handlers.args import CategoryArg, MatterArg, MonthArg, TextArg
from handlers.commands import Registry
from handlers.context import CommandError, Ctx
from handlers.filings import approval
from handlers.filings.compiled import gather, send_node
from handlers.filings.done import mark_done, owed_row
from handlers.filings.template import check_template, percentage_of
from handlers.matters.base import (
    DEPT,
    INSTRUCTION,
    OFFICE,
    label,
    row_label,
)
from handlers.matters.states import MatterStatus
from handlers.taps import Taps
from storage.models import Filing, Matter

router = Registry()


@router.command(
    "已填报",
    [
        MatterArg(instruction=False, department=True),
        FilingPeriodArg(),
        TextArg("parts", "各部分如 进展情况：… 存在问题：…", optional=True),
    ],
    "本月（或所写月份）已在平台填报；实事项目、民心工程按模板写各部分，可分几条发送；"
    "实事项目的半年度、年度进展报告写「半年」「年度」",
    DEPT,
)
def filed(ctx: Ctx, matter: Matter, month: str | None, parts: str) -> str:
    row = owed_row(ctx, matter, month)
    if row is None:
        raise CommandError(texts.nothing_to_file(label(matter)))
    # a monthly filing follows its category's template; a half-year or year report is bare
    template = ctx.roster.filings.template(matter.category) if row.kind == "monthly" else None
    if template is None:
        if parts:
            raise CommandError(texts.filing_no_template(label(matter), matter.category))
        return mark_done(ctx, matter, row)
    if row.done_at is not None:
        raise CommandError(
            texts.already_filed(label(matter), row_label(row), ctx.when(row.done_at))
        )
    draft = dict(row.content or {})
    check = check_template(
        parts, template, draft=draft, previous=previous_percentage(ctx, matter, row, template)
    )
    if check.complete:
        return mark_done(ctx, matter, row, content=check.good)
    row.content = check.good or None  # the good parts, kept until the rest comes
    in_chat = _collect_next(ctx, matter, row)
    if not parts.strip() and not check.good:
        return texts.filing_template_prompt(label(matter), row_label(row), template, in_chat)
    wrong = check.wrong if check.headings else check.problems
    return texts.filing_collected(
        label(matter), row_label(row), list(check.good), check.missing, wrong, in_chat
    )


@router.command(
    "汇总",
    [CategoryArg(), MonthArg()],
    "某类别本月（或所写月份）各处室的填报，Word和Excel发到局办公室群",
    OFFICE,
)
def compile_node(ctx: Ctx, category: Category, month: str) -> str:
    if ctx.roster.filings.template(category.name) is None:
        raise CommandError(texts.no_template(category.name))
    node = gather(ctx.session, ctx.roster, category.name, month, ctx.now)
    if node is None:
        raise CommandError(texts.nothing_to_compile(category.name, month))
    send_node(ctx, node)
    return texts.compiled_sent(category.name, month)


def previous_percentage(
    ctx: Ctx, matter: Matter, row: Filing, template: Template
) -> Decimal | None:
    """The percentage of the matter's last filing before ``row``'s month."""
    earlier = ctx.session.scalars(
        select(Filing)
        .where(
            Filing.matter_id == matter.id,
            Filing.kind == "monthly",
            Filing.period < row.period,
            Filing.done_at.is_not(None),
        )
        .order_by(Filing.period.desc())
    )
    for filing in earlier:
        value = percentage_of(template, filing.content)
        if value is not None:
            return value
    return None


def _collect_next(ctx: Ctx, matter: Matter, row: Filing) -> bool:
    """In a 1:1 chat, the person's next message there continues this filing."""
    return pending.expect(ctx, f"已填报 督{matter.id} {row.period}")


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
        waiting = approval.state(row)
        if waiting:  # submitted (nothing to do but wait) or returned (do it again)
            line += f"（{texts.APPROVAL_STATES[waiting]}）"
            acts = (taps.view(f"督{matter.id}"),) if waiting == "pending" else acts
        lines.append((line, acts))
    return lines + _to_approve(ctx)


def _to_approve(ctx: Ctx) -> list[tuple[str, Taps]]:
    """The submissions waiting for the person's approval (as 分管局领导), whenever due."""
    rows = ctx.session.execute(
        select(Filing, Matter)
        .join(Matter, Filing.matter_id == Matter.id)
        .where(
            Matter.status == MatterStatus.OPEN,
            Filing.done_at.is_(None),
            Filing.submitted_at.is_not(None),
        )
        .order_by(Filing.due_at, Filing.id)
    ).all()
    lines: list[tuple[str, Taps]] = []
    for row, matter in rows:
        if approval.approver(ctx.roster, matter) != ctx.actor:
            continue
        what = texts.filing_label(row.kind, row.period, matter.category == INSTRUCTION)
        due = ctx.when(row.due_at, row.provisional)
        line = texts.todo_approval(label(matter), what, due, ctx.late(row.due_at))
        lines.append((line, approval.review_taps(f"督{matter.id}")))
    return lines
