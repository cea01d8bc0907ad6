"""The fetcher: pictures and files towns sent, from DingTalk to BOT_FILES_DIR.

An item is made at once with its attachments pending (handlers.items.intake); this fetches each one
(DingTalk's robot message-file download, DINGTALK.md §10), writes it under the files
directory, marks it stored and lets handlers.intake forward it, in one transaction. A failed
download is retried with backoff; a claim is a lease, so a crash mid-download is retried
too. An attachment that cannot be fetched is given up (``failed``) after ``max_attempts`` or a
permanent error, and the office is told; the item is never touched by a failure.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final, Protocol

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from bot.dingtalk.errors import PermanentSendError, SendError, TransientSendError
from bot.logs import log_context
from bot.sender import utc_now
from config.roster import Roster
from config.settings import SettingsError
from handlers.closure import files as closure_files
from handlers.context import Ctx
from handlers.effects import Outgoing
from handlers.items import intake
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.gate import WriteGate
from storage.models import Attachment, Item

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
WriteOutbox = Callable[[Session, list[Outgoing], dt.datetime], object]
MAX_ERROR_CHARS: Final = 1000
# Picture formats by their first bytes: the stored file gets the right suffix.
_MAGIC: Final = (
    (b"\x89PNG", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF8", ".gif"),
    (b"BM", ".bmp"),
    (b"RIFF", ".webp"),
)


class Downloader(Protocol):
    async def download_message_file(self, download_code: str) -> bytes: ...


def prepare_files_dir(path: Path) -> Path:
    """The files directory, made if missing; SettingsError naming BOT_FILES_DIR when it
    cannot be made or written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SettingsError(
            f"BOT_FILES_DIR: cannot write to {path}: {exc.strerror or exc}"
        ) from None
    return path


def stored_name(attachment: Attachment, content: bytes) -> str:
    """Where the file goes, relative to the files directory: ``<item>/<id><suffix>`` (a
    督办事项's file: ``matters/<id><suffix>``). The sender's file name is only kept in the
    database, never used as a path."""
    suffix = ""
    if attachment.kind == "picture":
        suffix = next((s for magic, s in _MAGIC if content.startswith(magic)), ".jpg")
    else:
        raw = PurePosixPath(attachment.file_name.replace("\\", "/")).suffix.lower()
        if 1 < len(raw) <= 9 and raw[1:].isalnum() and raw[1:].isascii():
            suffix = raw
    folder = "matters" if attachment.item_id is None else str(attachment.item_id)
    return f"{folder}/{attachment.id}{suffix}"


@dataclass(frozen=True)
class _Claimed:
    id: int
    item_id: int | None  # None: a 督办事项's file (handlers.closure.files)
    kind: str
    file_name: str
    download_code: str
    attempts: int


def _owner(one: _Claimed) -> str:
    return "a matter" if one.item_id is None else f"#{one.item_id}"


