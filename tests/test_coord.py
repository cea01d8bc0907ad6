"""Several instances on one database (issue 14, item 1): the leader's lease, the outbox claimed
with FOR UPDATE SKIP LOCKED (each row sent once, a chat's order kept), the per-group rate
limit shared through the database, attachments fetched once, and SQLite's one-process lock.
In-process: each "instance" is a Sender, Fetcher, App or Leadership of its own, with its own
engine (its own connections)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import threading
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import T0, TOWN_CID, World
from sqlalchemy import func, select

from bot.app import App, write_outbox
from bot.dingtalk.errors import TransientSendError
from bot.dingtalk.transport import OtoResult
from bot.files import Fetcher
from bot.incoming import IncomingMessage
from bot.router import handle
from bot.sender import Sender
from config.roster import Roster
from config.settings import SettingsError
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.instances import lock_pending, reserve_group_send
from storage.leader import (
    DatabaseLocked,
    Leadership,
    conninfo,
    leader_pid,
    lock_sqlite,
    migration_lock,
)
from storage.models import Attachment, Deadline, GroupSend, OutboxMessage
from storage.outbox import enqueue

UTC = dt.UTC


def twin(db: Database) -> Database:
    """Another instance's engine on the same database."""
    return Database(db.engine.url.render_as_string(hide_password=False))


def lease_backend(url: str, name: str) -> int:
    """The server pid of the session named ``name`` (a Leadership's connection)."""
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()
    assert row is not None, name
    return int(row[0])


def terminate(url: str, backend: int) -> None:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (backend,))


# --- the lease ---------------------------------------------------------------------------------


@pytest.mark.postgres
def test_one_leads_release_hands_over_and_a_killed_session_loses_the_lease(
    postgres_url: str,
) -> None:
    a = Leadership(postgres_url, application_name="dubanbot lease 101")
    b = Leadership(postgres_url, application_name="dubanbot lease 102")
    try:
        assert a.acquire() and a.leading and a.still_held()
        assert not b.acquire() and not b.leading and not b.still_held()
        assert leader_pid(postgres_url) == 101
        assert a.acquire()  # already held: still True, no second lock
        a.release()
        assert not a.leading and not a.still_held()
        assert b.acquire() and leader_pid(postgres_url) == 102
        assert not a.acquire()

        # the holder's session killed (its machine gone, say): the server drops the lock
        terminate(postgres_url, lease_backend(postgres_url, "dubanbot lease 102"))
        assert not b.still_held() and not b.leading
        assert a.acquire() and leader_pid(postgres_url) == 101
        assert not b.acquire()
    finally:
        a.release()
        b.release()
    assert leader_pid(postgres_url) is None


@pytest.mark.postgres
def test_the_lease_connection_keeps_alive_and_names_the_process(postgres_url: str) -> None:
    lease = Leadership(postgres_url)
    try:
        assert lease.acquire()
        name = f"dubanbot lease {os.getpid()}"
        lease_backend(postgres_url, name)  # there, by that name
        assert leader_pid(postgres_url) == os.getpid()
        conn2 = lease._connection()
        settings = dict(
            conn2.execute(
                "SELECT name, setting FROM pg_settings WHERE name LIKE 'tcp_keepalives_%'"
            ).fetchall()
        )
        assert settings == {
            "tcp_keepalives_idle": "5",
            "tcp_keepalives_interval": "2",
            "tcp_keepalives_count": "3",
        }
    finally:
        lease.release()


def test_a_database_that_cannot_be_reached_is_no_lease() -> None:
    lease = Leadership("postgresql://nobody@127.0.0.1:9/none")
    assert not lease.acquire() and not lease.still_held()
    lease.release()


@pytest.mark.postgres
def test_instances_starting_together_migrate_one_at_a_time(postgres_url: str) -> None:
    said: list[str] = []

    def second() -> None:
        with migration_lock(postgres_url):
            said.append("second migrates")

    with migration_lock(postgres_url):
        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(timeout=0.3)
        said.append("first done")
    waiting.join(timeout=10)
    assert said == ["first done", "second migrates"]
    unreachable = migration_lock("postgresql://nobody@127.0.0.1:9/none")
    with pytest.raises(SettingsError, match=r"^DATABASE_URL postgresql://nobody@127\.0\.0\.1:9"):
        unreachable.__enter__()


def test_sqlite_file_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    first = lock_sqlite(tmp_path / "bot.db")
    try:
        with pytest.raises(DatabaseLocked) as refused:
            lock_sqlite(tmp_path / "bot.db")
        message = str(refused.value)
        assert "DATABASE_URL" in message and "SQLite allows one process" in message
        assert "PostgreSQL" in message
        lock_sqlite(tmp_path / "other.db").close()  # another file is another lock
    finally:
        first.close()
    lock_sqlite(tmp_path / "bot.db").close()  # let go: free again


# --- the app: only the leader sweeps -----------------------------------------------------------


