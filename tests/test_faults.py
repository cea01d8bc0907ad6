"""Fault tests: several real bot processes (tests/procs.py) against the local DingTalk and
PostgreSQL, killed, cut off from their database or from DingTalk's stream; nothing may be lost,
nothing answered wrongly, nothing sent twice beyond the documented at-least-once window."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select

from bot.app import App
from config.roster import Roster
from handlers import texts
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import Base, InboxMessage, Item, OutboxMessage
from tests.procs import TOWN_CID


def town_payload(n: int) -> dict[str, Any]:
    return {
        "msgId": f"inbox-{n}",
        "conversationId": TOWN_CID,
        "conversationType": "2",
        "senderNick": "川沙小王",
        "msgtype": "text",
        "text": {"content": f" 第{n + 1}件咨询"},
    }


@pytest.fixture
def pg_db(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    try:
        Base.metadata.drop_all(database.engine)
        database.create_schema()
        yield database
    finally:
        database.dispose()


@pytest.mark.postgres
def test_two_processors_skip_the_inbox_rows_the_other_holds(
    pg_db: Database, postgres_url: str, roster: Roster, cal: WorkCalendar
) -> None:
    """Two instances' processors on one inbox: the rows one holds are skipped by the other,
    not handled twice (the second's item insert used to fail on the unique msgId, and the
    town got an apology for a message that was handled)."""
    first = App(roster, cal, pg_db, transport=None)  # type: ignore[arg-type]
    second_db = Database(postgres_url)
    second = App(roster, cal, second_db, transport=None)  # type: ignore[arg-type]
    try:
        first._store([town_payload(n) for n in range(10)])
        # the first instance's processor holds the five oldest rows (its batch is under way)
        with psycopg.connect(postgres_url.replace("+psycopg", "")) as held:
            held.execute(
                "select id from inbox where processed_at is null order by id limit 5 for update"
            )
            done: list[int] = []
            worker = threading.Thread(target=lambda: done.append(second.process_inbox(20)))
            worker.start()
            worker.join(10)
            assert not worker.is_alive(), "the second processor waited for the first's rows"
            assert done == [5]
        assert first.process_inbox(20) == 5
        with pg_db.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Item)) == 10
            errors = (
                select(func.count())
                .select_from(InboxMessage)
                .where(InboxMessage.error.is_not(None))
            )
            assert session.scalar(errors) == 0
            apologies = (
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.text == texts.APOLOGY)
            )
            assert session.scalar(apologies) == 0
    finally:
        second_db.dispose()
