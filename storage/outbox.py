"""The outbox: messages handlers add in their own transaction, and the queries the sender runs
to load, claim, merge, mark and release them (bot/sender.py delivers them).

Delivery is at least once: a row is claimed with a lease (its ``next_attempt_at`` moves
forward) before it is sent, so a second sender skips it, and a crash between sending and
recording the result resends it once the lease runs out. Each statement that takes a row
checks it is still ``pending`` with the ``next_attempt_at`` it was read with.

Several instances (PostgreSQL) load and claim with ``FOR UPDATE SKIP LOCKED`` instead
(``storage.instances``); the optimistic checks stay, for SQLite and against a crash-and-retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Final, Literal, cast, get_args

from sqlalchemy import (
    Connection,
    Row,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from storage.models import CardInstance, Document, OutboxMessage

# card: an update of an interactive card's variables (target: its outTrackId, text: JSON)
Channel = Literal["session", "group", "oto", "card"]
FallbackChannel = Literal["group", "oto"]
Kind = Literal["text", "picture", "file"]

OUTBOX: Final = cast(Table, OutboxMessage.__table__)
CLAIM: Final = (
    update(OUTBOX)
    .where(
        OUTBOX.c.id == bindparam("b_id"),
        OUTBOX.c.state == "pending",
        OUTBOX.c.next_attempt_at == bindparam("b_due"),
    )
    .values(next_attempt_at=bindparam("b_lease"))
)
RELEASE: Final = (
    update(OUTBOX)
    .where(
        OUTBOX.c.id == bindparam("b_id"),
        OUTBOX.c.state == "pending",
        OUTBOX.c.next_attempt_at == bindparam("b_lease"),
    )
    .values(next_attempt_at=bindparam("b_due"))
)
MERGE_HEAD: Final = (
    update(OUTBOX)
    .where(
        OUTBOX.c.id == bindparam("b_id"),
        OUTBOX.c.state == "pending",
        OUTBOX.c.next_attempt_at == bindparam("b_due"),
    )
    .values(text=bindparam("b_text"), title=None, digest=bindparam("b_digest"))
)
MERGE_MEMBER: Final = (
    update(OUTBOX)
    .where(
        OUTBOX.c.id == bindparam("b_id"),
        OUTBOX.c.state == "pending",
        OUTBOX.c.next_attempt_at == bindparam("b_due"),
    )
    .values(state="merged", merged_into=bindparam("b_head"))
)
MARK_SENT: Final = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("b_id"), OUTBOX.c.state == "pending")
    .values(state="sent", sent_at=bindparam("b_at"))
)
LOAD_PENDING: Final = (
    select(OUTBOX)
    .where(OUTBOX.c.state == "pending")
    .order_by(OUTBOX.c.id)
    .limit(bindparam("limit"))
)


def enqueue(session: Session, **fields: Any) -> OutboxMessage:
    """Add a message to the outbox in the caller's session; the caller commits. ``fields``
    are :func:`outbox_row`'s.

    ``target`` is the openConversationId (group; for a session reply, the conversation it
    answers) or the userId (oto). Only session replies can @-mention (DINGTALK.md §6); a
    session reply whose webhook has expired goes to the fallback, without the mentions.
    """
    message = OutboxMessage(**outbox_row(**fields))
    session.add(message)
    return message


def record_card(connection: Connection, values: dict[str, Any]) -> None:
    """An interactive card sent for an outbox row (bot.dingtalk.cards); once, whatever the
    retries (its outTrackId is the same on each)."""
    table = cast(Table, CardInstance.__table__)
    track = values["out_track_id"]
    if connection.execute(
        select(table.c.out_track_id).where(table.c.out_track_id == track)
    ).first():
        return
    connection.execute(insert(table), values)


def enqueue_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert :func:`outbox_row` rows in the caller's transaction, in order, at once: one
    statement, no ORM objects. Rows added earlier with :func:`enqueue` are flushed first, so
    that they keep their place in their chat."""
    if rows:
        session.flush()
        session.connection().execute(insert(OUTBOX), list(rows))


