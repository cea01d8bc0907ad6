"""What several instances share through the database besides the lease (``storage.leader``):
the outbox rows each claims, and DingTalk's per-group rate limit.

:func:`lock_pending` loads due rows with ``FOR UPDATE SKIP LOCKED`` in the transaction that
then claims them (``storage.outbox.claim``), so two instances never take the same row, and
keeps a chat's order: an instance takes a chat's rows only from that chat's oldest pending row
on, and only as long as no row of the chat in between is locked by another instance; once
claimed, a chat's head row is leased (not due), and every instance leaves the rest of that chat
waiting behind it.

:func:`reserve_group_send` counts a group's sends of the last period in ``group_sends`` and adds
one, under a per-group transaction lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, cast

from sqlalchemy import Connection, Table, delete, func, insert, select, tuple_

from storage.models import GroupSend
from storage.outbox import LOAD_PENDING, OUTBOX, PendingRow, as_pending

LOCK_PENDING: Final = LOAD_PENDING.with_for_update(skip_locked=True)
GROUP_SENDS: Final = cast(Table, GroupSend.__table__)


def lock_pending(connection: Connection, limit: int) -> list[PendingRow]:
    """PostgreSQL, in the transaction that claims them: the oldest ``limit`` pending rows no
    other transaction has locked, locked (``FOR UPDATE SKIP LOCKED``), in id order; of each
    chat only its rows from the chat's oldest pending row on, up to the first of its pending
    rows another instance holds (a later row never goes before an earlier one)."""
    rows = [as_pending(row) for row in connection.execute(LOCK_PENDING, {"limit": limit})]
    if not rows:
        return rows
    mine = {row.id for row in rows}
    chats = {(row.channel, row.target) for row in rows}
    # every pending row of these chats up to our last, locked or not (a plain read)
    pending = connection.execute(
        select(OUTBOX.c.id, OUTBOX.c.channel, OUTBOX.c.target)
        .where(
            OUTBOX.c.state == "pending",
            OUTBOX.c.id <= max(mine),
            tuple_(OUTBOX.c.channel, OUTBOX.c.target).in_(sorted(chats)),
        )
        .order_by(OUTBOX.c.id)
    ).all()
    cut: set[tuple[str, str]] = set()  # chats stopped at a row we do not hold
    kept: set[int] = set()
    for row_id, channel, target in pending:
        chat = (channel, target)
        if chat in cut:
            continue
        if row_id in mine:
            kept.add(row_id)
        else:
            cut.add(chat)
    return [row for row in rows if row.id in kept]


def reserve_group_send(
    connection: Connection, group: str, now: datetime, limit: int, period: timedelta
) -> datetime | None:
    """Count a message to ``group`` at ``now`` against its rate limit, in the caller's
    transaction (commit it before sending): None when it may go, else when the next may
    (nothing written). A reserved send that then fails still counts (the safe side: DingTalk
    may have counted it too) and runs out with the period. On PostgreSQL the group's rows are
    read and written under a transaction advisory lock, so instances reserve one at a time;
    SQLite's writers are serialized by its write lock. Rows older than the period go."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(func.hashtext("group " + group))))
    since = now - period
    connection.execute(
        delete(GROUP_SENDS).where(GROUP_SENDS.c.group_id == group, GROUP_SENDS.c.at <= since)
    )
    # the limit-th newest send in the period, if there are that many (one index row read)
    full: datetime | None = connection.scalar(
        select(GROUP_SENDS.c.at)
        .where(GROUP_SENDS.c.group_id == group, GROUP_SENDS.c.at > since)
        .order_by(GROUP_SENDS.c.at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    if full is not None:
        return full + period
    connection.execute(insert(GROUP_SENDS).values(group_id=group, at=now))
    return None


def group_sends_free(
    connection: Connection, groups: Sequence[str], now: datetime, limit: int, period: timedelta
) -> dict[str, int]:
    """How many messages each group may have now (a plain read: for planning digests)."""
    free = dict.fromkeys(groups, limit)
    if groups:
        counts = connection.execute(
            select(GROUP_SENDS.c.group_id, func.count())
            .where(GROUP_SENDS.c.group_id.in_(sorted(set(groups))), GROUP_SENDS.c.at > now - period)
            .group_by(GROUP_SENDS.c.group_id)
        ).all()
        for group, count in counts:
            free[group] = max(0, limit - count)
    return free