class Recording:
    """A transport that takes every message, after a short random pause (instances overlap)."""

    def __init__(self, clock: Any = None, fail: float = 0.0, seed: int = 0) -> None:
        self.sent: list[tuple[str, str, dt.datetime | None]] = []  # (chat, text, clock)
        self._clock = clock
        self._fail = fail
        self._random = random.Random(seed)

    async def _pause(self) -> None:
        await asyncio.sleep(self._random.uniform(0, 0.003))
        if self._random.random() < self._fail:
            raise TransientSendError("HTTP 503 (injected)")

    def _note(self, chat: str, text: str) -> None:
        self.sent.append((chat, text, self._clock() if self._clock else None))

    async def send_session(self, webhook: str, text: str, **_: Any) -> None:
        await self._pause()
        self._note(webhook, text)

    async def send_group(self, open_conversation_id: str, text: str, **_: Any) -> None:
        await self._pause()
        self._note(open_conversation_id, text)

    async def send_oto(self, user_ids: Sequence[str], text: str, **_: Any) -> OtoResult:
        await self._pause()
        for user in user_ids:
            self._note(user, text)
        return OtoResult()


async def wait_for(check: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@pytest.fixture
async def apps() -> AsyncIterator[list[App]]:
    started: list[App] = []
    yield started
    for app in started:
        await app.stop()
        app.db.dispose()


def pending_nags(db: Database) -> int:
    with db.sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Deadline).where(Deadline.state == "pending")
            )
            or 0
        )


@pytest.mark.postgres
async def test_only_the_leader_sweeps_and_a_follower_takes_over_at_once(
    pg: Database, postgres_url: str, roster: Roster, cal: WorkCalendar, apps: list[App]
) -> None:
    world = World(pg, roster, cal)

    def app(name: str) -> App:
        made = App(
            roster,
            cal,
            twin(pg),
            Recording(),
            clock=lambda: world.now,
            timed=False,
            sweep_every=3600,
            leadership=Leadership(postgres_url, application_name=name),
            leader_poll=0.05,
        )
        apps.append(made)
        return made

    leader, follower = app("dubanbot lease 201"), app("dubanbot lease 202")
    await leader.start()
    await follower.start()
    assert leader.leading and leader._scheduler is not None
    assert not follower.leading and follower._scheduler is None
    assert leader_pid(postgres_url) == 201
    assert leader.next_wake is None  # nothing pending yet

    # a follower ingests and processes: the batch plans nothing (no scheduler to plan on)
    await follower.ingest(
        {
            "msgId": "coord-1",
            "conversationId": TOWN_CID,
            "conversationType": "2",
            "senderNick": "川沙小王",
            "msgtype": "text",
            "text": {"content": " 请问工地扬尘管控有哪些新要求？"},
        }
    )
    await follower.flush()
    await asyncio.sleep(0.1)
    assert follower.next_wake is None and follower._scheduler is None
    assert follower._replanning is None
    assert pending_nags(pg) > 0
    await wait_for(lambda: leader.next_wake is not None)  # the leader heard of it: a poll

    # the clock passes every reminder; the leader goes: the follower leads and sweeps at once
    world.now = T0 + dt.timedelta(days=3)
    await leader.stop()
    assert leader_pid(postgres_url) is None or leader_pid(postgres_url) == 202
    await wait_for(lambda: follower.leading)
    assert follower._scheduler is not None and leader_pid(postgres_url) == 202
    await wait_for(lambda: pending_nags(pg) == 0)

    # its lease connection killed: it stops its scheduler at once
    terminate(postgres_url, lease_backend(postgres_url, "dubanbot lease 202"))
    await wait_for(lambda: not follower.leading)
    assert follower._scheduler is None and follower.next_wake is None
    # and takes the lease again (nobody else holds it)
    await wait_for(lambda: follower.leading)


# --- the outbox: SKIP LOCKED ---------------------------------------------------------------------


async def run_senders(senders: list[Sender], db: Database, timeout: float = 30.0) -> None:
    stop = asyncio.Event()
    wakes = [asyncio.Event() for _ in senders]
    tasks = [asyncio.create_task(s.run(stop, w)) for s, w in zip(senders, wakes, strict=True)]

    def left() -> int:
        with db.sessions() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.state == "pending")
                )
                or 0
            )

    try:
        async with asyncio.timeout(timeout):
            while await asyncio.to_thread(left):
                for wake in wakes:
                    wake.set()
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.gather(*tasks)


@pytest.mark.postgres
async def test_two_senders_send_each_row_once_and_each_chat_in_order(pg: Database) -> None:
    now = dt.datetime.now(UTC)
    chats = [f"u-{n}" for n in range(12)]
    order = random.Random(7)
    with pg.transaction() as session:
        for n in range(300):
            enqueue(session, channel="oto", target=order.choice(chats), text=f"m{n}", now=now)
    # one transport, as DingTalk is one: it sees every delivery of both instances
    dingtalk = Recording(fail=0.1, seed=3)
    engines = [twin(pg), twin(pg)]
    senders = [
        Sender(e, dingtalk, backoff_base=0.01, backoff_max=0.05, batch=40, rng=random.Random(i))
        for i, e in enumerate(engines)
    ]
    try:
        await run_senders(senders, pg)
    finally:
        for engine in engines:
            engine.dispose()
    texts = [text for _, text, _ in dingtalk.sent]
    assert sorted(texts, key=lambda t: int(t[1:])) == [f"m{n}" for n in range(300)]  # once each
    for chat in chats:
        mine = [int(text[1:]) for who, text, _ in dingtalk.sent if who == chat]
        assert mine == sorted(mine), chat
    with pg.sessions() as session:
        states = Counter(session.scalars(select(OutboxMessage.state)))
    assert states == {"sent": 300}


