"""Due deadline rows become reminders and escalations: once each, in working time, as digests.

The caller wakes the sweeper at :func:`next_due` and runs :func:`daily` once a day; the office's
dated notices (the calendar warning, the monthly reminder of missing lights) go out at
:func:`office_moment`, by :func:`office_notices`, each once (a flag records it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.hours import CalendarError
from config.roster import ROLE_NAMES, Roster
from handlers import clocks, deadlines, taps, texts
from handlers.annual.declare import fire_declaration, plan_declaration
from handlers.calendar_warning import calendar_warning, warning_moment
from handlers.digest import Digest, deliverable, late_note
from handlers.effects import Outgoing
from handlers.filings.compiled import compile_due
from handlers.filings.rows import ensure_filings
from handlers.filings.sweep import fire_row
from handlers.lights.reminder import missing_lights_reminder, reminder_moment
from handlers.meetings.agenda import fire_agenda
from handlers.meetings.schedule import ensure_meetings
from handlers.office_reports.schedule import draft_moment, send_drafts
from handlers.taskbook.sweep import fire_milestone
from handlers.workcal import WorkCalendar
from storage import repo
from storage.models import Deadline, Item

# Rows still due after a sweep in working time (more than one sweep's batch): look again soon.
HELD_RETRY = dt.timedelta(seconds=1)

# The states in which a clock still waits for someone.
WAITING = {c.name: c.waiting for c in deadlines.of_subject("item")}


def sweep(session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime) -> list[Outgoing]:
    """Fire every due deadline row this caller can claim, as its declaration says; return the
    messages, one per chat (an interview notice on its own), and the office's compiled
    documents of the nodes whose deadline passed (handlers.filings.compiled)."""
    digest = Digest()
    notices: list[Outgoing] = []
    due = repo.due_deadlines(session, now)
    # After an outage (or a jump of the sandbox clock) several reminders of one clock may be
    # due at once: the latest of each kind speaks for them (rows come in fire_at order).
    latest = {(d.item_id, d.filing_id, d.clock, d.kind): d.id for d in due}
    for row in due:
        decl = deadlines.CLOCKS.get(row.clock)
        if decl is not None and decl.subject == "meeting":
            notices += fire_agenda(session, roster, cal, now, row)
            continue
        if decl is not None and decl.subject == "matter":
            notices += fire_row(session, roster, cal, now, decl, row, digest)
            continue
        if decl is not None and decl.subject == "task":
            fire_milestone(session, roster, cal, now, decl, row, digest)
            continue
        if decl is not None and decl.subject == "office":
            fire_declaration(session, roster, cal, now, decl, row, digest)
            continue
        superseded = latest[(row.item_id, row.filing_id, row.clock, row.kind)] != row.id
        if row.kind == "nag" and superseded:
            repo.claim_deadline(session, row, now)  # moot, whenever it was meant to go
            continue
        if not deliverable(cal, row.fire_at, now):
            continue
        if not repo.claim_deadline(session, row, now):
            continue  # another sweeper had it
        item = session.get(Item, row.item_id) if row.item_id is not None else None
        if decl is None or item is None or item.state not in decl.waiting:
            continue
        if decl.hard is not None and item.hard != decl.hard:
            continue
        if row.kind == "nag" and row.due_at <= now:
            continue  # a reminder after its deadline is moot: the escalation says it
        _fire(session, roster, cal, now, decl, row, item, digest, to_office=not superseded)
    return digest.messages() + notices + compile_due(session, roster, cal, now)


def daily(session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime) -> int:
    """The sweeper's work once a day: this and next month's filing rows (a matter created or
    edited makes its own at once), in October the reminder to declare next year's 实事项目
    (once a year), and 双月例会 rows with their agenda. Returns how many rows were made."""
    plan_declaration(session, roster, cal, now)
    made = ensure_filings(session, roster, cal, now)
    return made + len(ensure_meetings(session, roster, cal, now))


def office_moment(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime
) -> dt.datetime | None:
    """When the office's next dated notice is due (read after the day's work and after each
    notice); None: none left to send this day or month."""
    moments = [
        warning_moment(session, cal, now),
        reminder_moment(session, roster, cal, now),
        draft_moment(session, roster, cal, now),
    ]
    return min((m for m in moments if m is not None), default=None)


def office_notices(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime
) -> list[Outgoing]:
    """The office's dated notices due now, each once."""
    out = calendar_warning(session, roster, cal, now)
    out += missing_lights_reminder(session, roster, cal, now)
    return out + send_drafts(session, roster, cal, now)