def outbox_row(
    *,
    channel: str,
    target: str,
    text: str,
    title: str | None = None,
    at_user_ids: Sequence[str] = (),
    webhook: str | None = None,
    webhook_expires: datetime | None = None,
    fallback_channel: str | None = None,
    fallback_target: str | None = None,
    fallback_text: str | None = None,
    kind: str = "text",
    media_path: str | None = None,
    item_id: int | None = None,
    purpose: str | None = None,
    actor: str | None = None,
    digest: Sequence[tuple[str, str]] = (),
    actions: Sequence[tuple[str, str, bool]] = (),
    now: datetime,
) -> dict[str, Any]:
    """The checked column values of a new outbox row (see :func:`enqueue`). A ``picture`` or
    ``file`` is sent from ``media_path`` (relative to the sender's files directory) to a
    group or a user; its ``text`` names it. ``actions``, (label, command, needs_text) each,
    are what a text message offers to tap (the sender shows them: links in a 1:1 message, or
    a card's buttons, which a group's actions need)."""
    if channel not in get_args(Channel):
        raise ValueError(f"unknown channel {channel!r}")
    if kind not in get_args(Kind):
        raise ValueError(f"unknown kind {kind!r}")
    if kind == "text" and media_path is not None:
        raise ValueError("a text message has no media_path")
    if kind != "text":
        if channel == "session" or title is not None:
            raise ValueError("a picture or file goes to a group or a user, without a title")
        path = PurePosixPath(media_path or "")
        if not media_path or path.is_absolute() or ".." in path.parts:
            raise ValueError("a picture or file needs a relative media_path")
    if not target:
        raise ValueError("a message needs a target")
    if not text:
        raise ValueError("a message needs a text")
    if title is not None and not 0 < len(title) <= 128:
        raise ValueError("a title has 1 to 128 characters")
    for name, moment in (("now", now), ("webhook_expires", webhook_expires)):
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime")
    if channel == "session":
        if not webhook:
            raise ValueError("a session reply needs its webhook")
    elif webhook or webhook_expires or fallback_channel or fallback_target or at_user_ids:
        raise ValueError(
            "webhook, fallback and @-mentions are for session replies only"
            " (Open API robot messages cannot @-mention)"
        )
    if (fallback_channel is None) != (fallback_target is None):
        raise ValueError("fallback_channel and fallback_target go together")
    if fallback_text is not None and (fallback_channel is None or not fallback_text):
        raise ValueError("a fallback text needs a fallback and some text")
    if fallback_channel is not None and fallback_channel not in get_args(FallbackChannel):
        raise ValueError(f"unknown fallback channel {fallback_channel!r}")
    # a tracked message: an item's (item_id and purpose), or a file's (purpose alone)
    if (item_id is None) != (purpose is None) and not (item_id is None and kind == "file"):
        raise ValueError("item_id and purpose go together")
    if purpose is not None and digest:
        raise ValueError("a message an item records is never merged into a digest")
    if any(len(pair) != 2 or not all(pair) for pair in digest):
        raise ValueError("digest lines are (title, line) pairs")
    # a group's actions show only on a card (links would not reach the bot, DINGTALK.md §10)
    if actions and kind != "text":
        raise ValueError("actions are for text messages")
    if any(len(a) != 3 or not a[0] or not a[1] for a in actions):
        raise ValueError("actions are (label, command, needs_text) triples")
    return {
        "created_at": now,
        "channel": channel,
        "target": target,
        "webhook": webhook,
        "webhook_expires": webhook_expires,
        "fallback_channel": fallback_channel,
        "fallback_target": fallback_target,
        "fallback_text": fallback_text,
        "title": title,
        "text": text,
        "at_user_ids": list(at_user_ids),
        "kind": kind,
        "media_path": media_path,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "sent_at": None,
        "last_error": None,
        "item_id": item_id,
        "purpose": purpose,
        "actor": actor,
        "digest": [list(pair) for pair in digest] or None,
        "merged_into": None,
        "actions": [[label, command, bool(needs)] for label, command, needs in actions] or None,
    }


@dataclass(frozen=True)
class PendingRow:
    """A snapshot of a pending outbox row, safe to use outside its session."""

    id: int
    channel: str
    target: str
    webhook: str | None
    webhook_expires: datetime | None
    fallback_channel: str | None
    fallback_target: str | None
    title: str | None
    text: str
    at_user_ids: tuple[str, ...]
    next_attempt_at: datetime
    fallback_text: str | None = None
    kind: str = "text"
    media_path: str | None = None
    item_id: int | None = None
    purpose: str | None = None
    actor: str | None = None
    digest: tuple[tuple[str, str], ...] = ()
    actions: tuple[tuple[str, str, bool], ...] = ()


