"""Fault tests: several real bot processes (tests/procs.py) against the local DingTalk and
PostgreSQL, killed, cut off from their database or from DingTalk's stream; nothing may be lost,
nothing answered wrongly, nothing sent twice beyond the documented at-least-once window."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.dingtalk.transport import OtoResult
from bot.sender import Sender
from config.roster import Roster
from handlers import texts
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.leader import leader_pid
from storage.models import InboxMessage, Item, OutboxMessage
from storage.outbox import enqueue
from tests.conftest import POSTGRES_URL, postgres_unreachable
from tests.fake_dingtalk import FakeDingTalk
from tests.procs import (
    CLIENT_ID,
    CLIENT_SECRET,
    TOWN_CID,
    Bots,
    PgProxy,
    PushStats,
    items_by_msg,
    live_connections,
    office_numbers,
    push_town,
    query,
    scratch_database,
    settled,
    town_acks,
    town_msg_id,
    town_text,
    via,
    wait_connections,
    wait_for,
)


def town_payload(n: int) -> dict[str, Any]:
    return {
        "msgId": f"inbox-{n}",
        "conversationId": TOWN_CID,
        "conversationType": "2",
        "senderNick": "川沙小王",
        "msgtype": "text",
        "text": {"content": f" 第{n + 1}件咨询"},
    }


@pytest.mark.postgres
def test_two_processors_on_one_inbox_handle_each_message_once(
    pg: Database, postgres_url: str, roster: Roster, cal: WorkCalendar
) -> None:
    """Two instances' processors on one inbox at once: each message handled once, none failing
    (a message handled by both made the second's item insert fail on the unique msgId, and
    the town got an apology for a message that was handled)."""
    first = App(roster, cal, pg, transport=None)  # type: ignore[arg-type]
    second_db = Database(postgres_url)
    second = App(roster, cal, second_db, transport=None)  # type: ignore[arg-type]
    try:
        first._store([town_payload(n) for n in range(200)])
        go = threading.Barrier(2)

        def drain(app: App) -> None:
            go.wait()
            while app.process_inbox(20):
                pass

        workers = [threading.Thread(target=drain, args=(app,)) for app in (first, second)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        with pg.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Item)) == 200
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


class SlowDingTalk:
    """Takes 1:1 messages, each taking a second of ``now``; notes whether the row being sent
    was still leased to its sender at that moment."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.now = dt.datetime(2026, 11, 16, 1, 30, tzinfo=dt.UTC)
        self.sent: list[tuple[str, bool]] = []

    async def send_oto(
        self, user_ids: Sequence[str], text: str, *, title: str | None = None
    ) -> OtoResult:
        with self.db.sessions() as session:
            row = session.scalar(select(OutboxMessage).where(OutboxMessage.text == text))
            assert row is not None
            lease = row.next_attempt_at.replace(tzinfo=dt.UTC)
        self.sent.append((text, lease > self.now))
        self.now += dt.timedelta(seconds=1)
        return OtoResult()


async def test_a_long_chat_is_never_sent_past_its_lease(db: Database) -> None:
    """A chat with more rows than its lease lets out (a slow DingTalk, a long backlog): the
    sender stops at half the lease and releases the rest for its next round. Before, it sent
    on past the lease, while another instance could take the same rows: sent twice."""
    dingtalk = SlowDingTalk(db)
    sender = Sender(db, dingtalk, clock=lambda: dingtalk.now, lease=4.0)  # type: ignore[arg-type]
    with db.transaction() as session:
        for n in range(10):
            enqueue(session, channel="oto", target="u-admin", text=f"第{n}条", now=dingtalk.now)
    for _ in range(10):
        await sender.send_due()
    assert [text for text, _ in dingtalk.sent] == [f"第{n}条" for n in range(10)]
    assert all(leased for _, leased in dingtalk.sent), dingtalk.sent


# --- several real bot processes ----------------------------------------------------------------

# The sender's lease in these runs: how long a row a killed instance was sending waits before
# another sends it (production: 60 s). Far longer than a send to the local DingTalk takes.
LEASE = 4.0
FAST = {
    "BOT_OUTBOX_LEASE_SECONDS": str(LEASE),
    # the office group's 20 a minute would hold each run back a minute: lifted, as in bench/
    "BOT_GROUP_MESSAGES_PER_MINUTE": "100000",
    "BOT_LEADER_POLL_SECONDS": "0.5",
    "BOT_STREAM_SILENCE_SECONDS": "3",  # the watchdog (pings every second meanwhile)
}
CHATS = 3  # a town @件 makes rows for three chats: the town, the office group, the office admin


