"""The registry of 督办事项: 新增事项, 修改事项, 办结事项, 事项列表."""

from __future__ import annotations

from sqlalchemy import select

from config import categories
from handlers import texts
from handlers.commands import LEADERS, Command, Registry
from handlers.context import CommandError, Ctx
from handlers.filings.rows import ensure_filings, reschedule
from handlers.matters.base import (
    INSTRUCTION,
    OFFICE,
    category_of,
    close,
    describe,
    ensure_open,
    find_matter,
    label,
    log,
    owner_id,
    person_id,
    unique_name,
)
from storage.models import Matter

router = Registry()

FIELDS = ("名称", "类别", "绩效考核", "平台", "处室", "负责人", "分管领导", "备注")


@router.command(
    "新增事项",
    ["word", "dept", "word", "text"],
    "新增事项 <类别> <处室> <负责人> <名称>",
    "登记督办事项（类别如 区委区政府重点工作、实事项目、攻坚）",
    OFFICE,
)
def add_matter(ctx: Ctx, cmd: Command) -> str:
    cat = category_of(cmd.words[0])
    department = ctx.department(cmd.dept or "")
    dept = department.name
    owner = owner_id(ctx, cmd.words[1], dept)
    name = cmd.text.strip()
    unique_name(ctx, name, None)
    matter = Matter(
        name=name,
        category=cat.name,
        star=cat.star,
        platform=cat.platform,
        department=dept,
        owner=owner,
        deputy=department.deputy,
        status="open",
        note="",
        created_at=ctx.now,
    )
    ctx.session.add(matter)
    ctx.session.flush()
    log(ctx.session, matter, ctx.now, ctx.actor, "created", f"{cat.name}·{dept}")
    ensure_filings(ctx.session, ctx.roster, ctx.cal, ctx.now, [matter])
    return texts.matter_added(label(matter), describe(ctx.roster, matter))


@router.command(
    "修改事项",
    ["ref", "word", "text"],
    "修改事项 <事项> <名称/类别/绩效考核/平台/处室/负责人/分管领导/备注> <新值>",
    "修改督办事项的一项内容",
    OFFICE,
)
def edit_matter(ctx: Ctx, cmd: Command) -> str:
    matter = find_matter(ctx, cmd.ref or "")
    field, value = cmd.words[0], cmd.text.strip()
    extra = ""
    if field not in FIELDS:
        raise CommandError(texts.usage(cmd.spec.usage))
    old: str
    if field == "名称":
        unique_name(ctx, value, matter.id)
        old, matter.name = matter.name, value
    elif field == "类别":
        cat = category_of(value)
        if INSTRUCTION in (cat.name, matter.category) and cat.name != matter.category:
            raise CommandError(texts.instruction_category_fixed())
        old, matter.category = matter.category, cat.name
        matter.star, matter.platform = cat.star, cat.platform
        value = cat.name
        extra = texts.category_defaults("是" if cat.star else "否", cat.platform)
    elif field == "绩效考核":
        if value not in ("是", "否", "★", "无"):
            raise CommandError(texts.yes_no(field))
        old = "是" if matter.star else "否"
        matter.star = value in ("是", "★")
        value = "是" if matter.star else "否"
    elif field == "平台":
        found = categories.platform(value)
        if found is None:
            raise CommandError(texts.unknown_platform(value, list(categories.PLATFORMS)))
        old, matter.platform, value = matter.platform, found, found
    elif field == "处室":
        department = ctx.department(value)
        old, matter.department, value = matter.department, department.name, department.name
        if old != value:
            matter.deputy = department.deputy
            extra = texts.deputy_follows(ctx.roster.name(department.deputy))
            theirs = ctx.roster.owner_elsewhere(matter.owner, value)
            if theirs:
                extra += texts.owner_check_after_move(ctx.roster.name(matter.owner), theirs)
    elif field in ("负责人", "分管领导"):
        user = (
            owner_id(ctx, value, matter.department) if field == "负责人" else person_id(ctx, value)
        )
        if field == "负责人":
            old, matter.owner = ctx.roster.name(matter.owner), user
        else:
            old, matter.deputy = ctx.roster.name(matter.deputy), user
        value = ctx.roster.name(user)
    else:
        old, matter.note = matter.note, value
    if old == value:
        return texts.matter_unchanged(label(matter), field)
    log(ctx.session, matter, ctx.now, ctx.actor, "edited", f"{field}：{old} → {value}")
    if field in ("类别", "平台"):
        reschedule(ctx.session, ctx.roster, ctx.cal, ctx.now, matter)
    return texts.matter_edited(label(matter), field, old, value) + extra


@router.command(
    "办结事项", ["ref", "text?"], "办结事项 <事项> [说明]", "督办事项办结，停止填报提醒", OFFICE
)
def close_matter(ctx: Ctx, cmd: Command) -> str:
    matter = find_matter(ctx, cmd.ref or "")
    ensure_open(ctx, matter)
    close(ctx.session, matter, ctx.now, ctx.actor, cmd.text)
    return texts.matter_closed_reply(label(matter))


@router.command("事项列表", ["opt"], "事项列表 [处室/类别/已办结]", "督办事项清单", LEADERS)
def list_matters(ctx: Ctx, cmd: Command) -> str:
    word = cmd.words[0] if cmd.words else ""
    query = select(Matter).order_by(Matter.id)
    title = "督办事项"
    if word in ("已办结", "办结"):
        query = query.where(Matter.status == "closed")
        title = "已办结督办事项"
    else:
        query = query.where(Matter.status == "open")
        if word:
            dept = ctx.roster.department(word)
            cat = categories.category(word)
            if dept is not None:
                query, title = query.where(Matter.department == dept.name), dept.name
            elif cat is not None:
                query, title = query.where(Matter.category == cat.name), cat.name
            else:
                raise CommandError(texts.usage(cmd.spec.usage))
    rows = ctx.session.scalars(query).all()
    if not rows:
        return texts.no_matters(title)
    lines = [f"{label(m)}｜{'★' if m.star else ''}{m.category}｜{m.department}" for m in rows[:50]]
    more = f"\n……共{len(rows)}项" if len(rows) > 50 else ""
    return f"{title}（{len(rows)}项）：\n" + "\n".join(lines) + more
