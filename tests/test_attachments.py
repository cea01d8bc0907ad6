"""Pictures, files and rich text from towns (issue 8, items 4 and 5): parsed from DingTalk's
message, recorded with the item, fetched into the files directory (retried, leased), and
forwarded to the office and the assigned department; audio, video and empty @ make no item."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from conftest import T0, TOWN_CID
from sqlalchemy import select

from bot.app import write_outbox
from bot.dingtalk.errors import PermanentSendError, TransientSendError
from bot.files import Fetcher, prepare_files_dir, stored_name
from bot.incoming import IncomingMessage
from bot.router import handle
from config.roster import Roster
from config.settings import SettingsError
from handlers import texts
from handlers.context import Ctx
from handlers.dispatch import run_command
from handlers.items.intake import Attached, blank
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import Attachment, Item, OutboxMessage

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 50
PDF = b"%PDF-1.7\n" + b"pdf-body" * 80


def payload(msgtype: str = "text", **fields: Any) -> dict[str, Any]:
    """A group message in the town's 直通车 group, as the SDK hands it over."""
    data: dict[str, Any] = {
        "msgId": fields.pop("msg_id", f"m-{msgtype}-{id(fields)}"),
        "conversationId": TOWN_CID,
        "conversationType": "2",
        "senderStaffId": "u-town-asker",
        "senderNick": "川沙小王",
        "msgtype": msgtype,
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=s1",
        "sessionWebhookExpiredTime": int((T0 + dt.timedelta(minutes=90)).timestamp() * 1000),
    }
    data.update(fields)
    return data


RICH = payload(
    "richText",
    content={
        "richText": [
            {"text": " 工地扬尘管控，"},
            {"text": "现场见图一"},
            {"downloadCode": "dc-1", "pictureDownloadCode": "pdc-1", "type": "picture"},
            {"text": "围挡破损见图二"},
            {"downloadCode": "dc-2", "type": "picture"},
            {"text": "请问如何整改？"},
        ]
    },
)


# --- parsing ---------------------------------------------------------------------------------


def test_rich_text_keeps_every_word_in_order_and_its_pictures() -> None:
    msg = IncomingMessage.from_payload(RICH)
    assert msg.text == "工地扬尘管控，现场见图一\n围挡破损见图二\n请问如何整改？"
    assert msg.attachments == (Attached("picture", "dc-1"), Attached("picture", "dc-2"))


def test_picture_file_audio_and_quota_messages() -> None:
    picture = IncomingMessage.from_payload(
        payload("picture", content={"downloadCode": "dc-p", "pictureDownloadCode": "x"})
    )
    assert (picture.text, picture.attachments) == (None, (Attached("picture", "dc-p"),))
    only_code = IncomingMessage.from_payload(
        payload("picture", content={"pictureDownloadCode": "p"})
    )
    assert only_code.attachments == (Attached("picture", "p"),)
    file = IncomingMessage.from_payload(
        payload("file", content={"downloadCode": "dc-f", "fileName": "整改方案.pdf"})
    )
    assert file.attachments == (Attached("file", "dc-f", "整改方案.pdf"),)
    audio = IncomingMessage.from_payload(
        payload("audio", content={"downloadCode": "dc-a", "recognition": "你好"})
    )
    assert (audio.text, audio.attachments, audio.msgtype) == (None, (), "audio")
    garbled = IncomingMessage.from_payload(payload("richText", content={"richText": "x"}))
    assert (garbled.text, garbled.attachments) == ("", ())
    quota = IncomingMessage.from_payload(payload("", errorMessage="quota"))
    assert (quota.text, quota.attachments) == (None, ())


@pytest.mark.parametrize(
    ("text", "empty"),
    [("", True), ("   ", True), ("@张三", True), (" @张三  @李四 ", True), ("@张三 你好", False)],
)
def test_blank(text: str, empty: bool) -> None:
    assert blank(text) is empty


# --- the router: what makes an item --------------------------------------------------------


def handled(db: Database, roster: Roster, cal: WorkCalendar, data: dict[str, Any]) -> list[Any]:
    with db.transaction() as session:
        return handle(session, roster, cal, T0, IncomingMessage.from_payload(data))


def item_count(db: Database) -> int:
    with db.sessions() as session:
        return len(session.scalars(select(Item.id)).all())


