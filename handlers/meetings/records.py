"""A meeting's decisions (例会议定) and their state, for the agenda and 例会情况."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.matters.states import MatterStatus
from storage.models import Filing, Matter, MatterEvent, Meeting, MeetingDecision

DONE_EVENT = "decision_done"


@dataclass(frozen=True)
class DecisionView:
    matter: Matter
    due_at: dt.datetime | None
    state: str  # open | overdue | done | closed (texts.DECISION_STATES)


def deadline_row(session: Session, matter_id: int) -> Filing | None:
    return session.scalars(
        select(Filing).where(Filing.matter_id == matter_id, Filing.kind == "decision")
    ).first()


def decision_of(session: Session, matter_id: int) -> MeetingDecision | None:
    return session.scalars(
        select(MeetingDecision).where(MeetingDecision.matter_id == matter_id)
    ).first()


def state_of(session: Session, matter: Matter, now: dt.datetime) -> DecisionView:
    row = deadline_row(session, matter.id)
    due = row.due_at if row is not None else None
    if matter.status == MatterStatus.CLOSED:
        return DecisionView(matter, due, "closed")
    done = row.done_at is not None if row is not None else False
    if not done:
        done = (
            session.scalars(
                select(MatterEvent.id).where(
                    MatterEvent.matter_id == matter.id, MatterEvent.action == DONE_EVENT
                )
            ).first()
            is not None
        )
    if done:
        return DecisionView(matter, due, "done")
    if row is not None and (row.overdue or now > row.due_at):
        return DecisionView(matter, due, "overdue")
    return DecisionView(matter, due, "open")


def decisions(session: Session, meeting: Meeting, now: dt.datetime) -> list[DecisionView]:
    """A meeting's decisions, in the order they were made."""
    matters = session.scalars(
        select(Matter)
        .join(MeetingDecision, MeetingDecision.matter_id == Matter.id)
        .where(MeetingDecision.meeting_id == meeting.id)
        .order_by(MeetingDecision.id)
    ).all()
    return [state_of(session, m, now) for m in matters]
