"""What a handler asks the edges to do, as data: messages to send."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

# card: an update of an interactive card (target: its outTrackId, text: the variables as JSON)
Channel = Literal["session", "group", "oto", "card"]
Fallback = Literal["group", "oto"]
Kind = Literal["text", "picture", "file"]


@dataclass(frozen=True)
class Action:
    """One tap in a 1:1 message: ``label`` is what the reader sees, ``command`` the exact text
    the tap sends (``认领 12``). With ``needs_text`` the command is a stem (``答复 12``): the
    bot asks for the text and takes the person's next message as the rest of it."""

    label: str
    command: str
    needs_text: bool = False


@dataclass(frozen=True)
class Outgoing:
    """One message. ``session`` replies in a conversation through its webhook and falls back
    to ``fallback_channel``/``fallback_target`` (with ``fallback_text`` when set) once the
    webhook has expired. A ``picture`` or ``file`` goes to a group or a user as that kind of
    message, from ``media_path`` (under BOT_FILES_DIR); its ``text`` names it in logs."""

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
    kind: Kind = "text"
    media_path: str | None = None
    # An item records this message's outcome (see handlers.items.delivery): the item, what the
    # message is (reply | reject | placeholder) and who caused it
    item_id: int | None = None
    purpose: str | None = None
    actor: str | None = None
    # How the message reads as lines of a digest, (title, line) pairs, when its group chat has
    # more waiting than the rate limit lets out; empty: never merged
    digest: tuple[tuple[str, str], ...] = ()
    # What the reader of a 1:1 message can do with one tap (rendered by the sender: links in
    # markdown, or a card); empty: a plain message
    actions: tuple[Action, ...] = ()


def to_group(
    cid: str, text: str, title: str | None = None, digest: tuple[tuple[str, str], ...] = ()
) -> Outgoing:
    return Outgoing("group", cid, text, title, digest=digest)


def to_user(
    user_id: str, text: str, title: str | None = None, actions: tuple[Action, ...] = ()
) -> Outgoing:
    return Outgoing("oto", user_id, text, title, actions=actions)


class Markdown(str):
    """A command's reply to be shown as markdown (bold, paragraphs) under ``heading`` (empty:
    plain text), with the ``actions`` its reader can tap (in a 1:1 chat; a message with
    actions is markdown under its first line)."""

    heading: str
    actions: tuple[Action, ...]

    def __new__(cls, text: str, title: str, actions: tuple[Action, ...] = ()) -> Markdown:
        value = super().__new__(cls, text)
        value.heading = title
        value.actions = actions
        return value
