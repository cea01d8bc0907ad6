"""End to end for the office's reports, through the real SDK and the local DingTalk on a fake
clock: a month of activity, then the quarterly draft on the first working day of August; the
drafts across a New Year, a February and a half-year end, once each, after a restart too; the
报告 command and its files; a file DingTalk will not take."""

from __future__ import annotations

import datetime as dt
import io
import tomllib
from pathlib import Path
from typing import Any

import docx
from openpyxl import load_workbook
from sqlalchemy import select

from bot.local_dingtalk.recorder import OutboundMessage
from bot.sandbox import Sandbox
from config.roster import Roster, build_roster
from handlers.office_reports import model, periods
from storage.models import OfficeReport
from tests.fake_dingtalk import FakeDingTalk
from tests.test_e2e import CAL, EXAMPLE, FAST_RETRY, start_at

DRAFT = "【报告草稿】"


def roster_with(**reports: Any) -> Roster:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["reports"] = reports
    return build_roster(raw)


def sandbox(roster: Roster, tmp_path: Path, start: str) -> Sandbox:
    return Sandbox(
        roster,
        CAL,
        db_url=f"sqlite:///{tmp_path}/e2e.db",
        start=start_at(start),
        sender_options=FAST_RETRY,
        local_dingtalk=FakeDingTalk,
    )


async def until(box: Sandbox, moment: str) -> list[OutboundMessage]:
    return await box.advance(start_at(moment) - box.clock.now)


def drafts(messages: list[OutboundMessage]) -> list[OutboundMessage]:
    return [m for m in messages if DRAFT in m.text]


def files(messages: list[OutboundMessage]) -> list[OutboundMessage]:
    return [m for m in messages if m.msg_key == "sampleFile"]


def one_draft(messages: list[OutboundMessage], title: str) -> list[OutboundMessage]:
    """The draft and its two files, all to the office group and nowhere else."""
    (draft,) = drafts(messages)
    sent = files(messages)
    assert draft.channel == "group" and draft.target == "cid-office"
    assert draft.title == title and draft.msg_key == "sampleMarkdown"
    assert [(m.channel, m.target) for m in sent] == [("group", "cid-office")] * 2
    assert [m.media.file_name for m in sent if m.media] == [f"{title}.docx", f"{title}附表.xlsx"]
    return sent


