"""The October reminder to declare next year's 实事项目: planned once a year by the day's work
(a ``Flag`` and a ``Deadline`` row of the clock ``declare``, in one transaction), sent once by
the sweeper on a working day to the office (its group and admins) and to each department with
such matters (its group and clerks)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from config.hours import CalendarError
from config.roster import Roster
from handlers import deadlines, texts
from handlers.digest import Digest, deliverable, late_note
from handlers.filings.schedule import end_of_day, start_of_day
from handlers.matters.states import MatterStatus
from handlers.workcal import WorkCalendar
from storage import repo
from storage.models import Deadline, Flag, Matter

CLOCK = "declare"


def flag_key(year: int) -> str:
    """The flag of the reminder to declare ``year``'s projects."""
    return f"annual-declare:{year}"


def plan_declaration(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime
) -> dt.datetime | None:
    """In the declaration month (``[filings.annual]``, default October), once: the reminder
    to declare next year's projects, on the first working day on or after ``declare_day``
    (or at once when that is past), due by the end of the month's last working day. Returns
    when it fires; None: not now, or planned."""
    rules = roster.filings.annual
    local = now.astimezone(cal.tz)
    if not rules.categories or local.month != rules.declare_month:
        return None
    key = flag_key(local.year + 1)
    if session.get(Flag, key) is not None:
        return None
    try:
        day, _ = cal.month_node(local.year, rules.declare_month, rules.declare_day, "after")
        fire_at = max(start_of_day(cal, day), now)
        # declared within the month: by the end of its last working day
        last, _ = cal.month_node(local.year, rules.declare_month, 31, "before")
        due_at = max(end_of_day(cal, last), fire_at)
    except (CalendarError, OverflowError, ValueError):
        return None
    session.add(Flag(key=key, at=now))
    session.add(
        Deadline(
            clock=CLOCK,
            item_id=None,
            filing_id=None,
            kind="step",
            step=0,
            due_at=due_at,
            fire_at=fire_at,
            state="pending",
        )
    )
    session.flush()
    return fire_at


def departments_with_projects(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime
) -> list[str]:
    """The departments (in roster order) with a matter of a yearly-plan category open now or
    closed this year."""
    categories = roster.filings.annual.categories
    year_start = dt.datetime(now.astimezone(cal.tz).year, 1, 1, tzinfo=cal.tz)
    names = set(
        session.scalars(
            select(Matter.department).where(
                Matter.category.in_(categories),
                or_(Matter.status == MatterStatus.OPEN, Matter.closed_at >= year_start),
            )
        )
    )
    return [d.name for d in roster.data.departments if d.name in names]


def fire_declaration(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    decl: deadlines.Clock,
    due: Deadline,
    digest: Digest,
) -> None:
    """Send the reminder once (the row is claimed first), in working time."""
    if not deliverable(cal, due.fire_at, now):
        return
    if not repo.claim_deadline(session, due, now):
        return
    year = due.due_at.astimezone(cal.tz).year + 1
    by = texts.when(due.due_at, cal.tz)
    suffix = late_note(cal, due.fire_at, now)
    title = deadlines.title(decl.remind_title)
    depts = departments_with_projects(session, roster, cal, now)
    line = deadlines.text(decl.remind_line)
    office = line(year, by, True, depts) + suffix
    digest.add("group", deadlines.remind_groups(roster, decl, None), title, office)
    digest.add("oto", roster.people_for("office_admin", None), title, office)
    for name in depts:
        dept = roster.department(name)
        if dept is None:
            continue
        text = line(year, by, False, depts) + suffix
        digest.add("group", [dept.group], title, text)
        digest.add("oto", roster.people_for("clerk", name), title, text)
