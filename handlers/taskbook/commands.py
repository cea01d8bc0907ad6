"""The task book's commands: 已完成, 任务书提交/汇总/审定/下达, 任务调整, 任务关联, 滞后, 任务书."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from sqlalchemy import select

from handlers import documents, taps, texts
from handlers.args import MatterArg, TextArg, WordArg
from handlers.commands import Arg, Registry
from handlers.context import CommandError, Ctx
from handlers.effects import to_group
from handlers.filings.rows import ensure_filings
from handlers.matters.base import DEPT, OFFICE, label
from handlers.matters.fields import create_matter, to_category, unique_name
from handlers.matters.states import MatterStatus
from handlers.taps import Taps
from handlers.taskbook import book, export, progress
from handlers.taskbook.facts import evidence
from handlers.taskbook.progress import TASK_PREFIX, task_label
from storage.models import Matter, Task, TaskAmendment, TaskBook

router = Registry()

_TASK = re.compile(rf"{TASK_PREFIX}\s*(\d+)")
_MATTER = re.compile(r"督\s*(\d+)")


class TaskArg(Arg[Task]):
    """A task of the task book: 任3. ``department``: one of the actor's departments."""

    def __init__(
        self,
        department: bool = False,
        name: str = "task",
        label: str = "任务",
        matter: bool = False,
    ) -> None:
        """``matter``: a 督N linked to a task stands for that task."""
        super().__init__(name, label)
        self.department, self.matter = department, matter

    def resolve(self, ctx: Ctx, raw: Any, got: Any) -> Task:
        word = unicodedata.normalize("NFKC", str(raw)).strip()
        match = _TASK.fullmatch(word)
        task = ctx.session.get(Task, int(match[1])) if match else None
        linked = _MATTER.fullmatch(word) if self.matter else None
        if linked:  # a 督办事项 a task is followed as (任务关联, 任务立项): that task
            task = ctx.session.scalars(
                select(Task).where(Task.matter_id == int(linked[1])).order_by(Task.id)
            ).first()
            if task is None:
                raise CommandError(texts.task_of_matter_none(word))
        if task is None:
            raise CommandError(texts.task_not_found(str(raw)))
        if self.department:
            roles = ctx.roles
            if task.department not in roles.clerk_of | roles.head_of:
                raise CommandError(texts.task_not_yours(task_label(task), task.department))
        return task

    def sample(self) -> str:
        return "任1"


class YearArg(Arg[int]):
    def __init__(self, name: str = "year", label: str = "年份") -> None:
        super().__init__(name, label)

    def resolve(self, ctx: Ctx, raw: Any, got: Any) -> int:
        word = unicodedata.normalize("NFKC", str(raw)).removesuffix("年")
        if not re.fullmatch(r"20\d\d", word):
            raise CommandError(texts.taskbook_bad_year(str(raw)))
        return int(word)

    def sample(self) -> str:
        return "2026"


def _books(ctx: Ctx, year: int, states: tuple[str, ...]) -> list[TaskBook]:
    return list(
        ctx.session.scalars(
            select(TaskBook)
            .where(TaskBook.year == year, TaskBook.state.in_(states))
            .order_by(TaskBook.department)
        )
    )


@router.command(
    "已完成",
    [TaskArg(department=True, matter=True), TextArg("note", "节点序号/说明", optional=True)],
    "任务书的下一个时间节点已完成（或写明节点序号）；可写任务编号或其关联的督办事项",
    DEPT,
)
def milestone_met(ctx: Ctx, task: Task, note: str) -> str:
    ms = progress.milestones(ctx.session, task.id)
    first, _, rest = note.partition(" ")
    if first.isdigit():
        seq, note = int(first), rest.strip()
        found = next((m for m in ms if m.seq == seq), None)
        if found is None:
            raise CommandError(texts.milestone_no_such(task_label(task), seq, len(ms)))
        if found.met_at is not None:
            raise CommandError(texts.milestone_met_already(task_label(task), seq))
    else:
        found = next((m for m in ms if m.met_at is None), None)
        if found is None:
            raise CommandError(texts.milestone_all_met(task_label(task)))
    found.met_at, found.met_by, found.note = ctx.now, ctx.actor, note or None
    book.cancel(ctx.session, found)
    late = ctx.now > found.due_at
    left = sum(m.met_at is None for m in ms)
    return texts.milestone_met(task_label(task), task.name, found.seq, found.what, late, left)


