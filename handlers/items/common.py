"""What the @件 commands share: finding an item for a move, who may act on it, its timers and
log, and messages to its town."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from handlers import clocks, texts
from handlers.commands import Command
from handlers.context import CommandError, Ctx
from handlers.effects import Action, Fallback, Outgoing, to_user
from handlers.items import states
from storage import repo
from storage.models import Item

LEVELS = ("dept_head", "deputy", "director")


def find_item(ctx: Ctx, cmd: Command, action: str | None = None) -> Item:
    """The item a parsed command names (查看 N); see :func:`item_for`."""
    assert cmd.item is not None
    return item_for(ctx, cmd.item, cmd.name, action)


def item_for(ctx: Ctx, number: int, command: str, action: str | None = None) -> Item:
    """Item ``number``; with ``action``, refused unless the item's state allows that move
    (handlers.items.states.TRANSITIONS) for ``command``."""
    item = repo.get_item(ctx.session, number)
    if item is None:
        raise CommandError(texts.no_item(number))
    if action is not None and not states.can(item.state, action):
        raise CommandError(texts.wrong_state(item.id, item.state, command))
    return item


def require_department(
    ctx: Ctx,
    item: Item,
    *,
    clerk: bool = False,
    head: bool = False,
    deputy: bool = False,
    director: bool = False,
) -> None:
    roles = ctx.roles
    dept = item.department or ""
    if (
        (clerk and dept in roles.clerk_of)
        or (head and dept in roles.head_of)
        or (deputy and dept in roles.deputy_of)
        or (director and roles.has("director"))
    ):
        return
    raise CommandError(texts.not_your_department(item.id, item.department))


def review_level(ctx: Ctx, item: Item) -> int:
    """The highest review level the actor holds for the item's department (-1: none)."""
    roles, dept = ctx.roles, item.department or ""
    if roles.has("director"):
        return 2
    if dept in roles.deputy_of:
        return 1
    if dept in roles.head_of:
        return 0
    return -1


def plan(ctx: Ctx, item: Item, clock: str, start: dt.datetime, due: dt.datetime) -> None:
    plans = clocks.plan(ctx.cal, ctx.roster.rules, clock, start, due)
    # a late claim starts its windows in the past: reminders already due are moot
    plans = [p for p in plans if p.kind != "nag" or p.fire_at > ctx.now]
    repo.add_timers(
        ctx.session, item, ((p.clock, p.kind, p.step, p.due_at, p.fire_at) for p in plans)
    )


def log(ctx: Ctx, item: Item, action: str, detail: str = "") -> None:
    repo.log(ctx.session, item, ctx.now, ctx.actor or "bot", action, detail, ctx.msg_id)


def to_town(
    item: Item, text: str, mention: bool = False, fallback_text: str | None = None
) -> Outgoing:
    """A message in the town's conversation: the session webhook while it lives (it can
    @-mention the asker: the sender writes the mention), then the group (Open API group
    messages cannot @ anyone) with ``fallback_text`` when given."""
    at = (item.asker_id,) if mention and item.asker_id else ()
    target = item.conversation_id or ""
    fallback: Fallback = "oto" if item.conversation_type == "1" else "group"
    fallback_target = (item.asker_id or "") if fallback == "oto" else target
    if item.session_webhook:
        return Outgoing(
            "session",
            target,
            text,
            at_user_ids=at,
            webhook=item.session_webhook,
            webhook_expires=item.session_webhook_expires,
            fallback_channel=fallback,
            fallback_target=fallback_target,
            fallback_text=fallback_text if fallback_text != text else None,
        )
    return Outgoing(fallback, fallback_target, fallback_text or text)


def answer_town(ctx: Ctx, item: Item, kind: str, body: str) -> Outgoing:
    """An answer to the town (``kind``: reply, reject, placeholder), under a line that places
    it. The asker is @-mentioned while the session webhook lives, and named after that."""
    asked = ctx.when(item.received_at)

    def text(asker: str) -> str:
        return texts.town_answer(kind, item.id, asked, item.text, body, asker)

    mention = bool(item.asker_id and item.session_webhook)
    named = text(item.asker_nick or "")
    return to_town(item, text("") if mention else named, mention=mention, fallback_text=named)


def notify_people(
    ctx: Ctx, user_ids: Iterable[str], text: str, actions: tuple[Action, ...] = ()
) -> None:
    for user_id in dict.fromkeys(user_ids):
        ctx.send(to_user(user_id, text, actions=actions))
