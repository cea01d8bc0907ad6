"""No secret in any log line: an end-to-end run (the real SDK, the App, the local DingTalk) with
every logger at DEBUG, through the filters bot.logs installs; and the context fields."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logs
from bot.logs import log_context, redact
from bot.sandbox import CLIENT_SECRET, Sandbox
from config.roster import load_roster
from handlers import texts
from tests.fake_dingtalk import FakeDingTalk
from tests.test_e2e import CAL, EXAMPLE, FAST_RETRY, TOWN_CID, start_at

WEBHOOK = re.compile(r"sendBySession\?session=(?!<redacted>)")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every record of every logger, at DEBUG, formatted by a handler with bot.logs' filters."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    logs.install(handler)
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    root_level = root.level
    root.addHandler(handler)
    all_debug()
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(root_level)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def all_debug() -> None:
    logging.getLogger().setLevel(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.DEBUG)


async def test_no_secret_token_or_webhook_in_any_log_line(
    captured: io.StringIO, tmp_path: Path
) -> None:
    tokens: set[str] = set()
    async with Sandbox(
        load_roster(EXAMPLE),
        CAL,
        db_url=f"sqlite:///{tmp_path}/logs.db",
        start=start_at("2026-11-16 09:30"),
        sender_options=FAST_RETRY,
        local_dingtalk=FakeDingTalk,
    ) as box:
        all_debug()  # the stream runner set the SDK's logger when it started
        dingtalk = box.dingtalk
        assert isinstance(dingtalk, FakeDingTalk)
        # a failing send: the town's receipt (session webhook) and the office's notice
        dingtalk.fail_next("/robot/sendBySession", 500)
        dingtalk.fail_next("/v1.0/robot/groupMessages/send", 503)
        out = await box.town_says("川沙新镇", "请问工地扬尘管控有什么新要求？")
        assert [m.text for m in out if m.target == TOWN_CID] == [texts.town_received(1)]
        tokens |= set(dingtalk.openapi.tokens)
        dingtalk.expire_tokens()  # the next send fetches a new token after a 401
        await box.person_says("u-admin", "分派 #1 大气处")
        tokens |= set(dingtalk.openapi.tokens)
        await dingtalk.push_disconnect()  # a reconnect: a new ticket
        await dingtalk.wait_connected(total=2, timeout=10)
        out = await box.town_says("川沙新镇", "重连后再问一次", staff_id="town-chuansha-01")
        assert any(m.target == TOWN_CID for m in out)
        tickets = [call.ticket for call in dingtalk.open_calls]
        sessions = {
            r.query["session"] for r in dingtalk.requests_log if r.path == "/robot/sendBySession"
        }
    text = captured.getvalue()
    lines = text.splitlines()
    assert len(lines) > 100
    assert len(tokens) >= 2 and len(tickets) == 2
    # the run did log what would leak: the SDK's and the libraries' lines, SQL with payloads
    assert "dingtalk_stream" in text and "websockets" in text and "sqlalchemy" in text
    assert "<redacted>" in text
    for line in lines:
        assert CLIENT_SECRET not in line, line
        for secret in (*tokens, *tickets):
            assert secret not in line, line
        assert not WEBHOOK.search(line), line
    assert len(sessions) >= 2
    for session in sessions:
        assert session not in text
    # the context fields
    assert re.search(r"inbox: stored a text message msg=\S+", text)
    assert re.search(r"outbox: DingTalk accepted a text message \(session\) outbox=\d+", text)
    assert re.search(r"attempt 1 failed.* outbox=\d+", text)


def test_redact_shapes() -> None:
    secret_url = "https://oapi.dingtalk.com/robot/sendBySession?session=abc123def456"
    samples = {
        f"POST {secret_url} 200": "POST <redacted> 200",
        "GET /robot/sendBySession?session=zzz9 HTTP/1.1": (
            "GET /robot/sendBySession?session=<redacted> HTTP/1.1"
        ),
        "url=https://oapi.dingtalk.com/media/upload?access_token=tok123&type=image": (
            "url=https://oapi.dingtalk.com/media/upload?access_token=<redacted>&type=image"
        ),
        "{'x-acs-dingtalk-access-token': 'tok-abcdef', 'a': 1}": (
            "{'x-acs-dingtalk-access-token': '<redacted>', 'a': 1}"
        ),
        '{"accessToken": "tok-abcdef", "expireIn": 7200}': (
            '{"accessToken": "<redacted>", "expireIn": 7200}'
        ),
        '{"endpoint": "wss://x/connect", "ticket": "t-1-2-3"}': (
            '{"endpoint": "wss://x/connect", "ticket": "<redacted>"}'
        ),
        "> GET /connect?ticket=abc%2Bdef HTTP/1.1": "> GET /connect?ticket=<redacted> HTTP/1.1",
        '{"appKey": "k", "appSecret": "s3cr3t-value"}': (
            '{"appKey": "k", "appSecret": "<redacted>"}'
        ),
    }
    for raw, expected in samples.items():
        assert redact(raw) == expected


def test_registered_secrets_and_context_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s|%(context)s"))
    logs.install(handler)
    logger = logging.getLogger("tests.log_redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    token = ["first-token-value"]

    class Transport:
        def current_token(self) -> str | None:
            return token[0]

    transport = Transport()
    logs.REDACTOR.add_secret("registered-secret-1")
    logs.REDACTOR.add_source(transport.current_token)
    try:
        logger.info("got %s and %s", "registered-secret-1", "first-token-value")
        token[0] = "second-token-value"
        with log_context(msg="m1"), log_context(item=7, outbox=None):
            logger.info("now %s", "second-token-value")
        try:
            raise ValueError("failed with registered-secret-1")
        except ValueError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
        logs.REDACTOR._secrets.discard("registered-secret-1")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "got <redacted> and <redacted>|"
    assert lines[1] == "now <redacted>| msg=m1 item=7"
    assert "registered-secret-1" not in stream.getvalue()
    assert "ValueError: failed with <redacted>" in stream.getvalue()
    del transport  # held weakly: its source goes with it
    logger.info("x")
