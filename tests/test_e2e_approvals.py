"""End to end (issue 11, item 3): a 批示件's feedback goes to the 分管局领导 and counts once
approved, through the real SDK against the local DingTalk, every step a tap of a link."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sandbox import Sandbox
from config.roster import load_roster
from handlers import texts
from handlers.workcal import WorkCalendar
from storage.models import Filing
from tests.fake_dingtalk import FakeDingTalk
from tests.test_e2e import start_at
from tests.test_e2e_taps import CLERK_CHAT, EXAMPLE, links, replies, to_user

FEEDBACK = "已按批示要求完成秸秆禁烧专项检查，整改清单已报区里。"


@pytest.fixture
async def box(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(
        load_roster(EXAMPLE),
        WorkCalendar(),
        db_url=f"sqlite:///{tmp_path}/approvals.db",
        start=start_at("2026-11-16 10:00"),  # a Monday
        sender_options={"backoff_base": 0.02, "backoff_max": 0.1, "max_wait": 0.05},
        local_dingtalk=FakeDingTalk,
    ) as sandbox:
        yield sandbox


def feedback_row(box: Sandbox) -> Filing:
    with box.db.sessions() as session:
        row = session.scalars(select(Filing).where(Filing.kind == "feedback")).one()
        session.expunge(row)
        return row


async def test_feedback_submitted_then_approved_by_the_deputy(box: Sandbox) -> None:
    out = await box.person_says("u-admin", "批示件 大气处 2026-12-10 关于秸秆禁烧的批示")
    notice = to_user(out, "u-air-clerk")
    assert links(notice)["已反馈 督1"] == "已反馈 督1"  # a stem: the bot asks for the text

    out = await box.person_says("u-air-clerk", links(notice)["已反馈 督1"])
    assert replies(out, CLERK_CHAT) == [texts.ask_for_text("已反馈 督1", "反馈材料或摘要")]
    out = await box.person_says("u-air-clerk", FEEDBACK)

    # the deputy alone gets it, 1:1, with the text and the two answers
    (reply,) = replies(out, CLERK_CHAT)
    assert "送分管局领导陈副局审核" in reply
    assert [m.target for m in out if m.channel != "session"] == [("u-deputy-1",)]
    request = to_user(out, "u-deputy-1")
    assert request.title is not None and request.title.startswith("【待您审核】督1")
    assert FEEDBACK in request.text
    taps = ("同意 督1", "退改 督1", "查看 督1")
    assert links(request) == {tap: tap for tap in taps}
    assert feedback_row(box).done_at is None

    out = await box.person_says("u-deputy-1", links(request)["同意 督1"])  # the tap

    (answer,) = replies(out, "cidlocal1to1u-deputy-1==")
    assert answer == "已同意：督1 关于秸秆禁烧的批示，反馈按时完成。"
    approved = to_user(out, "u-air-clerk")
    assert "经陈副局审核同意，请录入区网上督查室平台" in approved.text
    row = feedback_row(box)
    assert row.done_at == box.clock.now and row.approved_by == "u-deputy-1"
    assert (row.overdue, row.report, row.done_by) == (False, FEEDBACK, "u-air-clerk")
