"""Schema migrations with Alembic, configured in code (no alembic.ini).

Every command runs on one connection of the application's engine, in one transaction (so the
SQLite pragmas and BEGIN IMMEDIATE apply, and a failed upgrade leaves nothing half done); the
connection reaches ``migrations/env.py`` through ``Config.attributes``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, create_engine, inspect, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
BASELINE = "0001"  # the schema that create_all made before migrations existed
VERSION_TABLE = "alembic_version"
_LOCK_KEY = int.from_bytes(b"dubanbot")  # PostgreSQL advisory lock: one migrator at a time


class MigrationError(Exception):
    """The database cannot be migrated as it is; the message says why."""


def alembic_config(
    connection: Connection, *, version_locations: tuple[Path, ...] = (), **attributes: Any
) -> Config:
    """An Alembic Config bound to ``connection``; ``attributes`` reach env.py."""
    config = Config(cmd_opts=argparse.Namespace(quiet=True, x=None))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join(map(str, (VERSIONS, *version_locations)))
    )
    url = connection.engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if importlib.util.find_spec("ruff") is not None:  # a developer's install: tidy new revisions
        config.set_section_option("post_write_hooks", "hooks", "ruff_fix ruff_format")
        for name, options in (
            ("ruff_fix", "check --fix --quiet"),
            ("ruff_format", "format --quiet"),
        ):
            config.set_section_option("post_write_hooks", f"{name}.type", "module")
            config.set_section_option("post_write_hooks", f"{name}.module", "ruff")
            config.set_section_option(
                "post_write_hooks", f"{name}.options", f"{options} REVISION_SCRIPT_FILENAME"
            )
    config.attributes["connection"] = connection
    config.attributes.update(attributes)
    return config


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """One connection in one transaction, committed when the block succeeds.

    Alembic sees the transaction already begun and runs inside it rather than managing its
    own. On SQLite, foreign keys are off meanwhile (batch ALTERs recreate tables that others
    reference; the pragma is a no-op inside a transaction, so it is set before BEGIN) and
    checked before the commit; on PostgreSQL an advisory lock keeps two starting bots apart.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            _driver_pragma(connection, "foreign_keys=OFF")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise MigrationError(f"foreign keys broken by the migration: {broken[:5]}")
        finally:
            if sqlite:
                _driver_pragma(connection, "foreign_keys=ON")


def _driver_pragma(connection: Connection, pragma: str) -> None:
    # On the DBAPI connection, so that SQLAlchemy does not begin a transaction first.
    connection.connection.driver_connection.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]


def head() -> str:
    revision = ScriptDirectory(
        str(MIGRATIONS), version_locations=[str(VERSIONS)]
    ).get_current_head()
    assert revision is not None
    return revision


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return current_revision(connection)


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Upgrade to ``revision``; a database made by create_all before migrations existed is
    stamped at the baseline first. Returns the revision the database is at."""
    with migrating(engine) as connection:
        if current_revision(connection) is None and _tables(connection):
            adopt(connection)
        command.upgrade(alembic_config(connection), revision)
        now = current_revision(connection)
        assert now is not None
        return now


def downgrade(engine: Engine, revision: str) -> str | None:
    with migrating(engine) as connection:
        command.downgrade(alembic_config(connection), revision)
        return current_revision(connection)


def adopt(connection: Connection) -> None:
    """Stamp at the baseline a database whose tables are the baseline's, else MigrationError."""
    have = _columns(connection)
    want = baseline_columns()
    if have != want:
        problems = [f"missing table {t}" for t in sorted(want.keys() - have.keys())]
        problems += [f"unexpected table {t}" for t in sorted(have.keys() - want.keys())]
        for table in sorted(want.keys() & have.keys()):
            problems += [f"missing column {table}.{c}" for c in sorted(want[table] - have[table])]
            problems += [
                f"unexpected column {table}.{c}" for c in sorted(have[table] - want[table])
            ]
        raise MigrationError(
            f"the database has tables but no {VERSION_TABLE}, and they are not those of "
            f"revision {BASELINE}: " + "; ".join(problems)
        )
    command.stamp(alembic_config(connection), BASELINE)


def baseline_columns() -> dict[str, set[str]]:
    """Table -> column names at the baseline revision, from a scratch in-memory SQLite."""
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as connection:
            command.upgrade(alembic_config(connection), BASELINE)
            return _columns(connection)
    finally:
        scratch.dispose()


def _tables(connection: Connection) -> list[str]:
    return [t for t in inspect(connection).get_table_names() if t != VERSION_TABLE]


def _columns(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in _tables(connection)}


def revision(
    message: str,
    *,
    version_path: Path = VERSIONS,
    target_metadata: MetaData | None = None,
) -> Path:
    """Autogenerate a revision: the models compared with a scratch SQLite at head. On SQLite
    Alembic renders batch operations, which work on PostgreSQL too. Returns the new file."""
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as connection:
            extra = () if version_path == VERSIONS else (version_path,)
            attributes = {} if target_metadata is None else {"target_metadata": target_metadata}
            config = alembic_config(connection, version_locations=extra, **attributes)
            command.upgrade(config, "head")
            script = command.revision(
                config,
                message,
                autogenerate=True,
                version_path=str(version_path),
                rev_id=_next_id(config),
            )
    finally:
        scratch.dispose()
    assert script is not None and not isinstance(script, list)
    return Path(script.path)


def _next_id(config: Config) -> str:
    numbers = [  # revisions are "0001" or "0002_topic"
        int(found.group())
        for script in ScriptDirectory.from_config(config).walk_revisions()
        if (found := re.match(r"\d+", script.revision))
    ]
    return f"{max(numbers, default=0) + 1:04d}"
