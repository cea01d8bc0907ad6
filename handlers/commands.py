"""Command declarations and the parser: text in, a parsed command out.

A declaration holds the command's name, its typed arguments (converters, handlers.args), who
may use it and its summary; the usage line and the help come from it, never from copies. The
parser only reads the text's shape (``Arg.take``: a missing or malformed argument gives the
usage line); resolving the values against the roster and the database (``Arg.resolve``)
happens after the role gate, inside the command's savepoint (handlers.dispatch), and the
handler receives them as keyword arguments by name. Item numbers may be written ``#12``,
``12`` or ``１２``; full-width spaces and punctuation are fine.
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from config.roster import ROLE_NAMES
from handlers import texts
from handlers.context import CommandError, Ctx

# Who may see every department's work (lists, statistics)
LEADERS = ("office_admin", "office_head", "dept_head", "deputy", "director")

T = TypeVar("T")


class Malformed(Exception):
    """An argument's text is not of its kind: the command's usage line answers."""


class Arg(Generic[T]):
    """One typed argument: its keyword for the handler, its Chinese label in the usage line,
    how it is read from the text (``take``) and what value it stands for (``resolve``)."""

    name: str
    label: str
    optional: bool = False

    def __init__(self, name: str, label: str, optional: bool = False) -> None:
        self.name, self.label, self.optional = name, label, optional

    @property
    def usage(self) -> str:
        return f"[{self.label}]" if self.optional else f"<{self.label}>"

    def take(self, rest: Rest) -> Any:
        """The argument's raw value read from ``rest`` (one word by default; "" when an
        optional one is absent); raises Malformed."""
        word = rest.word()
        if not word and not self.optional:
            raise Malformed
        return word

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> T:
        """The value the handler receives (``got``: the arguments before this one, resolved);
        raises CommandError with the user's reply, or Malformed for the usage line."""
        return raw  # type: ignore[no-any-return]

    def sample(self) -> str:
        """A value that parses, for the tests that fill every usage line."""
        return "" if self.optional else "x"


@dataclass(frozen=True)
class Spec:
    name: str
    args: tuple[Arg[Any], ...]
    summary: str
    roles: tuple[str, ...]  # empty: everyone in the roster
    handler: Callable[..., str] = field(compare=False)

    @property
    def usage(self) -> str:
        """Derived from the declaration: the name and each argument's label."""
        return " ".join([self.name, *(arg.usage for arg in self.args)])

    @property
    def who(self) -> str:
        return "、".join(ROLE_NAMES[r] for r in self.roles) if self.roles else "所有人"

    @property
    def help(self) -> str:
        return f"{self.usage}\n{self.summary}\n可用：{self.who}"

    def resolve(self, ctx: Ctx, raw: Mapping[str, object]) -> Resolved:
        """The handler's keyword arguments, resolved in the declared order."""
        values = Resolved(self.name)
        for arg in self.args:
            try:
                values[arg.name] = arg.resolve(ctx, raw[arg.name], values)
            except Malformed:
                raise CommandError(texts.usage(self.usage)) from None
        return values


class Resolved(dict[str, object]):
    """The arguments resolved so far, by name, for the command named ``command``."""

    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command


@dataclass(frozen=True)
class Command:
    """A parsed command: its declaration and its arguments' raw values by name."""

    spec: Spec
    raw: Mapping[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def item(self) -> int | None:
        """The @件 number the command names, if any (查看 N)."""
        number = next((v for v in self.raw.values() if isinstance(v, int)), None)
        return number

    @property
    def ref(self) -> str | None:
        """The 督办事项 the command names as written (查看 督3), if any."""
        return next((v.ref for v in self.raw.values() if isinstance(v, MatterRef)), None)


@dataclass(frozen=True)
class MatterRef:
    """A 督办事项 as written: 督3, #3, 3 or (a unique part of) its name."""

    ref: str


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
        self, name: str, args: Iterable[Arg[Any]], summary: str, roles: Iterable[str] = ()
    ) -> Callable[[Callable[..., str]], Callable[..., str]]:
        def register(handler: Callable[..., str]) -> Callable[..., str]:
            self.add(Spec(name, tuple(args), summary, tuple(roles), handler))
            return handler

        return register

    def add(self, spec: Spec) -> None:
        if spec.name in self.specs:
            raise ValueError(f"command {spec.name!r} declared twice")
        names = [arg.name for arg in spec.args]
        params = list(inspect.signature(spec.handler).parameters)[1:]  # after ctx
        if len(set(names)) != len(names) or params != names:
            raise ValueError(f"command {spec.name!r}: handler takes {params}, declared {names}")
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
                return _parse_args(self.specs[name], Rest(text, body, origin, len(name)))
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


class Rest:
    """The unparsed part of a command: normalized for matching, original for free text."""

    def __init__(self, source: str, body: str, origin: list[int], start: int) -> None:
        self.source, self.body, self.origin, self.pos = source, body, origin, start

    def skip_spaces(self) -> None:
        while self.pos < len(self.body) and self.body[self.pos] == " ":
            self.pos += 1

    @property
    def text(self) -> str:
        return self.body[self.pos :]

    def word(self) -> str:
        """The next word (normalized), consumed."""
        word = self.text.split(" ", 1)[0]
        self.pos += len(word)
        return word

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.match(self.text)
        if found:
            self.pos += found.end()
        return found

    def all(self) -> str:
        """The rest, normalized, consumed."""
        text, self.pos = self.text, len(self.body)
        return text

    def original(self) -> str:
        """What the user wrote from here on, exactly (only trimmed), consumed."""
        text = self.source[self.origin[self.pos] :].strip() if self.text else ""
        self.pos = len(self.body)
        return text


def _parse_args(spec: Spec, rest: Rest) -> Command:
    raw: dict[str, object] = {}
    for arg in spec.args:
        rest.skip_spaces()
        try:
            raw[arg.name] = arg.take(rest)
        except Malformed:
            raise ParseError(spec) from None
    rest.skip_spaces()
    if rest.text:
        raise ParseError(spec)
    return Command(spec, raw)
