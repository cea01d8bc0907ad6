"""The local DingTalk's interactive cards: create and deliver, update, and a button's callback
over the stream to the real SDK, whose ACK updates the card as DingTalk does (DINGTALK.md §3)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import dingtalk_stream
import httpx
import pytest

from bot.dingtalk.sdk import point_sdk_at
from bot.local_dingtalk import CARD_CALLBACK_TOPIC
from tests.fake_dingtalk import FakeDingTalk
from tests.test_local_dingtalk import CLIENT_ID, CLIENT_SECRET, stop_sdk

GROUP = "cidGroupA=="


class CardHandler(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    """Answers every tap with the status it names, for the tapper and for everyone."""

    def __init__(self) -> None:
        super().__init__()
        self.taps: list[dingtalk_stream.CardCallbackMessage] = []

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, Any]:
        tap = dingtalk_stream.CardCallbackMessage.from_dict(callback.data)
        self.taps.append(tap)
        command = tap.content["cardPrivateData"]["params"]["command"]
        return dingtalk_stream.AckMessage.STATUS_OK, {
            "cardUpdateOptions": {"updateCardDataByKey": True},
            "cardData": {"cardParamMap": {"status": f"{tap.user_id} 已{command}"}},
            "userPrivateData": {"cardParamMap": {"note": "你点了"}},
        }


@pytest.fixture
async def server() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk(CLIENT_ID, CLIENT_SECRET) as dingtalk:
        yield dingtalk


@pytest.fixture
async def sdk(server: FakeDingTalk) -> AsyncIterator[CardHandler]:
    previous = dingtalk_stream.utils.DINGTALK_OPENAPI_ENDPOINT
    point_sdk_at(server.endpoint)
    handler = CardHandler()
    client = dingtalk_stream.DingTalkStreamClient(
        dingtalk_stream.Credential(CLIENT_ID, CLIENT_SECRET)
    )
    client.register_callback_handler(dingtalk_stream.Card_Callback_Router_Topic, handler)
    task = asyncio.create_task(client.start())
    try:
        await server.wait_connected()
        yield handler
    finally:
        await stop_sdk(task)
        point_sdk_at(previous)


async def token(http: httpx.AsyncClient, server: FakeDingTalk) -> dict[str, str]:
    answer = await http.post(
        f"{server.endpoint}/v1.0/oauth2/accessToken",
        json={"appKey": CLIENT_ID, "appSecret": CLIENT_SECRET},
    )
    return {"x-acs-dingtalk-access-token": answer.json()["accessToken"]}


def card_body(track: str, space: str, **params: str) -> dict[str, Any]:
    actions = json.dumps([{"label": "认领 #12", "command": "认领 12"}], ensure_ascii=False)
    body: dict[str, Any] = {
        "cardTemplateId": "tpl.schema",
        "outTrackId": track,
        "cardData": {"cardParamMap": {"title": "#12 待认领", "actions": actions, **params}},
        "callbackType": "STREAM",
        "openSpaceId": space,
        "imGroupOpenDeliverModel": {"robotCode": CLIENT_ID},
        "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"},
    }
    return body


async def test_cards_are_delivered_updated_and_tapped(
    server: FakeDingTalk, sdk: CardHandler
) -> None:
    async with httpx.AsyncClient() as http:
        headers = await token(http, server)
        url = f"{server.endpoint}/v1.0/card/instances"
        one = await http.post(
            f"{url}/createAndDeliver",
            json=card_body("t1", "dtv1.card//IM_ROBOT.u1"),
            headers=headers,
        )
        assert one.json()["result"]["deliverResults"][0]["spaceId"] == "u1"
        # create, then deliver to a group
        body = card_body("t2", "")
        created = await http.post(url, json=body, headers=headers)
        assert created.json() == {"success": True, "result": "t2"}
        delivered = await http.post(
            f"{url}/deliver",
            json={**body, "openSpaceId": f"dtv1.card//IM_GROUP.{GROUP}"},
            headers=headers,
        )
        assert delivered.status_code == 200
        # values must be strings; an unknown card, a bad token are refused
        bad = card_body("t3", "dtv1.card//IM_ROBOT.u1")
        bad["cardData"]["cardParamMap"]["n"] = 1
        refused = await http.post(f"{url}/createAndDeliver", json=bad, headers=headers)
        assert refused.status_code == 400 and server.card("t3") is None
        gone = await http.put(url, json={"outTrackId": "nope", "cardData": {}}, headers=headers)
        assert gone.status_code == 400
        unauth = await http.put(url, json={"outTrackId": "t1"}, headers={})
        assert unauth.status_code == 401
        # an update replaces the public data, privateData is per user
        put = await http.put(
            url,
            json={
                "outTrackId": "t2",
                "cardData": {"cardParamMap": {"title": "#12 已认领", "actions": "[]"}},
                "privateData": {"u9": {"cardParamMap": {"note": "仅你可见"}}},
            },
            headers=headers,
        )
        assert put.status_code == 200
    assert [(m.channel, m.target, m.msg_key, m.title) for m in server.sent] == [
        ("oto", ("u1",), "interactiveCard", "#12 待认领"),
        ("group", GROUP, "interactiveCard", "#12 待认领"),
    ]
    t2 = server.card("t2")
    assert t2 is not None and t2.spaces == [("IM_GROUP", GROUP)]
    assert t2.view() == {"title": "#12 已认领", "actions": "[]"}
    assert t2.view("u9")["note"] == "仅你可见"

    response = await server.tap("t1", "认领 #12", "u1")
    assert response is not None
    tap = sdk.taps[0]
    assert (tap.card_instance_id, tap.user_id, tap.corp_id) == ("t1", "u1", server.corp_id)
    assert tap.content["cardPrivateData"]["params"] == {"command": "认领 12"}
    pushed = json.loads(server.pushed[-1]["data"])
    assert pushed["spaceType"] == "IM_ROBOT" and pushed["type"] == "actionCallback"
    assert server.pushed[-1]["headers"]["topic"] == CARD_CALLBACK_TOPIC
    t1 = server.card("t1")
    assert t1 is not None
    assert t1.view()["status"] == "u1 已认领 12"  # the ACK updated it by key
    assert t1.view()["title"] == "#12 待认领"
    assert t1.view("u1")["note"] == "你点了" and "note" not in t1.view("u2")
    with pytest.raises(ValueError, match="no button"):
        await server.tap("t1", "同意", "u1")
