"""The outbound sender against the local DingTalk (real Tea SDK), and respx for session webhooks."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
import respx
import websockets
from sqlalchemy import select

from bot.dingtalk.client import DingTalkTransport
from bot.dingtalk.errors import PermanentSendError, TransientSendError, WebhookExpired
from bot.local_dingtalk import OutboundMessage
from bot.sender import Sender
from storage.db import Database
from storage.models import OutboxMessage
from storage.outbox import enqueue
from tests.fake_dingtalk import FakeDingTalk

CLIENT_ID = "dingsenderclient"
CLIENT_SECRET = "sender-secret"
GROUP_A = "cidGroupA=="
GROUP_B = "cidGroupB=="
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "WS_PROXY", "WSS_PROXY")
GROUP_PATH = "/v1.0/robot/groupMessages/send"
OTO_PATH = "/v1.0/robot/oToMessages/batchSend"
TOKEN_PATH = "/v1.0/oauth2/accessToken"
SESSION_PATH = "/robot/sendBySession"
QPS_LIMIT = {"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "message": "qps limit"}


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db(tmp_path: Any) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/t.db")
    database.create_schema()
    yield database
    database.dispose()


@pytest.fixture
async def server(clock: FakeClock) -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk(CLIENT_ID, CLIENT_SECRET, clock=clock) as dingtalk:
        yield dingtalk


@pytest.fixture
async def transport(server: FakeDingTalk, clock: FakeClock) -> AsyncIterator[DingTalkTransport]:
    sending = DingTalkTransport(CLIENT_ID, CLIENT_SECRET, CLIENT_ID, server.endpoint, clock=clock)
    yield sending
    await sending.aclose()


@pytest.fixture
def sender(db: Database, transport: DingTalkTransport, clock: FakeClock) -> Sender:
    return Sender(db, transport, clock=clock)


def put(db: Database, clock: FakeClock, **fields: Any) -> int:
    with db.transaction() as session:
        message = enqueue(session, now=clock(), **fields)
        session.flush()
        return message.id


def rows(db: Database) -> list[OutboxMessage]:
    with db.transaction() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def row(db: Database, row_id: int) -> OutboxMessage:
    with db.transaction() as session:
        message = session.get(OutboxMessage, row_id)
        assert message is not None
        return message


def advance_to_next_attempt(db: Database, clock: FakeClock) -> None:
    """Move the clock to when the first pending row of some chat is due."""
    heads: dict[tuple[str, str], datetime] = {}
    for m in rows(db):
        if m.state == "pending":
            heads.setdefault((m.channel, m.target), m.next_attempt_at)
    clock.now = max(clock.now, min(heads.values()))


async def drain(sender: Sender, db: Database, clock: FakeClock, rounds: int = 30) -> None:
    """Send until nothing is pending, moving the clock to each next attempt."""
    for _ in range(rounds):
        await sender.send_due()
        if all(m.state != "pending" for m in rows(db)):
            return
        advance_to_next_attempt(db, clock)
    raise AssertionError("the outbox did not drain")


def texts(messages: list[OutboundMessage]) -> list[str]:
    return [m.text for m in messages]


def paths(server: FakeDingTalk) -> list[str]:
    return [r.path for r in server.requests_log]


async def session_webhook(
    server: FakeDingTalk, conversation_id: str, sender_staff_id: str = "u7"
) -> tuple[str, datetime]:
    """A real session webhook: a bot message pushed over a bare stream connection."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{server.endpoint}/v1.0/gateway/connections/open",
            json={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "subscriptions": []},
        )
    opened = response.json()
    uri = f"{opened['endpoint']}?ticket={quote_plus(opened['ticket'])}"
    async with websockets.connect(uri) as ws:
        await server.push_bot_message(
            "查看 12", sender_staff_id=sender_staff_id, conversation_id=conversation_id
        )
        data = json.loads(json.loads(await asyncio.wait_for(ws.recv(), 5))["data"])
    expires = datetime.fromtimestamp(data["sessionWebhookExpiredTime"] / 1000, UTC)
    return data["sessionWebhook"], expires


# Deliveries ----------------------------------------------------------------------------