@router.command("任务书提交", [YearArg()], "处室负责人提交本处室的年度工作任务书", ["dept_head"])
def submit(ctx: Ctx, year: int) -> str:
    done = []
    for dept in sorted(ctx.roles.head_of):
        found = book.book_of(ctx.session, year, dept)
        if found is None:
            raise CommandError(texts.taskbook_none(year, dept))
        if found.state != "draft":
            raise CommandError(texts.taskbook_wrong_state(year, dept, found.state))
        found.state, found.submitted_at, found.submitted_by = "submitted", ctx.now, ctx.actor
        done.append(dept)
    if not done:
        raise CommandError(texts.taskbook_none(year, ""))
    ctx.send(to_group(ctx.roster.office.group, texts.taskbook_submitted_office(year, done)))
    return texts.taskbook_submitted(year, done)


@router.command("任务书汇总", [YearArg()], "局办公室汇总已提交的任务书，形成局任务书", OFFICE)
def compile_books(ctx: Ctx, year: int) -> str:
    books = _books(ctx, year, ("submitted",))
    if not books:
        raise CommandError(texts.taskbook_nothing_in(year, "submitted"))
    for b in books:
        b.state, b.compiled_at, b.compiled_by = "compiled", ctx.now, ctx.actor
    waiting = [b.department for b in _books(ctx, year, ("draft",))]
    return texts.taskbook_compiled(year, [b.department for b in books], waiting)


@router.command(
    "任务书审定",
    [YearArg(), TextArg("meeting", "会议/日期")],
    "局长办公会审定局年度重点工作任务书后记录",
    OFFICE,
)
def approve(ctx: Ctx, year: int, meeting: str) -> str:
    books = _books(ctx, year, ("compiled",))
    if not books:
        raise CommandError(texts.taskbook_nothing_in(year, "compiled"))
    for b in books:
        b.state, b.approved_at, b.approved_by = "approved", ctx.now, ctx.actor
        b.approved_meeting = meeting
    return texts.taskbook_approved(year, meeting, [b.department for b in books])


@router.command("任务书下达", [YearArg()], "以局名义下达审定的任务书", OFFICE)
def issue(ctx: Ctx, year: int) -> str:
    books = _books(ctx, year, ("approved",))
    if not books:
        raise CommandError(texts.taskbook_nothing_in(year, "approved"))
    for b in books:
        b.state, b.issued_at, b.issued_by = "issued", ctx.now, ctx.actor
        dept = ctx.roster.department(b.department)
        if dept is not None:
            ctx.send(to_group(dept.group, texts.taskbook_issued_dept(year, b.department)))
    # the bureau's task book as issued, to the office group (kept on the record)
    content = export.word(ctx.session, ctx.roster, year)
    name = f"{texts.taskbook_doc_title(year)}.docx"
    kept = documents.keep(ctx, name, content, subject=f"任务书{year}")
    documents.send(ctx, "group", ctx.roster.office.group, kept)
    return texts.taskbook_issued(year, [b.department for b in books])


NODES = "时间节点"  # its unmet milestones replaced, e.g. 9月30日完成方案；12月31日完成验收
FIELDS = {
    "任务名称": "name",
    "预期目标": "target",
    "具体举措": "measures",
    "责任人": "owner",
    NODES: NODES,
}


