"""When each 双月例会 is held and when its agenda goes out: a ``Meeting`` row per meeting
month, its agenda a deadline row (clock ``agenda``) that the sweeper fires once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.meetings import MeetingRules
from config.roster import Roster
from handlers import deadlines
from handlers.filings.schedule import (
    format_period,
    parse_period,
    period_of,
    shift_period,
    start_of_day,
    workday_before,
)
from handlers.workcal import WorkCalendar
from storage.models import Deadline, Meeting

CLOCK = "agenda"


def meeting_period(rules: MeetingRules, day: dt.date) -> str | None:
    """The meeting month a meeting held on ``day`` belongs to: that month when it is a meeting
    month, else the latest one before it (a meeting put off into the next month); None when
    none is within the year before."""
    period = format_period(day.year, day.month)
    for _ in range(12):
        if parse_period(period)[1] in rules.months:
            return period
        period = shift_period(period, -1)
    return None


def is_meeting_month(rules: MeetingRules, period: str) -> bool:
    return parse_period(period)[1] in rules.months


def previous_meeting_period(rules: MeetingRules, period: str) -> str:
    before = shift_period(period, -1)
    while not is_meeting_month(rules, before):
        before = shift_period(before, -1)
    return before


def default_at(cal: WorkCalendar, rules: MeetingRules, period: str) -> dt.datetime:
    """The meeting of ``period`` when no date was set: the default day (moved to the previous
    working day), at the default time."""
    year, month = parse_period(period)
    day, _ = cal.month_node(year, month, rules.default_day, "before")
    return dt.datetime.combine(day, rules.time, tzinfo=cal.tz)


def agenda_at(cal: WorkCalendar, rules: MeetingRules, meeting_at: dt.datetime) -> dt.datetime:
    """The start of the working day ``agenda_workdays_before`` working days before the
    meeting's day (the offsets of the ``agenda`` declaration)."""
    (lead,) = deadlines.reminders(rules, deadlines.clock(CLOCK))
    assert isinstance(lead, int)
    day = meeting_at.astimezone(cal.tz).date()
    return start_of_day(cal, workday_before(cal, day, lead))


def held_at(session: Session, cal: WorkCalendar, rules: MeetingRules, period: str) -> dt.datetime:
    """When the meeting of ``period`` is (or was) held: as recorded, else the default."""
    found = session.scalars(select(Meeting.at).where(Meeting.period == period)).first()
    return found if found is not None else default_at(cal, rules, period)


def plan_agenda(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, meeting: Meeting
) -> dt.datetime | None:
    """(Re)plan the meeting's agenda row; returns when it goes (None: sent already, or the
    meeting is past). A date set after the agenda's moment sends it at once (in working
    time)."""
    if meeting.agenda_deadline_id is not None:
        session.execute(
            update(Deadline)
            .where(Deadline.id == meeting.agenda_deadline_id, Deadline.state == "pending")
            .values(state="cancelled")
            .execution_options(synchronize_session=False)
        )
        meeting.agenda_deadline_id = None
    if meeting.agenda_sent_at is not None or meeting.at <= now:
        return None
    fire_at = max(agenda_at(cal, roster.meetings, meeting.at), now)
    row = Deadline(
        clock=CLOCK, kind="agenda", step=0, due_at=meeting.at, fire_at=fire_at, state="pending"
    )
    session.add(row)
    session.flush()
    meeting.agenda_deadline_id = row.id
    return fire_at


def ensure_meetings(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime
) -> list[Meeting]:
    """The day's work: the row of a meeting the office set no date for (the default day), with
    its agenda row, once the agenda's day has come (so nothing waits in the deadlines table
    for months); a meeting already begun is not made. Returns those made."""
    rules = roster.meetings
    this = period_of(now, cal.tz)
    today = now.astimezone(cal.tz).date()
    made = []
    for period in (this, shift_period(this, 1)):
        if not is_meeting_month(rules, period):
            continue
        if session.scalars(select(Meeting.id).where(Meeting.period == period)).first():
            continue
        at = default_at(cal, rules, period)
        if at <= now or agenda_at(cal, rules, at).astimezone(cal.tz).date() > today:
            continue
        meeting = Meeting(period=period, at=at, set_by=None, created_at=now)
        session.add(meeting)
        plan_agenda(session, roster, cal, now, meeting)
        made.append(meeting)
    return made


def set_meeting(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    period: str,
    at: dt.datetime,
    by: str,
) -> Meeting:
    """The office set the meeting of ``period`` at ``at``: made or moved, its agenda replanned."""
    meeting = session.scalars(select(Meeting).where(Meeting.period == period)).first()
    if meeting is None:
        meeting = Meeting(period=period, at=at, created_at=now)
        session.add(meeting)
    meeting.at, meeting.set_by = at, by
    plan_agenda(session, roster, cal, now, meeting)
    return meeting


def next_meeting(
    session: Session, cal: WorkCalendar, rules: MeetingRules, now: dt.datetime
) -> tuple[str, dt.datetime, Meeting | None]:
    """The next meeting: (its month, when, its row: None while it is on the default day and
    its agenda's day has not come)."""
    found = session.scalars(
        select(Meeting).where(Meeting.at > now).order_by(Meeting.at).limit(1)
    ).first()
    period = period_of(now, cal.tz)
    for _ in range(13):
        if is_meeting_month(rules, period):
            at = default_at(cal, rules, period)
            has_row = session.scalars(select(Meeting.id).where(Meeting.period == period)).first()
            if at > now and has_row is None and (found is None or at < found.at):
                return period, at, None
            if found is not None and period >= found.period:
                break
        period = shift_period(period, 1)
    assert found is not None, "a meeting month within a year"
    return found.period, found.at, found


def last_meeting(session: Session, now: dt.datetime) -> Meeting | None:
    """The latest meeting held (begun) by ``now``."""
    return session.scalars(
        select(Meeting).where(Meeting.at <= now).order_by(Meeting.at.desc()).limit(1)
    ).first()
