"""A draft task book kept in chat (issue 13 item 1): 新增任务, 任务修改, 删除任务, for the
department's clerk or head (an office admin names the department first); the same checks and
the same rows as the import (handlers.taskbook.book)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from config.roster import Department
from handlers import texts
from handlers.args import TextArg, WordArg
from handlers.commands import Arg, Registry, Resolved, Rest
from handlers.context import CommandError, Ctx
from handlers.matters.fields import to_category, to_platform
from handlers.taskbook import book, progress
from handlers.taskbook.commands import TaskArg
from handlers.taskbook.progress import task_label
from storage.models import Task, TaskBook

router = Registry()
WHO = ["clerk", "dept_head", "office_admin"]

_YEAR_WORD = re.compile(r"([0-9]{4})年度(?= |$)")


class TaskYearArg(Arg[int | None]):
    """新增任务's optional 年度 (2027年度); None: this year. Only a word of that exact form."""

    def __init__(self) -> None:
        super().__init__("year", "年度", optional=True)

    def take(self, rest: Rest) -> str:
        found = rest.match(_YEAR_WORD)
        return found[1] if found else ""

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> int | None:
        return int(raw) if raw else None

    def sample(self) -> str:
        return "2026年度"


def _check_member(ctx: Ctx, dept: str) -> None:
    roles = ctx.roles
    if dept not in roles.clerk_of | roles.head_of and not roles.has("office_admin"):
        raise CommandError(texts.task_chat_not_member(dept))


def _draft(ctx: Ctx, year: int, dept: str) -> None:
    found = book.book_of(ctx.session, year, dept)
    if found is not None and found.state != "draft":
        raise CommandError(texts.task_chat_not_draft(year, dept, found.state))


def _nodes(text: str, year: int) -> list[tuple[Any, str]]:
    try:
        nodes = book.parse_milestones(text, year)
    except book.BadMilestones as exc:
        raise CommandError(texts.task_bad_nodes(str(exc))) from None
    early = book.too_early(nodes, year)
    if early:
        raise CommandError(texts.task_bad_nodes("；".join(early)))
    return nodes


def _which(ctx: Ctx, first: str, rest: str) -> tuple[Department, str, str]:
    """(department, task name, 时间节点 text): the department named first, else the actor's."""
    named = ctx.roster.department(first)
    if named is not None and rest:
        name, _, nodes = rest.partition(" ")
        if not nodes.strip():
            raise CommandError(texts.task_chat_no_nodes())
        _check_member(ctx, named.name)
        return named, name, nodes.strip()
    roles = ctx.roles
    mine = sorted(roles.clerk_of | roles.head_of)
    if len(mine) != 1:
        raise CommandError(texts.task_chat_name_dept([d.name for d in ctx.roster.data.departments]))
    dept = ctx.roster.department(mine[0])
    if dept is None:
        raise CommandError(texts.task_chat_not_member(mine[0]))
    if not rest:
        raise CommandError(texts.task_chat_no_nodes())
    return dept, first, rest


@router.command(
    "新增任务",
    [TaskYearArg(), WordArg("name", "任务名称"), TextArg("nodes", "时间节点")],
    "在本处室年度任务书草稿中新增任务（局办公室先写处室；默认今年，可写 2027年度）",
    WHO,
)
def add(ctx: Ctx, year: int | None, name: str, nodes: str) -> str:
    year = year or ctx.now.astimezone(ctx.cal.tz).year
    dept, name, text = _which(ctx, name, nodes.strip())
    _draft(ctx, year, dept.name)
    milestones = _nodes(text, year)
    category = to_category(book.DEFAULT_CATEGORY)
    spec = book.NewTask(
        department=dept.name,
        name=name,
        category=category.name,
        platform=category.platform,
        target="",
        measures="",
        owner="",
        milestones=tuple(milestones),
    )
    found = book.draft_book(ctx.session, year, dept.name, ctx.now)
    task = book.add_task(ctx.session, ctx.roster, ctx.cal, ctx.now, found, spec)
    ref = task_label(task)
    shown = book.nodes_text(progress.milestones(ctx.session, task.id))
    missing = progress.missing(ctx.session, task)
    return texts.task_chat_added(ref, name, dept.name, year, shown, missing)


def _editable(ctx: Ctx, task: Task) -> None:
    _check_member(ctx, task.department)
    found = ctx.session.get(TaskBook, task.taskbook_id)
    if found is not None and found.state != "draft":
        raise CommandError(texts.task_chat_not_draft(task.year, task.department, found.state))


FIELDS = {
    "任务名称": "name",
    "预期目标": "target",
    "具体举措": "measures",
    "责任人": "owner",
    "类别": "category",
    "平台": "platform",
    "时间节点": "nodes",
}


@router.command(
    "任务修改",
    [TaskArg(), WordArg("field", "字段"), TextArg("value", "内容")],
    "审定前修改任务书草稿中的任务（预期目标、具体举措、责任人、类别、平台、时间节点）",
    WHO,
)
def change(ctx: Ctx, task: Task, field: str, value: str) -> str:
    attr = FIELDS.get(unicodedata.normalize("NFKC", field))
    if attr is None:
        raise CommandError(texts.task_chat_bad_field(field))
    _editable(ctx, task)
    value = value.strip()
    if not value:
        raise CommandError(texts.task_chat_empty(field))
    if attr == "nodes":
        old, value = book.replace_open_milestones(
            ctx.session, ctx.roster, ctx.cal, ctx.now, task, _nodes(value, task.year)
        )
    elif attr == "category":
        category = to_category(value)
        old, value = task.category, category.name
        if task.platform == to_category(old).platform:  # the default follows the category
            task.platform = category.platform
        task.category = value
    else:
        if attr == "platform":
            value = to_platform(value)
        elif attr == "owner":
            value = book.owner_id(ctx.roster, value)
        old = str(getattr(task, attr))
        setattr(task, attr, value)
    if attr == "owner":
        old, value = ctx.roster.name(old) if old else old, ctx.roster.name(value)
    missing = progress.missing(ctx.session, task)
    return texts.task_chat_changed(task_label(task), field, old, value, missing)


@router.command("删除任务", [TaskArg()], "审定前从任务书草稿中删除任务", WHO)
def delete(ctx: Ctx, task: Task) -> str:
    _editable(ctx, task)
    ref, name, dept, year = task_label(task), task.name, task.department, task.year
    book.remove_task(ctx.session, task)
    return texts.task_chat_deleted(ref, name, dept, year)
