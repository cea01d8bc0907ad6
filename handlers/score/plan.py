"""The task book's facts the score reads (handlers.taskbook.facts). A department with no task
in the year has no task book: ``[score] no_taskbook`` decides its 目标清晰度."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from config.roster import Roster
from handlers.taskbook.facts import PlanFacts, plan_facts
from handlers.workcal import WorkCalendar

__all__ = ["PlanFacts", "plan_facts_of"]


def plan_facts_of(
    session: Session, roster: Roster, cal: WorkCalendar, year: int, now: dt.datetime
) -> dict[str, PlanFacts]:
    """Each department with a task book of ``year``: its plan facts, by canonical name."""
    facts = plan_facts(session, roster, cal, year, now)
    return {department: plan for department, plan in facts.items() if plan.tasks}
