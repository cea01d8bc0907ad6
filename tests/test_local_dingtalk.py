"""The local DingTalk, driven by the real dingtalk-stream SDK and alibabacloud-dingtalk clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

import dingtalk_stream
import httpx
import pytest
import websockets
from alibabacloud_dingtalk.oauth2_1_0 import models as oauth_models
from alibabacloud_dingtalk.oauth2_1_0.client import Client as OAuthClient
from alibabacloud_dingtalk.robot_1_0 import models as robot_models
from alibabacloud_dingtalk.robot_1_0.client import Client as RobotClient
from alibabacloud_tea_util.models import RuntimeOptions
from Tea.exceptions import TeaException

from bot.dingtalk.sdk import point_sdk_at, tea_config
from tests.fake_dingtalk import FakeDingTalk

CLIENT_ID = "dingtestclient"
CLIENT_SECRET = "test-secret"
GROUP = "cidGroupA=="
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "WS_PROXY", "WSS_PROXY")


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))

    def __call__(self) -> datetime:
        return self.now


class RecordingHandler(dingtalk_stream.ChatbotHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.messages: asyncio.Queue[dingtalk_stream.ChatbotMessage] = asyncio.Queue()

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, str]:
        self.messages.put_nowait(dingtalk_stream.ChatbotMessage.from_dict(callback.data))
        return dingtalk_stream.AckMessage.STATUS_OK, "OK"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> AsyncIterator[FakeDingTalk]:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    async with FakeDingTalk(CLIENT_ID, CLIENT_SECRET, clock=clock) as dingtalk:
        yield dingtalk


async def stop_sdk(task: asyncio.Task[None]) -> None:
    """dingtalk-stream 0.24.3 swallows the first cancel and sleeps 10 s (DINGTALK.md §7.2)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.05)
    # Its keepalive and per-frame tasks are never cancelled by the SDK itself.
    current = asyncio.current_task()
    leftovers = [
        t
        for t in asyncio.all_tasks()
        if t is not current
        and getattr(t.get_coro(), "__qualname__", "").startswith("DingTalkStreamClient.")
    ]
    for t in leftovers:
        t.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


@pytest.fixture
async def sdk(server: FakeDingTalk) -> AsyncIterator[RecordingHandler]:
    """A real DingTalkStreamClient connected to the server; yields its chatbot handler."""
    previous = dingtalk_stream.utils.DINGTALK_OPENAPI_ENDPOINT
    point_sdk_at(server.endpoint)
    handler = RecordingHandler()
    client = dingtalk_stream.DingTalkStreamClient(
        dingtalk_stream.Credential(CLIENT_ID, CLIENT_SECRET)
    )
    client.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, handler)
    task = asyncio.create_task(client.start())
    try:
        await server.wait_connected()
        yield handler
    finally:
        await stop_sdk(task)
        point_sdk_at(previous)


