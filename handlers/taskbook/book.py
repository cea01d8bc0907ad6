"""A department's task book: its tasks made (an import or chat), their 时间节点 parsed, and each
milestone's reminders and escalation planned as deadline rows of the clock ``milestone``."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.roster import Roster, normalize_name
from handlers import deadlines
from handlers.filings.schedule import end_of_day, start_of_day, workday_before
from handlers.workcal import WorkCalendar
from storage.models import Deadline, Task, TaskBook, TaskMilestone

CLOCK = "milestone"
DEFAULT_CATEGORY = "局重点工作"
STATES = ("draft", "submitted", "compiled", "approved", "issued")

_SPLIT = re.compile(r"[；;\n]+")
_FULL = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_SHORT = re.compile(r"(\d{1,2})\s*[月/.]\s*(\d{1,2})\s*日?")
_MONTH_END = re.compile(r"(\d{1,2})\s*月底")
_MARKER = re.compile(r"^\s*(?:\d{1,2}\s*[、)）]|\d{1,2}\.\s+|[（(]\d{1,2}[)）])")


class BadMilestones(ValueError):
    """The 时间节点 cell cannot be read; the message is Chinese, for the sheet's problem line."""


@dataclass(frozen=True)
class NewTask:
    department: str  # canonical name
    name: str
    category: str
    platform: str
    target: str
    measures: str
    owner: str  # userId or a name
    milestones: tuple[tuple[dt.date, str], ...]


def parse_milestones(text: str, year: int) -> list[tuple[dt.date, str]]:
    """「6月30日 完成方案；12月31日 完成验收」, or one per line; a day alone is a node of the
    given year (2026-06-30 and 2026年6月30日 name their own year; 6月底 is the month's last
    day). Returns them in date order."""
    out = []
    for part in _SPLIT.split(unicodedata.normalize("NFKC", text)):
        part = _MARKER.sub("", part).strip()
        if not part:
            continue
        day, rest = _day(part, year)
        if day is None:
            raise BadMilestones(f"「{part}」没有日期（如 6月30日 完成方案）")
        out.append((day, rest.strip(" ：:，,-—")))
    if not out:
        raise BadMilestones("至少填写一个时间节点（如 6月30日 完成方案）")
    return sorted(out, key=lambda m: m[0])


