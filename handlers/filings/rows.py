"""Deadline rows (``Filing``) of a 督办事项: this and next month's filings, a 批示件's 签收 and
反馈, made, moved and started at the right reminder. A row's schedule is one pending
``Deadline`` at a time (its next step); the sweeper (handlers.filings.sweep) fires it and
plans the next."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import deadlines
from handlers.filings import schedule
from handlers.matters.base import INSTRUCTION, settle_filings
from handlers.matters.states import MatterStatus
from handlers.workcal import WorkCalendar
from storage import repo
from storage.models import Filing, Matter


def ensure_filings(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    matters: Sequence[Matter] | None = None,
) -> int:
    """Make this month's and next month's filing rows of every open matter with a node.

    A row is owed only when the matter was tracked before its deadline: a row made late (a
    matter added, or given a node, on the node day) starts at its next reminder, or with one
    reminder at once when only the deadline is left; never with an instant 超限. A 批示件
    reports its progress from the month after it arrived (attachment 1: 下月). A matter with
    a 年度 owes nothing before that year's January. The half-year and year reports of a
    category with a yearly plan (``[filings.annual]``) are made when due this month or next,
    for matters of that year or before. Returns how many rows were made."""
    rules = roster.filings
    if matters is None:
        tracked = [*rules.nodes, *rules.annual.categories]
        matters = session.scalars(
            select(Matter).where(Matter.status == MatterStatus.OPEN, Matter.category.in_(tracked))
        ).all()
    this = schedule.period_of(now, cal.tz)
    periods = [this, schedule.next_period(this)]
    # 实事项目's half-year (due in July) and year (due in January) reports due in those months
    reports = [r for r in map(schedule.progress_due_in, periods) if r is not None]
    wanted = periods + [schedule.progress_period(kind, year) for kind, year in reports]
    have = {
        (f.matter_id, f.period)
        for f in session.scalars(
            select(Filing).where(
                Filing.period.in_(wanted), Filing.matter_id.in_([m.id for m in matters])
            )
        )
    }
    # a 双月例会 decision with its own 期限 reports when done, not monthly
    one_off = set(
        session.scalars(
            select(Filing.matter_id).where(
                Filing.kind == "decision", Filing.matter_id.in_([m.id for m in matters])
            )
        )
    )
    made: list[tuple[Filing, Matter, dt.datetime]] = []
    for matter in matters:
        if matter.status != MatterStatus.OPEN or matter.id in one_off:
            continue
        start = max(matter.created_at, now)
        annual = matter.plan_year is not None and matter.category in rules.annual.categories
        first = f"{matter.plan_year:04d}-01" if annual else ""
        for period in periods:
            if (matter.id, period) in have or period < first:
                continue  # made, or before the year the matter was declared for
            year, month = int(period[:4]), int(period[5:])
            sch = schedule.schedule(cal, rules, matter.category, matter.platform, year, month)
            if sch is None or sch.due_at <= start:
                continue
            if matter.category == INSTRUCTION and (
                period <= schedule.period_of(matter.created_at, cal.tz)
                or sch.node <= matter.created_at.astimezone(cal.tz).date()
            ):
                continue
            row = Filing(
                matter_id=matter.id,
                kind="monthly",
                period=period,
                node=sch.node,
                due_at=sch.due_at,
                provisional=sch.provisional,
            )
            session.add(row)
            made.append((row, matter, start))
        for kind, year in reports:
            period = schedule.progress_period(kind, year)
            if (matter.id, period) in have or (matter.plan_year or 0) > year:
                continue  # made, or declared for a later year
            sch = schedule.progress_schedule(
                cal, rules, matter.category, matter.platform, kind, year
            )
            if sch is None or sch.due_at <= start:
                continue
            row = Filing(
                matter_id=matter.id,
                kind=kind,
                period=period,
                node=sch.node,
                due_at=sch.due_at,
                provisional=sch.provisional,
            )
            session.add(row)
            made.append((row, matter, start))
    session.flush()  # the rows' ids, for their first steps
    repo.add_row_steps(
        session,
        [
            (row.id, clock_of(row, m).name, *first_step(cal, roster, row, m, start))
            for row, m, start in made
        ],
    )
    return len(made)


def first_step(
    cal: WorkCalendar, roster: Roster, row: Filing, matter: Matter, start: dt.datetime
) -> tuple[int, dt.datetime, dt.datetime]:
    """(step, due_at, fire_at) of the first step still ahead at ``start``; when only the
    escalation is, one reminder now."""
    moments = moments_of(cal, roster, row, matter)
    step = next((i for i, m in enumerate(moments) if m >= start), len(moments) - 1)
    if step == len(moments) - 1 and step > 0 and row.due_at > start:
        return step - 1, row.due_at, start
    return step, row.due_at, moments[step]


def start_row(
    session: Session,
    cal: WorkCalendar,
    roster: Roster,
    row: Filing,
    matter: Matter,
    start: dt.datetime,
) -> None:
    """The row's schedule from ``start`` on, replacing any step still pending."""
    if row.id is None:
        session.flush()
    else:
        repo.cancel_row_steps(session, [row.id])
    step = first_step(cal, roster, row, matter, start)
    repo.add_row_steps(session, [(row.id, clock_of(row, matter).name, *step)])


