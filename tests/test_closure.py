"""A 攻坚 matter's 销项 (attachment 4): 办结事项 asks for the report, the department writes its
parts and sends the two files in its 1:1 chat, the real fetcher stores them, and the matter
closes with a Word report for the office group alone; on both databases. And a 批示件's 专报."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from pathlib import Path
from typing import Any

import docx
import pytest
from sqlalchemy import select

from bot.app import write_outbox
from bot.dingtalk.errors import PermanentSendError
from bot.files import Fetcher
from bot.incoming import IncomingMessage
from bot.router import handle
from config.roster import Roster
from handlers import texts
from handlers.closure.flow import parse_parts
from handlers.effects import Outgoing
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import (
    Attachment,
    ClosureReport,
    Document,
    Matter,
    MatterEvent,
    OutboxMessage,
)
from storage.outbox import document_id
from tests.conftest import T0, World

PDF = b"%PDF-1.7\n" + b"plan" * 100
SCAN = b"%PDF-1.7\n" + b"stamped form" * 50
OFFICE, AIR = "cid-office", "cid-air"
CLERK, HEAD, ADMIN = "u-air-clerk", "u-air-head", "u-admin"
_IDS = itertools.count(1)
PROBLEM = "园区内12家企业VOCs无组织排放，群众投诉多年。"
SOLUTION = "已完成全部企业的收集治理设施改造，监测达标，投诉清零。"


class Downloads:
    """downloadCode -> bytes (a PermanentSendError when absent)."""

    def __init__(self, **files: bytes) -> None:
        self.files = files

    async def download_message_file(self, download_code: str) -> bytes:
        if download_code not in self.files:
            raise PermanentSendError("RobotMessageFileDownload: HTTP 400 invalid downloadCode")
        return self.files[download_code]


class Chat:
    """Messages through the real router (bot.router.handle), one transaction each, written
    to the outbox as the app does; files fetched by the real fetcher."""

    def __init__(self, db: Database, roster: Roster, cal: WorkCalendar, files: Path) -> None:
        self.db, self.roster, self.cal, self.now = db, roster, cal, T0
        self.downloads = Downloads()
        self.fetcher = Fetcher(
            db, self.downloads, files, roster, cal, write_outbox, clock=lambda: self.now
        )

    def say(
        self, who: str, text: str = "", *, file: str | None = None, group: str | None = None
    ) -> list[Outgoing]:
        data: dict[str, Any] = {
            "msgId": f"m-{next(_IDS)}",
            "conversationId": group or f"oto-{who}",
            "conversationType": "2" if group else "1",
            "senderStaffId": who,
            "senderNick": self.roster.name(who),
            "msgtype": "text",
            "text": {"content": text},
        }
        if file is not None:
            code = f"dc-{next(_IDS)}"
            self.downloads.files[code] = SCAN if "扫描" in file or "盖章" in file else PDF
            data["msgtype"] = "file"
            data["content"] = {"downloadCode": code, "fileName": file}
            del data["text"]
        msg = IncomingMessage.from_payload(data)
        with self.db.transaction() as session:
            out = handle(session, self.roster, self.cal, self.now, msg)
            write_outbox(session, out, self.now)
        return out

    def reply(self, who: str, text: str = "", *, file: str | None = None) -> str:
        out = self.say(who, text, file=file)
        mine = [m.text for m in out if m.target in (who, f"oto-{who}")]
        assert len(mine) == 1, out
        return mine[0]

    async def fetch(self) -> list[OutboxMessage]:
        """Fetch every pending file; the outbox rows that made."""
        with self.db.sessions() as session:
            before = session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))
        await self.fetcher.fetch_due()
        with self.db.sessions() as session:
            query = select(OutboxMessage).where(OutboxMessage.id > (before or 0))
            return list(session.scalars(query.order_by(OutboxMessage.id)))

    def matter(self, number: int = 1) -> Matter:
        with self.db.sessions() as session:
            found = session.get(Matter, number)
            assert found is not None
            return found


@pytest.fixture
def chat(db: Database, roster: Roster, cal: WorkCalendar, tmp_path: Path) -> Chat:
    made = Chat(db, roster, cal, tmp_path / "files")
    made.say(ADMIN, "新增事项 攻坚 大气处 孙内勤 工业园区VOCs治理")
    return made


def report_text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    return "\n".join(p.text for p in document.paragraphs)


async def test_a_tackle_matter_closes_only_with_its_report_and_both_files(chat: Chat) -> None:
    out = chat.say(ADMIN, "办结事项 督1 已整改到位")
    asked = [m for m in out if m.target == AIR]
    assert len(asked) == 1 and asked[0].text.startswith("【销项报告】督1 工业园区VOCs治理")
    assert {m.target for m in out if m.channel == "oto"} == {CLERK, HEAD, ADMIN}
    reply = next(m.text for m in out if m.target == ADMIN)
    assert reply.endswith("尚缺：问题描述、解决情况、解决方案、意见征询表")
    assert chat.matter().status == "open"

    reply = chat.reply(CLERK, f"销项 督1 问题描述：{PROBLEM}\n解决情况：{SOLUTION}")
    assert reply == "已记录 督1 工业园区VOCs治理 的问题描述、解决情况。尚缺：解决方案、意见征询表"
    assert chat.matter().status == "open"

    # the file first, then the matter named: unclear what it is, so the bot asks
    reply = chat.reply(CLERK, file="扫描件.pdf")
    assert reply == texts.attach_which_matter(["扫描件.pdf"])
    reply = chat.reply(CLERK, "督1")
    assert reply == texts.attach_which_purpose("督1 工业园区VOCs治理", "扫描件.pdf", True)
    reply = chat.reply(CLERK, "意见征询表")
    assert reply.startswith("已收到 督1 工业园区VOCs治理 的附件（意见征询表：扫描件.pdf）")
    # 附件 督1, then the file: its name says what it is
    assert chat.reply(CLERK, "附件 督1").startswith("请发送 督1 工业园区VOCs治理 的")
    reply = chat.reply(CLERK, file="VOCs治理解决方案.pdf")
    assert "解决方案（文件正在接收）" in reply and chat.matter().status == "open"

    sent = await chat.fetch()  # both files stored: the last one closes the matter
    assert chat.matter().status == "closed"
    to_office = [m for m in sent if m.target == OFFICE]
    assert [m.kind for m in to_office] == ["text", "file", "file", "file"]
    assert to_office[0].text.startswith("【销项办结】督1 工业园区VOCs治理（大气环境处）")
    others = [(m.target, m.text) for m in sent if m.target != OFFICE]
    assert others == [(CLERK, texts.closure_closed("督1 工业园区VOCs治理"))]
    with chat.db.sessions() as session:
        number = document_id(to_office[1].media_path or "")
        document = session.get(Document, number)
        assert document is not None and document.name == "督1销项报告.docx"
        files = session.scalars(select(Attachment).order_by(Attachment.id)).all()
        assert [(f.purpose, f.state, f.matter_id, f.item_id) for f in files] == [
            ("意见征询表", "stored", 1, None),
            ("解决方案", "stored", 1, None),
        ]
        assert [m.media_path for m in to_office[2:]] == [files[1].path, files[0].path]
        assert (chat.fetcher._dir / (files[0].path or "")).read_bytes() == SCAN
        actions = session.scalars(
            select(MatterEvent.action).where(MatterEvent.matter_id == 1).order_by(MatterEvent.id)
        ).all()
    text = report_text(document.content)
    for line in (
        "事项编号：督1",
        "事项名称：工业园区VOCs治理",
        "报送机构：大气环境处",
        f"问题描述：{PROBLEM}",
        f"解决情况：{SOLUTION}",
    ):
        assert line in text
    assert "区生态环境局历史遗留“攻坚”行动工作解决方案（VOCs治理解决方案.pdf）" in text
    assert "意见征询表（盖章同意）（扫描件.pdf）" in text
    assert actions == [
        "created",
        "closure_asked",
        "closure_part",
        "closure_file",
        "closure_file",
        "closure_file",
        "closure_file",
        "closed",
    ]


async def test_everything_in_before_the_office_asks_closes_at_once(chat: Chat) -> None:
    chat.reply(CLERK, f"销项 督1 1、问题描述：{PROBLEM} 2、解决情况：{SOLUTION}")
    chat.reply(CLERK, file="解决方案.docx")
    chat.reply(CLERK, "督1")
    chat.reply(CLERK, file="意见征询表（盖章）.pdf")
    assert chat.reply(CLERK, "督1").endswith("意见征询表（文件正在接收）")
    assert [m for m in await chat.fetch() if m.target == OFFICE] == []  # not asked: stays open
    assert chat.matter().status == "open"
    assert texts.CLOSURE_COMPLETE in chat.reply(ADMIN, "查看 督1")
    out = chat.say(ADMIN, "办结事项 督1", group=OFFICE)
    assert chat.matter().status == "closed"
    assert [(m.channel, m.target, m.kind) for m in out] == [
        ("group", OFFICE, "text"),
        ("group", OFFICE, "file"),
        ("group", OFFICE, "file"),
        ("group", OFFICE, "file"),
        ("group", OFFICE, "text"),  # the answer in the office group (no webhook here)
    ]
    assert out[-1].text == texts.closure_closed("督1 工业园区VOCs治理")


async def test_parts_message_by_message_through_the_conversation(chat: Chat) -> None:
    chat.say(ADMIN, "办结事项 督1")
    assert chat.reply(CLERK, "销项 督1").startswith("请发送销项报告")
    reply = chat.reply(CLERK, PROBLEM)  # no heading: the first part missing
    assert reply.startswith("已记录 督1 工业园区VOCs治理 的问题描述。尚缺：解决情况")
    assert "请直接发送解决情况" in reply
    reply = chat.reply(CLERK, SOLUTION)
    assert reply.startswith("已记录 督1 工业园区VOCs治理 的解决情况。尚缺：解决方案、意见征询表")
    with chat.db.sessions() as session:
        report = session.get(ClosureReport, 1)
        assert report is not None
        assert (report.problem, report.solution, report.written_by) == (PROBLEM, SOLUTION, CLERK)
    # both written: plain text again is refused (name the part to change it)
    chat.reply(CLERK, "销项 督1")
    assert chat.reply(CLERK, "再改一下") == texts.closure_name_the_part("督1 工业园区VOCs治理")
    assert chat.reply(CLERK, "销项 督1 解决情况：改后的情况").startswith("已记录")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("问题描述：甲\n解决情况：乙", {"问题描述": "甲", "解决情况": "乙"}),
        ("问题描述:甲 解决情况:乙", {"问题描述": "甲", "解决情况": "乙"}),
        ("1、问题描述：甲。2、解决情况：乙", {"问题描述": "甲。", "解决情况": "乙"}),
        ("解决情况：乙", {"解决情况": "乙"}),
        ("问题描述：\n解决情况：乙", {"解决情况": "乙"}),  # an empty part is not a part
        ("只是一段话", {}),
    ],
)
def test_the_parts_of_a_report(text: str, parts: dict[str, str]) -> None:
    assert parse_parts(text) == parts


async def test_who_may_and_what_is_refused(chat: Chat) -> None:
    chat.say(ADMIN, "新增事项 局重点工作 大气处 孙内勤 扬尘管控")
    assert chat.reply(CLERK, "销项 督2 问题描述：甲") == texts.closure_only_tackle("督2 扬尘管控")
    water = chat.reply("u-water-clerk", "销项 督1 问题描述：甲")
    assert water == texts.not_matter_department("督1 工业园区VOCs治理", "大气环境处")
    out = chat.say(CLERK, "附件 督1", group=AIR)  # a file cannot reach the bot in a group
    assert [m.text for m in out] == [texts.attach_in_chat("附件 督1")]
    assert chat.reply("u-deputy-1", file="方案.pdf") == texts.FILES_NOT_TAKEN
    too_long = "问题描述：" + "字" * 3001
    assert "超出1字" in chat.reply(CLERK, f"销项 督1 {too_long}")
    # another category closes at once, as before
    assert "已办结" in chat.reply(ADMIN, "办结事项 督2")
    with chat.db.sessions() as session:
        assert session.get(ClosureReport, 1) is None  # the refused 销项 left nothing


async def test_a_file_that_cannot_be_fetched_is_told_and_does_not_count(chat: Chat) -> None:
    chat.say(ADMIN, "办结事项 督1")
    chat.reply(CLERK, f"销项 督1 问题描述：{PROBLEM}\n解决情况：{SOLUTION}")
    chat.reply(CLERK, file="解决方案.pdf")
    chat.reply(CLERK, "督1")
    chat.reply(CLERK, file="意见征询表.pdf")
    chat.reply(CLERK, "督1")
    chat.downloads.files.clear()  # DingTalk refuses both codes for good
    sent = await chat.fetch()
    assert sorted((m.target, m.text) for m in sent) == sorted(  # fetched side by side
        [
            (CLERK, texts.attach_failed("解决方案.pdf")),
            (CLERK, texts.attach_failed("意见征询表.pdf")),
        ]
    )
    assert chat.matter().status == "open"
    assert "尚缺解决方案、意见征询表" in chat.reply(ADMIN, "查看 督1")


# --- a 批示件's 专报 ----------------------------------------------------------------------


def test_closing_an_instruction_sends_its_special_report(world: World) -> None:
    world.at(2026, 10, 20, 10, 0)
    world.must("office_admin", "批示件 大气处 2026-11-20 落实区长关于臭氧防治的批示")
    world.later(hours=1)
    world.must("air_clerk", "签收 督1")
    world.at(2026, 11, 2, 10, 0)
    world.must(
        "air_clerk", "进展 督1 1、目前进展：完成12家企业治理 2、难点问题：资金 3、下一步打算：验收"
    )
    world.must("deputy", "同意 督1")  # the tracking report, approved by the 分管局领导
    world.must("air_head", "已反馈 督1 已完成12家企业治理，反馈材料已录入")
    world.must("deputy", "同意 督1")
    world.must("air_clerk", "闭环 督1 报区主要领导")
    world.must("air_head", "闭环 督1 传阅办公室")
    world.later(hours=2)
    out = world.must("office_admin", "闭环 督1 抄报区委督查室")
    files = [m for m in out if m.kind == "file"]
    assert [(m.channel, m.target) for m in files] == [("group", OFFICE)]  # nobody else
    with world.db.sessions() as session:
        document = session.get(Document, document_id(files[0].media_path or ""))
        assert document is not None and document.name == "督1批示件专报.docx"
        content = document.content
    parsed = docx.Document(io.BytesIO(content))
    text = "\n".join(p.text for p in parsed.paragraphs)
    assert "关于领导批示件「落实区长关于臭氧防治的批示」办理情况的专报" in text
    assert "通知反馈期限：2026年11月20日" in text
    assert "签收：孙内勤 10月20日(周二) 11:00" in text
    assert "反馈录入：赵处 11月2日(周一) 10:00" in text
    assert "2026年11月（孙内勤 11月2日(周一) 10:00）" in text
    assert "完成12家企业治理" in text
    assert "已完成12家企业治理，反馈材料已录入" in text  # the approved feedback's text
    steps = [[c.text for c in row.cells] for row in parsed.tables[0].rows]
    assert steps == [
        ["步骤", "办理人及时间"],
        ["报区主要领导", "孙内勤 11月2日(周一) 10:00"],
        ["传阅办公室", "赵处 11月2日(周一) 10:00"],
        ["抄报区委督查室", "王敏 11月2日(周一) 12:00"],
    ]


def test_the_report_names_its_dates_in_the_bureau_zone() -> None:
    assert texts.notice_date(dt.date(2026, 11, 20)) == "2026年11月20日"


async def test_todo_lists_an_incomplete_report_for_the_department_and_the_office(
    chat: Chat,
) -> None:
    assert "销项" not in chat.reply(CLERK, "待办")  # not asked yet
    chat.say(ADMIN, "办结事项 督1")
    chat.reply(CLERK, f"销项 督1 问题描述：{PROBLEM}")
    line = texts.todo_closure("督1 工业园区VOCs治理", ["解决情况", "解决方案", "意见征询表"])
    assert line in chat.reply(CLERK, "待办") and line in chat.reply(ADMIN, "待办")
    assert "销项" not in chat.reply("u-water-clerk", "待办")


async def test_a_file_sent_again_for_the_same_part_replaces_it(chat: Chat) -> None:
    chat.say(ADMIN, "办结事项 督1")
    chat.reply(CLERK, f"销项 督1 问题描述：{PROBLEM}\n解决情况：{SOLUTION}")
    for name in ("解决方案初稿.pdf", "解决方案定稿.pdf", "盖章件.pdf"):
        chat.reply(CLERK, file=name)
        chat.reply(CLERK, "督1")
    sent = await chat.fetch()
    files = [m for m in sent if m.target == OFFICE and m.kind == "file"]
    assert [m.text for m in files] == ["督1销项报告.docx", "解决方案定稿.pdf", "盖章件.pdf"]
    with chat.db.sessions() as session:
        document = session.get(Document, document_id(files[0].media_path or ""))
        assert document is not None
    text = report_text(document.content)
    assert "（解决方案定稿.pdf）" in text and "初稿" not in text
