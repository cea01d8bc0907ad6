"""The stream gateway: ``connections/open`` hands out a ticket, the websocket takes it, frames
go to the newest connection (or, with ``spread``, to each open connection in turn, as DingTalk
shares an app's messages among its connections: several bot instances) and the client's ACKs
are kept (DINGTALK.md §1).

``ping_every``: a SYSTEM ping frame to each open connection that often, as DingTalk sends
(the SDK ACKs it, echoing its opaque). :meth:`Gateway.go_silent`: every open connection stops
reading and writing (its transport paused: no frame, no pong, no close frame), as a connection
that died on the way looks to the client; connections opened afterwards work normally."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from bot.local_dingtalk.common import Json, dumps, error, json_body, ms

if TYPE_CHECKING:
    from bot.local_dingtalk.server import LocalDingTalk

logger = logging.getLogger(__name__)

TICKET_TTL = timedelta(seconds=90)  # one connection, within 90 s (protocol.md)


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
class Conn:
    info: StreamConnection
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None = None
    silent: bool = False  # go_silent(): nothing read or written any more


class Gateway:
    """The stream side; its records are guarded by the recorder's lock."""

    def __init__(self, server: LocalDingTalk) -> None:
        self._server = server
        self._rec = server.recorder
        self._frame_seq = itertools.count(1)
        self.open_calls: list[OpenCall] = []
        self._tickets: dict[str, tuple[OpenCall, datetime]] = {}
        self.conns: list[Conn] = []
        self.conn_log: list[StreamConnection] = []
        self.pushed: list[Json] = []
        self.acks: dict[str, list[Json]] = {}
        self.ack_times: dict[str, float] = {}  # messageId -> perf_counter() of its first ACK
        self._ack_floor: dict[str, int] = {}  # ACKs before the latest push don't count
        self.spread = False  # frames to each open connection in turn, not the newest
        self.ping_every: float | None = None  # SYSTEM pings to each connection, seconds
        self.pings = 0  # SYSTEM pings sent
        self._turn = itertools.count()

    def new_message_id(self) -> str:
        serial = next(self._frame_seq)
        return f"{secrets.token_hex(4)}_{serial}_{ms(self._server.now()):x}_{secrets.token_hex(3)}"

    def newest_open(self, total: int) -> StreamConnection | None:
        """The newest open connection, once ``total`` were accepted."""
        with self._rec.lock:
            live = [c for c in self.conns if not c.silent]
            if len(self.conn_log) >= total and live:
                return live[-1].info
        return None

    def first_ack(self, message_id: str) -> Json | None:
        """The first ACK for ``message_id`` received after it was last pushed."""
        with self._rec.lock:
            acks = self.acks.get(message_id, [])
            floor = self._ack_floor.get(message_id, 0)
            return acks[floor] if len(acks) > floor else None

    async def open_connection(self, request: web.Request) -> web.Response:
        server = self._server
        body = await json_body(request) or {}
        secret = server.client_secret
        if body.get("clientId") != server.client_id or body.get("clientSecret") != secret:
            return error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        subscriptions = tuple(
            (str(s.get("type", "")), str(s.get("topic", "")))
            for s in body.get("subscriptions") or []
            if isinstance(s, dict)
        )
        call = OpenCall(server.client_id, subscriptions, str(uuid.uuid4()))
        with self._rec.lock:
            self.open_calls.append(call)
            self._tickets[call.ticket] = (call, server.now() + TICKET_TTL)
        self._rec.notify()
        endpoint = f"ws://127.0.0.1:{server.port}/connect"
        return web.json_response({"endpoint": endpoint, "ticket": call.ticket})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        with self._rec.lock:
            entry = self._tickets.pop(request.query.get("ticket", ""), None)
        if entry is None or self._server.now() > entry[1]:
            return error(401, "invalidTicket", "ticket is unknown, used or expired")
        call = entry[0]
        ws = web.WebSocketResponse(timeout=2.0)
        await ws.prepare(request)
        info = StreamConnection(uuid.uuid4().hex, call.ticket, call.client_id)
        conn = Conn(info, ws, request.transport)
        with self._rec.lock:
            self.conns.append(conn)
            self.conn_log.append(conn.info)
        self._rec.notify()
        pinger = asyncio.create_task(self._ping(conn)) if self.ping_every else None
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._on_client_frame(message.data)
        finally:
            if pinger is not None:
                pinger.cancel()
            with self._rec.lock:
                self.conns.remove(conn)
            self._rec.notify()
        return ws

    def _on_client_frame(self, raw: str) -> None:
        try:
            frame = json.loads(raw)
            message_id = frame["headers"]["messageId"]
        except (ValueError, TypeError, KeyError):
            logger.warning("LocalDingTalk: unexpected frame from client: %.200s", raw)
            return
        with self._rec.lock:
            self.acks.setdefault(str(message_id), []).append(frame)
            self.ack_times.setdefault(str(message_id), time.perf_counter())
        self._rec.notify()

    async def push(
        self,
        frame_type: str,
        topic: str,
        data: Mapping[str, Any],
        message_id: str,
        timeout: float,
    ) -> None:
        """Send a frame on the newest connection (with ``spread``, the next in turn), waiting
        up to ``timeout`` for one."""

        def newest() -> Conn | None:
            with self._rec.lock:
                live = [c for c in self.conns if not c.silent]
                if not live:
                    return None
                if self.spread:
                    return live[next(self._turn) % len(live)]
                return live[-1]

        conn = await self._rec.wait(newest, timeout, "stream connection to push to")
        frame = self._frame(conn, frame_type, topic, data, message_id)
        with self._rec.lock:
            self._ack_floor[message_id] = len(self.acks.get(message_id, ()))
            self.pushed.append(frame)
        await conn.ws.send_str(dumps(frame))

    def _frame(
        self, conn: Conn, frame_type: str, topic: str, data: Mapping[str, Any], message_id: str
    ) -> Json:
        return {
            "specVersion": "1.0",
            "type": frame_type,
            "headers": {
                "appId": f"local-{self._server.client_id}",
                "connectionId": conn.info.connection_id,
                "contentType": "application/json",
                "messageId": message_id,
                "time": str(ms(self._server.now())),
                "topic": topic,
            },
            "data": dumps(data),  # a JSON string, as DingTalk sends it
        }

    async def _ping(self, conn: Conn) -> None:
        """SYSTEM pings on ``conn`` every ``ping_every`` seconds until it closes."""
        assert self.ping_every
        while not conn.ws.closed:
            await asyncio.sleep(self.ping_every)
            if conn.silent or conn.ws.closed:
                continue
            data = {"opaque": uuid.uuid4().hex}
            frame = self._frame(conn, "SYSTEM", "ping", data, self.new_message_id())
            try:
                await conn.ws.send_str(dumps(frame))
            except ConnectionError:
                return
            with self._rec.lock:
                self.pings += 1

    async def close_all(self, code: int) -> None:
        """Close every stream connection with ``code``; a silent one is dropped (its transport
        is paused: no closing handshake)."""
        with self._rec.lock:
            conns = list(self.conns)
        for conn in conns:
            if conn.silent and conn.transport is not None:
                conn.transport.abort()
        live = [c for c in conns if not c.silent]
        await asyncio.gather(*(c.ws.close(code=code) for c in live), return_exceptions=True)

    def go_silent(self) -> int:
        """Every open connection stops reading and writing, with no close frame; how many.
        Runs on the server's loop."""
        with self._rec.lock:
            conns = [c for c in self.conns if not c.silent]
            for conn in conns:
                conn.silent = True
        for conn in conns:
            if conn.transport is not None:
                conn.transport.pause_reading()  # no frames read, so no pongs either
        self._rec.notify()
        return len(conns)
