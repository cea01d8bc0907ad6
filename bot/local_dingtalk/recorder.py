"""What the local DingTalk saw: the records, kept under one lock (written on the server's loop,
read from any thread), and waiting on the server's loop until one of them changes."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

T = TypeVar("T")
Channel = Literal["group", "oto", "session"]


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


def _title_and_text(part: Any) -> tuple[str | None, str]:
    """Title and text of a msgParam or session-webhook message part."""
    if not isinstance(part, Mapping):
        return None, ""
    title = part.get("title")
    text = part.get("content", part.get("text", ""))
    return (title if isinstance(title, str) else None), (text if isinstance(text, str) else "")


class Recorder:
    """Requests received, messages delivered, media uploaded; ``lock`` guards every record of
    the server's parts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._seq = itertools.count(1)  # OutboundMessage.seq
        self.sent: list[OutboundMessage] = []
        self.requests: list[LoggedRequest] = []
        self.media: dict[str, UploadedMedia] = {}
        self.changed = asyncio.Event()  # replaced on every change; only used on the server loop

    def notify(self) -> None:
        """Wake whoever waits for a change (on the server's loop)."""
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    async def wait(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        """The first non-None ``check()``, checked after every change (on the server's loop)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self.changed
                    result = check()
                    if result is not None:
                        return result
                    await changed.wait()
        except TimeoutError:
            raise TimeoutError(f"LocalDingTalk: no {what} within {timeout} s") from None

    def log_request(self, request: LoggedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def record(
        self,
        channel: Channel,
        target: str | tuple[str, ...],
        msg_key: str,
        part: Any,
        at_user_ids: tuple[str, ...],
        payload: Mapping[str, Any],
    ) -> None:
        """A message delivered: its text, title and any uploaded media it names."""
        title, text = _title_and_text(part)
        media_id = part.get("photoURL", part.get("mediaId")) if isinstance(part, dict) else None
        with self.lock:
            media = self.media.get(media_id) if isinstance(media_id, str) else None
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
            self.sent.append(message)
        self.notify()
