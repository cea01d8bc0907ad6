"""Group chats under DingTalk's rate limit (20 messages a minute, DINGTALK.md §5.6): the burst
digests a group chat holding more due messages than its window lets out gets (the sender
writes and sends them). The window itself, the send times per group of every instance, is in
the database (``storage.instances.reserve_group_send``). Also the sender's view of what is due,
chat by chat (:func:`due_chats`), and on PostgreSQL its one-transaction load, merge and claim
(:func:`take_due`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection

from handlers import texts
from storage import outbox
from storage.instances import group_sends_free, lock_pending
from storage.outbox import PendingRow

logger = logging.getLogger(__name__)

# A burst digest holds at most this many lines and characters a message (DingTalk's text
# messages take a few thousand characters; a phone screen far fewer)
DIGEST_MAX_LINES: Final = 40
DIGEST_MAX_CHARS: Final = 3000
# Due rows by chat, each chat's in id order
Chats = list[list[PendingRow]]


@dataclass(frozen=True)
class Merge:
    """Rows of one group chat sent as one digest: ``rows[0]`` becomes it."""

    rows: tuple[PendingRow, ...]
    text: str
    digest: tuple[tuple[str, str], ...]


def plan_merges(chats: Sequence[list[PendingRow]], free: Mapping[str, int]) -> list[Merge]:
    """For each group chat holding more due messages than it may have now (``free``, by
    group), its messages that read as digest lines, as few digests as the length limits
    allow; every row is in exactly one of them."""
    merges: list[Merge] = []
    for rows in chats:
        if rows[0].channel != "group" or len(rows) <= free.get(rows[0].target, 0):
            continue
        digestible = [r for r in rows if r.digest]
        chunks = _chunks(digestible)
        if len(chunks) >= len(digestible):
            continue  # merging would not save a message
        totals: dict[str, int] = {}
        for row in digestible:
            for title, _ in row.digest:
                totals[title] = totals.get(title, 0) + 1
        done: dict[str, int] = {}
        for chunk in chunks:
            pairs = tuple(pair for row in chunk for pair in row.digest)
            by_title: dict[str, list[str]] = {}
            for title, line in pairs:
                by_title.setdefault(title, []).append(line)
            sections = []
            for title, lines in by_title.items():
                sections.append((title, lines, done.get(title, 0) + 1, totals[title]))
                done[title] = done.get(title, 0) + len(lines)
            if len(chunk) > 1:
                merges.append(Merge(tuple(chunk), texts.burst_digest(sections), pairs))
    return merges


def _chunks(rows: list[PendingRow]) -> list[list[PendingRow]]:
    """Consecutive rows in digests of at most DIGEST_MAX_LINES lines and about
    DIGEST_MAX_CHARS characters; a row is never split (a longer one goes alone)."""
    chunks: list[list[PendingRow]] = []
    lines = chars = 0
    for row in rows:
        size = sum(len(line) + 4 for _, line in row.digest)
        if chunks and (
            lines + len(row.digest) > DIGEST_MAX_LINES or chars + size > DIGEST_MAX_CHARS
        ):
            chunks.append([])
            lines = chars = 0
        if not chunks:
            chunks.append([])
        chunks[-1].append(row)
        lines += len(row.digest)
        chars += size
    return chunks


def due_chats(
    rows: Sequence[PendingRow], now: datetime
) -> tuple[list[list[PendingRow]], datetime | None]:
    """Pending rows in id order, per chat: its rows up to the first that is not yet due (the
    rest of the chat waits behind it); and when the first of those not yet due falls due."""
    chats: dict[tuple[str, str], list[PendingRow]] = {}
    blocked: set[tuple[str, str]] = set()
    next_due: datetime | None = None
    for row in rows:
        key = (row.channel, row.target)
        if key in blocked:
            continue
        if row.next_attempt_at > now:
            blocked.add(key)
            next_due = min(next_due or row.next_attempt_at, row.next_attempt_at)
            continue
        chats.setdefault(key, []).append(row)
    return list(chats.values()), next_due


def merged(chats: list[list[PendingRow]], merges: Sequence[Merge]) -> list[list[PendingRow]]:
    """The chats as they read once ``merges`` are written: each digest's first row carries
    it, the others are gone."""
    heads = {m.rows[0].id: m for m in merges}
    gone = {row.id for m in merges for row in m.rows[1:]}
    out = []
    for rows in chats:
        kept = []
        for row in rows:
            if row.id in gone:
                continue
            merge = heads.get(row.id)
            if merge is not None:
                row = replace(row, text=merge.text, title=None, digest=merge.digest)
            kept.append(row)
        out.append(kept)
    return out


def log_merges(merges: Sequence[Merge]) -> None:
    for merge in merges:
        logger.info(
            "outbox: %d messages to group %s merged into #%d",
            len(merge.rows),
            merge.rows[0].target,
            merge.rows[0].id,
        )


def group_free(
    connection: Connection,
    chats: Sequence[list[PendingRow]],
    now: datetime,
    limit: int,
    period: timedelta,
) -> dict[str, int]:
    """How many messages each group chat of ``chats`` may have now."""
    groups = [rows[0].target for rows in chats if rows[0].channel == "group"]
    return group_sends_free(connection, groups, now, limit, period)


def load_due(
    connection: Connection, batch: int, now: datetime, rate: tuple[int, timedelta]
) -> tuple[list[list[PendingRow]], datetime | None, dict[str, int]]:
    """Per chat, its oldest pending rows up to the first that is not yet due
    (:func:`due_chats`); when the first of those not yet due falls due; and how many messages
    each group may have now."""
    chats, next_due = due_chats(outbox.load_pending(connection, batch), now)
    return chats, next_due, group_free(connection, chats, now, *rate)


def take_due(
    connection: Connection,
    batch: int,
    now: datetime,
    lease_until: datetime,
    rate: tuple[int, timedelta],
) -> tuple[list[list[PendingRow]], datetime | None, list[Merge]]:
    """PostgreSQL, in one transaction: the due chats (:func:`due_chats`) of rows locked FOR
    UPDATE SKIP LOCKED (``storage.instances.lock_pending``), their burst digests written, and
    every row returned claimed until ``lease_until``: this instance's to send."""
    rows = lock_pending(connection, batch)
    chats, next_due = due_chats(rows, now)
    merges = plan_merges(chats, group_free(connection, chats, now, *rate))
    for merge in merges:  # the rows are locked: nobody else changed them
        if outbox.merge(connection, merge.rows, merge.text, merge.digest) != len(merge.rows):
            raise RuntimeError(f"outbox: merging into #{merge.rows[0].id} failed")
    chats = merged(chats, merges)
    everything = [row for rows in chats for row in rows]
    if outbox.claim(connection, everything, lease_until) != len(everything):
        raise RuntimeError("outbox: a locked row changed under its lock")
    return chats, next_due, merges


def write_merges(connection: Connection, merges: Sequence[Merge]) -> bool:
    """SQLite, rows read earlier: turn each merge's first row into its digest and mark the
    others merged into it; False when another sender took any row meanwhile (the caller
    rolls back)."""
    return all(outbox.merge(connection, m.rows, m.text, m.digest) == len(m.rows) for m in merges)
