"""End to end for the filing templates: a 实事项目 monthly report written over several 1:1
messages through the real SDK reaches the office's compiled Word and Excel files, which the
office group (and nobody else) receives from the local DingTalk, once, even across a restart."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import openpyxl

from bot.local_dingtalk import OutboundMessage
from bot.sandbox import Sandbox
from config.roster import Roster
from tests.test_e2e import CAL, FAST_RETRY, start_at
from tests.test_e2e_matters import plain, until

OFFICE = "cid-office"


def replies(out: list[OutboundMessage], user: str) -> str:
    found = [plain(m.text) for m in out if m.target == f"cidlocal1to1{user}=="]
    assert len(found) == 1, [m.text for m in out]
    return found[0]


async def test_a_filing_in_chat_reaches_the_office_compiled_document(
    roster: Roster, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path}/e2e.db"
    async with Sandbox(
        roster, CAL, db_url=db_url, start=start_at("2026-11-20 10:00"), sender_options=FAST_RETRY
    ) as box:
        await box.person_says("u-admin", "新增事项 实事项目 大气处 孙内勤 雨污混接改造")
        await box.person_says("u-admin", "新增事项 实事项目 水处 吴内勤 河道整治")
        await box.person_says("u-admin", "新增事项 实事项目 水处 吴内勤 泵站改造")
        # the clerk taps 已填报 in the 1:1 chat: the bot asks for the parts
        out = await box.person_says("u-air-clerk", "已填报 督1")
        assert "4、累计完成进度（%，0–100）" in replies(out, "u-air-clerk")
        out = await box.person_says(
            "u-air-clerk", "1、证照办理情况：施工许可已取得\n2、本月进展情况：铺设管网3公里"
        )
        said = replies(out, "u-air-clerk")
        assert "已收到：证照办理情况、本月进展情况" in said
        assert "还缺：下月主要工作安排、累计完成进度" in said
        out = await box.person_says("u-air-clerk", "累计完成进度：１２０％\n下月主要工作安排：验收")
        said = replies(out, "u-air-clerk")
        assert "「累计完成进度」应在0到100之间" in said and "还缺" not in said
        out = await box.person_says("u-air-clerk", "65%")  # the one part missing, unheaded
        assert replies(out, "u-air-clerk").endswith("按时完成。")
        # 督3 files by the water clerk in the department's group, in one message
        out = await box.person_says(
            "u-water-clerk",
            "@督办助手 已填报 督3 证照办理情况：无需 本月进展情况：调试 下月主要工作安排：验收 "
            "累计完成进度：100",
            group="cid-water",
        )
        assert any(m.target == "cid-water" and "按时完成" in m.text for m in out)
        # due Tuesday 24th 17:00 (a working day before the 25th): compiled the next morning
        out = await until(box, "2026-11-25 09:30")
        files = [m for m in out if m.msg_key == "sampleFile"]
        assert {m.target for m in files} == {OFFICE}
        assert sorted(m.media.file_name for m in files if m.media) == [
            "实事项目2026年11月汇总.docx",
            "实事项目2026年11月汇总.xlsx",
        ]
        content = {m.media.file_name: m.media.content for m in files if m.media}
        word = docx.Document(io.BytesIO(content["实事项目2026年11月汇总.docx"]))
        body = [[c.text for c in r.cells] for r in word.tables[0].rows[1:]]
        assert [(r[1], r[2], r[4], r[7]) for r in body] == [
            ("大气环境处", "督1 雨污混接改造", "65", "按时报送"),
            ("水生态环境处", "督2 河道整治", "", "未报送（超限）"),
            ("水生态环境处", "督3 泵站改造", "100", "按时报送"),
        ]
        assert "2、本月进展情况：铺设管网3公里" in body[0][3]
        sheet = openpyxl.load_workbook(io.BytesIO(content["实事项目2026年11月汇总.xlsx"])).active
        assert sheet is not None
        table = [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)]
        assert [(r[2], r[-1]) for r in table] == [
            ("督1", "按时报送"),
            ("督2", "未报送（超限）"),
            ("督3", "按时报送"),
        ]
        summary = [m.text for m in out if m.target == OFFICE and m.text.startswith("【汇总】")]
        assert summary == [
            "【汇总】实事项目2026年11月：应报3件，按时报送2件，未报送（超限）1件。"
            "Word和Excel见文件。"
        ]
        # a re-sweep later that day sends nothing more
        later = await until(box, "2026-11-25 15:00")
        assert [m for m in later if m.msg_key == "sampleFile" or "【汇总】" in m.text] == []
    # a restart: the bot starts again on the same database, and does not send them again
    async with Sandbox(
        roster, CAL, db_url=db_url, start=start_at("2026-11-26 09:30"), sender_options=FAST_RETRY
    ) as box:
        out = await until(box, "2026-11-26 11:00")
        assert [m for m in out if m.msg_key == "sampleFile" or "【汇总】" in m.text] == []
        # on demand, the office gets it again
        out = await box.person_says("u-admin", "汇总 实事项目 11月")
        assert {m.target for m in out if m.msg_key == "sampleFile"} == {OFFICE}
