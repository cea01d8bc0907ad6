"""The sweeper's part for 督办事项: due filing reminders and escalations, once each."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.roster import Roster
from handlers import deadlines, texts
from handlers.digest import Digest, deliverable, late_grace_passed
from handlers.effects import Outgoing
from handlers.filings.rows import clock_of, moments_of
from handlers.lights.check import check_ladder
from handlers.matters.base import label, log, row_label
from handlers.workcal import WorkCalendar
from storage.models import Filing, Matter


def sweep_matters(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, digest: Digest
) -> list[Outgoing]:
    """Send every due reminder and escalation once (the rows are made by ensure_filings: once
    a day, and by the commands that change a matter). Returns the ladder notices that 超限
    records opened (not digested: each names one matter)."""
    out: list[Outgoing] = []
    due = session.scalars(
        select(Filing)
        .where(Filing.done_at.is_(None), Filing.next_at.is_not(None), Filing.next_at <= now)
        .order_by(Filing.next_at)
    ).all()
    for row in due:
        assert row.next_at is not None
        if not deliverable(cal, row.next_at, now):
            continue
        matter = session.get(Matter, row.matter_id)
        if matter is None or matter.status != "open":
            continue
        moments = moments_of(cal, roster, row, matter)
        # the latest moment already due (an outage sends one message, not a burst)
        step = max(
            [i for i, m in enumerate(moments) if m <= now and i >= row.step], default=row.step
        )
        nxt = moments[step + 1] if step + 1 < len(moments) else None
        claimed = session.execute(
            update(Filing)
            .where(Filing.id == row.id, Filing.step == row.step, Filing.done_at.is_(None))
            .values(step=step + 1, next_at=nxt)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            continue  # another sweeper had it, or it was filed meanwhile
        session.refresh(row)
        planned = moments[step]
        suffix = (
            texts.late_suffix(texts.when(planned, cal.tz))
            if late_grace_passed(planned, now)
            else ""
        )
        decl = clock_of(row, matter)
        what = row_label(row)
        due_text = texts.when(row.due_at, cal.tz, row.provisional)
        actors = deadlines.actors(roster, decl, matter.department)
        if step < len(moments) - 1:
            text = deadlines.text(decl.remind_line)
            line = text(label(matter), decl.name, what, due_text, matter.platform) + suffix
            title = deadlines.title(decl.remind_title)
            digest.add(
                "group", deadlines.remind_groups(roster, decl, matter.department), title, line
            )
            digest.add("oto", actors, title, line)
            log(session, matter, now, "bot", "nagged", what)
            continue
        row.overdue = True
        who = "、".join(roster.name(p) for p in actors)
        line = deadlines.text(decl.escalate_line)(label(matter), what, due_text, who) + suffix
        _, people, groups = deadlines.escalated(roster, decl, 0, matter.department)
        title = deadlines.title(decl.escalate_title)
        digest.add("oto", people, title, line)
        digest.add("group", groups, title, line)
        row.escalated_at = now
        log(session, matter, now, "bot", "overdue", what)
        if row.kind == "monthly":
            out.extend(check_ladder(session, roster, cal, now, matter))
    return out
