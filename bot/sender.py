"""The one outbound sender: the outbox, retries with backoff, order per chat, group rate limits.

Handlers add ``OutboxMessage`` rows with :func:`enqueue` inside their own transaction; after
the commit, :class:`Sender` delivers them through :class:`DingTalkTransport`, the only code
that talks HTTP to DingTalk to send. Remote failures become :class:`TransientSendError` or
:class:`PermanentSendError` at that edge (DINGTALK.md §2.2, §4, §5, §6; STYLE.md 5, 6).

Delivery is at least once: a row is claimed with a lease (its ``next_attempt_at`` moves
forward) before it is sent, so a second sender skips it, and a crash between sending and
recording the result resends it once the lease runs out.

A row an item tracks (``item_id``/``purpose``: a reply, rejection or placeholder to a town)
reports its outcome through the ``on_outcome`` hook, in the transaction that marks it sent or
failed. A group chat holding more due rows than its rate limit lets out now gets the rows that
carry digest lines merged into digests (the first row of each becomes it, the others are
marked ``merged`` into it), so a burst does not wait minute after minute.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import random
import ssl
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Final, Literal, Protocol, TypeVar, cast, get_args

import aiohttp
import certifi
import httpx
from alibabacloud_dingtalk.oauth2_1_0 import models as oauth_models
from alibabacloud_dingtalk.oauth2_1_0.client import Client as OAuthClient
from alibabacloud_dingtalk.robot_1_0 import models as robot_models
from alibabacloud_dingtalk.robot_1_0.client import Client as RobotClient
from alibabacloud_tea_util.models import RuntimeOptions
from sqlalchemy import Connection, Table, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session
from Tea.exceptions import TeaException

from bot.dingtalk_sdk import DINGTALK_ENDPOINT, tea_config
from handlers import texts
from storage.db import Database
from storage.gate import WriteGate
from storage.models import OutboxMessage

__all__ = [
    "Channel",
    "Clock",
    "DingTalkTransport",
    "Media",
    "OtoResult",
    "Outcome",
    "OutcomeHook",
    "PermanentSendError",
    "SendError",
    "Sender",
    "TransientSendError",
    "Transport",
    "WebhookExpired",
    "enqueue",
    "enqueue_rows",
    "outbox_row",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
Channel = Literal["session", "group", "oto"]
FallbackChannel = Literal["group", "oto"]
Kind = Literal["text", "picture", "file"]

# A webhook this close to its expiry is treated as expired: the request itself takes time.
SESSION_MARGIN: Final = timedelta(seconds=30)
TOKEN_MARGIN: Final = timedelta(minutes=5)  # refresh the access token this long before expiry
QPS_RETRY_AFTER: Final = 1.0  # DingTalk's advice for QPS throttling: wait 1 s and retry
SESSION_EXPIRED_ERRCODE: Final = 300001
# Webhook errcodes worth retrying: system busy, and robot throttling (20 msgs/min, §5.6).
SESSION_BUSY_ERRCODES: Final = frozenset({-1})
SESSION_THROTTLED_ERRCODES: Final = frozenset({410100, 660026})
THROTTLED_RETRY_AFTER: Final = 60.0
MAX_ERROR_CHARS: Final = 1000
# Delivered rows are marked sent in batches: what was delivered within this many seconds.
# A crash within it sends them again once their lease runs out (at least once).
MARK_DELAY: Final = 0.005
HURRY: Final = 20  # deliveries in a row after the sender waited its longest for calm
# A burst digest holds at most this many lines and characters a message (DingTalk's text
# messages take a few thousand characters; a phone screen far fewer)
DIGEST_MAX_LINES: Final = 40
DIGEST_MAX_CHARS: Final = 3000
OUTBOX: Final = cast(Table, OutboxMessage.__table__)
OAPI_ENDPOINT: Final = "https://oapi.dingtalk.com"  # the legacy API: media upload (§10)
# DingTalk's media upload takes pictures and files up to 20 MB (its documentation, as
# transcribed by third parties; not checked against DingTalk itself).
UPLOAD_MAX_BYTES: Final = 20 * 1024 * 1024
DOWNLOAD_MAX_BYTES: Final = 100 * 1024 * 1024  # a file a town sends; larger is refused
OAPI_AUTH_ERRCODES: Final = frozenset({40014, 42001, 88})  # bad or expired access_token
MARK_SENT: Final = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("b_id"), OUTBOX.c.state == "pending")
    .values(state="sent", sent_at=bindparam("b_at"))
)
LOAD_PENDING: Final = (
    select(OUTBOX)
    .where(OUTBOX.c.state == "pending")
    .order_by(OUTBOX.c.id)
    .limit(bindparam("limit"))
)


def utc_now() -> datetime:
    return datetime.now(UTC)


# Errors -------------------------------------------------------------------------------


class SendError(Exception):
    """A message was not delivered; ``str()`` is what ``last_error`` records."""


class TransientSendError(SendError):
    """Worth retrying later: throttling, 5xx, timeouts, connection errors, garbled answers."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Retrying cannot help: a 4xx or a DingTalk error code."""


