"""End to end: /healthz and /metrics of a running bot (the real dingtalk-stream SDK, the App,
the local DingTalk), and the stream watchdog bringing back a connection that went silent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
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
from tests.test_e2e import CAL, EXAMPLE, FAST_RETRY, TOWN_CID, start_at

SILENCE = 1.5  # BOT_STREAM_SILENCE_SECONDS for these tests


@pytest.fixture
def roster() -> Roster:
    return load_roster(EXAMPLE)


@pytest.fixture
async def box(roster: Roster, tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(
        roster,
        CAL,
        db_url=f"sqlite:///{tmp_path}/health.db",
        start=start_at("2026-11-16 09:30"),
        sender_options=FAST_RETRY,
        local_dingtalk=FakeDingTalk,
        stream_silence=SILENCE,
    ) as sandbox:
        yield sandbox


@pytest.fixture
async def http(box: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    assert box.app is not None
    server = HealthServer(box.app, box.stream, "127.0.0.1", 0, silence=SILENCE)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            yield client
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


async def test_healthz_and_metrics(box: Sandbox, http: httpx.AsyncClient) -> None:
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
    assert 0 <= body["last_frame_age_seconds"] < SILENCE
    assert body["outbox_depth"] == 0 and body["outbox_oldest_age_seconds"] is None

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
    assert ("dubanbot_reminder_lateness_seconds_count", ()) in got


async def test_silent_stream_fails_health_and_the_watchdog_reconnects(
    box: Sandbox, http: httpx.AsyncClient
) -> None:
    dingtalk = box.dingtalk
    assert (await http.get("/healthz")).status_code == 200
    assert await dingtalk.go_silent() == 1

    async def failing() -> bool:
        return (await http.get("/healthz")).status_code == 503

    # the watchdog drops the connection after SILENCE s without a frame (or pong)
    assert await until(failing, SILENCE + 2, "/healthz 503") < SILENCE + 2
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
    assert len(dingtalk.connection_log) == 2
