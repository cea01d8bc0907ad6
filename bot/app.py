"""The running bot: inbox, processor, sweeper and sender around one database.

Every incoming message is written to the inbox (deduplicated by msgId) before DingTalk gets
its ACK; the processor handles inbox rows one transaction each, writing outgoing messages to
the outbox in the same transaction; the sender delivers the outbox after the commit. Timers
are rows; APScheduler only wakes the sweeper. A restart loses nothing and repeats nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.incoming import IncomingMessage
from bot.router import handle, reply_to
from bot.sender import Sender, Transport, enqueue_rows, outbox_row, utc_now
from config.roster import Roster
from handlers import texts
from handlers.effects import Outgoing, to_group, to_user
from handlers.sweep import sweep
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import Flag, InboxMessage, OutboxMessage

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def write_outbox(session: Session, messages: Iterable[Outgoing], now: dt.datetime) -> int:
    rows = outbox_rows(messages, now)
    enqueue_rows(session, rows)
    return len(rows)


def outbox_rows(messages: Iterable[Outgoing], now: dt.datetime) -> list[dict[str, Any]]:
    rows = []
    for m in messages:
        if not m.target:
            logger.warning("dropped a message without a target: %s", m.text[:40])
            continue
        rows.append(
            outbox_row(
                channel=m.channel,
                target=m.target,
                text=m.text,
                title=m.title,
                at_user_ids=m.at_user_ids,
                webhook=m.webhook,
                webhook_expires=m.webhook_expires,
                fallback_channel=m.fallback_channel,
                fallback_target=m.fallback_target,
                now=now,
            )
        )
    return rows


class App:
    def __init__(
        self,
        roster: Roster,
        cal: WorkCalendar,
        db: Database,
        transport: Transport,
        *,
        clock: Clock = utc_now,
        sender_clock: Clock = utc_now,
        sweep_every: float = 30.0,
        sender_options: dict[str, Any] | None = None,
    ) -> None:
        self.roster, self.cal, self.db = roster, cal, db
        self.clock = clock  # the business clock: deadlines, reminders
        self.sender_clock = sender_clock  # real time: retries and rate limits
        self.sender = Sender(db, transport, clock=sender_clock, **(sender_options or {}))
        self.sweep_every = sweep_every
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[None]]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._wake_sender = asyncio.Event()
        self._wake_processor = asyncio.Event()
        self._scheduler: AsyncIOScheduler | None = None

    # -- lifecycle --

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(self._ingest_loop(), name="ingest"),
            asyncio.create_task(self._process_loop(), name="process"),
            asyncio.create_task(self.sender.run(self._stop, self._wake_sender), name="send"),
        ]
        self._scheduler = AsyncIOScheduler(timezone=self.cal.tz)
        self._scheduler.add_job(
            self.sweep_now,
            IntervalTrigger(seconds=self.sweep_every),
            id="sweep",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )
        self._scheduler.start()
        self._wake_processor.set()  # whatever the inbox kept from before a crash
        await self.sweep_now()  # whatever fell due while the bot was down

    async def stop(self) -> None:
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    # -- in --

    async def ingest(self, payload: dict[str, Any]) -> None:
        """Store one incoming message; returns once it is committed (then ACK)."""
        assert self._queue is not None, "App.start() first"
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((payload, future))
        await future

    async def _ingest_loop(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < 500:
                batch.append(self._queue.get_nowait())
            try:
                await asyncio.to_thread(self._store, [p for p, _ in batch])
            except Exception as exc:
                logger.exception("inbox: storing %d message(s) failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
            self._wake_processor.set()

    def _store(self, payloads: list[dict[str, Any]]) -> None:
        now = self.clock()
        rows = []
        for payload in payloads:
            msg_id = str(payload.get("msgId") or "")
            if not msg_id:
                logger.warning("inbox: message without msgId ignored")
                continue
            rows.append({"msg_id": msg_id, "received_at": now, "payload": payload})
        if not rows:
            return
        with self.db.transaction() as session:
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            session.execute(insert(InboxMessage).values(rows).on_conflict_do_nothing())

    async def _process_loop(self) -> None:
        while True:
            await self._wake_processor.wait()
            self._wake_processor.clear()
            try:
                while await asyncio.to_thread(self.process_inbox):
                    self._wake_sender.set()
            except Exception:
                logger.exception("processor: round failed")
                await asyncio.sleep(1)
                self._wake_processor.set()

    def process_inbox(self, limit: int = 20) -> int:
        """Handle unprocessed inbox rows in order; return how many.

        One transaction for the batch. It is first tried without savepoints; if any message
        fails, it is rolled back and redone with one savepoint per message, so that a message
        whose handling fails is rolled back alone, marked with its error and answered with an
        apology.
        """
        try:
            return self._process_batch(limit, careful=False)
        except Exception:
            return self._process_batch(limit, careful=True)

    def _process_batch(self, limit: int, *, careful: bool) -> int:
        now = self.clock()
        with self.db.transaction() as session:
            rows = session.scalars(
                select(InboxMessage)
                .where(InboxMessage.processed_at.is_(None))
                .order_by(InboxMessage.id)
                .limit(limit)
            ).all()
            if careful:
                for row in rows:
                    self._process_one(session, row, now)
                return len(rows)
            # No handler reads the outbox: the batch's rows go in at the end, in order.
            outbox: list[dict[str, Any]] = []
            for row in rows:
                msg = IncomingMessage.from_payload(row.payload)
                out = handle(session, self.roster, self.cal, now, msg)
                outbox += outbox_rows(out, self.sender_clock())
            enqueue_rows(session, outbox)
            if rows:
                session.execute(
                    update(InboxMessage)
                    .where(InboxMessage.id.in_([row.id for row in rows]))
                    .values(processed_at=now)
                    .execution_options(synchronize_session=False)
                )
            return len(rows)

    def _process_one(self, session: Session, row: InboxMessage, now: dt.datetime) -> None:
        savepoint = session.begin_nested()
        try:
            msg = IncomingMessage.from_payload(row.payload)
            out = handle(session, self.roster, self.cal, now, msg)
            write_outbox(session, out, self.sender_clock())
            row.processed_at = now
            savepoint.commit()
        except Exception as exc:
            logger.exception("processor: message %s failed", row.msg_id)
            savepoint.rollback()
            row.processed_at, row.error = now, repr(exc)[:2000]
            try:
                msg = IncomingMessage.from_payload(row.payload)
            except ValueError:
                return
            write_outbox(session, [reply_to(msg, texts.APOLOGY)], self.sender_clock())

    # -- timers --

    async def sweep_now(self) -> int:
        count = await asyncio.to_thread(self.sweep_once)
        if count:
            self._wake_sender.set()
        return count

    def sweep_once(self) -> int:
        now = self.clock()
        with self.db.transaction() as session:
            out = sweep(session, self.roster, self.cal, now)
            out += self._calendar_warning(session, now)
            return write_outbox(session, out, self.sender_clock())

    def _calendar_warning(self, session: Session, now: dt.datetime) -> list[Outgoing]:
        """Once a working day: the office is told when this or next year has no official data
        (next year from 1 December on)."""
        local = now.astimezone(self.cal.tz)
        missing = [y for y in (local.year, local.year + 1) if not self.cal.is_covered(y)]
        if local.month != 12:
            missing = [y for y in missing if y == local.year]
        if not missing or not self.cal.is_working_time(now):
            return []
        key = f"calendar-warning:{local.date().isoformat()}"
        if session.get(Flag, key) is not None:
            return []
        session.add(Flag(key=key, at=now))
        text = texts.calendar_warning(missing)
        return [to_user(u, text) for u in self.roster.office.admins] + [
            to_group(self.roster.office.group, text)
        ]

    # -- out --

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until the inbox is processed and the outbox is empty (tests, demo)."""
        async with asyncio.timeout(timeout):
            while True:
                pending = await asyncio.to_thread(self._pending_counts)
                if pending == (0, 0):
                    return
                self._wake_processor.set()
                self._wake_sender.set()
                await asyncio.sleep(0.01)

    def _pending_counts(self) -> tuple[int, int]:
        with self.db.sessions() as session:
            inbox = session.scalar(
                select(func.count())
                .select_from(InboxMessage)
                .where(InboxMessage.processed_at.is_(None))
            )
            outbox = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.state == "pending")
            )
        return inbox or 0, outbox or 0
