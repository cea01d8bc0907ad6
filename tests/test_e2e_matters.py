"""End to end for the registry: filing reminders, 超限 and the interview ladder through the
real SDKs and the local DingTalk, on a fake clock."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from bot.sandbox import Sandbox
from config.roster import Roster
from handlers import texts
from storage.models import Filing, Interview
from tests.test_e2e import CAL, FAST_RETRY, only, start_at, texts_in

LINK = re.compile(r"\[([^\]]+)\]\(dtmd://dingtalkclient/sendMessage\?content=([^)]*)\)")


@pytest.fixture
async def box(roster: Roster, tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(
        roster,
        CAL,
        db_url=f"sqlite:///{tmp_path}/e2e.db",
        start=start_at("2026-11-13 10:00"),  # a Friday
        sender_options=FAST_RETRY,
    ) as sandbox:
        yield sandbox


def plain(text: str) -> str:
    """A 1:1 message as its text, without the lines of links."""
    return "\n".join(line for line in text.split("\n") if line and "dtmd://" not in line)


async def until(box: Sandbox, moment: str) -> list:  # type: ignore[type-arg]
    return await box.advance(start_at(moment) - box.clock.now)


async def test_filing_reminders_then_overdue(box: Sandbox) -> None:
    await box.person_says("u-admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
    await box.person_says("u-admin", "新增事项 区委区政府重点工作 大气处 孙内勤 扬尘管控")
    # 20 November 2026 is a Friday: reminders Tue 17th, Thu 19th, Fri 20th at 09:00
    assert [m for m in await until(box, "2026-11-17 08:45") if "填报" in m.text] == []
    out = await until(box, "2026-11-17 09:15")
    digest = only(out, "group", "cid-air")
    assert digest.startswith("【填报提醒·2件】") and "督1" in digest and "督2" in digest
    # the clerk's copy carries the links; the group's says where they are
    assert plain(only(out, "oto", "u-air-clerk")) == digest.removesuffix(
        "\n" + texts.ACTIONS_IN_CHAT
    )
    assert "dtmd://" not in digest
    assert texts_in(await until(box, "2026-11-18 17:00"), "group", "cid-air") == []
    out = await until(box, "2026-11-19 09:15")
    assert "11月20日(周五) 17:00" in only(out, "group", "cid-air")
    await box.person_says("u-air-clerk", "已填报 督1")
    out = await until(box, "2026-11-20 09:15")
    assert "督2" in only(out, "group", "cid-air") and "督1" not in only(out, "group", "cid-air")
    # nothing over the weekend; Monday morning the node has passed: 超限
    assert await until(box, "2026-11-23 08:55") == []
    out = await until(box, "2026-11-23 09:15")
    escalation = only(out, "oto", "u-air-head")
    assert "督2" in escalation and "超限" in escalation
    assert only(out, "group", "cid-office") == plain(escalation)
    with box.db.sessions() as session:
        overdue = session.scalars(
            select(Filing.matter_id).where(Filing.overdue.is_(True), Filing.period == "2026-11")
        ).all()
    assert overdue == [2]


async def test_a_second_yellow_proposes_and_the_office_starts_the_interview(box: Sandbox) -> None:
    """三(六) "酌情启动约谈问询": the second yellow is proposed to the office (its admins 1:1
    with the decisions as links, and its group); the admin taps 启动约谈 and only then the
    interviewer, the interviewee and the department group are told."""
    await box.person_says("u-admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
    out = await box.person_says("u-admin", "亮灯 督1 黄 10月")
    assert [m for m in out if "约谈" in m.text] == []
    out = await box.person_says("u-admin", "亮灯 督1 黄灯 11月", group="cid-office")
    proposal = only(out, "oto", "u-admin")
    assert proposal.startswith("【约谈建议】督1")
    assert "第一层级约谈问询：赵处约谈孙内勤" in proposal
    assert "连续二次亮黄灯：2026年10月黄灯、11月黄灯" in proposal
    assert plain(proposal) in only(out, "group", "cid-office")
    assert [m for m in out if m.target in (("u-air-head",), ("u-air-clerk",), "cid-air")] == []
    links = {label: unquote(cmd) for label, cmd in LINK.findall(proposal)}
    assert links["启动约谈 督1 一级"] == "启动约谈 督1 一级"

    out = await box.person_says("u-admin", links["启动约谈 督1 一级"])  # the tap

    notice = only(out, "oto", "u-air-clerk")  # the matter's owner
    assert notice.startswith("【第一层级约谈问询】督1")
    assert "连续二次亮黄灯：2026年10月黄灯、11月黄灯" in notice
    assert only(out, "oto", "u-air-head") == notice
    assert only(out, "group", "cid-air") == plain(notice)
    with box.db.sessions() as session:
        row = session.scalars(select(Interview)).one()
        assert (row.state, row.decided_by) == ("open", "u-admin")


async def test_the_office_declines_by_tap_with_its_reason(box: Sandbox) -> None:
    """ "酌情": the 不约谈 tap sends the stem; the bot asks for the reason; the admin's next
    message completes it. Recorded; only the office group is told."""
    await box.person_says("u-admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
    await box.person_says("u-admin", "亮灯 督1 黄 10月")
    out = await box.person_says("u-admin", "亮灯 督1 黄 11月")
    links = {label: unquote(cmd) for label, cmd in LINK.findall(only(out, "oto", "u-admin"))}
    out = await box.person_says("u-admin", links["不约谈 督1 一级"])
    assert [m.text for m in out] == [texts.ask_for_text("不约谈 督1 一级", "不约谈的理由")]
    out = await box.person_says("u-admin", "处室已书面说明原因并整改")
    assert sorted(str(m.target) for m in out) == ["cid-office", "cidlocal1to1u-admin=="]
    assert "理由：处室已书面说明原因并整改" in only(out, "session", "cidlocal1to1u-admin==")
    assert "王敏决定不启动第一层级约谈问询" in only(out, "group", "cid-office")
    with box.db.sessions() as session:
        row = session.scalars(select(Interview)).one()
        assert (row.state, row.reason) == ("declined", "处室已书面说明原因并整改")


async def test_statistics_reach_the_phone_as_markdown(box: Sandbox) -> None:
    await box.person_says("u-admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
    await box.person_says("u-admin", "亮灯 督1 红 11月")
    out = await box.person_says("u-director", "统计")
    reply = [m for m in out if m.target == "cidlocal1to1u-director=="]
    assert len(reply) == 1 and reply[0].msg_key == "markdown"
    assert reply[0].title == "2026年11月督办统计"
    assert "**大气环境处**" in reply[0].text and "红灯1" in reply[0].text