async def test_a_month_of_activity_then_the_quarterly_draft(tmp_path: Path) -> None:
    roster = roster_with(half_year=False)  # July's half-year draft is another test's
    async with sandbox(roster, tmp_path, "2026-07-06 09:30") as box:  # a Monday
        admin = "u-admin"
        await box.person_says(admin, "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
        await box.person_says(admin, "新增事项 区委区政府重点工作 大气处 孙内勤 扬尘管控")
        await box.person_says(admin, "批示件 水处 2026-07-31 区长批示：河道保洁")
        await box.person_says("u-water-clerk", "签收 督3")
        await box.person_says(admin, "亮灯 督1 黄 6月")
        out = await box.person_says(admin, "亮灯 督1 黄 7月")
        assert any("第一层级约谈问询" in m.text for m in out)  # proposed ("酌情")
        await box.person_says(admin, "启动约谈 督1")  # and started by the office
        # #1 answered on time; #2 triaged late and never answered; #3 a hard case
        await box.town_says("川沙新镇", "请问工地扬尘管控有哪些新要求？")
        await box.person_says(admin, "分派 1 大气处")
        await box.person_says("u-air-clerk", "认领 1")
        await box.person_says("u-air-clerk", "答复 1 按市里新规执行，详见附件。")
        await box.person_says("u-air-head", "同意 1")
        await box.town_says("川沙新镇", "河道里有死鱼，请尽快处理。")
        await box.town_says("川沙新镇", "化工园区的异味投诉怎么处理？")
        await box.person_says(admin, "分派 3 大气处")
        await box.person_says("u-air-clerk", "认领 3")
        await box.person_says("u-air-head", "疑难 3 涉及多个部门")
        await until(box, "2026-07-06 15:00")  # triage is half a working day: #2 is late
        await box.person_says(admin, "分派 2 水处")
        await box.person_says("u-water-clerk", "认领 2")
        await box.person_says("u-air-clerk", "已填报 督1")
        await box.person_says("u-water-clerk", "已反馈 督3 河道保洁已落实，材料已录入")
        await box.person_says("u-deputy-1", "同意 督3")  # the 分管局领导's approval counts
        # the filing node (Mon 20 July) passes for 督2: 超限 the next morning
        await until(box, "2026-07-21 10:00")
        # nothing on the weekend of 1-2 August; the draft on Monday the 3rd at 09:00
        assert drafts(await until(box, "2026-08-03 08:55")) == []
        out = await until(box, "2026-08-03 09:30")
        title = "2026年8月督查情况报告"
        sent = one_draft(out, title)
        (draft,) = drafts(out)
        assert draft.text.startswith(f"{DRAFT}{title}（2026年5月1日至2026年7月31日）已生成")
        assert "请审核后报局领导" in draft.text and "「报告已呈报 2026Q3」" in draft.text
        assert "1. 受理@件 3件（+3）" in draft.text
        assert "- 超时未办@件：#2" in draft.text and "- 填报超限：大气环境处超限1次" in draft.text

        with box.db.sessions() as session:
            report = model.build(
                session, roster, CAL, periods.quarter(roster.data.reports, 2026, 3), box.clock.now
            )
        office, (air, water) = report.stats.office, report.stats.departments
        assert (office.items, office.triage.on_time, office.triage.late) == (3, 2, 1)
        assert (air.items, air.claim.on_time, air.reply.on_time, air.placeholder.on_time) == (
            2,
            2,
            2,
            1,
        )
        assert (water.items, water.reply.open_overdue) == (1, 1)
        assert (air.filings.on_time, air.filings.overdue) == (1, 1)
        assert (water.filings.on_time, water.filings.overdue) == (2, 0)  # 签收 and 反馈
        assert air.lights == {"green": 0, "yellow": 2, "red": 0}
        assert [(i.matter, i.tier) for i in report.interviews] == [(1, 1)]

        assert sent[0].media is not None and sent[1].media is not None
        document = docx.Document(io.BytesIO(sent[0].media.content))
        lines = [p.text for p in document.paragraphs]
        assert lines[0] == title and "二、街镇直通车@件办理情况" in lines
        assert any(line.startswith("本季度共受理街镇@件3件") for line in lines)
        rows = [[c.text for c in r.cells] for r in document.tables[0].rows]
        assert rows[1][:2] == ["大气环境处", "2"] and rows[2][:2] == ["水生态环境处", "1"]
        book = load_workbook(io.BytesIO(sent[1].media.content))
        assert all(len(book[name]._charts) == 1 for name in book.sheetnames[:4])

        # the office marks it sent: recorded with who and when, once
        reply = await box.person_says(admin, "报告已呈报 2026Q3")
        assert [m.text for m in reply] == [
            "已记录：2026年8月督查情况报告由王敏于8月3日(周一) 09:30呈报。"
        ]
        again = await box.person_says("u-office-head", "报告已呈报 2026年第三季度")
        assert "已于8月3日(周一) 09:30由王敏记录呈报" in again[0].text
        refused = await box.person_says("u-air-head", "报告已呈报 2026Q3")
        assert "局办公室督办岗" in refused[0].text
        with box.db.sessions() as session:
            record = session.get(OfficeReport, "2026Q3")
            assert record is not None and record.submitted_by == admin


async def test_drafts_once_each_on_the_first_working_day_across_a_restart(tmp_path: Path) -> None:
    roster = roster_with()
    async with sandbox(roster, tmp_path, "2025-12-31 16:00") as box:
        # 1-3 January are the New Year holiday, Sunday the 4th a make-up working day
        assert drafts(await until(box, "2026-01-04 08:55")) == []
        out = await until(box, "2026-01-04 09:30")
        one_draft(out, "2025年度督查情况报告")
        assert "请审核后报局长办公会" in drafts(out)[0].text
        assert drafts(await until(box, "2026-01-31 12:00")) == []  # a Saturday
        assert drafts(await until(box, "2026-02-02 08:55")) == []  # Sunday the 1st: nothing
        out = await until(box, "2026-02-02 09:30")
        one_draft(out, "2026年2月督查情况报告")
        assert "（2025年11月1日至2026年1月31日）" in drafts(out)[0].text
        assert drafts(await until(box, "2026-02-02 16:00")) == []
    # a restart the same day, and the days after: not again
    async with sandbox(roster, tmp_path, "2026-02-02 16:30") as box:
        assert drafts(await until(box, "2026-02-04 10:00")) == []
    # the half-year end: Wednesday 1 July
    async with sandbox(roster, tmp_path, "2026-06-30 16:00") as box:
        assert drafts(await until(box, "2026-07-01 08:55")) == []
        out = await until(box, "2026-07-01 09:30")
        one_draft(out, "2026年上半年督查情况报告")
        assert drafts(await until(box, "2026-07-02 10:00")) == []
        with box.db.sessions() as session:
            done = session.execute(select(OfficeReport.period, OfficeReport.drafted_at)).all()
    assert sorted((p, at.astimezone(CAL.tz).date()) for p, at in done if at) == [
        ("2025", dt.date(2026, 1, 4)),
        ("2026H1", dt.date(2026, 7, 1)),
        ("2026Q1", dt.date(2026, 2, 2)),
    ]


async def test_the_command_sends_the_files_to_the_asker(tmp_path: Path) -> None:
    async with sandbox(roster_with(schedule=False), tmp_path, "2026-08-05 10:00") as box:
        out = await box.person_says("u-director", "报告 季度")
        replies = [m for m in out if m.msg_key != "sampleFile"]
        assert len(replies) == 1 and replies[0].title == "2026年8月督查情况报告"
        assert replies[0].text.startswith("**2026年8月督查情况报告**（2026年5月1日至")
        assert [(m.channel, m.target) for m in files(out)] == [("oto", ("u-director",))] * 2
        assert box.dingtalk.sent_to_conversation("cid-office") == []
        # asked in the office group: the summary there, the files to the asker alone
        out = await box.person_says("u-admin", "报告 半年 2026上半年", group="cid-office")
        assert [(m.channel, m.target, m.msg_key) for m in out] == [
            ("session", "cid-office", "markdown"),
            ("oto", ("u-admin",), "sampleFile"),
            ("oto", ("u-admin",), "sampleFile"),
        ]
        assert out[0].text.startswith("**2026年上半年督查情况报告**（2026年1月1日至2026年6月30日）")
        out = await box.person_says("u-director", "报告 半年 2026Q3")
        assert [m.text for m in out] == ["「2026Q3」不是半年报告的期间。"]
        out = await box.person_says("u-director", "报告 年度 2027")
        assert [m.text for m in out] == ["2027年度督查情况报告的期间尚未开始。"]
        out = await box.person_says("u-air-clerk", "报告 季度")
        assert files(out) == [] and out[0].text.startswith("「报告」只有局办公室督办岗")


async def test_a_file_dingtalk_refuses_tells_the_office_the_command(tmp_path: Path) -> None:
    async with sandbox(roster_with(schedule=False), tmp_path, "2026-08-05 10:00") as box:
        assert isinstance(box.dingtalk, FakeDingTalk)
        box.dingtalk.fail_next(
            "/media/upload", 200, {"errcode": 40004, "errmsg": "不合法的媒体文件类型"}
        )
        out = await box.person_says("u-director", "报告 季度 2026Q3")
        told = [m for m in out if "报告文件未送达" in m.text]
        assert sorted((m.channel, str(m.target)) for m in told) == [
            ("group", "cid-office"),
            ("oto", "('u-director',)"),
        ]
        assert told[0].text.startswith("【报告文件未送达】「2026年8月督查情况报告.docx」没有发出")
        assert "python -m bot report quarter --period 2026Q3 --out DIR" in told[0].text
        assert [m.media.file_name for m in files(out) if m.media] == [
            "2026年8月督查情况报告附表.xlsx"
        ]
