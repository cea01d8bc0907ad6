"""A local DingTalk on 127.0.0.1: the stream gateway, the Open API, session webhooks, and
files both ways (the robot message-file download, the media upload; DINGTALK.md §10).

The real dingtalk-stream SDK and the real alibabacloud-dingtalk clients talk to it
unchanged (see ``bot.dingtalk_sdk``). Tests and the sandbox push inbound messages, read
what the bot sent, and inject faults.

The server runs its own event loop in a thread: the SDK makes blocking ``requests`` calls
from inside its event loop, so a server sharing that loop could never answer them. Every
async method here may be awaited from any other event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import itertools
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from aiohttp import BodyPartReader, WSMsgType, web
from aiohttp.typedefs import Handler

__all__ = [
    "BOT_MESSAGE_TOPIC",
    "Clock",
    "LocalDingTalk",
    "LoggedRequest",
    "OpenCall",
    "OutboundMessage",
    "StreamConnection",
    "UploadedMedia",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
Channel = Literal["group", "oto", "session"]
Json = dict[str, Any]

BOT_MESSAGE_TOPIC = "/v1.0/im/bot/messages/get"
SESSION_TTL = timedelta(minutes=90)
TOKEN_TTL = timedelta(seconds=7200)
TICKET_TTL = timedelta(seconds=90)  # one connection, within 90 s (protocol.md)
OTO_MAX_USERS = 20
SESSION_INVALID = {"errcode": 300001, "errmsg": "session不存在或已过期"}
LWCP = "$:LWCP_v1:$"  # prefix of DingTalk's encrypted user ids
DOWNLOAD_URL_TTL = timedelta(minutes=5)  # the messageFiles/download URL is short-lived
MEDIA_TYPES = ("image", "voice", "video", "file")


@dataclass(frozen=True)
class UploadedMedia:
    """What the bot uploaded to ``/media/upload``, by its media_id."""

    media_id: str
    type: str  # image | voice | video | file
    file_name: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class OutboundMessage:
    """A message DingTalk delivered on the bot's behalf."""

    seq: int
    channel: Channel
    # openConversationId (group), delivered userIds (oto), or the conversationId (session)
    target: str | tuple[str, ...]
    msg_key: str  # msgKey (Open API) or msgtype (session webhook)
    text: str  # content / markdown text
    title: str | None
    at_user_ids: tuple[str, ...]
    payload: Mapping[str, Any] = field(compare=False, hash=False, repr=False)  # request body
    at: float = field(default=0.0, compare=False, repr=False)  # time.perf_counter() on receipt
    # a picture (sampleImageMsg photoURL) or file (sampleFile mediaId) the bot uploaded
    media: UploadedMedia | None = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class LoggedRequest:
    """Any HTTP request the server received; ``json`` is the parsed body, else its text."""

    method: str
    path: str
    query: Mapping[str, str]
    json: Any


@dataclass(frozen=True)
class OpenCall:
    """One accepted ``connections/open`` call."""

    client_id: str
    subscriptions: tuple[tuple[str, str], ...]  # (type, topic)
    ticket: str


@dataclass(frozen=True)
class StreamConnection:
    """One accepted stream websocket."""

    connection_id: str
    ticket: str
    client_id: str


@dataclass
class _Conn:
    info: StreamConnection
    ws: web.WebSocketResponse


@dataclass(frozen=True)
class _Session:
    conversation_id: str
    single_chat_peer: str | None  # the user, for a 1:1 chat
    expires_at: datetime


@dataclass
class _Fault:
    path_prefix: str
    status: int
    body: Mapping[str, Any] | str
    remaining: int


def _real_clock() -> datetime:
    return datetime.now(UTC)


async def _cancel_other_tasks() -> None:
    current = asyncio.current_task()
    leftovers = [task for task in asyncio.all_tasks() if task is not current]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _encrypted_id(kind: str, value: str) -> str:
    return LWCP + hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"code": code, "message": message, "requestid": uuid.uuid4().hex}
    return web.json_response(body, status=status, dumps=_dumps)


