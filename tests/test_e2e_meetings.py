"""End to end for the 双月例会: the agenda reaches the office group through the real SDK and
the local DingTalk as markdown and a Word file that opens, once, also across a restart."""

from __future__ import annotations

import io
from pathlib import Path

import docx

from bot.sandbox import Sandbox
from config.roster import Roster
from handlers import texts
from tests.test_e2e import CAL, FAST_RETRY, start_at
from tests.test_e2e_matters import until

OFFICE = "cid-office"


def agenda_messages(out: list) -> list:  # type: ignore[type-arg]
    return [m for m in out if m.media is not None or "议程草案" in m.text]


async def test_the_agenda_arrives_once_as_markdown_and_a_word_file(
    roster: Roster, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/e2e.db"
    async with Sandbox(
        roster, CAL, db_url=url, start=start_at("2026-12-17 10:00"), sender_options=FAST_RETRY
    ) as box:
        await box.person_says("u-admin", "新增事项 大调研工作 大气处 孙内勤 臭氧走航监测")
        await box.person_says("u-admin", "亮灯 督1 红 12月")
        await box.person_says("u-admin", "例会 2026-12-25 14:00")
        assert agenda_messages(await until(box, "2026-12-22 08:55")) == []
        out = agenda_messages(await until(box, "2026-12-22 09:15"))
        assert {(m.channel, m.target) for m in out} == {("group", OFFICE)}
        summary, file = sorted(out, key=lambda m: m.media is not None)
        assert summary.msg_key == "sampleMarkdown" and summary.title == texts.AGENDA_TITLE
        assert summary.text.startswith("【双月例会议程草案】2026年12月双月例会 12月25日(周五)")
        assert "- **大气环境处**：黄灯红灯1" in summary.text
        assert file.media is not None
        assert file.media.file_name == "2026年12月双月例会议程草案.docx"
        document = docx.Document(io.BytesIO(file.media.content))
        assert document.paragraphs[0].text == "2026年12月双月例会议程草案"
        (detail,) = [t for t in document.tables if t.rows[0].cells[0].text == "类型"]
        assert [c.text for c in detail.rows[1].cells] == [
            "黄灯红灯",
            "督1 臭氧走航监测",
            "2026年12月亮红灯",
        ]
    # a restart the same morning: the agenda is on the record, not sent again
    async with Sandbox(
        roster, CAL, db_url=url, start=start_at("2026-12-22 09:30"), sender_options=FAST_RETRY
    ) as box:
        assert agenda_messages(await until(box, "2026-12-23 10:00")) == []
