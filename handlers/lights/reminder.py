"""The monthly reminder of missing lights. The district platform lights every ★ matter every
month, and a month with no recorded light breaks a run of "连续" lights (handlers.lights.ladder):
so on the N-th working day of each month (roster ``[interviews] lights_reminder_workday``,
default 3) the office is told which open ★ matters have no light recorded for the month
before, with the command to record it. Once a month: a flag records it (a restart, a second
instance or a later sweep sends nothing again); missed while the bot was down, it goes at the
next working moment of the same month."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.hours import CalendarError
from config.roster import Roster
from handlers import texts
from handlers.effects import Action, Outgoing, to_group, to_user
from handlers.matters.base import label
from handlers.matters.states import MatterStatus
from handlers.workcal import WorkCalendar
from storage.models import Flag, Light, Matter

MAX_TAPS = 5  # one 亮灯 tap per matter, for the first few


def _month_start(local: dt.datetime) -> dt.datetime:
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _previous_period(local: dt.datetime) -> str:
    last = _month_start(local) - dt.timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


def _flag_key(local: dt.datetime) -> str:
    return f"missing-lights:{local.year}-{local.month:02d}"


def reminder_day(cal: WorkCalendar, year: int, month: int, nth: int) -> dt.date | None:
    """The ``nth`` working day of the month (None: the month has fewer)."""
    day = dt.date(year, month, 1)
    count = 0
    while day.month == month:
        if cal.is_working_day(day):
            count += 1
            if count == nth:
                return day
        day += dt.timedelta(days=1)
    return None


def reminder_moment(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime
) -> dt.datetime | None:
    """When this month's reminder is due (the start of its working day, or the next working
    moment when that has passed); None: no reminder this month, or sent."""
    nth = roster.interviews.lights_reminder_workday
    local = now.astimezone(cal.tz)
    if nth == 0 or session.get(Flag, _flag_key(local)) is not None:
        return None
    try:
        day = reminder_day(cal, local.year, local.month, nth)
        if day is None:
            return None
        start = dt.datetime.combine(day, dt.time(), tzinfo=cal.tz)
        at = cal.next_working_moment(max(start, now))
    except (CalendarError, OverflowError):
        return None
    return (
        at
        if (at.astimezone(cal.tz).year, at.astimezone(cal.tz).month)
        == (
            local.year,
            local.month,
        )
        else None
    )


def missing_lights(session: Session, cal: WorkCalendar, now: dt.datetime) -> list[Matter]:
    """The open ★ matters registered before this month with no light for last month."""
    local = now.astimezone(cal.tz)
    period = _previous_period(local)
    lit = select(Light.matter_id).where(Light.period == period)
    query = select(Matter).where(
        Matter.star.is_(True),
        Matter.status == MatterStatus.OPEN,
        Matter.created_at < _month_start(local),
        Matter.id.not_in(lit),
    )
    return list(session.scalars(query.order_by(Matter.id)))


def missing_lights_reminder(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime
) -> list[Outgoing]:
    """This month's reminder, once, to the office (its admins 1:1 and its group), when due."""
    due = reminder_moment(session, roster, cal, now)
    if due is None or now < due or not cal.is_working_time(now):
        return []
    local = now.astimezone(cal.tz)
    session.add(Flag(key=_flag_key(local), at=now))
    matters = missing_lights(session, cal, now)
    if not matters:
        return []
    period = _previous_period(local)
    text = texts.missing_lights(texts.period_label(period), [label(m) for m in matters])
    acts = tuple(Action(f"亮灯 督{m.id}", f"亮灯 督{m.id}", True) for m in matters[:MAX_TAPS])
    out = [to_user(u, text, texts.MISSING_LIGHTS_TITLE, acts) for u in roster.office.admins]
    out.append(to_group(roster.office.group, text, texts.MISSING_LIGHTS_TITLE))
    return out
