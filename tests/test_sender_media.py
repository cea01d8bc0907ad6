"""Pictures and files out (media upload, then sampleImageMsg / sampleFile) and in (the robot
message-file download), through the real Tea clients and httpx against the local DingTalk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.dingtalk import client as client_module
from bot.dingtalk.client import DingTalkTransport
from bot.dingtalk.errors import PermanentSendError, TransientSendError
from bot.dingtalk.transport import Media
from bot.sender import Sender
from storage.db import Database
from storage.models import Document, OutboxMessage
from storage.outbox import document_media_path, enqueue, outbox_row
from tests.fake_dingtalk import FakeDingTalk

CLIENT_ID = "dingmediaclient"
CLIENT_SECRET = "media-secret"
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 300
DOCX = b"PK\x03\x04" + b"d" * 500


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/t.db")
    database.create_schema()
    yield database
    database.dispose()


@pytest.fixture
async def server() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk(CLIENT_ID, CLIENT_SECRET, clock=lambda: NOW) as dingtalk:
        yield dingtalk


@pytest.fixture
async def transport(server: FakeDingTalk) -> AsyncIterator[DingTalkTransport]:
    sending = DingTalkTransport(
        CLIENT_ID,
        CLIENT_SECRET,
        CLIENT_ID,
        server.endpoint,
        oapi_endpoint=server.endpoint,
        clock=lambda: NOW,
    )
    yield sending
    await sending.aclose()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    directory = tmp_path / "files"
    (directory / "4").mkdir(parents=True)
    (directory / "4" / "9.png").write_bytes(PNG)
    (directory / "4" / "10.docx").write_bytes(DOCX)
    return directory


def put(db: Database, **fields: Any) -> int:
    with db.transaction() as session:
        message = enqueue(session, now=NOW, **fields)
        session.flush()
        return message.id


def states(db: Database) -> list[tuple[str, str | None]]:
    with db.sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(r.state, r.last_error) for r in rows]


async def test_pictures_and_files_to_groups_and_users(
    server: FakeDingTalk, transport: DingTalkTransport, db: Database, files: Path
) -> None:
    sender = Sender(db, transport, clock=lambda: NOW, files_dir=files)
    put(db, channel="group", target="cidA", text="#4 图片1", kind="picture", media_path="4/9.png")
    put(db, channel="group", target="cidA", text="方案.docx", kind="file", media_path="4/10.docx")
    put(db, channel="oto", target="u1", text="#4 图片1", kind="picture", media_path="4/9.png")
    assert await sender.send_due() == 3
    picture, file = server.sent_to_conversation("cidA")
    assert picture.msg_key == "sampleImageMsg" and picture.media is not None
    assert (picture.media.type, picture.media.content) == ("image", PNG)
    assert file.msg_key == "sampleFile" and file.media is not None
    assert (file.media.type, file.media.file_name, file.media.content) == (
        "file",
        "方案.docx",
        DOCX,
    )
    assert file.payload["msgParam"] == (
        f'{{"mediaId": "{file.media.media_id}", "fileName": "方案.docx", "fileType": "docx"}}'
    )
    (oto,) = server.sent_to_user("u1")
    assert oto.msg_key == "sampleImageMsg" and oto.media is not None
    assert oto.media.content == PNG

    assert sorted(m.type for m in server.uploads) == ["file", "image", "image"]
    uploads = [r for r in server.requests_log if r.path == "/media/upload"]
    assert len(uploads) == 3 and all(r.query["access_token"] for r in uploads)


async def test_a_document_the_bot_made_is_sent_from_the_database(
    server: FakeDingTalk, transport: DingTalkTransport, db: Database
) -> None:
    """No files directory at all: a Document's bytes come from its row, under its name; a
    row naming a document that is not there fails for good, and says which."""
    with db.transaction() as session:
        document = Document(name="实事项目2026年11月.docx", content=DOCX, created_at=NOW)
        session.add(document)
        session.flush()
        path = document_media_path(document.id)
    sender = Sender(db, transport, clock=lambda: NOW, files_dir=None)
    put(
        db,
        channel="group",
        target="cidO",
        text="实事项目2026年11月.docx",
        kind="file",
        media_path=path,
    )
    put(db, channel="oto", target="u1", text="缺失.docx", kind="file", media_path="documents/999")
    await sender.send_due()
    (file,) = server.sent_to_conversation("cidO")
    assert file.msg_key == "sampleFile" and file.media is not None
    assert (file.media.file_name, file.media.content) == ("实事项目2026年11月.docx", DOCX)
    assert server.sent_to_user("u1") == []
    assert states(db)[0] == ("sent", None)
    state, error = states(db)[1]
    assert state == "failed" and error is not None and "documents/999" in error


async def test_a_revoked_token_is_refetched_for_the_upload(
    server: FakeDingTalk, transport: DingTalkTransport, files: Path
) -> None:
    first = await transport.upload_media(Media("picture", files / "4" / "9.png", "9.png"))
    server.expire_tokens()
    second = await transport.upload_media(Media("picture", files / "4" / "9.png", "9.png"))
    assert first != second
    assert [r.path for r in server.requests_log].count("/v1.0/oauth2/accessToken") == 2
    assert [r.path for r in server.requests_log].count("/media/upload") == 3
    media = server.media(second)
    assert media is not None and media.content == PNG


async def test_what_cannot_be_sent_fails_with_the_reason(
    server: FakeDingTalk,
    transport: DingTalkTransport,
    db: Database,
    files: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sender = Sender(db, transport, clock=lambda: NOW, files_dir=files, max_attempts=1)
    put(db, channel="group", target="cidA", text="#4 图片2", kind="picture", media_path="4/x.png")
    monkeypatch.setattr(client_module, "UPLOAD_MAX_BYTES", 100)
    put(db, channel="group", target="cidB", text="大.docx", kind="file", media_path="4/10.docx")
    await sender.send_due()
    (missing, error_a), (too_big, error_b) = states(db)
    assert missing == too_big == "failed"
    assert error_a is not None and error_a.startswith("media upload: cannot read")
    assert error_b is not None and "DingTalk takes at most 100" in error_b
    assert server.sent == []
    unset = Sender(db, transport, clock=lambda: NOW)  # no files directory
    put(db, channel="oto", target="u1", text="#4 图片1", kind="picture", media_path="4/9.png")
    await unset.send_due()
    assert states(db)[2] == ("failed", "picture '4/9.png': no files directory set")


async def test_upload_errors_are_classified(
    server: FakeDingTalk, transport: DingTalkTransport, files: Path
) -> None:
    png = Media("picture", files / "4" / "9.png", "9.png")
    server.fail_next("/media/upload", 503, {"errcode": -1})
    with pytest.raises(TransientSendError, match="HTTP 503"):
        await transport.upload_media(png)
    server.fail_next("/media/upload", 200, {"errcode": 40004, "errmsg": "不合法的媒体文件类型"})
    with pytest.raises(PermanentSendError, match="errcode 40004"):
        await transport.upload_media(png)
    server.fail_next("/media/upload", 200, {"errcode": -1, "errmsg": "系统繁忙"})
    with pytest.raises(TransientSendError, match="errcode -1"):
        await transport.upload_media(png)


async def test_the_message_file_download(
    server: FakeDingTalk, transport: DingTalkTransport
) -> None:
    code = server.add_message_file(DOCX, "方案.docx")
    assert await transport.download_message_file(code) == DOCX
    asked = [r for r in server.requests_log if r.path == "/v1.0/robot/messageFiles/download"]
    assert asked[0].json == {"downloadCode": code, "robotCode": CLIENT_ID}
    with pytest.raises(PermanentSendError, match="HTTP 400"):
        await transport.download_message_file("unknown-code")
    server.fail_next("/files/", 403, "AccessDenied")
    with pytest.raises(TransientSendError, match="HTTP 403"):
        await transport.download_message_file(code)
    server.fail_next("/v1.0/robot/messageFiles/download", 500)
    with pytest.raises(TransientSendError):
        await transport.download_message_file(code)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"channel": "session", "webhook": "http://x", "media_path": "1/2.png"}, "group or a user"),
        ({"channel": "group", "title": "t", "media_path": "1/2.png"}, "without a title"),
        ({"channel": "group", "media_path": "/etc/passwd"}, "relative media_path"),
        ({"channel": "group", "media_path": "../x.png"}, "relative media_path"),
        ({"channel": "group"}, "relative media_path"),
        ({"channel": "group", "kind": "text", "media_path": "1/2.png"}, "no media_path"),
        ({"channel": "group", "kind": "video", "media_path": "1/2.mp4"}, "unknown kind"),
    ],
)
def test_outbox_rows_for_media_are_checked(fields: dict[str, Any], message: str) -> None:
    row = {"target": "cidA", "text": "x", "kind": "picture", "now": NOW, **fields}
    with pytest.raises(ValueError, match=message):
        outbox_row(**row)
