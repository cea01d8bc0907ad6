"""The sender's side of issue 8 against the local DingTalk (real Tea SDK), on SQLite and
PostgreSQL: a message an item tracks reports what DingTalk did with it, in the transaction
that marks it (item 3); a group chat holding more than its rate limit lets out gets its
waiting notices as digests, each notice in exactly one message (item 11)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_sender import (
    CLIENT_ID,
    CLIENT_SECRET,
    GROUP_A,
    GROUP_B,
    GROUP_PATH,
    PROXY_VARS,
    SESSION_PATH,
    FakeClock,
    advance_to_next_attempt,
    paths,
    put,
    row,
    rows,
    session_webhook,
    texts,
)

from bot.dingtalk.client import DingTalkTransport
from bot.sender import Outcome, Sender
from handlers import texts as texts_mod
from storage.db import Database
from storage.models import Flag
from tests.fake_dingtalk import FakeDingTalk


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


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


# Outcomes an item records (item 3) -------------------------------------------------

NOT_IN_GROUP = {"code": "robot.not.in.group", "message": "robot not in group"}
NO_PERMISSION = {
    "code": "Forbidden.AccessDenied.AccessTokenPermissionDenied",
    "message": "no permission for this api",
}


class Recorder:
    """An outcome hook: keeps what it was told and writes a row in the marking transaction."""

    def __init__(self, fail: bool = False) -> None:
        self.outcomes: list[Outcome] = []
        self.fail = fail

    def __call__(self, session: Session, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        session.add(Flag(key=f"outcome-{outcome.row_id}", at=datetime(2026, 3, 2, tzinfo=UTC)))
        if self.fail:
            raise RuntimeError("the hook broke")


def flags(db: Database) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(select(Flag.key).order_by(Flag.key)))


def tracked(**fields: Any) -> dict[str, Any]:
    return {"item_id": 12, "purpose": "reply", "actor": "u-head", **fields}


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [(400, NOT_IN_GROUP, "机器人不在该群中"), (403, NO_PERMISSION, "没有发送权限")],
    ids=["400", "403"],
)
async def test_a_refused_tracked_message_reports_its_failure(
    server: FakeDingTalk,
    transport: DingTalkTransport,
    db: Database,
    clock: FakeClock,
    status: int,
    body: dict[str, str],
    reason: str,
) -> None:
    hook = Recorder()
    sender = Sender(db, transport, clock=clock, on_outcome=hook)
    refused = put(db, clock, channel="group", target=GROUP_A, text="答复", **tracked())
    plain = put(db, clock, channel="group", target=GROUP_A, text="通知")
    server.fail_next(GROUP_PATH, status, body)

    assert await sender.send_due() == 1

    assert row(db, refused).state == "failed"
    assert row(db, plain).state == "sent"
    (outcome,) = hook.outcomes  # the untracked message reports nothing
    assert (outcome.row_id, outcome.item_id, outcome.purpose, outcome.actor) == (
        refused,
        12,
        "reply",
        "u-head",
    )
    assert outcome.error is not None and f"HTTP {status} {body['code']}" in outcome.error
    assert reason in texts_mod.send_failure(outcome.error)[0]
    assert flags(db) == [f"outcome-{refused}"]  # written with the mark


async def test_webhook_expiring_mid_retry_then_the_group_refusing_reports_a_failure(
    server: FakeDingTalk, transport: DingTalkTransport, db: Database, clock: FakeClock
) -> None:
    webhook, expires = await session_webhook(server, GROUP_A)
    hook = Recorder()
    sender = Sender(db, transport, clock=clock, on_outcome=hook)
    row_id = put(
        db,
        clock,
        channel="session",
        target=GROUP_A,
        text="答复",
        webhook=webhook,
        webhook_expires=expires,
        fallback_channel="group",
        fallback_target=GROUP_A,
        **tracked(),
    )
    server.fail_next(SESSION_PATH, 503)
    assert await sender.send_due() == 0  # busy: retried later
    assert (row(db, row_id).state, hook.outcomes) == ("pending", [])

    clock.now = expires + timedelta(minutes=1)  # the webhook expires meanwhile
    server.fail_next(GROUP_PATH, 400, NOT_IN_GROUP)  # and the fallback group refuses
    advance_to_next_attempt(db, clock)
    assert await sender.send_due() == 0

    failed = row(db, row_id)
    assert (failed.state, failed.attempts) == ("failed", 2)
    assert paths(server).count(SESSION_PATH) == 1  # the expired webhook was not called again
    (outcome,) = hook.outcomes
    assert outcome.error is not None and "robot.not.in.group" in outcome.error
    assert server.sent_to_conversation(GROUP_A) == []


async def test_a_delivered_tracked_message_reports_once(
    server: FakeDingTalk, transport: DingTalkTransport, db: Database, clock: FakeClock
) -> None:
    hook = Recorder()
    sender = Sender(db, transport, clock=clock, on_outcome=hook)
    row_id = put(db, clock, channel="oto", target="u1", text="答复", **tracked())
    put(db, clock, channel="oto", target="u1", text="通知")
    assert await sender.send_due() == 2
    assert await sender.send_due() == 0
    assert [(o.row_id, o.error) for o in hook.outcomes] == [(row_id, None)]
    assert flags(db) == [f"outcome-{row_id}"]
    assert row(db, row_id).state == "sent"


async def test_a_broken_hook_never_makes_a_message_go_twice(
    server: FakeDingTalk,
    transport: DingTalkTransport,
    db: Database,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender = Sender(db, transport, clock=clock, on_outcome=Recorder(fail=True))
    row_id = put(db, clock, channel="group", target=GROUP_A, text="答复", **tracked())
    with caplog.at_level(logging.ERROR, logger="bot.sender"):
        assert await sender.send_due() == 1
    clock.advance(120)  # past the lease
    assert await sender.send_due() == 0
    assert texts(server.sent) == ["答复"]
    assert row(db, row_id).state == "sent"
    assert flags(db) == []  # the hook's writes were rolled back alone
    assert any("recording the outcome" in r.getMessage() for r in caplog.records)


# Burst digests (item 11) -------------------------------------------------------------


def notices(db: Database, clock: FakeClock, count: int, start: int = 1) -> list[int]:
    return [
        put(
            db,
            clock,
            channel="group",
            target=GROUP_A,
            text=f"【新@件】#{n} 川沙新镇·政策咨询\n问题{n}\n请于…前甄别",
            digest=[("新@件", f"#{n} 川沙新镇·政策咨询：问题{n}")],
        )
        for n in range(start, start + count)
    ]


def numbers_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"#(\d+) ", text)]


async def test_a_burst_to_a_group_goes_as_one_digest(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    ids = notices(db, clock, 37)
    other = put(db, clock, channel="group", target=GROUP_A, text="约谈通知")  # no digest lines
    to_b = put(db, clock, channel="group", target=GROUP_B, text="B")

    assert await sender.send_due() == 3

    digest, interview = server.sent_to_conversation(GROUP_A)
    assert digest.text.startswith("【新@件·37件】\n1. #1 川沙新镇·政策咨询：问题1\n2. #2 ")
    assert numbers_in(digest.text) == list(range(1, 38))  # each item once, in order
    assert interview.text == "约谈通知"
    assert texts(server.sent_to_conversation(GROUP_B)) == ["B"]
    stored = {m.id: m for m in rows(db)}
    assert stored[ids[0]].state == "sent" and stored[ids[0]].text == digest.text
    assert all((stored[i].state, stored[i].merged_into) == ("merged", ids[0]) for i in ids[1:])
    assert stored[other].state == stored[to_b].state == "sent"


async def test_a_long_burst_is_cut_into_digests_with_a_count(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    notices(db, clock, 85)
    assert await sender.send_due() == 3
    sent = texts(server.sent_to_conversation(GROUP_A))
    assert [t.splitlines()[0] for t in sent] == [
        "【新@件·共85件，本条第1–40件】",
        "【新@件·共85件，本条第41–80件】",
        "【新@件·共85件，本条第81–85件】",
    ]
    assert [n for t in sent for n in numbers_in(t)] == list(range(1, 86))
    assert all(len(t) <= 3000 for t in sent)
    assert {m.state for m in rows(db)} == {"sent", "merged"}


async def test_what_the_rate_lets_out_goes_as_it_is(
    server: FakeDingTalk, sender: Sender, db: Database, clock: FakeClock
) -> None:
    notices(db, clock, 20)
    assert await sender.send_due() == 20
    assert [numbers_in(t) for t in texts(server.sent)] == [[n] for n in range(1, 21)]
    # the window is full: what comes now waits for it, as one message
    notices(db, clock, 5, start=21)
    assert await sender.send_due() == 0
    clock.advance(60)
    assert await sender.send_due() == 1
    (digest,) = texts(server.sent[20:])
    assert digest.startswith("【新@件·5件】") and numbers_in(digest) == [21, 22, 23, 24, 25]
    assert sorted(m.state for m in rows(db)) == ["merged"] * 4 + ["sent"] * 21
