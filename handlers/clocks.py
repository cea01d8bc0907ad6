"""The four @件 clocks as timer rows: reminders before a deadline, escalations after it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from config.roster import Rules, parse_hours_before
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
    return {
        "triage": rules.escalate_triage,
        "claim": rules.escalate_claim,
        "reply": rules.escalate_reply,
    }.get(clock, [])


def plan(
    cal: WorkCalendar, rules: Rules, clock: str, start: dt.datetime, due: dt.datetime
) -> list[TimerPlan]:
    """Reminders inside the window [start, due] and the escalation ladder from ``due`` on."""
    window = cal.between(start, due)
    out: list[TimerPlan] = []
    fires: set[dt.datetime] = set()
    for spec in rules.nag_before:
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
    for step, _ in enumerate(ladder(rules, clock)):
        fire = cal.add(due, Fraction(rules.escalate_every_workdays) * step).at if step else due
        out.append(TimerPlan(clock, "escalate", step, due, fire))
    return out


def followup(cal: WorkCalendar, rules: Rules, since: dt.datetime, step: int) -> TimerPlan:
    """The ``step``-th reminder (from 0) while a hard case waits for its offline answer."""
    fire = cal.add(since, Fraction(rules.followup_workdays) * (step + 1)).at
    return TimerPlan("followup", "followup", step, fire, fire)
