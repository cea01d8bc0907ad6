"""Session webhooks: the URL each incoming message carries for replies (DINGTALK.md §2.2).
DingTalk answers HTTP 200 with an errcode, also when the session expired."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.local_dingtalk.common import dumps, json_body, str_tuple

if TYPE_CHECKING:
    from bot.local_dingtalk.server import LocalDingTalk

SESSION_TTL = timedelta(minutes=90)
SESSION_INVALID = {"errcode": 300001, "errmsg": "session不存在或已过期"}


@dataclass(frozen=True)
class _Session:
    conversation_id: str
    single_chat_peer: str | None  # the user, for a 1:1 chat
    expires_at: datetime


class Webhooks:
    def __init__(self, server: LocalDingTalk) -> None:
        self._server = server
        self._rec = server.recorder
        self._sessions: dict[str, _Session] = {}

    def open_session(self, conversation_id: str, peer: str | None, created: datetime) -> str:
        """A new session in a conversation (``peer``: the user of a 1:1 chat); its id."""
        session_id = secrets.token_hex(16)
        with self._rec.lock:
            self._sessions[session_id] = _Session(conversation_id, peer, created + SESSION_TTL)
        return session_id

    def url(self, session_id: str) -> str:
        return f"{self._server.endpoint}/robot/sendBySession?session={session_id}"

    def peers(self) -> dict[str, str | None]:
        """The user of each conversation's 1:1 chat (None for a group)."""
        with self._rec.lock:
            return {s.conversation_id: s.single_chat_peer for s in self._sessions.values()}

    async def send(self, request: web.Request) -> web.Response:
        with self._rec.lock:
            session = self._sessions.get(request.query.get("session", ""))
        if session is None or self._server.now() >= session.expires_at:
            return web.json_response(SESSION_INVALID, dumps=dumps)
        body = await json_body(request)
        msgtype = body.get("msgtype") if body is not None else None
        if body is None or not isinstance(msgtype, str):
            return web.json_response({"errcode": 40035, "errmsg": "缺少参数 json"}, dumps=dumps)
        at = body.get("at")
        at_user_ids = str_tuple(at.get("atUserIds")) if isinstance(at, dict) else ()
        self._rec.record(
            "session", session.conversation_id, msgtype, body.get(msgtype), at_user_ids, body
        )
        return web.json_response({"errcode": 0, "errmsg": "ok"})