def _day(part: str, year: int) -> tuple[dt.date | None, str]:
    for pattern in (_FULL, _SHORT):
        match = pattern.match(part)
        if match is None:
            continue
        numbers = [int(g) for g in match.groups()]
        y, m, d = numbers if len(numbers) == 3 else (year, *numbers)
        try:
            return dt.date(y, m, d), part[match.end() :]
        except ValueError:
            raise BadMilestones(f"「{match[0]}」不是有效日期") from None
    match = _MONTH_END.match(part)
    if match is not None:
        month = int(match[1])
        if not 1 <= month <= 12:
            raise BadMilestones(f"「{match[0]}」不是有效月份")
        nxt = dt.date(year + month // 12, month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1), part[match.end() :]
    return None, part


def too_early(nodes: Sequence[tuple[dt.date, str]], year: int) -> list[str]:
    """The problem of each node before the task book's year (Chinese, for the user)."""
    return [f"{day.isoformat()}早于{year}年" for day, _ in nodes if day.year < year]


def owner_id(roster: Roster, word: str) -> str:
    """A 责任人 in the roster as their userId (by id or a unique name), anyone else by name."""
    if word in roster.people:
        return word
    ids = [p.id for p in roster.people.values() if normalize_name(p.name) == normalize_name(word)]
    return ids[0] if len(ids) == 1 else word


def book_of(session: Session, year: int, department: str) -> TaskBook | None:
    return session.scalars(
        select(TaskBook).where(TaskBook.year == year, TaskBook.department == department)
    ).first()


def replace_tasks(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    year: int,
    department: str,
    new: list[NewTask],
) -> list[Task]:
    """The department's draft task book of ``year`` holds ``new`` (its former tasks gone, their
    reminders cancelled); the caller checked the book is a draft."""
    book = draft_book(session, year, department, now)
    olds = session.scalars(select(Task).where(Task.taskbook_id == book.id)).all()
    for m in session.scalars(
        select(TaskMilestone).where(TaskMilestone.task_id.in_([t.id for t in olds]))
    ).all():
        cancel(session, m)
        session.delete(m)
    session.flush()
    for old in olds:
        session.delete(old)
    session.flush()
    return [add_task(session, roster, cal, now, book, spec) for spec in new]


def draft_book(session: Session, year: int, department: str, now: dt.datetime) -> TaskBook:
    """The department's task book of ``year``, a new draft when it has none."""
    book = book_of(session, year, department)
    if book is None:
        book = TaskBook(year=year, department=department, state="draft", created_at=now)
        session.add(book)
        session.flush()
    return book


def add_task(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    book: TaskBook,
    spec: NewTask,
) -> Task:
    """One task in ``book`` with its milestones and their reminders (the import and chat)."""
    task = Task(
        taskbook_id=book.id,
        year=book.year,
        department=book.department,
        name=spec.name,
        target=spec.target,
        measures=spec.measures,
        owner=spec.owner,
        category=spec.category,
        platform=spec.platform,
        created_at=now,
    )
    session.add(task)
    session.flush()
    add_milestones(session, roster, cal, now, task, spec.milestones, 0)
    return task


def add_milestones(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    task: Task,
    nodes: Sequence[tuple[dt.date, str]],
    seq: int,
) -> list[TaskMilestone]:
    """``nodes`` as the task's milestones numbered after ``seq``, each with its reminders."""
    made = []
    for n, (day, what) in enumerate(nodes, seq + 1):
        m = TaskMilestone(task_id=task.id, seq=n, due=day, due_at=_due_at(cal, day), what=what)
        session.add(m)
        session.flush()
        plan(session, roster, cal, now, m)
        made.append(m)
    return made


def remove_task(session: Session, task: Task) -> None:
    """A draft's task gone, its reminders cancelled."""
    for m in session.scalars(select(TaskMilestone).where(TaskMilestone.task_id == task.id)):
        cancel(session, m)
        session.delete(m)
    session.flush()
    session.delete(task)
    session.flush()


def _due_at(cal: WorkCalendar, day: dt.date) -> dt.datetime:
    """The end of the milestone's day's working hours (of the working day before, if none)."""
    return end_of_day(cal, workday_before(cal, day, 0))


def moments(cal: WorkCalendar, roster: Roster, m: TaskMilestone) -> list[dt.datetime]:
    """The reminders (start of the working day N working days before), then the escalation
    (the first working moment after the milestone's day)."""
    rules = roster.taskbook
    offsets = deadlines.reminders(rules, deadlines.clock(CLOCK))
    reminders = sorted({start_of_day(cal, workday_before(cal, m.due, int(n))) for n in offsets})
    escalate = cal.next_working_moment(m.due_at + dt.timedelta(microseconds=1))
    return [*reminders, escalate]


def plan(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, m: TaskMilestone
) -> None:
    """The milestone's next step from ``now`` on (a pending one replaced); none once met, nor
    for a day already past (a plan imported late is not escalated at once: 查看 and 待办 show
    it missed). When only the escalation is ahead, one reminder now."""
    cancel(session, m)
    if m.met_at is not None or m.due_at <= now:
        return
    steps = moments(cal, roster, m)
    step = next((i for i, at in enumerate(steps) if at >= now), len(steps) - 1)
    fire_at = steps[step]
    if step == len(steps) - 1 and step > 0:
        step, fire_at = step - 1, now
    row = Deadline(
        clock=CLOCK, kind="step", step=step, due_at=m.due_at, fire_at=fire_at, state="pending"
    )
    session.add(row)
    session.flush()
    m.deadline_id = row.id


def cancel(session: Session, m: TaskMilestone) -> None:
    if m.deadline_id is None:
        return
    session.execute(
        update(Deadline)
        .where(Deadline.id == m.deadline_id, Deadline.state == "pending")
        .values(state="cancelled")
        .execution_options(synchronize_session=False)
    )
    m.deadline_id = None


def nodes_text(nodes: list[TaskMilestone]) -> str:
    return "；".join(f"{m.due.month}月{m.due.day}日 {m.what}".strip() for m in nodes)


def replace_open_milestones(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    task: Task,
    new: list[tuple[dt.date, str]],
) -> tuple[str, str]:
    """The task's unmet milestones replaced by ``new`` (the met ones stay on the record);
    returns (the unmet ones before, the new ones) as text."""
    ms = list(
        session.scalars(
            select(TaskMilestone)
            .where(TaskMilestone.task_id == task.id)
            .order_by(TaskMilestone.seq)
        )
    )
    met = [m for m in ms if m.met_at is not None]
    unmet = [m for m in ms if m.met_at is None]
    old = nodes_text(unmet)
    for m in unmet:
        cancel(session, m)
        session.delete(m)
    session.flush()
    seq = max((m.seq for m in met), default=0)
    made = add_milestones(session, roster, cal, now, task, new, seq)
    return old, nodes_text(made)
