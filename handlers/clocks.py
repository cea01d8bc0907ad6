"""The @件 clocks as timer rows: reminders before a deadline, escalations after it, planned
from the clocks' declarations (handlers.deadlines)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from config.roster import Rules, parse_hours_before
from handlers import deadlines
from handlers.workcal import WorkCalendar

HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class TimerPlan:
    clock: str
    kind: str  # nag | escalate | followup
    step: int
    due_at: dt.datetime
    fire_at: dt.datetime


def ladder(rules: Rules, clock: str) -> list[list[str]]:
    return deadlines.ladder(rules, deadlines.clock(clock))


def plan(
    cal: WorkCalendar, rules: Rules, clock: str, start: dt.datetime, due: dt.datetime
) -> list[TimerPlan]:
    """Reminders inside the window [start, due] and the escalation ladder from ``due`` on."""
    decl = deadlines.clock(clock)
    window = cal.between(start, due)
    out: list[TimerPlan] = []
    fires: set[dt.datetime] = set()
    for spec in deadlines.reminders(rules, decl):
        assert isinstance(spec, str)  # @件 windows: "half" or working hours
        if spec == "half":
            offset = window / 2
        else:
            hours = parse_hours_before(spec)
            assert hours is not None  # validated with the roster
            offset = window - HOUR * float(hours)
        if offset <= dt.timedelta(0):
            continue
        fire = cal.add_duration(start, offset).at
        if start < fire < due and fire not in fires:
            fires.add(fire)
    for step, fire in enumerate(sorted(fires)):
        out.append(TimerPlan(clock, "nag", step, due, fire))
    every = Fraction(deadlines.setting(rules, decl.every))
    for step, _ in enumerate(deadlines.ladder(rules, decl)):
        fire = cal.add(due, every * step).at if step else due
        out.append(TimerPlan(clock, "escalate", step, due, fire))
    return out


def followup(
    cal: WorkCalendar, rules: Rules, since: dt.datetime, step: int, clock: str = "followup"
) -> TimerPlan:
    """The ``step``-th reminder (from 0) of a clock that repeats with no deadline (a hard case
    waiting for its offline answer)."""
    every = Fraction(deadlines.setting(rules, deadlines.clock(clock).repeat))
    fire = cal.add(since, every * (step + 1)).at
    return TimerPlan(clock, "followup", step, fire, fire)
