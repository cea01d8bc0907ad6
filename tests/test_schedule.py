"""On time, at any size (issue 9, item 4): the scheduler wakes the sweeper at the next due
moment (read from the database after each sweep and each change), job errors are logged and
never stop it, and the day's work (filing rows for the coming months, the calendar warning)
runs once a day of the business clock, not on every sweep.

The wake-up tests run the real App and its APScheduler on a clock that ticks in real time
from a fixed Monday morning: a reminder due in a second is waited for (about a second), and
nothing depends on today's date."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import CAL, T0, TZ, World
from sqlalchemy import func, select

from bot import app as app_module
from bot.app import App
from bot.dingtalk.transport import OtoResult
from bot.sandbox import Sandbox
from config.roster import Roster
from handlers import sweep as sweeper
from handlers.sweep import next_due
from storage.models import Deadline, Filing, OutboxMessage

MATTER = "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治"


class Transport:
    """Takes every message."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # (chat, text)

    async def send_session(self, webhook: str, text: str, **_: Any) -> None:
        self.sent.append((webhook, text))

    async def send_group(self, open_conversation_id: str, text: str, **_: Any) -> None:
        self.sent.append((open_conversation_id, text))

    async def send_oto(self, user_ids: Sequence[str], text: str, **_: Any) -> OtoResult:
        self.sent += [(u, text) for u in user_ids]
        return OtoResult()


def ticking(start: dt.datetime) -> Callable[[], dt.datetime]:
    """Real time, from ``start``."""
    origin = time.monotonic()
    return lambda: start + dt.timedelta(seconds=time.monotonic() - origin)


def make_app(
    world: World,
    clock: Callable[[], dt.datetime],
    transport: Transport | None = None,
    **options: Any,
) -> App:
    return App(
        world.roster,
        world.cal,
        world.db,
        transport or Transport(),
        clock=clock,
        sender_clock=clock,
        **options,
    )


def add_nag(world: World, item_id: int, fire_at: dt.datetime) -> None:
    """A triage reminder of item ``item_id`` at ``fire_at`` (its deadline an hour later)."""
    with world.db.transaction() as session:
        session.add(
            Deadline(
                item_id=item_id,
                clock="triage",
                kind="nag",
                step=9,
                due_at=fire_at + dt.timedelta(hours=1),
                fire_at=fire_at,
                state="pending",
            )
        )


def earliest(world: World) -> dt.datetime:
    with world.db.sessions() as session:
        timer = session.scalar(
            select(func.min(Deadline.fire_at)).where(
                Deadline.state == "pending", Deadline.item_id.is_not(None)
            )
        )
        row = session.scalar(
            select(func.min(Deadline.fire_at)).where(
                Deadline.state == "pending", Deadline.filing_id.is_not(None)
            )
        )
    assert timer is not None and row is not None
    return min(timer, row)


async def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.fixture
async def running() -> AsyncIterator[list[App]]:
    """Apps a test started, stopped at its end."""
    apps: list[App] = []
    yield apps
    for app in apps:
        await app.stop()


# --- the next wake-up ------------------------------------------------------------------------


async def test_the_next_wake_up_is_the_earliest_due_row(world: World) -> None:
    world.receive()  # triage reminders and escalation
    world.must("office_admin", MATTER)  # filing reminders
    app = make_app(world, lambda: world.now, timed=False)
    await app.sweep_now()
    assert app.next_wake == earliest(world) > world.now
    # an earlier deadline row written later: read again after the change
    add_nag(world, 1, world.now + dt.timedelta(minutes=3))
    await app.replan()
    assert app.next_wake == world.now + dt.timedelta(minutes=3) == earliest(world)
    # filing rows count as much as timers
    with world.db.transaction() as session:
        filing = session.scalars(select(Filing)).first()
        assert filing is not None
        row = session.scalars(
            select(Deadline).where(Deadline.filing_id == filing.id, Deadline.state == "pending")
        ).one()
        row.fire_at = world.now + dt.timedelta(minutes=1)
    await app.replan()
    assert app.next_wake == world.now + dt.timedelta(minutes=1)


