"""Who runs the clocks: one instance at a time on PostgreSQL, one process at all on SQLite.

PostgreSQL: :class:`Leadership` holds a session advisory lock on one dedicated connection (its
``application_name`` is ``dubanbot lease <pid>``, so an operator finds the leader in
``pg_stat_activity``). The lock lives exactly as long as that session: released by
:meth:`Leadership.release`, or by the server when the process dies (the kernel closes its
socket) or when the connection is found dead by TCP keepalives (a machine or network gone,
both sides probe: the server's ``tcp_keepalives_*`` settings are set for the session, the
client's in its connection parameters). The key is derived from the schema the bot's tables
are in (``current_schema()``): instances of one bot share it; bots in other schemas or
databases never compete.

The lease only says who sweeps; it is not what keeps a reminder from going twice: a deadline
row is claimed in the sweep's own transaction (``storage.repo.claim_deadline``), so a leader
that has just lost the lease and is finishing a sweep cannot double anything.

SQLite: :func:`lock_sqlite` takes an OS file lock (``flock`` on ``<db file>.lock``) for the
process's life; a second process on the same file is refused with one line.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from config.settings import SettingsError

logger = logging.getLogger(__name__)

# The session's lock key: a hash of this text and the schema the tables are in
KEY_TEXT: Final = "dubanbot lease "
APPLICATION: Final = "dubanbot lease"
CONNECT_TIMEOUT: Final = 10  # seconds
# The client notices a dead server or network within about idle + interval * count seconds,
# or tcp_user_timeout when data is unacknowledged; the server notices a dead client alike.
KEEPALIVE: Final = {"idle": 5, "interval": 2, "count": 3, "user_timeout_ms": 10_000}


class DatabaseLocked(SettingsError):
    """Another process uses this SQLite file (a storage-level DatabaseUnavailable)."""


def conninfo(url: str) -> str:
    """A libpq URI for a DATABASE_URL (``postgresql+psycopg://`` and query options kept)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class Leadership:
    """A PostgreSQL session advisory lock held on a dedicated connection: whoever holds it
    leads. Every method is blocking (call it in a thread) and safe from several threads."""

    def __init__(self, url: str, *, application_name: str | None = None) -> None:
        self._conninfo = conninfo(url)
        self._name = application_name or f"{APPLICATION} {os.getpid()}"
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._leading = False
        self._mutex = threading.Lock()

    @property
    def leading(self) -> bool:
        """True while this object holds the lock, as of the last acquire/still_held."""
        return self._leading

    def acquire(self) -> bool:
        """Try to take the lock, without waiting; True when this object holds it (already
        held: True). A database that cannot be reached is a False, logged."""
        with self._mutex:
            if self._leading:
                return True
            try:
                conn = self._connection()
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(hashtext(%s || current_schema()))", (KEY_TEXT,)
                ).fetchone()
            except psycopg.Error as exc:
                logger.warning("leader: cannot try the lease: %s", _first_line(exc))
                self._drop()
                return False
            self._leading = bool(row and row[0])
            return self._leading

    def still_held(self) -> bool:
        """Ask the server whether this session still holds the lock; False (and the lease
        given up) when the connection is gone or the lock is not there."""
        with self._mutex:
            if not self._leading or self._conn is None:
                self._leading = False
                return False
            try:
                row = self._conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                    " AND pid = pg_backend_pid() AND granted)"
                ).fetchone()
                held = bool(row and row[0])
            except psycopg.Error as exc:
                logger.warning("leader: the lease connection failed: %s", _first_line(exc))
                held = False
            if not held:
                self._drop()
            return held

    def release(self) -> None:
        """Give the lock up (if held) and close the connection; idempotent."""
        with self._mutex:
            if self._conn is not None and self._leading:
                try:
                    self._conn.execute(
                        "SELECT pg_advisory_unlock(hashtext(%s || current_schema()))",
                        (KEY_TEXT,),
                    )
                except psycopg.Error as exc:  # the session ends below: the lock with it
                    logger.warning("leader: unlocking failed: %s", _first_line(exc))
            self._drop()

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(
                self._conninfo,
                autocommit=True,
                application_name=self._name,
                connect_timeout=CONNECT_TIMEOUT,
                keepalives=1,
                keepalives_idle=KEEPALIVE["idle"],
                keepalives_interval=KEEPALIVE["interval"],
                keepalives_count=KEEPALIVE["count"],
                tcp_user_timeout=KEEPALIVE["user_timeout_ms"],
            )
            try:  # the server's side of the same probes (user-settable, per session)
                conn.execute(f"SET tcp_keepalives_idle = {KEEPALIVE['idle']}")
                conn.execute(f"SET tcp_keepalives_interval = {KEEPALIVE['interval']}")
                conn.execute(f"SET tcp_keepalives_count = {KEEPALIVE['count']}")
                conn.execute(f"SET tcp_user_timeout = {KEEPALIVE['user_timeout_ms']}")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        self._leading = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()


def take_inbox_turn(connection: Connection) -> None:
    """PostgreSQL: wait, in the caller's transaction, until no other instance is processing
    an inbox batch (a transaction advisory lock, let go at commit). The inbox is processed as
    by one process, in id order: no message twice, a chat's messages (a command, then the
    text it asked for) never side by side. SQLite (one process): nothing to do."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('dubanbot inbox ' || current_schema()))")
        )


@contextlib.contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """PostgreSQL: hold a session advisory lock while migrating, so that instances starting
    together migrate one after the other (the later ones find the schema current)."""
    try:
        conn = psycopg.connect(
            conninfo(url),
            autocommit=True,
            application_name=f"dubanbot migrate {os.getpid()}",
            connect_timeout=CONNECT_TIMEOUT,
        )
        conn.execute("SELECT pg_advisory_lock(hashtext('dubanbot migrate ' || current_schema()))")
    except psycopg.Error as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        raise SettingsError(
            f"DATABASE_URL {shown}: cannot take the migration lock: {_first_line(exc)}"
        ) from None
    with conn:
        yield  # the lock goes with the session


def leader_pid(url: str) -> int | None:
    """The process id (from its application_name) of the instance leading the bot at
    ``url``; None when none does. For operators and tests."""
    with psycopg.connect(conninfo(url), autocommit=True, connect_timeout=CONNECT_TIMEOUT) as c:
        row = c.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.objid::bigint = (hashtext(%s || current_schema())::bigint & 4294967295)"
            " AND a.application_name LIKE %s",
            (KEY_TEXT, f"{APPLICATION} %"),
        ).fetchone()
    if row is None:
        return None
    tail = str(row[0]).rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else None


def lock_sqlite(path: Path) -> IO[bytes]:
    """Lock ``<path>.lock`` for this process's life (keep the handle; the OS lets go when the
    process ends, however it ends). DatabaseLocked when another process holds it."""
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+b")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatabaseLocked(
            f"DATABASE_URL sqlite:///{path}: another bot process is using this file "
            "(SQLite allows one process); stop it, or use PostgreSQL to run several instances"
        ) from None
    except OSError as exc:
        handle.close()
        raise DatabaseLocked(
            f"DATABASE_URL sqlite:///{path}: cannot lock {lock_path}: {exc.strerror or exc}"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n".encode())
    handle.flush()
    return handle


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
