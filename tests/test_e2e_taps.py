"""One tap (issue 10): through the real SDK against the local DingTalk, a 1:1 message's
``dtmd`` link sends its command back as the person who tapped it, and a stem that needs text
(答复 1) is completed by the person's next message, until it times out or is cancelled."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest

from bot.local_dingtalk import OutboundMessage
from bot.sandbox import Sandbox
from config.roster import load_roster
from handlers import texts
from handlers.workcal import WorkCalendar
from storage.models import Item
from tests.fake_dingtalk import FakeDingTalk

EXAMPLE = Path(__file__).parent.parent / "config" / "examples" / "org.toml"
START = dt.datetime(2026, 11, 16, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
LINK = re.compile(r"\[([^\]]+)\]\(dtmd://dingtalkclient/sendMessage\?content=([^)\s]+)\)")
CLERK_CHAT = "cidlocal1to1u-air-clerk=="


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(
        load_roster(EXAMPLE),
        WorkCalendar(),
        db_url=f"sqlite:///{tmp_path}/taps.db",
        start=START,
        sender_options={"backoff_base": 0.02, "backoff_max": 0.1, "max_wait": 0.05},
        local_dingtalk=FakeDingTalk,
    ) as box:
        yield box


def to_user(out: list[OutboundMessage], user: str) -> OutboundMessage:
    (message,) = [m for m in out if m.target == (user,)]
    return message


def links(message: OutboundMessage) -> dict[str, str]:
    """label → the text a tap sends."""
    return {label: unquote(content) for label, content in LINK.findall(message.text)}


def replies(out: list[OutboundMessage], chat: str) -> list[str]:
    return [m.text for m in out if m.channel == "session" and m.target == chat]


def state(box: Sandbox, number: int) -> tuple[str, str | None]:
    with box.db.sessions() as session:
        item = session.get(Item, number)
        assert item is not None
        return item.state, item.draft


async def assigned(box: Sandbox) -> list[OutboundMessage]:
    await box.town_says("川沙新镇", "请问工地扬尘管控有什么新要求？")
    return await box.person_says("u-admin", "分派 1 大气处")


async def test_the_clerk_taps_claim_in_the_assignment_notice(sandbox: Sandbox) -> None:
    notice = to_user(await assigned(sandbox), "u-air-clerk")
    assert notice.msg_key == "sampleMarkdown"
    assert notice.title is not None and notice.title.startswith("【待认领】#1")
    assert links(notice) == {"认领 #1": "认领 1", "查看 #1": "查看 1"}
    # the group is told where the actions are, without links
    (group,) = [m for m in sandbox.dingtalk.sent if m.target == "cid-air"]
    assert "dtmd://" not in group.text and texts.ACTIONS_IN_CHAT in group.text

    out = await sandbox.person_says("u-air-clerk", links(notice)["认领 #1"])  # the tap

    assert "已认领" in replies(out, CLERK_CHAT)[0]
    assert state(sandbox, 1)[0] == "claimed"


async def test_a_stem_asks_for_the_text_and_the_next_message_completes_it(
    sandbox: Sandbox,
) -> None:
    await assigned(sandbox)
    await sandbox.person_says("u-air-clerk", "认领 1")
    out = await sandbox.person_says("u-air-clerk", "答复 1")
    assert replies(out, CLERK_CHAT) == [texts.ask_for_text("答复 1", "答复内容")]
    assert state(sandbox, 1) == ("claimed", None)

    out = await sandbox.person_says("u-air-clerk", "工地须落实六个百分百。")

    assert state(sandbox, 1) == ("review", "工地须落实六个百分百。")
    review = to_user(out, "u-air-head")
    assert set(links(review).values()) == {"同意 1", "退改 1", "报分管 1", "疑难 1", "查看 1"}
    # the state is gone: the next message is an ordinary one again
    out = await sandbox.person_says("u-air-clerk", "工地须落实六个百分百。")
    assert replies(out, CLERK_CHAT) == [texts.UNKNOWN_COMMAND]


async def test_the_stem_times_out(sandbox: Sandbox) -> None:
    await assigned(sandbox)
    await sandbox.person_says("u-air-clerk", "认领 1")
    await sandbox.person_says("u-air-clerk", "答复 1")
    await sandbox.advance(dt.timedelta(minutes=11))

    out = await sandbox.person_says("u-air-clerk", "工地须落实六个百分百。")

    assert replies(out, CLERK_CHAT) == [texts.INPUT_EXPIRED]
    assert state(sandbox, 1) == ("claimed", None)


async def test_cancel_and_a_command_end_the_stem(sandbox: Sandbox) -> None:
    await assigned(sandbox)
    await sandbox.person_says("u-air-clerk", "认领 1")
    await sandbox.person_says("u-air-clerk", "答复 1")
    out = await sandbox.person_says("u-air-clerk", "取消")
    assert replies(out, CLERK_CHAT) == [texts.CANCELLED]
    out = await sandbox.person_says("u-air-clerk", "工地须落实六个百分百。")
    assert replies(out, CLERK_CHAT) == [texts.UNKNOWN_COMMAND]
    assert state(sandbox, 1) == ("claimed", None)
    # a command while a stem waits runs as itself, and ends the wait
    await sandbox.person_says("u-air-clerk", "答复 1")
    out = await sandbox.person_says("u-air-clerk", "查看 1")
    assert replies(out, CLERK_CHAT)[0].startswith("#1")
    out = await sandbox.person_says("u-air-clerk", "取消")
    assert replies(out, CLERK_CHAT) == [texts.NOTHING_TO_CANCEL]


async def test_the_stem_is_per_person_and_chat(sandbox: Sandbox) -> None:
    await assigned(sandbox)
    await sandbox.person_says("u-air-clerk", "认领 1")
    await sandbox.person_says("u-air-clerk", "答复 1")
    out = await sandbox.person_says("u-air-head", "工地须落实六个百分百。")  # someone else
    assert replies(out, "cidlocal1to1u-air-head==") == [texts.UNKNOWN_COMMAND]
    await sandbox.person_says("u-air-clerk", "工地须落实六个百分百。")
    assert state(sandbox, 1) == ("review", "工地须落实六个百分百。")


async def test_todo_lists_each_entry_with_its_links(sandbox: Sandbox) -> None:
    await assigned(sandbox)
    await sandbox.town_says("川沙新镇", "第二件")
    await sandbox.person_says("u-admin", "分派 2 大气处")
    out = await sandbox.person_says("u-air-clerk", "待办")
    (reply,) = [m for m in out if m.target == CLERK_CHAT]
    assert reply.msg_key == "markdown"
    lines = reply.text.split("\n\n")
    assert lines[0] == "待办："
    assert lines[1].startswith("#1 ") and links_of(lines[2]) == ["认领 1", "查看 1"]
    assert lines[3].startswith("#2 ") and links_of(lines[4]) == ["认领 2", "查看 2"]


def links_of(line: str) -> list[str]:
    return [unquote(content) for _, content in LINK.findall(line)]
