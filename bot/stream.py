"""The DingTalk stream connection: the real dingtalk-stream SDK, in a thread of its own.

dingtalk-stream 0.24.3 opens connections and fetches tokens with blocking ``requests`` calls
from inside its event loop, with no timeout (DINGTALK.md §7.3). Running it on a loop of its
own keeps the bot's loop free. Each callback is stored, and only then acknowledged: with
``ingest`` awaited right on the SDK's loop when it belongs to an :class:`Inbox` (the App),
else run on the bot's loop.

The SDK's connect loop is replaced (:class:`_Client`): 0.24.3 retries every 10 s forever,
wrong credentials included, and opens with a blocking call. Here the open call is async with a
timeout, DingTalk refusing the credentials is final (:class:`CredentialsRejected`, handed to
``on_failure``), and a network failure is retried with a growing back-off (1 s doubling to
60 s, with jitter; reset once connected). Frames are still handled by the SDK's own code.

A watchdog closes a connection that went silent: DingTalk can drop one without a close frame
(a half-open TCP connection), and websockets' own keepalive takes up to 40 s to notice, the
SDK's never. What counts as a frame: the opening handshake, every frame DingTalk sends (a
message, a card callback, a SYSTEM ping or disconnect) and every websocket pong (the watchdog
pings every third of the silence, so a live peer always has something to say). After
``silence`` seconds with none the socket is aborted at once (no close handshake with a dead
peer) and the connect loop reconnects with its back-off.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote_plus

import dingtalk_stream
import httpx
import websockets
import websockets.exceptions
from dingtalk_stream.version import VERSION_STRING

from bot.dingtalk.sdk import point_sdk_at
from config.settings import SettingsError

logger = logging.getLogger(__name__)

Ingest = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]
Sleep = Callable[[float], Awaitable[None]]
OnCard = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
OPEN_TIMEOUT = 10.0  # seconds for the open-connection call
SILENCE = 90.0  # BOT_STREAM_SILENCE_SECONDS: no frame for this long -> reconnect
# Error codes of the open-connection call that mean the credentials are wrong (with any
# HTTP 401): retrying cannot help. Rate limits and system errors are retried.
CREDENTIAL_CODES = frozenset(
    {"invalidclientidorsecret", "authfailed", "invalidclientid", "invalidclientsecret"}
)


class CredentialsRejected(SettingsError):
    """DingTalk refused DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET."""


class _Unreachable(Exception):
    """The open-connection call failed in a way that may pass."""


class Backoff:
    """Delays for consecutive failures: ``base`` doubling up to ``cap``, each with ±20%."""

    def __init__(
        self, base: float = 1.0, cap: float = 60.0, rng: random.Random | None = None
    ) -> None:
        self.base, self.cap = base, cap
        self.failures = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        delay = min(self.cap, self.base * 2 ** min(self.failures, 30))
        self.failures += 1
        return float(delay * self._rng.uniform(0.8, 1.2))

    def reset(self) -> None:
        self.failures = 0


def credentials_rejected(status: int, code: str) -> bool:
    return status == 401 or (status in (400, 403) and code.lower() in CREDENTIAL_CODES)


@runtime_checkable
class Inbox(Protocol):
    """The owner of an ``ingest`` that may be awaited on any event loop: the App, whose
    ingest hands the message to its inbox writer thread through ``submit``."""

    def submit(self, payload: dict[str, Any]) -> concurrent.futures.Future[None]: ...


class _Handler(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    def __init__(self, runner: StreamRunner) -> None:
        super().__init__()
        self.runner = runner

    async def process(self, callback: Any) -> tuple[int, str]:
        data = callback.data if isinstance(callback.data, dict) else {}
        try:
            if self.runner.inbox is not None:  # no detour through the bot's loop
                await self.runner.ingest(data)
            else:
                await asyncio.wrap_future(
                    asyncio.run_coroutine_threadsafe(self.runner.ingest(data), self.runner.bot_loop)
                )
        except Exception:
            logger.exception("stream: could not store message %s", data.get("msgId"))
            return dingtalk_stream.AckMessage.STATUS_SYSTEM_EXCEPTION, "not stored"
        return dingtalk_stream.AckMessage.STATUS_OK, "OK"


class _CardHandler(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    """A card button's callback: acted on and stored, then the ACK carries the card's update
    (DINGTALK.md §3)."""

    def __init__(self, runner: StreamRunner, on_card: OnCard) -> None:
        super().__init__()
        self.runner, self.on_card = runner, on_card

    async def process(self, callback: Any) -> tuple[int, Any]:
        data = callback.data if isinstance(callback.data, dict) else {}
        message_id = str(callback.headers.message_id or "")
        try:
            answer = await self.on_card(message_id, data)
        except Exception:
            logger.exception("stream: could not handle card callback %s", message_id)
            return dingtalk_stream.AckMessage.STATUS_SYSTEM_EXCEPTION, "not stored"
        return dingtalk_stream.AckMessage.STATUS_OK, answer


class _Client(dingtalk_stream.DingTalkStreamClient):  # type: ignore[misc]
    """The SDK's client with our connect loop (see the module's docstring)."""

    def __init__(
        self,
        credential: dingtalk_stream.Credential,
        *,
        backoff: Backoff,
        sleep: Sleep = asyncio.sleep,
        open_timeout: float = OPEN_TIMEOUT,
        silence: float = SILENCE,
    ) -> None:
        # the SDK's logger as it is: not set up with a handler of its own (bot.logs filters
        # the root's handlers)
        super().__init__(credential, logger=logging.getLogger("dingtalk_stream.client"))
        self.backoff, self.sleep, self.open_timeout = backoff, sleep, open_timeout
        self.silence = silence
        self._tasks: set[asyncio.Task[None]] = set()
        self.connected = False
        self.last_frame_at: float | None = None  # time.monotonic() of the last frame

    async def open_stream(self, http: httpx.AsyncClient) -> dict[str, Any]:
        """The gateway's endpoint and ticket; CredentialsRejected or _Unreachable."""
        topics = [{"type": "CALLBACK", "topic": t} for t in self.callback_handler_map]
        body = {
            "clientId": self.credential.client_id,
            "clientSecret": self.credential.client_secret,
            "subscriptions": topics,
            "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-union",
            "localIp": "",
        }
        url = dingtalk_stream.DingTalkStreamClient.OPEN_CONNECTION_API
        try:
            response = await http.post(url, json=body, timeout=self.open_timeout)
        except httpx.HTTPError as exc:
            raise _Unreachable(f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc)) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        data = data if isinstance(data, dict) else {}
        if response.status_code >= 400:
            code, message = str(data.get("code") or ""), str(data.get("message") or "")
            if credentials_rejected(response.status_code, code):
                raise CredentialsRejected(
                    "DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET: DingTalk refused them "
                    f"(HTTP {response.status_code} {code} {message}".rstrip()
                    + "); copy both from the app's page in the developer console"
                )
            raise _Unreachable(f"HTTP {response.status_code} {code} {message}".rstrip())
        if not isinstance(data.get("endpoint"), str) or not isinstance(data.get("ticket"), str):
            raise _Unreachable("the answer has no endpoint and ticket")
        return data

    async def start(self) -> None:
        self.pre_start()
        async with httpx.AsyncClient(trust_env=True) as http:
            while True:
                try:
                    connection = await self.open_stream(http)
                except _Unreachable as exc:
                    await self._pause("cannot open a stream connection", exc)
                    continue
                uri = f"{connection['endpoint']}?ticket={quote_plus(connection['ticket'])}"
                try:
                    async with websockets.connect(uri) as websocket:
                        self.backoff.reset()
                        self._framed()  # the handshake
                        self.connected = True
                        logger.info("stream: connected")
                        try:
                            framed = await self._serve(websocket)
                        finally:
                            self.connected = False
                except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
                    await self._pause("stream connection lost", exc)
                    continue
                if not framed:  # closed normally before a single frame: not in a hot loop
                    await self._pause("stream connection closed at once", RuntimeError("no frame"))
                # else a normal close (DingTalk's «disconnect»): reconnect at once

    async def _serve(self, websocket: Any) -> bool:
        """Handle frames until the connection closes; whether any arrived."""
        self.websocket = websocket
        keepalive = asyncio.create_task(self.keepalive(websocket))
        watchdog = asyncio.create_task(self._watch(websocket))
        framed = False
        try:
            async for raw in websocket:
                self._framed()
                framed = True
                try:
                    frame = json.loads(raw)
                except ValueError:
                    logger.warning("stream: a frame that is not JSON was ignored")
                    continue
                task = asyncio.create_task(self.background_task(frame))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            keepalive.cancel()
            watchdog.cancel()
        return framed

    def _framed(self) -> None:
        self.last_frame_at = time.monotonic()

    async def _watch(self, websocket: Any) -> None:
        """Ping every third of the silence; abort the connection once silent that long."""
        tick = min(self.silence / 4, 5.0)
        pinged = 0.0
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            quiet = now - (self.last_frame_at or now)
            if quiet >= self.silence:
                logger.warning(
                    "stream: no frame for %.1f s (BOT_STREAM_SILENCE_SECONDS=%g); "
                    "dropping the connection and reconnecting",
                    quiet,
                    self.silence,
                )
                transport = getattr(websocket, "transport", None)
                if transport is not None:
                    transport.abort()  # no close handshake with a peer that is gone
                else:
                    asyncio.create_task(websocket.close())  # noqa: RUF006
                return
            if now - pinged >= self.silence / 3:
                pinged = now
                try:  # never held up by a full write buffer: the check must go on
                    pong = await asyncio.wait_for(websocket.ping(), tick)
                except TimeoutError:
                    continue
                except websockets.exceptions.ConnectionClosed:
                    return
                pong.add_done_callback(self._pong)

    def _pong(self, pong: asyncio.Future[Any]) -> None:
        if not pong.cancelled() and pong.exception() is None:
            self._framed()

    async def _pause(self, what: str, exc: BaseException) -> None:
        delay = self.backoff.next()
        logger.warning("stream: %s (%s); retrying in %.1f s", what, exc, delay)
        await self.sleep(delay)


