"""The task book's facts the score reads (issue 13 items 1 and 2).

INTEGRATOR: the task book lives in ``handlers.taskbook.facts`` (built in parallel). When it
is merged, delete the dataclass below, import ``PlanFacts`` and ``plan_facts`` from there, and
make ``plan_facts_of`` return ``plan_facts(session, roster, cal, year, now)``. Until then there
is no task book: ``plan_facts_of`` returns {} and the score says so (``[score] no_taskbook``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from config.roster import Roster
from handlers.workcal import WorkCalendar


@dataclass(frozen=True)
class PlanFacts:
    tasks: int
    complete: int  # tasks with 预期目标, at least one 时间节点, 具体举措 and 责任人
    # (task label, Chinese evidence) of tasks off the district platforms clearly behind plan
    off_platform_behind: list[tuple[str, str]]


def plan_facts_of(
    session: Session, roster: Roster, cal: WorkCalendar, year: int, now: dt.datetime
) -> dict[str, PlanFacts]:
    """Each department's plan facts by canonical name; {}: no task book (yet)."""
    return {}
