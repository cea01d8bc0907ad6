"""The chain every command runs through: normalising, parsing, the role gate, the savepoint.

A middleware is a callable taking the call and ``next`` (the rest of the chain) and returning
an :class:`Outcome`; it may answer without calling ``next`` (a refusal changes nothing). A new
command gets all of them by being declared. An unexpected exception is rolled back here and
raised on: the app answers it with texts.APOLOGY and records it on the incoming message
(bot.app), where a message that is not a command is answered too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce

from handlers import texts
from handlers.commands import Command, ParseError, Registry, normalize
from handlers.context import CommandError, Ctx


@dataclass(frozen=True)
class Outcome:
    reply: str
    ok: bool  # False: refused or malformed; nothing was changed


@dataclass
class Call:
    """One command on its way through the chain."""

    ctx: Ctx
    text: str
    registry: Registry
    command: Command | None = None  # once parsed

    @property
    def parsed(self) -> Command:
        assert self.command is not None, "the parse middleware comes first"
        return self.command


Next = Callable[[Call], Outcome]
Middleware = Callable[[Call, Next], Outcome]


def normalise(call: Call, next: Next) -> Outcome:
    """No NUL (no database stores it in text); an empty message asks for a command."""
    call.text = call.text.replace("\x00", "")
    if not normalize(call.text):
        return Outcome(texts.EMPTY_MESSAGE, False)
    return next(call)


def parse(call: Call, next: Next) -> Outcome:
    """The command and its arguments' shape: an unknown one, or its usage line."""
    try:
        call.command = call.registry.parse(call.text)
    except ParseError as exc:
        return Outcome(texts.usage(exc.spec.usage) if exc.spec else texts.UNKNOWN_COMMAND, False)
    return next(call)


def role_gate(call: Call, next: Next) -> Outcome:
    """Only the roles the command names (none: everyone in the roster)."""
    spec = call.parsed.spec
    if spec.roles and not call.ctx.roles.roles & set(spec.roles):
        return Outcome(texts.not_allowed(spec.name, spec.who), False)
    return next(call)


def savepoint(call: Call, next: Next) -> Outcome:
    """All or nothing: a refusal (CommandError) or an error rolls back what the command did
    and drops the messages it queued; a refusal is answered, an error raised on."""
    ctx = call.ctx
    sent_before = len(ctx.out)
    nested = ctx.session.begin_nested()
    try:
        outcome = next(call)
        ctx.session.flush()
    except CommandError as exc:
        nested.rollback()
        del ctx.out[sent_before:]
        return Outcome(exc.text, False)
    except Exception:
        nested.rollback()
        del ctx.out[sent_before:]
        raise
    nested.commit()
    return outcome


def handle(call: Call) -> Outcome:
    """The end of the chain: the arguments resolved in order, then the handler."""
    cmd = call.parsed
    values = cmd.spec.resolve(call.ctx, cmd.raw)
    return Outcome(cmd.spec.handler(call.ctx, **values), True)


CHAIN: tuple[Middleware, ...] = (normalise, parse, role_gate, savepoint)


def chain(middlewares: Sequence[Middleware], end: Next = handle) -> Next:
    """The middlewares around ``end``, the first outermost."""

    def wrap(inner: Next, middleware: Middleware) -> Next:
        return lambda call: middleware(call, inner)

    return reduce(wrap, reversed(middlewares), end)
