"""The neutral shape of an incoming DingTalk chatbot message (DINGTALK.md §2.1, §10)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from handlers.items.intake import Attached


@dataclass(frozen=True)
class IncomingMessage:
    msg_id: str
    conversation_id: str
    conversation_type: str  # "1" one-to-one, "2" group
    sender_id: str | None  # senderStaffId (the org userId); None for external users
    sender_nick: str
    text: str | None  # None for pictures, files, audio, video, quota errors
    msgtype: str
    webhook: str | None
    webhook_expires: dt.datetime | None
    created_at: dt.datetime | None
    attachments: tuple[Attached, ...] = ()  # pictures and files, in their order

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> IncomingMessage:
        msg_id = str(data.get("msgId") or "")
        if not msg_id:
            raise ValueError("incoming message without msgId")
        text_block = data.get("text")
        text = None
        if isinstance(text_block, dict) and isinstance(text_block.get("content"), str):
            text = text_block["content"]
        msgtype = str(data.get("msgtype") or "")
        content = data.get("content")
        content = content if isinstance(content, dict) else {}
        attachments: list[Attached] = []
        if msgtype == "richText":
            text, attachments = _rich_text(content.get("richText"))
        elif msgtype == "picture":
            attachments = _picture(content)
        elif msgtype == "file":
            code = content.get("downloadCode")
            if isinstance(code, str) and code:
                name = content.get("fileName")
                attachments = [Attached("file", code, name if isinstance(name, str) else "")]
        if text is not None:
            text = text.replace("\x00", "").strip()
        return cls(
            msg_id=msg_id,
            conversation_id=str(data.get("conversationId") or ""),
            conversation_type=str(data.get("conversationType") or "2"),
            sender_id=str(data["senderStaffId"]) if data.get("senderStaffId") else None,
            sender_nick=str(data.get("senderNick") or ""),
            text=text,
            msgtype=msgtype,
            webhook=str(data["sessionWebhook"]) if data.get("sessionWebhook") else None,
            webhook_expires=_ms(data.get("sessionWebhookExpiredTime")),
            created_at=_ms(data.get("createAt")),
            attachments=tuple(attachments),
        )


def _picture(part: dict[str, Any]) -> list[Attached]:
    code = part.get("downloadCode") or part.get("pictureDownloadCode")
    return [Attached("picture", code)] if isinstance(code, str) and code else []


def _rich_text(parts: Any) -> tuple[str, list[Attached]]:
    """All the words of a rich-text message in order (a picture between them starts a new
    line) and its pictures in order."""
    lines: list[str] = [""]
    pictures: list[Attached] = []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            lines[-1] += part["text"]
        elif part.get("type") == "picture" or "pictureDownloadCode" in part:
            pictures += _picture(part)
            lines.append("")
    return "\n".join(line.strip() for line in lines if line.strip()), pictures


def _ms(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
