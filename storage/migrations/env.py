"""Alembic's environment: runs on the connection that storage.migrate puts in the Config."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, MetaData, TypeDecorator

from storage.models import Base

config = context.config


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Custom types (UTCDateTime) render as the type they store, so that revisions never
    import storage.models."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through storage.migrate, which passes a connection")
    target: MetaData = config.attributes.get("target_metadata", Base.metadata)
    context.configure(
        connection=connection,
        target_metadata=target,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER by copying the table
        render_item=render_item,
    )
    with context.begin_transaction():  # a no-op: storage.migrate began the transaction
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) mode is not supported")
run_migrations_online()
