"""What a handler asks the edges to do, as data: messages to send."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

Channel = Literal["session", "group", "oto"]
Fallback = Literal["group", "oto"]


@dataclass(frozen=True)
class Outgoing:
    """One message. ``session`` replies in a conversation through its webhook and falls back
    to ``fallback_channel``/``fallback_target`` (with ``fallback_text`` when set) once the
    webhook has expired."""

    channel: Channel
    target: str
    text: str
    title: str | None = None
    at_user_ids: tuple[str, ...] = ()
    webhook: str | None = None
    webhook_expires: dt.datetime | None = None
    fallback_channel: Fallback | None = None
    fallback_target: str | None = None
    fallback_text: str | None = None  # the fallback's text, when it differs from ``text``


def to_group(cid: str, text: str, title: str | None = None) -> Outgoing:
    return Outgoing("group", cid, text, title)


def to_user(user_id: str, text: str, title: str | None = None) -> Outgoing:
    return Outgoing("oto", user_id, text, title)


class Markdown(str):
    """A command's reply to be shown as markdown (bold, paragraphs) under ``heading``."""

    heading: str

    def __new__(cls, text: str, title: str) -> Markdown:
        value = super().__new__(cls, text)
        value.heading = title
        return value
