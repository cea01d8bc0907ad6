"""The one outbound sender: delivers the outbox with retries and backoff, in order per chat,
within the group rate limits.

Handlers add rows with :func:`storage.outbox.enqueue` inside their own transaction; after the
commit, :class:`Sender` delivers them through a :class:`~bot.dingtalk.transport.Transport`
(:class:`~bot.dingtalk.client.DingTalkTransport` in production), leasing each row before it
is sent (delivery is at least once; see ``storage.outbox``).

A row an item tracks (``item_id``/``purpose``: a reply, rejection or placeholder to a town)
reports its outcome through the ``on_outcome`` hook, in the transaction that marks it sent or
failed. A group chat holding more due rows than its rate limit lets out now gets the rows that
carry digest lines merged into digests (the first row of each becomes it, the others are
marked ``merged`` into it), so a burst does not wait minute after minute.

Several instances: on PostgreSQL due rows are loaded, merged and claimed in one transaction,
``FOR UPDATE SKIP LOCKED`` (``storage.instances``); on SQLite loaded, then claimed
optimistically. Every group send first reserves a slot of the shared rate-limit window.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from bot import bursts
from bot.bursts import Chats, Merge
from bot.dingtalk import cards
from bot.dingtalk.actions import render_links
from bot.dingtalk.errors import (
    PermanentSendError,
    SendError,
    TransientSendError,
    WebhookExpired,
    clip,
)
from bot.dingtalk.transport import Media, Transport
from bot.logs import log_context
from bot.media import media_of
from handlers.effects import Action
from storage import outbox
from storage.db import Database
from storage.gate import WriteGate
from storage.instances import reserve_group_send
from storage.outbox import PendingRow

__all__ = ["Clock", "Outcome", "OutcomeHook", "Sender", "utc_now"]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Delivered rows are marked sent in batches: what was delivered within this many seconds.
# A crash within it sends them again once their lease runs out (at least once).
MARK_DELAY: Final = 0.005
HURRY: Final = 20  # deliveries in a row after the sender waited its longest for calm


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    """What became of a message an item records: ``error`` is None when DingTalk accepted it,
    else why it failed for good (after its retries)."""

    row_id: int
    item_id: int | None  # None: a tracked file message (its ``media_path``), not an item's
    purpose: str
    actor: str | None
    error: str | None
    media_path: str | None = None


# Called in the transaction that marks the row sent or failed; what it writes (the item's
# event, notices in the outbox) is committed with the mark, or not at all.
OutcomeHook = Callable[[Session, Outcome], None]


class _Contended(Exception):
    """Another sender claimed some of the rows first."""


class _RateLimited(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__(until)
        self.until = until


async def _wait_any(events: Sequence[asyncio.Event], timeout: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


class Sender:
    """Delivers due outbox rows: in id order per chat, with retries and a per-group limit."""

    def __init__(
        self,
        db: Database,
        transport: Transport,
        *,
        clock: Clock = utc_now,
        group_rate: tuple[int, float] = (20, 60.0),
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        max_attempts: int = 50,
        lease: float = 60.0,
        max_wait: float = 5.0,
        batch: int = 500,
        rng: random.Random | None = None,
        gate: WriteGate | None = None,
        files_dir: Path | None = None,
        on_outcome: OutcomeHook | None = None,
        card_template_id: str = "",  # messages with actions as cards (bot.dingtalk.cards)
    ) -> None:
        self._card_template = card_template_id
        self._db = db
        self._files_dir = files_dir  # where pictures and files to send are kept
        self._on_outcome = on_outcome
        self._gate = gate or WriteGate(exclusive=False)
        self._transport = transport
        self._clock = clock
        # messages a group may have within the period, counted by every instance
        self._rate = (group_rate[0], timedelta(seconds=group_rate[1]))
        # PostgreSQL: load and claim in one transaction, FOR UPDATE SKIP LOCKED
        self._skip_locked = db.engine.dialect.name == "postgresql"
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._max_attempts = max_attempts
        self._lease = timedelta(seconds=lease)  # longer than any one send may take
        self._max_wait = max_wait
        self._batch = batch
        self._random = rng or random.Random()
        # Rows delivered but not yet marked sent: written in batches by _write_marks. Until
        # then their lease keeps them from being sent again.
        self._marks: list[tuple[PendingRow, datetime]] = []
        self._marking: asyncio.Task[None] | None = None
        self._next_due: datetime | None = None  # when the next row falls due, if known
        self._stopping = asyncio.Event()  # run()'s stop: the rows not yet tried are given back
        self._mark_gathering = False

    async def send_due(self) -> int:
        """Send every due row, chats side by side, each chat in id order; return how many
        were delivered."""
        delivered = 0
        self._next_due = None
        try:
            while not self._stopping.is_set():
                lease = self._clock() + self._lease
                if self._skip_locked:  # loaded, merged and claimed at once
                    chats, next_due = await asyncio.to_thread(self._take_due, self._clock(), lease)
                    claims = [[True] * len(rows) for rows in chats]
                else:
                    chats, next_due, free = await asyncio.to_thread(self._load_due, self._clock())
                    if await asyncio.to_thread(self._merge, bursts.plan_merges(chats, free)):
                        continue  # the chats changed: read them again
                    claims = await asyncio.to_thread(self._claim_chats, chats, lease)
                if not chats:
                    self._next_due = next_due or self._clock() + timedelta(seconds=self._max_wait)
                    break
                counts = await asyncio.gather(
                    *(
                        self._send_chat(rows, claimed, lease)
                        for rows, claimed in zip(chats, claims, strict=True)
                    )
                )
                if not any(progress for progress, _ in counts):
                    break
                delivered += sum(n for _, n in counts)
                await self._flush_marks()
        finally:
            await self._flush_marks()
        return delivered

    async def _send_chat(
        self, rows: list[PendingRow], claimed: list[bool], lease: datetime
    ) -> tuple[bool, int]:
        """Send one chat's due rows in order, stopping at the first that is not delivered
        (a later message never overtakes an earlier one). Returns (progress, delivered)."""
        progress, delivered, hurry = False, 0, 0
        for index, row in enumerate(rows):
            if not claimed[index]:
                break  # another sender has it
            progress = True
            if hurry:
                hurry -= 1
            elif not await self._gate.calm():  # incoming messages first (storage.gate) ...
                hurry = HURRY  # ... but in a flood, a stretch before asking again
            if self._stopping.is_set() or self._clock() >= lease - self._lease / 2:
                # Stopping, or half the lease gone (a long chat, slow sends): the rest are given
                # back, due again at once, never sent after another instance may have taken them.
                tail = zip(rows[index:], claimed[index:], strict=True)
                await asyncio.to_thread(self._release, [r for r, mine in tail if mine], lease)
                break
            if not await self._process(row):
                tail = zip(rows[index + 1 :], claimed[index + 1 :], strict=True)
                rest = [r for r, mine in tail if mine]
                await asyncio.to_thread(self._release, rest, lease)
                break
            delivered += 1
        return progress, delivered

    async def run(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        """Send until ``stop`` is set; ``wake`` is set by whoever committed new rows."""
        self._stopping = stop
        while not stop.is_set():
            wake.clear()  # before sending, so rows committed meanwhile are not missed
            try:
                await self.send_due()
                if self._next_due is not None:  # what the last look at the outbox saw
                    delay = (self._next_due - self._clock()).total_seconds()
                else:
                    delay = await asyncio.to_thread(self._seconds_to_next, self._clock())
            except Exception:
                logger.exception("outbox: sending round failed")
                delay = self._max_wait
            await _wait_any((stop, wake), min(max(delay, 0.01), self._max_wait))

    # One row

    async def _process(self, row: PendingRow) -> bool:
        """Send a claimed row and record the outcome; True when delivered."""
        with log_context(outbox=row.id, item=row.item_id):  # on every line logged
            try:
                await self._deliver(row)
            except _RateLimited as limited:
                await asyncio.to_thread(self._defer, row.id, limited.until)
                return False
            except SendError as exc:
                await asyncio.to_thread(self._record_failure, row, exc, self._clock())
                return False
            except Exception as exc:  # a bug, not DingTalk: keep the row, bounded by max_attempts
                logger.exception("outbox #%d: unexpected error while sending", row.id)
                error = TransientSendError(clip(f"unexpected error: {exc!r}"))
                await asyncio.to_thread(self._record_failure, row, error, self._clock())
                return False
            self._marks.append((row, self._clock()))
            if self._marking is None or self._marking.done():
                self._marking = asyncio.create_task(self._write_marks())
            return True

    async def _write_marks(self, delay: float = MARK_DELAY) -> None:
        """Mark delivered rows sent, a batch to a transaction, until none is left; each
        batch is what was delivered during ``delay``."""
        while self._marks:
            self._mark_gathering = delay > 0
            try:
                await asyncio.sleep(delay)
            finally:
                self._mark_gathering = False
            batch, self._marks = self._marks, []
            try:
                await asyncio.to_thread(self._mark_sent, batch)
            except BaseException:
                self._marks[:0] = batch  # kept for the next try; the lease holds them
                raise

    async def _flush_marks(self) -> None:
        """Mark every delivered row sent now."""
        task, self._marking = self._marking, None
        if task is not None:
            if self._mark_gathering:
                task.cancel()  # only waiting: its rows are still in self._marks
            await asyncio.wait({task})
            if not task.cancelled() and task.exception() is not None:
                logger.error(
                    "outbox: marking rows sent failed; retrying", exc_info=task.exception()
                )
        if self._marks:
            await self._write_marks(delay=0)

    async def _deliver(self, row: PendingRow) -> None:
        carded = row.channel in ("oto", "group") and row.kind == "text"
        if row.actions and carded and self._card_template:
            await self._card(row)
            return
        plain = row
        if row.actions and row.kind == "text" and row.channel != "group":
            title, text = render_links(row.text, [Action(*a) for a in row.actions])
            row = replace(row, title=title, text=text)
        if row.channel == "group":
            await self._to_group(row.target, row)
        elif row.channel == "oto":
            await self._to_user(row.target, row)
        elif row.channel == "card":  # an update of a card's variables, as JSON
            await self._transport.update_card(row.target, json.loads(row.text))
        elif row.channel == "session":
            if not row.webhook:
                raise PermanentSendError("session reply without a webhook")
            try:
                await self._transport.send_session(
                    row.webhook,
                    row.text,
                    title=row.title,
                    at_user_ids=row.at_user_ids,
                    expires_at=row.webhook_expires,
                )
            except WebhookExpired as exc:
                if row.fallback_target is None:
                    raise
                # OrgGroupSend cannot @-mention (§6): the text goes as it is, or the
                # fallback's own text, which names the person instead.
                # Links only work in a 1:1 chat (§10): a group gets the plain text.
                base = row if row.fallback_channel == "oto" else plain
                fallback = replace(base, text=row.fallback_text) if row.fallback_text else base
                logger.info(
                    "outbox #%d: %s; sending to %s %s instead",
                    row.id,
                    exc,
                    row.fallback_channel,
                    row.fallback_target,
                )
                if row.fallback_channel == "group":
                    await self._to_group(row.fallback_target, fallback)
                elif row.fallback_channel == "oto":
                    await self._to_user(row.fallback_target, fallback)
                else:
                    raise PermanentSendError(
                        f"unknown fallback channel {row.fallback_channel!r}"
                    ) from exc
        else:
            raise PermanentSendError(f"unknown channel {row.channel!r}")

    async def _to_group(self, group: str, row: PendingRow) -> None:
        await self._reserve(group)
        if row.kind != "text":
            await self._transport.send_group_media(group, await self._media(row))
        else:
            await self._transport.send_group(group, row.text, title=row.title)

    async def _reserve(self, group: str) -> None:
        """Count a send to ``group`` in the shared window, or _RateLimited until a slot."""

        def reserve(now: datetime) -> datetime | None:
            with self._connection() as connection:
                return reserve_group_send(connection, group, now, *self._rate)

        if (until := await asyncio.to_thread(reserve, self._clock())) is not None:
            raise _RateLimited(until)

    async def _to_user(self, user_id: str, row: PendingRow) -> None:
        if row.kind != "text":
            result = await self._transport.send_oto_media([user_id], await self._media(row))
        else:
            result = await self._transport.send_oto([user_id], row.text, title=row.title)
        result.check(user_id)

    async def _card(self, row: PendingRow) -> None:
        """The row as an interactive card, recorded so that a tap can update every copy."""
        if row.channel == "group":
            await self._reserve(row.target)
        track, space, params, record = cards.for_row(row, self._clock())
        await self._transport.send_card(self._card_template, track, space, params)
        await asyncio.to_thread(self._record_card, record)

    def _record_card(self, record: cards.Json) -> None:
        with self._connection() as connection:
            outbox.record_card(connection, record)

    async def _media(self, row: PendingRow) -> Media:
        return await asyncio.to_thread(media_of, row, self._files_dir, self._connection)

    # Burst digests: a group chat with more waiting than its rate limit lets out

    def _merge(self, merges: list[Merge]) -> bool:
        """Write ``merges`` in one transaction (``bot.bursts.write_merges``); False (nothing
        changed) if another sender took any row meanwhile."""
        if not merges:
            return False
        try:
            with self._connection() as connection:
                if not bursts.write_merges(connection, merges):
                    raise _Contended  # roll back
        except _Contended:
            return False
        bursts.log_merges(merges)
        return True

    # Database, each call one short transaction (run in a thread)

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        self._gate.wait_calm()  # incoming messages first
        with self._gate.hold(), self._db.transaction() as session:
            yield session

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A transaction on a plain connection: for Core statements, no ORM session."""
        self._gate.wait_calm()
        with self._gate.hold(), self._db.engine.begin() as connection:
            yield connection

    def _load_due(self, now: datetime) -> tuple[Chats, datetime | None, dict[str, int]]:
        """SQLite: read the due chats in one transaction (``bot.bursts.load_due``)."""
        with self._connection() as connection:
            return bursts.load_due(connection, self._batch, now, self._rate)

    def _take_due(self, now: datetime, lease_until: datetime) -> tuple[Chats, datetime | None]:
        """PostgreSQL: load, merge and claim in one transaction (``bot.bursts.take_due``)."""
        with self._connection() as connection:
            chats, next_due, merges = bursts.take_due(
                connection, self._batch, now, lease_until, self._rate
            )
        bursts.log_merges(merges)
        return chats, next_due

    def _seconds_to_next(self, now: datetime) -> float:
        """Seconds until the next head-of-chat row is due (rate-limited rows included)."""
        with self._connection() as connection:
            due = outbox.next_head_due(connection)
        if due is None:
            return self._max_wait
        return (due - now).total_seconds()

    def _claim_chats(
        self, chats: list[list[PendingRow]], lease_until: datetime
    ) -> list[list[bool]]:
        """Take rows for sending, in one transaction; per chat, False for each row someone
        else changed since it was read (and for every row after it in its chat)."""
        everything = [row for rows in chats for row in rows]
        if not everything:
            return []
        try:
            with self._connection() as connection:  # all at once: one statement
                if outbox.claim(connection, everything, lease_until) == len(everything):
                    return [[True] * len(rows) for rows in chats]
                raise _Contended  # another sender took some: roll back, go row by row
        except _Contended:
            pass
        claims: list[list[bool]] = []
        with self._connection() as connection:
            for rows in chats:
                taken = 0
                for row in rows:
                    if outbox.claim(connection, [row], lease_until) != 1:
                        break
                    taken += 1
                claims.append([True] * taken + [False] * (len(rows) - taken))
        return claims

    def _release(self, rows: list[PendingRow], lease_until: datetime) -> None:
        """Give back claimed rows that were not tried, due as they were."""
        if not rows:
            return
        with self._connection() as connection:
            outbox.release(connection, rows, lease_until)

    def _defer(self, row_id: int, until: datetime) -> None:
        with self._connection() as connection:
            outbox.defer(connection, row_id, until)
        logger.debug("outbox #%d: group rate limit, waiting until %s", row_id, until)

    def _mark_sent(self, sent: list[tuple[PendingRow, datetime]]) -> None:
        """Mark delivered rows sent; for a row an item records, its outcome is written in the
        same transaction."""
        plain = [(r.id, at) for r, at in sent if not self._reports(r)]
        reported = [r for r, _ in sent if self._reports(r)]
        if not reported:
            with self._connection() as connection:
                outbox.mark_sent(connection, plain)
            return
        with self._transaction() as session:
            connection = session.connection()
            outbox.mark_sent(connection, plain)
            for row, at in sent:
                if not self._reports(row):
                    continue
                if outbox.mark_sent(connection, [(row.id, at)]) == 1:  # not marked already
                    self._report(session, row, None)

    def _reports(self, row: PendingRow) -> bool:
        tracked = row.item_id is not None or row.kind == "file"
        return self._on_outcome is not None and tracked and bool(row.purpose)

    def _report(self, session: Session, row: PendingRow, error: str | None) -> None:
        """Run the outcome hook in a savepoint: if it fails, the mark is kept regardless
        (better an unrecorded outcome than a message sent twice)."""
        assert self._on_outcome is not None and row.purpose
        outcome = Outcome(row.id, row.item_id, row.purpose, row.actor, error, row.media_path)
        savepoint = session.begin_nested()
        try:
            self._on_outcome(session, outcome)
            session.flush()
        except Exception:
            savepoint.rollback()
            logger.exception(
                "outbox #%d: recording the outcome for item %s failed", row.id, row.item_id
            )
        else:
            savepoint.commit()

    def _record_failure(self, row: PendingRow, exc: SendError, now: datetime) -> None:
        with self._transaction() as session:
            message = outbox.pending_message(session, row.id)
            if message is None:
                return
            message.attempts += 1
            message.last_error = clip(str(exc) or type(exc).__name__)
            if isinstance(exc, PermanentSendError) or message.attempts >= self._max_attempts:
                message.state = "failed"
                logger.error(
                    "outbox #%d to %s %s failed after %d attempt(s): %s",
                    row.id,
                    row.channel,
                    row.target,
                    message.attempts,
                    message.last_error,
                )
                if self._reports(row):
                    session.flush()
                    self._report(session, row, message.last_error)
                return
            retry_after = exc.retry_after if isinstance(exc, TransientSendError) else None
            delay = self._backoff(message.attempts, retry_after)
            message.next_attempt_at = now + timedelta(seconds=delay)
            logger.warning(
                "outbox #%d to %s %s: attempt %d failed, retrying in %.1f s: %s",
                row.id,
                row.channel,
                row.target,
                message.attempts,
                delay,
                message.last_error,
            )

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        """Seconds to wait: what the server asked (plus a little), else exponential jitter."""
        if retry_after is not None:
            return max(retry_after, 0.01) * self._random.uniform(1.0, 1.25)
        ceiling = min(self._backoff_max, self._backoff_base * 2.0 ** min(attempts - 1, 40))
        return max(self._random.uniform(ceiling / 2, ceiling), 0.01)