@pytest.mark.parametrize(
    "data",
    [
        payload(text={"content": ""}),
        payload(text={"content": "   "}),
        payload(text={"content": " @张三 "}),
        payload("richText", content={"richText": [{"text": " "}]}),
        payload("picture", content={}),  # no downloadCode: nothing to fetch
        payload(""),  # a quota error: no content at all
    ],
    ids=["empty", "spaces", "mention", "rich-blank", "picture-no-code", "no-content"],
)
def test_an_empty_at_makes_no_item_and_asks_for_the_question(
    db: Database, roster: Roster, cal: WorkCalendar, data: dict[str, Any]
) -> None:
    out = handled(db, roster, cal, data)
    assert [(m.channel, m.target, m.text) for m in out] == [("session", TOWN_CID, texts.EMPTY_ITEM)]
    assert item_count(db) == 0


@pytest.mark.parametrize("msgtype", ["audio", "video"])
def test_audio_and_video_get_a_request_for_text(
    db: Database, roster: Roster, cal: WorkCalendar, msgtype: str
) -> None:
    data = payload(msgtype, content={"downloadCode": "dc-a", "duration": 4000})
    out = handled(db, roster, cal, data)
    assert [(m.channel, m.target, m.text) for m in out] == [
        ("session", TOWN_CID, texts.TEXT_PLEASE)
    ]
    assert item_count(db) == 0


def test_a_rich_text_item_keeps_its_words_and_records_its_pictures(
    db: Database, roster: Roster, cal: WorkCalendar
) -> None:
    out = handled(db, roster, cal, RICH)
    with db.sessions() as session:
        item = session.scalars(select(Item)).one()
        assert item.text == "工地扬尘管控，现场见图一\n围挡破损见图二\n请问如何整改？"
        rows = session.scalars(select(Attachment).order_by(Attachment.seq)).all()
        assert [(a.seq, a.kind, a.download_code, a.state) for a in rows] == [
            (1, "picture", "dc-1", "pending"),
            (2, "picture", "dc-2", "pending"),
        ]
    office = [m for m in out if m.target == roster.office.group]
    assert len(office) == 1 and "\n附图片2张\n" in office[0].text
    assert "请问如何整改" in office[0].text
    # the town gets its receipt, nothing about attachments
    assert [m.text for m in out if m.target == TOWN_CID] == [texts.town_received(item.id)]


def test_a_file_alone_makes_an_item_named_after_it(
    db: Database, roster: Roster, cal: WorkCalendar
) -> None:
    data = payload("file", content={"downloadCode": "dc-f", "fileName": "整改方案.pdf"})
    out = handled(db, roster, cal, data)
    with db.sessions() as session:
        item = session.scalars(select(Item)).one()
    assert item.text == "[文件] 整改方案.pdf"
    office = next(m for m in out if m.target == roster.office.group)
    assert "\n附件: 整改方案.pdf\n" in office.text


# --- the fetcher -----------------------------------------------------------------------------


class FakeDownloads:
    """downloadCode -> bytes, or an error to raise (a list: one per try)."""

    def __init__(self, **files: bytes | list[bytes | Exception]) -> None:
        self.files = files
        self.calls: list[str] = []

    async def download_message_file(self, download_code: str) -> bytes:
        self.calls.append(download_code)
        found = self.files.get(download_code.replace("-", "_"))
        if isinstance(found, list):
            found = found.pop(0) if len(found) > 1 else found[0]
        if isinstance(found, Exception):
            raise found
        if found is None:
            raise PermanentSendError("RobotMessageFileDownload: HTTP 400 invalid downloadCode")
        return found


class RealTime:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 16, 1, 30, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def fetcher(
    db: Database, roster: Roster, cal: WorkCalendar, tmp_path: Path, downloads: FakeDownloads
) -> tuple[Fetcher, RealTime]:
    real = RealTime()
    made = Fetcher(
        db,
        downloads,
        tmp_path / "files",
        roster,
        cal,
        write_outbox,
        clock=lambda: T0,
        retry_clock=real,
        max_attempts=3,
        backoff_base=10.0,
        lease=60.0,
    )
    return made, real


def outbox(db: Database) -> list[tuple[str, str, str, str | None]]:
    with db.sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(r.target, r.kind, r.text, r.media_path) for r in rows]


