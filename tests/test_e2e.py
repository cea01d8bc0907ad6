"""End to end: the real dingtalk-stream SDK and alibabacloud-dingtalk clients against the
local DingTalk, the whole bot in between, on a fake clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.local_dingtalk import OutboundMessage
from bot.sandbox import Sandbox
from config.roster import Roster, load_roster
from handlers import texts
from handlers.digest import deliverable
from handlers.workcal import WorkCalendar
from storage.models import Event, Item
from tests.fake_dingtalk import FakeDingTalk

SH = ZoneInfo("Asia/Shanghai")
EXAMPLE = Path(__file__).parent.parent / "config" / "examples" / "org.toml"
CAL = WorkCalendar()
TOWN_CID = "cid-town-chuansha"
ASKER = "town-chuansha-01"
PLACEHOLDER = "该政策咨询/问题已收到，经研判需集体讨论，我局将尽快在线下回复贵街道（镇）。"
FAST_RETRY = {"backoff_base": 0.02, "backoff_max": 0.1, "max_wait": 0.05}


@pytest.fixture
def roster() -> Roster:
    return load_roster(EXAMPLE)


def start_at(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SH)


@pytest.fixture
async def sandbox(
    roster: Roster, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Sandbox]:
    marker = request.node.get_closest_marker("start")
    start = start_at(marker.args[0] if marker else "2026-11-16 09:30")
    async with Sandbox(
        roster,
        CAL,
        db_url=f"sqlite:///{tmp_path}/e2e.db",
        start=start,
        sender_options=FAST_RETRY,
        local_dingtalk=FakeDingTalk,
    ) as box:
        yield box


def texts_in(messages: list[OutboundMessage], channel: str, target: str) -> list[str]:
    return [
        m.text
        for m in messages
        if m.channel == channel and (m.target == target or m.target == (target,))
    ]


def only(messages: list[OutboundMessage], channel: str, target: str) -> str:
    found = texts_in(messages, channel, target)
    assert len(found) == 1, (channel, target, [m.text for m in messages])
    return found[0]


def item_events(box: Sandbox, number: int) -> list[str]:
    with box.db.sessions() as session:
        return list(
            session.scalars(select(Event.action).where(Event.item_id == number).order_by(Event.id))
        )


async def test_happy_path(sandbox: Sandbox) -> None:
    out = await sandbox.town_says(
        "川沙新镇", "请问工地扬尘管控有什么新要求？", staff_id=ASKER, nick="李娜"
    )
    assert only(out, "session", TOWN_CID) == texts.town_received(1)
    office = only(out, "group", "cid-office")
    assert "#1" in office and "11月16日(周一) 14:00前甄别" in office

    out = await sandbox.person_says("u-admin", "分派 #1 大气处")
    assert "认领 1" in only(out, "oto", "u-air-clerk")
    assert "#1" in only(out, "group", "cid-air")
    out = await sandbox.person_says("u-air-clerk", "认领 １")
    assert "已认领" in only(out, "session", "cidlocal1to1u-air-clerk==")
    out = await sandbox.person_says("u-air-clerk", "答复 1 工地须落实六个百分百。")
    assert "【待审核】#1" in only(out, "oto", "u-air-head")
    out = await sandbox.person_says("u-air-head", "同意 1", group="cid-air")
    assert only(out, "session", "cid-air") == texts.approved_reply(1)
    reply = [m for m in out if m.target == TOWN_CID]
    assert len(reply) == 1 and reply[0].channel == "session"
    # DingTalk shows a mention where the text holds @userId (DINGTALK.md §6)
    head = "【答复】#1 11月16日(周一) 09:30提问：请问工地扬尘管控有什么新要求？"
    assert reply[0].text == f"@{ASKER} {head}\n工地须落实六个百分百。"
    assert reply[0].at_user_ids == (ASKER,)
    assert item_events(sandbox, 1) == [
        "received",
        "assigned",
        "claimed",
        "drafted",
        "approved",
        "replied",
    ]


async def test_reject_replies_to_the_town(sandbox: Sandbox) -> None:
    await sandbox.town_says("川沙新镇", "道路积水请协调", staff_id=ASKER, nick="李娜")
    out = await sandbox.person_says("u-admin", "退回 1 请联系区建交委")
    head = "【甄别结果】#1 11月16日(周一) 09:30提问：道路积水请协调"
    expected = f"@{ASKER} {head}\n经甄别，该事项非本机关职责范围。\n请联系区建交委"
    assert only(out, "session", TOWN_CID) == expected
    with sandbox.db.sessions() as session:
        item = session.get(Item, 1)
        assert item is not None and item.state == "rejected"


async def test_hard_case_placeholder_and_follow_ups(sandbox: Sandbox) -> None:
    await sandbox.town_says("川沙新镇", "河道黑臭，职责交叉")
    await sandbox.person_says("u-admin", "分派 1 水处")
    await sandbox.person_says("u-water-clerk", "认领 1")
    out = await sandbox.person_says("u-water-head", "疑难 1 需集体研判")
    # no staffId for this asker: no mention, the nick is named instead
    head = "【先行回复】#1 川沙新镇联络员 11月16日(周一) 09:30提问：河道黑臭，职责交叉"
    assert only(out, "session", TOWN_CID) == f"{head}\n{PLACEHOLDER}"
    # open, with a reminder every 2 working days until it is answered offline
    out = await sandbox.advance(dt.timedelta(days=2))
    follow = only(out, "oto", "u-water-clerk")
    assert follow.startswith("【疑难件跟踪】#1")
    assert only(out, "oto", "u-water-head") == follow
    out = await sandbox.advance(dt.timedelta(days=2))
    assert texts_in(out, "oto", "u-water-clerk") == [follow]
    await sandbox.person_says("u-water-clerk", "已线下答复 1 已协调")
    assert await sandbox.advance(dt.timedelta(days=7)) == []


@pytest.mark.start("2026-09-30 16:00")
async def test_on_the_real_calendar(sandbox: Sandbox) -> None:
    out = await sandbox.town_says("川沙新镇", "国庆前的咨询")
    assert "10月8日(周四) 11:30前甄别" in only(out, "group", "cid-office")
    await sandbox.person_says("u-admin", "分派 1 大气处")
    # Through the National Day holiday in 15-minute steps: nothing goes out off hours.
    sent: list[tuple[dt.datetime, OutboundMessage]] = []
    end = sandbox.clock.now + dt.timedelta(days=10)
    while sandbox.clock.now < end:
        for message in await sandbox.advance(dt.timedelta(minutes=15)):
            sent.append((sandbox.clock.now, message))
    assert sent
    for moment, message in sent:
        assert CAL.is_working_time(moment) or deliverable(CAL, moment, moment), (moment, message)
    # the unclaimed item climbed the ladder: dept head, then deputy, on their phones
    alerts = [(t, m) for t, m in sent if m.text.startswith("【超时督办】")]
    heads = [t for t, m in alerts if m.channel == "oto" and m.target == ("u-air-head",)]
    deputies = [t for t, m in alerts if m.channel == "oto" and m.target == ("u-deputy-1",)]
    assert len(heads) == 1 and len(deputies) == 1
    assert heads[0] == start_at("2026-10-08 11:30")
    assert deputies[0] == start_at("2026-10-08 16:00")  # half a working day later
    assert all(m.channel != "oto" or m.target != ("u-director",) for _, m in sent)


async def test_a_redelivered_frame_makes_one_item(sandbox: Sandbox) -> None:
    await sandbox.town_says("川沙新镇", "同一条消息", msg_id="msg-dup-1")
    out = await sandbox.town_says("川沙新镇", "同一条消息", msg_id="msg-dup-1")
    assert out == []
    with sandbox.db.sessions() as session:
        assert session.scalars(select(Item.id)).all() == [1]


async def test_not_in_roster_and_unknown_command(sandbox: Sandbox, roster: Roster) -> None:
    message_id = await sandbox.dingtalk.push_bot_message(
        "待办", sender_staff_id="u-stranger", conversation_type="1"
    )
    out = await sandbox._settle(message_id)
    assert [m.text for m in out] == [texts.NOT_IN_ROSTER]
    out = await sandbox.person_says("u-admin", "你好")
    assert [m.text for m in out] == [texts.UNKNOWN_COMMAND]


@pytest.mark.parametrize(
    "fault",
    ["qps", "500", "refused"],
)
async def test_faults_then_everything_arrives_in_order_once(sandbox: Sandbox, fault: str) -> None:
    dingtalk = sandbox.dingtalk
    if fault == "qps":
        dingtalk.fail_next(
            "/v1.0/robot/groupMessages/send",
            403,
            {
                "code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                "message": "qps",
                "requestid": "r1",
            },
            times=3,
        )
    elif fault == "500":
        dingtalk.fail_next("/v1.0/robot/groupMessages/send", 500, {"code": "x"}, times=2)
        dingtalk.fail_next("/v1.0/robot/oToMessages/batchSend", 500, {"code": "x"}, times=2)
    assert sandbox.app is not None
    if fault == "refused":
        # the bot is told of five items while DingTalk's API is unreachable
        await dingtalk.refuse_connections()
    for n in range(5):
        if fault == "refused":
            await sandbox.app.ingest(_payload(n))
        else:
            await sandbox.town_says("川沙新镇", f"第{n + 1}件")
    if fault == "refused":
        await dingtalk.accept_connections()
        await dingtalk.wait_connected(timeout=30, total=2)
    await sandbox.settle(timeout=30)
    office = [m.text for m in dingtalk.sent if m.target == "cid-office"]
    assert [t.split()[0] for t in office] == [f"【新@件】#{n}" for n in range(1, 6)]
    town = [m.text for m in dingtalk.sent if m.target == TOWN_CID]
    assert town == [texts.town_received(n) for n in range(1, 6)]
    if fault != "refused":  # the faults were met and retried
        calls = [r for r in dingtalk.requests_log if r.path == "/v1.0/robot/groupMessages/send"]
        assert len(calls) == 5 + (3 if fault == "qps" else 2)


def _payload(n: int) -> dict[str, object]:
    """An inbound message as the SDK hands it over (used while DingTalk is unreachable)."""
    return {
        "msgId": f"offline-{n}",
        "conversationId": TOWN_CID,
        "conversationType": "2",
        "senderNick": "李娜",
        "msgtype": "text",
        "text": {"content": f" 第{n + 1}件"},
    }


# --- issue 8: sent means accepted (3), bursts (11), after an outage (12) ---------------------

GROUP_SEND = "/v1.0/robot/groupMessages/send"


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (400, "robot.not.in.group", "机器人不在该群中"),
        (403, "Forbidden.AccessDenied.AccessTokenPermissionDenied", "没有发送权限"),
    ],
    ids=["400", "403"],
)
async def test_a_reply_dingtalk_refuses_is_shown_told_and_resent(
    sandbox: Sandbox, status: int, code: str, reason: str
) -> None:
    await sandbox.town_says("川沙新镇", "请问工地扬尘管控有什么新要求？", staff_id=ASKER)
    await sandbox.person_says("u-admin", "分派 1 大气处")
    await sandbox.person_says("u-air-clerk", "认领 1")
    await sandbox.person_says("u-air-clerk", "答复 1 工地须落实六个百分百。")
    await sandbox.advance(dt.timedelta(hours=2))  # the town's session webhook has expired
    # the reply falls back to the town's group, where the robot was removed
    sandbox.dingtalk.fail_next(GROUP_SEND, status, {"code": code, "message": "refused"})

    out = await sandbox.person_says("u-air-head", "同意 1")

    assert only(out, "session", "cidlocal1to1u-air-head==") == texts.approved_reply(1)
    assert texts_in(out, "group", TOWN_CID) == []
    failure = only(out, "oto", "u-air-head")
    assert failure.startswith("【答复未送达】#1 川沙新镇：发往川沙新镇直通车群的答复被钉钉拒收")
    assert f"{reason}（HTTP {status} {code}）" in failure and "重发 1" in failure
    assert only(out, "group", "cid-office") == failure
    assert texts_in(out, "oto", "u-air-clerk") == []  # not done yet
    assert item_events(sandbox, 1)[-2:] == ["approved", "reply_failed"]
    shown = only(await sandbox.person_says("u-admin", "查看 1"), "session", "cidlocal1to1u-admin==")
    assert shown.splitlines()[0].endswith("｜答复未送达")
    listed = await sandbox.person_says("u-admin", "发送失败")
    assert "#1 答复" in only(listed, "session", "cidlocal1to1u-admin==")
    with sandbox.db.sessions() as session:  # no answer yet, for 统计 too
        item = session.get(Item, 1)
        assert item is not None and item.replied_at is None

    # fixed (the robot is back in the group, the permission granted): the office resends
    out = await sandbox.person_says("u-admin", "重发 1")
    # the same message again (its webhook gone: to the group, naming the asker)
    head = "【答复】#1 川沙新镇联络员 11月16日(周一) 09:30提问：请问工地扬尘管控有什么新要求？"
    assert only(out, "group", TOWN_CID) == f"{head}\n工地须落实六个百分百。"
    assert texts.resending_reply(1, ["答复"]) in texts_in(out, "session", "cidlocal1to1u-admin==")
    assert only(out, "oto", "u-admin") == texts.delivered_notice("reply", 1, "川沙新镇")
    assert only(out, "oto", "u-air-clerk") == texts.answered_notice(1, "川沙新镇")
    assert item_events(sandbox, 1)[-2:] == ["resent", "replied"]
    with sandbox.db.sessions() as session:
        item = session.get(Item, 1)
        assert item is not None and item.replied_at == sandbox.clock.now


async def test_a_burst_of_items_does_not_bury_the_office(roster: Roster, tmp_path: Path) -> None:
    options = {**FAST_RETRY, "max_attempts": 10_000, "group_rate": (20, 0.5)}
    async with Sandbox(
        roster,
        CAL,
        db_url=f"sqlite:///{tmp_path}/burst.db",
        start=start_at("2026-11-16 09:30"),
        sender_options=options,
        local_dingtalk=FakeDingTalk,
    ) as box:
        assert box.app is not None
        # 37 items reach the bot while DingTalk's API is unreachable
        await box.dingtalk.refuse_connections()
        for n in range(37):
            await box.app.ingest(_payload(n))
        async with asyncio.timeout(30):  # every item made, while nothing can be sent
            while True:
                unprocessed, *_ = await asyncio.to_thread(box.app._pending_counts)
                if not unprocessed:
                    break
                await asyncio.sleep(0.01)
        await box.dingtalk.accept_connections()
        await box.settle(timeout=60)
        office = texts_in(box.dingtalk.sent, "group", "cid-office")
        numbers = [int(n) for text in office for n in re.findall(r"#(\d+) ", text)]
        assert sorted(numbers) == list(range(1, 38))  # each item in exactly one message
        # at most what the group's rate lets out went one by one (the sender may have taken
        # those before the rest came in); the rest went as a digest, not after a minute each
        assert len(office) <= 21
        assert any(text.startswith("【新@件·") for text in office)


async def test_after_a_jump_only_what_still_helps(sandbox: Sandbox) -> None:
    await sandbox.town_says("川沙新镇", "请问工地扬尘管控有什么新要求？")
    await sandbox.person_says("u-admin", "分派 1 大气处")
    assert sandbox.app is not None
    # the bot was down from Monday 09:30 to Wednesday 09:30 (or the sandbox clock jumped)
    sandbox.clock.advance(dt.timedelta(days=2))
    await sandbox.app.sweep_now()
    await sandbox.app.flush()
    out = sandbox.new_messages()
    assert not any("前认领" in m.text for m in out)
    assert texts_in(out, "oto", "u-air-clerk") == []
    assert only(out, "oto", "u-air-head").startswith("【超时督办】#1 川沙新镇：认领已超时")
    assert only(out, "oto", "u-deputy-1").startswith("【超时督办】#1 川沙新镇：认领已超时")
    office = only(out, "group", "cid-office")
    assert office.count("#1 ") == 1  # triage was met; claim told once