def reschedule(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, matter: Matter
) -> None:
    """After a change of category, platform or 年度 (or a reopening): the monthly rows and
    half-year and year reports not yet due are made again from the new schedule; what is due
    already stays on the record."""
    for row in session.scalars(
        select(Filing).where(
            Filing.matter_id == matter.id,
            Filing.kind.in_(("monthly", *schedule.PROGRESS_KINDS)),
            Filing.done_at.is_(None),
            Filing.due_at > now,
        )
    ):
        repo.drop_row_steps(session, [row.id])
        session.delete(row)
    session.flush()
    ensure_filings(session, roster, cal, now, [matter])


def clock_of(row: Filing, matter: Matter) -> deadlines.Clock:
    """The declaration of a deadline row: its kind; a 批示件's monthly row is its report."""
    if row.kind == "monthly" and matter.category == INSTRUCTION:
        return deadlines.clock("report")
    return deadlines.clock(row.kind)


def moments_of(cal: WorkCalendar, roster: Roster, row: Filing, matter: Matter) -> list[dt.datetime]:
    """The reminders, then the escalation, of one deadline row, from its own deadline and its
    declaration's offsets: "half" of the window from the matter's registration, or an int N,
    the start of the working day N working days before the due day."""
    escalate = cal.next_working_moment(row.due_at + dt.timedelta(microseconds=1))
    due_day = row.due_at.astimezone(cal.tz).date()
    reminders = []
    for spec in deadlines.reminders(roster, clock_of(row, matter)):
        if spec == "half":
            window = cal.between(matter.created_at, row.due_at)
            half = cal.add_duration(matter.created_at, window / 2).at
            reminders.append(min(half, row.due_at))
        else:
            assert isinstance(spec, int)
            reminders.append(
                schedule.start_of_day(cal, schedule.workday_before(cal, due_day, spec))
            )
    return [*sorted(reminders), escalate]


def setup_instruction(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, matter: Matter
) -> None:
    """A 批示件's 签收 and 反馈 deadlines and their rows, made or moved to match the matter (by
    the 批示件 command, or by an import that adds one or corrects its notice's deadline)."""
    rules = roster.filings
    if matter.sign_due is None:
        matter.sign_due = schedule.instruction_sign_due(cal, rules, matter.created_at)
    matter.feedback_due = (
        schedule.instruction_feedback_due(cal, rules, matter.notice_due)
        if matter.notice_due
        else None
    )
    rows = {
        r.kind: r
        for r in session.scalars(
            select(Filing).where(Filing.matter_id == matter.id, Filing.kind != "monthly")
        )
    }
    wanted = [("sign", matter.sign_due, matter.sign_due.astimezone(cal.tz).date())]
    if matter.feedback_due is not None and matter.notice_due is not None:
        wanted.append(("feedback", matter.feedback_due, matter.notice_due))
    elif "feedback" in rows and rows["feedback"].done_at is None:
        repo.drop_row_steps(session, [rows["feedback"].id])
        session.delete(rows.pop("feedback"))
    for kind, due_at, node in wanted:
        row = rows.get(kind)
        if row is not None and (row.done_at is not None or row.due_at == due_at):
            continue
        if row is None:
            row = Filing(matter_id=matter.id, kind=kind, period=kind, overdue=False)
            session.add(row)
        row.node, row.due_at = node, due_at
        if row.overdue or due_at <= now:
            continue  # already on the record as late, or late now: the sweeper tells
        start_row(session, cal, roster, row, matter, now)
    session.flush()


def sync_matter(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, matter: Matter
) -> None:
    """Deadlines made to match a matter changed from outside the commands (an import)."""
    if matter.status != MatterStatus.OPEN:
        settle_filings(session, matter, now)
        return
    if matter.category == INSTRUCTION:
        setup_instruction(session, roster, cal, now, matter)
    reschedule(session, roster, cal, now, matter)
