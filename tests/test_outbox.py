"""The outbox queries the sender runs (storage/outbox.py), on SQLite and PostgreSQL: a row is
taken, given back, merged or marked only while it is as it was read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage import outbox
from storage.db import Database
from storage.models import CardInstance, OutboxMessage
from storage.outbox import enqueue

NOW = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)
LEASE = NOW + timedelta(minutes=1)


def add(db: Database, *rows: dict[str, object]) -> None:
    with db.transaction() as session:
        for fields in rows:
            enqueue(session, now=NOW, **{"channel": "group", "target": "cidA", **fields})


def states(db: Database) -> list[tuple[int, str, datetime, int | None]]:
    with db.transaction() as session:
        return [
            (m.id, m.state, m.next_attempt_at, m.merged_into)
            for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def test_load_pending_reads_rows_in_id_order(db: Database) -> None:
    add(
        db,
        {"text": "a", "digest": [("新@件", "#1 川沙")]},
        {"text": "b", "channel": "oto", "target": "u1"},
    )
    with db.engine.begin() as connection:
        rows = outbox.load_pending(connection, 10)
    assert [(r.text, r.channel, r.target) for r in rows] == [
        ("a", "group", "cidA"),
        ("b", "oto", "u1"),
    ]
    assert rows[0].digest == (("新@件", "#1 川沙"),)
    assert rows[0].next_attempt_at == NOW
    with db.engine.begin() as connection:
        assert len(outbox.load_pending(connection, 1)) == 1


def test_a_row_is_claimed_once_and_released_as_it_was(db: Database) -> None:
    add(db, {"text": "a"}, {"text": "b"})
    with db.engine.begin() as connection:
        rows = outbox.load_pending(connection, 10)
        assert outbox.claim(connection, rows, LEASE) == 2
    with db.engine.begin() as connection:  # a second sender holds the old snapshot
        assert outbox.claim(connection, rows, LEASE + timedelta(seconds=5)) == 0
        assert outbox.next_head_due(connection) == LEASE
        outbox.release(connection, rows[1:], LEASE)
    assert [(s, due) for _, s, due, _ in states(db)] == [("pending", LEASE), ("pending", NOW)]
    with db.engine.begin() as connection:
        assert outbox.next_head_due(connection) == LEASE  # the head of the chat is leased
        outbox.release(connection, rows[1:], LEASE)  # not leased any more: unchanged
        outbox.defer(connection, rows[1].id, NOW + timedelta(hours=1))
    assert states(db)[1][2] == NOW + timedelta(hours=1)


def test_marked_sent_once(db: Database) -> None:
    add(db, {"text": "a"}, {"text": "b"})
    ids = [row_id for row_id, *_ in states(db)]
    with db.engine.begin() as connection:
        assert outbox.mark_sent(connection, [(ids[0], NOW), (ids[1], NOW)]) == 2
        assert outbox.mark_sent(connection, [(ids[0], LEASE)]) == 0
        assert outbox.mark_sent(connection, []) == 0
        assert outbox.next_head_due(connection) is None
    with db.transaction() as session:
        assert outbox.pending_message(session, ids[0]) is None


def test_a_merge_counts_only_rows_as_read(db: Database) -> None:
    add(db, *({"text": t, "digest": [("新@件", t)]} for t in "abc"))
    with db.engine.begin() as connection:
        rows = outbox.load_pending(connection, 10)
        assert outbox.merge(connection, rows, "digest", [("新@件", "a"), ("新@件", "b")]) == 3
    got = states(db)
    head = got[0][0]
    assert [(s, into) for _, s, _, into in got] == [
        ("pending", None),
        ("merged", head),
        ("merged", head),
    ]
    with db.transaction() as session:
        message = session.get(OutboxMessage, head)
        assert message is not None and message.text == "digest" and message.title is None
        assert message.digest == [["新@件", "a"], ["新@件", "b"]]
    with db.engine.begin() as connection:  # the same snapshot again: the members moved on
        assert outbox.merge(connection, rows, "again", []) == 1


def test_actions_are_kept_for_text_messages_only(db: Database) -> None:
    add(db, {"text": "a", "channel": "oto", "target": "u1", "actions": [("认领", "认领 1", False)]})
    with db.engine.begin() as connection:
        (row,) = outbox.load_pending(connection, 10)
    assert row.actions == (("认领", "认领 1", False),)
    with pytest.raises(ValueError, match="actions"):
        outbox.outbox_row(
            channel="group",
            target="c",
            text="t",
            kind="picture",
            media_path="p.png",
            actions=[("认领", "认领 1", False)],
            now=NOW,
        )
    # a group's actions are kept: they show on a card (bot.dingtalk.cards), never as links
    outbox.outbox_row(
        channel="group", target="c", text="t", actions=[("认领", "认领 1", False)], now=NOW
    )


def test_a_card_is_recorded_once_whatever_the_retries(db: Database) -> None:
    card = {
        "out_track_id": "a" * 64,
        "subject": "12",
        "outbox_id": 1,
        "channel": "oto",
        "target": "u1",
        "actions": [["认领 #12", "认领 12", False]],
        "created_at": NOW,
    }
    for _ in range(2):
        with db.engine.begin() as connection:
            outbox.record_card(connection, card)
    with db.transaction() as session:
        (kept,) = session.scalars(select(CardInstance)).all()
        assert (kept.subject, kept.actions, kept.closed_at) == ("12", card["actions"], None)
        assert kept.created_at == NOW