class Fetcher:
    """Fetches pending attachments; each step is one short transaction (run in a thread)."""

    def __init__(
        self,
        db: Database,
        downloader: Downloader,
        files_dir: Path,
        roster: Roster,
        cal: WorkCalendar,
        write_outbox: WriteOutbox,
        *,
        clock: Clock = utc_now,
        retry_clock: Clock = utc_now,
        gate: WriteGate | None = None,
        max_attempts: int = 20,
        backoff_base: float = 2.0,
        backoff_max: float = 1800.0,
        lease: float = 300.0,
        max_wait: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._downloader = downloader
        self._dir = files_dir
        self._roster, self._cal = roster, cal
        self._write_outbox = write_outbox
        self._clock = clock  # the business clock: what items and messages say
        self._retry_clock = retry_clock  # real time: retries and leases
        self._gate = gate or WriteGate(exclusive=False)
        self._max_attempts = max_attempts
        self._backoff_base, self._backoff_max = backoff_base, backoff_max
        self._lease = dt.timedelta(seconds=lease)
        self._max_wait = max_wait
        self._random = rng or random.Random()
        self._in_flight = 0  # claimed and not yet settled (changed from two threads)
        self._count_lock = threading.Lock()

    async def run(self, stop: asyncio.Event, wake: asyncio.Event, sent: asyncio.Event) -> None:
        """Fetch until ``stop``; ``wake`` is set when new attachments were committed, ``sent``
        is set here when messages were written to the outbox."""
        while not stop.is_set():
            wake.clear()
            try:
                if await self.fetch_due():
                    sent.set()
                delay = await asyncio.to_thread(self._seconds_to_next)
            except Exception:
                logger.exception("fetcher: round failed")
                delay = self._max_wait
            waiters = [asyncio.ensure_future(e.wait()) for e in (stop, wake)]
            try:
                await asyncio.wait(
                    waiters,
                    timeout=min(max(delay, 0.01), self._max_wait),
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)

    async def fetch_due(self) -> int:
        """Try every due attachment once; returns how many were settled (stored or given up)."""
        claimed = await asyncio.to_thread(self._claim_due)
        results = await asyncio.gather(*(self._fetch(one) for one in claimed))
        return sum(results)

    def pending_due(self) -> int:
        """How many attachments are being fetched or waiting for a try now (App.flush)."""
        in_flight = self._in_flight  # before the query: a claim counts here first
        with self._gate.hold(), self._db.sessions() as session:
            return in_flight + len(session.scalars(self._due_query(self._retry_clock())).all())

    async def _fetch(self, one: _Claimed) -> bool:
        try:
            with log_context(item=one.item_id, attachment=one.id):
                return await self._try(one)
        finally:
            self._count(-1)

    def _count(self, change: int) -> None:
        with self._count_lock:
            self._in_flight += change

    async def _try(self, one: _Claimed) -> bool:
        try:
            content = await self._downloader.download_message_file(one.download_code)
            relative = await asyncio.to_thread(self._write, one, content)
        except SendError as exc:
            return await asyncio.to_thread(self._failed, one, exc)
        except OSError as exc:  # the files directory: worth trying again, and loud
            logger.error("fetcher: attachment %d: cannot write: %s", one.id, exc)
            return await asyncio.to_thread(self._failed, one, TransientSendError(str(exc)))
        except Exception as exc:  # a bug, not DingTalk: keep trying, bounded by max_attempts
            logger.exception("fetcher: attachment %d: unexpected error", one.id)
            error = TransientSendError(f"unexpected error: {exc!r}")
            return await asyncio.to_thread(self._failed, one, error)
        await asyncio.to_thread(self._stored, one, relative, len(content))
        return True

    # Files

    def _write(self, one: _Claimed, content: bytes) -> str:
        """Write the bytes durably under the files directory; returns the relative path."""
        probe = Attachment(id=one.id, item_id=one.item_id, kind=one.kind, file_name=one.file_name)
        relative = stored_name(probe, content)
        target = self._dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = target.with_name(target.name + ".part")
        with open(scratch, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(scratch, target)
        return relative

    # Database

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        self._gate.wait_calm()  # incoming messages first
        with self._gate.hold(), self._db.transaction() as session:
            yield session

    def _due_query(self, now: dt.datetime) -> Select[Attachment]:
        return (
            select(Attachment)
            .where(
                Attachment.state == "pending",
                or_(Attachment.next_attempt_at.is_(None), Attachment.next_attempt_at <= now),
            )
            .order_by(Attachment.id)
            .limit(50)
        )

    def _claim_due(self) -> list[_Claimed]:
        """Take due attachments with a lease: another fetcher skips them, and a crash
        mid-download leaves them to be tried again when the lease runs out."""
        now = self._retry_clock()
        lease = now + self._lease
        claimed: list[_Claimed] = []
        try:
            with self._transaction() as session:
                self._claim_rows(session, now, lease, claimed)
        except BaseException:
            self._count(-len(claimed))
            raise
        return claimed

    def _claim_rows(
        self, session: Session, now: dt.datetime, lease: dt.datetime, claimed: list[_Claimed]
    ) -> None:
        for row in session.scalars(self._due_query(now)).all():
            was = row.next_attempt_at
            taken = session.execute(
                update(Attachment)
                .where(
                    Attachment.id == row.id,
                    Attachment.state == "pending",
                    Attachment.next_attempt_at.is_(None)
                    if was is None
                    else Attachment.next_attempt_at == was,
                )
                .values(next_attempt_at=lease)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if not taken:
                continue  # another fetcher has it
            self._count(1)  # before the commit: App.flush never misses it
            claimed.append(
                _Claimed(
                    row.id, row.item_id, row.kind, row.file_name, row.download_code, row.attempts
                )
            )

    def _seconds_to_next(self) -> float:
        self._gate.wait_calm()
        with self._gate.hold(), self._db.sessions() as session:
            due = session.scalar(
                select(Attachment.next_attempt_at)
                .where(Attachment.state == "pending")
                .order_by(Attachment.next_attempt_at.is_(None).desc(), Attachment.next_attempt_at)
                .limit(1)
            )
            if due is None:
                pending = session.scalar(
                    select(Attachment.id).where(Attachment.state == "pending").limit(1)
                )
                return 0.0 if pending is not None else self._max_wait
        return (due - self._retry_clock()).total_seconds()

    def _settle(
        self, session: Session, one: _Claimed, **values: object
    ) -> Item | Attachment | None:
        """Lock the item's row (so an assignment in flight either sees this change or is
        seen by it: handlers.items.intake.of), then change the attachment if still pending.
        A 督办事项's file: its own row is locked (as 附件 locks it: it sees this change, or
        this sees the matter it was given). Returns the item, or the matter's attachment."""
        item = None
        if one.item_id is not None:
            item = session.get(Item, one.item_id, with_for_update=True, populate_existing=True)
        attachment = session.get(
            Attachment, one.id, populate_existing=True, with_for_update=one.item_id is None
        )
        if attachment is None or attachment.state != "pending":
            return None
        if item is None and one.item_id is not None:
            return None
        for name, value in values.items():
            setattr(attachment, name, value)
        return item if item is not None else attachment

    def _stored(self, one: _Claimed, relative: str, size: int) -> None:
        with self._transaction() as session:
            now = self._clock()
            item = self._settle(
                session,
                one,
                state="stored",
                path=relative,
                size=size,
                stored_at=now,
                attempts=one.attempts + 1,
                last_error=None,
            )
            if item is None:
                return
            self._forward(session, item, now)
        logger.info("fetcher: attachment %d of %s stored as %s", one.id, _owner(one), relative)

    def _failed(self, one: _Claimed, exc: SendError) -> bool:
        """Record a failed try; True when the attachment was given up."""
        attempts = one.attempts + 1
        error = str(exc)[:MAX_ERROR_CHARS] or type(exc).__name__
        give_up = isinstance(exc, PermanentSendError) or attempts >= self._max_attempts
        with self._transaction() as session:
            if give_up:
                item = self._settle(
                    session, one, state="failed", attempts=attempts, last_error=error
                )
                if item is not None:
                    self._forward(session, item, self._clock())
                logger.error(
                    "fetcher: attachment %d of %s given up after %d attempt(s): %s",
                    one.id,
                    _owner(one),
                    attempts,
                    error,
                )
                return True
            retry_after = exc.retry_after if isinstance(exc, TransientSendError) else None
            delay = self._backoff(attempts, retry_after)
            session.execute(
                update(Attachment)
                .where(Attachment.id == one.id, Attachment.state == "pending")
                .values(
                    attempts=attempts,
                    last_error=error,
                    next_attempt_at=self._retry_clock() + dt.timedelta(seconds=delay),
                )
            )
        logger.warning(
            "fetcher: attachment %d of %s: attempt %d failed, retrying in %.1f s: %s",
            one.id,
            _owner(one),
            attempts,
            delay,
            error,
        )
        return False

    def _forward(self, session: Session, item: Item | Attachment, now: dt.datetime) -> None:
        ctx = Ctx(session, self._roster, self._cal, now)
        if isinstance(item, Item):
            intake.settled(ctx, item)
        else:
            session.flush()
            closure_files.settled(ctx, item)
        self._write_outbox(session, ctx.out, self._retry_clock())

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return max(retry_after, 0.01) * self._random.uniform(1.0, 1.25)
        ceiling = min(self._backoff_max, self._backoff_base * 2.0 ** min(attempts - 1, 40))
        return max(self._random.uniform(ceiling / 2, ceiling), 0.01)
