"""The local DingTalk's server: one port of 127.0.0.1 serving the stream gateway, the Open API
and session webhooks, run on an event loop of its own in a thread; pushing messages to the bot.

The server runs its own event loop in a thread: the SDK makes blocking ``requests`` calls
from inside its event loop, so a server sharing that loop could never answer them. Every
async method here may be awaited from any other event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import secrets
import socket
import threading
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.local_dingtalk.cards import CARD_CALLBACK_TOPIC, CardInstance, Cards, ack_response
from bot.local_dingtalk.common import Clock, Json, encrypted_id, ms
from bot.local_dingtalk.gateway import Gateway, StreamConnection
from bot.local_dingtalk.openapi import OpenApi
from bot.local_dingtalk.recorder import LoggedRequest, OutboundMessage, Recorder
from bot.local_dingtalk.webhooks import SESSION_TTL, Webhooks

__all__ = ["BOT_MESSAGE_TOPIC", "LocalDingTalk"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

BOT_MESSAGE_TOPIC = "/v1.0/im/bot/messages/get"


def _real_clock() -> datetime:
    return datetime.now(UTC)


async def _cancel_other_tasks() -> None:
    current = asyncio.current_task()
    leftovers = [task for task in asyncio.all_tasks() if task is not current]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


class LocalDingTalk:
    """A fake DingTalk serving HTTP and the stream websocket on one port of 127.0.0.1.

    ``recorder`` holds what it saw, ``gateway``, ``openapi`` and ``webhooks`` its parts. A
    test's subclass injects faults through :meth:`injected_fault` and :meth:`throttled_users`.
    """

    def __init__(
        self,
        client_id: str = "dinglocalclientid",
        client_secret: str = "local-client-secret",
        robot_code: str | None = None,
        *,
        clock: Clock = _real_clock,
        corp_id: str = "dinglocalcorp",
        known_user_ids: Iterable[str] | None = None,
        spread: bool = False,
        ping_every: float | None = None,
    ) -> None:
        """``spread``: each frame to the next open stream connection in turn (DingTalk shares
        an app's messages among its connections), not the newest; ``ping_every``: see Gateway."""
        self.client_id = client_id
        self.client_secret = client_secret
        # For an internal app the robotCode equals the AppKey.
        self.robot_code = client_id if robot_code is None else robot_code
        self.corp_id = corp_id
        self.chatbot_user_id = encrypted_id("bot", self.robot_code)
        self._clock = clock
        self.recorder = Recorder()
        self.gateway = Gateway(self)
        self.gateway.spread, self.gateway.ping_every = spread, ping_every
        self.openapi = OpenApi(self, known_user_ids)
        self.webhooks = Webhooks(self)
        self.cards = Cards(self)
        self.ack_times = self.gateway.ack_times  # messageId -> perf_counter() of its first ACK

        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.SockSite | None = None
        self._port = 0

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
        """Every message delivered, oldest first."""
        with self.recorder.lock:
            return list(self.recorder.sent)

    async def wait_connected(self, timeout: float = 5.0, *, total: int = 1) -> StreamConnection:
        """Wait until ``total`` connections were accepted and one is open; return the newest."""
        return await self._call(
            self.recorder.wait(
                lambda: self.gateway.newest_open(total), timeout, f"{total} stream connection(s)"
            )
        )

    async def wait_ack(self, message_id: str, timeout: float = 5.0) -> Json:
        """The first ACK for ``message_id`` received after it was last pushed."""
        return await self._call(
            self.recorder.wait(
                lambda: self.gateway.first_ack(message_id), timeout, f"an ACK for {message_id}"
            )
        )

    # Faults a test's subclass injects (none here) ------------------------------------

    def injected_fault(self, path: str) -> web.StreamResponse | None:
        """The answer to a request for ``path`` instead of the real one; None: the real one."""
        return None

    def throttled_users(self, user_ids: Sequence[str]) -> list[str]:
        """Which of a batchSend's valid ``user_ids`` are flow-controlled this time."""
        return []

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
        message_id = message_id or self.gateway.new_message_id()
        await self._call(self.gateway.push(frame_type, topic, data, message_id, timeout))
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
        peer = None if group else sender_staff_id
        session_id = self.webhooks.open_session(conversation_id, peer, created)
        data: Json = {
            "conversationId": conversation_id,
            "conversationType": conversation_type,
            "msgId": msg_id or f"msg{secrets.token_hex(12)}",
            "senderNick": sender_nick,
            "senderId": encrypted_id("user", sender or sender_nick),
            "senderCorpId": self.corp_id,
            "isAdmin": False,
            "isInAtList": True,
            "chatbotUserId": self.chatbot_user_id,
            "chatbotCorpId": self.corp_id,
            "robotCode": self.robot_code,
            "msgtype": msgtype,
            "createAt": ms(created),
            "sessionWebhook": self.webhooks.url(session_id),
            "sessionWebhookExpiredTime": ms(created + SESSION_TTL),
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
                {"dingtalkId": encrypted_id("user", uid), "staffId": uid} for uid in at_user_ids
            ]
        data.update(extra or {})
        return await self.push_frame(
            "CALLBACK", BOT_MESSAGE_TOPIC, data, message_id=message_id, timeout=timeout
        )

    def card(self, out_track_id: str) -> CardInstance | None:
        """A card instance the bot created, by its outTrackId."""
        return self.cards.get(out_track_id)

    async def push_card_callback(
        self,
        out_track_id: str,
        user_id: str,
        params: Mapping[str, Any],
        *,
        action_id: str = "action",
        space: int = 0,
        message_id: str | None = None,
        timeout: float = 5.0,
    ) -> Json | None:
        """``user_id`` taps a button of a card (as delivered to its ``space``-th space) whose
        callback parameters are ``params``: the callback goes over the stream, and the update
        its ACK carries is applied to the card, as DingTalk does. Returns the ACK's response
        (None when it carried none). Fix ``message_id`` to simulate a redelivery."""
        card, data = self.cards.callback_data(out_track_id, user_id, dict(params), action_id, space)
        message_id = await self.push_frame(
            "CALLBACK", CARD_CALLBACK_TOPIC, data, message_id=message_id, timeout=timeout
        )
        response = ack_response(await self.wait_ack(message_id, timeout))
        if response is None:
            return None
        problem = await self._call(self._apply(card, response, user_id))
        if problem is not None:
            logger.warning("LocalDingTalk: a card callback's ACK was refused: %s", problem)
        return response

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

    async def _apply(self, card: CardInstance, update: Json, tapper: str) -> str | None:
        return self.cards.apply(card, update, tapper=tapper)

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

    async def _serve(self) -> None:
        self.recorder.changed = asyncio.Event()
        app = web.Application(middlewares=[self._middleware])
        gateway, openapi = self.gateway, self.openapi
        app.router.add_post("/v1.0/gateway/connections/open", gateway.open_connection)
        app.router.add_get("/connect", gateway.stream)
        app.router.add_post("/v1.0/oauth2/accessToken", openapi.access_token)
        app.router.add_post("/v1.0/robot/groupMessages/send", openapi.group_send)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", openapi.oto_send)
        app.router.add_post("/robot/sendBySession", self.webhooks.send)
        app.router.add_post("/v1.0/robot/messageFiles/download", openapi.file_download_url)
        app.router.add_get("/files/{key}", openapi.file_download)
        app.router.add_post("/media/upload", openapi.media_upload)
        cards = self.cards
        app.router.add_post("/v1.0/card/instances", cards.create)
        app.router.add_put("/v1.0/card/instances", cards.update)
        app.router.add_post("/v1.0/card/instances/deliver", cards.deliver)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", cards.create_and_deliver)
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
        await self.gateway.close_all(code)

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
        self.recorder.log_request(
            LoggedRequest(request.method, request.path, dict(request.query), body)
        )
        self.recorder.notify()
        fault = self.injected_fault(request.path)
        return await handler(request) if fault is None else fault