@dataclass
class World:
    """The fake DingTalk, a PostgreSQL database (``url`` direct, ``proxied`` through ``proxy``)
    and two bot instances on it, shared by the module's tests (a bot takes seconds to start on
    a busy machine): each test uses @件 of its own tags, and leaves both instances running."""

    dingtalk: FakeDingTalk
    url: str
    proxied: str
    proxy: PgProxy
    bots: Bots


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    proxy = PgProxy()
    port = proxy.start()
    # The DingTalk side keeps real time: a session webhook it hands out stays valid for the
    # sender (which keeps real time too); the bots' business clock is the fixed BOT_CLOCK_FILE.
    # It runs on a loop of its own, in a thread: any test's loop may await it.
    dingtalk = FakeDingTalk(CLIENT_ID, CLIENT_SECRET, spread=True)
    asyncio.run(dingtalk.start())
    try:
        with scratch_database(POSTGRES_URL) as url:
            root = tmp_path_factory.mktemp("faults")
            bots = Bots(root, dingtalk.endpoint, via(url, port), 2, FAST)
            try:
                yield World(dingtalk, url, via(url, port), proxy, bots)
            finally:
                began = time.monotonic()
                codes = bots.stop_all()
                print(f"stopped with SIGTERM: {codes} in {time.monotonic() - began:.1f} s")
        print(f"database dropped in {time.monotonic() - began:.1f} s")
    finally:
        began = time.monotonic()
        asyncio.run(dingtalk.stop())
        print(f"local DingTalk stopped in {time.monotonic() - began:.1f} s")
        proxy.stop()
        print(f"proxy stopped in {time.monotonic() - began:.1f} s")


@pytest.fixture
async def world(cluster: World) -> AsyncIterator[World]:
    """The cluster with PostgreSQL reachable and both instances connected."""
    cluster.proxy.restore()
    for index in range(cluster.bots.count):
        if not cluster.bots.alive(index):
            cluster.bots.start(index)
    await wait_connections(cluster.dingtalk, cluster.bots.count)
    yield cluster
    cluster.proxy.restore()


@dataclass
class Tally:
    """What the fake DingTalk received for the @件 of some tags."""

    numbers: dict[str, int]  # msgId -> item number
    town: Counter[int]
    office: Counter[int]
    admin: Counter[int]
    apologies: int

    def missing(self) -> dict[str, list[int]]:
        wanted = set(self.numbers.values())
        return {
            name: sorted(wanted - set(counter))
            for name, counter in (
                ("town", self.town),
                ("office", self.office),
                ("admin", self.admin),
            )
            if wanted - set(counter)
        }

    def duplicates(self) -> dict[str, int]:
        """Messages beyond the first, per chat."""
        wanted = set(self.numbers.values())
        return {
            name: sum(n - 1 for number, n in counter.items() if number in wanted and n > 1)
            for name, counter in (
                ("town", self.town),
                ("office", self.office),
                ("admin", self.admin),
            )
        }


def tally(dingtalk: FakeDingTalk, url: str, tag: str) -> Tally:
    admin: Counter[int] = Counter()
    for message in dingtalk.sent:
        if message.channel == "oto" and message.target == ("u-admin",):
            admin.update(int(n) for n in re.findall(r"【新@件】#(\d+) ", message.text))
    apologies = sum(1 for m in dingtalk.sent if m.text == texts.APOLOGY)
    numbers = items_by_msg(url, tag)
    return Tally(numbers, town_acks(dingtalk), office_numbers(dingtalk), admin, apologies)


def inbox_errors(url: str) -> int:
    return int(query(url, "select count(*) from inbox where error is not null")[0][0])


# The scenario: RUNS runs of ITEMS @件 each (500 in all); FAULT_RUNS / FAULT_ITEMS make it
# heavier (e.g. FAULT_ITEMS=500 for 500 a run: about half a minute a run on two cores).
RUNS = int(os.environ.get("FAULT_RUNS", "10"))
ITEMS = int(os.environ.get("FAULT_ITEMS", "50"))


