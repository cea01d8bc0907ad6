"""The DingTalk stream connection: the real dingtalk-stream SDK, in a thread of its own.

dingtalk-stream 0.24.3 opens connections and fetches tokens with blocking ``requests`` calls
from inside its event loop, with no timeout (DINGTALK.md §7.3). Running it on a loop of its
own keeps the bot's loop free. Each callback is stored, and only then acknowledged: with
``ingest`` awaited right on the SDK's loop when it belongs to an :class:`Inbox` (the App),
else run on the bot's loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, runtime_checkable

import dingtalk_stream

from bot.dingtalk_sdk import point_sdk_at

logger = logging.getLogger(__name__)

Ingest = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]


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
    ) -> None:
        self.sdk_log_level = sdk_log_level
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
        client = dingtalk_stream.DingTalkStreamClient(credential)
        # The SDK sets its logger up when the client is made; it logs every (re)connect.
        logging.getLogger("dingtalk_stream.client").setLevel(self.sdk_log_level)
        client.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, _Handler(self))
        task = asyncio.create_task(client.start())
        self._ready.set()
        await self._stop.wait()
        logging.getLogger("dingtalk_stream.client").setLevel(logging.CRITICAL)  # logs the cancel
        # 0.24.3 swallows a cancel while it sleeps before reconnecting (DINGTALK.md §7.2).
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.05)
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current]
        for t in leftovers:
            t.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
