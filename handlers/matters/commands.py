"""The registry of 督办事项: 新增事项, 修改事项, 办结事项, 事项列表."""

from __future__ import annotations

from sqlalchemy import select

from config.categories import Category
from config.roster import Department
from handlers import texts
from handlers.annual.args import PlanYearArg
from handlers.args import (
    CategoryArg,
    ChoiceArg,
    DeptArg,
    MatterArg,
    MatterFilterArg,
    NameArg,
    PersonArg,
    TextArg,
)
from handlers.closure import flow as closure
from handlers.commands import LEADERS, Registry
from handlers.context import CommandError, Ctx
from handlers.filings.rows import ensure_filings, reschedule
from handlers.matters.base import (
    INSTRUCTION,
    OFFICE,
    close,
    describe,
    ensure_open,
    label,
)
from handlers.matters.fields import (
    change,
    create_matter,
    to_category,
    to_department,
    to_owner,
    to_person,
    to_plan_year,
    to_platform,
    to_star,
    unique_name,
)
from handlers.matters.states import MatterStatus
from storage.models import Matter

router = Registry()

FIELDS = {
    f: f for f in ("名称", "类别", "绩效考核", "平台", "处室", "负责人", "分管领导", "年度", "备注")
}


@router.command(
    "新增事项",
    [
        CategoryArg("cat"),
        DeptArg("department"),
        PersonArg("owner", "负责人", owner_of="department"),
        PlanYearArg(),
        NameArg(),
    ],
    "登记督办事项（类别如 区委区政府重点工作、实事项目、攻坚）；实事项目可写年度如2027年度",
    OFFICE,
)
def add_matter(
    ctx: Ctx, cat: Category, department: Department, owner: str, year: int | None, name: str
) -> str:
    dept = department.name
    matter = create_matter(
        ctx.session,
        ctx.now,
        ctx.actor,
        f"{cat.name}·{dept}",
        name=name,
        category=cat.name,
        star=cat.star,
        platform=cat.platform,
        department=dept,
        owner=owner,
        deputy=department.deputy,
        status=MatterStatus.OPEN.value,
        note="",
        plan_year=year,
    )
    ensure_filings(ctx.session, ctx.roster, ctx.cal, ctx.now, [matter])
    return texts.matter_added(label(matter), describe(ctx.roster, matter))


@router.command(
    "修改事项",
    [MatterArg(), ChoiceArg("field", FIELDS), TextArg("value", "新值")],
    "修改督办事项的一项内容",
    OFFICE,
)
def edit_matter(ctx: Ctx, matter: Matter, field: str, value: str) -> str:
    value = value.strip()
    extra = ""
    old: str
    new: object = value  # the stored value; ``value`` is how it is shown
    if field == "名称":
        unique_name(ctx, value, matter.id)
        attr, old = "name", matter.name
    elif field == "类别":
        cat = to_category(value)
        if INSTRUCTION in (cat.name, matter.category) and cat.name != matter.category:
            raise CommandError(texts.instruction_category_fixed())
        attr, old, new = "category", matter.category, cat.name
        matter.star, matter.platform = cat.star, cat.platform
        value = cat.name
        extra = texts.category_defaults("是" if cat.star else "否", cat.platform)
    elif field == "绩效考核":
        new = to_star(value, field)
        attr, old = "star", "是" if matter.star else "否"
        value = "是" if new else "否"
    elif field == "平台":
        attr, old = "platform", matter.platform
        new = value = to_platform(value)
    elif field == "处室":
        department = to_department(ctx.roster, value)
        attr, old, new = "department", matter.department, department.name
        value = department.name
        if old != value:
            matter.deputy = department.deputy
            extra = texts.deputy_follows(ctx.roster.name(department.deputy))
            theirs = ctx.roster.owner_elsewhere(matter.owner, value)
            if theirs:
                extra += texts.owner_check_after_move(ctx.roster.name(matter.owner), theirs)
    elif field == "负责人":
        new = to_owner(ctx.roster, value, matter.department)
        attr, old, value = "owner", ctx.roster.name(matter.owner), ctx.roster.name(new)
    elif field == "分管领导":
        new = to_person(ctx.roster, value)
        attr, old, value = "deputy", ctx.roster.name(matter.deputy), ctx.roster.name(new)
    elif field == "年度":
        if matter.category not in ctx.roster.filings.annual.categories:
            raise CommandError(texts.plan_year_not_for(matter.category))
        cleared = value in ("无", "-", "—")
        new = None if cleared else to_plan_year(value, ctx.now.astimezone(ctx.cal.tz).year + 1)
        attr, old, value = "plan_year", str(matter.plan_year or "（无）"), str(new or "（无）")
    else:
        attr, old = "note", matter.note
    if old == value:
        return texts.matter_unchanged(label(matter), field)
    change(ctx.session, matter, ctx.now, ctx.actor, attr, new, f"{field}：{old} → {value}")
    if field in ("类别", "平台", "年度"):
        reschedule(ctx.session, ctx.roster, ctx.cal, ctx.now, matter)
    return texts.matter_edited(label(matter), field, old, value) + extra


@router.command(
    "办结事项",
    [MatterArg(), TextArg("note", "说明", optional=True)],
    "督办事项办结，停止填报提醒（攻坚事项先报销项报告和两个附件）",
    OFFICE,
)
def close_matter(ctx: Ctx, matter: Matter, note: str) -> str:
    ensure_open(ctx, matter)
    if closure.needs_report(matter):  # attachment 4: the 销项 report and its two files first
        return closure.ask(ctx, matter, note)
    close(ctx.session, matter, ctx.now, ctx.actor, note)
    return texts.matter_closed_reply(label(matter))


@router.command("事项列表", [MatterFilterArg()], "督办事项清单", LEADERS)
def list_matters(ctx: Ctx, only: Department | Category | str | None) -> str:
    query = select(Matter).order_by(Matter.id)
    title = "督办事项"
    if only == "closed":
        query = query.where(Matter.status == MatterStatus.CLOSED)
        title = "已办结督办事项"
    else:
        query = query.where(Matter.status == MatterStatus.OPEN)
        if isinstance(only, Department):
            query, title = query.where(Matter.department == only.name), only.name
        elif isinstance(only, Category):
            query, title = query.where(Matter.category == only.name), only.name
    rows = ctx.session.scalars(query).all()
    if not rows:
        return texts.no_matters(title)
    lines = [f"{label(m)}｜{'★' if m.star else ''}{m.category}｜{m.department}" for m in rows[:50]]
    more = f"\n……共{len(rows)}项" if len(rows) > 50 else ""
    return f"{title}（{len(rows)}项）：\n" + "\n".join(lines) + more
