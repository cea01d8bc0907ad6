"""Files the bot makes for its readers: kept as ``Document`` rows in the same transaction as
the change that made them, and sent as robot file messages that name them."""

from __future__ import annotations

from typing import Literal

from handlers.context import Ctx
from handlers.effects import Outgoing
from storage.models import Document
from storage.outbox import document_media_path


def keep(ctx: Ctx, name: str, content: bytes, subject: str = "") -> Document:
    """Store a file the bot made; its id is known on return."""
    document = Document(
        name=name, subject=subject, content=content, created_at=ctx.now, created_by=ctx.actor
    )
    ctx.session.add(document)
    ctx.session.flush()
    return document


def send(
    ctx: Ctx,
    channel: Literal["group", "oto"],
    target: str,
    document: Document,
) -> None:
    """Send a kept document to a group chat or to one person as a file message."""
    ctx.send(
        Outgoing(
            channel, target, document.name, kind="file", media_path=document_media_path(document.id)
        )
    )
