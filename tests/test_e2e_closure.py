"""End to end: a 攻坚 matter's 销项 through the real dingtalk-stream SDK and the local DingTalk:
办结事项, the report's parts, two files sent in the clerk's 1:1 chat (fetched by the robot
message-file download), then the Word report and both files in the office group alone."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import pytest

from bot.local_dingtalk import OutboundMessage
from bot.sandbox import Sandbox
from config.roster import Roster, load_roster
from handlers import texts
from handlers.workcal import WorkCalendar
from tests.fake_dingtalk import FakeDingTalk

SH = ZoneInfo("Asia/Shanghai")
EXAMPLE = Path(__file__).parent.parent / "config" / "examples" / "org.toml"
PLAN = b"%PDF-1.7\n" + b"the plan" * 200
FORM = b"%PDF-1.7\n" + b"stamped consent form" * 80
FAST = {"backoff_base": 0.02, "backoff_max": 0.1, "max_wait": 0.05}
REF = "督1 工业园区VOCs治理"


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    roster: Roster = load_roster(EXAMPLE)
    async with Sandbox(
        roster,
        WorkCalendar(),
        db_url=f"sqlite:///{tmp_path}/e2e.db",
        start=dt.datetime(2026, 11, 16, 9, 30, tzinfo=SH),
        sender_options=FAST,
        files_dir=tmp_path / "files",
        fetcher_options={"backoff_base": 0.02, "backoff_max": 0.05, "max_wait": 0.05},
        local_dingtalk=FakeDingTalk,
    ) as box:
        yield box


def to(messages: list[OutboundMessage], target: str) -> list[OutboundMessage]:
    """To a group, or to a person (1:1, or the answer in their 1:1 chat with the robot)."""
    return [m for m in messages if m.target in (target, (target,), f"cidlocal1to1{target}==")]


async def send_file(box: Sandbox, user: str, content: bytes, name: str) -> list[OutboundMessage]:
    code = box.dingtalk.add_message_file(content, name)
    return await box.person_says(
        user, "", msgtype="file", content={"downloadCode": code, "fileName": name}
    )


async def test_a_tackle_matter_closes_with_its_report_and_files(sandbox: Sandbox) -> None:
    await sandbox.person_says("u-admin", "新增事项 攻坚 大气处 孙内勤 工业园区VOCs治理")
    out = await sandbox.person_says("u-admin", "办结事项 督1")
    assert to(out, "cid-air")[0].text.startswith(f"【销项报告】{REF}")
    assert "尚缺：问题描述、解决情况、解决方案、意见征询表" in to(out, "u-admin")[0].text
    clerk = "u-air-clerk"
    await sandbox.person_says(
        clerk, "销项 督1 问题描述：十二家企业无组织排放\n解决情况：已全部整改"
    )
    out = await sandbox.person_says(clerk, "附件 督1")
    assert to(out, clerk)[0].text == texts.attach_send_file(REF, None)
    out = await send_file(sandbox, clerk, PLAN, "VOCs解决方案.pdf")
    assert to(out, "cid-office") == []  # one file is not the whole report
    out = await send_file(sandbox, clerk, FORM, "征询表扫描件.pdf")
    assert to(out, clerk)[0].text == texts.attach_which_matter(["征询表扫描件.pdf"])
    out = await sandbox.person_says(clerk, "督1")  # the last part: the matter closes
    office = to(out, "cid-office")
    assert office[0].text.startswith(f"【销项办结】{REF}（大气环境处）")
    files = [m for m in out if m.msg_key == "sampleFile"]
    assert {m.target for m in files} == {"cid-office"}  # nobody else gets the documents
    assert [m.media.file_name for m in files if m.media] == [
        "督1销项报告.docx",
        "VOCs解决方案.pdf",
        "征询表扫描件.pdf",
    ]
    assert [m.media.content for m in files[1:] if m.media] == [PLAN, FORM]
    assert files[0].media is not None
    report = docx.Document(io.BytesIO(files[0].media.content))
    text = "\n".join(p.text for p in report.paragraphs)
    for line in (
        "事项编号：督1",
        "事项名称：工业园区VOCs治理",
        "报送机构：大气环境处",
        "问题描述：十二家企业无组织排放",
        "解决情况：已全部整改",
        "（VOCs解决方案.pdf）",
        "意见征询表（盖章同意）（征询表扫描件.pdf）",
    ):
        assert line in text
    assert texts.closure_closed(REF) in [m.text for m in to(out, clerk)]
    shown = await sandbox.person_says("u-admin", "查看 督1")
    assert "已办结" in to(shown, "u-admin")[0].text
