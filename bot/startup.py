"""Start-up checks for the settings that point outside the process: DATABASE_URL and
BOT_CLOCK_FILE. Each is tried once; what is wrong becomes one line naming the setting
(a SettingsError), never a traceback, and never shows the database password."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from config.settings import SettingsError
from storage.db import Database, make_engine

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
URL_EXAMPLES = "e.g. sqlite:///data/bot.db or postgresql://USER:PASSWORD@HOST:5432/NAME"
CONNECT_TIMEOUT = 10  # seconds, PostgreSQL: an unreachable host is an error, not a hang


class DatabaseUnavailable(SettingsError):
    """DATABASE_URL cannot be used; the message names it and says why."""


def one_line(message: str, secret: str | None = None, limit: int = 300) -> str:
    """A driver's message on one line, with ``secret`` blotted out."""
    if secret:
        message = message.replace(secret, "***")
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def database_problem(
    url: str, exc: BaseException, what: str = "", name: str = "DATABASE_URL"
) -> str:
    """One line naming the setting ``name`` for a database error met while using it; ``what``
    (as "cannot migrate") goes before the reason."""
    try:
        parsed: URL | None = make_url(url)
    except (ArgumentError, ValueError):
        parsed = None
    shown = parsed.render_as_string(hide_password=True) if parsed is not None else "(unreadable)"
    secret = parsed.password if parsed is not None else None
    reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    detail = one_line(str(reason), str(secret) if secret else None)
    detail = detail.removeprefix("connection failed: ") or type(reason).__name__
    return f"{name} {shown}: " + (f"{what}: {detail}" if what else detail)


def open_database(url: str, name: str = "DATABASE_URL") -> Database:
    """The database at ``url``, once it has been reached and found writable; else
    DatabaseUnavailable naming the setting ``name`` and saying what is wrong."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseUnavailable(f"{name} is not a database URL ({URL_EXAMPLES})") from None
    shown = parsed.render_as_string(hide_password=True)
    secret = str(parsed.password) if parsed.password else None
    backend = "postgresql" if parsed.drivername == "postgres" else parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUnavailable(
            f"{name} {shown}: unsupported database {backend!r}, use sqlite or "
            f"postgresql ({URL_EXAMPLES})"
        )
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise DatabaseUnavailable(
            f"{name} {shown}: an in-memory SQLite database would lose everything; "
            f"give a file, e.g. sqlite:///data/bot.db"
        )
    try:
        _probe(url, backend)
        return Database(url)
    except DatabaseUnavailable:
        raise
    except (NoSuchModuleError, ImportError):
        raise DatabaseUnavailable(
            f"{name} {shown}: the driver {parsed.drivername!r} is not available; "
            f"use sqlite:/// or postgresql://"
        ) from None
    except OSError as exc:
        where = exc.filename or parsed.database
        raise DatabaseUnavailable(
            f"{name} {shown}: cannot create {where}: {exc.strerror or exc}"
        ) from None
    except DBAPIError as exc:
        what = (
            f"cannot write the database file {parsed.database}"
            if backend == "sqlite"
            else "cannot connect"
        )
        raise DatabaseUnavailable(database_problem(url, exc, what, name)) from None
    except (ArgumentError, ValueError, TypeError) as exc:
        raise DatabaseUnavailable(f"{name} {shown}: {one_line(str(exc), secret)}") from None


def migrate(db: Database, url: str) -> str:
    """Migrate to the latest revision; what stops it becomes DatabaseUnavailable."""
    from alembic.util import CommandError

    from storage.migrate import MigrationError

    try:
        return db.migrate()
    except (MigrationError, CommandError, DBAPIError) as exc:
        raise DatabaseUnavailable(database_problem(url, exc, "cannot migrate")) from None


def _probe(url: str, backend: str) -> None:
    """Connect once on an engine of its own and, on SQLite, try a write (rolled back)."""
    options: dict[str, Any] = {"poolclass": NullPool}
    if backend == "postgresql":
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    engine: Engine = make_engine(url, **options) if backend == "postgresql" else make_engine(url)
    try:
        with engine.connect() as connection:
            if backend == "sqlite":
                # make_engine's begin listener takes the write lock; setting the header
                # field to its own value is a write, which a read-only file refuses
                with connection.begin() as transaction:
                    version = connection.exec_driver_sql("PRAGMA user_version").scalar()
                    connection.exec_driver_sql(f"PRAGMA user_version = {int(version or 0)}")
                    transaction.rollback()
            else:
                connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()


# --- BOT_CLOCK_FILE ------------------------------------------------------------------------


class ClockFileError(ValueError):
    """The clock file cannot be read as an aware ISO 8601 time."""


def read_clock_file(path: Path) -> dt.datetime | None:
    """The time written in ``path``; None when the file is absent or empty."""
    try:
        content = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ClockFileError("not UTF-8 text") from None
    except OSError as exc:
        raise ClockFileError(f"cannot read it: {exc.strerror or exc}") from None
    if not content:
        return None
    try:
        moment = dt.datetime.fromisoformat(content)
    except ValueError:
        shown = content if len(content) <= 40 else content[:39] + "…"
        raise ClockFileError(
            f"{shown!r} is not a time as ISO 8601, e.g. 2026-11-16T09:30:00+08:00"
        ) from None
    if moment.utcoffset() is None:
        raise ClockFileError(f"{content!r} needs its UTC offset, e.g. +08:00")
    return moment


class FileClock:
    """The time written in a file (ISO 8601, aware), for rehearsals and the durability tests;
    real time while the file is absent or empty. A file that goes bad while running keeps
    the last good time (and says so in the log)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[int, dt.datetime | None] | None = None
        self._last: dt.datetime | None = None

    def __call__(self) -> dt.datetime:
        try:
            stamp = self.path.stat().st_mtime_ns
        except OSError:
            return _utc_now()
        if self._cache is None or self._cache[0] != stamp:
            try:
                moment = read_clock_file(self.path)
            except ClockFileError as exc:
                logger.error("BOT_CLOCK_FILE %s: %s; keeping the last good time", self.path, exc)
                moment = self._last
            self._cache = (stamp, moment)
            if moment is not None:
                self._last = moment
        return self._cache[1] or _utc_now()

    def check(self) -> None:
        """Raise SettingsError naming BOT_CLOCK_FILE when the file cannot be read."""
        try:
            read_clock_file(self.path)
        except ClockFileError as exc:
            raise SettingsError(f"BOT_CLOCK_FILE {self.path}: {exc}") from None


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def settings_clock(clock_file: Path | None) -> Clock:
    """The bot's clock: BOT_CLOCK_FILE when set (checked now), else real time."""
    if clock_file is None:
        return _utc_now
    clock = FileClock(clock_file)
    clock.check()
    return clock