async def test_rows_held_for_working_time_wake_the_sweeper_when_it_starts(world: World) -> None:
    world.receive()
    world.at(2026, 11, 16, 20, 0)  # the evening: the reminders of the day are held
    app = make_app(world, lambda: world.now, timed=False)
    assert await app.sweep_now() == 0
    morning = dt.datetime(2026, 11, 17, 9, 0, tzinfo=TZ)
    assert app.next_wake == morning  # not at once (no busy loop), not later
    with world.db.sessions() as session:
        assert next_due(session, world.cal, world.now) == morning
    world.now = morning
    assert await app.sweep_now() > 0


async def test_a_processed_inbox_batch_plans_the_wake_up_again(
    world: World, running: list[App]
) -> None:
    app = make_app(world, lambda: world.now, sweep_every=3600)
    await app.start()
    running.append(app)
    assert app.next_wake is None  # nothing pending
    town_message = {
        "msgId": "schedule-1",
        "conversationId": "cid-town-chuansha",
        "conversationType": "2",
        "senderNick": "川沙小王",
        "msgtype": "text",
        "text": {"content": " 请问工地扬尘管控有哪些新要求？"},
    }
    await app.ingest(town_message)  # an @件 with its triage clock
    await wait_for(lambda: app.next_wake is not None)
    with world.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Deadline)) > 0
    assert app.next_wake == earliest_timer(world) > world.now


def earliest_timer(world: World) -> dt.datetime | None:
    with world.db.sessions() as session:
        return session.scalar(select(func.min(Deadline.fire_at)).where(Deadline.state == "pending"))


# --- on time, on a real clock ------------------------------------------------------------------


async def test_a_reminder_due_in_one_second_goes_out_without_waiting_for_the_interval(
    world: World, running: list[App]
) -> None:
    clock = ticking(T0)
    world.now = clock()
    items = [world.receive() for _ in range(12)]
    transport = Transport()
    app = make_app(world, clock, transport, sweep_every=3600)
    await app.start()
    running.append(app)
    fire_at = clock() + dt.timedelta(seconds=1)
    add_nag(world, items[0], fire_at)
    await app.replan()  # the app knows when it wrote
    assert app.next_wake == fire_at
    # and a few more falling due one after the other, some while a sweep is running (seen:
    # the wake-up planned by a sweep the due job started was skipped by APScheduler)
    for n, item in enumerate(items[1:], 1):
        add_nag(world, item, fire_at + dt.timedelta(milliseconds=3 * n))
    await app.replan()

    def sent() -> dict[int, dt.datetime]:
        at: dict[int, dt.datetime] = {}
        with world.db.sessions() as session:
            for text, created in session.execute(
                select(OutboxMessage.text, OutboxMessage.created_at)
            ):
                for item in items:
                    if f"#{item} " in text and "甄别" in text:
                        at[item] = min(created, at.get(item, created))
        return at

    await wait_for(lambda: len(sent()) == len(items), timeout=3)  # the interval is an hour
    late = [
        sent()[item] - fire_at - dt.timedelta(milliseconds=3 * n) for n, item in enumerate(items)
    ]
    assert all(dt.timedelta(0) <= x < dt.timedelta(seconds=1) for x in late), late
    # and the sender, woken by the write, delivers it (waited for: a loaded machine is slow)
    await wait_for(lambda: any(f"#{items[0]} " in text for _, text in transport.sent), timeout=3)


