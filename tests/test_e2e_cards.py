"""Interactive cards end to end (issue 10): with a card template, messages with actions go
as cards; a tap calls back over the real dingtalk-stream SDK from the local DingTalk, runs the
button's command as the tapper's own (the same role check), and the ACK and every other copy
show the card's new state. And the sandbox's ``/点``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import write_outbox
from bot.local_dingtalk import CardInstance
from bot.sandbox import Sandbox
from config.roster import Roster
from handlers import texts
from handlers.effects import Action, Outgoing
from storage.models import InboxMessage
from tests.fake_dingtalk import FakeDingTalk
from tests.test_e2e import CAL, FAST_RETRY, TOWN_CID, item_events, roster, start_at

__all__ = ["roster"]  # the fixture
TEMPLATE = "tpl-duban.schema"
APPROVE = (Action("同意 #1", "同意 1"), Action("退改 #1", "退改 1", needs_text=True))


@pytest.fixture
async def sandbox(roster: Roster, tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(
        roster,
        CAL,
        db_url=f"sqlite:///{tmp_path}/cards.db",
        start=start_at("2026-11-16 09:30"),
        sender_options=FAST_RETRY,
        local_dingtalk=FakeDingTalk,
        card_template_id=TEMPLATE,
    ) as box:
        yield box


async def queue(box: Sandbox, *messages: Outgoing) -> None:
    """Messages with actions, as the handlers write them, then sent."""
    with box.db.transaction() as session:
        write_outbox(session, messages, box.clock.now)
    await box.settle()
    box.new_messages()


def card_for(box: Sandbox, target: str, command: str) -> CardInstance:
    for card in box.dingtalk.cards_delivered():
        if command in card.data.get("actions", "") and target in [t for _, t in card.spaces]:
            return card
    raise AssertionError(f"no card with {command} for {target}")


async def drafted(box: Sandbox) -> None:
    await box.town_says("川沙新镇", "请问工地扬尘管控有什么新要求？", staff_id="t1", nick="李娜")
    await box.person_says("u-admin", "分派 #1 大气处")
    await box.person_says("u-air-clerk", "认领 1")
    await box.person_says("u-air-clerk", "答复 1 工地须落实六个百分百。")


def inbox_rows(box: Sandbox) -> int:
    with box.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(InboxMessage)) or 0


async def test_a_head_taps_agree_and_every_copy_shows_it(sandbox: Sandbox) -> None:
    await drafted(sandbox)
    text = "#1 待审核，今日17:00前\n工地须落实六个百分百。"
    await queue(
        sandbox,
        Outgoing("oto", "u-air-head", text, actions=APPROVE),
        Outgoing("oto", "u-air-clerk", text, actions=APPROVE),
        Outgoing("group", "cid-air", text, actions=APPROVE),
    )
    head = card_for(sandbox, "u-air-head", "同意 1")
    clerk = card_for(sandbox, "u-air-clerk", "同意 1")
    group = card_for(sandbox, "cid-air", "同意 1")
    assert head.template_id == TEMPLATE and head.callback_type == "STREAM"
    assert "#1" in head.data["title"] and "dtmd" not in head.data["content"]
    # a look changes nothing on the card: only the tapper sees the answer
    looked = await sandbox.dingtalk.tap(head.out_track_id, "查看 #1", "u-air-head")
    assert looked is not None and "cardData" not in looked
    assert "#1" in looked["userPrivateData"]["cardParamMap"]["status"]
    assert head.view()["status"] == "" and head.view()["actions"] != "[]"
    # recorded as cards, not as markdown with links
    assert not [m for m in sandbox.dingtalk.sent if "dtmd://" in m.text]

    # the first update of another copy fails: the outbox retries it
    assert isinstance(sandbox.dingtalk, FakeDingTalk)
    sandbox.dingtalk.fail_next("/v1.0/card/instances", 503)
    response = await sandbox.dingtalk.tap(head.out_track_id, "同意 #1", "u-air-head")
    await sandbox.settle()
    done = texts.card_done("赵处", "09:30", "同意")
    assert response is not None
    assert response["cardData"]["cardParamMap"] == {"status": done, "actions": "[]"}
    assert head.view()["status"] == done and head.view()["actions"] == "[]"
    assert head.view("u-air-head")["status"] == texts.approved_reply(1)  # the reply, to them
    reply = [m for m in sandbox.new_messages() if m.target == TOWN_CID]
    assert len(reply) == 1 and "工地须落实六个百分百。" in reply[0].text
    assert item_events(sandbox, 1)[-2:] == ["approved", "replied"]
    for copy in (clerk, group):
        updated = await sandbox.dingtalk.wait_card(
            copy.out_track_id, lambda c: c.view().get("status") == done
        )
        assert updated.view()["actions"] == "[]"

    # the stale button, tapped again: nothing changes, and the tapper is told why
    events = item_events(sandbox, 1)
    again = await sandbox.dingtalk.push_card_callback(
        head.out_track_id, "u-air-head", {"command": "同意 1"}
    )
    await sandbox.settle()
    assert again is not None and "cardData" not in again
    why = again["userPrivateData"]["cardParamMap"]["status"]
    assert why and why != done and "1" in why
    assert item_events(sandbox, 1) == events
    assert not [m for m in sandbox.new_messages() if m.target == TOWN_CID]
    assert head.view()["status"] == done and head.view("u-air-head")["status"] == why


async def test_a_callback_delivered_twice_acts_once(sandbox: Sandbox) -> None:
    await sandbox.town_says("川沙新镇", "请问工地扬尘管控有什么新要求？", staff_id="t1")
    await sandbox.person_says("u-admin", "分派 #1 大气处")
    await queue(
        sandbox, Outgoing("oto", "u-air-clerk", "#1 待认领", actions=(Action("认领 #1", "认领 1"),))
    )
    card = card_for(sandbox, "u-air-clerk", "认领 1")
    rows = inbox_rows(sandbox)
    first = await sandbox.dingtalk.tap(card.out_track_id, "认领 #1", "u-air-clerk", message_id="m1")
    await sandbox.settle()
    second = await sandbox.dingtalk.push_card_callback(
        card.out_track_id, "u-air-clerk", {"command": "认领 1"}, message_id="m1"
    )
    await sandbox.settle()
    assert first == second and first is not None
    assert first["cardData"]["cardParamMap"]["status"] == texts.card_done("孙内勤", "09:30", "认领")
    assert item_events(sandbox, 1).count("claimed") == 1
    assert inbox_rows(sandbox) == rows + 1  # stored once, by its callback id


async def test_a_forwarded_card_tapped_without_the_role_changes_nothing(sandbox: Sandbox) -> None:
    await drafted(sandbox)
    await queue(sandbox, Outgoing("oto", "u-air-head", "#1 待审核", actions=APPROVE))
    card = card_for(sandbox, "u-air-head", "同意 1")
    events = item_events(sandbox, 1)
    # the clerk got the card forwarded and taps 同意
    response = await sandbox.dingtalk.tap(card.out_track_id, "同意 #1", "u-air-clerk")
    await sandbox.settle()
    assert response is not None and "cardData" not in response
    refusal = response["userPrivateData"]["cardParamMap"]["status"]
    assert "同意" in refusal and refusal != texts.approved_reply(1)
    assert item_events(sandbox, 1) == events
    assert card.view()["actions"] != "[]" and card.view().get("status") == ""
    assert not [m for m in sandbox.new_messages() if m.target == TOWN_CID]
    # someone outside the roster: the same
    outsider = await sandbox.dingtalk.tap(card.out_track_id, "同意 #1", "u-stranger")
    assert outsider is not None
    assert outsider["userPrivateData"]["cardParamMap"]["status"] == texts.NOT_IN_ROSTER
    # a button that needs words sends the person to their 1:1 chat
    stem = await sandbox.dingtalk.tap(card.out_track_id, "退改 #1", "u-air-head")
    assert stem is not None
    assert stem["userPrivateData"]["cardParamMap"]["status"] == texts.card_needs_text("退改 1")
    assert item_events(sandbox, 1) == events


async def test_the_sandbox_taps_a_button_by_number(sandbox: Sandbox) -> None:
    await drafted(sandbox)
    with sandbox.db.transaction() as session:
        write_outbox(
            session,
            [Outgoing("oto", "u-air-head", "#1 待审核", actions=APPROVE)],
            sandbox.clock.now,
        )
    await sandbox.settle()
    shown = sandbox.show(sandbox.new_messages())
    assert "[1] 同意 #1  [2] 退改 #1" in "\n".join(shown)
    card = card_for(sandbox, "u-air-head", "同意 1")
    await sandbox.tap(1, "u-air-head")
    assert item_events(sandbox, 1)[-1] == "replied"
    assert card.view()["status"] == texts.card_done("赵处", "09:30", "同意")
    with pytest.raises(ValueError):
        await sandbox.tap(9, "u-air-head")


async def test_the_sandbox_taps_a_link_by_number(roster: Roster, tmp_path: Path) -> None:
    async with Sandbox(
        roster, CAL, db_url=f"sqlite:///{tmp_path}/links.db", start=start_at("2026-11-16 09:30")
    ) as box:
        await box.town_says("川沙新镇", "请问工地扬尘管控有什么新要求？", staff_id="t1")
        await box.person_says("u-admin", "分派 #1 大气处")
        box.new_messages()
        with box.db.transaction() as session:
            claim = (Action("认领 #1", "认领 1"), Action("查看 #1", "查看 1"))
            write_outbox(
                session, [Outgoing("oto", "u-air-clerk", "#1 待认领", actions=claim)], box.clock.now
            )
        await box.settle()
        shown = "\n".join(box.show(box.new_messages()))
        assert "[1] 认领 #1  [2] 查看 #1" in shown
        out = await box.tap(1, "u-air-clerk")  # the link's text, sent as the clerk in that chat
        assert item_events(box, 1)[-1] == "claimed"
        assert any("已认领" in m.text for m in out)


async def test_a_tap_whose_command_fails_is_answered_and_kept(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    await drafted(sandbox)
    card = card_for(sandbox, "u-air-head", "同意 1")

    def boom(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("bot.taps.run_command", boom)
    events = item_events(sandbox, 1)
    answer = await sandbox.dingtalk.tap(card.out_track_id, "同意 #1", "u-air-head", message_id="f1")
    assert answer is not None
    assert answer["userPrivateData"]["cardParamMap"]["status"] == texts.APOLOGY
    assert item_events(sandbox, 1) == events
    assert card.view()["actions"] != "[]"  # the buttons stay, to try again
