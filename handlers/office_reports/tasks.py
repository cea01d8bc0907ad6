"""The report's 任务书执行情况: per department, the milestones due in the period (met on time,
met late, missed, not yet due) and the tasks clearly behind plan now, by the task book's own
rule (handlers.taskbook.progress); two queries a year (a period across New Year reads the task
books of both years)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from config.roster import Roster
from handlers.taskbook import progress
from handlers.taskbook.facts import evidence
from handlers.workcal import WorkCalendar

STATES = ("on_time", "late", "missed", "due")


@dataclass
class DeptTasks:
    name: str
    tasks: int = 0
    milestones: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))


@dataclass(frozen=True)
class BehindTask:
    label: str  # 任3
    department: str
    name: str
    evidence: str


@dataclass
class TaskFigures:
    years: list[int]  # the years of the task books read: the period's
    departments: list[DeptTasks]  # departments with tasks, the roster's order first
    behind: list[BehindTask]

    @property
    def any(self) -> bool:
        return bool(self.departments)

    @property
    def label(self) -> str:
        """2026, or 2025、2026 for a period across New Year."""
        return "、".join(str(y) for y in self.years)

    def total(self, state: str) -> int:
        return sum(d.milestones[state] for d in self.departments)


def task_figures(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    years: list[int],
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> TaskFigures:
    """Milestones due in [start, end) as of ``now``; tasks behind plan at ``now``."""
    by_dept: dict[str, DeptTasks] = {}
    behind = []
    plans = [p for year in years for p in progress.year_plans(session, year)]
    for task, plan in plans:
        dept = by_dept.setdefault(task.department, DeptTasks(task.department))
        dept.tasks += 1
        for m in plan:
            if start <= m.due_at < end:
                dept.milestones[progress.period_state(m, now)] += 1
        found = progress.behind_of(roster, cal, task, plan, now)
        if found is not None:
            behind.append(
                BehindTask(
                    progress.task_label(task), task.department, task.name, evidence(found, cal)
                )
            )
    order = [d.name for d in roster.data.departments]
    order += sorted(k for k in by_dept if k not in order)
    return TaskFigures(years, [by_dept[n] for n in order if n in by_dept], behind)