class StreamRunner:
    def __init__(
        self,
        client_id: str,
        client_secret: str,
        endpoint: str,
        ingest: Ingest,
        bot_loop: asyncio.AbstractEventLoop,
        *,
        sdk_log_level: int = logging.INFO,
        on_failure: Callable[[Exception], None] | None = None,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        on_card: OnCard | None = None,
        silence: float = SILENCE,
    ) -> None:
        """``on_card``: subscribe to card callbacks too, answered with what it returns (the
        App's ``tap``); may be awaited on any loop. ``silence``: seconds without a frame
        before the watchdog reconnects (BOT_STREAM_SILENCE_SECONDS)."""
        self.silence = silence
        self._client: _Client | None = None
        self.on_card = on_card
        self.sdk_log_level = sdk_log_level
        # called on the bot's loop when the connection cannot go on (wrong credentials)
        self.on_failure = on_failure
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.failure: Exception | None = None
        self.client_id, self.client_secret, self.endpoint = client_id, client_secret, endpoint
        self.ingest, self.bot_loop = ingest, bot_loop
        owner = getattr(ingest, "__self__", None)
        self.inbox: Inbox | None = owner if isinstance(owner, Inbox) else None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        point_sdk_at(self.endpoint)
        self._thread = threading.Thread(target=self._main, name="dingtalk-stream", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        credential = dingtalk_stream.Credential(self.client_id, self.client_secret)
        client = _Client(credential, backoff=self.backoff, sleep=self.sleep, silence=self.silence)
        self._client = client
        # The SDK's logger (given to the client as it is) logs every (re)connect.
        logging.getLogger("dingtalk_stream.client").setLevel(self.sdk_log_level)
        client.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, _Handler(self))
        if self.on_card is not None:
            client.register_callback_handler(
                dingtalk_stream.Card_Callback_Router_Topic, _CardHandler(self, self.on_card)
            )
        task = asyncio.create_task(client.start())
        task.add_done_callback(self._ended)
        self._ready.set()
        await self._stop.wait()
        logging.getLogger("dingtalk_stream.client").setLevel(logging.CRITICAL)  # logs the cancel
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.05)
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current]
        for t in leftovers:
            t.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    @property
    def connected(self) -> bool:
        """Whether a stream connection is open now."""
        return self._client is not None and self._client.connected

    @property
    def last_frame_at(self) -> float | None:
        """time.monotonic() of the last frame from DingTalk (see the module's docstring)."""
        return None if self._client is None else self._client.last_frame_at

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The connect loop ends only on a failure retrying cannot mend."""
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        self.failure = exc if isinstance(exc, Exception) else RuntimeError(repr(exc))
        if self.on_failure is None:
            logger.error("stream: stopped: %s", self.failure)
        else:
            self.bot_loop.call_soon_threadsafe(self.on_failure, self.failure)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
