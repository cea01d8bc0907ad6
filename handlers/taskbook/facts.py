"""What the year-end score reads of the task book (a stable interface, issue 13 items 3, 4)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import texts
from handlers.taskbook import progress
from handlers.workcal import WorkCalendar
from storage.models import Task


@dataclass(frozen=True)
class PlanFacts:
    tasks: int
    complete: int  # tasks with 预期目标, ≥1 时间节点, 具体举措 and 责任人
    # (task label, evidence in Chinese) for tasks NOT on a district platform that are clearly
    # behind plan
    off_platform_behind: list[tuple[str, str]]


def plan_facts(
    session: Session, roster: Roster, cal: WorkCalendar, year: int, now: dt.datetime
) -> dict[str, PlanFacts]:
    """Per department (canonical name): every roster department (none: tasks 0) and any other
    with tasks in ``year``'s task book."""
    tasks = session.scalars(select(Task).where(Task.year == year).order_by(Task.id)).all()
    by_dept: dict[str, list[Task]] = {d.name: [] for d in roster.data.departments}
    for task in tasks:
        by_dept.setdefault(task.department, []).append(task)
    out = {}
    for dept, group in by_dept.items():
        behind = []
        for task in group:
            if task.platform != "无":
                continue
            found = progress.behind(session, roster, cal, task, now)
            if found is not None:
                behind.append((progress.task_label(task), evidence(found, cal)))
        out[dept] = PlanFacts(
            tasks=len(group),
            complete=sum(progress.complete(session, t) for t in group),
            off_platform_behind=behind,
        )
    return out


def evidence(found: progress.Behind, cal: WorkCalendar) -> str:
    task = found.task
    if found.milestone is None:
        return texts.taskbook_marked_behind(task.name, task.behind_note or "")
    m = found.milestone
    return texts.taskbook_missed_behind(task.name, m.seq, m.due, m.what, found.workdays)
