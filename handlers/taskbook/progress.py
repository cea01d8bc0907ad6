"""Plan against progress: each milestone met, due or missed; a task clearly behind its plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers.workcal import WorkCalendar
from storage.models import Task, TaskMilestone

TASK_PREFIX = "任"


def task_label(task: Task) -> str:
    return f"{TASK_PREFIX}{task.id}"


def milestones(session: Session, task_id: int) -> list[TaskMilestone]:
    return list(
        session.scalars(
            select(TaskMilestone)
            .where(TaskMilestone.task_id == task_id)
            .order_by(TaskMilestone.seq)
        )
    )


def state_of(milestone: TaskMilestone, now: dt.datetime) -> str:
    """met | missed (its day passed unmet) | due."""
    if milestone.met_at is not None:
        return "met"
    return "missed" if now > milestone.due_at else "due"


def period_state(milestone: TaskMilestone, now: dt.datetime) -> str:
    """on_time | late (met after its day) | missed | due: a milestone as a report counts it."""
    if milestone.met_at is not None:
        return "on_time" if milestone.met_at <= milestone.due_at else "late"
    return state_of(milestone, now)


def workdays_late(cal: WorkCalendar, milestone: TaskMilestone, now: dt.datetime) -> int:
    """Whole working days from the end of the milestone's day to ``now`` (0: not late)."""
    if milestone.met_at is not None or now <= milestone.due_at:
        return 0
    day = milestone.due + dt.timedelta(days=1)
    today = now.astimezone(cal.tz).date()
    count = 0
    while day < today:
        if cal.is_working_day(day):
            count += 1
        day += dt.timedelta(days=1)
    return count


@dataclass(frozen=True)
class Behind:
    task: Task
    milestone: TaskMilestone | None  # the missed milestone; None: marked 滞后 by the office
    workdays: int


def behind(
    session: Session, roster: Roster, cal: WorkCalendar, task: Task, now: dt.datetime
) -> Behind | None:
    """Why the task is clearly behind its plan: marked 滞后 by the office, or its earliest
    milestone missed by more than ``[taskbook] behind_workdays`` working days; None: it is not."""
    return behind_of(roster, cal, task, milestones(session, task.id), now)


def behind_of(
    roster: Roster,
    cal: WorkCalendar,
    task: Task,
    plan: list[TaskMilestone],
    now: dt.datetime,
) -> Behind | None:
    """:func:`behind` over the task's milestones already loaded (``plan``, by seq): the one
    rule, for callers that read many tasks at once."""
    limit = roster.taskbook.behind_workdays
    for m in plan:
        late = workdays_late(cal, m, now)
        if late > limit:
            return Behind(task, m, late)
    if task.behind_at is not None:
        return Behind(task, None, 0)
    return None


def missing(session: Session, task: Task) -> list[str]:
    """What a complete task lacks, of 预期目标, 时间节点, 具体举措 and 责任人 (their names)."""
    given = {
        "预期目标": task.target.strip(),
        "时间节点": milestones(session, task.id),
        "具体举措": task.measures.strip(),
        "责任人": task.owner.strip(),
    }
    return [field for field, value in given.items() if not value]


def complete(session: Session, task: Task) -> bool:
    """预期目标, ≥1 时间节点, 具体举措 and 责任人 all given."""
    return not missing(session, task)


def year_plans(session: Session, year: int) -> list[tuple[Task, list[TaskMilestone]]]:
    """Every task of ``year``'s task books with its milestones (by seq), in two queries."""
    tasks = session.scalars(select(Task).where(Task.year == year).order_by(Task.id)).all()
    plan: dict[int, list[TaskMilestone]] = {t.id: [] for t in tasks}
    rows = session.scalars(
        select(TaskMilestone)
        .join(Task, Task.id == TaskMilestone.task_id)
        .where(Task.year == year)
        .order_by(TaskMilestone.task_id, TaskMilestone.seq)
    )
    for m in rows:
        plan[m.task_id].append(m)
    return [(t, plan[t.id]) for t in tasks]


def behind_tasks(
    session: Session, roster: Roster, cal: WorkCalendar, year: int, now: dt.datetime
) -> list[Behind]:
    """The tasks of ``year`` clearly behind their plan at ``now`` (:func:`behind_of`)."""
    out = []
    for task, plan in year_plans(session, year):
        found = behind_of(roster, cal, task, plan, now)
        if found is not None:
            out.append(found)
    return out
