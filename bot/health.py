"""``/healthz`` and ``/metrics`` over HTTP (aiohttp, on the bot's loop), at BOT_HTTP.

``GET /healthz`` answers JSON::

    {"status": "ok"|"failing", "stream_connected": bool, "last_frame_age_seconds": float|null,
     "database": bool, "leader": bool, "outbox_depth": int,
     "outbox_oldest_age_seconds": float|null, "problems": [str]}

with 200, or 503 when any of these holds (each named in ``problems``): the stream is not
connected; its last frame is older than the watchdog's silence (BOT_STREAM_SILENCE_SECONDS);
the database does not answer ``SELECT 1`` within :data:`DB_TIMEOUT` seconds; the oldest pending
outbox row is older than BOT_HEALTH_OUTBOX_AGE_SECONDS. ``leader`` is information only (a
follower is healthy). ``GET /metrics`` is the Prometheus text format (bot.metrics).

The database is read in threads of a small pool of its own, so a hung database neither
blocks the loop nor takes the threads the bot works with.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import time
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from sqlalchemy import text

from bot.metrics import CONTENT_TYPE, OutboxState, StreamState, outbox_state
from config.settings import SettingsError
from storage.db import PLAIN_READ

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["DB_TIMEOUT", "HealthServer", "StreamState"]

logger = logging.getLogger(__name__)

DB_TIMEOUT: Final = 2.0  # seconds for the database probe and for reading the gauges


class HealthServer:
    def __init__(
        self,
        app: App,
        stream: StreamState | None,
        host: str,
        port: int,
        *,
        silence: float = 90.0,
        outbox_age: float = 900.0,
    ) -> None:
        """``port`` 0: any free port (see :attr:`port` once started)."""
        self.app, self.stream = app, stream
        self.host, self.port = host, port
        self.silence, self.outbox_age = silence, outbox_age
        self._pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="health")
        self._runner: web.AppRunner | None = None
        if stream is not None:
            app.metrics.watch_stream(stream)

    async def start(self) -> None:
        web_app = web.Application()
        web_app.router.add_get("/healthz", self.healthz)
        web_app.router.add_get("/metrics", self.metrics)
        self._runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            await self._runner.cleanup()
            raise SettingsError(
                f"BOT_HTTP: cannot listen on {self.host}:{self.port}: {exc}"
            ) from exc
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        logger.info("health: /healthz and /metrics on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _in_pool(self, call: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._pool, call, *args), DB_TIMEOUT)

    def _probe(self) -> OutboxState:
        db = self.app.db
        with db.engine.connect().execution_options(**{PLAIN_READ: True}) as connection:
            connection.execute(text("SELECT 1"))
        return outbox_state(db, self.app.sender_clock())

    async def check(self) -> dict[str, Any]:
        """The /healthz body."""
        problems: list[str] = []
        connected = self.stream is not None and self.stream.connected
        if not connected:
            problems.append("stream not connected")
        at = self.stream.last_frame_at if self.stream is not None else None
        age = None if at is None else round(time.monotonic() - at, 3)
        if age is not None and age > self.silence:
            problems.append(f"no stream frame for {age:.0f} s (limit {self.silence:g} s)")
        outbox: OutboxState | None = None
        try:
            outbox = await self._in_pool(self._probe)
        except TimeoutError:
            problems.append(f"database: no answer within {DB_TIMEOUT:g} s")
        except Exception as exc:
            problems.append(f"database: {type(exc).__name__}")
            logger.warning("health: database probe failed: %s", exc)
        oldest = None if outbox is None else outbox.oldest_age_seconds
        if oldest is not None and oldest > self.outbox_age:
            problems.append(
                f"outbox: oldest pending message {oldest:.0f} s old (limit {self.outbox_age:g} s)"
            )
        return {
            "status": "failing" if problems else "ok",
            "stream_connected": connected,
            "last_frame_age_seconds": age,
            "database": outbox is not None,
            "leader": bool(getattr(self.app, "leading", True)),
            "outbox_depth": 0 if outbox is None else outbox.depth,
            "outbox_oldest_age_seconds": None if oldest is None else round(oldest, 3),
            "problems": problems,
        }

    async def healthz(self, request: web.Request) -> web.Response:
        body = await self.check()
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        try:
            payload = await self._in_pool(self.app.metrics.exposition)
        except TimeoutError:
            return web.Response(status=503, text="metrics: the database did not answer\n")
        return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE})
