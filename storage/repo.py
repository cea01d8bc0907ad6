"""Queries and changes on the caller's session. Nothing here commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Final, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from storage.models import Deadline, Event, Item, OutboxMessage

EVENTS: Final = cast(Table, Event.__table__)
DEADLINES: Final = cast(Table, Deadline.__table__)


def get_item(session: Session, number: int) -> Item | None:
    return session.get(Item, number)


def add_item(session: Session, item: Item) -> Item:
    session.add(item)
    session.flush()  # assigns the number
    return item


def log(
    session: Session,
    item: Item,
    at: dt.datetime,
    actor: str,
    action: str,
    detail: str = "",
    msg_id: str | None = None,
) -> None:
    # A Core insert: no unit-of-work bookkeeping for an append-only row nobody holds.
    session.connection().execute(
        insert(EVENTS),
        [
            {
                "item_id": _item_id(session, item),
                "at": at,
                "actor": actor,
                "action": action,
                "detail": detail,
                "msg_id": msg_id,
            }
        ],
    )


def events(session: Session, item: Item) -> Sequence[Event]:
    return session.scalars(select(Event).where(Event.item_id == item.id).order_by(Event.id)).all()


def add_timers(
    session: Session, item: Item, rows: Iterable[tuple[str, str, int, dt.datetime, dt.datetime]]
) -> None:
    """An item's deadline rows: (clock, kind, step, due_at, fire_at)."""
    values = [
        {"clock": clock, "kind": kind, "step": step, "due_at": due_at, "fire_at": fire_at}
        for clock, kind, step, due_at, fire_at in rows
    ]
    if not values:
        return
    item_id = _item_id(session, item)
    for value in values:
        value.update(item_id=item_id, filing_id=None, state="pending", fired_at=None)
    session.connection().execute(insert(DEADLINES), values)  # one statement, no objects to track


def _item_id(session: Session, item: Item) -> int:
    if item.id is None:
        session.flush()  # a new item gets its number
    return item.id


def cancel_timers(session: Session, item: Item, clocks: Iterable[str]) -> None:
    session.execute(
        update(Deadline)
        .where(
            Deadline.item_id == item.id,
            Deadline.clock.in_(list(clocks)),
            Deadline.state == "pending",
        )
        .values(state="cancelled")
    )


def add_row_steps(
    session: Session, rows: Iterable[tuple[int, str, int, dt.datetime, dt.datetime]]
) -> None:
    """The next step of deadline rows (filings): (filing_id, clock, step, due_at, fire_at)."""
    values = [
        {
            "clock": clock,
            "item_id": None,
            "filing_id": filing_id,
            "kind": "step",
            "step": step,
            "due_at": due_at,
            "fire_at": fire_at,
            "state": "pending",
            "fired_at": None,
        }
        for filing_id, clock, step, due_at, fire_at in rows
    ]
    if values:
        session.connection().execute(insert(DEADLINES), values)


def cancel_row_steps(session: Session, filing_ids: Iterable[int]) -> None:
    """The pending steps of deadline rows (filings) done, settled or rescheduled."""
    session.execute(
        update(Deadline)
        .where(Deadline.filing_id.in_(list(filing_ids)), Deadline.state == "pending")
        .values(state="cancelled")
        .execution_options(synchronize_session=False)
    )


def drop_row_steps(session: Session, filing_ids: Iterable[int]) -> None:
    """Every step of deadline rows about to be deleted."""
    session.execute(
        delete(Deadline)
        .where(Deadline.filing_id.in_(list(filing_ids)))
        .execution_options(synchronize_session=False)
    )


def row_step(session: Session, filing_id: int) -> Deadline | None:
    """The pending step of a deadline row (filing), if any."""
    return session.scalars(
        select(Deadline).where(Deadline.filing_id == filing_id, Deadline.state == "pending")
    ).first()


FIRED = "fired_lateness"  # key in Session.info


def due_deadlines(session: Session, now: dt.datetime, limit: int = 500) -> Sequence[Deadline]:
    return session.scalars(
        select(Deadline)
        .where(Deadline.state == "pending", Deadline.fire_at <= now)
        .order_by(Deadline.fire_at, Deadline.id)
        .limit(limit)
    ).all()


def claim_deadline(session: Session, row: Deadline, now: dt.datetime) -> bool:
    """Mark the row fired unless someone else did first; True when this caller owns it."""
    result = session.execute(
        update(Deadline)
        .where(Deadline.id == row.id, Deadline.state == "pending")
        .values(state="fired", fired_at=now)
        .execution_options(synchronize_session=False)
    )
    claimed = bool(result.rowcount)  # type: ignore[attr-defined]
    if claimed:  # for the sweep's lateness metric (bot.metrics), read by fired_lateness()
        session.info.setdefault(FIRED, []).append((now - row.fire_at).total_seconds())
    return claimed


def fired_lateness(session: Session) -> list[float]:
    """Seconds between fire_at and firing of every deadline row this session claimed since
    the last call."""
    return list(session.info.pop(FIRED, []))


def open_items(
    session: Session, states: Iterable[str], department: str | None = None
) -> Sequence[Item]:
    query = select(Item).where(Item.state.in_(list(states)))
    if department:
        query = query.where(Item.department == department)
    return session.scalars(query.order_by(Item.id)).all()


# --- what became of the messages ------------------------------------------------------------


def delivery(session: Session, item: Item) -> tuple[str, str] | None:
    """(purpose, state) of the item's latest message to the town that the item records."""
    found = session.execute(
        select(OutboxMessage.purpose, OutboxMessage.state)
        .where(
            OutboxMessage.item_id == item.id,
            OutboxMessage.purpose.is_not(None),
            OutboxMessage.state != "resent",
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    return None if found is None or found[0] is None else (found[0], found[1])


def failed_town_messages(session: Session, item: Item) -> Sequence[OutboxMessage]:
    """The item's messages to the town that failed for good and were not sent again."""
    return session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.item_id == item.id,
            OutboxMessage.purpose.is_not(None),
            OutboxMessage.state == "failed",
        )
        .order_by(OutboxMessage.id)
    ).all()


def failed_messages(session: Session, limit: int) -> tuple[Sequence[OutboxMessage], int]:
    """Messages that failed for good and were not sent again, newest first, and how many
    there are."""
    count = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == "failed")
    )
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == "failed")
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).all()
    return rows, count or 0
