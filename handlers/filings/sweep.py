"""The sweeper's part for 督办事项: a due step of a deadline row, its reminder or escalation,
once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import deadlines, taps, texts
from handlers.digest import Digest, deliverable, late_note
from handlers.effects import Outgoing
from handlers.filings import approval
from handlers.filings.rows import moments_of
from handlers.lights.check import check_ladder
from handlers.matters.base import INSTRUCTION, label, log, row_label
from handlers.matters.states import MatterStatus
from handlers.workcal import WorkCalendar
from storage import repo
from storage.models import Deadline, Filing, Matter


def fire_row(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    decl: deadlines.Clock,
    due: Deadline,
    digest: Digest,
) -> list[Outgoing]:
    """Send a 督办事项 deadline row's due step once, and plan its next step (the rows are made
    by ensure_filings: once a day, and by the commands that change a matter). Returns the
    ladder notices that a 超限 record opened (not digested: each names one matter)."""
    out: list[Outgoing] = []
    row = session.get(Filing, due.filing_id)
    matter = session.get(Matter, row.matter_id) if row is not None else None
    if (
        row is None
        or matter is None
        or row.done_at is not None
        or matter.status != MatterStatus.OPEN
    ):
        repo.cancel_row_steps(session, [due.filing_id or 0])  # nothing owed any more
        return out
    if not deliverable(cal, due.fire_at, now):
        return out
    moments = moments_of(cal, roster, row, matter)
    # the latest moment already due (an outage sends one message, not a burst)
    step = max([i for i, m in enumerate(moments) if m <= now and i >= due.step], default=due.step)
    step = min(step, len(moments) - 1)
    if not repo.claim_deadline(session, due, now):
        return out  # another sweeper had it, or it was filed meanwhile
    if step + 1 < len(moments):
        repo.add_row_steps(session, [(row.id, due.clock, step + 1, row.due_at, moments[step + 1])])
    planned = moments[step]
    suffix = late_note(cal, planned, now)
    what = row_label(row)
    due_text = texts.when(row.due_at, cal.tz, row.provisional)
    actors = deadlines.actors(roster, decl, matter.department)
    if decl.owner_acts:
        actors = list(dict.fromkeys([matter.owner, *actors]))
    waiting = approval.state(row)
    leader = approval.approver(roster, matter)
    if step < len(moments) - 1 and waiting == "pending":
        # submitted: the leader is reminded to approve, the department told it waits
        ref, submitter = f"督{matter.id}", roster.name(row.submitted_by or "")
        line = texts.approval_reminder_line(label(matter), what, due_text, submitter) + suffix
        digest.add("oto", [leader], texts.APPROVAL_TITLE, line, approval.review_taps(ref))
        line = texts.approval_waiting_line(label(matter), what, due_text, roster.name(leader))
        groups = deadlines.remind_groups(roster, decl, matter.department)
        digest.add("group", groups, texts.APPROVAL_WAITING_TITLE, line + suffix)
        log(session, matter, now, "bot", "nagged", what)
        return out
    if step < len(moments) - 1:
        text = deadlines.text(decl.remind_line)
        line = text(label(matter), decl.name, what, due_text, matter.platform)
        if waiting == "returned":
            line += texts.returned_suffix(row.return_note or "")
        elif row.kind != "feedback" and approval.required(roster, matter, row):
            line += texts.APPROVAL_NOTE  # (the feedback's own line says so)
        line += suffix
        title = deadlines.title(decl.remind_title)
        acts = taps.filing(row.kind, f"督{matter.id}", matter.category == INSTRUCTION)
        groups = deadlines.remind_groups(roster, decl, matter.department)
        digest.add("group", groups, title, line, acts)
        digest.add("oto", actors, title, line, acts)
        log(session, matter, now, "bot", "nagged", what)
        return out
    row.overdue = True
    who = "、".join(roster.name(p) for p in actors)
    line = deadlines.text(decl.escalate_line)(label(matter), what, due_text, who) + suffix
    _, people, groups = deadlines.escalated(roster, decl, 0, matter.department)
    if waiting == "pending":  # written in time, not approved in time: 超限 all the same
        line = texts.approval_overdue_line(label(matter), what, due_text, roster.name(leader))
        line += suffix
        people = [*people, leader]
    title = deadlines.title(decl.escalate_title)
    digest.add("oto", people, title, line, (taps.view(f"督{matter.id}"),))
    digest.add("group", groups, title, line)
    row.escalated_at = now
    log(session, matter, now, "bot", "overdue", what)
    if row.kind == "monthly":
        out.extend(check_ladder(session, roster, cal, now, matter))
    return out