async def open_stream(server: FakeDingTalk) -> websockets.ClientConnection:
    """A bare protocol client: open call, then the websocket."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{server.endpoint}/v1.0/gateway/connections/open",
            json={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "subscriptions": []},
        )
    response.raise_for_status()
    opened = response.json()
    return await websockets.connect(f"{opened['endpoint']}?ticket={quote_plus(opened['ticket'])}")


async def receive_frame(ws: websockets.ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return frame


async def test_sdk_receives_group_message_and_acks(
    server: FakeDingTalk, sdk: RecordingHandler
) -> None:
    message_id = await server.push_bot_message(
        "待办", sender_staff_id="u100", conversation_id=GROUP, at_user_ids=["u200"]
    )

    incoming = await asyncio.wait_for(sdk.messages.get(), 5)
    assert incoming.text.content == " 待办"  # the space the stripped @bot leaves
    assert incoming.sender_staff_id == "u100"
    assert incoming.conversation_id == GROUP
    assert incoming.conversation_type == "2"
    assert incoming.robot_code == CLIENT_ID
    assert [u.staff_id for u in incoming.at_users] == [None, "u200"]
    assert incoming.session_webhook.startswith(f"{server.endpoint}/robot/sendBySession?session=")
    assert incoming.session_webhook_expired_time - incoming.create_at == 90 * 60 * 1000

    ack = await server.wait_ack(message_id)
    assert ack["code"] == 200
    assert ack["headers"]["messageId"] == message_id
    assert json.loads(ack["data"]) == {"response": "OK"}
    assert server.open_calls[0].subscriptions == (
        ("CALLBACK", dingtalk_stream.ChatbotMessage.TOPIC),
    )

    # A redelivery (same msgId and messageId) is acknowledged again.
    await server.push_bot_message("待办", msg_id=incoming.message_id, message_id=message_id)
    assert (await asyncio.wait_for(sdk.messages.get(), 5)).message_id == incoming.message_id
    await server.wait_ack(message_id)
    assert len(server.acks_for(message_id)) == 2


async def test_ping_is_echoed_and_disconnect_reconnects(
    server: FakeDingTalk, sdk: RecordingHandler
) -> None:
    ping_id = await server.push_system_ping("opq-1")
    assert json.loads((await server.wait_ack(ping_id))["data"]) == {"opaque": "opq-1"}

    first = server.connection_log[0]
    await server.push_disconnect()
    second = await server.wait_connected(total=2)

    calls = server.open_calls
    assert len(calls) == 2
    assert calls[0].ticket != calls[1].ticket
    assert (first.ticket, second.ticket) == (calls[0].ticket, calls[1].ticket)
    assert [r.path for r in server.requests_log].count("/v1.0/gateway/connections/open") == 2


def _tea_round_trip(endpoint: str) -> tuple[str, list[str]]:
    config = tea_config(endpoint)
    token = (
        OAuthClient(config)
        .get_access_token(
            oauth_models.GetAccessTokenRequest(app_key=CLIENT_ID, app_secret=CLIENT_SECRET)
        )
        .body.access_token
    )
    robot = RobotClient(config)
    group_headers = robot_models.OrgGroupSendHeaders(x_acs_dingtalk_access_token=token)
    for key, param in (
        ("sampleText", {"content": "今日待办 3 件"}),
        ("sampleMarkdown", {"title": "督办日报", "text": "## 督办日报\n- 逾期 1 件"}),
    ):
        robot.org_group_send_with_options(
            robot_models.OrgGroupSendRequest(
                msg_key=key,
                msg_param=json.dumps(param, ensure_ascii=False),
                open_conversation_id=GROUP,
                robot_code=CLIENT_ID,
            ),
            group_headers,
            RuntimeOptions(),
        )
    oto = robot.batch_send_otowith_options(
        robot_models.BatchSendOTORequest(
            msg_key="sampleText",
            msg_param=json.dumps({"content": "请认领 #12"}, ensure_ascii=False),
            robot_code=CLIENT_ID,
            user_ids=["u1", "u2"],
        ),
        robot_models.BatchSendOTOHeaders(x_acs_dingtalk_access_token=token),
        RuntimeOptions(),
    )
    return token, list(oto.body.flow_controlled_staff_id_list)


def _tea_group_send(endpoint: str, token: str) -> None:
    RobotClient(tea_config(endpoint)).org_group_send_with_options(
        robot_models.OrgGroupSendRequest(
            msg_key="sampleText",
            msg_param='{"content":"x"}',
            open_conversation_id=GROUP,
            robot_code=CLIENT_ID,
        ),
        robot_models.OrgGroupSendHeaders(x_acs_dingtalk_access_token=token),
        RuntimeOptions(),
    )


async def test_tea_clients_send_and_see_faults(server: FakeDingTalk) -> None:
    server.throttle_oto(["u2"])
    token, flow_controlled = await asyncio.to_thread(_tea_round_trip, server.endpoint)

    assert flow_controlled == ["u2"]
    text, markdown, oto = server.sent
    assert (text.channel, text.target, text.msg_key, text.text) == (
        "group",
        GROUP,
        "sampleText",
        "今日待办 3 件",
    )
    assert (markdown.msg_key, markdown.title) == ("sampleMarkdown", "督办日报")
    assert markdown.text.startswith("## 督办日报")
    assert (oto.channel, oto.target, oto.text) == ("oto", ("u1",), "请认领 #12")
    assert server.sent_to_conversation(GROUP) == [text, markdown]
    assert server.sent_to_user("u1") == [oto] and server.sent_to_user("u2") == []
    assert text.seq < markdown.seq < oto.seq

    server.fail_next(
        "/v1.0/robot/groupMessages",
        403,
        {
            "code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
            "message": "qps limit",
            "requestid": "r1",
        },
    )
    with pytest.raises(TeaException) as caught:
        await asyncio.to_thread(_tea_group_send, server.endpoint, token)
    assert caught.value.code == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
    assert caught.value.statusCode == 403
    assert caught.value.data["statusCode"] == 403

    with pytest.raises(TeaException) as caught:
        await asyncio.to_thread(_tea_group_send, server.endpoint, "not-a-token")
    assert caught.value.code == "InvalidAuthentication"
    assert caught.value.data["statusCode"] == 401

    await asyncio.to_thread(_tea_group_send, server.endpoint, token)  # the fault was one-shot
    assert len(server.sent) == 4
    assert server.requests_log[-1].json["robotCode"] == CLIENT_ID


async def test_session_webhook_records_at_and_expires(
    server: FakeDingTalk, clock: FakeClock
) -> None:
    async with await open_stream(server) as ws:
        await server.push_bot_message("查看 12", sender_staff_id="u7", conversation_id=GROUP)
        frame = await receive_frame(ws)
    assert frame["type"] == "CALLBACK"
    assert isinstance(frame["data"], str)
    data = json.loads(frame["data"])
    assert data["createAt"] == int(clock.now.timestamp() * 1000)
    webhook = data["sessionWebhook"]
    reply = {
        "msgtype": "markdown",
        "markdown": {"title": "#12", "text": "已受理"},
        "at": {"atUserIds": ["u7"]},
    }

    async with httpx.AsyncClient() as http:
        ok = (await http.post(webhook, json=reply)).json()
        clock.now += timedelta(minutes=90)
        expired = await http.post(webhook, json=reply)

    assert ok == {"errcode": 0, "errmsg": "ok"}
    (message,) = server.sent
    assert (message.channel, message.target, message.msg_key) == ("session", GROUP, "markdown")
    assert (message.title, message.text, message.at_user_ids) == ("#12", "已受理", ("u7",))
    assert expired.status_code == 200
    assert expired.json()["errcode"] != 0
    assert len(server.sent) == 1
    assert server.requests_log[-1].json == reply


async def test_refused_connections_come_back_on_the_same_port(server: FakeDingTalk) -> None:
    endpoint = server.endpoint
    body = {"appKey": CLIENT_ID, "appSecret": CLIENT_SECRET}
    async with httpx.AsyncClient() as http:
        assert (await http.post(f"{endpoint}/v1.0/oauth2/accessToken", json=body)).is_success
        await server.refuse_connections()
        with pytest.raises(httpx.ConnectError):
            await http.post(f"{endpoint}/v1.0/oauth2/accessToken", json=body)
        await server.accept_connections()
        response = await http.post(f"{endpoint}/v1.0/oauth2/accessToken", json=body)
    assert server.endpoint == endpoint
    assert response.json()["expireIn"] == 7200


async def test_refusing_closes_open_streams(server: FakeDingTalk) -> None:
    async with await open_stream(server) as ws:
        await server.wait_connected()
        await server.refuse_connections()
        with pytest.raises(websockets.ConnectionClosedError) as caught:
            await asyncio.wait_for(ws.recv(), 5)
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1011
    assert server.connections == []
    await server.accept_connections()


async def test_drop_connections_uses_the_close_code(server: FakeDingTalk) -> None:
    async with await open_stream(server) as ws:
        await server.wait_connected()
        await server.drop_connections(code=1011)
        with pytest.raises(websockets.ConnectionClosedError) as caught:
            await asyncio.wait_for(ws.recv(), 5)
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1011


async def test_wrong_secret_and_used_ticket_are_rejected(server: FakeDingTalk) -> None:
    async with httpx.AsyncClient() as http:
        wrong = await http.post(
            f"{server.endpoint}/v1.0/gateway/connections/open",
            json={"clientId": CLIENT_ID, "clientSecret": "nope", "subscriptions": []},
        )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalidClientIdOrSecret"

    async with await open_stream(server):
        ticket = server.open_calls[-1].ticket
        uri = f"ws://127.0.0.1:{server.port}/connect?ticket={quote_plus(ticket)}"
        with pytest.raises(websockets.InvalidStatus):
            await websockets.connect(uri)


async def test_push_without_a_connection_times_out(server: FakeDingTalk) -> None:
    with pytest.raises(TimeoutError):
        await server.push_bot_message("hi", timeout=0.05)


async def test_one_to_one_message_and_reply(server: FakeDingTalk) -> None:
    async with await open_stream(server) as ws:
        await server.push_bot_message("待办", sender_staff_id="u9", conversation_type="1")
        data = json.loads((await receive_frame(ws))["data"])
        await ws.send(json.dumps({"code": 200, "headers": {"messageId": "x"}, "message": "OK"}))
        assert (await server.wait_ack("x"))["code"] == 200
    assert data["conversationType"] == "1"
    assert data["text"] == {"content": "待办"}
    assert "atUsers" not in data
    async with httpx.AsyncClient() as http:
        await http.post(data["sessionWebhook"], json={"msgtype": "text", "text": {"content": "无"}})
    message = await server.wait_for_sent(lambda m: m.channel == "session")
    assert server.sent_to_user("u9") == [message]
    assert message.text == "无"


async def test_spread_gives_each_open_connection_its_turn(server: FakeDingTalk) -> None:
    server.gateway.spread = True
    try:
        async with await open_stream(server) as first, await open_stream(server) as second:
            await server.wait_connected(total=2)
            for text in ("一", "二", "三", "四"):
                await server.push_bot_message(text)
            got = [
                [
                    json.loads((await receive_frame(ws))["data"])["text"]["content"].strip()
                    for _ in "12"
                ]
                for ws in (first, second)
            ]
    finally:
        server.gateway.spread = False
    assert sorted(got[0] + got[1]) == sorted(["一", "二", "三", "四"])
    assert len(got[0]) == len(got[1]) == 2


async def test_ping_every_sends_system_pings(clock: FakeClock) -> None:
    async with FakeDingTalk(CLIENT_ID, CLIENT_SECRET, clock=clock, ping_every=0.05) as server:
        async with await open_stream(server) as ws:
            frames = [await receive_frame(ws) for _ in range(2)]
            for frame in frames:
                assert (frame["type"], frame["headers"]["topic"]) == ("SYSTEM", "ping")
                ack = {
                    "code": 200,
                    "headers": {"messageId": frame["headers"]["messageId"]},
                    "message": "OK",
                    "data": frame["data"],
                }
                await ws.send(json.dumps(ack))
            ack_of_first = await server.wait_ack(frames[0]["headers"]["messageId"])
        opaque = json.loads(frames[0]["data"])["opaque"]
        assert json.loads(ack_of_first["data"]) == {"opaque": opaque}
        assert frames[0]["data"] != frames[1]["data"]
        assert server.gateway.pings >= 2
        assert server.pushed == []  # pings are not the test's frames


async def test_go_silent_stops_frames_and_pongs_without_closing(server: FakeDingTalk) -> None:
    old = await open_stream(server)
    try:
        await server.wait_connected()
        assert await server.go_silent() == 1
        with pytest.raises(TimeoutError):  # no live connection to push to
            await server.push_bot_message("丢了吗", timeout=0.1)
        pong = await old.ping()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pong, 0.3)
        with pytest.raises(TimeoutError):  # nothing at all, not even a close frame
            await asyncio.wait_for(old.recv(), 0.2)
        assert old.state is websockets.State.OPEN
        async with await open_stream(server) as new:  # a new connection works
            await server.wait_connected(total=2)
            await server.push_bot_message("新连接")
            data = json.loads((await receive_frame(new))["data"])
            assert data["text"]["content"].strip() == "新连接"
            await asyncio.wait_for(await new.ping(), 2)
        assert await server.go_silent() == 0  # the silent one is not counted twice
    finally:
        old.transport.abort()