class WebhookExpired(PermanentSendError):
    """The session webhook expired or is unknown; send to the message's fallback instead."""


# Transport ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OtoResult:
    """Users a BatchSendOTO call did NOT deliver to (everyone else got the message)."""

    flow_controlled: tuple[str, ...] = ()  # throttled: retry them
    invalid: tuple[str, ...] = ()  # unknown users: permanent
    filtered: tuple[str, ...] = ()  # dropped by DingTalk: permanent


class Transport(Protocol):
    """What the sender needs from DingTalk; every failure is a :class:`SendError`."""

    async def send_session(
        self,
        webhook: str,
        text: str,
        *,
        title: str | None = None,
        at_user_ids: Sequence[str] = (),
        expires_at: datetime | None = None,
    ) -> None: ...

    async def send_group(
        self, open_conversation_id: str, text: str, *, title: str | None = None
    ) -> None: ...

    async def send_oto(
        self, user_ids: Sequence[str], text: str, *, title: str | None = None
    ) -> OtoResult: ...

    async def send_group_media(self, open_conversation_id: str, media: Media) -> None: ...

    async def send_oto_media(self, user_ids: Sequence[str], media: Media) -> OtoResult: ...

    async def download_message_file(self, download_code: str) -> bytes: ...


@dataclass(frozen=True)
class Media:
    """A picture or file to send: the bytes at ``path``, shown as ``name``."""

    kind: Literal["picture", "file"]
    path: Path
    name: str


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _robot_message(text: str, title: str | None) -> tuple[str, str]:
    """msgKey and msgParam (a JSON string) of an Open API robot message (§5.3)."""
    if title is None:
        return "sampleText", json.dumps({"content": text}, ensure_ascii=False)
    return "sampleMarkdown", json.dumps({"title": title, "text": text}, ensure_ascii=False)


def _tea_status(exc: TeaException) -> int | None:
    """The HTTP status of a Tea error; None when no HTTP answer was read (§5.5)."""
    status = getattr(exc, "statusCode", None)
    if status is None and isinstance(exc.data, dict):
        status = exc.data.get("statusCode")
    try:
        return None if status is None else int(status)
    except (TypeError, ValueError):
        return None


def _is_auth_error(exc: TeaException) -> bool:
    return _tea_status(exc) == 401 or exc.code == "InvalidAuthentication"


def _from_tea(api: str, exc: TeaException) -> SendError:
    """Our own error for a Tea SDK error."""
    status = _tea_status(exc)
    code = str(exc.code or "")
    if status is None:  # connection refused, timeout, or an answer that is not JSON
        inner = getattr(exc, "inner_exception", None)
        reason = getattr(inner, "message", None) or (repr(inner) if inner else exc.message)
        return TransientSendError(_clip(f"{api}: {reason or exc!r}"))
    detail = _clip(f"{api}: HTTP {status} {code}: {exc.message}")
    if status == 429 or (status == 403 and code.startswith("Forbidden.AccessDenied.QpsLimit")):
        return TransientSendError(detail, retry_after=QPS_RETRY_AFTER)
    if status >= 500:
        return TransientSendError(detail)
    return PermanentSendError(detail)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # absent, or an HTTP date: use our own backoff


