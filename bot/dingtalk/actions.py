"""How a 1:1 message's actions reach the reader: as ``dtmd`` links at the end of a markdown
message (DINGTALK.md §10). A tapped link sends its command into the chat as the tapper."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from handlers.effects import Action

LINK = "dtmd://dingtalkclient/sendMessage?content="
TITLE_MAX = 128


def link(action: Action) -> str:
    """``[label](dtmd://…content=<the command, URL-encoded, spaces included>)``."""
    return f"[{action.label}]({LINK}{quote(action.command, safe='')})"


def render_links(text: str, actions: Sequence[Action]) -> tuple[str, str]:
    """(title, markdown) of a message with its actions: the title is the text's first line,
    the body the text as markdown paragraphs, then the links on one line."""
    lines = text.split("\n")
    title = lines[0].strip()[:TITLE_MAX] or "督办助手"
    body = "\n\n".join(line for line in lines if line.strip())
    links = "　".join(link(a) for a in actions)
    return title, f"{body}\n\n{links}" if links else body
