"""The sweeper's part for the task book: a milestone's due reminder or escalation, once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import deadlines, taps, texts
from handlers.digest import Digest, deliverable, late_note
from handlers.taskbook.book import moments
from handlers.taskbook.progress import task_label
from handlers.workcal import WorkCalendar
from storage import repo
from storage.models import Deadline, Task, TaskMilestone


def owner_of(roster: Roster, task: Task) -> tuple[list[str], str]:
    """(the 责任人 to remind 1:1 when a roster person, the name to print)."""
    if task.owner in roster.people:
        return [task.owner], roster.name(task.owner)
    return [], task.owner or "未填写"


def fire_milestone(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    decl: deadlines.Clock,
    due: Deadline,
    digest: Digest,
) -> None:
    """Send a milestone's due step once and plan its next one."""
    m = session.scalars(select(TaskMilestone).where(TaskMilestone.deadline_id == due.id)).first()
    task = session.get(Task, m.task_id) if m is not None else None
    if m is None or task is None or m.met_at is not None:
        repo.claim_deadline(session, due, now)  # nothing owed any more
        return
    if not deliverable(cal, due.fire_at, now):
        return
    steps = moments(cal, roster, m)
    # the latest moment already due (an outage sends one message, not a burst)
    step = max([i for i, at in enumerate(steps) if at <= now and i >= due.step], default=due.step)
    step = min(step, len(steps) - 1)
    if not repo.claim_deadline(session, due, now):
        return
    m.deadline_id = None
    if step + 1 < len(steps):
        row = Deadline(
            clock=due.clock,
            kind="step",
            step=step + 1,
            due_at=m.due_at,
            fire_at=steps[step + 1],
            state="pending",
        )
        session.add(row)
        session.flush()
        m.deadline_id = row.id
    planned = steps[step]
    suffix = late_note(cal, planned, now)
    ref = task_label(task)
    people, who = owner_of(roster, task)
    due_text = texts.when(m.due_at, cal.tz)
    acts = (taps.view(ref),)
    if step < len(steps) - 1:
        line = deadlines.text(decl.remind_line)(ref, task.name, m.seq, m.what, due_text, who)
        title = deadlines.title(decl.remind_title)
        digest.add("oto", people, title, line + suffix, acts)
        groups = deadlines.remind_groups(roster, decl, task.department)
        digest.add("group", groups, title, line + suffix, acts)
        return
    m.overdue = True
    line = deadlines.text(decl.escalate_line)(ref, task.name, m.seq, m.what, due_text, who)
    _, heads, groups = deadlines.escalated(roster, decl, 0, task.department)
    title = deadlines.title(decl.escalate_title)
    digest.add("oto", heads, title, line + suffix, acts)
    digest.add("group", groups, title, line + suffix)