@pytest.mark.postgres
async def test_sigkill_at_random_moments_loses_nothing(world: World) -> None:
    """Two instances take a 500-@件 scenario in 10 runs of 50 (DingTalk deals the frames to
    each connection in turn); in each run, at a seeded random moment, one or both are killed
    with SIGKILL and started again.

    After each run every @件 is in the database exactly once, and the town's acknowledgement,
    the office group's notice and the admin's 1:1 notice of each went out at least once; twice
    only within the at-least-once window storage/outbox.py and bot/sender.py document: a row
    claimed with a lease, delivered, but not yet marked sent when its instance dies is sent
    again once the lease (BOT_OUTBOX_LEASE_SECONDS) runs out. Per kill that is at most the rows
    the instance had in flight: one a chat being sent, plus those delivered within the
    sender's MARK_DELAY batch before the mark committed (on a busy machine the mark's
    transaction takes a while: up to 25 rows were seen); bounded here by CHATS x 20 a kill.
    A frame unACKed when its instance died is pushed again with the same msgId, as DingTalk
    redelivers (DINGTALK.md §7.4), and stored once.
    """
    figures: list[str] = []
    bots = world.bots
    try:
        for run in range(RUNS):
            rng = random.Random(1400 + run)
            tag = f"k{run}"
            # one instance may still be starting from the last run: it may be killed so too
            await wait_connections(world.dingtalk, 1)
            stats = PushStats()
            kills_before = bots.kills
            pushing = asyncio.create_task(
                push_town(world.dingtalk, tag, range(ITEMS), stats=stats, deadline=90)
            )
            started = time.monotonic()
            # a moment within the burst and its handling
            await asyncio.sleep(rng.uniform(0.0, 0.02 * ITEMS))
            victims = [0, 1] if rng.random() < 0.3 else [rng.randrange(2)]
            for victim in victims:
                bots.kill(victim)
            await asyncio.sleep(rng.uniform(0.0, 1.0))
            for victim in victims:
                bots.start(victim)
            await pushing
            await wait_for(lambda: settled(world.url), 60, "every @件 handled and sent")
            took = time.monotonic() - started
            result = tally(world.dingtalk, world.url, tag)
            kills = bots.kills - kills_before
            assert len(result.numbers) == ITEMS  # each msgId once: items.source_msg_id is unique
            assert not result.missing(), result.missing()
            assert result.apologies == 0
            assert inbox_errors(world.url) == 0
            bound = kills * CHATS * 20
            figures.append(
                f"run {run}: {kills} kill(s) {victims}, {stats.pushes - ITEMS} redeliveries, "
                f"duplicates {result.duplicates()} (bound {bound} in all), {took:.1f} s"
            )
            assert sum(result.duplicates().values()) <= bound, figures[-1]
    except BaseException:
        print("\n".join(figures))
        print(bots.logs()[-5000:])
        raise
    print("\n".join(figures))


OUTAGE = float(os.environ.get("FAULT_OUTAGE_SECONDS", "30"))


async def push_once(dingtalk: FakeDingTalk, tag: str, i: int, timeout: float = 15) -> int:
    """Push one town @件 and return its ACK's status code."""
    message_id = f"frame-{tag}-{i}"
    await dingtalk.push_bot_message(
        town_text(tag, i),
        sender_staff_id=None,
        sender_nick="川沙小王",
        conversation_id=TOWN_CID,
        msg_id=town_msg_id(tag, i),
        message_id=message_id,
        timeout=timeout,
    )
    ack = await dingtalk.wait_ack(message_id, timeout=timeout)
    return int(ack.get("code", 0))


@pytest.mark.postgres
async def test_postgresql_unreachable_for_30_seconds(world: World) -> None:
    """PostgreSQL cut off for 30 s (the proxy closes every connection and refuses new ones):
    both instances keep their stream connection (no reconnect, no crash), NACK each frame they
    cannot store (STATUS_SYSTEM_EXCEPTION, bot/stream.py) and send nobody anything meanwhile.

    Catching up: robot messages are "fire-forget" by the protocol, but DingTalk redelivers a
    frame it got no good ACK for (DINGTALK.md §7.4: seen after 16-60 s); the test pushes the
    NACKed frames again, with the same msgId, once PostgreSQL is back. Each then becomes one
    @件, acknowledged to the town and announced to the office, once. (A NACKed robot message
    DingTalk did not redeliver would be lost: the bot never had it.)"""
    dingtalk, bots = world.dingtalk, world.bots
    try:
        await wait_connections(dingtalk, 2)
        await push_town(dingtalk, "before", range(10))
        await wait_for(lambda: settled(world.url), 60, "the first @件 handled")
        opened, sent = len(dingtalk.connection_log), len(dingtalk.sent)

        world.proxy.cut()
        cut_at = time.monotonic()
        codes = [await push_once(dingtalk, "cut", i) for i in range(10)]
        assert codes == [500] * 10  # AckMessage.STATUS_SYSTEM_EXCEPTION
        await asyncio.sleep(max(0.0, cut_at + OUTAGE - time.monotonic()))
        assert all(bots.alive(i) for i in range(2)), bots.logs()[-3000:]
        assert len(dingtalk.connection_log) == opened  # the stream was kept
        assert live_connections(dingtalk) == 2
        assert dingtalk.sent[sent:] == []  # nothing answered, to anyone

        world.proxy.restore()
        restored = time.monotonic()
        stats = await push_town(dingtalk, "cut", range(10), deadline=60)  # the redeliveries
        await wait_for(lambda: settled(world.url), 60, "the redelivered @件 handled")
        catch_up = time.monotonic() - restored
        assert all(bots.alive(i) for i in range(2))
    except BaseException:
        print(bots.logs()[-5000:])
        raise
    for tag in ("before", "cut"):
        result = tally(dingtalk, world.url, tag)
        assert len(result.numbers) == 10
        assert not result.missing(), (tag, result.missing())
        assert result.duplicates() == {"town": 0, "office": 0, "admin": 0}, tag
        assert result.apologies == 0
    assert inbox_errors(world.url) == 0
    await wait_for(lambda: leader_pid(world.url) is not None, 30, "a leader again")
    print(f"PostgreSQL outage {OUTAGE:.0f} s: caught up {catch_up:.1f} s after, {stats}")


