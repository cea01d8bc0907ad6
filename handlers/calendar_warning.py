"""The office is told, once a working day, when this year (or next year, from 1 December on)
has no official holiday data: deadlines computed there are provisional."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from config.hours import CalendarError
from config.roster import Roster
from handlers import texts
from handlers.effects import Outgoing, to_group, to_user
from handlers.workcal import WorkCalendar
from storage.models import Flag


def missing_years(cal: WorkCalendar, now: dt.datetime) -> list[int]:
    """The years the office must be told the calendar lacks (next year from 1 December)."""
    local = now.astimezone(cal.tz)
    missing = [y for y in (local.year, local.year + 1) if not cal.is_covered(y)]
    return missing if local.month == 12 else [y for y in missing if y == local.year]


def _flag_key(cal: WorkCalendar, now: dt.datetime) -> str:
    return f"calendar-warning:{now.astimezone(cal.tz).date().isoformat()}"


def warning_moment(session: Session, cal: WorkCalendar, now: dt.datetime) -> dt.datetime | None:
    """When today's warning is due; None: nothing to say today, or said."""
    if not missing_years(cal, now) or session.get(Flag, _flag_key(cal, now)) is not None:
        return None
    try:
        at = now if cal.is_working_time(now) else cal.next_working_moment(now)
    except (CalendarError, OverflowError):
        return None
    today = now.astimezone(cal.tz).date()
    return at if at.astimezone(cal.tz).date() == today else None


def calendar_warning(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime
) -> list[Outgoing]:
    """Today's warning to the office admins and the office group, once (a flag records it)."""
    missing = missing_years(cal, now)
    if not missing or not cal.is_working_time(now):
        return []
    key = _flag_key(cal, now)
    if session.get(Flag, key) is not None:
        return []
    session.add(Flag(key=key, at=now))
    text = texts.calendar_warning(missing)
    return [to_user(u, text) for u in roster.office.admins] + [to_group(roster.office.group, text)]
