"""The real transport: session webhooks with httpx, group and 1:1 robot messages with the Tea
SDK, the access-token cache, pictures and files both ways (DINGTALK.md §2.2, §4, §5, §6, §10).
Remote failures become :class:`TransientSendError` or :class:`PermanentSendError` here."""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import PurePosixPath
from typing import Any, Final, TypeVar

import httpx
from alibabacloud_dingtalk.oauth2_1_0 import models as oauth_models
from alibabacloud_dingtalk.oauth2_1_0.client import Client as OAuthClient
from alibabacloud_dingtalk.robot_1_0 import models as robot_models
from alibabacloud_dingtalk.robot_1_0.client import Client as RobotClient
from alibabacloud_tea_util.models import RuntimeOptions
from Tea.exceptions import TeaException

from bot.dingtalk.card_api import CardApi
from bot.dingtalk.errors import PermanentSendError, TransientSendError, WebhookExpired, clip
from bot.dingtalk.http import AiohttpTransport, retry_after
from bot.dingtalk.sdk import DINGTALK_ENDPOINT, tea_config
from bot.dingtalk.tea import from_tea, is_auth_error
from bot.dingtalk.transport import SESSION_MARGIN, Media, OtoResult

__all__ = ["DingTalkTransport"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]

TOKEN_MARGIN: Final = timedelta(minutes=5)  # refresh the access token this long before expiry
SESSION_EXPIRED_ERRCODE: Final = 300001
# Webhook errcodes worth retrying: system busy, and robot throttling (20 msgs/min, §5.6).
SESSION_BUSY_ERRCODES: Final = frozenset({-1})
SESSION_THROTTLED_ERRCODES: Final = frozenset({410100, 660026})
THROTTLED_RETRY_AFTER: Final = 60.0
REAL_CLOCK: Final[Clock] = partial(datetime.now, UTC)
OAPI_ENDPOINT: Final = "https://oapi.dingtalk.com"  # the legacy API: media upload (§10)
# DingTalk's media upload takes pictures and files up to 20 MB (its documentation, as
# transcribed by third parties; not checked against DingTalk itself).
UPLOAD_MAX_BYTES: Final = 20 * 1024 * 1024
DOWNLOAD_MAX_BYTES: Final = 100 * 1024 * 1024  # a file a town sends; larger is refused
OAPI_AUTH_ERRCODES: Final = frozenset({40014, 42001, 88})  # bad or expired access_token


def _robot_message(text: str, title: str | None) -> tuple[str, str]:
    """msgKey and msgParam (a JSON string) of an Open API robot message (§5.3)."""
    if title is None:
        return "sampleText", json.dumps({"content": text}, ensure_ascii=False)
    return "sampleMarkdown", json.dumps({"title": title, "text": text}, ensure_ascii=False)


