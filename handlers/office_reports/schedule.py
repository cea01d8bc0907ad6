"""The drafts on schedule: on the roster's working day of each report month the office group
gets the report's summary and files, with a reminder that it is due to the leaders (the
half-year and year reports: to the 局长办公会). Once each (the ``office_reports`` row records
the draft in the transaction that sends it), in working time only; a draft day missed while the
bot was down is made up on the next working day it runs, up to MAKE_UP_WORKDAYS later."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from config.hours import CalendarError
from config.roster import Roster
from handlers import texts
from handlers.context import Ctx
from handlers.effects import Outgoing, to_group
from handlers.office_reports import periods
from handlers.office_reports.make import deliver, make
from handlers.office_reports.periods import Period
from handlers.workcal import WorkCalendar
from storage.models import OfficeReport

MAKE_UP_WORKDAYS = 3


def due(session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime) -> list[Period]:
    """The reports whose draft is due by ``now`` and not yet sent (whatever the hour)."""
    rules = roster.data.reports
    if not rules.schedule:
        return []
    today = now.astimezone(cal.tz).date()
    out = []
    for period in periods.made_in(rules, today.year, today.month):
        day = periods.draft_day(rules, cal, period.made)
        if day is None or not day <= today <= _last_make_up(cal, day):
            continue
        record = session.get(OfficeReport, period.label)
        if record is None or (record.drafted_at is None and record.submitted_at is None):
            out.append(period)  # (one the office already marked 已呈报 needs no draft)
    return out


def _last_make_up(cal: WorkCalendar, day: dt.date) -> dt.date:
    """The last day a draft due on ``day`` still goes (the bot was down): MAKE_UP_WORKDAYS
    working days later; after that the office has made the report by hand."""
    count = 0
    while count < MAKE_UP_WORKDAYS:
        day += dt.timedelta(days=1)
        count += cal.is_working_day(day)
    return day


def draft_moment(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime
) -> dt.datetime | None:
    """When today's drafts go (the day's first working moment, or now); None: none today."""
    if not due(session, roster, cal, now):
        return None
    try:
        at = now if cal.is_working_time(now) else cal.next_working_moment(now)
    except (CalendarError, OverflowError):
        return None
    return at if at.astimezone(cal.tz).date() == now.astimezone(cal.tz).date() else None


def send_drafts(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime
) -> list[Outgoing]:
    """The due drafts to the office group, each recorded as sent; nothing outside working
    time."""
    if not cal.is_working_time(now):
        return []
    ctx = Ctx(session, roster, cal, now, actor="bot")
    for period in due(session, roster, cal, now):
        # another instance's sweep waits here on PostgreSQL, then sees the draft recorded
        record = session.get(
            OfficeReport, period.label, with_for_update=True, populate_existing=True
        )
        if record is not None and (record.drafted_at or record.submitted_at):
            continue
        if record is None:
            record = OfficeReport(period=period.label, kind=period.kind)
            session.add(record)
        record.drafted_at = now
        made = make(session, roster, cal, period, now)
        group = roster.office.group
        notice = texts.report_draft_notice(
            made.report.title, made.report.span, period.label, period.kind
        )
        ctx.send(to_group(group, notice + "\n\n" + made.summary, made.report.title))
        deliver(ctx, made, "group", group)
    session.flush()
    return ctx.out
