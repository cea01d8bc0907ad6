"""A person's next message in a 1:1 chat as the rest of a command (storage.models.PendingInput):
set by a command that needs more (a 销项 part, the file after ``附件 督3``), taken by
handlers.conversation. Here, apart from the conversation, so that families may use it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select

from handlers.context import Ctx
from storage.models import PendingInput

TTL = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Turn:
    """What to do with a message: answer ``reply`` at once, or run ``command``."""

    reply: str | None = None
    command: str | None = None


def _key(ctx: Ctx, chat: str):  # type: ignore[no-untyped-def]
    return (PendingInput.user_id == ctx.actor) & (PendingInput.conversation_id == chat)


def expect(ctx: Ctx, command: str) -> bool:
    """The actor's next message in this 1:1 chat completes ``command`` (within TTL); False
    when the command did not come from a 1:1 chat (nothing to wait in)."""
    if not ctx.chat:
        return False
    ctx.session.execute(delete(PendingInput).where(_key(ctx, ctx.chat)))
    ctx.session.add(
        PendingInput(
            user_id=ctx.actor,
            conversation_id=ctx.chat,
            command=command[:128],
            created_at=ctx.now,
            expires_at=ctx.now + TTL,
        )
    )
    ctx.session.flush()
    return True


def pop(ctx: Ctx, chat: str) -> PendingInput | None:
    """The actor's waiting command in ``chat``, removed; None when there is none or it
    expired."""
    pending = ctx.session.scalar(select(PendingInput).where(_key(ctx, chat)))
    if pending is None:
        return None
    ctx.session.execute(delete(PendingInput).where(_key(ctx, chat)))
    return pending if pending.expires_at > ctx.now else None