def attachments(db: Database) -> list[Attachment]:
    with db.sessions() as session:
        return list(session.scalars(select(Attachment).order_by(Attachment.id)))


def command(db: Database, roster: Roster, cal: WorkCalendar, actor: str, text: str) -> list[Any]:
    with db.transaction() as session:
        ctx = Ctx(session, roster, cal, T0, actor=actor, msg_id=f"cmd-{text}")
        outcome = run_command(ctx, text)
        assert outcome.ok, outcome.reply
        write_outbox(session, ctx.out, T0)
        return list(ctx.out)


async def test_fetched_pictures_are_kept_and_forwarded_once_all_are_in(
    db: Database, roster: Roster, cal: WorkCalendar, tmp_path: Path
) -> None:
    handled(db, roster, cal, RICH)
    downloads = FakeDownloads(dc_1=PNG, dc_2=JPEG)
    fetch, _ = fetcher(db, roster, cal, tmp_path, downloads)
    assert await fetch.fetch_due() == 2
    stored = attachments(db)
    assert [(a.state, a.path, a.size) for a in stored] == [
        ("stored", f"1/{stored[0].id}.png", len(PNG)),
        ("stored", f"1/{stored[1].id}.jpg", len(JPEG)),
    ]
    assert (tmp_path / "files" / (stored[0].path or "")).read_bytes() == PNG
    assert (tmp_path / "files" / (stored[1].path or "")).read_bytes() == JPEG
    assert not list((tmp_path / "files").rglob("*.part"))
    assert outbox(db) == [
        ("cid-office", "text", "【附件】#1 川沙新镇 附图片2张，见下。", None),
        ("cid-office", "picture", "#1 图片1", stored[0].path),
        ("cid-office", "picture", "#1 图片2", stored[1].path),
    ]
    assert await fetch.fetch_due() == 0  # nothing is fetched twice
    assert downloads.calls == ["dc-1", "dc-2"]
    # assigned afterwards: the department gets the notice, then the pictures
    out = command(db, roster, cal, "u-admin", "分派 1 大气处")
    air = [(m.kind, m.text, m.media_path) for m in out if m.target == "cid-air"]
    assert air[0][1].startswith("【待认领】#1") and "\n附图片2张\n" in air[0][1]
    assert air[1:] == [
        ("text", "【附件】#1 川沙新镇 附图片2张，见下。", None),
        ("picture", "#1 图片1", stored[0].path),
        ("picture", "#1 图片2", stored[1].path),
    ]
    clerk = [m for m in out if m.channel == "oto" and m.target == "u-air-clerk"]
    assert len(clerk) == 1 and clerk[0].kind == "text"  # pictures go to the group only


async def test_assigned_before_the_pictures_came_the_department_gets_them_when_they_do(
    db: Database, roster: Roster, cal: WorkCalendar, tmp_path: Path
) -> None:
    handled(db, roster, cal, RICH)
    downloads = FakeDownloads(dc_1=[TransientSendError("HTTP 503"), PNG], dc_2=JPEG)
    fetch, real = fetcher(db, roster, cal, tmp_path, downloads)
    assert await fetch.fetch_due() == 1  # dc-2 stored, dc-1 waits for its retry
    assert outbox(db) == []  # nothing forwarded while one is pending
    out = command(db, roster, cal, "u-admin", "分派 1 大气处")
    assert [m.kind for m in out if m.target == "cid-air"] == ["text"]  # only the notice
    first = attachments(db)[0]
    assert (first.state, first.attempts, first.last_error) == ("pending", 1, "HTTP 503")
    assert first.next_attempt_at is not None and first.next_attempt_at > real.now
    assert await fetch.fetch_due() == 0  # not due yet
    real.now += dt.timedelta(seconds=11)
    assert await fetch.fetch_due() == 1
    forwarded = [(t, k) for t, k, _, _ in outbox(db) if t in ("cid-office", "cid-air")]
    expected = [("text"), ("picture"), ("picture")]
    assert [k for t, k in forwarded if t == "cid-office"] == expected
    assert [k for t, k in forwarded if t == "cid-air"][-3:] == expected
    assert [k for t, k in forwarded if t == "cid-air"].count("picture") == 2


