"""Engines and sessions. The caller owns the session and the transaction, never a repository."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Base


def normalize_url(url: str) -> str:
    """Plain SQLAlchemy URLs work as written: ``postgresql://`` uses psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# Connection.execution_options(**{PLAIN_READ: True}): a connection that only reads, one
# statement at a time; on SQLite it does not take the write lock (BEGIN IMMEDIATE below).
PLAIN_READ = "dubanbot_plain_read"


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # SQLAlchemy, not the driver, starts transactions (so savepoints work) ...
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            if connection.get_execution_options().get(PLAIN_READ):
                return  # single reads (health, metrics): no write lock; WAL reads a snapshot
            # ... and takes the write lock at the start: a deferred transaction that reads,
            # then writes, fails at once with "database is locked" when another thread wrote
            # meanwhile, where an immediate one waits for the busy timeout.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def create_schema(engine: Engine) -> None:
    Base.metadata.create_all(engine)


class Database:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        """The models' tables by create_all, unversioned: for tests and the sandbox."""
        create_schema(self.engine)

    def migrate(self) -> str:
        """Upgrade to the latest revision (a no-op when there); a database made by create_all
        before migrations existed is stamped at the baseline first, when its tables match.
        Returns the revision; raises storage.migrate.MigrationError when it cannot."""
        from storage import migrate  # Alembic loads only when migrating

        return migrate.upgrade(self.engine)

    def current_revision(self) -> str | None:
        """The database's revision; None when unversioned (empty, or made by create_all)."""
        from storage import migrate

        return migrate.current(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed on success, rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
