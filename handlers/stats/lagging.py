"""What lags behind at a moment (the 双月例会's agenda, document 三(三)), from the same
outcomes as the statistics (handlers.stats.figures): one source for 统计, the workbook and
the agenda."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers.items.states import CLOSED
from handlers.matters.base import INSTRUCTION
from handlers.matters.states import InterviewState, MatterStatus
from handlers.stats.figures import filing_outcome, filings_in_window, item_outcomes
from handlers.taskbook.progress import Behind, behind_tasks
from handlers.workcal import WorkCalendar
from storage.models import Filing, Interview, Item, Light, Matter

LAGGING_COLORS = ("yellow", "red")
# 超限: monthly filings, a 批示件's 签收, a meeting decision's 期限 (a 批示件's late feedback is
# listed as such, not twice)
LAGGING_FILING_KINDS = ("monthly", "sign", "decision")


@dataclass
class Lagging:
    """What lags behind at ``now`` (the 双月例会's agenda, document 三(三)):

    - ``lights``: open ★ matters whose latest recorded light is yellow or red;
    - ``filings``: monthly filings, 批示件 签收 and meeting decisions' 期限 due in
      [start, now) that are 超限 (``filing_outcome`` "overdue");
    - ``items``: open @件 with a clock open past its due time (``item_outcomes``), and which;
    - ``instructions``: open 领导批示件 past their feedback date without feedback;
    - ``interviews``: 约谈问询 open now;
    - ``tasks``: tasks of this year's task book clearly behind plan (the task book's rule).
    """

    lights: list[tuple[Matter, Light]] = field(default_factory=list)
    filings: list[tuple[Filing, Matter]] = field(default_factory=list)
    items: list[tuple[Item, list[str]]] = field(default_factory=list)
    instructions: list[Matter] = field(default_factory=list)
    interviews: list[tuple[Interview, Matter]] = field(default_factory=list)
    tasks: list[Behind] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(
            len(part)
            for part in (
                self.lights,
                self.filings,
                self.items,
                self.instructions,
                self.interviews,
                self.tasks,
            )
        )


def latest_lights(session: Session) -> list[tuple[Matter, Light]]:
    """Each open ★ matter with a light, and its latest light (by period)."""
    latest: dict[int, tuple[Matter, Light]] = {}
    rows = session.execute(
        select(Matter, Light)
        .join(Light, Light.matter_id == Matter.id)
        .where(Matter.star.is_(True), Matter.status == MatterStatus.OPEN)
        .order_by(Matter.id, Light.period)
    ).all()
    for matter, light in rows:
        latest[matter.id] = (matter, light)
    return list(latest.values())


def lagging(
    session: Session,
    start: dt.datetime,
    now: dt.datetime,
    roster: Roster | None = None,
    cal: WorkCalendar | None = None,
) -> Lagging:
    """What lags behind at ``now``; 超限 filings due since ``start``; with the roster and the
    calendar, the tasks behind plan too (see :class:`Lagging`)."""
    for moment in (start, now):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("start and now must be aware datetimes")
    out = Lagging()
    out.lights = [(m, lt) for m, lt in latest_lights(session) if lt.color in LAGGING_COLORS]
    out.filings = [
        (f, m)
        for f, m in filings_in_window(session, start, now)
        if f.kind in LAGGING_FILING_KINDS and filing_outcome(f, now) == "overdue"
    ]
    out.items = late_items(session, now)
    out.instructions = list(
        session.scalars(
            select(Matter)
            .where(
                Matter.category == INSTRUCTION,
                Matter.status == MatterStatus.OPEN,
                Matter.feedback_due.is_not(None),
                Matter.feedback_due < now,
                Matter.feedback_at.is_(None),
            )
            .order_by(Matter.id)
        )
    )
    out.interviews = open_interviews(session)
    if roster is not None and cal is not None:
        year = now.astimezone(cal.tz).year
        out.tasks = behind_tasks(session, roster, cal, year, now)
    return out


def late_items(session: Session, now: dt.datetime) -> list[tuple[Item, list[str]]]:
    """Open @件 with a clock open past its due time at ``now`` (``item_outcomes``), and
    which clocks, by number: the one query behind the agenda and the reports' attention."""
    out = []
    for item in session.scalars(
        select(Item).where(Item.state.not_in([str(s) for s in CLOSED])).order_by(Item.id)
    ):
        late = [c for c, o in item_outcomes(item, now).items() if o == "open_overdue"]
        if late:
            out.append((item, late))
    return out


def open_interviews(session: Session) -> list[tuple[Interview, Matter]]:
    """The 约谈问询 open now, with their matters, oldest first."""
    return [
        (interview, matter)
        for interview, matter in session.execute(
            select(Interview, Matter)
            .join(Matter, Interview.matter_id == Matter.id)
            .where(Interview.state == InterviewState.OPEN)
            .order_by(Interview.opened_at, Interview.id)
        )
    ]