@pytest.mark.postgres
async def test_a_silent_stream_is_reconnected_by_the_watchdog(world: World) -> None:
    """The local DingTalk stops talking on every stream connection without closing it (a
    connection lost on the way): after BOT_STREAM_SILENCE_SECONDS without a frame or a pong
    the watchdog drops it and connects again; a message pushed during the silence waits for
    the new connection and is handled, nothing is lost."""
    dingtalk, bots = world.dingtalk, world.bots
    try:
        await wait_connections(dingtalk, 2)
        await push_town(dingtalk, "loud", range(5))
        await wait_for(lambda: settled(world.url), 60, "the first @件 handled")
        opened = len(dingtalk.connection_log)
        assert await dingtalk.go_silent() == 2
        silent_at = time.monotonic()
        # pushed during the silence: DingTalk holds it for a live connection
        assert await push_once(dingtalk, "quiet", 0, timeout=30) == 200
        await wait_for(lambda: len(dingtalk.connection_log) >= opened + 2, 30, "reconnects")
        back = time.monotonic() - silent_at
        await push_town(dingtalk, "quiet", range(1, 5))
        await wait_for(lambda: settled(world.url), 60, "the @件 after the silence handled")
    except BaseException:
        print(bots.logs()[-5000:])
        raise
    for tag, count in (("loud", 5), ("quiet", 5)):
        result = tally(dingtalk, world.url, tag)
        assert len(result.numbers) == count
        assert not result.missing(), (tag, result.missing())
        assert result.duplicates() == {"town": 0, "office": 0, "admin": 0}, tag
    print(f"silent stream: both instances connected again {back:.1f} s after the silence began")


SQLITE_RUNS = int(os.environ.get("FAULT_SQLITE_RUNS", "3"))


async def test_sigkill_on_sqlite_loses_nothing(tmp_path: Path) -> None:
    """The same on SQLite, one instance (a second is refused on the same file): killed at a
    seeded random moment of each run of 50 @件 and started again; nothing lost, duplicates
    within the same at-least-once window."""
    figures: list[str] = []
    url = f"sqlite:///{tmp_path}/bot.db"
    async with FakeDingTalk(CLIENT_ID, CLIENT_SECRET) as dingtalk:
        bots = Bots(tmp_path, dingtalk.endpoint, url, 1, FAST)
        bots.start(0)
        try:
            for run in range(SQLITE_RUNS):
                rng = random.Random(2600 + run)
                tag = f"s{run}"
                stats = PushStats()
                pushing = asyncio.create_task(
                    push_town(dingtalk, tag, range(ITEMS), stats=stats, deadline=90)
                )
                started = time.monotonic()
                await asyncio.sleep(rng.uniform(0.0, 0.02 * ITEMS))
                bots.kill(0)
                await asyncio.sleep(rng.uniform(0.0, 1.0))
                bots.start(0)
                await pushing
                await wait_for(lambda: settled(url), 60, "every @件 handled and sent")
                result = tally(dingtalk, url, tag)
                assert len(result.numbers) == ITEMS
                assert not result.missing(), result.missing()
                assert result.apologies == 0
                assert inbox_errors(url) == 0
                figures.append(
                    f"sqlite run {run}: {stats.pushes - ITEMS} redeliveries, duplicates "
                    f"{result.duplicates()}, {time.monotonic() - started:.1f} s"
                )
                assert sum(result.duplicates().values()) <= CHATS * 20, figures[-1]
        except BaseException:
            print("\n".join(figures))
            print(bots.logs()[-5000:])
            raise
        finally:
            codes = bots.stop_all()
    print("\n".join(figures))
    assert codes == {0: 0}
