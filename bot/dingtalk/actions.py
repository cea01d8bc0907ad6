"""How a 1:1 message's actions reach the reader: as ``dtmd`` links in a markdown message
(DINGTALK.md §10). A tapped link sends its command into the chat as the tapper."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

from handlers.effects import Action

LINK = "dtmd://dingtalkclient/sendMessage?content="
TITLE_MAX = 128
GAP = "\u3000"


def link(action: Action) -> str:
    """``[label](dtmd://…content=<the command, URL-encoded, spaces included>)``."""
    return f"[{action.label}]({LINK}{quote(action.command, safe='')})"


def _key(action: Action) -> str:
    """What the action is about: the command's last word naming an item or matter (``12``,
    ``督3``; ``启动约谈 督3 二级`` is about 督3), else its last word."""
    words = action.command.split()
    return next((w for w in reversed(words) if re.fullmatch(r"督?\d+", w)), words[-1])


def _mentions(line: str, key: str) -> bool:
    ref = f"#{key}" if key.isdigit() else key
    return re.search(re.escape(ref) + r"(?!\d)", line) is not None


def _inert(line: str) -> str:
    """The text as it reads, never a link: a town's words (quoted in a notice) could otherwise
    hold a link that sends a command as whoever taps it."""
    return line.replace("[", "［").replace("]", "］")


def render_links(text: str, actions: Sequence[Action]) -> tuple[str, str]:
    """(title, markdown) of a message with its actions: the title is the text's first line,
    the body the text as markdown paragraphs. The links follow the body; when they are about
    several items (a digest, 待办), each item's links follow the first line that names it."""
    lines = [_inert(line) for line in text.split("\n") if line.strip()]
    title = (lines[0].strip() if lines else "")[:TITLE_MAX] or "督办助手"
    groups: dict[str, list[Action]] = {}
    for action in actions:
        groups.setdefault(_key(action), []).append(action)
    out: list[str] = []
    for line in lines:
        out.append(line)
        if len(groups) > 1:
            for key in [k for k in groups if _mentions(line, k)]:
                out.append(GAP.join(link(a) for a in groups.pop(key)))
    out += [GAP.join(link(a) for a in group) for group in groups.values()]
    return title, "\n\n".join(out)