def _check_session_answer(response: httpx.Response) -> None:
    """Raise unless a session-webhook answer says the message was delivered (§2.2, §7.8)."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise TransientSendError(f"session webhook: HTTP {status}", _retry_after(response))
    if status >= 400:
        raise PermanentSendError(_clip(f"session webhook: HTTP {status} {response.text}"))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("errcode"), int):
        raise TransientSendError(_clip(f"session webhook: unexpected answer {response.text!r}"))
    errcode: int = body["errcode"]
    if errcode == 0:
        return
    detail = _clip(f"session webhook: errcode {errcode} {body.get('errmsg', '')}")
    if errcode == SESSION_EXPIRED_ERRCODE:
        raise WebhookExpired(detail)
    if errcode in SESSION_THROTTLED_ERRCODES:
        raise TransientSendError(detail, retry_after=THROTTLED_RETRY_AFTER)
    if errcode in SESSION_BUSY_ERRCODES:
        raise TransientSendError(detail)
    raise PermanentSendError(detail)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx over aiohttp: a fraction of the CPU of httpx's own transport per request.

    Session webhooks are the busiest outbound path; httpx stays the API (and what tests mock
    with respx). Failures are raised as the httpx exceptions httpx's transport would raise.
    """

    DROPPED = frozenset({"host", "content-length", "transfer-encoding", "connection"})

    def __init__(self, connect_timeout: float, read_timeout: float) -> None:
        self._timeout = aiohttp.ClientTimeout(sock_connect=connect_timeout, sock_read=read_timeout)
        self._session: aiohttp.ClientSession | None = None
        # HTTP(S)_PROXY and NO_PROXY as httpx reads them, once: aiohttp's trust_env reads the
        # whole environment twice a request, in a thread.
        self._proxies = urllib.request.getproxies_environment()
        self._proxy_for: dict[tuple[str, str], str | None] = {}

    def _proxy(self, url: httpx.URL) -> str | None:
        key = (url.scheme, url.host)
        if key not in self._proxy_for:
            proxy = self._proxies.get(url.scheme)
            bypass = proxy is None or bool(urllib.request.proxy_bypass(url.host))
            self._proxy_for[key] = None if bypass else proxy
        return self._proxy_for[key]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {request.url.scheme!r}")
        if self._session is None:  # made on first use: it belongs to the running loop
            ssl_context = ssl.create_default_context(cafile=certifi.where())  # as httpx does
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(ssl=ssl_context),
                auto_decompress=True,
            )
        headers = [(k, v) for k, v in request.headers.multi_items() if k not in self.DROPPED]
        try:
            async with self._session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=await request.aread(),
                proxy=self._proxy(request.url),
            ) as answer:
                content = await answer.read()
                status, raw_headers = answer.status, answer.headers.items()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
        except aiohttp.InvalidURL as exc:
            raise httpx.InvalidURL(str(exc)) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.NetworkError(repr(exc), request=request) from exc
        # the body is already decoded: drop what would make httpx decode it again
        kept = [(k, v) for k, v in raw_headers if k.lower() not in ("content-encoding",)]
        return httpx.Response(status, headers=kept, content=content, request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class DingTalkTransport:
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
        clock: Clock = utc_now,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._robot_code = robot_code
        self._oauth = OAuthClient(tea_config(endpoint))
        self._robot = RobotClient(tea_config(endpoint))
        self._oapi = oapi_endpoint.rstrip("/")
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
            raise TransientSendError(_clip(f"session webhook: {exc!r}")) from exc
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
        """The mediaId of the bytes at ``media.path``: ``POST {oapi}/media/upload`` with the
        access token in the query, the form fields ``type`` and ``media`` (multipart), as
        DingTalk documents it and dingtalk-stream's ``upload_to_dingtalk`` sends it (§10).
        A refused token is refetched once."""
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
                raise TransientSendError(_clip(f"media upload: {exc!r}")) from exc
            status = response.status_code
            if status == 429 or status >= 500:
                raise TransientSendError(f"media upload: HTTP {status}", _retry_after(response))
            if status >= 400:
                raise PermanentSendError(_clip(f"media upload: HTTP {status} {response.text}"))
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise TransientSendError(
                    _clip(f"media upload: unexpected answer {response.text!r}")
                )
            errcode = body.get("errcode", 0)
            if errcode == 0 and isinstance(body.get("media_id"), str) and body["media_id"]:
                return str(body["media_id"])
            detail = _clip(f"media upload: errcode {errcode} {body.get('errmsg', '')}")
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
            raise TransientSendError(_clip(f"file download: {exc!r}")) from exc
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
            if not _is_auth_error(exc):
                raise _from_tea(api, exc) from exc
            logger.info("%s: access token rejected, fetching a new one", api)
            if self._token == token:
                self._token = None
        token = await self._access_token()
        try:
            return await asyncio.to_thread(call, token)
        except TeaException as exc:
            raise _from_tea(api, exc) from exc

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
                raise _from_tea("accessToken", exc) from exc
            token = response.body.access_token
            if not token:
                raise TransientSendError("accessToken: answer without a token")
            expire_in = int(response.body.expire_in or 0)
            self._token = str(token)
            self._token_refresh_at = now + timedelta(seconds=expire_in) - TOKEN_MARGIN
            return self._token


# Outbox ---------------------------------------------------------------------------------


def enqueue(session: Session, **fields: Any) -> OutboxMessage:
    """Add a message to the outbox in the caller's session; the caller commits. ``fields``
    are :func:`outbox_row`'s.

    ``target`` is the openConversationId (group; for a session reply, the conversation it
    answers) or the userId (oto). Only session replies can @-mention (DINGTALK.md §6); a
    session reply whose webhook has expired goes to the fallback, without the mentions.
    """
    message = OutboxMessage(**outbox_row(**fields))
    session.add(message)
    return message


def enqueue_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert :func:`outbox_row` rows in the caller's transaction, in order, at once: one
    statement, no ORM objects. Rows added earlier with :func:`enqueue` are flushed first, so
    that they keep their place in their chat."""
    if rows:
        session.flush()
        session.connection().execute(insert(OUTBOX), list(rows))


def outbox_row(
    *,
    channel: str,
    target: str,
    text: str,
    title: str | None = None,
    at_user_ids: Sequence[str] = (),
    webhook: str | None = None,
    webhook_expires: datetime | None = None,
    fallback_channel: str | None = None,
    fallback_target: str | None = None,
    fallback_text: str | None = None,
    kind: str = "text",
    media_path: str | None = None,
    item_id: int | None = None,
    purpose: str | None = None,
    actor: str | None = None,
    digest: Sequence[tuple[str, str]] = (),
    now: datetime,
) -> dict[str, Any]:
    """The checked column values of a new outbox row (see :func:`enqueue`). A ``picture`` or
    ``file`` is sent from ``media_path`` (relative to the sender's files directory) to a
    group or a user; its ``text`` names it."""
    if channel not in get_args(Channel):
        raise ValueError(f"unknown channel {channel!r}")
    if kind not in get_args(Kind):
        raise ValueError(f"unknown kind {kind!r}")
    if kind == "text" and media_path is not None:
        raise ValueError("a text message has no media_path")
    if kind != "text":
        if channel == "session" or title is not None:
            raise ValueError("a picture or file goes to a group or a user, without a title")
        path = PurePosixPath(media_path or "")
        if not media_path or path.is_absolute() or ".." in path.parts:
            raise ValueError("a picture or file needs a relative media_path")
    if not target:
        raise ValueError("a message needs a target")
    if not text:
        raise ValueError("a message needs a text")
    if title is not None and not 0 < len(title) <= 128:
        raise ValueError("a title has 1 to 128 characters")
    for name, moment in (("now", now), ("webhook_expires", webhook_expires)):
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime")
    if channel == "session":
        if not webhook:
            raise ValueError("a session reply needs its webhook")
    elif webhook or webhook_expires or fallback_channel or fallback_target or at_user_ids:
        raise ValueError(
            "webhook, fallback and @-mentions are for session replies only"
            " (Open API robot messages cannot @-mention)"
        )
    if (fallback_channel is None) != (fallback_target is None):
        raise ValueError("fallback_channel and fallback_target go together")
    if fallback_text is not None and (fallback_channel is None or not fallback_text):
        raise ValueError("a fallback text needs a fallback and some text")
    if fallback_channel is not None and fallback_channel not in get_args(FallbackChannel):
        raise ValueError(f"unknown fallback channel {fallback_channel!r}")
    if (item_id is None) != (purpose is None):
        raise ValueError("item_id and purpose go together")
    if purpose is not None and digest:
        raise ValueError("a message an item records is never merged into a digest")
    if any(len(pair) != 2 or not all(pair) for pair in digest):
        raise ValueError("digest lines are (title, line) pairs")
    return {
        "created_at": now,
        "channel": channel,
        "target": target,
        "webhook": webhook,
        "webhook_expires": webhook_expires,
        "fallback_channel": fallback_channel,
        "fallback_target": fallback_target,
        "fallback_text": fallback_text,
        "title": title,
        "text": text,
        "at_user_ids": list(at_user_ids),
        "kind": kind,
        "media_path": media_path,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "sent_at": None,
        "last_error": None,
        "item_id": item_id,
        "purpose": purpose,
        "actor": actor,
        "digest": [list(pair) for pair in digest] or None,
        "merged_into": None,
    }


@dataclass(frozen=True)
class _Row:
    """A snapshot of a pending outbox row, safe to use outside its session."""

    id: int
    channel: str
    target: str
    webhook: str | None
    webhook_expires: datetime | None
    fallback_channel: str | None
    fallback_target: str | None
    title: str | None
    text: str
    at_user_ids: tuple[str, ...]
    next_attempt_at: datetime
    fallback_text: str | None = None
    kind: str = "text"
    media_path: str | None = None
    item_id: int | None = None
    purpose: str | None = None
    actor: str | None = None
    digest: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What became of a message an item records: ``error`` is None when DingTalk accepted it,
    else why it failed for good (after its retries)."""

    row_id: int
    item_id: int
    purpose: str
    actor: str | None
    error: str | None


# Called in the transaction that marks the row sent or failed; what it writes (the item's
# event, notices in the outbox) is committed with the mark, or not at all.
OutcomeHook = Callable[[Session, Outcome], None]


@dataclass(frozen=True)
class _Merge:
    """Rows of one group chat sent as one digest: ``rows[0]`` becomes it."""

    rows: tuple[_Row, ...]
    text: str
    digest: tuple[tuple[str, str], ...]


class _Contended(Exception):
    """Another sender claimed some of the rows first."""


class _RateLimited(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__(until)
        self.until = until


def _chunks(rows: list[_Row]) -> list[list[_Row]]:
    """Consecutive rows in digests of at most DIGEST_MAX_LINES lines and about
    DIGEST_MAX_CHARS characters; a row is never split (a longer one goes alone)."""
    chunks: list[list[_Row]] = []
    lines = chars = 0
    for row in rows:
        size = sum(len(line) + 4 for _, line in row.digest)
        if chunks and (
            lines + len(row.digest) > DIGEST_MAX_LINES or chars + size > DIGEST_MAX_CHARS
        ):
            chunks.append([])
            lines = chars = 0
        if not chunks:
            chunks.append([])
        chunks[-1].append(row)
        lines += len(row.digest)
        chars += size
    return chunks


async def _wait_any(events: Sequence[asyncio.Event], timeout: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


class Sender:
    """Delivers due outbox rows: in id order per chat, with retries and a per-group limit."""

    def __init__(
        self,
        db: Database,
        transport: Transport,
        *,
        clock: Clock = utc_now,
        group_rate: tuple[int, float] = (20, 60.0),
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        max_attempts: int = 50,
        lease: float = 60.0,
        max_wait: float = 5.0,
        batch: int = 500,
        rng: random.Random | None = None,
        gate: WriteGate | None = None,
        files_dir: Path | None = None,
        on_outcome: OutcomeHook | None = None,
    ) -> None:
        self._db = db
        self._files_dir = files_dir  # where pictures and files to send are kept
        self._on_outcome = on_outcome
        self._gate = gate or WriteGate(exclusive=False)
        self._transport = transport
        self._clock = clock
        self._group_limit = group_rate[0]
        self._group_period = timedelta(seconds=group_rate[1])
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._max_attempts = max_attempts
        self._lease = timedelta(seconds=lease)  # longer than any one send may take
        self._max_wait = max_wait
        self._batch = batch
        self._random = rng or random.Random()
        self._sent_to_group: dict[str, deque[datetime]] = {}
        self._seeded = False
        # Rows delivered but not yet marked sent: written in batches by _write_marks. Until
        # then their lease keeps them from being sent again.
        self._marks: list[tuple[_Row, datetime]] = []
        self._marking: asyncio.Task[None] | None = None
        self._next_due: datetime | None = None  # when the next row falls due, if known
        self._mark_gathering = False

    async def send_due(self) -> int:
        """Send every due row, chats side by side, each chat in id order; return how many
        were delivered."""
        if not self._seeded:
            await asyncio.to_thread(self._seed_window, self._clock())
            self._seeded = True
        delivered = 0
        self._next_due = None
        try:
            while True:
                chats, next_due = await asyncio.to_thread(self._load_due, self._clock())
                if not chats:
                    self._next_due = next_due or self._clock() + timedelta(seconds=self._max_wait)
                    break
                merges = self._plan_merges(chats, self._clock())
                if merges:
                    merged = await asyncio.to_thread(self._merge, merges)
                    if merged:
                        continue  # the chats changed: read them again
                lease = self._clock() + self._lease
                claims = await asyncio.to_thread(self._claim_chats, chats, lease)
                counts = await asyncio.gather(
                    *(
                        self._send_chat(rows, claimed, lease)
                        for rows, claimed in zip(chats, claims, strict=True)
                    )
                )
                if not any(progress for progress, _ in counts):
                    break
                delivered += sum(n for _, n in counts)
                await self._flush_marks()
        finally:
            await self._flush_marks()
        return delivered

    async def _send_chat(
        self, rows: list[_Row], claimed: list[bool], lease: datetime
    ) -> tuple[bool, int]:
        """Send one chat's due rows in order, stopping at the first that is not delivered
        (a later message never overtakes an earlier one). Returns (progress, delivered)."""
        progress, delivered, hurry = False, 0, 0
        for index, row in enumerate(rows):
            if not claimed[index]:
                break  # another sender has it
            progress = True
            if hurry:
                hurry -= 1
            elif not await self._gate.calm():  # incoming messages first (storage.gate) ...
                hurry = HURRY  # ... but in a flood, a stretch before asking again
            if not await self._process(row):
                tail = zip(rows[index + 1 :], claimed[index + 1 :], strict=True)
                rest = [r for r, mine in tail if mine]
                await asyncio.to_thread(self._release, rest, lease)
                break
            delivered += 1
        return progress, delivered

    async def run(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        """Send until ``stop`` is set; ``wake`` is set by whoever committed new rows."""
        while not stop.is_set():
            wake.clear()  # before sending, so rows committed meanwhile are not missed
            try:
                await self.send_due()
                if self._next_due is not None:  # what the last look at the outbox saw
                    delay = (self._next_due - self._clock()).total_seconds()
                else:
                    delay = await asyncio.to_thread(self._seconds_to_next, self._clock())
            except Exception:
                logger.exception("outbox: sending round failed")
                delay = self._max_wait
            await _wait_any((stop, wake), min(max(delay, 0.01), self._max_wait))

    # One row

    async def _process(self, row: _Row) -> bool:
        """Send a claimed row and record the outcome; True when delivered."""
        try:
            await self._deliver(row)
        except _RateLimited as limited:
            await asyncio.to_thread(self._defer, row.id, limited.until)
            return False
        except SendError as exc:
            await asyncio.to_thread(self._record_failure, row, exc, self._clock())
            return False
        except Exception as exc:  # a bug, not DingTalk: keep the row, bounded by max_attempts
            logger.exception("outbox #%d: unexpected error while sending", row.id)
            error = TransientSendError(_clip(f"unexpected error: {exc!r}"))
            await asyncio.to_thread(self._record_failure, row, error, self._clock())
            return False
        self._marks.append((row, self._clock()))
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._write_marks())
        return True

    async def _write_marks(self, delay: float = MARK_DELAY) -> None:
        """Mark delivered rows sent, a batch to a transaction, until none is left; each
        batch is what was delivered during ``delay``."""
        while self._marks:
            self._mark_gathering = delay > 0
            try:
                await asyncio.sleep(delay)
            finally:
                self._mark_gathering = False
            batch, self._marks = self._marks, []
            try:
                await asyncio.to_thread(self._mark_sent, batch)
            except BaseException:
                self._marks[:0] = batch  # kept for the next try; the lease holds them
                raise

    async def _flush_marks(self) -> None:
        """Mark every delivered row sent now."""
        task, self._marking = self._marking, None
        if task is not None:
            if self._mark_gathering:
                task.cancel()  # only waiting: its rows are still in self._marks
            await asyncio.wait({task})
            if not task.cancelled() and task.exception() is not None:
                logger.error(
                    "outbox: marking rows sent failed; retrying", exc_info=task.exception()
                )
        if self._marks:
            await self._write_marks(delay=0)

    async def _deliver(self, row: _Row) -> None:
        if row.channel == "group":
            await self._to_group(row.target, row)
        elif row.channel == "oto":
            await self._to_user(row.target, row)
        elif row.channel == "session":
            if not row.webhook:
                raise PermanentSendError("session reply without a webhook")
            try:
                await self._transport.send_session(
                    row.webhook,
                    row.text,
                    title=row.title,
                    at_user_ids=row.at_user_ids,
                    expires_at=row.webhook_expires,
                )
            except WebhookExpired as exc:
                if row.fallback_target is None:
                    raise
                # OrgGroupSend cannot @-mention (§6): the text goes as it is, or the
                # fallback's own text, which names the person instead.
                fallback = replace(row, text=row.fallback_text) if row.fallback_text else row
                logger.info(
                    "outbox #%d: %s; sending to %s %s instead",
                    row.id,
                    exc,
                    row.fallback_channel,
                    row.fallback_target,
                )
                if row.fallback_channel == "group":
                    await self._to_group(row.fallback_target, fallback)
                elif row.fallback_channel == "oto":
                    await self._to_user(row.fallback_target, fallback)
                else:
                    raise PermanentSendError(
                        f"unknown fallback channel {row.fallback_channel!r}"
                    ) from exc
        else:
            raise PermanentSendError(f"unknown channel {row.channel!r}")

    async def _to_group(self, group: str, row: _Row) -> None:
        until = self._group_slot(group, self._clock())
        if until is not None:
            raise _RateLimited(until)
        if row.kind != "text":
            await self._transport.send_group_media(group, self._media(row))
        else:
            await self._transport.send_group(group, row.text, title=row.title)
        self._sent_to_group.setdefault(group, deque()).append(self._clock())

    async def _to_user(self, user_id: str, row: _Row) -> None:
        if row.kind != "text":
            result = await self._transport.send_oto_media([user_id], self._media(row))
        else:
            result = await self._transport.send_oto([user_id], row.text, title=row.title)
        if user_id in result.invalid:
            raise PermanentSendError(f"BatchSendOTO: invalid userId {user_id}")
        if user_id in result.filtered:
            raise PermanentSendError(f"BatchSendOTO: userId {user_id} was filtered")
        if user_id in result.flow_controlled:
            raise TransientSendError(f"BatchSendOTO: userId {user_id} was flow-controlled")

    def _media(self, row: _Row) -> Media:
        if self._files_dir is None or not row.media_path:
            raise PermanentSendError(f"{row.kind} {row.media_path!r}: no files directory set")
        kind: Literal["picture", "file"] = "picture" if row.kind == "picture" else "file"
        path = self._files_dir / row.media_path
        name = row.text if kind == "file" else PurePosixPath(row.media_path).name
        return Media(kind, path, name)

    # Group rate limit: a sliding window of send times per group

    def _group_slot(self, group: str, now: datetime) -> datetime | None:
        """None if a message may go to ``group`` now, else when the next one may."""
        times = self._sent_to_group.get(group)
        if not times:
            return None
        while times and times[0] <= now - self._group_period:
            times.popleft()
        if len(times) < self._group_limit:
            return None
        return times[-self._group_limit] + self._group_period

    def _free_slots(self, group: str, now: datetime) -> int:
        """How many messages may go to ``group`` now."""
        times = self._sent_to_group.get(group)
        if not times:
            return self._group_limit
        while times and times[0] <= now - self._group_period:
            times.popleft()
        return max(0, self._group_limit - len(times))

    # Burst digests: a group chat with more waiting than its rate limit lets out

    def _plan_merges(self, chats: list[list[_Row]], now: datetime) -> list[_Merge]:
        """For each group chat holding more due messages than may go to it now, its messages
        that read as digest lines, as few digests as the length limits allow; every row is in
        exactly one of them."""
        merges: list[_Merge] = []
        for rows in chats:
            if rows[0].channel != "group" or len(rows) <= self._free_slots(rows[0].target, now):
                continue
            digestible = [r for r in rows if r.digest]
            chunks = _chunks(digestible)
            if len(chunks) >= len(digestible):
                continue  # merging would not save a message
            totals: dict[str, int] = {}
            for row in digestible:
                for title, _ in row.digest:
                    totals[title] = totals.get(title, 0) + 1
            done: dict[str, int] = {}
            for chunk in chunks:
                pairs = tuple(pair for row in chunk for pair in row.digest)
                by_title: dict[str, list[str]] = {}
                for title, line in pairs:
                    by_title.setdefault(title, []).append(line)
                sections = []
                for title, lines in by_title.items():
                    sections.append((title, lines, done.get(title, 0) + 1, totals[title]))
                    done[title] = done.get(title, 0) + len(lines)
                if len(chunk) > 1:
                    merges.append(_Merge(tuple(chunk), texts.burst_digest(sections), pairs))
        return merges

    def _merge(self, merges: list[_Merge]) -> bool:
        """Turn each merge's first row into its digest and mark the others merged into it, in
        one transaction; False (nothing changed) if another sender took any row meanwhile."""
        head_update = (
            update(OUTBOX)
            .where(
                OUTBOX.c.id == bindparam("b_id"),
                OUTBOX.c.state == "pending",
                OUTBOX.c.next_attempt_at == bindparam("b_due"),
            )
            .values(text=bindparam("b_text"), title=None, digest=bindparam("b_digest"))
        )
        member_update = (
            update(OUTBOX)
            .where(
                OUTBOX.c.id == bindparam("b_id"),
                OUTBOX.c.state == "pending",
                OUTBOX.c.next_attempt_at == bindparam("b_due"),
            )
            .values(state="merged", merged_into=bindparam("b_head"))
        )
        try:
            with self._connection() as connection:
                for merge in merges:
                    head, *members = merge.rows
                    changed = connection.execute(
                        head_update,
                        {
                            "b_id": head.id,
                            "b_due": head.next_attempt_at,
                            "b_text": merge.text,
                            "b_digest": [list(pair) for pair in merge.digest],
                        },
                    ).rowcount
                    for row in members:
                        changed += connection.execute(
                            member_update,
                            {"b_id": row.id, "b_due": row.next_attempt_at, "b_head": head.id},
                        ).rowcount
                    if changed != len(merge.rows):
                        raise _Contended
        except _Contended:
            return False
        for merge in merges:
            logger.info(
                "outbox: %d messages to group %s merged into #%d",
                len(merge.rows),
                merge.rows[0].target,
                merge.rows[0].id,
            )
        return True

    def _seed_window(self, now: datetime) -> None:
        """Count what went to each group within the last period, so a restart cannot burst."""
        since = now - self._group_period
        with self._transaction() as session:
            rows = session.execute(
                select(
                    OutboxMessage.channel,
                    OutboxMessage.target,
                    OutboxMessage.fallback_channel,
                    OutboxMessage.fallback_target,
                    OutboxMessage.webhook_expires,
                    OutboxMessage.sent_at,
                )
                .where(
                    OutboxMessage.state == "sent",
                    OutboxMessage.sent_at > since,
                    or_(
                        OutboxMessage.channel == "group", OutboxMessage.fallback_channel == "group"
                    ),
                )
                .order_by(OutboxMessage.sent_at)
            ).all()
        for channel, target, fallback_channel, fallback_target, expires, sent_at in rows:
            if sent_at is None:
                continue
            if channel == "group":
                group = target
            elif (
                fallback_channel == "group"
                and fallback_target
                and expires is not None
                and sent_at >= expires - SESSION_MARGIN
            ):
                group = fallback_target  # a session reply sent after its webhook expired
            else:
                continue
            self._sent_to_group.setdefault(group, deque()).append(sent_at)

    # Database, each call one short transaction (run in a thread)

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        self._gate.wait_calm()  # incoming messages first
        with self._gate.hold(), self._db.transaction() as session:
            yield session

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A transaction on a plain connection: for Core statements, no ORM session."""
        self._gate.wait_calm()
        with self._gate.hold(), self._db.engine.begin() as connection:
            yield connection

    def _load_due(self, now: datetime) -> tuple[list[list[_Row]], datetime | None]:
        """Per chat, its oldest pending rows up to the first that is not yet due; and when
        the first of those not yet due falls due."""
        with self._connection() as connection:
            rows = connection.execute(LOAD_PENDING, {"limit": self._batch}).all()
        chats: dict[tuple[str, str], list[_Row]] = {}
        blocked: set[tuple[str, str]] = set()
        next_due: datetime | None = None
        for row in rows:
            key = (row.channel, row.target)
            if key in blocked:
                continue
            if row.next_attempt_at > now:
                blocked.add(key)  # the rest of this chat waits behind it
                next_due = min(next_due or row.next_attempt_at, row.next_attempt_at)
                continue
            chats.setdefault(key, []).append(
                _Row(
                    row.id,
                    row.channel,
                    row.target,
                    row.webhook,
                    row.webhook_expires,
                    row.fallback_channel,
                    row.fallback_target,
                    row.title,
                    row.text,
                    tuple(row.at_user_ids or ()),
                    row.next_attempt_at,
                    row.fallback_text,
                    row.kind,
                    row.media_path,
                    row.item_id,
                    row.purpose,
                    row.actor,
                    tuple((str(t), str(line)) for t, line in row.digest or ()),
                )
            )
        return list(chats.values()), next_due

    def _seconds_to_next(self, now: datetime) -> float:
        """Seconds until the next head-of-chat row is due (rate-limited rows included)."""
        heads = (
            select(func.min(OutboxMessage.id))
            .where(OutboxMessage.state == "pending")
            .group_by(OutboxMessage.channel, OutboxMessage.target)
        )
        with self._transaction() as session:
            due = session.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.id.in_(heads))
            )
        if due is None:
            return self._max_wait
        return (due - now).total_seconds()

    def _claim_chats(self, chats: list[list[_Row]], lease_until: datetime) -> list[list[bool]]:
        """Take rows for sending, in one transaction; per chat, False for each row someone
        else changed since it was read (and for every row after it in its chat)."""
        claim = (
            update(OUTBOX)
            .where(
                OUTBOX.c.id == bindparam("b_id"),
                OUTBOX.c.state == "pending",
                OUTBOX.c.next_attempt_at == bindparam("b_due"),
            )
            .values(next_attempt_at=lease_until)
        )
        params = [[{"b_id": r.id, "b_due": r.next_attempt_at} for r in rows] for rows in chats]
        everything = [one for chat in params for one in chat]
        try:
            with self._connection() as connection:  # all at once: one statement
                if connection.execute(claim, everything).rowcount == len(everything):
                    return [[True] * len(rows) for rows in chats]
                raise _Contended  # another sender took some: roll back, go row by row
        except _Contended:
            pass
        claims: list[list[bool]] = []
        with self._connection() as connection:
            for chat in params:
                taken = 0
                for one in chat:
                    if connection.execute(claim, one).rowcount != 1:
                        break
                    taken += 1
                claims.append([True] * taken + [False] * (len(chat) - taken))
        return claims

    def _release(self, rows: list[_Row], lease_until: datetime) -> None:
        """Give back claimed rows that were not tried, due as they were."""
        if not rows:
            return
        with self._transaction() as session:
            for row in rows:
                session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == row.id,
                        OutboxMessage.state == "pending",
                        OutboxMessage.next_attempt_at == lease_until,
                    )
                    .values(next_attempt_at=row.next_attempt_at)
                )

    def _defer(self, row_id: int, until: datetime) -> None:
        with self._transaction() as session:
            message = session.get(OutboxMessage, row_id)
            if message is not None and message.state == "pending":
                message.next_attempt_at = until
        logger.debug("outbox #%d: group rate limit, waiting until %s", row_id, until)

    def _mark_sent(self, sent: list[tuple[_Row, datetime]]) -> None:
        """Mark delivered rows sent; for a row an item records, its outcome is written in the
        same transaction."""
        plain = [{"b_id": r.id, "b_at": at} for r, at in sent if not self._reports(r)]
        reported = [r for r, _ in sent if self._reports(r)]
        if not reported:
            with self._connection() as connection:
                connection.execute(MARK_SENT, plain)
            return
        with self._transaction() as session:
            connection = session.connection()
            if plain:
                connection.execute(MARK_SENT, plain)
            for row, at in sent:
                if not self._reports(row):
                    continue
                marked = connection.execute(MARK_SENT, {"b_id": row.id, "b_at": at}).rowcount
                if marked == 1:  # not already marked by someone else
                    self._report(session, row, None)

    def _reports(self, row: _Row) -> bool:
        return self._on_outcome is not None and row.item_id is not None and bool(row.purpose)

    def _report(self, session: Session, row: _Row, error: str | None) -> None:
        """Run the outcome hook in a savepoint: if it fails, the mark is kept regardless
        (better an unrecorded outcome than a message sent twice)."""
        assert self._on_outcome is not None and row.item_id is not None and row.purpose
        outcome = Outcome(row.id, row.item_id, row.purpose, row.actor, error)
        savepoint = session.begin_nested()
        try:
            self._on_outcome(session, outcome)
            session.flush()
        except Exception:
            savepoint.rollback()
            logger.exception(
                "outbox #%d: recording the outcome for item %d failed", row.id, row.item_id
            )
        else:
            savepoint.commit()

    def _record_failure(self, row: _Row, exc: SendError, now: datetime) -> None:
        with self._transaction() as session:
            message = session.get(OutboxMessage, row.id)
            if message is None or message.state != "pending":
                return
            message.attempts += 1
            message.last_error = _clip(str(exc) or type(exc).__name__)
            if isinstance(exc, PermanentSendError) or message.attempts >= self._max_attempts:
                message.state = "failed"
                logger.error(
                    "outbox #%d to %s %s failed after %d attempt(s): %s",
                    row.id,
                    row.channel,
                    row.target,
                    message.attempts,
                    message.last_error,
                )
                if self._reports(row):
                    session.flush()
                    self._report(session, row, message.last_error)
                return
            retry_after = exc.retry_after if isinstance(exc, TransientSendError) else None
            delay = self._backoff(message.attempts, retry_after)
            message.next_attempt_at = now + timedelta(seconds=delay)
            logger.warning(
                "outbox #%d to %s %s: attempt %d failed, retrying in %.1f s: %s",
                row.id,
                row.channel,
                row.target,
                message.attempts,
                delay,
                message.last_error,
            )

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        """Seconds to wait: what the server asked (plus a little), else exponential jitter."""
        if retry_after is not None:
            return max(retry_after, 0.01) * self._random.uniform(1.0, 1.25)
        ceiling = min(self._backoff_max, self._backoff_base * 2.0 ** min(attempts - 1, 40))
        return max(self._random.uniform(ceiling / 2, ceiling), 0.01)
