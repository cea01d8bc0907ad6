"""The neutral shape of an incoming DingTalk chatbot message (DINGTALK.md §2.1)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IncomingMessage:
    msg_id: str
    conversation_id: str
    conversation_type: str  # "1" one-to-one, "2" group
    sender_id: str | None  # senderStaffId (the org userId); None for external users
    sender_nick: str
    text: str | None  # None for pictures, files, quota errors
    msgtype: str
    webhook: str | None
    webhook_expires: dt.datetime | None
    created_at: dt.datetime | None

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> IncomingMessage:
        msg_id = str(data.get("msgId") or "")
        if not msg_id:
            raise ValueError("incoming message without msgId")
        text_block = data.get("text")
        text = None
        if isinstance(text_block, dict) and isinstance(text_block.get("content"), str):
            text = text_block["content"].replace("\x00", "").strip()
        return cls(
            msg_id=msg_id,
            conversation_id=str(data.get("conversationId") or ""),
            conversation_type=str(data.get("conversationType") or "2"),
            sender_id=str(data["senderStaffId"]) if data.get("senderStaffId") else None,
            sender_nick=str(data.get("senderNick") or ""),
            text=text,
            msgtype=str(data.get("msgtype") or ""),
            webhook=str(data["sessionWebhook"]) if data.get("sessionWebhook") else None,
            webhook_expires=_ms(data.get("sessionWebhookExpiredTime")),
            created_at=_ms(data.get("createAt")),
        )


def _ms(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
