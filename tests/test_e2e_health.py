"""End to end: /healthz and /metrics of a running bot (the real dingtalk-stream SDK, the App,
the local DingTalk), and the stream watchdog bringing back a connection that went silent."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.health import HealthServer
from bot.sandbox import Sandbox
from config.roster import Roster, load_roster
from handlers import texts
from tests.fake_dingtalk import FakeDingTalk
from tests.procs import bot_env, spawn_bot
from tests.test_e2e import CAL, EXAMPLE, FAST_RETRY, TOWN_CID, start_at

SILENCE = 2.0  # BOT_STREAM_SILENCE_SECONDS of the watchdog test (the other: the default)


@pytest.fixture
def roster() -> Roster:
    return load_roster(EXAMPLE)


@asynccontextmanager
async def running(
    roster: Roster, tmp_path: Path, silence: float
) -> AsyncIterator[tuple[Sandbox, httpx.AsyncClient]]:
    """The bot in the sandbox with its health server, and an HTTP client to it."""
    async with Sandbox(
        roster,
        CAL,
        db_url=f"sqlite:///{tmp_path}/health.db",
        start=start_at("2026-11-16 09:30"),
        sender_options=FAST_RETRY,
        local_dingtalk=FakeDingTalk,
        stream_silence=silence,
    ) as box:
        assert box.app is not None and box.stream is not None
        server = HealthServer(box.app, box.stream, "127.0.0.1", 0, silence=silence)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                yield box, http
        finally:
            await server.stop()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


async def until(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, step: float = 0.05
) -> float:
    """Seconds until ``check`` holds (polled), or fail."""
    began = time.monotonic()
    while not await check():
        if time.monotonic() - began > timeout:
            pytest.fail(f"{what}: not within {timeout} s")
        await asyncio.sleep(step)
    return time.monotonic() - began


async def test_healthz_and_metrics(roster: Roster, tmp_path: Path) -> None:
    async with running(roster, tmp_path, 90.0) as (box, http):
        await check_healthz_and_metrics(box, http)


async def check_healthz_and_metrics(box: Sandbox, http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {
        "status",
        "stream_connected",
        "last_frame_age_seconds",
        "database",
        "leader",
        "outbox_depth",
        "outbox_oldest_age_seconds",
        "problems",
    }
    assert body["status"] == "ok" and body["problems"] == []
    assert body["stream_connected"] is True and body["database"] is True
    assert body["leader"] is True
    assert 0 <= body["last_frame_age_seconds"] < 90
    assert body["outbox_depth"] == 0 and body["outbox_oldest_age_seconds"] is None

    assert isinstance(box.dingtalk, FakeDingTalk)
    box.dingtalk.fail_next("/v1.0/robot/groupMessages/send", 503)  # retried
    out = await box.town_says("川沙新镇", "请问工地扬尘管控有什么新要求？")
    assert [m.text for m in out if m.target == TOWN_CID] == [texts.town_received(1)]
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    got = samples(response.text)
    assert got[("dubanbot_messages_in_total", (("kind", "text"),))] == 1
    assert got[("dubanbot_messages_out_total", (("channel", "session"), ("kind", "text")))] == 1
    assert got[("dubanbot_messages_out_total", (("channel", "group"), ("kind", "text")))] == 1
    assert got[("dubanbot_outbox_depth", ())] == 0
    assert got[("dubanbot_database_up", ())] == 1
    assert got[("dubanbot_stream_connected", ())] == 1
    assert got[("dubanbot_sweep_duration_seconds_count", ())] >= 1  # the start's sweep
    assert got[("dubanbot_send_failures_total", (("kind", "transient"),))] == 1
    assert got[("dubanbot_reminder_lateness_seconds_count", ())] == 0

    await box.advance(dt.timedelta(hours=3))  # the triage reminder and escalation fire
    got = samples((await http.get("/metrics")).text)
    assert got[("dubanbot_reminder_lateness_seconds_count", ())] >= 1
    assert got[("dubanbot_sweep_duration_seconds_count", ())] >= 2


async def test_silent_stream_fails_health_and_the_watchdog_reconnects(
    roster: Roster, tmp_path: Path
) -> None:
    async with running(roster, tmp_path, SILENCE) as (box, http):
        await check_watchdog(box, http)


async def check_watchdog(box: Sandbox, http: httpx.AsyncClient) -> None:
    dingtalk = box.dingtalk
    assert (await http.get("/healthz")).status_code == 200
    assert await dingtalk.go_silent() == 1

    async def failing() -> bool:
        return (await http.get("/healthz")).status_code == 503

    # the watchdog drops the connection after SILENCE s without a frame (or pong)
    await until(failing, SILENCE + 3, "/healthz 503")
    body = (await http.get("/healthz")).json()
    assert body["status"] == "failing" and body["problems"]

    await dingtalk.wait_connected(total=2, timeout=10)  # a new connection: the back-off's 1 s

    async def healthy() -> bool:
        return (await http.get("/healthz")).status_code == 200

    await until(healthy, 5, "/healthz 200 again")
    # nothing lost: a message pushed after the reconnect is handled
    out = await box.town_says("川沙新镇", "重连后的咨询")
    assert [m.text for m in out if m.target == TOWN_CID] == [texts.town_received(1)]
    assert box.app is not None
    assert box.app.metrics.value("dubanbot_messages_in_total", kind="text") == 1
    assert len(dingtalk.connection_log) >= 2


async def test_bot_run_serves_health_and_logs_no_secret(tmp_path: Path) -> None:
    """``python -m bot run`` with BOT_HTTP and every line at DEBUG: /healthz, /metrics, a
    town's @件 answered, and the log holds no secret, token or session webhook."""
    # real time (no BOT_CLOCK_FILE): the sender judges the session webhook's expiry by it
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "run-health-secret-0123"
    async with FakeDingTalk("dingrunhealth", secret) as dingtalk:
        env = bot_env(
            tmp_path,
            dingtalk.endpoint,
            f"sqlite:///{tmp_path}/bot.db",
            ("dingrunhealth", secret),
            DINGTALK_OAPI_ENDPOINT=dingtalk.endpoint,
            BOT_LOG_LEVEL="DEBUG",
            BOT_HTTP=f"127.0.0.1:{port}",
        )
        log_path = tmp_path / "bot.log"
        bot = spawn_bot(tmp_path, env, log_path)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

                async def healthy() -> bool:
                    try:
                        return (await http.get("/healthz")).status_code == 200
                    except httpx.HTTPError:
                        return False

                await until(healthy, 60, "/healthz 200 from python -m bot run", step=0.2)
                await dingtalk.push_bot_message(
                    "请问工地扬尘管控有什么新要求？",
                    sender_staff_id="town-chuansha-01",
                    conversation_id=TOWN_CID,
                )
                await dingtalk.wait_for_sent(lambda m: m.target == TOWN_CID, timeout=30)
                await dingtalk.wait_for_sent(lambda m: m.target == "cid-office", timeout=30)
                got = samples((await http.get("/metrics")).text)
            assert got[("dubanbot_messages_in_total", (("kind", "text"),))] == 1
            assert got[("dubanbot_stream_connected", ())] == 1
            tokens = set(dingtalk.openapi.tokens)
            sessions = {
                r.query["session"]
                for r in dingtalk.requests_log
                if r.path == "/robot/sendBySession"
            }
        finally:
            bot.send_signal(signal.SIGTERM)
            assert bot.wait(timeout=30) == 0
    text = log_path.read_text(encoding="utf-8")
    assert "inbox: stored a text message msg=" in text and "<redacted>" in text
    assert tokens and sessions
    for leak in (secret, *tokens, *sessions, *(c.ticket for c in dingtalk.open_calls)):
        assert leak not in text