@pytest.mark.postgres
def test_a_chat_whose_older_row_another_instance_holds_is_left_to_it(pg: Database) -> None:

    now = dt.datetime.now(UTC)
    with pg.transaction() as session:
        for n, chat in enumerate(["a", "b", "a", "c", "a"]):
            enqueue(session, channel="oto", target=chat, text=f"m{n}", now=now)
    other = twin(pg)
    try:
        with other.engine.begin() as holder, pg.engine.begin() as taker:
            held = lock_pending(holder, 2)  # a's first row and b's
            assert [r.text for r in held] == ["m0", "m1"]
            taken = lock_pending(taker, 10)  # a is held by the other: none of a's rows
            assert [r.text for r in taken] == ["m3"]
    finally:
        other.dispose()


# --- the shared rate limit -------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 16, 1, 30, tzinfo=UTC)

    def __call__(self) -> dt.datetime:
        return self.now


async def test_two_senders_share_one_groups_rate_limit(db: Database) -> None:
    clock = FakeClock()
    with db.transaction() as session:
        for n in range(45):
            enqueue(session, channel="group", target="cid-g", text=f"g{n}", now=clock.now)
    dingtalk = Recording(clock)
    engines = [twin(db), twin(db)]
    senders = [Sender(e, dingtalk, clock=clock, group_rate=(20, 60.0)) for e in engines]
    try:
        for _ in range(40):
            await asyncio.gather(*(s.send_due() for s in senders))
            clock.now += dt.timedelta(seconds=15)
            if len(dingtalk.sent) == 45:
                break
    finally:
        for engine in engines:
            engine.dispose()
    times = sorted(at for _, _, at in dingtalk.sent if at is not None)
    assert len(times) == 45
    for start in times:  # never more than 20 in any 60 s
        assert sum(start <= t < start + dt.timedelta(seconds=60) for t in times) <= 20
    assert [text for _, text, _ in dingtalk.sent] == [f"g{n}" for n in range(45)]


def test_a_reservation_counts_until_the_period_is_over_and_old_rows_go(db: Database) -> None:
    at = dt.datetime(2026, 11, 16, 1, 30, tzinfo=UTC)
    minute = dt.timedelta(seconds=60)
    with db.engine.begin() as connection:
        for n in range(3):
            moment = at + dt.timedelta(seconds=n)
            assert reserve_group_send(connection, "g", moment, 3, minute) is None
        # a fourth waits for the first to leave the window (a failed send counts too)
        until = reserve_group_send(connection, "g", at + dt.timedelta(seconds=10), 3, minute)
        assert until == at + minute
        assert reserve_group_send(connection, "h", at, 3, minute) is None  # another group
        assert reserve_group_send(connection, "g", at + minute, 3, minute) is None
    with db.sessions() as session:
        rows = session.scalars(select(GroupSend.at).where(GroupSend.group_id == "g")).all()
    assert sorted(rows) == [at + dt.timedelta(seconds=n) for n in (1, 2, 60)]  # the first went


# --- attachments: fetched once ---------------------------------------------------------------


class CountingDownloads:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def download_message_file(self, download_code: str) -> bytes:
        self.calls[download_code] += 1
        await asyncio.sleep(0.002)
        return b"\x89PNG\r\n\x1a\n" + download_code.encode()


async def test_two_fetchers_download_each_attachment_once(
    db: Database, roster: Roster, cal: WorkCalendar, tmp_path: Path
) -> None:
    for n in range(15):
        payload = {
            "msgId": f"rich-{n}",
            "conversationId": TOWN_CID,
            "conversationType": "2",
            "senderStaffId": "u-town-asker",
            "senderNick": "川沙小王",
            "msgtype": "richText",
            "content": {
                "richText": [
                    {"text": f" 第{n}件，见图"},
                    {"downloadCode": f"dc-{n}-a", "type": "picture"},
                    {"downloadCode": f"dc-{n}-b", "type": "picture"},
                ]
            },
        }
        with db.transaction() as session:
            handle(session, roster, cal, T0, IncomingMessage.from_payload(payload))
    downloads = CountingDownloads()
    engines = [twin(db), twin(db)]
    fetchers = [
        Fetcher(e, downloads, tmp_path / "files", roster, cal, write_outbox, clock=lambda: T0)
        for e in engines
    ]
    try:
        for _ in range(5):
            await asyncio.gather(*(f.fetch_due() for f in fetchers))
    finally:
        for engine in engines:
            engine.dispose()
    assert len(downloads.calls) == 30 and set(downloads.calls.values()) == {1}
    with db.sessions() as session:
        assert Counter(session.scalars(select(Attachment.state))) == {"stored": 30}