@router.command(
    "任务调整",
    [TaskArg(), WordArg("field", "字段"), WordArg("value", "新值"), TextArg("reason", "理由")],
    "审定后调整任务（任务名称、预期目标、具体举措、责任人、时间节点），记录理由",
    OFFICE,
)
def amend(ctx: Ctx, task: Task, field: str, value: str, reason: str) -> str:
    attr = FIELDS.get(field)
    if attr is None:
        raise CommandError(texts.task_bad_field(field, list(FIELDS)))
    found = ctx.session.get(TaskBook, task.taskbook_id)
    if found is None or found.state not in ("approved", "issued"):
        raise CommandError(texts.task_amend_before_approval(task_label(task)))
    if attr == NODES:
        try:
            nodes = book.parse_milestones(value, task.year)
        except book.BadMilestones as exc:
            raise CommandError(texts.task_bad_nodes(str(exc))) from None
        old, value = book.replace_open_milestones(
            ctx.session, ctx.roster, ctx.cal, ctx.now, task, nodes
        )
    else:
        old = str(getattr(task, attr))
        if attr == "owner":
            value = next((p for p in ctx.roster.people if ctx.roster.name(p) == value), value)
        setattr(task, attr, value)
    ctx.session.add(
        TaskAmendment(
            task_id=task.id,
            field=field,
            old=old,
            new=value,
            reason=reason,
            by=ctx.actor,
            at=ctx.now,
        )
    )
    return texts.task_amended(task_label(task), field, old, value, reason)


@router.command("任务关联", [TaskArg(), MatterArg()], "把任务与督办事项（督N）关联", OFFICE)
def link(ctx: Ctx, task: Task, matter: Matter) -> str:
    if task.matter_id is not None and task.matter_id != matter.id:
        raise CommandError(texts.task_linked_already(task_label(task), f"督{task.matter_id}"))
    task.matter_id = matter.id
    return texts.task_linked(task_label(task), task.name, label(matter))


@router.command("任务立项", [TaskArg()], "把任务登记为督办事项（按类别报送、提醒）", OFFICE)
def to_matter(ctx: Ctx, task: Task) -> str:
    if task.matter_id is not None:
        raise CommandError(texts.task_linked_already(task_label(task), f"督{task.matter_id}"))
    dept = ctx.roster.department(task.department)
    if dept is None:
        raise CommandError(texts.task_not_found(task_label(task)))
    unique_name(ctx, task.name, None)
    cat = to_category(task.category)
    owner = task.owner if task.owner in ctx.roster.people else dept.head
    matter = create_matter(
        ctx.session,
        ctx.now,
        ctx.actor,
        texts.task_matter_detail(task_label(task), task.year),
        name=task.name,
        category=cat.name,
        star=cat.star,
        platform=task.platform,
        department=dept.name,
        owner=owner,
        deputy=dept.deputy,
        status=MatterStatus.OPEN.value,
        note=texts.task_matter_detail(task_label(task), task.year),
    )
    task.matter_id = matter.id
    ensure_filings(ctx.session, ctx.roster, ctx.cal, ctx.now, [matter])
    return texts.task_linked(task_label(task), task.name, label(matter))


@router.command("滞后", [TaskArg(), TextArg("note", "说明")], "认定任务明显滞后于计划", OFFICE)
def mark_behind(ctx: Ctx, task: Task, note: str) -> str:
    task.behind_at, task.behind_by, task.behind_note = ctx.now, ctx.actor, note
    return texts.task_marked_behind(task_label(task), task.name)


def todo_lines(ctx: Ctx) -> list[tuple[str, Taps]]:
    """A department's milestones due within a week or missed (its next open one per task); for
    office admins, the tasks clearly behind their plan; this year's task books and later."""
    roles = ctx.roles
    depts = roles.clerk_of | roles.head_of
    lines: list[tuple[str, Taps]] = []
    soon = ctx.now + dt.timedelta(days=7)
    this_year = ctx.now.astimezone(ctx.cal.tz).year  # last year's books are the score's
    tasks = ctx.session.scalars(select(Task).where(Task.year >= this_year).order_by(Task.id)).all()
    for task in tasks:
        if task.department not in depts:
            continue
        for m in progress.milestones(ctx.session, task.id):
            if m.met_at is None and m.due_at <= soon:
                ref = task_label(task)
                missed = ctx.now > m.due_at
                line = texts.todo_milestone(
                    ref, task.name, m.seq, m.what, ctx.when(m.due_at), missed
                )
                lines.append((line, (taps.view(ref),)))
                break
    if ctx.actor in ctx.roster.office.admins:
        for task in tasks:
            found = progress.behind(ctx.session, ctx.roster, ctx.cal, task, ctx.now)
            if found is not None:
                ref = task_label(task)
                line = texts.todo_task_behind(ref, task.department, evidence(found, ctx.cal))
                lines.append((line, (taps.view(ref),)))
    return lines
