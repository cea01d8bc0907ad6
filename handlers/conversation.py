"""The text-taking conversation: a tapped stem (``答复 12``) asks for the text, and the same
person's next message in that chat completes the command. The state is a row per person and
chat (storage.models.PendingInput) that expires; ``取消`` drops it, a command replaces it."""

from __future__ import annotations

import re

from sqlalchemy import delete, select

from handlers import texts
from handlers.context import Ctx
from handlers.dispatch import REGISTRY
from handlers.pending import TTL, Turn
from handlers.taps import NEEDS_TEXT
from storage import repo
from storage.models import PendingInput

CANCEL = "取消"
NONE = "无"  # for a stem whose text is optional (退回's 说明): go on without one
OPTIONAL_TEXT = frozenset({"退回"})
# the verb, the number, and a 约谈 proposal's tier (不约谈 督3 二级: only the verbs of TIERED)
STEM = re.compile(r"^\s*(" + "|".join(NEEDS_TEXT) + r")\s*(#?\d+|督\d+)(?:\s+([一二三]级))?\s*$")
TIERED = frozenset({"不约谈"})


def take(ctx: Ctx, chat: str, text: str, is_command: bool) -> Turn:
    """The message ``text`` from ``ctx.actor`` in ``chat``, given whether it is a command."""
    text = text.strip()
    key = (PendingInput.user_id == ctx.actor) & (PendingInput.conversation_id == chat)
    pending = ctx.session.scalar(select(PendingInput).where(key))
    if pending is not None:
        ctx.session.execute(delete(PendingInput).where(key))
        if pending.expires_at <= ctx.now:
            if not is_command and text != CANCEL:
                return Turn(reply=texts.INPUT_EXPIRED)
            pending = None
    if text == CANCEL:
        return Turn(reply=texts.CANCELLED if pending is not None else texts.NOTHING_TO_CANCEL)
    stem = STEM.match(text)
    if stem is not None and stem.group(3) and stem.group(1) not in TIERED:
        stem = None  # 答复 12 一级: the text is 一级
    if stem is not None:
        spec = REGISTRY.specs[stem.group(1)]
        if spec.roles and not ctx.roles.roles & set(spec.roles):  # refused now, not after
            return Turn(reply=texts.not_allowed(spec.name, spec.who))
        number = stem.group(2).lstrip("#")
        if number.isdigit() and repo.get_item(ctx.session, int(number)) is None:
            return Turn(reply=texts.no_item(int(number)))
        ctx.session.add(
            PendingInput(
                user_id=ctx.actor,
                conversation_id=chat,
                command=" ".join(g for g in stem.groups() if g),
                created_at=ctx.now,
                expires_at=ctx.now + TTL,
            )
        )
        ctx.session.flush()
        optional = stem.group(1) in OPTIONAL_TEXT
        what = NEEDS_TEXT[stem.group(1)]
        return Turn(reply=texts.ask_for_text(stem.group(0).strip(), what, optional))
    if pending is not None and not is_command and text:
        verb = pending.command.split(" ", 1)[0]
        if text == NONE and verb in OPTIONAL_TEXT:
            return Turn(command=pending.command)
        return Turn(command=f"{pending.command} {text}")
    return Turn(command=text)
