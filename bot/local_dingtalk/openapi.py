"""The Open API: access tokens, robot messages to groups and users, and files both ways (the
robot message-file download, a short-lived URL then GET; the oapi media upload; §5, §10)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import BodyPartReader, web

from bot.local_dingtalk.common import Json, error, json_body, ms, str_tuple
from bot.local_dingtalk.recorder import UploadedMedia

if TYPE_CHECKING:
    from bot.local_dingtalk.server import LocalDingTalk

TOKEN_TTL = timedelta(seconds=7200)
OTO_MAX_USERS = 20
DOWNLOAD_URL_TTL = timedelta(minutes=5)  # the messageFiles/download URL is short-lived
MEDIA_TYPES = ("image", "voice", "video", "file")


class OpenApi:
    """The Open API side; its records are guarded by the recorder's lock."""

    def __init__(self, server: LocalDingTalk, known_user_ids: Iterable[str] | None) -> None:
        self._server = server
        self._rec = server.recorder
        self._known_users = None if known_user_ids is None else frozenset(known_user_ids)
        self.tokens: dict[str, datetime] = {}
        self.message_files: dict[str, tuple[bytes, str]] = {}  # downloadCode -> bytes, name
        self._download_urls: dict[str, tuple[str, datetime]] = {}  # key -> downloadCode, expiry

    async def access_token(self, request: web.Request) -> web.Response:
        body = await json_body(request) or {}
        if (
            body.get("appKey") != self._server.client_id
            or body.get("appSecret") != self._server.client_secret
        ):
            return error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        token = secrets.token_hex(16)
        with self._rec.lock:
            self.tokens[token] = self._server.now() + TOKEN_TTL
        return web.json_response({"accessToken": token, "expireIn": int(TOKEN_TTL.total_seconds())})

    def _check_robot_call(
        self, request: web.Request, body: Json | None
    ) -> web.Response | tuple[Json, str, Json]:
        """The error response, or (body, msgKey, decoded msgParam)."""
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        with self._rec.lock:
            expiry = self.tokens.get(token)
        if expiry is None or self._server.now() >= expiry:
            return error(401, "InvalidAuthentication", "不合法的access_token")
        if body is None:
            return error(400, "MissingParameter", "请求体不是合法的JSON")
        if body.get("robotCode") != self._server.robot_code:
            return error(400, "invalidParameter.robotCode.auth", "robotCode与应用不匹配")
        msg_key = body.get("msgKey")
        if not isinstance(msg_key, str) or not msg_key:
            return error(400, "invalidParameter.msgKey.invalid", "msgKey无效")
        try:
            params = json.loads(body.get("msgParam") or "")
        except (ValueError, TypeError):
            params = None
        if not isinstance(params, dict):
            return error(400, "invalidParameter.msgParam.invalid", "msgParam不是合法的JSON")
        return body, msg_key, params

    async def group_send(self, request: web.Request) -> web.Response:
        checked = self._check_robot_call(request, await json_body(request))
        if isinstance(checked, web.Response):
            return checked
        body, msg_key, params = checked
        conversation_id = body.get("openConversationId")
        if not isinstance(conversation_id, str) or not conversation_id:
            return error(400, "invalid.openConversationId", "openConversationId无效")
        self._rec.record("group", conversation_id, msg_key, params, (), body)
        return web.json_response({"processQueryKey": secrets.token_urlsafe(24)})

    async def oto_send(self, request: web.Request) -> web.Response:
        checked = self._check_robot_call(request, await json_body(request))
        if isinstance(checked, web.Response):
            return checked
        body, msg_key, params = checked
        user_ids = str_tuple(body.get("userIds"))
        if not user_ids:
            return error(400, "invalidParameter.userIds.empty", "userIds不能为空")
        if len(user_ids) > OTO_MAX_USERS:
            return error(400, "invalidParameter.userIds.overMax", "userIds超过上限")
        invalid = [
            u for u in user_ids if self._known_users is not None and u not in self._known_users
        ]
        throttled = self._server.throttled_users([u for u in user_ids if u not in invalid])
        delivered = tuple(u for u in user_ids if u not in invalid and u not in throttled)
        if delivered:
            self._rec.record("oto", delivered, msg_key, params, (), body)
        return web.json_response(
            {
                "processQueryKey": secrets.token_urlsafe(24),
                "invalidStaffIdList": invalid,
                "flowControlledStaffIdList": throttled,
            }
        )

    # Files: the robot message-file download (a short-lived URL, then GET) and the media upload

    def token_ok(self, token: str) -> bool:
        return self._token_ok(token)

    def _token_ok(self, token: str) -> bool:
        with self._rec.lock:
            expiry = self.tokens.get(token)
        return expiry is not None and self._server.now() < expiry

    async def file_download_url(self, request: web.Request) -> web.Response:
        if not self._token_ok(request.headers.get("x-acs-dingtalk-access-token", "")):
            return error(401, "InvalidAuthentication", "不合法的access_token")
        body = await json_body(request)
        if body is None:
            return error(400, "MissingParameter", "请求体不是合法的JSON")
        if body.get("robotCode") != self._server.robot_code:
            return error(400, "invalidParameter.robotCode.auth", "robotCode与应用不匹配")
        code = body.get("downloadCode")
        with self._rec.lock:
            known = isinstance(code, str) and code in self.message_files
        if not known:
            return error(400, "invalidParameter.downloadCode", "downloadCode无效或已过期")
        key = secrets.token_urlsafe(24)
        with self._rec.lock:
            self._download_urls[key] = (str(code), self._server.now() + DOWNLOAD_URL_TTL)
        return web.json_response({"downloadUrl": f"{self._server.endpoint}/files/{key}"})

    async def file_download(self, request: web.Request) -> web.Response:
        with self._rec.lock:
            entry = self._download_urls.get(request.match_info["key"])
            found = self.message_files.get(entry[0]) if entry is not None else None
        if entry is None or found is None or self._server.now() >= entry[1]:
            return web.Response(status=403, text="AccessDenied: Request has expired.")
        return web.Response(body=found[0], content_type="application/octet-stream")

    async def media_upload(self, request: web.Request) -> web.Response:
        """``POST /media/upload?access_token=..`` with the multipart form fields ``type`` and
        ``media`` (oapi; DingTalk answers HTTP 200 with an errcode)."""
        if not self._token_ok(request.query.get("access_token", "")):
            return web.json_response({"errcode": 40014, "errmsg": "不合法的access_token"})
        media_type, name, content = "", "", b""
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "type":
                    media_type = await part.text()
                elif part.name == "media":
                    name, content = part.filename or "", bytes(await part.read())
        if media_type not in MEDIA_TYPES:
            return web.json_response({"errcode": 40004, "errmsg": "不合法的媒体文件类型"})
        if not content:
            return web.json_response({"errcode": 41001, "errmsg": "缺少media参数"})
        media_id = "@lA" + secrets.token_urlsafe(18)
        with self._rec.lock:
            self._rec.media[media_id] = UploadedMedia(media_id, media_type, name, content)
        self._rec.notify()
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "media_id": media_id,
                "type": media_type,
                "created_at": ms(self._server.now()),
            }
        )
