"""The local DingTalk with what only tests need: faults to inject (failed requests, throttled
users, revoked tokens, refused connections), files users send, and inspection of everything
it saw."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.local_dingtalk import (
    CardInstance,
    LocalDingTalk,
    LoggedRequest,
    OpenCall,
    OutboundMessage,
    StreamConnection,
    UploadedMedia,
)
from bot.local_dingtalk.common import Json, dumps


@dataclass
class _Fault:
    path_prefix: str
    status: int
    body: Mapping[str, Any] | str
    remaining: int


class FakeDingTalk(LocalDingTalk):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._faults: list[_Fault] = []  # guarded by the recorder's lock, as all records
        self._throttled: dict[str, int] = {}

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
        with self.recorder.lock:
            self._faults.append(_Fault(path_prefix, status, body, times))

    def injected_fault(self, path: str) -> web.StreamResponse | None:
        with self.recorder.lock:
            fault = next(
                (f for f in self._faults if f.remaining and path.startswith(f.path_prefix)), None
            )
            if fault is not None:
                fault.remaining -= 1
        if fault is None:
            return None
        if isinstance(fault.body, str):
            return web.Response(status=fault.status, text=fault.body)
        payload = {"requestid": uuid.uuid4().hex, **fault.body}
        return web.json_response(payload, status=fault.status, dumps=dumps)

    def throttle_oto(self, user_ids: Iterable[str], times: int = 1) -> None:
        """List these users in flowControlledStaffIdList for their next ``times`` batchSends."""
        with self.recorder.lock:
            for user_id in user_ids:
                self._throttled[user_id] = self._throttled.get(user_id, 0) + times

    def throttled_users(self, user_ids: Sequence[str]) -> list[str]:
        throttled: list[str] = []
        with self.recorder.lock:
            for user_id in user_ids:
                if self._throttled.get(user_id, 0) > 0:
                    self._throttled[user_id] -= 1
                    throttled.append(user_id)
        return throttled

    def expire_tokens(self) -> None:
        """Make every issued access token invalid, as a revocation would."""
        with self.recorder.lock:
            self.openapi.tokens.clear()

    async def refuse_connections(self, code: int = 1011) -> None:
        """Close the listening socket and every connection: clients get connection refused."""
        await self._call(self._unlisten(code))

    async def accept_connections(self) -> None:
        """Listen again, on the same port."""
        await self._call(self._listen())

    async def drop_connections(self, code: int = 1011) -> None:
        """Close every stream websocket with ``code`` (1011: abnormal, the SDK waits 10 s)."""
        await self._call(self._close_streams(code))

    async def go_silent(self) -> int:
        """Every open stream connection stops receiving anything (frames and pongs) and is
        never closed, as a connection lost on the way (no close frame); connections opened
        afterwards work normally. Returns how many went silent."""

        async def silence() -> int:
            return self.gateway.go_silent()

        return await self._call(silence())

    # Files users send --------------------------------------------------------------

    def add_message_file(self, content: bytes, file_name: str = "") -> str:
        """A picture or file a user sends: returns its downloadCode, to put in a message's
        ``content`` (``push_bot_message(msgtype=..., content=...)``)."""
        code = "dc" + secrets.token_urlsafe(24)
        with self.recorder.lock:
            self.openapi.message_files[code] = (content, file_name)
        return code

    # Pushing system frames ----------------------------------------------------------

    async def push_system_ping(self, opaque: str | None = None, timeout: float = 5.0) -> str:
        """A SYSTEM ping; the client's ACK echoes ``{"opaque": ...}``."""
        data = {"opaque": opaque or uuid.uuid4().hex}
        return await self.push_frame("SYSTEM", "ping", data, timeout=timeout)

    async def push_disconnect(
        self, reason: str = "persistent connection is timeout", timeout: float = 5.0
    ) -> str:
        """A SYSTEM disconnect: the SDK ACKs, closes with 1000 and reconnects at once."""
        return await self.push_frame("SYSTEM", "disconnect", {"reason": reason}, timeout=timeout)

    # What the server saw -------------------------------------------------------------

    def sent_to_conversation(self, conversation_id: str) -> list[OutboundMessage]:
        """Group messages and session-webhook replies in that conversation."""
        return [m for m in self.sent if m.channel != "oto" and m.target == conversation_id]

    def sent_to_user(self, user_id: str) -> list[OutboundMessage]:
        """1:1 robot messages to that user, and session replies in their 1:1 chat."""
        peers = self.webhooks.peers()
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
        with self.recorder.lock:
            return self.recorder.media.get(media_id)

    @property
    def uploads(self) -> list[UploadedMedia]:
        """Every upload, oldest first."""
        with self.recorder.lock:
            return list(self.recorder.media.values())

    @property
    def requests_log(self) -> list[LoggedRequest]:
        with self.recorder.lock:
            return list(self.recorder.requests)

    @property
    def open_calls(self) -> list[OpenCall]:
        with self.recorder.lock:
            return list(self.gateway.open_calls)

    @property
    def connections(self) -> list[StreamConnection]:
        """Stream connections open now, oldest first."""
        with self.recorder.lock:
            return [c.info for c in self.gateway.conns]

    @property
    def connection_log(self) -> list[StreamConnection]:
        """Every stream connection ever accepted."""
        with self.recorder.lock:
            return list(self.gateway.conn_log)

    @property
    def pushed(self) -> list[Json]:
        """Frames pushed to clients, as sent."""
        with self.recorder.lock:
            return list(self.gateway.pushed)

    def acks_for(self, message_id: str) -> list[Json]:
        with self.recorder.lock:
            return list(self.gateway.acks.get(message_id, ()))

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

        return await self._call(self.recorder.wait(check, timeout, "a matching sent message"))

    # Cards ---------------------------------------------------------------------------

    def cards_delivered(self) -> list[CardInstance]:
        """Every card instance delivered, oldest first."""
        with self.recorder.lock:
            return [c for c in self.cards.instances.values() if c.spaces]

    async def wait_card(
        self, out_track_id: str, check: Callable[[CardInstance], bool], timeout: float = 5.0
    ) -> CardInstance:
        """The card once ``check`` holds for it (run on the server's thread)."""

        def ready() -> CardInstance | None:
            card = self.cards.instances.get(out_track_id)
            return card if card is not None and check(card) else None

        return await self._call(self.recorder.wait(ready, timeout, f"card {out_track_id}"))

    async def tap(
        self,
        card: str,
        button: str,
        user: str,
        *,
        space: int = 0,
        message_id: str | None = None,
    ) -> Json | None:
        """``user`` taps the button labelled ``button`` on the card whose outTrackId is
        ``card``, as ``user`` sees it (the ``actions`` variable of bot.dingtalk.cards): the
        callback goes to the bot, and its ACK's update is applied. Returns the ACK's response."""
        instance = self.card(card)
        if instance is None:
            raise ValueError(f"no card {card!r}")
        actions = json.loads(instance.view(user).get("actions") or "[]")
        found = next((a for a in actions if a.get("label") == button), None)
        if found is None:
            raise ValueError(f"no button {button!r} on card {card!r} for {user}")
        return await self.push_card_callback(
            card, user, {"command": found["command"]}, space=space, message_id=message_id
        )