async def test_a_download_that_cannot_succeed_is_given_up_and_the_office_told(
    db: Database, roster: Roster, cal: WorkCalendar, tmp_path: Path
) -> None:
    handled(db, roster, cal, RICH)
    always = TransientSendError("RobotMessageFileDownload: connection refused")
    downloads = FakeDownloads(dc_1=PNG, dc_2=[always])  # dc-2 fails every time
    fetch, real = fetcher(db, roster, cal, tmp_path, downloads)
    await fetch.fetch_due()
    for _ in range(5):
        real.now += dt.timedelta(hours=1)
        await fetch.fetch_due()
    states = [(a.state, a.attempts) for a in attachments(db)]
    assert states == [("stored", 1), ("failed", 3)]  # max_attempts
    office = [row for row in outbox(db) if row[0] == "cid-office"]
    assert office[0][2] == (
        "【附件】#1 川沙新镇 附图片2张，其中1个未能从钉钉取回，请联系街镇重新发送；其余见下。"
    )
    assert [row[1] for row in office] == ["text", "picture"]
    with db.sessions() as session:  # the item itself is untouched
        item = session.get(Item, 1)
        assert item is not None and item.state == "new"


async def test_a_permanent_refusal_gives_up_at_once(
    db: Database, roster: Roster, cal: WorkCalendar, tmp_path: Path
) -> None:
    handled(db, roster, cal, payload("picture", content={"downloadCode": "dc-gone"}))
    fetch, _ = fetcher(db, roster, cal, tmp_path, FakeDownloads())
    assert await fetch.fetch_due() == 1
    assert [(a.state, a.attempts) for a in attachments(db)] == [("failed", 1)]
    assert outbox(db) == [
        (
            "cid-office",
            "text",
            "【附件】#1 川沙新镇 附图片1张，未能从钉钉取回，请联系街镇重新发送。",
            None,
        )
    ]
    with db.transaction() as session:
        shown = run_command(Ctx(session, roster, cal, T0, actor="u-admin"), "查看 1")
    assert "\n附图片1张（1个未能从钉钉取回）\n" in shown.reply


async def test_a_claim_is_a_lease_a_crash_mid_download_is_retried(
    db: Database, roster: Roster, cal: WorkCalendar, tmp_path: Path
) -> None:
    handled(db, roster, cal, payload("picture", content={"downloadCode": "dc-1"}))
    fetch, real = fetcher(db, roster, cal, tmp_path, FakeDownloads(dc_1=PNG))
    claimed = await asyncio.to_thread(fetch._claim_due)  # then the process dies
    assert [c.download_code for c in claimed] == ["dc-1"]
    other, _ = fetcher(db, roster, cal, tmp_path, FakeDownloads(dc_1=PNG))
    other._retry_clock = real
    assert await other.fetch_due() == 0  # leased: a second fetcher keeps off
    real.now += dt.timedelta(seconds=61)
    assert await other.fetch_due() == 1
    assert [a.state for a in attachments(db)] == ["stored"]


def test_stored_names_never_come_from_the_town() -> None:
    attachment = Attachment(id=7, item_id=3, kind="file", file_name="../../etc/passwd.PDF")
    assert stored_name(attachment, b"x") == "3/7.pdf"
    attachment.file_name = "报告"
    assert stored_name(attachment, b"x") == "3/7"
    attachment.file_name = "a.tar.gz/../../x.s h"
    assert stored_name(attachment, b"x") == "3/7"


def test_an_unwritable_files_dir_names_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SettingsError, match=r"^BOT_FILES_DIR: cannot write to .*file/files"):
        prepare_files_dir(blocker / "files")
    assert prepare_files_dir(tmp_path / "a" / "b").is_dir()


def test_run_stops_naming_bot_files_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    (tmp_path / "blocker").write_text("x")
    monkeypatch.chdir(tmp_path)  # no .env from the developer's tree
    for name, value in {
        "DINGTALK_CLIENT_ID": "id",
        "DINGTALK_CLIENT_SECRET": "secret",
        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        "BOT_ORG_FILE": str(Path(__file__).parent.parent / "config/examples/org.toml"),
        "BOT_FILES_DIR": str(tmp_path / "blocker" / "files"),
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: BOT_FILES_DIR: cannot write to ")
    assert not (tmp_path / "bot.db").exists()  # stopped before anything else