def _check_session_answer(response: httpx.Response) -> None:
    """Raise unless a session-webhook answer says the message was delivered (§2.2, §7.8)."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise TransientSendError(f"session webhook: HTTP {status}", retry_after(response))
    if status >= 400:
        raise PermanentSendError(clip(f"session webhook: HTTP {status} {response.text}"))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("errcode"), int):
        raise TransientSendError(clip(f"session webhook: unexpected answer {response.text!r}"))
    errcode: int = body["errcode"]
    if errcode == 0:
        return
    detail = clip(f"session webhook: errcode {errcode} {body.get('errmsg', '')}")
    if errcode == SESSION_EXPIRED_ERRCODE:
        raise WebhookExpired(detail)
    if errcode in SESSION_THROTTLED_ERRCODES:
        raise TransientSendError(detail, retry_after=THROTTLED_RETRY_AFTER)
    if errcode in SESSION_BUSY_ERRCODES:
        raise TransientSendError(detail)
    raise PermanentSendError(detail)


class DingTalkTransport(CardApi):
    """Sends to DingTalk: session webhooks with httpx, group and 1:1 robot messages with Tea.

    The Tea clients are blocking (``requests``), so they run in threads. The access token
    is cached until ``TOKEN_MARGIN`` before it expires and refetched once on a 401.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        robot_code: str,
        endpoint: str = DINGTALK_ENDPOINT,
        http: httpx.AsyncClient | None = None,
        *,
        oapi_endpoint: str = OAPI_ENDPOINT,
        clock: Clock = REAL_CLOCK,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._robot_code = robot_code
        self._oauth = OAuthClient(tea_config(endpoint))
        self._robot = RobotClient(tea_config(endpoint))
        self._oapi = oapi_endpoint.rstrip("/")
        self._endpoint = endpoint.rstrip("/")
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=AiohttpTransport(connect_timeout, read_timeout),
        )
        self._clock = clock
        self._timeouts_ms = (int(connect_timeout * 1000), int(read_timeout * 1000))
        self._token: str | None = None
        self._token_refresh_at = datetime.min.replace(tzinfo=UTC)
        self._token_lock = asyncio.Lock()

    def current_token(self) -> str | None:
        """The access token held now (for bot.logs to blot out)."""
        return self._token

    async def aclose(self) -> None:
        """Close the httpx client if this transport created it."""
        if self._owns_http:
            await self._http.aclose()

    # Session webhook

    async def send_session(
        self,
        webhook: str,
        text: str,
        *,
        title: str | None = None,
        at_user_ids: Sequence[str] = (),
        expires_at: datetime | None = None,
    ) -> None:
        if expires_at is not None and self._clock() >= expires_at - SESSION_MARGIN:
            raise WebhookExpired(f"session webhook expired at {expires_at.isoformat()}")
        # DingTalk shows a mention where the text holds @userId (DINGTALK.md §6); the fallback
        # to a group message, which cannot mention, sends the text without it
        mentions = [f"@{user}" for user in at_user_ids if f"@{user}" not in text]
        if mentions:
            text = " ".join([*mentions, text])
        body: dict[str, Any]
        if title is None:
            body = {"msgtype": "text", "text": {"content": text}}
        else:
            body = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        body["at"] = {"atUserIds": list(at_user_ids)}
        try:
            response = await self._http.post(webhook, json=body)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise PermanentSendError(f"session webhook: bad URL: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"session webhook: timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise TransientSendError(clip(f"session webhook: {exc!r}")) from exc
        _check_session_answer(response)

    # Open API robot messages

    async def send_group(
        self, open_conversation_id: str, text: str, *, title: str | None = None
    ) -> None:
        await self._group_send(open_conversation_id, *_robot_message(text, title))

    async def _group_send(self, open_conversation_id: str, msg_key: str, msg_param: str) -> None:
        request = robot_models.OrgGroupSendRequest(
            msg_key=msg_key,
            msg_param=msg_param,
            open_conversation_id=open_conversation_id,
            robot_code=self._robot_code,
        )

        def call(token: str) -> object:
            headers = robot_models.OrgGroupSendHeaders(x_acs_dingtalk_access_token=token)
            return self._robot.org_group_send_with_options(request, headers, self._runtime())

        await self._with_token("OrgGroupSend", call)

    async def send_oto(
        self, user_ids: Sequence[str], text: str, *, title: str | None = None
    ) -> OtoResult:
        return await self._oto_send(user_ids, *_robot_message(text, title))

    async def _oto_send(self, user_ids: Sequence[str], msg_key: str, msg_param: str) -> OtoResult:
        request = robot_models.BatchSendOTORequest(
            msg_key=msg_key,
            msg_param=msg_param,
            robot_code=self._robot_code,
            user_ids=list(user_ids),
        )

        def call(token: str) -> Any:
            headers = robot_models.BatchSendOTOHeaders(x_acs_dingtalk_access_token=token)
            return self._robot.batch_send_otowith_options(request, headers, self._runtime())

        body = (await self._with_token("BatchSendOTO", call)).body
        return OtoResult(
            flow_controlled=tuple(body.flow_controlled_staff_id_list or ()),
            invalid=tuple(body.invalid_staff_id_list or ()),
            filtered=tuple(body.filtered_staff_id_list or ()),
        )

    # Pictures and files (§10): uploaded for a mediaId, then sent as robot messages

    async def send_group_media(self, open_conversation_id: str, media: Media) -> None:
        await self._group_send(open_conversation_id, *await self._media_message(media))

    async def send_oto_media(self, user_ids: Sequence[str], media: Media) -> OtoResult:
        return await self._oto_send(user_ids, *await self._media_message(media))

    async def _media_message(self, media: Media) -> tuple[str, str]:
        """msgKey and msgParam of a picture (sampleImageMsg) or file (sampleFile) message,
        after uploading the bytes for a mediaId (§5.3, §10)."""
        media_id = await self.upload_media(media)
        if media.kind == "picture":
            return "sampleImageMsg", json.dumps({"photoURL": media_id}, ensure_ascii=False)
        suffix = PurePosixPath(media.name).suffix.lstrip(".").lower()
        param = {"mediaId": media_id, "fileName": media.name, "fileType": suffix or "file"}
        return "sampleFile", json.dumps(param, ensure_ascii=False)

    async def upload_media(self, media: Media) -> str:
        """The mediaId of the media's bytes: ``POST {oapi}/media/upload`` with the
        access token in the query, the form fields ``type`` and ``media`` (multipart), as
        DingTalk documents it and dingtalk-stream's ``upload_to_dingtalk`` sends it (§10).
        A refused token is refetched once."""
        if media.content is not None:
            content = media.content
        elif media.path is None:
            raise PermanentSendError(f"media upload: {media.name} has neither bytes nor a path")
        else:
            try:
                content = await asyncio.to_thread(media.path.read_bytes)
            except OSError as exc:
                raise PermanentSendError(f"media upload: cannot read {media.path}: {exc}") from exc
        if len(content) > UPLOAD_MAX_BYTES:
            raise PermanentSendError(
                f"media upload: {media.name} has {len(content)} bytes, DingTalk takes at most"
                f" {UPLOAD_MAX_BYTES}"
            )
        kind = "image" if media.kind == "picture" else "file"
        mime = mimetypes.guess_type(media.name)[0] or "application/octet-stream"
        token = await self._access_token()
        for attempt in (1, 2):
            try:
                response = await self._http.post(
                    f"{self._oapi}/media/upload",
                    params={"access_token": token},
                    data={"type": kind},
                    files={"media": (media.name, content, mime)},
                )
            except httpx.TimeoutException as exc:
                raise TransientSendError(f"media upload: timed out ({type(exc).__name__})") from exc
            except httpx.HTTPError as exc:
                raise TransientSendError(clip(f"media upload: {exc!r}")) from exc
            status = response.status_code
            if status == 429 or status >= 500:
                raise TransientSendError(f"media upload: HTTP {status}", retry_after(response))
            if status >= 400:
                raise PermanentSendError(clip(f"media upload: HTTP {status} {response.text}"))
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise TransientSendError(clip(f"media upload: unexpected answer {response.text!r}"))
            errcode = body.get("errcode", 0)
            if errcode == 0 and isinstance(body.get("media_id"), str) and body["media_id"]:
                return str(body["media_id"])
            detail = clip(f"media upload: errcode {errcode} {body.get('errmsg', '')}")
            if errcode in OAPI_AUTH_ERRCODES and attempt == 1:
                logger.info("media upload: access token rejected, fetching a new one")
                if self._token == token:
                    self._token = None
                token = await self._access_token()
                continue
            if errcode in SESSION_BUSY_ERRCODES or errcode == 0:  # busy, or no media_id
                raise TransientSendError(detail)
            raise PermanentSendError(detail)
        raise PermanentSendError("media upload: access token refused twice")

    async def download_message_file(self, download_code: str) -> bytes:
        """A picture or file a user sent the robot: its short-lived URL from
        ``/v1.0/robot/messageFiles/download``, then the bytes (§2.2, §10). A failed GET is
        transient: the next attempt asks for a fresh URL."""
        request = robot_models.RobotMessageFileDownloadRequest(
            download_code=download_code, robot_code=self._robot_code
        )

        def call(token: str) -> Any:
            headers = robot_models.RobotMessageFileDownloadHeaders(
                x_acs_dingtalk_access_token=token
            )
            return self._robot.robot_message_file_download_with_options(
                request, headers, self._runtime()
            )

        body = (await self._with_token("RobotMessageFileDownload", call)).body
        url = getattr(body, "download_url", None)
        if not url:
            raise TransientSendError("RobotMessageFileDownload: answer without a downloadUrl")
        try:
            response = await self._http.get(url)
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"file download: timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise TransientSendError(clip(f"file download: {exc!r}")) from exc
        if response.status_code >= 400:
            raise TransientSendError(f"file download: HTTP {response.status_code}")
        if len(response.content) > DOWNLOAD_MAX_BYTES:
            raise PermanentSendError(
                f"file download: {len(response.content)} bytes, more than {DOWNLOAD_MAX_BYTES}"
            )
        return response.content

    def _runtime(self) -> RuntimeOptions:
        connect_ms, read_ms = self._timeouts_ms
        return RuntimeOptions(connect_timeout=connect_ms, read_timeout=read_ms)

    async def _with_token(self, api: str, call: Callable[[str], T]) -> T:
        """Run a blocking Tea call with the access token; on a 401 refetch it and retry once."""
        token = await self._access_token()
        try:
            return await asyncio.to_thread(call, token)
        except TeaException as exc:
            if not is_auth_error(exc):
                raise from_tea(api, exc) from exc
            logger.info("%s: access token rejected, fetching a new one", api)
            if self._token == token:
                self._token = None
        token = await self._access_token()
        try:
            return await asyncio.to_thread(call, token)
        except TeaException as exc:
            raise from_tea(api, exc) from exc

    async def _access_token(self) -> str:
        async with self._token_lock:
            now = self._clock()
            if self._token is not None and now < self._token_refresh_at:
                return self._token
            request = oauth_models.GetAccessTokenRequest(
                app_key=self._client_id, app_secret=self._client_secret
            )
            try:
                response = await asyncio.to_thread(
                    self._oauth.get_access_token_with_options, request, {}, self._runtime()
                )
            except TeaException as exc:
                raise from_tea("accessToken", exc) from exc
            token = response.body.access_token
            if not token:
                raise TransientSendError("accessToken: answer without a token")
            expire_in = int(response.body.expire_in or 0)
            self._token = str(token)
            self._token_refresh_at = now + timedelta(seconds=expire_in) - TOKEN_MARGIN
            return self._token
