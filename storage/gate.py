"""Writers in this process, one at a time on SQLite, and incoming messages first.

SQLite has one write lock per database, and every transaction here takes it at BEGIN
(``storage.db``). A writer that finds it taken sleeps in SQLite's busy handler, polling with
growing sleeps, while the others take turns; the inbox, which DingTalk waits on for its ACK,
could sleep through several batches of the processor. The gate queues this process's writers
in Python instead: whoever holds it owns the write lock, and a waiting writer is woken the
moment it is free.

Incoming messages go first. From the moment one is announced until it is stored and about to
be acknowledged (:meth:`WriteGate.announce`, :meth:`WriteGate.settle`), and for ``quiet``
seconds after the last (they come in runs), the rest of the bot, which shares one interpreter
lock with the inbox, steps aside at its next safe point: the processor ends its batch between
two messages, the sender waits before its next delivery, other writers wait before taking
the gate. None of them waits longer than ``patience`` at a time, and one that had to wait
that long works through a stretch before it asks again: a flood of messages cannot stop the
bot from working through them.

On PostgreSQL writers do not exclude each other: only the precedence applies.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class WriteGate:
    def __init__(
        self, *, exclusive: bool = True, patience: float = 0.2, quiet: float = 0.002
    ) -> None:
        self.exclusive = exclusive
        self.patience = patience
        self.quiet = quiet
        self._cond = threading.Condition()
        self._busy = False
        self._urgent = 0  # incoming messages announced and not yet settled
        self._settled_at = 0.0  # when the last one was

    # Incoming messages

    @property
    def urgent(self) -> bool:
        """True while an incoming message waits to be stored: step aside when you can."""
        return self._urgent > 0

    def _calm_in(self) -> float:
        """Seconds until calm: none waiting, and none for ``quiet`` (messages come in runs)."""
        if self._urgent:
            return max(self.quiet, 0.0005)
        return self._settled_at + self.quiet - time.monotonic()

    def announce(self, count: int = 1) -> None:
        with self._cond:
            self._urgent += count

    def settle(self, count: int = 1) -> None:
        with self._cond:
            self._urgent -= count
            self._settled_at = time.monotonic()

    def wait_calm(self) -> bool:
        """Block until calm, at most ``patience``; True if calm."""
        deadline = time.monotonic() + self.patience
        while (pause := self._calm_in()) > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(pause, remaining))
        return True

    async def calm(self) -> bool:
        """:meth:`wait_calm` for a coroutine."""
        deadline = time.monotonic() + self.patience
        while (pause := self._calm_in()) > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(pause, remaining))
        return True

    # Writers

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the gate for one transaction (open it inside, commit before leaving)."""
        if not self.exclusive:
            yield
            return
        with self._cond:
            while self._busy:
                self._cond.wait()
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
