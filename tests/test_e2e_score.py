"""End to end for the year-end 考核评议 through the real SDK and the local DingTalk: the office
drafts, the 局主要领导 returns then approves; the approved result reaches the office group as
Word and Excel that open, and no longer changes when new data arrive (also in the CLI)."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import unquote

import docx
import openpyxl
from sqlalchemy import select

from bot.sandbox import Sandbox
from config.roster import Roster
from storage.models import Filing, ScoreEvent, ScoreSheet
from tests.test_e2e import CAL, FAST_RETRY, start_at
from tests.test_e2e_matters import LINK

OFFICE = "cid-office"
AIR_VETO = "一票否决：督1 臭氧污染防治（区委区政府重点工作）年底亮灯为2026年12月黄灯"


def reaches(message: object, channel: str, target: str) -> bool:
    """A message to a group, or to one person (1:1, or the reply in their 1:1 chat)."""
    got, to = message.channel, message.target  # type: ignore[attr-defined]
    if channel == "group":
        return bool(got == "group" and to == target)
    return (got == "oto" and target in to) or (got == "session" and to == f"cidlocal1to1{target}==")


def files(out: list, channel: str, target: str) -> list:  # type: ignore[type-arg]
    return [m for m in out if m.media is not None and reaches(m, channel, target)]


def replies(out: list, user: str) -> str:  # type: ignore[type-arg]
    return "\n".join(m.text for m in out if reaches(m, "oto", user))


def opened(messages: list) -> tuple[list[str], list[list[object]]]:  # type: ignore[type-arg]
    """The Word document's text (paragraphs and cells) and the workbook's first sheet."""
    (word,) = [m for m in messages if m.media.file_name.endswith(".docx")]
    (book,) = [m for m in messages if m.media.file_name.endswith(".xlsx")]
    document = docx.Document(io.BytesIO(word.media.content))
    text = [p.text for p in document.paragraphs]
    text += [c.text for t in document.tables for r in t.rows for c in r.cells]
    sheet = openpyxl.load_workbook(io.BytesIO(book.media.content)).worksheets[0]
    return text, [list(row) for row in sheet.iter_rows(values_only=True)]


async def test_draft_return_approve_freeze(roster: Roster, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/e2e.db"
    async with Sandbox(
        roster, CAL, db_url=url, start=start_at("2026-12-28 10:00"), sender_options=FAST_RETRY
    ) as box:
        await box.person_says("u-admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
        await box.person_says("u-admin", "亮灯 督1 黄 12月")

        refusals = {
            "考核调整 大气处 成效情况 1 好": "尚无考核评分草稿：请先发「考核 <年份>」。",
            "考核 2030": "2030年尚未开始，不能考核。",
            "考核 明年": "「明年」不是年份，请写如 2026。",
            "考核送审 2026": "2026年度尚无考核评分：请先发「考核 2026」。",
        }
        for command, refusal in refusals.items():
            assert replies(await box.person_says("u-admin", command), "u-admin") == refusal
        out = await box.person_says("u-admin", "考核 2026")
        summary = replies(out, "u-admin")
        assert "2026年度重点工作考核评议" in summary and AIR_VETO in summary
        drafted = files(out, "oto", "u-admin")
        assert sorted(m.media.file_name for m in drafted) == [
            "2026年度重点工作考核评议.docx",
            "2026年度重点工作考核评议明细.xlsx",
        ]
        assert files(out, "group", OFFICE) == []  # the draft goes to the asker only

        for command, refusal in {
            "考核调整 水处 态度 -2 差": "「态度」不是可调整的项目，请写：",
            "考核调整 水处 协同情况 -20 差": "「-20」不是分数",
        }.items():
            assert replies(await box.person_says("u-admin", command), "u-admin").startswith(refusal)
        out = await box.person_says("u-admin", "考核调整 水处 协同情况 -2 跨部门协同不及时")
        assert "水生态环境处「协同情况」-2分，该处室现为18分" in replies(out, "u-admin")
        out = await box.person_says("u-admin", "考核送审 2026")
        assert "请先填写总体考评意见" in replies(out, "u-admin")
        await box.person_says("u-admin", "考核意见 2026 各处室总体完成年度任务")

        out = await box.person_says("u-admin", "考核送审 2026")
        to_director = [m for m in out if reaches(m, "oto", "u-director")]
        notice = next(m for m in to_director if m.media is None)
        assert notice.text.startswith("【考核评议送审】王敏报来2026年度重点工作考核评议")
        links = [unquote(target) for _, target in LINK.findall(notice.text)]
        assert links == ["考核审定 2026", "考核退回 2026"]
        assert len(files(out, "oto", "u-director")) == 2
        assert "已将2026年度重点工作考核评议送张局审定" in replies(out, "u-admin")
        # only the director approves
        out = await box.person_says("u-admin", "考核审定 2026")
        assert replies(out, "u-admin") and "冻结" not in replies(out, "u-admin")
        assert [m for m in out if reaches(m, "group", OFFICE)] == []

        out = await box.person_says("u-director", "待办")
        assert "考核评议·2026年度重点工作考核评议待审定" in replies(out, "u-director")
        out = await box.person_says("u-director", "考核退回 2026 请核实大气处亮灯")
        assert "请核实大气处亮灯" in replies(out, "u-admin")
        out = await box.person_says("u-admin", "待办")
        assert "2026年度重点工作考核评议已退回" in replies(out, "u-admin")
        out = await box.person_says("u-admin", "考核调整 大气处 成效情况 1 走航监测成效明显")
        assert "大气环境处「成效情况」+1分" in replies(out, "u-admin")
        await box.person_says("u-admin", "考核送审 2026")

        out = await box.person_says("u-director", "考核审定 2026")
        assert "结果已冻结" in replies(out, "u-director")
        group = [m for m in out if reaches(m, "group", OFFICE)]
        assert group[0].text.startswith("【考核评议已审定】2026年度重点工作考核评议经张局")
        approved = files(out, "group", OFFICE)
        assert len(approved) == 2
        text, rows = opened(approved)
        assert text[0] == "2026年度重点工作考核评议"
        assert AIR_VETO in "\n".join(text) and "各处室总体完成年度任务" in text
        assert any("第3次起每次扣1分" in t for t in text)  # 评分说明
        assert rows[0][0] == "处室"
        water = next(r for r in rows if r[0] == "水生态环境处")
        air = next(r for r in rows if r[0] == "大气环境处")
        assert water[3] == "10" and air[3] == "0" and air[5] == "是"

        # new data: a red December light for the water department, after approval
        await box.person_says("u-admin", "新增事项 区委区政府重点工作 水处 吴内勤 河道整治")
        await box.person_says("u-admin", "亮灯 督2 红 12月")
        with box.db.sessions() as session, session.begin():  # and a late report
            due = start_at("2026-11-20 17:00")
            session.add(
                Filing(
                    matter_id=2,
                    kind="monthly",
                    period="2026-11",
                    node=due.date(),
                    due_at=due,
                    overdue=True,
                )
            )
        out = await box.person_says("u-admin", "考核 2026")
        assert opened(files(out, "oto", "u-admin")) == (text, rows)
        assert "督2" not in replies(out, "u-admin")

        out = await box.person_says("u-admin", "考核调整 水处 协同情况 1 补充")
        assert "已审定，不能调整" in replies(out, "u-admin")
    # re-opening is recorded and shows the data as they are now
    async with Sandbox(
        roster, CAL, db_url=url, start=start_at("2026-12-30 10:00"), sender_options=FAST_RETRY
    ) as box:
        out = await box.person_says("u-admin", "考核重开 2026 水处12月亮红灯")
        assert "已重开" in replies(out, "u-admin")
        assert "考核评议重开" in replies(out, "u-director")
        out = await box.person_says("u-admin", "考核 2026")
        assert "督2 河道整治" in replies(out, "u-admin")
        text, _ = opened(files(out, "oto", "u-admin"))
        assert any("滞后：督2 河道整治·2026年11月填报" in t for t in text)
        with box.db.sessions() as session:
            row = session.scalars(select(ScoreSheet)).one()
            assert row.state == "draft" and row.snapshot is None
            reopened = session.scalars(
                select(ScoreEvent).where(ScoreEvent.action == "reopened")
            ).one()
            assert reopened.detail == "水处12月亮红灯" and reopened.snapshot is not None
            actions = session.scalars(select(ScoreEvent.action).order_by(ScoreEvent.id)).all()
            assert actions == [
                "drafted",
                "opinion",
                "sent",
                "returned",
                "sent",
                "approved",
                "reopened",
            ]
