"""Command declarations and the parser: text in, a small frozen value out.

A declaration holds the command's name, its argument shape, who may use it and its help;
usage and help lines come from it, never from copies. Item numbers may be written ``#12``,
``12`` or ``１２``; full-width spaces and punctuation are fine.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from config.roster import ROLE_NAMES

Arg = Literal[
    "item",  # an @件 number: #12, 12, １２
    "view",  # an @件 number, or a 督办事项 written 督3
    "ref",  # a 督办事项: 督3, #3, 3 or its name (one word)
    "dept",
    "town",
    "category",
    "word",  # one required word, collected in ``words``
    "opt",  # one optional word, collected in ``words`` ("" when absent)
    "text",
    "text?",
    "state?",
    "word?",
]
CATEGORIES = ("政策咨询", "问题沟通")
# Who may see every department's work (lists, statistics)
LEADERS = ("office_admin", "office_head", "dept_head", "deputy", "director")


@dataclass(frozen=True)
class Spec:
    name: str
    args: tuple[Arg, ...]
    usage: str
    summary: str
    roles: tuple[str, ...]  # empty: everyone in the roster
    handler: Callable[..., str] = field(compare=False)

    @property
    def who(self) -> str:
        return "、".join(ROLE_NAMES[r] for r in self.roles) if self.roles else "所有人"


@dataclass(frozen=True)
class Command:
    spec: Spec
    item: int | None = None
    dept: str | None = None
    town: str | None = None
    category: str | None = None
    ref: str | None = None
    words: tuple[str, ...] = ()
    text: str = ""

    @property
    def name(self) -> str:
        return self.spec.name


class ParseError(Exception):
    """Unknown command (``spec`` None) or a malformed one (its usage line)."""

    def __init__(self, spec: Spec | None) -> None:
        self.spec = spec
        super().__init__(spec.usage if spec else "unknown command")


class Registry:
    """The commands of all families; a duplicate name fails at start-up."""

    def __init__(self) -> None:
        self.specs: dict[str, Spec] = {}

    def command(
        self, name: str, args: Iterable[Arg], usage: str, summary: str, roles: Iterable[str] = ()
    ) -> Callable[[Callable[..., str]], Callable[..., str]]:
        def register(handler: Callable[..., str]) -> Callable[..., str]:
            self.add(Spec(name, tuple(args), usage, summary, tuple(roles), handler))
            return handler

        return register

    def add(self, spec: Spec) -> None:
        if spec.name in self.specs:
            raise ValueError(f"command {spec.name!r} declared twice")
        self.specs[spec.name] = spec

    def include(self, other: Registry) -> None:
        for spec in other.specs.values():
            self.add(spec)

    def parse(self, text: str) -> Command:
        body, origin = _normalize_mapped(text)
        for name in sorted(self.specs, key=len, reverse=True):
            if body == name or body.startswith(name):
                rest = body[len(name) :]
                if rest and not rest[0].isspace() and rest[0] not in "#0123456789督":
                    continue
                return _parse_args(self.specs[name], _Rest(text, body, origin, len(name)))
        raise ParseError(None)


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), one space between words, no leading @-mentions."""
    return _normalize_mapped(text)[0]


def _normalize_mapped(text: str) -> tuple[str, list[int]]:
    """The normalized text and, for each of its characters, the index it came from in
    ``text``, so that free text (a reply, a note) is kept exactly as the user wrote it."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for part in unicodedata.normalize("NFKC", char):
            if part.isspace():
                if not chars or chars[-1] == " ":
                    continue
                part = " "
            chars.append(part)
            origin.append(index)
    while chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    body = "".join(chars)
    while body.startswith("@"):  # leading @-mentions DingTalk left in the text
        cut = body.find(" ")
        cut = len(body) if cut < 0 else cut + 1
        body, origin = body[cut:], origin[cut:]
    origin.append(len(text))
    return body, origin


class _Rest:
    """The unparsed part of a command: normalized for matching, original for free text."""

    def __init__(self, source: str, body: str, origin: list[int], start: int) -> None:
        self.source, self.body, self.origin, self.pos = source, body, origin, start

    def skip_spaces(self) -> None:
        while self.pos < len(self.body) and self.body[self.pos] == " ":
            self.pos += 1

    @property
    def text(self) -> str:
        return self.body[self.pos :]

    def original_rest(self) -> str:
        """What the user wrote from here on, exactly (only trimmed)."""
        return self.source[self.origin[self.pos] :].strip()


_ITEM = re.compile(r"#?\s*(\d{1,9})(?!\d)")


def _parse_args(spec: Spec, rest: _Rest) -> Command:
    values: dict[str, Any] = {}
    words: list[str] = []
    for arg in spec.args:
        rest.skip_spaces()
        if arg == "view" and rest.text.startswith("督"):
            arg = "ref"
        if arg in ("ref", "word", "opt"):
            word = rest.text.split(" ", 1)[0]
            if not word and arg != "opt":
                raise ParseError(spec)
            if arg == "ref":
                values["ref"] = word
            else:
                words.append(word)
            rest.pos += len(word)
        elif arg in ("item", "view"):
            match = _ITEM.match(rest.text)
            if not match:
                raise ParseError(spec)
            values["item"] = int(match.group(1))
            rest.pos += match.end()
        elif arg in ("dept", "town", "category", "word?"):
            word = rest.text.split(" ", 1)[0]
            if not word and arg != "word?":
                raise ParseError(spec)
            if arg == "category" and word not in CATEGORIES:
                raise ParseError(spec)
            key = {"dept": "dept", "town": "town", "category": "category", "word?": "text"}[arg]
            values[key] = word
            rest.pos += len(word)
        elif arg == "state?":
            values["text"] = rest.text
            rest.pos = len(rest.body)
        else:  # free text, kept as written
            values["text"] = rest.original_rest() if rest.text else ""
            if arg == "text" and not values["text"]:
                raise ParseError(spec)
            rest.pos = len(rest.body)
    rest.skip_spaces()
    if rest.text:
        raise ParseError(spec)
    return Command(spec, words=tuple(words), **values)
