"""One incoming message, one transaction: a town's @件, a command, or a polite refusal."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Final, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from bot.incoming import IncomingMessage
from config.roster import Roster
from handlers import conversation, texts
from handlers.context import Ctx
from handlers.dispatch import is_command, run_command
from handlers.effects import Fallback, Markdown, Outgoing, to_user
from handlers.items import intake, office
from handlers.workcal import WorkCalendar
from storage.models import Item

logger = logging.getLogger(__name__)

_ITEMS = cast(Table, Item.__table__)
SEEN: Final = select(_ITEMS.c.id).where(_ITEMS.c.source_msg_id == bindparam("msg_id")).limit(1)


def reply_to(msg: IncomingMessage, text: str) -> Outgoing:
    """A reply in the conversation the message came from (markdown for a Markdown reply)."""
    title = (text.heading or None) if isinstance(text, Markdown) else None
    # taps reach the bot from a 1:1 chat only (DINGTALK.md §10)
    actions = text.actions if isinstance(text, Markdown) and msg.conversation_type == "1" else ()
    text = str(text)
    fallback: Fallback
    if msg.conversation_type == "1":
        fallback, target = "oto", msg.sender_id or ""
    else:
        fallback, target = "group", msg.conversation_id
    if msg.webhook:
        return Outgoing(
            "session",
            msg.conversation_id,
            text,
            title,
            webhook=msg.webhook,
            webhook_expires=msg.webhook_expires,
            fallback_channel=fallback,
            fallback_target=target,
            actions=actions,
        )
    return Outgoing(fallback, target, text, title, actions=actions)


def reply_privately(user_id: str, text: str) -> Outgoing:
    """A reply in the person's 1:1 chat with the robot (markdown for a Markdown reply)."""
    if isinstance(text, Markdown):
        return to_user(user_id, str(text), text.heading or None, text.actions)
    return to_user(user_id, str(text))


def handle(
    session: Session, roster: Roster, cal: WorkCalendar, now: dt.datetime, msg: IncomingMessage
) -> list[Outgoing]:
    """What the bot does with one message; the caller owns the transaction."""
    ctx = Ctx(session, roster, cal, now, actor=msg.sender_id or "", msg_id=msg.msg_id)
    if msg.sender_id and msg.sender_id in roster.people:
        if msg.conversation_type == "2" and msg.conversation_id not in roster.bureau_groups:
            # A town's group (or another outside group): bureau answers never land there.
            # A command is answered 1:1; anything else is the person talking to the group.
            if msg.text is None or not is_command(msg.text):
                logger.info("no command: %s in %s", msg.sender_id, msg.conversation_id)
                return ctx.out
            outcome = run_command(ctx, msg.text)
            ctx.send(reply_privately(msg.sender_id, outcome.reply))
            return ctx.out
        text = msg.text or ""  # no text (a picture): asked for a command
        if msg.conversation_type == "1":  # a tapped stem asks for the text in the next message
            ctx.chat = msg.conversation_id
            turn = conversation.take(ctx, msg.conversation_id, text, is_command(text))
            if turn.reply is not None:
                ctx.send(reply_to(msg, turn.reply))
                return ctx.out
            text = turn.command or ""
        outcome = run_command(ctx, text)
        ctx.send(reply_to(msg, outcome.reply))
        return ctx.out
    town = roster.towns_by_conversation.get(msg.conversation_id)
    if town is not None and msg.conversation_type == "2":
        # Core, not ORM: no autoflush (new items are flushed by add_item), little overhead
        if session.connection().execute(SEEN, {"msg_id": msg.msg_id}).first() is not None:
            return []  # a redelivery that slipped past the inbox
        ctx.actor = ""
        if msg.msgtype in ("audio", "video"):
            ctx.send(reply_to(msg, texts.TEXT_PLEASE))
            return ctx.out
        if not msg.attachments and intake.blank(msg.text or ""):
            ctx.send(reply_to(msg, texts.EMPTY_ITEM))  # nothing to file: no item
            return ctx.out
        office.receive(
            ctx,
            town=town.name,
            text=msg.text or "",
            attached=msg.attachments,
            asker_id=msg.sender_id,
            asker_nick=msg.sender_nick,
            conversation_id=msg.conversation_id,
            conversation_type=msg.conversation_type,
            webhook=msg.webhook,
            webhook_expires=msg.webhook_expires,
        )
        return ctx.out
    ctx.send(reply_to(msg, texts.NOT_IN_ROSTER))
    return ctx.out