async def test_group_oto_and_session_deliveries(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    webhook, expires = await session_webhook(server, GROUP_B)
    put(db, clock, channel="group", target=GROUP_A, text="今日待办 3 件")
    put(db, clock, channel="group", target=GROUP_A, text="## 日报\n- 逾期 1 件", title="督办日报")
    put(db, clock, channel="oto", target="u1", text="请认领 #12")
    put(
        db,
        clock,
        channel="session",
        target=GROUP_B,
        text="@u7 已受理",
        title="#12",
        at_user_ids=["u7"],
        webhook=webhook,
        webhook_expires=expires,
    )

    assert await sender.send_due() == 4

    text, markdown = server.sent_to_conversation(GROUP_A)
    assert (text.channel, text.msg_key, text.text, text.title) == (
        "group",
        "sampleText",
        "今日待办 3 件",
        None,
    )
    assert (markdown.msg_key, markdown.title, markdown.text) == (
        "sampleMarkdown",
        "督办日报",
        "## 日报\n- 逾期 1 件",
    )
    (oto,) = server.sent_to_user("u1")
    assert (oto.channel, oto.target, oto.msg_key, oto.text) == (
        "oto",
        ("u1",),
        "sampleText",
        "请认领 #12",
    )
    (reply,) = server.sent_to_conversation(GROUP_B)
    assert (reply.channel, reply.msg_key, reply.title, reply.text, reply.at_user_ids) == (
        "session",
        "markdown",
        "#12",
        "@u7 已受理",
        ("u7",),
    )
    assert all((m.state, m.sent_at, m.attempts) == ("sent", clock.now, 0) for m in rows(db))
    assert paths(server).count(TOKEN_PATH) == 1  # the token is cached
    assert await sender.send_due() == 0
    assert len(server.sent) == 4


async def test_qps_limit_then_success_is_delivered_once(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    row_id = put(db, clock, channel="group", target=GROUP_A, text="通知")
    server.fail_next(GROUP_PATH, 403, QPS_LIMIT)

    assert await sender.send_due() == 0
    waiting = row(db, row_id)
    assert (waiting.state, waiting.attempts) == ("pending", 1)
    assert "QpsLimit" in (waiting.last_error or "")
    # DingTalk's advice: wait about a second.
    delay = (waiting.next_attempt_at - clock.now).total_seconds()
    assert 1.0 <= delay <= 1.25
    clock.advance(0.5)
    assert await sender.send_due() == 0  # not due yet

    advance_to_next_attempt(db, clock)
    assert await sender.send_due() == 1
    assert texts(server.sent) == ["通知"]
    assert row(db, row_id).state == "sent"


async def test_server_errors_twice_then_success(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    row_id = put(db, clock, channel="oto", target="u1", text="提醒")
    server.fail_next(OTO_PATH, 500, times=2)

    await drain(sender, db, clock)

    assert texts(server.sent_to_user("u1")) == ["提醒"]
    done = row(db, row_id)
    assert (done.state, done.attempts) == ("sent", 2)
    assert paths(server).count(OTO_PATH) == 3


async def test_connection_refused_for_a_while_then_all_delivered_in_order(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    webhook, expires = await session_webhook(server, GROUP_B)
    plan = [
        ("group", GROUP_A, "A1"),
        ("oto", "u1", "U1"),
        ("group", GROUP_A, "A2"),
        ("group", GROUP_B, "B1"),
        ("oto", "u1", "U2"),
        ("group", GROUP_A, "A3"),
    ]
    await server.refuse_connections()
    for channel, target, text in plan:
        put(db, clock, channel=channel, target=target, text=text)
    put(
        db,
        clock,
        channel="session",
        target=GROUP_B,
        text="S1",
        webhook=webhook,
        webhook_expires=expires,
    )

    for _ in range(3):
        assert await sender.send_due() == 0
        advance_to_next_attempt(db, clock)
    assert server.sent == []
    errors = {m.last_error for m in rows(db) if m.attempts}
    assert errors and all(e and ("accessToken" in e or "session webhook" in e) for e in errors)

    await server.accept_connections()
    await drain(sender, db, clock)

    assert texts(server.sent_to_conversation(GROUP_A)) == ["A1", "A2", "A3"]
    assert texts(server.sent_to_user("u1")) == ["U1", "U2"]
    assert sorted(texts(server.sent_to_conversation(GROUP_B))) == ["B1", "S1"]  # two chats
    assert len(server.sent) == 7
    assert all(m.state == "sent" for m in rows(db))


async def test_flow_controlled_user_is_retried(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    throttled = put(db, clock, channel="oto", target="u1", text="给 u1")
    other = put(db, clock, channel="oto", target="u2", text="给 u2")
    server.throttle_oto(["u1"])

    assert await sender.send_due() == 1
    waiting = row(db, throttled)
    assert (waiting.state, waiting.attempts) == ("pending", 1)
    assert "flow-controlled" in (waiting.last_error or "")
    assert row(db, other).state == "sent"

    await drain(sender, db, clock)
    assert texts(server.sent_to_user("u1")) == ["给 u1"]


async def test_expired_webhook_falls_back_to_the_group_without_calling_it(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    webhook, expires = await session_webhook(server, GROUP_A)
    row_id = put(
        db,
        clock,
        channel="session",
        target=GROUP_A,
        text="@u7 已答复",
        title="#12 答复",
        at_user_ids=["u7"],
        webhook=webhook,
        webhook_expires=expires,
        fallback_channel="group",
        fallback_target=GROUP_A,
    )
    clock.now = expires + timedelta(seconds=1)

    assert await sender.send_due() == 1

    (message,) = server.sent_to_conversation(GROUP_A)
    assert (message.channel, message.msg_key, message.title, message.text) == (
        "group",
        "sampleMarkdown",
        "#12 答复",
        "@u7 已答复",
    )
    assert message.at_user_ids == ()
    assert SESSION_PATH not in paths(server)
    assert row(db, row_id).state == "sent"


async def test_fallback_sends_its_own_text_naming_the_asker(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    """A session reply @-mentions the asker; once its webhook has expired, the group message
    (which cannot @ anyone) carries the fallback text, which names them."""
    webhook, expires = await session_webhook(server, GROUP_A)
    common: dict[str, Any] = {
        "channel": "session",
        "target": GROUP_A,
        "at_user_ids": ["u7"],
        "webhook": webhook,
        "webhook_expires": expires,
        "fallback_channel": "group",
        "fallback_target": GROUP_A,
        "fallback_text": "【答复】#12 李娜 提问：……\n答复内容",
    }
    live = put(db, clock, text="【答复】#12 提问：……\n答复内容", **common)
    assert await sender.send_due() == 1
    clock.now = expires + timedelta(seconds=1)
    late = put(db, clock, text="【答复】#13 提问：……\n答复内容", **common)
    assert await sender.send_due() == 1

    first, second = server.sent_to_conversation(GROUP_A)
    assert (first.channel, first.text) == ("session", "@u7 【答复】#12 提问：……\n答复内容")
    assert (second.channel, second.text) == ("group", "【答复】#12 李娜 提问：……\n答复内容")
    assert row(db, live).state == row(db, late).state == "sent"


async def test_webhook_unknown_to_dingtalk_falls_back_to_oto_or_fails(
    server: FakeDingTalk,
    sender: Sender,
    db: Database,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = f"{server.endpoint}{SESSION_PATH}?session=gone"
    later = clock.now + timedelta(minutes=30)
    common: dict[str, Any] = {"channel": "session", "webhook": dead, "webhook_expires": later}
    with_fallback = put(
        db,
        clock,
        target="cid1to1u7==",
        text="已受理",
        fallback_channel="oto",
        fallback_target="u7",
        **common,
    )
    without = put(db, clock, target=GROUP_B, text="无处可去", **common)

    with caplog.at_level(logging.ERROR, logger="bot.sender"):
        assert await sender.send_due() == 1

    assert texts(server.sent_to_user("u7")) == ["已受理"]
    assert paths(server).count(SESSION_PATH) == 2
    assert row(db, with_fallback).state == "sent"
    failed = row(db, without)
    assert failed.state == "failed"
    assert "300001" in (failed.last_error or "")
    assert any(f"#{without}" in r.getMessage() for r in caplog.records)


async def test_permanent_400_fails_with_last_error_and_an_error_log(
    server: FakeDingTalk,
    sender: Sender,
    db: Database,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = put(db, clock, channel="group", target=GROUP_A, text="坏的")
    good = put(db, clock, channel="group", target=GROUP_A, text="好的")
    server.fail_next(
        GROUP_PATH, 400, {"code": "invalidParameter.msgParam.invalid", "message": "bad"}
    )

    with caplog.at_level(logging.ERROR, logger="bot.sender"):
        assert await sender.send_due() == 1

    failed = row(db, bad)
    assert (failed.state, failed.attempts) == ("failed", 1)
    assert "invalidParameter.msgParam.invalid" in (failed.last_error or "")
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    # A failed message no longer holds up its chat.
    assert row(db, good).state == "sent"
    assert texts(server.sent) == ["好的"]


async def test_gives_up_after_max_attempts(
    server: FakeDingTalk, db: Database, transport: DingTalkTransport, clock: FakeClock
) -> None:
    sender = Sender(db, transport, clock=clock, max_attempts=3)
    row_id = put(db, clock, channel="group", target=GROUP_A, text="x")
    server.fail_next(GROUP_PATH, 503, times=10)

    await drain(sender, db, clock)

    failed = row(db, row_id)
    assert (failed.state, failed.attempts) == ("failed", 3)
    assert "HTTP 503" in (failed.last_error or "")


async def test_21st_group_message_within_a_minute_waits_for_the_window(
    server: FakeDingTalk, db: Database, transport: DingTalkTransport, clock: FakeClock
) -> None:
    ids = [put(db, clock, channel="group", target=GROUP_A, text=f"m{i}") for i in range(22)]
    other = put(db, clock, channel="group", target=GROUP_B, text="other group")
    start = clock.now

    sender = Sender(db, transport, clock=clock)
    assert await sender.send_due() == 21  # 20 to A, and B is not held up
    assert len(server.sent_to_conversation(GROUP_A)) == 20
    assert row(db, other).state == "sent"
    waiting = row(db, ids[20])
    assert (waiting.state, waiting.attempts, waiting.last_error) == ("pending", 0, None)
    assert waiting.next_attempt_at == start + timedelta(seconds=60)

    # A restarted sender counts what was sent within the last minute.
    clock.advance(30)
    restarted = Sender(db, transport, clock=clock)
    assert await restarted.send_due() == 0
    assert len(server.sent_to_conversation(GROUP_A)) == 20

    clock.now = start + timedelta(seconds=60)
    assert await restarted.send_due() == 2
    assert texts(server.sent_to_conversation(GROUP_A)) == [f"m{i}" for i in range(22)]
    assert row(db, ids[21]).attempts == 0


async def test_order_per_chat_when_the_first_message_backs_off(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    first = put(db, clock, channel="group", target=GROUP_A, text="A1")
    second = put(db, clock, channel="group", target=GROUP_A, text="A2")
    server.fail_next(GROUP_PATH, 500)
    assert await sender.send_due() == 0  # A1 failed and backs off; A2 waits behind it

    put(db, clock, channel="group", target=GROUP_B, text="B1")
    assert await sender.send_due() == 1  # another chat is not held up
    assert texts(server.sent) == ["B1"]
    assert row(db, first).attempts == 1
    assert row(db, second).state == "pending"  # due, but behind A1

    clock.advance(0.4)  # still before A1's next attempt (at least half a second away)
    assert await sender.send_due() == 0

    advance_to_next_attempt(db, clock)
    assert await sender.send_due() == 2
    assert texts(server.sent_to_conversation(GROUP_A)) == ["A1", "A2"]


async def test_two_senders_never_send_a_message_twice(
    server: FakeDingTalk, db: Database, transport: DingTalkTransport, clock: FakeClock
) -> None:
    for i in range(4):
        for target in (GROUP_A, GROUP_B):
            put(db, clock, channel="group", target=target, text=f"{target}{i}")
        put(db, clock, channel="oto", target="u1", text=f"u1-{i}")
    one, two = Sender(db, transport, clock=clock), Sender(db, transport, clock=clock)

    assert sum(await asyncio.gather(one.send_due(), two.send_due())) == 12

    assert len(server.sent) == 12
    for target in (GROUP_A, GROUP_B):
        assert texts(server.sent_to_conversation(target)) == [f"{target}{i}" for i in range(4)]
    assert texts(server.sent_to_user("u1")) == [f"u1-{i}" for i in range(4)]


async def test_revoked_and_expired_tokens_recover(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    put(db, clock, channel="group", target=GROUP_A, text="一")
    assert await sender.send_due() == 1

    server.expire_tokens()
    second = put(db, clock, channel="oto", target="u1", text="二")
    assert await sender.send_due() == 1
    assert row(db, second).attempts == 0  # the retry with a new token is not an attempt
    assert paths(server).count(TOKEN_PATH) == 2
    assert paths(server)[-3:] == [OTO_PATH, TOKEN_PATH, OTO_PATH]

    # Refreshed about 5 minutes before the 2-hour expiry, without a 401.
    clock.advance(7200 - 299)
    put(db, clock, channel="group", target=GROUP_A, text="三")
    assert await sender.send_due() == 1
    assert paths(server)[-2:] == [TOKEN_PATH, GROUP_PATH]
    assert texts(server.sent) == ["一", "二", "三"]


async def test_bad_credentials_fail_permanently(
    server: FakeDingTalk, db: Database, clock: FakeClock
) -> None:
    wrong = DingTalkTransport(CLIENT_ID, "wrong", CLIENT_ID, server.endpoint, clock=clock)
    try:
        with pytest.raises(PermanentSendError, match="invalidClientIdOrSecret"):
            await wrong.send_group(GROUP_A, "x")
    finally:
        await wrong.aclose()


async def test_run_sends_when_woken_and_stops(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    stop, wake = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(sender.run(stop, wake))
    try:
        put(db, clock, channel="group", target=GROUP_A, text="叫醒")
        wake.set()
        message = await server.wait_for_sent(lambda m: m.text == "叫醒")
        assert message.channel == "group"
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert rows(db)[0].state == "sent"


def test_enqueue_leaves_the_transaction_to_the_caller(db: Database, clock: FakeClock) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), db.transaction() as session:
        message = enqueue(session, channel="group", target=GROUP_A, text="x", now=clock())
        assert message in session.new
        raise Abort
    assert rows(db) == []

    with db.transaction() as session:
        with pytest.raises(ValueError, match="session replies only"):
            enqueue(
                session, channel="group", target=GROUP_A, text="x", at_user_ids=["u1"], now=clock()
            )
        with pytest.raises(ValueError, match="webhook"):
            enqueue(session, channel="session", target=GROUP_A, text="x", now=clock())
        with pytest.raises(ValueError, match="aware"):
            enqueue(session, channel="oto", target="u1", text="x", now=datetime(2026, 3, 2))  # noqa: DTZ001
        assert not session.new


# Session webhooks over httpx, with respx ------------------------------------------------

WEBHOOK = "https://oapi.dingtalk.com/robot/sendBySession?session=abc"


@pytest.fixture
async def mocked() -> AsyncIterator[tuple[respx.MockRouter, DingTalkTransport]]:
    with respx.mock(assert_all_called=False) as router:
        http = httpx.AsyncClient()
        transport = DingTalkTransport(CLIENT_ID, CLIENT_SECRET, CLIENT_ID, http=http)
        try:
            yield router, transport
        finally:
            await http.aclose()


async def test_webhook_body_and_errcodes(
    mocked: tuple[respx.MockRouter, DingTalkTransport],
) -> None:
    router, transport = mocked
    route = router.post(WEBHOOK).mock(
        side_effect=[
            httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}),
            httpx.Response(200, json={"errcode": 310000, "errmsg": "keywords not in content"}),
            httpx.Response(200, json={"errcode": 300001, "errmsg": "session不存在或已过期"}),
            httpx.Response(200, json={"errcode": 410100, "errmsg": "send too fast"}),
        ]
    )

    await transport.send_session(WEBHOOK, "正文", title="标题", at_user_ids=["u7"])
    assert json.loads(route.calls[0].request.content) == {
        "msgtype": "markdown",
        "markdown": {"title": "标题", "text": "@u7 正文"},  # the mention is written in the text
        "at": {"atUserIds": ["u7"]},
    }
    with pytest.raises(PermanentSendError, match="310000") as caught:
        await transport.send_session(WEBHOOK, "x")
    assert not isinstance(caught.value, WebhookExpired)
    with pytest.raises(WebhookExpired):
        await transport.send_session(WEBHOOK, "x")
    with pytest.raises(TransientSendError) as throttled:
        await transport.send_session(WEBHOOK, "x")
    assert throttled.value.retry_after == 60.0


async def test_webhook_transport_failures_are_transient(
    mocked: tuple[respx.MockRouter, DingTalkTransport],
) -> None:
    router, transport = mocked
    router.post(WEBHOOK).mock(
        side_effect=[
            httpx.ReadTimeout("slow"),
            httpx.ConnectError("refused"),
            httpx.Response(503, headers={"Retry-After": "7"}),
            httpx.Response(200, text="<html>busy</html>"),
            httpx.Response(404, text="not found"),
        ]
    )

    with pytest.raises(TransientSendError, match="timed out"):
        await transport.send_session(WEBHOOK, "x")
    with pytest.raises(TransientSendError, match="refused"):
        await transport.send_session(WEBHOOK, "x")
    with pytest.raises(TransientSendError) as unavailable:
        await transport.send_session(WEBHOOK, "x")
    assert unavailable.value.retry_after == 7.0
    with pytest.raises(TransientSendError, match="unexpected answer"):
        await transport.send_session(WEBHOOK, "x")
    with pytest.raises(PermanentSendError, match="HTTP 404"):
        await transport.send_session(WEBHOOK, "x")


async def test_webhook_past_its_expiry_is_not_called(
    mocked: tuple[respx.MockRouter, DingTalkTransport],
) -> None:
    router, transport = mocked
    route = router.post(WEBHOOK).respond(json={"errcode": 0})
    with pytest.raises(WebhookExpired):
        await transport.send_session(
            WEBHOOK, "x", expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
    assert not route.called


async def test_sender_records_webhook_errcode_and_timeout(
    mocked: tuple[respx.MockRouter, DingTalkTransport], db: Database, clock: FakeClock
) -> None:
    router, transport = mocked

    def answer(request: httpx.Request) -> httpx.Response:
        # the two chats are sent side by side: answer by content, not by arrival order
        if json.loads(request.content)["text"]["content"] == "gone":
            return httpx.Response(200, json={"errcode": 400013, "errmsg": "群已被解散"})
        raise httpx.ConnectTimeout("slow")

    router.post(WEBHOOK).mock(side_effect=answer)
    sender = Sender(db, transport, clock=clock)
    fields: dict[str, Any] = {"channel": "session", "webhook": WEBHOOK}
    dissolved = put(db, clock, target="cidGone==", text="gone", **fields)
    slow = put(db, clock, target="cidSlow==", text="slow", **fields)

    assert await sender.send_due() == 0

    failed = row(db, dissolved)
    assert (failed.state, failed.last_error) == (
        "failed",
        "session webhook: errcode 400013 群已被解散",
    )
    waiting = row(db, slow)
    assert (waiting.state, waiting.attempts) == ("pending", 1)
    assert "timed out" in (waiting.last_error or "")
    assert 0.5 <= (waiting.next_attempt_at - clock.now).total_seconds() <= 1.0


async def test_a_1to1_message_with_actions_goes_as_markdown_with_dtmd_links(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    put(
        db,
        clock,
        channel="oto",
        target="u1",
        text="#12 待认领，今日16:00前\n川沙镇 张三",
        actions=[("认领 #12", "认领 12", False), ("答复", "答复 12", True)],
    )
    assert await sender.send_due() == 1
    (oto,) = server.sent_to_user("u1")
    assert (oto.msg_key, oto.title) == ("sampleMarkdown", "#12 待认领，今日16:00前")
    assert oto.text == (
        "#12 待认领，今日16:00前\n\n川沙镇 张三\n\n"
        "[认领 #12](dtmd://dingtalkclient/sendMessage?content=%E8%AE%A4%E9%A2%86%2012)"
        "　[答复](dtmd://dingtalkclient/sendMessage?content=%E7%AD%94%E5%A4%8D%2012)"
    )