def _title_and_text(part: Any) -> tuple[str | None, str]:
    """Title and text of a msgParam or session-webhook message part."""
    if not isinstance(part, Mapping):
        return None, ""
    title = part.get("title")
    text = part.get("content", part.get("text", ""))
    return (title if isinstance(title, str) else None), (text if isinstance(text, str) else "")


def _str_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


class LocalDingTalk:
    """A fake DingTalk serving HTTP and the stream websocket on one port of 127.0.0.1."""

    def __init__(
        self,
        client_id: str = "dinglocalclientid",
        client_secret: str = "local-client-secret",
        robot_code: str | None = None,
        *,
        clock: Clock = _real_clock,
        corp_id: str = "dinglocalcorp",
        known_user_ids: Iterable[str] | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        # For an internal app the robotCode equals the AppKey.
        self.robot_code = client_id if robot_code is None else robot_code
        self.corp_id = corp_id
        self.chatbot_user_id = _encrypted_id("bot", self.robot_code)
        self._clock = clock
        self._known_users = None if known_user_ids is None else frozenset(known_user_ids)

        # Written on the server loop, read from any thread: guarded by _lock.
        self._lock = threading.Lock()
        self._seq = itertools.count(1)  # OutboundMessage.seq
        self._frame_seq = itertools.count(1)
        self._sent: list[OutboundMessage] = []
        self._requests: list[LoggedRequest] = []
        self._open_calls: list[OpenCall] = []
        self._tickets: dict[str, tuple[OpenCall, datetime]] = {}
        self._conns: list[_Conn] = []
        self._conn_log: list[StreamConnection] = []
        self._pushed: list[Json] = []
        self._acks: dict[str, list[Json]] = {}
        self.ack_times: dict[str, float] = {}  # messageId -> perf_counter() of its first ACK
        self._ack_floor: dict[str, int] = {}  # ACKs before the latest push don't count
        self._sessions: dict[str, _Session] = {}
        self._tokens: dict[str, datetime] = {}
        self._faults: list[_Fault] = []
        self._throttled: dict[str, int] = {}
        self._message_files: dict[str, tuple[bytes, str]] = {}  # downloadCode -> bytes, name
        self._download_urls: dict[str, tuple[str, datetime]] = {}  # key -> downloadCode, expiry
        self._media: dict[str, UploadedMedia] = {}

        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.SockSite | None = None
        self._port = 0
        self._changed = asyncio.Event()  # replaced on every change; only used on our loop

    # Lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("LocalDingTalk already started")
        ready: concurrent.futures.Future[asyncio.AbstractEventLoop] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run_loop, args=(ready,), name="local-dingtalk", daemon=True
        )
        self._thread.start()
        self._loop = await asyncio.wrap_future(ready)
        try:
            await self._call(self._serve())
        except BaseException:
            await self._halt_loop()
            raise

    async def stop(self) -> None:
        if self._loop is None:
            return
        try:
            await self._call(self._shutdown())
        finally:
            await self._halt_loop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def endpoint(self) -> str:
        """Base URL of the HTTP API, e.g. ``http://127.0.0.1:54321``."""
        if not self._port:
            raise RuntimeError("LocalDingTalk not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    def now(self) -> datetime:
        """The server's clock."""
        moment = self._clock()
        if moment.tzinfo is None:
            raise ValueError("the LocalDingTalk clock must return aware datetimes")
        return moment

    # What the server saw -------------------------------------------------------------

    @property
    def sent(self) -> list[OutboundMessage]:
        with self._lock:
            return list(self._sent)

    def sent_to_conversation(self, conversation_id: str) -> list[OutboundMessage]:
        """Group messages and session-webhook replies in that conversation."""
        return [m for m in self.sent if m.channel != "oto" and m.target == conversation_id]

    def sent_to_user(self, user_id: str) -> list[OutboundMessage]:
        """1:1 robot messages to that user, and session replies in their 1:1 chat."""
        with self._lock:
            peers = {s.conversation_id: s.single_chat_peer for s in self._sessions.values()}
        return [
            m
            for m in self.sent
            if (m.channel == "oto" and user_id in m.target)
            or (
                m.channel == "session"
                and isinstance(m.target, str)
                and peers.get(m.target) == user_id
            )
        ]

    def media(self, media_id: str) -> UploadedMedia | None:
        """An upload by its media_id."""
        with self._lock:
            return self._media.get(media_id)

    @property
    def uploads(self) -> list[UploadedMedia]:
        """Every upload, oldest first."""
        with self._lock:
            return list(self._media.values())

    @property
    def requests_log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def open_calls(self) -> list[OpenCall]:
        with self._lock:
            return list(self._open_calls)

    @property
    def connections(self) -> list[StreamConnection]:
        """Stream connections open now, oldest first."""
        with self._lock:
            return [c.info for c in self._conns]

    @property
    def connection_log(self) -> list[StreamConnection]:
        """Every stream connection ever accepted."""
        with self._lock:
            return list(self._conn_log)

    @property
    def pushed(self) -> list[Json]:
        """Frames pushed to clients, as sent."""
        with self._lock:
            return list(self._pushed)

    def acks_for(self, message_id: str) -> list[Json]:
        with self._lock:
            return list(self._acks.get(message_id, ()))

    async def wait_connected(self, timeout: float = 5.0, *, total: int = 1) -> StreamConnection:
        """Wait until ``total`` connections were accepted and one is open; return the newest."""

        def check() -> StreamConnection | None:
            with self._lock:
                if len(self._conn_log) >= total and self._conns:
                    return self._conns[-1].info
            return None

        return await self._call(self._wait(check, timeout, f"{total} stream connection(s)"))

    async def wait_ack(self, message_id: str, timeout: float = 5.0) -> Json:
        """The first ACK for ``message_id`` received after it was last pushed."""

        def check() -> Json | None:
            with self._lock:
                acks = self._acks.get(message_id, [])
                floor = self._ack_floor.get(message_id, 0)
                return acks[floor] if len(acks) > floor else None

        return await self._call(self._wait(check, timeout, f"an ACK for {message_id}"))

    async def wait_for_sent(
        self,
        predicate: Callable[[OutboundMessage], bool] = lambda _: True,
        timeout: float = 5.0,
        *,
        after_seq: int = 0,
    ) -> OutboundMessage:
        """The first sent message (already sent or still to come) matching ``predicate``.

        ``predicate`` runs on the server's thread.
        """

        def check() -> OutboundMessage | None:
            return next((m for m in self.sent if m.seq > after_seq and predicate(m)), None)

        return await self._call(self._wait(check, timeout, "a matching sent message"))

    # Faults ----------------------------------------------------------------------

    def fail_next(
        self,
        path_prefix: str,
        status: int,
        body: Mapping[str, Any] | str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``path_prefix`` so."""
        if body is None:
            body = {"code": "InjectedFault", "message": f"injected HTTP {status}"}
        with self._lock:
            self._faults.append(_Fault(path_prefix, status, body, times))

    def throttle_oto(self, user_ids: Iterable[str], times: int = 1) -> None:
        """List these users in flowControlledStaffIdList for their next ``times`` batchSends."""
        with self._lock:
            for user_id in user_ids:
                self._throttled[user_id] = self._throttled.get(user_id, 0) + times

    def expire_tokens(self) -> None:
        """Make every issued access token invalid, as a revocation would."""
        with self._lock:
            self._tokens.clear()

    async def refuse_connections(self, code: int = 1011) -> None:
        """Close the listening socket and every connection: clients get connection refused."""
        await self._call(self._unlisten(code))

    async def accept_connections(self) -> None:
        """Listen again, on the same port."""
        await self._call(self._listen())

    async def drop_connections(self, code: int = 1011) -> None:
        """Close every stream websocket with ``code`` (1011: abnormal, the SDK waits 10 s)."""
        await self._call(self._close_streams(code))

    # Files users send --------------------------------------------------------------

    def add_message_file(self, content: bytes, file_name: str = "") -> str:
        """A picture or file a user sends: returns its downloadCode, to put in a message's
        ``content`` (``push_bot_message(msgtype=..., content=...)``)."""
        code = "dc" + secrets.token_urlsafe(24)
        with self._lock:
            self._message_files[code] = (content, file_name)
        return code

    # Pushing to the bot -------------------------------------------------------------

    async def push_frame(
        self,
        frame_type: Literal["SYSTEM", "EVENT", "CALLBACK"],
        topic: str,
        data: Mapping[str, Any],
        *,
        message_id: str | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Send a frame on the newest connection (waiting up to ``timeout`` for one)."""
        message_id = message_id or self._new_message_id()
        await self._call(self._push(frame_type, topic, data, message_id, timeout))
        return message_id

    async def push_bot_message(
        self,
        text: str,
        *,
        sender_staff_id: str | None = "user001",
        sender_nick: str = "测试用户",
        conversation_type: Literal["1", "2"] = "2",
        conversation_id: str | None = None,
        conversation_title: str = "测试群",
        at_user_ids: Sequence[str] = (),
        msg_id: str | None = None,
        message_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
        msgtype: str = "text",
        content: Mapping[str, Any] | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Push a chatbot message (group "2" @-ing the bot, or 1:1 "1"): text, or with
        ``msgtype`` and ``content`` a picture, file, richText, audio or video (§2.1, §10;
        downloadCodes from :meth:`add_message_file`).

        ``sender_staff_id=None`` is an external user. Fix ``msg_id``/``message_id`` to
        simulate a redelivery; ``extra`` overrides data fields. Returns the messageId.
        """
        group = conversation_type == "2"
        sender = sender_staff_id or ""
        if conversation_id is None:
            conversation_id = "cidlocalgroup==" if group else f"cidlocal1to1{sender}=="
        created = self.now()
        session_id = secrets.token_hex(16)
        with self._lock:
            self._sessions[session_id] = _Session(
                conversation_id, None if group else sender_staff_id, created + SESSION_TTL
            )
        data: Json = {
            "conversationId": conversation_id,
            "conversationType": conversation_type,
            "msgId": msg_id or f"msg{secrets.token_hex(12)}",
            "senderNick": sender_nick,
            "senderId": _encrypted_id("user", sender or sender_nick),
            "senderCorpId": self.corp_id,
            "isAdmin": False,
            "isInAtList": True,
            "chatbotUserId": self.chatbot_user_id,
            "chatbotCorpId": self.corp_id,
            "robotCode": self.robot_code,
            "msgtype": msgtype,
            "createAt": _ms(created),
            "sessionWebhook": f"{self.endpoint}/robot/sendBySession?session={session_id}",
            "sessionWebhookExpiredTime": _ms(created + SESSION_TTL),
        }
        if msgtype == "text":
            # In groups DingTalk strips the @bot mention but leaves its space.
            data["text"] = {"content": f" {text}" if group else text}
        else:
            data["content"] = dict(content or {})
        if sender_staff_id is not None:
            data["senderStaffId"] = sender_staff_id
        if group:
            data["conversationTitle"] = conversation_title
            data["atUsers"] = [{"dingtalkId": self.chatbot_user_id}] + [
                {"dingtalkId": _encrypted_id("user", uid), "staffId": uid} for uid in at_user_ids
            ]
        data.update(extra or {})
        return await self.push_frame(
            "CALLBACK", BOT_MESSAGE_TOPIC, data, message_id=message_id, timeout=timeout
        )

    async def push_system_ping(self, opaque: str | None = None, timeout: float = 5.0) -> str:
        """A SYSTEM ping; the client's ACK echoes ``{"opaque": ...}``."""
        data = {"opaque": opaque or uuid.uuid4().hex}
        return await self.push_frame("SYSTEM", "ping", data, timeout=timeout)

    async def push_disconnect(
        self, reason: str = "persistent connection is timeout", timeout: float = 5.0
    ) -> str:
        """A SYSTEM disconnect: the SDK ACKs, closes with 1000 and reconnects at once."""
        return await self.push_frame("SYSTEM", "disconnect", {"reason": reason}, timeout=timeout)

    # Everything below runs on the server's loop -----------------------------------

    def _run_loop(self, ready: concurrent.futures.Future[asyncio.AbstractEventLoop]) -> None:
        loop = asyncio.new_event_loop()
        try:
            ready.set_result(loop)
            loop.run_forever()
            loop.run_until_complete(_cancel_other_tasks())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()

    async def _halt_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            await asyncio.to_thread(thread.join)

    async def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("LocalDingTalk not started")
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _wait(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    result = check()
                    if result is not None:
                        return result
                    await changed.wait()
        except TimeoutError:
            raise TimeoutError(f"LocalDingTalk: no {what} within {timeout} s") from None

    async def _serve(self) -> None:
        self._changed = asyncio.Event()
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/v1.0/gateway/connections/open", self._open_connection)
        app.router.add_get("/connect", self._stream)
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._oto_send)
        app.router.add_post("/robot/sendBySession", self._session_send)
        app.router.add_post("/v1.0/robot/messageFiles/download", self._file_download_url)
        app.router.add_get("/files/{key}", self._file_download)
        app.router.add_post("/media/upload", self._media_upload)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await self._listen()

    async def _shutdown(self) -> None:
        await self._unlisten(1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _listen(self) -> None:
        if self._site is not None or self._runner is None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            # Rebinding the same port must not trip over connections in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self._port))
        except OSError:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._site = site

    async def _unlisten(self, code: int) -> None:
        if self._site is not None:
            await self._site.stop()  # closes the listening socket
            self._site = None
        await self._close_streams(code)
        server = self._runner.server if self._runner is not None else None
        if server is not None:  # also the idle keep-alive HTTP connections
            server.pre_shutdown()
            await server.shutdown(1.0)

    async def _close_streams(self, code: int) -> None:
        with self._lock:
            conns = list(self._conns)
        await asyncio.gather(*(c.ws.close(code=code) for c in conns), return_exceptions=True)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body: Any = None
        if request.content_type == "multipart/form-data":
            body = "<multipart>"  # left for the handler to read
        elif request.can_read_body:
            text = (await request.read()).decode("utf-8", "replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        with self._lock:
            self._requests.append(
                LoggedRequest(request.method, request.path, dict(request.query), body)
            )
            fault = next(
                (f for f in self._faults if f.remaining and request.path.startswith(f.path_prefix)),
                None,
            )
            if fault is not None:
                fault.remaining -= 1
        self._notify()
        if fault is None:
            return await handler(request)
        if isinstance(fault.body, str):
            return web.Response(status=fault.status, text=fault.body)
        payload = {"requestid": uuid.uuid4().hex, **fault.body}
        return web.json_response(payload, status=fault.status, dumps=_dumps)

    @staticmethod
    async def _body(request: web.Request) -> Json | None:
        try:
            body = json.loads(await request.text())
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _new_message_id(self) -> str:
        serial = next(self._frame_seq)
        return f"{secrets.token_hex(4)}_{serial}_{_ms(self.now()):x}_{secrets.token_hex(3)}"

    def _record(
        self,
        channel: Channel,
        target: str | tuple[str, ...],
        msg_key: str,
        part: Any,
        at_user_ids: tuple[str, ...],
        payload: Json,
    ) -> None:
        title, text = _title_and_text(part)
        media_id = part.get("photoURL", part.get("mediaId")) if isinstance(part, dict) else None
        with self._lock:
            media = self._media.get(media_id) if isinstance(media_id, str) else None
            message = OutboundMessage(
                next(self._seq),
                channel,
                target,
                msg_key,
                text,
                title,
                at_user_ids,
                payload,
                time.perf_counter(),
                media,
            )
            self._sent.append(message)
        self._notify()

    # Stream gateway

    async def _open_connection(self, request: web.Request) -> web.Response:
        body = await self._body(request) or {}
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return _error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        subscriptions = tuple(
            (str(s.get("type", "")), str(s.get("topic", "")))
            for s in body.get("subscriptions") or []
            if isinstance(s, dict)
        )
        call = OpenCall(self.client_id, subscriptions, str(uuid.uuid4()))
        with self._lock:
            self._open_calls.append(call)
            self._tickets[call.ticket] = (call, self.now() + TICKET_TTL)
        self._notify()
        endpoint = f"ws://127.0.0.1:{self._port}/connect"
        return web.json_response({"endpoint": endpoint, "ticket": call.ticket})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            entry = self._tickets.pop(request.query.get("ticket", ""), None)
        if entry is None or self.now() > entry[1]:
            return _error(401, "invalidTicket", "ticket is unknown, used or expired")
        call = entry[0]
        ws = web.WebSocketResponse(timeout=2.0)
        await ws.prepare(request)
        conn = _Conn(StreamConnection(uuid.uuid4().hex, call.ticket, call.client_id), ws)
        with self._lock:
            self._conns.append(conn)
            self._conn_log.append(conn.info)
        self._notify()
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._on_client_frame(message.data)
        finally:
            with self._lock:
                self._conns.remove(conn)
            self._notify()
        return ws

    def _on_client_frame(self, raw: str) -> None:
        try:
            frame = json.loads(raw)
            message_id = frame["headers"]["messageId"]
        except (ValueError, TypeError, KeyError):
            logger.warning("LocalDingTalk: unexpected frame from client: %.200s", raw)
            return
        with self._lock:
            self._acks.setdefault(str(message_id), []).append(frame)
            self.ack_times.setdefault(str(message_id), time.perf_counter())
        self._notify()

    async def _push(
        self,
        frame_type: str,
        topic: str,
        data: Mapping[str, Any],
        message_id: str,
        timeout: float,
    ) -> None:
        def newest() -> _Conn | None:
            with self._lock:
                return self._conns[-1] if self._conns else None

        conn = await self._wait(newest, timeout, "stream connection to push to")
        frame = {
            "specVersion": "1.0",
            "type": frame_type,
            "headers": {
                "appId": f"local-{self.client_id}",
                "connectionId": conn.info.connection_id,
                "contentType": "application/json",
                "messageId": message_id,
                "time": str(_ms(self.now())),
                "topic": topic,
            },
            "data": _dumps(data),  # a JSON string, as DingTalk sends it
        }
        with self._lock:
            self._ack_floor[message_id] = len(self._acks.get(message_id, ()))
            self._pushed.append(frame)
        await conn.ws.send_str(_dumps(frame))

    # Open API

    async def _access_token(self, request: web.Request) -> web.Response:
        body = await self._body(request) or {}
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            return _error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        token = secrets.token_hex(16)
        with self._lock:
            self._tokens[token] = self.now() + TOKEN_TTL
        return web.json_response({"accessToken": token, "expireIn": int(TOKEN_TTL.total_seconds())})

    def _check_robot_call(
        self, request: web.Request, body: Json | None
    ) -> web.Response | tuple[Json, str, Json]:
        """The error response, or (body, msgKey, decoded msgParam)."""
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None or self.now() >= expiry:
            return _error(401, "InvalidAuthentication", "不合法的access_token")
        if body is None:
            return _error(400, "MissingParameter", "请求体不是合法的JSON")
        if body.get("robotCode") != self.robot_code:
            return _error(400, "invalidParameter.robotCode.auth", "robotCode与应用不匹配")
        msg_key = body.get("msgKey")
        if not isinstance(msg_key, str) or not msg_key:
            return _error(400, "invalidParameter.msgKey.invalid", "msgKey无效")
        try:
            params = json.loads(body.get("msgParam") or "")
        except (ValueError, TypeError):
            params = None
        if not isinstance(params, dict):
            return _error(400, "invalidParameter.msgParam.invalid", "msgParam不是合法的JSON")
        return body, msg_key, params

    async def _group_send(self, request: web.Request) -> web.Response:
        checked = self._check_robot_call(request, await self._body(request))
        if isinstance(checked, web.Response):
            return checked
        body, msg_key, params = checked
        conversation_id = body.get("openConversationId")
        if not isinstance(conversation_id, str) or not conversation_id:
            return _error(400, "invalid.openConversationId", "openConversationId无效")
        self._record("group", conversation_id, msg_key, params, (), body)
        return web.json_response({"processQueryKey": secrets.token_urlsafe(24)})

    async def _oto_send(self, request: web.Request) -> web.Response:
        checked = self._check_robot_call(request, await self._body(request))
        if isinstance(checked, web.Response):
            return checked
        body, msg_key, params = checked
        user_ids = _str_tuple(body.get("userIds"))
        if not user_ids:
            return _error(400, "invalidParameter.userIds.empty", "userIds不能为空")
        if len(user_ids) > OTO_MAX_USERS:
            return _error(400, "invalidParameter.userIds.overMax", "userIds超过上限")
        invalid = [
            u for u in user_ids if self._known_users is not None and u not in self._known_users
        ]
        throttled: list[str] = []
        with self._lock:
            for user_id in user_ids:
                if user_id not in invalid and self._throttled.get(user_id, 0) > 0:
                    self._throttled[user_id] -= 1
                    throttled.append(user_id)
        delivered = tuple(u for u in user_ids if u not in invalid and u not in throttled)
        if delivered:
            self._record("oto", delivered, msg_key, params, (), body)
        return web.json_response(
            {
                "processQueryKey": secrets.token_urlsafe(24),
                "invalidStaffIdList": invalid,
                "flowControlledStaffIdList": throttled,
            }
        )

    # Files: the robot message-file download (a short-lived URL, then GET) and the media upload

    def _token_ok(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and self.now() < expiry

    async def _file_download_url(self, request: web.Request) -> web.Response:
        if not self._token_ok(request.headers.get("x-acs-dingtalk-access-token", "")):
            return _error(401, "InvalidAuthentication", "不合法的access_token")
        body = await self._body(request)
        if body is None:
            return _error(400, "MissingParameter", "请求体不是合法的JSON")
        if body.get("robotCode") != self.robot_code:
            return _error(400, "invalidParameter.robotCode.auth", "robotCode与应用不匹配")
        code = body.get("downloadCode")
        with self._lock:
            known = isinstance(code, str) and code in self._message_files
        if not known:
            return _error(400, "invalidParameter.downloadCode", "downloadCode无效或已过期")
        key = secrets.token_urlsafe(24)
        with self._lock:
            self._download_urls[key] = (str(code), self.now() + DOWNLOAD_URL_TTL)
        return web.json_response({"downloadUrl": f"{self.endpoint}/files/{key}"})

    async def _file_download(self, request: web.Request) -> web.Response:
        with self._lock:
            entry = self._download_urls.get(request.match_info["key"])
            found = self._message_files.get(entry[0]) if entry is not None else None
        if entry is None or found is None or self.now() >= entry[1]:
            return web.Response(status=403, text="AccessDenied: Request has expired.")
        return web.Response(body=found[0], content_type="application/octet-stream")

    async def _media_upload(self, request: web.Request) -> web.Response:
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
        with self._lock:
            self._media[media_id] = UploadedMedia(media_id, media_type, name, content)
        self._notify()
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "media_id": media_id,
                "type": media_type,
                "created_at": _ms(self.now()),
            }
        )

    # Session webhook (DingTalk answers HTTP 200 with an errcode)

    async def _session_send(self, request: web.Request) -> web.Response:
        with self._lock:
            session = self._sessions.get(request.query.get("session", ""))
        if session is None or self.now() >= session.expires_at:
            return web.json_response(SESSION_INVALID, dumps=_dumps)
        body = await self._body(request)
        msgtype = body.get("msgtype") if body is not None else None
        if body is None or not isinstance(msgtype, str):
            return web.json_response({"errcode": 40035, "errmsg": "缺少参数 json"}, dumps=_dumps)
        at = body.get("at")
        at_user_ids = _str_tuple(at.get("atUserIds")) if isinstance(at, dict) else ()
        self._record(
            "session", session.conversation_id, msgtype, body.get(msgtype), at_user_ids, body
        )
        return web.json_response({"errcode": 0, "errmsg": "ok"})
