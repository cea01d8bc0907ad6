"""Sent means accepted: what became of the messages to a town.

An item's reply, rejection and placeholder to the town are *tracked*: the sender reports
DingTalk's answer back (:func:`record`, in the transaction that marks the outbox row), and
only then does the item say the message was sent. A message refused for good is recorded on
the item (``答复未送达``), told at once to whoever caused it and to the office group, listed by
``发送失败`` with every other failed message, and sent again by ``重发`` once fixed.
"""

from __future__ import annotations

import dataclasses
from typing import cast

from config.roster import Roster
from handlers import texts
from handlers.args import ItemArg
from handlers.commands import Registry
from handlers.context import CommandError, Ctx
from handlers.effects import Channel, Fallback, Outgoing, to_group, to_user
from storage import repo
from storage.models import Item, OutboxMessage

router = Registry()

PURPOSES = ("reply", "reject", "placeholder")
SENT = {"reply": "replied", "reject": "reject_sent", "placeholder": "placeholder_sent"}
FAILED = {
    "reply": "reply_failed",
    "reject": "reject_failed",
    "placeholder": "placeholder_failed",
}
OFFICE_STAFF = ["office_admin", "office_head"]  # the office admin and its head
LIST_LIMIT = 20


def tracked(message: Outgoing, item: Item, purpose: str, actor: str | None) -> Outgoing:
    """``message`` to the town, with its outcome to be recorded on ``item``."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    return dataclasses.replace(message, item_id=item.id, purpose=purpose, actor=actor or None)


def record(ctx: Ctx, item_id: int, purpose: str, actor: str | None, error: str | None) -> None:
    """What DingTalk did with a tracked message (``error`` None: it accepted it): the item's
    event, and the notices to ``actor`` (and, on a failure, to the office group)."""
    item = repo.get_item(ctx.session, item_id)
    if item is None or purpose not in PURPOSES:
        return
    if error is None:
        late = (
            purpose == "placeholder"
            and item.placeholder_due is not None
            and item.placeholder_at is not None
            and item.placeholder_at > item.placeholder_due
        )
        repo.log(ctx.session, item, ctx.now, "bot", SENT[purpose], "late" if late else "")
        if purpose == "reply" and item.replied_at is None:
            item.replied_at = ctx.now  # resent after a failure: answered now
        if actor:
            ctx.send(to_user(actor, texts.delivered_notice(purpose, item.id, item.town)))
        if purpose == "reply" and item.draft_by and item.draft_by != actor:
            ctx.send(to_user(item.draft_by, texts.answered_notice(item.id, item.town)))
        return
    reason, advice = texts.send_failure(error)
    repo.log(ctx.session, item, ctx.now, "bot", FAILED[purpose], reason)
    if purpose == "reply":
        item.replied_at = None  # not answered until a resend reaches the town (统计)
    where = texts.chat_name("town", item.town)
    text = texts.delivery_failed(purpose, item.id, item.town, where, reason, advice)
    if actor:
        ctx.send(to_user(actor, text))
    ctx.send(to_group(ctx.roster.office.group, text))


def status(ctx: Ctx, item: Item) -> str:
    """``答复发送中`` or ``答复未送达`` (and the like) while the item's latest message to the
    town is not delivered; empty once it is."""
    found = repo.delivery(ctx.session, item)
    if found is None or found[1] not in ("pending", "failed"):
        return ""
    return texts.delivery_state(*found)


@router.command("重发", [ItemArg()], "重发未送达街镇的答复、退回答复或先行回复", ["office_admin"])
def resend(ctx: Ctx, item: Item) -> str:
    failed = repo.failed_town_messages(ctx.session, item)
    if not failed:
        raise CommandError(texts.nothing_to_resend(item.id))
    labels = []
    for row in failed:
        assert row.purpose is not None
        row.state = "resent"
        # the same message as before, to the same conversation (the sender falls back to the
        # group once the session webhook has expired)
        ctx.send(
            Outgoing(
                cast(Channel, row.channel),
                row.target,
                row.text,
                row.title,
                tuple(row.at_user_ids or ()),
                row.webhook,
                row.webhook_expires,
                cast(Fallback | None, row.fallback_channel),
                row.fallback_target,
                row.fallback_text,
                item_id=item.id,
                purpose=row.purpose,
                actor=ctx.actor or None,
            )
        )
        label = texts.DELIVERY_LABELS[row.purpose]
        labels.append(label)
        repo.log(ctx.session, item, ctx.now, ctx.actor or "bot", "resent", label, ctx.msg_id)
    return texts.resending_reply(item.id, labels)


@router.command("发送失败", [], "发送失败的消息：发给谁、为什么、怎么办", OFFICE_STAFF)
def failed_messages(ctx: Ctx) -> str:
    rows, count = repo.failed_messages(ctx.session, LIST_LIMIT)
    if not rows:
        return texts.NO_FAILED
    lines = [texts.failed_title(count)]
    for row in rows:
        reason, _ = texts.send_failure(row.last_error or "")
        if row.item_id is not None and row.purpose:
            what = f"{texts.item_ref(row.item_id)} {texts.DELIVERY_LABELS[row.purpose]}"
        else:
            what = texts.excerpt(row.text, 24)
        number = row.item_id if row.purpose else None
        lines.append(
            texts.failed_line(
                ctx.when(row.created_at), where(ctx.roster, row), what, reason, number
            )
        )
    if count > len(rows):
        lines.append(texts.failed_more(count - len(rows)))
    return "\n".join(lines)


def where(roster: Roster, row: OutboxMessage) -> str:
    """The chat a message was for, as the office knows it."""
    if row.channel == "oto":
        return texts.chat_name("person", roster.name(row.target))
    cid = row.target
    town = roster.towns_by_conversation.get(cid)
    if town is not None:
        return texts.chat_name("town", town.name)
    if cid == roster.office.group:
        return texts.chat_name("group", texts.OFFICE_NAME)
    dept = next((d for d in roster.data.departments if d.group == cid), None)
    if dept is not None:
        return texts.chat_name("group", dept.name)
    if row.fallback_channel == "oto" and row.fallback_target:
        return texts.chat_name("person", roster.name(row.fallback_target))
    return cid