async def test_a_failing_job_is_logged_and_the_scheduler_keeps_running(
    world: World,
    running: list[App],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ticking(T0)
    world.now = clock()
    item = world.receive()
    add_nag(world, item, clock())  # due at once
    failures = []
    real_sweep = app_module.sweep

    def flaky(*args: Any) -> Any:
        if len(failures) < 2:
            failures.append(1)
            raise RuntimeError("the database went away")
        return real_sweep(*args)

    monkeypatch.setattr(app_module, "sweep", flaky)
    transport = Transport()
    app = make_app(world, clock, transport, sweep_every=0.05)
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        await app.start()  # its first sweep fails: logged, not raised
        running.append(app)
        await wait_for(lambda: len(failures) == 2)
        await wait_for(lambda: any(f"#{item} " in t for _, t in transport.sent))
    failed = [r for r in caplog.records if r.message == "sweeper: sweep failed"]
    assert len(failed) == 2
    assert all(r.exc_info and "the database went away" in str(r.exc_info[1]) for r in failed)
    assert "Traceback" in caplog.text
    assert app._scheduler is not None and app._scheduler.running


# --- the day's work ------------------------------------------------------------------------


def count_calls(monkeypatch: pytest.MonkeyPatch) -> list[dt.datetime]:
    """The moments ensure_filings ran for every matter (a command's own call for one matter
    is not counted)."""
    calls: list[dt.datetime] = []
    real = sweeper.ensure_filings

    def counting(session: Any, roster: Any, cal: Any, now: dt.datetime, some: Any = None) -> int:
        if some is None:
            calls.append(now)
        return real(session, roster, cal, now, some)

    monkeypatch.setattr(sweeper, "ensure_filings", counting)
    return calls


def periods(db: Any) -> list[str]:
    with db.sessions() as session:
        return sorted(session.scalars(select(Filing.period).where(Filing.matter_id == 1)))


async def test_filing_rows_come_once_a_day_not_on_every_sweep(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch)
    world.must("office_admin", MATTER)
    assert periods(world.db) == ["2026-11", "2026-12"]
    app = make_app(world, lambda: world.now, timed=False)
    for _ in range(3):
        await app.sweep_now()
        world.later(minutes=20)
    assert len(calls) == 1  # the first sweep of the day
    world.at(2026, 12, 1, 0, 0, 30)  # the midnight job's sweep
    await app.sweep_now()
    assert len(calls) == 2 and periods(world.db) == ["2026-11", "2026-12", "2027-01"]


async def test_a_fast_forward_across_a_month_end_makes_the_new_month_s_rows(
    roster: Roster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch)
    start = dt.datetime(2026, 11, 27, 10, 0, tzinfo=TZ)  # a Friday
    async with Sandbox(roster, CAL, db_url=f"sqlite:///{tmp_path}/m.db", start=start) as box:
        await box.person_says("u-admin", MATTER)
        assert periods(box.db) == ["2026-12"]  # November's node has passed
        await box.advance(dt.timedelta(days=5))  # to Wednesday 2 December
        assert periods(box.db) == ["2026-12", "2027-01"]
    days = {c.astimezone(TZ).date() for c in calls}
    assert len(calls) == len(days) <= 6  # once a day, not at every 15-minute step


# --- the calendar warning ------------------------------------------------------------------


async def test_the_calendar_warning_goes_once_a_working_day_at_its_start(world: World) -> None:
    assert not world.cal.is_covered(2027)
    admins = set(world.roster.office.admins)
    world.at(2026, 12, 1, 7, 0)  # Tuesday, before office hours: 2027 has no official data
    app = make_app(world, lambda: world.now, timed=False)

    def warnings() -> list[str]:
        with world.db.sessions() as session:
            return list(
                session.scalars(
                    select(OutboxMessage.target).where(OutboxMessage.text.contains("2027"))
                )
            )

    assert await app.sweep_now() == 0
    opening = dt.datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    assert app.next_wake == opening
    world.now = opening
    await app.sweep_now()
    assert set(warnings()) == admins | {world.roster.office.group}
    assert app.next_wake is None or app.next_wake > opening
    world.later(hours=2)
    await app.sweep_now()
    assert len(warnings()) == len(admins) + 1  # once that day
    world.at(2026, 12, 2, 9, 30)
    await app.sweep_now()
    assert len(warnings()) == 2 * (len(admins) + 1)  # and again the next working day
