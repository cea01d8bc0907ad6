"""End to end: a town's picture, rich text (words and two pictures) and file reach the office and
the assigned department with all their content, through the real dingtalk-stream SDK and
alibabacloud-dingtalk clients against the local DingTalk (message-file download, media upload)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.local_dingtalk import OutboundMessage
from bot.sandbox import Sandbox
from config.roster import Roster, load_roster
from handlers import texts
from handlers.workcal import WorkCalendar
from storage.models import Attachment, Item
from tests.fake_dingtalk import FakeDingTalk

SH = ZoneInfo("Asia/Shanghai")
EXAMPLE = Path(__file__).parent.parent / "config" / "examples" / "org.toml"
TOWN_CID = "cid-town-chuansha"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
JPEG = b"\xff\xd8\xff\xe0" + b"second picture" * 40
PDF = b"%PDF-1.7\n" + b"the plan" * 200
FAST = {"backoff_base": 0.02, "backoff_max": 0.1, "max_wait": 0.05}


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
    return [m for m in messages if m.target in (target, (target,))]


def media(messages: list[OutboundMessage]) -> list[tuple[str, str, bytes]]:
    """(msgKey, uploaded type, bytes) of the pictures and files among ``messages``."""
    found = []
    for m in messages:
        if m.msg_key in ("sampleImageMsg", "sampleFile"):
            assert m.media is not None, m  # sent with a mediaId the upload returned
            found.append((m.msg_key, m.media.type, m.media.content))
    return found


async def test_a_picture_reaches_the_office_and_the_department(sandbox: Sandbox) -> None:
    code = sandbox.dingtalk.add_message_file(PNG)
    out = await sandbox.town_says(
        "川沙新镇", "", msgtype="picture", content={"downloadCode": code}, staff_id="u-town-1"
    )
    assert [m.text for m in to(out, TOWN_CID)] == [texts.town_received(1)]  # nothing else
    office = to(out, "cid-office")
    first = "【新@件】#1 川沙新镇·政策咨询，11月16日(周一) 14:00前甄别"
    assert office[0].text.startswith(f"{first}\n[图片]\n附图片1张\n")
    assert office[1].text == "【附件】#1 川沙新镇 附图片1张，见下。"
    assert media(office[2:]) == [("sampleImageMsg", "image", PNG)]
    # kept with the item, under the files directory
    with sandbox.db.sessions() as session:
        path = session.scalars(select(Attachment.path)).one()
    assert (sandbox.files_dir / (path or "")).read_bytes() == PNG

    sandbox.dingtalk.expire_tokens()  # the upload refetches a revoked token too
    out = await sandbox.person_says("u-admin", "分派 1 大气处")
    air = to(out, "cid-air")
    assert "\n附图片1张\n" in air[0].text and air[0].text.startswith("【待认领】#1")
    assert air[1].text == "【附件】#1 川沙新镇 附图片1张，见下。"
    assert media(air[2:]) == [("sampleImageMsg", "image", PNG)]
    assert media(to(out, "u-air-clerk")) == []  # the clerk's 1:1 notice names them
    assert "附图片1张" in to(out, "u-air-clerk")[0].text
    assert to(out, TOWN_CID) == []


async def test_rich_text_with_two_pictures_keeps_everything(sandbox: Sandbox) -> None:
    first = sandbox.dingtalk.add_message_file(PNG)
    second = sandbox.dingtalk.add_message_file(JPEG)
    rich = {
        "richText": [
            {"text": " 川沙路工地夜间施工扰民，"},
            {"text": "现场照片如下"},
            {"downloadCode": first, "pictureDownloadCode": "p1", "type": "picture"},
            {"text": "这是围挡缺口"},
            {"downloadCode": second, "pictureDownloadCode": "p2", "type": "picture"},
            {"text": "请问问题沟通后多久能处理？"},
        ]
    }
    out = await sandbox.town_says("川沙新镇", "", msgtype="richText", content=rich)
    words = "川沙路工地夜间施工扰民，现场照片如下\n这是围挡缺口\n请问问题沟通后多久能处理？"
    with sandbox.db.sessions() as session:
        item = session.get(Item, 1)
        assert item is not None and item.text == words and item.category == "问题沟通"
    assert media(to(out, "cid-office")) == [
        ("sampleImageMsg", "image", PNG),
        ("sampleImageMsg", "image", JPEG),
    ]
    out = await sandbox.person_says("u-admin", "分派 1 大气处")
    air = to(out, "cid-air")
    assert " ".join(words.split()) in air[0].text  # every word, in order
    assert "\n附图片2张\n" in air[0].text
    assert [m.msg_key for m in air] == [
        "sampleText",
        "sampleText",
        "sampleImageMsg",
        "sampleImageMsg",
    ]
    assert media(air) == [("sampleImageMsg", "image", PNG), ("sampleImageMsg", "image", JPEG)]
    assert to(out, TOWN_CID) == []


async def test_a_file_goes_as_a_file(sandbox: Sandbox) -> None:
    code = sandbox.dingtalk.add_message_file(PDF, "整改方案.pdf")
    content = {"downloadCode": code, "fileName": "整改方案.pdf", "fileId": "f1", "spaceId": "s1"}
    out = await sandbox.town_says("川沙新镇", "", msgtype="file", content=content)
    assert "\n附件: 整改方案.pdf\n" in to(out, "cid-office")[0].text
    out = await sandbox.person_says("u-admin", "分派 1 水处")
    water = to(out, "cid-water")
    assert "\n附件: 整改方案.pdf\n" in water[0].text
    assert media(water) == [("sampleFile", "file", PDF)]
    sent = next(m for m in water if m.msg_key == "sampleFile")
    assert sent.media is not None and sent.media.file_name == "整改方案.pdf"
    assert sent.payload["msgParam"].count("整改方案.pdf") == 1
    assert '"fileType": "pdf"' in sent.payload["msgParam"]


async def test_a_failing_download_is_retried_and_the_item_made_at_once(sandbox: Sandbox) -> None:
    dingtalk = sandbox.dingtalk
    dingtalk.fail_next("/v1.0/robot/messageFiles/download", 500, {"code": "x"}, times=2)
    dingtalk.fail_next("/files/", 403, "AccessDenied", times=1)  # an expired URL, once
    code = dingtalk.add_message_file(PNG)
    out = await sandbox.town_says("川沙新镇", "", msgtype="picture", content={"downloadCode": code})
    assert [m.text for m in to(out, TOWN_CID)] == [texts.town_received(1)]
    assert to(out, "cid-office")[0].text.startswith("【新@件】#1")
    picture = await dingtalk.wait_for_sent(lambda m: m.msg_key == "sampleImageMsg", timeout=10)
    assert picture.target == "cid-office" and picture.media is not None
    assert picture.media.content == PNG
    calls = [r.path for r in dingtalk.requests_log if r.path.startswith("/v1.0/robot/messageF")]
    assert len(calls) == 4  # two refused, one URL that had expired, one that worked


async def test_audio_and_an_empty_at_make_no_item(sandbox: Sandbox) -> None:
    out = await sandbox.town_says(
        "川沙新镇", "", msgtype="audio", content={"downloadCode": "x", "duration": 3}
    )
    assert [(m.channel, m.text) for m in out] == [("session", texts.TEXT_PLEASE)]
    out = await sandbox.town_says("川沙新镇", "  ")
    assert [(m.channel, m.target, m.text) for m in out] == [("session", TOWN_CID, texts.EMPTY_ITEM)]
    with sandbox.db.sessions() as session:
        assert session.scalars(select(Item.id)).all() == []
