"""Messages with actions as interactive cards (DINGTALK_CARD_TEMPLATE_ID): our card calls
against the local DingTalk, the card instances recorded, and no links in a group."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.dingtalk import cards
from bot.dingtalk.client import DingTalkTransport
from bot.dingtalk.errors import PermanentSendError, TransientSendError
from bot.sender import Sender
from handlers.effects import Action
from storage.db import Database
from storage.models import CardInstance
from tests.fake_dingtalk import FakeDingTalk
from tests.test_sender import CLIENT_ID, FakeClock, put, row

__all__ = ["clock", "db", "server", "transport"]
from tests.test_sender import clock, db, server, transport

ACTIONS = [("认领 #12", "认领 12", False), ("答复", "答复 12", True)]


async def test_actions_go_as_cards_to_users_and_groups(
    server: FakeDingTalk, transport: DingTalkTransport, db: Database, clock: FakeClock
) -> None:
    sender = Sender(db, transport, clock=clock, card_template_id="tpl.schema")
    text = "#12 待认领，今日16:00前\n川沙镇 张三"
    oto = put(db, clock, channel="oto", target="u1", text=text, actions=ACTIONS)
    put(db, clock, channel="group", target="cid-air", text=text, actions=ACTIONS)
    put(db, clock, channel="oto", target="u2", text="没有按钮")
    assert await sender.send_due() == 3
    assert {(m.channel, m.target, m.msg_key) for m in server.sent} == {
        ("oto", ("u1",), "interactiveCard"),
        ("group", "cid-air", "interactiveCard"),
        ("oto", ("u2",), "sampleText"),
    }  # each chat in its own order
    assert len(server.sent) == 3
    track = cards.track_id(oto, "u1", text)
    card = server.card(track)
    assert card is not None and card.template_id == "tpl.schema"
    assert card.callback_type == "STREAM" and card.spaces == [("IM_ROBOT", "u1")]
    assert card.data["title"] == "#12 待认领，今日16:00前"
    assert card.data["status"] == "" and "dtmd" not in card.data["content"]
    assert json.loads(card.data["actions"]) == [
        {"label": "认领 #12", "command": "认领 12"},
        {"label": "答复", "command": "答复 12"},
    ]
    assert row(db, oto).state == "sent"
    with db.transaction() as session:
        recorded = session.scalars(select(CardInstance).order_by(CardInstance.target)).all()
        assert [(c.channel, c.target, c.subject) for c in recorded] == [
            ("group", "cid-air", "12"),
            ("oto", "u1", "12"),
        ]
    # an update by key, as a tap on another copy makes
    await transport.update_card(track, cards.acted("已由 孙内勤 于 10:32 认领"))
    assert card.view()["actions"] == "[]" and card.view()["title"] == "#12 待认领，今日16:00前"


async def test_without_a_template_a_group_gets_no_links(
    server: FakeDingTalk, transport: DingTalkTransport, db: Database, clock: FakeClock
) -> None:
    sender = Sender(db, transport, clock=clock)
    put(db, clock, channel="group", target="cid-air", text="#12 待认领", actions=ACTIONS)
    assert await sender.send_due() == 1
    (group,) = server.sent
    assert group.msg_key == "sampleText" and group.text == "#12 待认领"
    assert not server.cards_delivered()


async def test_card_calls_retry_a_stale_token_and_sort_failures(
    server: FakeDingTalk, transport: DingTalkTransport
) -> None:
    params = cards.card_params("#1 待审核", [Action("同意 #1", "同意 1")])
    await transport.send_card("tpl", "t1", ("oto", "u1"), params)
    server.expire_tokens()  # a revoked token: fetched again, once
    await transport.update_card("t1", {"status": "x"})
    card = server.card("t1")
    assert card is not None and card.view()["status"] == "x"
    server.fail_next("/v1.0/card/instances", 503)
    with pytest.raises(TransientSendError):
        await transport.send_card("tpl", "t2", ("oto", "u1"), params)
    with pytest.raises(PermanentSendError, match="outTrackId"):
        await transport.send_card("tpl", "t1", ("group", "cid"), params)  # already exists
    with pytest.raises(PermanentSendError):
        await transport.update_card("nope", {"status": "x"})
    assert server.robot_code == CLIENT_ID
