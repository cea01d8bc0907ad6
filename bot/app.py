"""The running bot: inbox, processor, sweeper and sender around one database.

Every incoming message is written to the inbox (deduplicated by msgId) before DingTalk gets
its ACK; the processor handles inbox rows one transaction each, writing outgoing messages to
the outbox in the same transaction; the sender delivers the outbox after the commit. Timers
are rows; APScheduler only wakes the sweeper: at the next due moment (read from the database
after each sweep and each processed inbox batch), just after midnight for the day's work,
and every ``sweep_every`` seconds in case another instance changed something. A restart
loses nothing and repeats nothing.

Several instances on PostgreSQL: every one ingests, processes the inbox, fetches and sends
(the outbox and the attachments are claimed row by row); only the one holding the lease
(``storage.leader.Leadership``) runs the scheduler, hence the sweeper. A follower tries to
take the lease every ``leader_poll`` seconds and, once it does, sweeps at once (whatever fell
due meanwhile); the leader checks at the same pace that it still holds it, and stops its
scheduler the moment it does not, else reads the next due moment again (a follower's batch
or tap may have made an earlier one: the leader hears of it within a poll).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final, cast

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.backup import DailyBackup
from bot.dingtalk.transport import Transport
from bot.files import Fetcher
from bot.incoming import IncomingMessage
from bot.logs import log_context
from bot.metrics import MeteredTransport, Metrics
from bot.router import handle, reply_to
from bot.sender import Outcome, Sender, utc_now
from bot.taps import act_on_tap
from config.roster import Roster
from handlers import texts
from handlers.context import Ctx
from handlers.effects import Outgoing
from handlers.items import delivery
from handlers.office_reports import delivery as report_delivery
from handlers.sweep import daily, next_due, office_moment, office_notices, sweep
from handlers.workcal import WorkCalendar
from storage import repo
from storage.db import Database
from storage.gate import WriteGate
from storage.leader import Leadership, take_inbox_turn
from storage.models import InboxMessage, OutboxMessage
from storage.outbox import enqueue_rows, outbox_row

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
INBOX: Final = cast(Table, InboxMessage.__table__)
MARK_PROCESSED: Final = (
    update(INBOX)
    .where(INBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(processed_at=bindparam("now"))
)
UNPROCESSED: Final = (
    select(INBOX.c.id, INBOX.c.payload)
    .where(INBOX.c.processed_at.is_(None))
    .order_by(INBOX.c.id)
    .limit(bindparam("limit"))
)
BATCH: Final = 20  # inbox rows to a transaction
LINGER: Final = 0.01  # seconds the processor waits for more when messages trickle in
_Incoming = tuple[dict[str, Any], concurrent.futures.Future[None]]


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
                fallback_text=m.fallback_text,
                kind=m.kind,
                media_path=m.media_path,
                item_id=m.item_id,
                purpose=m.purpose,
                actor=m.actor,
                digest=m.digest,
                actions=[(a.label, a.command, a.needs_text) for a in m.actions],
                now=now,
            )
        )
    return rows


def _log_handled(out: list[Outgoing]) -> None:
    item = next((m.item_id for m in out if m.item_id is not None), None)
    with log_context(item=item):
        logger.info("processor: handled, %d message(s) out", len(out))


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
        sweep_every: float = 60.0,
        timed: bool = True,
        sender_options: dict[str, Any] | None = None,
        files_dir: Path | None = None,
        fetcher_options: dict[str, Any] | None = None,
        card_template_id: str = "",
        leadership: Leadership | None = None,
        leader_poll: float = 5.0,
        backup: DailyBackup | None = None,
    ) -> None:
        """``files_dir``: where pictures and files from towns are kept (BOT_FILES_DIR);
        None: they are recorded but not fetched nor forwarded. ``timed``: the scheduler wakes
        the sweeper at each due moment of ``clock`` and just after midnight; False for a clock
        moved by hand (the sandbox, tests), whose owner calls :meth:`sweep_now`.
        ``sweep_every``: the safety sweep, for changes made by another instance.
        ``leadership``: the lease that decides which instance sweeps, tried and checked every
        ``leader_poll`` seconds (BOT_LEADER_POLL_SECONDS); None: this one always does."""
        self.roster, self.cal, self.db = roster, cal, db
        self._world_lock = threading.Lock()  # roster and cal change together (reload)
        self.clock = clock  # the business clock: deadlines, reminders
        self.sender_clock = sender_clock  # real time: retries and rate limits
        # SQLite: one writer at a time, the inbox first (see storage.gate)
        self.gate = WriteGate(exclusive=db.engine.dialect.name == "sqlite")
        self.metrics = Metrics()  # its own registry (bot.metrics)
        self.metrics.watch_database(db, clock, sender_clock)
        self.sender = Sender(
            db,
            MeteredTransport(transport, self.metrics),
            clock=sender_clock,
            gate=self.gate,
            files_dir=files_dir,
            on_outcome=self.record_outcome,
            card_template_id=card_template_id,
            **(sender_options or {}),
        )
        self.fetcher: Fetcher | None = None
        if files_dir is not None:
            self.fetcher = Fetcher(
                db,
                transport,
                files_dir,
                roster,
                cal,
                write_outbox,
                clock=clock,
                retry_clock=sender_clock,
                gate=self.gate,
                **(fetcher_options or {}),
            )
        self.sweep_every = sweep_every
        self.timed = timed
        self.next_wake: dt.datetime | None = None  # when the sweeper is due next (clock time)
        self._sweeping = asyncio.Lock()  # one sweep or plan at a time
        self._swept_at: dt.datetime | None = None  # the clock at the last sweep
        self._day: dt.date | None = None  # the local day whose daily work is done
        # the office's next dated notice (calendar warning, missing lights, report drafts)
        self._warning_at: dt.datetime | None = None
        self._kicked: set[asyncio.Task[None]] = set()  # sweeps the due job started
        self._replanning: asyncio.Task[None] | None = None
        self._replan_wanted = False
        self._inbox: queue.SimpleQueue[_Incoming | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._wake_sender = asyncio.Event()
        self._wake_processor = asyncio.Event()
        self._wake_fetcher = asyncio.Event()
        self._files_came = False  # a processed message carried pictures or files
        self._scheduler: AsyncIOScheduler | None = None
        self.leadership = leadership
        self.leader_poll = leader_poll
        self._leads = leadership is None  # runs the scheduler (see the module's docstring)
        self.backup = backup  # the daily backup job (BOT_BACKUP_DIR), None: off

    # -- lifecycle --

    def world(self) -> tuple[Roster, WorkCalendar]:
        """The roster and calendar for one transaction (a reload swaps both between)."""
        with self._world_lock:
            return self.roster, self.cal

    async def reload(self, roster: Roster, cal: WorkCalendar) -> None:
        """Use ``roster`` and ``cal`` from the next transaction on (SIGHUP; bot.main.reload
        checked them). Every part reads them through :meth:`world`; the day's work is done
        again with them at the next sweep."""
        with self._world_lock:
            self.roster, self.cal = roster, cal
            if self.fetcher is not None:
                self.fetcher.use(roster, cal)
            self._day = None
        self.wake()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._writer = threading.Thread(target=self._write_inbox, name="inbox", daemon=True)
        self._writer.start()
        self._tasks = [
            asyncio.create_task(self._process_loop(), name="process"),
            asyncio.create_task(self.sender.run(self._stop, self._wake_sender), name="send"),
        ]
        if self.fetcher is not None:
            fetching = self.fetcher.run(self._stop, self._wake_fetcher, self._wake_sender)
            self._tasks.append(asyncio.create_task(fetching, name="fetch"))
        self._wake_processor.set()  # whatever the inbox kept from before a crash
        if self.leadership is None:
            await self._lead()
            return
        if await asyncio.to_thread(self.leadership.acquire):
            logger.info("leader: this instance leads")
            await self._lead()
        else:
            logger.info("leader: another instance leads; this one follows")
        self._tasks.append(asyncio.create_task(self._watch_lease(), name="lease"))

    @property
    def leading(self) -> bool:
        """This instance runs the scheduler and the sweeper."""
        return self._leads

    async def _lead(self) -> None:
        """Start the scheduler and sweep at once: whatever fell due while nobody led (or the
        bot was down); the sweep plans the next wake-up."""
        self._leads = True
        self._scheduler = AsyncIOScheduler(timezone=self.cal.tz)
        self._scheduler.add_job(
            self._sweep_job,
            IntervalTrigger(seconds=self.sweep_every),
            id="sweep",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )
        if self.timed:  # the day's work (see _sweep), just after midnight
            self._scheduler.add_job(
                self._sweep_job,
                CronTrigger(hour=0, minute=0, second=30, timezone=self.cal.tz),
                id="daily",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                replace_existing=True,
            )
        if self.backup is not None:  # BOT_BACKUP_AT, local time
            self._scheduler.add_job(
                self.backup.job,
                self.backup.trigger(self.cal.tz),
                id="backup",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
                replace_existing=True,
            )
        self._scheduler.start()
        await self._sweep_job()  # whatever fell due while nobody led; plans the next
        # bench/armed.py times the start-up up to this line
        logger.info(
            "armed: next wake at %s", self.next_wake.isoformat() if self.next_wake else None
        )

    async def _follow(self) -> None:
        """The lease is lost: stop the scheduler and what it started, at once. The day's work
        is done again on the next takeover (it is idempotent)."""
        self._leads = False
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        others = [*self._kicked, *([self._replanning] if self._replanning else [])]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        self.next_wake, self._day, self._warning_at = None, None, None

    async def _watch_lease(self) -> None:
        """Follower: try to take the lease; leader: check it still holds it; every
        ``leader_poll`` seconds, until the app stops (never cancelled inside a call: a call
        left running in its thread could take the lease after stop released it)."""
        assert self.leadership is not None
        while True:
            try:
                await asyncio.wait_for(self._stop.wait(), self.leader_poll)
                return
            except TimeoutError:
                pass
            try:
                if self._leads:
                    if not await asyncio.to_thread(self.leadership.still_held):
                        logger.info("leader: lost the lease")
                        await self._follow()
                    else:  # deadlines other instances made: heard of within a poll
                        self._replan_soon()
                elif await asyncio.to_thread(self.leadership.acquire):
                    logger.info("leader: this instance leads")
                    await self._lead()
            except Exception:
                logger.exception("leader: checking the lease failed")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop: what is in hand (a batch of the inbox, a sweep, a message being sent) is
        finished within ``grace`` seconds and committed; outbox rows the sender had taken
        but not tried are given back, due at once for the next start. Then what is left
        is cancelled, and the lease released."""
        self._stop.set()
        self._wake_processor.set()  # the processor sees the stop once its batch is done
        # the lease watcher returns at the stop; once it has, nothing starts the scheduler
        await asyncio.gather(
            *(t for t in self._tasks if t.get_name() == "lease"), return_exceptions=True
        )
        self._leads = False
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        others = [*self._kicked, *([self._replanning] if self._replanning else [])]
        running = [*others, *self._tasks]
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                logger.warning("stop: %s still running after %.0f s; cancelled", task, grace)
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        self._tasks = []
        if self.leadership is not None:
            await asyncio.to_thread(self.leadership.release)
        self._leads = self.leadership is None
        if self._writer is not None:
            self._inbox.put(None)
            await asyncio.to_thread(self._writer.join)
            self._writer = None

    # -- in --

    async def ingest(self, payload: dict[str, Any]) -> None:
        """Store one incoming message; returns once it is committed (then ACK).

        May be awaited on any event loop (the stream SDK's own, for one). Until it returns,
        the rest of the bot steps aside (storage.gate): DingTalk waits for the ACK.
        """
        self.gate.announce()
        try:
            await asyncio.wrap_future(self.submit(payload))
        finally:
            self.gate.settle()

    def submit(self, payload: dict[str, Any]) -> concurrent.futures.Future[None]:
        """Hand a message to the inbox writer, from any thread; the future is done once it
        is committed."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        if self._writer is None:
            future.set_exception(RuntimeError("the app is not running"))
        else:
            self._inbox.put((payload, future))
        return future

    def _write_inbox(self) -> None:
        """The inbox writer's thread: what arrived meanwhile is committed together."""
        while True:
            first = self._inbox.get()
            if first is None:
                break
            taken = [first]
            stopping = False
            while len(taken) < 500:
                try:
                    more = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                taken.append(more)
            # a message whose waiter gave up is not stored: it was not acknowledged
            batch = [(p, f) for p, f in taken if f.set_running_or_notify_cancel()]
            try:
                self._store([payload for payload, _ in batch])
            except Exception as exc:
                logger.exception("inbox: storing %d message(s) failed", len(batch))
                for _, future in batch:
                    future.set_exception(exc)
            else:
                for _, future in batch:
                    future.set_result(None)
                if self._loop is not None:
                    self._loop.call_soon_threadsafe(self._wake_processor.set)
            if stopping:
                break
        while True:  # arrived after stop(): never stored, so never acknowledged
            try:
                late = self._inbox.get_nowait()
            except queue.Empty:
                return
            if late is not None and late[1].set_running_or_notify_cancel():
                late[1].set_exception(RuntimeError("the app stopped"))

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
        with self.gate.hold(), self.db.engine.begin() as connection:
            insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            # executemany of one cached statement: nothing to compile per batch
            connection.execute(insert(INBOX).on_conflict_do_nothing(), rows)
        for payload in payloads:
            if payload.get("msgId"):
                kind = payload.get("msgtype")
                self.metrics.message_in(kind)
                with log_context(msg=payload["msgId"]):
                    logger.info("inbox: stored a %s message", kind)

    async def _process_loop(self) -> None:
        count = 0
        # the stop is checked before each wait: a stop that came while a batch ran (its wake
        # cleared with the batch's) ends the loop instead of leaving it waiting
        while not self._stop.is_set():
            await self._wake_processor.wait()
            if self._stop.is_set():
                return
            if count < BATCH // 4:
                # Messages trickle in: a moment for a few more, as one transaction for
                # several costs little more than one for one.
                await asyncio.sleep(LINGER)
            self._wake_processor.clear()
            try:
                count = await asyncio.to_thread(self.process_inbox, BATCH)
                if count:
                    self._wake_sender.set()
                    self._replan_soon()  # the batch may have made or moved deadlines
                if self._files_came:
                    self._files_came = False
                    self._wake_fetcher.set()
                if count == BATCH:
                    self._wake_processor.set()  # more may be waiting
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
        except Exception as exc:
            logger.warning("processor: a batch failed (%r); redoing it message by message", exc)
        return self._process_batch(limit, careful=True)

    def _process_batch(self, limit: int, *, careful: bool) -> int:
        calm = self.gate.wait_calm()  # else a flood: a whole batch before asking again
        now = self.clock()
        roster, cal = self.world()
        with self.gate.hold(), self.db.transaction() as session:
            take_inbox_turn(session.connection())  # several instances: one batch at a time
            if careful:
                unprocessed = session.scalars(
                    select(InboxMessage)
                    .where(InboxMessage.processed_at.is_(None))
                    .order_by(InboxMessage.id)
                    .limit(limit)
                ).all()
                for one in unprocessed:
                    with log_context(msg=one.msg_id):
                        self._process_one(session, one, now, roster, cal)
                return len(unprocessed)
            rows = session.connection().execute(UNPROCESSED, {"limit": limit}).all()
            # No handler reads pending outbox rows (重发 reads failed ones only): the batch's
            # rows go in at the end, in order.
            outbox: list[dict[str, Any]] = []
            done: list[int] = []
            for row in rows:
                with log_context(msg=row.payload.get("msgId")):
                    msg = IncomingMessage.from_payload(row.payload)
                    out = handle(session, roster, cal, now, msg)
                    _log_handled(out)
                outbox += outbox_rows(out, self.sender_clock())
                self._files_came = self._files_came or bool(msg.attachments)
                done.append(row.id)
                if calm and self.gate.urgent:
                    # a message is coming in: commit what is done, let the inbox write
                    if len(done) < len(rows) and self._loop is not None:
                        self._loop.call_soon_threadsafe(self._wake_processor.set)
                    break
            enqueue_rows(session, outbox)
            if done:
                session.connection().execute(MARK_PROCESSED, {"ids": done, "now": now})
            return len(done)

    def _process_one(
        self,
        session: Session,
        row: InboxMessage,
        now: dt.datetime,
        roster: Roster,
        cal: WorkCalendar,
    ) -> None:
        savepoint = session.begin_nested()
        try:
            msg = IncomingMessage.from_payload(row.payload)
            out = handle(session, roster, cal, now, msg)
            _log_handled(out)
            write_outbox(session, out, self.sender_clock())
            self._files_came = self._files_came or bool(msg.attachments)
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

    # -- card taps --

    async def tap(self, message_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """A card button's callback (DINGTALK.md §3): stored by its ``message_id`` and acted on
        in one transaction, then answered with the card's update for the ACK. A redelivery
        gets the first answer again and acts no more. May be awaited on any event loop (the
        stream SDK's); the other copies of the card are updated through the outbox."""
        self.gate.announce()
        try:
            answer = await asyncio.to_thread(self._tap, message_id, data)
        finally:
            self.gate.settle()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._tapped)
        return answer

    def _tapped(self) -> None:
        """After a tap (on the bot's loop): its messages and card updates go out, and the
        deadlines it made or moved are planned."""
        self._wake_sender.set()
        self._replan_soon()

    def _tap(self, message_id: str, data: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        key = f"card:{message_id}"
        roster, cal = self.world()
        with self.gate.hold(), self.db.transaction() as session:
            seen = session.scalar(select(InboxMessage).where(InboxMessage.msg_id == key))
            if seen is not None:
                answer = seen.payload.get("answer") if isinstance(seen.payload, dict) else None
                return answer if isinstance(answer, dict) else {}
            self.metrics.message_in("card")
            row = InboxMessage(msg_id=key, received_at=now, payload={"card": data})
            row.processed_at = now
            session.add(row)
            session.flush()
            answer, out = act_on_tap(session, roster, cal, now, key, data)
            write_outbox(session, out, self.sender_clock())
            row.payload = {"card": data, "answer": answer}
        return answer

    # -- timers --

    async def sweep_now(self) -> int:
        """Sweep at once; the scheduler then wakes the sweeper at the next due moment.
        Returns how many messages went into the outbox."""
        async with self._sweeping:
            count, wake = await asyncio.to_thread(self._sweep)
            self._plan(wake)
        if count:
            self._wake_sender.set()
        return count

    def sweep_once(self) -> int:
        """One sweep on the caller's thread (no wake-up planned); how many messages."""
        return self._sweep()[0]

    async def replan(self) -> None:
        """Read the next due moment again (after a write that may have made or moved a
        deadline row: the processor calls it after each batch). A follower has no
        scheduler: nothing to do."""
        if not self._leads:
            return
        async with self._sweeping:
            self._plan(await asyncio.to_thread(self._read_plan))

    def _replan_soon(self) -> None:
        """Replan without holding up the caller (the processor: a sweep may be running);
        requests that come meanwhile make one more replan, after. A no-op on a follower
        and once stopping."""
        if not self._leads or self._stop.is_set():
            return
        self._replan_wanted = True
        if self._replanning is None or self._replanning.done():
            self._replanning = asyncio.create_task(self._replans(), name="replan")

    async def _replans(self) -> None:
        while self._replan_wanted:
            self._replan_wanted = False
            try:
                await self.replan()
            except Exception:
                logger.exception("sweeper: reading the next due moment failed")

    async def _sweep_job(self) -> None:
        """The scheduler's job: an error goes to the log, with its traceback, and the next
        wake-up stays planned (the safety sweep, at the latest)."""
        try:
            await self.sweep_now()
        except Exception:
            logger.exception("sweeper: sweep failed")

    async def _kick(self) -> None:
        """The due job: start a sweep and return, so that the job is never still running
        when the sweep plans the next one (APScheduler would skip that one)."""
        task = asyncio.create_task(self._sweep_job(), name="sweep")
        self._kicked.add(task)
        task.add_done_callback(self._kicked.discard)

    def _sweep(self) -> tuple[int, dt.datetime | None]:
        """One sweep. The day's work (this and next month's filing rows, today's calendar
        warning planned) is done by the first sweep of each local day of ``clock``: the
        midnight job in production, the first step of a new day in the sandbox."""
        began = time.perf_counter()
        now = self.clock()
        roster, cal = self.world()
        day = now.astimezone(cal.tz).date()
        self.gate.wait_calm()
        with self.gate.hold(), self.db.transaction() as session:
            warning_at = self._warning_at
            if day != self._day:
                daily(session, roster, cal, now)
                warning_at = office_moment(session, roster, cal, now)
            out = sweep(session, roster, cal, now)
            if warning_at is not None and now >= warning_at:
                out += office_notices(session, roster, cal, now)
                warning_at = office_moment(session, roster, cal, now)
            count = write_outbox(session, out, self.sender_clock())
            wake = next_due(session, cal, now)
            lateness = repo.fired_lateness(session)
        self.metrics.sweep_duration.observe(time.perf_counter() - began)
        self.metrics.fired(lateness)
        # kept once committed: a failed sweep does the day's work again, and so does the
        # next sweep after a reload
        self._warning_at, self._swept_at = warning_at, now
        if roster is self.roster:
            self._day = day
        return count, self._earliest(wake)

    def _read_plan(self) -> dt.datetime | None:
        swept_at = self._swept_at or self.clock()
        with self.gate.hold(), self.db.sessions() as session:
            return self._earliest(next_due(session, self.world()[1], swept_at))

    def _earliest(self, wake: dt.datetime | None) -> dt.datetime | None:
        moments = (wake, self._warning_at)
        return min((m for m in moments if m is not None), default=None)

    def _plan(self, wake: dt.datetime | None) -> None:
        """Have the scheduler wake the sweeper at ``wake`` (a moment of ``clock``)."""
        self.next_wake = wake if self._leads else None  # a sweep that outlived the lease
        if self._scheduler is None or not self.timed:
            return
        if wake is None:
            if self._scheduler.get_job("due") is not None:
                self._scheduler.remove_job("due")
            return
        delay = max(0.0, (wake - self.clock()).total_seconds())
        self._scheduler.add_job(
            self._kick,
            DateTrigger(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)),
            id="due",
            misfire_grace_time=None,
            replace_existing=True,
        )

    # -- out --

    def record_outcome(self, session: Session, outcome: Outcome) -> None:
        """The sender's hook: what DingTalk did with a message an item tracks goes on the item,
        and its notices into the outbox, in the transaction that marks the message."""
        roster, cal = self.world()
        ctx = Ctx(session, roster, cal, self.clock())
        if outcome.item_id is None:  # a tracked file (a report's): see its purpose
            report_delivery.file_outcome(
                ctx, outcome.media_path, outcome.purpose, outcome.actor, outcome.error
            )
        else:
            delivery.record(ctx, outcome.item_id, outcome.purpose, outcome.actor, outcome.error)
        write_outbox(session, ctx.out, self.sender_clock())

    def wake(self) -> None:
        """Look at the inbox, the attachments to fetch and the outbox now (the sandbox moved
        its clock, say)."""
        self._wake_processor.set()
        self._wake_fetcher.set()
        self._wake_sender.set()

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until the inbox is processed, no attachment is due for fetching and the
        outbox is empty (tests, demo)."""
        async with asyncio.timeout(timeout):
            while True:
                pending = await asyncio.to_thread(self._pending_counts)
                if pending == (0, 0, 0):
                    return
                self._wake_processor.set()
                self._wake_fetcher.set()
                self._wake_sender.set()
                await asyncio.sleep(0.01)

    def _pending_counts(self) -> tuple[int, int, int]:
        with self.gate.hold(), self.db.sessions() as session:
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
        fetching = self.fetcher.pending_due() if self.fetcher is not None else 0
        return inbox or 0, outbox or 0, fetching