# A file the bot made is a Document row: an outbox row names it by this media_path
DOCUMENT_PREFIX = "documents/"


def document_media_path(document_id: int) -> str:
    return f"{DOCUMENT_PREFIX}{document_id}"


def document_id(media_path: str) -> int | None:
    """The Document a media_path names; None for a file under BOT_FILES_DIR."""
    number = media_path.removeprefix(DOCUMENT_PREFIX)
    if number == media_path or not number.isdigit():
        return None
    return int(number)


def document_content(connection: Connection, media_path: str) -> bytes | None:
    """The bytes of the Document a media_path names; None when it names none (or no more)."""
    number = document_id(media_path)
    if number is None:
        return None
    return connection.execute(
        select(Document.content).where(Document.id == number)
    ).scalar_one_or_none()


def load_pending(connection: Connection, limit: int) -> list[PendingRow]:
    """The oldest ``limit`` pending rows, in id order."""
    return [as_pending(row) for row in connection.execute(LOAD_PENDING, {"limit": limit})]


def as_pending(row: Row[Any]) -> PendingRow:
    return PendingRow(
        row.id,
        row.channel,
        row.target,
        row.webhook,
        row.webhook_expires,
        row.fallback_channel,
        row.fallback_target,
        row.title,
        row.text,
        tuple(row.at_user_ids or ()),
        row.next_attempt_at,
        row.fallback_text,
        row.kind,
        row.media_path,
        row.item_id,
        row.purpose,
        row.actor,
        tuple((str(t), str(line)) for t, line in row.digest or ()),
        tuple((str(a), str(c), bool(n)) for a, c, n in row.actions or ()),
    )


def claim(connection: Connection, rows: Sequence[PendingRow], lease_until: datetime) -> int:
    """Lease ``rows`` until ``lease_until`` (one statement); how many were still as read."""
    if not rows:
        return 0
    params = [{"b_id": r.id, "b_due": r.next_attempt_at, "b_lease": lease_until} for r in rows]
    return connection.execute(CLAIM, params).rowcount


def release(connection: Connection, rows: Sequence[PendingRow], lease_until: datetime) -> None:
    """Give back leased rows that were not tried, due as they were."""
    if rows:
        params = [{"b_id": r.id, "b_due": r.next_attempt_at, "b_lease": lease_until} for r in rows]
        connection.execute(RELEASE, params)


def merge(
    connection: Connection,
    rows: Sequence[PendingRow],
    text: str,
    digest: Sequence[tuple[str, str]],
) -> int:
    """Turn ``rows[0]`` into a digest of ``text`` and mark the others merged into it; how many
    rows were still as read (the caller rolls back unless all were)."""
    head, *members = rows
    changed = connection.execute(
        MERGE_HEAD,
        {
            "b_id": head.id,
            "b_due": head.next_attempt_at,
            "b_text": text,
            "b_digest": [list(pair) for pair in digest],
        },
    ).rowcount
    for row in members:
        changed += connection.execute(
            MERGE_MEMBER, {"b_id": row.id, "b_due": row.next_attempt_at, "b_head": head.id}
        ).rowcount
    return changed


def mark_sent(connection: Connection, sent: Sequence[tuple[int, datetime]]) -> int:
    """Mark pending rows sent, (id, when) each; how many were still pending."""
    if not sent:
        return 0
    return connection.execute(MARK_SENT, [{"b_id": i, "b_at": at} for i, at in sent]).rowcount


def defer(connection: Connection, row_id: int, until: datetime) -> None:
    """Make a pending row due at ``until``."""
    connection.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == row_id, OUTBOX.c.state == "pending")
        .values(next_attempt_at=until)
    )


def pending_message(session: Session, row_id: int) -> OutboxMessage | None:
    """The row, for the caller to record an attempt on; None unless it is still pending."""
    message = session.get(OutboxMessage, row_id)
    return message if message is not None and message.state == "pending" else None


def next_head_due(connection: Connection) -> datetime | None:
    """When the first row at the head of its chat falls due (leased rows included)."""
    heads = (
        select(func.min(OUTBOX.c.id))
        .where(OUTBOX.c.state == "pending")
        .group_by(OUTBOX.c.channel, OUTBOX.c.target)
    )
    due: datetime | None = connection.scalar(
        select(func.min(OUTBOX.c.next_attempt_at)).where(OUTBOX.c.id.in_(heads))
    )
    return due