def next_due(session: Session, cal: WorkCalendar, swept_at: dt.datetime) -> dt.datetime | None:
    """When the sweeper next has work, after a sweep at ``swept_at``: the earliest pending
    deadline row after it; rows it left due (held for working time) at the next working
    moment. None: nothing pending."""
    pending = select(func.min(Deadline.fire_at)).where(Deadline.state == "pending")
    ahead, first = session.execute(
        select(
            pending.where(Deadline.fire_at > swept_at).scalar_subquery(),
            pending.scalar_subquery(),
        )
    ).one()
    moments = [ahead] if ahead is not None else []
    if first is not None and first <= swept_at:
        try:
            if cal.is_working_time(swept_at):
                moments.append(swept_at + HELD_RETRY)
            else:
                moments.append(cal.next_working_moment(swept_at))
        except (CalendarError, OverflowError):
            pass  # past the calendar's end: nothing more goes out
    return min(moments, default=None)


def _fire(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    decl: deadlines.Clock,
    timer: Deadline,
    item: Item,
    digest: Digest,
    *,
    to_office: bool = True,
) -> None:
    """Send one timer's reminder or escalation, as its clock's declaration says. ``to_office``
    False: a later step of the same escalation is due too, and the office group hears of the
    item from that one."""
    tz = cal.tz
    due = texts.when(timer.due_at, tz, item.provisional)
    suffix = late_note(cal, timer.fire_at, now)
    reviewer = (item.review_level or "dept_head") if item.state == "review" else None
    actors = deadlines.actors(roster, decl, item.department, reviewer)
    label = texts.CLOCK_LABELS[decl.name]
    if timer.kind in ("nag", "followup"):
        if timer.kind == "followup":
            due = texts.when(item.placeholder_at or timer.due_at, tz)  # waiting since
        line = deadlines.text(decl.remind_line)(item.id, item.town, decl.name, due) + suffix
        title = deadlines.title(decl.remind_title)
        acts = taps.for_clock(decl.name, item.id, reviewer, item.state == "hard")
        digest.add("oto", actors, title, line, acts)
        groups = deadlines.remind_groups(roster, decl, item.department)
        digest.add("group", groups, title, line, acts)
        if timer.kind == "followup":  # the next one, one only after a long outage
            since = item.placeholder_at or now
            nxt = clocks.followup(cal, roster.rules, since, timer.step + 1, decl.name)
            while nxt.fire_at <= now:
                nxt = clocks.followup(cal, roster.rules, since, nxt.step + 1, decl.name)
            repo.add_timers(
                session, item, [(nxt.clock, nxt.kind, nxt.step, nxt.due_at, nxt.fire_at)]
            )
        repo.log(session, item, now, "bot", "nagged", label)
        return
    roles, people, groups = deadlines.escalated(roster, decl, timer.step, item.department)
    who = "、".join(roster.name(p) for p in actors) or "相关人员"
    line = deadlines.text(decl.escalate_line)(item.id, item.town, decl.name, due, who) + suffix
    title = deadlines.title(decl.escalate_title)
    digest.add("oto", people, title, line, (taps.view(item.id),))
    if to_office:
        digest.add("group", groups, title, line)
    repo.log(
        session,
        item,
        now,
        "bot",
        "escalated",
        f"{label} → {'、'.join(ROLE_NAMES[r] for r in roles)}",
    )
