"""Figures over time and the lists a report's reader acts on, beside handlers.stats.figures
(the same definitions: an @件 counts by ``received_at``, a filing by ``due_at``, a light by its
month; outcomes by :func:`figures.item_outcomes` and :func:`figures.filing_outcome`).

One query per figure, whatever the number of items or matters (no query per row).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers.matters.base import INSTRUCTION
from handlers.stats import lagging
from handlers.stats.figures import (
    CLOCKS,
    COLORS,
    FilingStats,
    Stats,
    filing_outcome,
    filings_in_window,
)
from storage.models import Item, Light, Matter


def canonical(roster: Roster, name: str | None) -> str:
    """A department's roster name (an unknown one as written)."""
    found = roster.department(name) if name else None
    return found.name if found else (name or "")


def items_per_week(
    session: Session, start: dt.datetime, end: dt.datetime, tz: dt.tzinfo
) -> list[tuple[dt.date, int]]:
    """@件 received per week (weeks from Monday, in ``tz``), every week of [start, end)."""
    counts: Counter[dt.date] = Counter()
    for (received,) in session.execute(
        select(Item.received_at).where(Item.received_at >= start, Item.received_at < end)
    ):
        day = received.astimezone(tz).date()
        counts[day - dt.timedelta(days=day.weekday())] += 1
    first = start.astimezone(tz).date()
    week = first - dt.timedelta(days=first.weekday())
    last = (end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    out = []
    while week <= last:
        out.append((week, counts[week]))
        week += dt.timedelta(days=7)
    return out


def lights_by_month(
    session: Session, roster: Roster, months: list[str]
) -> dict[str, dict[str, dict[str, int]]]:
    """department -> month -> colour -> lights recorded for that month, every roster
    department and month present (zeros included)."""
    out = {d.name: {m: dict.fromkeys(COLORS, 0) for m in months} for d in roster.data.departments}
    rows = session.execute(
        select(Matter.department, Light.period, Light.color, func.count())
        .join(Matter, Light.matter_id == Matter.id)
        .where(Light.period.in_(months))
        .group_by(Matter.department, Light.period, Light.color)
    ).all()
    for department, period, color, count in rows:
        name = canonical(roster, department)
        row = out.setdefault(name, {m: dict.fromkeys(COLORS, 0) for m in months})
        row[period][color] = row[period].get(color, 0) + count
    return out


@dataclass
class InstructionStats:
    """领导批示件 of the window: registered and closed in it, open now; their 签收 and 反馈 by
    their due times in it."""

    registered: int = 0
    closed: int = 0
    open: int = 0
    sign: FilingStats = field(default_factory=FilingStats)
    feedback: FilingStats = field(default_factory=FilingStats)


def instruction_stats(
    session: Session, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> InstructionStats:
    out = InstructionStats()
    rows = session.execute(
        select(Matter.created_at, Matter.closed_at, Matter.status).where(
            Matter.category == INSTRUCTION
        )
    ).all()
    for created, closed, status in rows:
        out.registered += start <= created < end
        out.closed += closed is not None and start <= closed < end
        out.open += status == "open"
    for filing, matter in filings_in_window(session, start, end):
        if matter.category == INSTRUCTION and filing.kind in ("sign", "feedback"):
            getattr(out, filing.kind).add(filing_outcome(filing, now))
    return out


@dataclass(frozen=True)
class OverdueItem:
    number: int
    town: str
    department: str  # "" before triage
    clock: str  # the first clock past due: triage, claim, reply, placeholder
    due: dt.datetime


def overdue_items(session: Session, roster: Roster, now: dt.datetime) -> list[OverdueItem]:
    """Open @件 with a clock past due now (whenever received), oldest deadline first; each
    under its first clock past due (the order of CLOCKS)."""
    out = []
    for item, late in lagging.late_items(session, now):
        clock = next(c for c in CLOCKS if c in late)
        due = getattr(item, f"{clock}_due")
        out.append(OverdueItem(item.id, item.town, canonical(roster, item.department), clock, due))
    return sorted(out, key=lambda o: (o.due, o.number))


@dataclass(frozen=True)
class FlaggedMatter:
    number: int
    name: str
    department: str
    colors: tuple[tuple[str, str], ...]  # (month, colour) of its lights in the window


def flagged_matters(session: Session, roster: Roster, months: list[str]) -> list[FlaggedMatter]:
    """Matters whose latest light in ``months`` is yellow or red, with their lights there."""
    lights: dict[int, list[tuple[str, str]]] = {}
    names: dict[int, tuple[str, str]] = {}
    rows = session.execute(
        select(Matter.id, Matter.name, Matter.department, Light.period, Light.color)
        .join(Matter, Light.matter_id == Matter.id)
        .where(Light.period.in_(months))
        .order_by(Matter.id, Light.period)
    ).all()
    for number, name, department, period, color in rows:
        lights.setdefault(number, []).append((period, color))
        names[number] = (name, canonical(roster, department))
    return [
        FlaggedMatter(number, *names[number], tuple(seen))
        for number, seen in lights.items()
        if seen[-1][1] in ("yellow", "red")
    ]


@dataclass(frozen=True)
class OpenInterview:
    matter: int
    name: str
    department: str
    tier: int
    rule: str
    opened_at: dt.datetime


def open_interviews(session: Session, roster: Roster) -> list[OpenInterview]:
    return [
        OpenInterview(
            i.matter_id, m.name, canonical(roster, m.department), i.tier, i.rule, i.opened_at
        )
        for i, m in lagging.open_interviews(session)
    ]


def overdue_filings_by_department(stats: Stats) -> list[tuple[str, int]]:
    """(department, 超限 count) of the window, most first; departments without one left out."""
    rows = [(d.name, d.filings.overdue) for d in stats.departments if d.filings.overdue]
    return sorted(rows, key=lambda r: -r[1])
