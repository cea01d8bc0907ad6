"""The text-taking conversation (handlers/conversation.py) through the router, on SQLite and
PostgreSQL: a stem waits per person and chat, is completed, cancelled, replaced or expires; a
group never starts one."""

from __future__ import annotations

from itertools import count

from conftest import World
from sqlalchemy import select

from bot.incoming import IncomingMessage
from bot.router import handle
from handlers import texts
from handlers.effects import Outgoing
from storage.models import Item, PendingInput

_IDS = count()


def says(world: World, user: str, text: str, chat: str = "", kind: str = "1") -> list[Outgoing]:
    msg = IncomingMessage(
        msg_id=f"conv-{next(_IDS)}",
        conversation_id=chat or f"cid-1to1-{user}",
        conversation_type=kind,
        sender_id=user,
        sender_nick=user,
        text=text,
        msgtype="text",
        webhook=None,
        webhook_expires=None,
        created_at=None,
    )
    with world.db.transaction() as session:
        return handle(session, world.roster, world.cal, world.now, msg)


def replied(out: list[Outgoing], user: str) -> list[str]:
    return [m.text for m in out if m.target == user]


def draft(world: World, n: int) -> tuple[str, str | None]:
    with world.db.transaction() as session:
        item = session.get(Item, n)
        assert item is not None
        return item.state, item.draft


def waiting(world: World) -> list[tuple[str, str, str]]:
    with world.db.transaction() as session:
        rows = session.scalars(select(PendingInput).order_by(PendingInput.id))
        return [(r.user_id, r.conversation_id, r.command) for r in rows]


def test_a_stem_then_its_text(world: World) -> None:
    n = world.build("claimed")
    out = says(world, "u-air-clerk", f"答复 #{n}")
    assert replied(out, "u-air-clerk") == [texts.ask_for_text(f"答复 #{n}", "答复内容")]
    assert waiting(world) == [("u-air-clerk", "cid-1to1-u-air-clerk", f"答复 #{n}")]
    world.later(minutes=9)
    says(world, "u-air-clerk", "工地须落实六个百分百。")
    assert draft(world, n) == ("review", "工地须落实六个百分百。")
    assert waiting(world) == []


def test_expired_cancelled_and_replaced(world: World) -> None:
    n = world.build("claimed")
    says(world, "u-air-clerk", f"答复 {n}")
    world.later(minutes=10)
    out = says(world, "u-air-clerk", "工地须落实六个百分百。")
    assert replied(out, "u-air-clerk") == [texts.INPUT_EXPIRED]
    assert waiting(world) == [] and draft(world, n) == ("claimed", None)

    says(world, "u-air-clerk", f"答复 {n}")
    out = says(world, "u-air-clerk", "取消")
    assert replied(out, "u-air-clerk") == [texts.CANCELLED] and waiting(world) == []

    says(world, "u-air-clerk", f"答复 {n}")
    says(world, "u-air-clerk", f"答复 {n}")  # tapped twice: one wait
    assert len(waiting(world)) == 1
    out = says(world, "u-air-clerk", "待办")  # a command runs as itself
    assert replied(out, "u-air-clerk")[0].startswith("待办：")
    assert waiting(world) == []


def test_a_group_message_never_starts_a_wait(world: World) -> None:
    n = world.build("claimed")
    says(world, "u-air-clerk", f"答复 {n}", chat="cid-air", kind="2")
    assert waiting(world) == []


def test_the_wait_is_per_chat(world: World) -> None:
    n = world.build("claimed")
    says(world, "u-air-clerk", f"答复 {n}")
    out = says(world, "u-air-clerk", "工地须落实六个百分百。", chat="cid-other-1to1")
    assert replied(out, "u-air-clerk") == [texts.UNKNOWN_COMMAND]
    assert draft(world, n) == ("claimed", None)


def test_a_stem_is_refused_at_once_without_the_role_or_the_item(world: World) -> None:
    n = world.build("claimed")
    out = says(world, "u-air-head", f"答复 {n}")  # a head does not draft
    assert replied(out, "u-air-head") == [texts.not_allowed("答复", "处室内勤")]
    out = says(world, "u-air-clerk", "答复 99")
    assert replied(out, "u-air-clerk") == [texts.no_item(99)]
    assert waiting(world) == []


def test_a_rejection_without_a_note(world: World) -> None:
    """退回's 说明 is optional: its stem says so, and 「无」 rejects without one."""
    n = world.build("new")
    out = says(world, "u-admin", f"退回 {n}")
    assert replied(out, "u-admin") == [texts.ask_for_text(f"退回 {n}", "退回说明", True)]
    assert "「无」" in replied(out, "u-admin")[0]
    says(world, "u-admin", "无")
    item = world.item(n)
    assert (item.state, item.note) == ("rejected", None)


def test_only_a_decline_stem_names_a_tier(world: World) -> None:
    """不约谈 督1 一级 waits for its reason; 答复 12 一级 is a reply whose text is 一级."""
    n = world.build("claimed")
    says(world, "u-admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
    says(world, "u-admin", "亮灯 督1 黄 9月")
    says(world, "u-admin", "亮灯 督1 黄 10月")
    out = says(world, "u-admin", "不约谈 督1 一级")
    assert replied(out, "u-admin") == [texts.ask_for_text("不约谈 督1 一级", "不约谈的理由")]
    assert waiting(world) == [("u-admin", "cid-1to1-u-admin", "不约谈 督1 一级")]
    says(world, "u-air-clerk", f"答复 {n} 一级")
    assert draft(world, n) == ("review", "一级")
