"""Interactive cards for messages with actions, when DINGTALK_CARD_TEMPLATE_ID is set
(DINGTALK.md §3, §10; the template and its variables: README, 互动卡片).

The template's variables, every value a string (``cardParamMap``):

- ``title``: the message's first line; ``content``: the message as markdown;
- ``status``: empty until someone acts, then what happened (``已由 孙内勤 于 10:32 认领``);
- ``actions``: a JSON list of ``{"label", "command"}``, one button each (a loop in the
  template); ``[]`` once acted on. A button's callback parameter ``command`` is its
  action's command.

A card's ``subject`` is what its actions act on (``同意 12`` → ``12``): the copies of
a card for the same item are the cards with its subject.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from bot.dingtalk.actions import render_links
from handlers.effects import Action
from storage.outbox import PendingRow

Json = dict[str, Any]
CALLBACK_TYPE: Final = "STREAM"
# Commands that only show something: a tap answers the tapper alone, the card stays as it is
VIEW_ONLY: Final = frozenset({"查看", "待办", "帮助"})


def card_params(text: str, actions: Sequence[Action]) -> dict[str, str]:
    """The card's variables for a message and its actions."""
    title, content = render_links(text, [])
    buttons = [{"label": a.label, "command": a.command} for a in actions]
    return {
        "title": title,
        "content": content,
        "status": "",
        "actions": json.dumps(buttons, ensure_ascii=False),
    }


def subject(actions: Sequence[Action]) -> str:
    """What the actions act on: the first argument of the first action's command, without a
    leading ``#`` (``同意 12`` → ``12``); "" when none has one."""
    for action in actions:
        words = action.command.split()
        if len(words) > 1:
            return words[1].lstrip("#＃")[:32]
    return ""


def track_id(row_id: int, target: str, text: str) -> str:
    """The card's outTrackId for an outbox row: the same on a retry."""
    return hashlib.sha256(f"duban:{row_id}:{target}:{text}".encode()).hexdigest()


def acted(status: str) -> dict[str, str]:
    """The variables of a card once acted on: its status, and no more buttons."""
    return {"status": status, "actions": "[]"}


def for_row(row: PendingRow, now: datetime) -> tuple[str, tuple[str, str], dict[str, str], Json]:
    """An outbox row's card: its outTrackId, space (channel, target), variables, and the
    record of it (storage.models.CardInstance's columns)."""
    actions = [Action(*a) for a in row.actions]
    track = track_id(row.id, row.target, row.text)
    record = {
        "out_track_id": track,
        "subject": subject(actions),
        "outbox_id": row.id,
        "channel": row.channel,
        "target": row.target,
        "actions": [list(a) for a in row.actions],
        "created_at": now,
    }
    return track, (row.channel, row.target), card_params(row.text, actions), record
