"""From a message to a reply: parse once, check the role, run the handler, keep all or nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from handlers import delivery, items, matters, texts
from handlers.commands import Command, ParseError, Registry, normalize
from handlers.context import CommandError, Ctx

logger = logging.getLogger(__name__)

help_router = Registry()


def build_registry() -> Registry:
    """Every command family, included in one visible place; duplicates fail here."""
    registry = Registry()
    registry.include(items.router)
    registry.include(delivery.router)
    registry.include(matters.router)
    registry.include(help_router)
    return registry


@help_router.command("帮助", ["word?"], "帮助 [命令]", "可用命令，或一条命令的用法")
def help_command(ctx: Ctx, cmd: Command) -> str:
    registry = REGISTRY
    if cmd.text:
        spec = registry.specs.get(cmd.text)
        if spec is None:
            return texts.UNKNOWN_COMMAND
        return f"{spec.usage}\n{spec.summary}\n可用：{spec.who}"
    mine = [s for s in registry.specs.values() if not s.roles or ctx.roles.roles & set(s.roles)]
    return (
        "可用命令：\n"
        + "\n".join(f"{s.usage}　{s.summary}" for s in mine)
        + "\n发送「帮助 命令」查看详情。"
    )


REGISTRY = build_registry()


@dataclass(frozen=True)
class Outcome:
    reply: str
    ok: bool  # False: refused or malformed; nothing was changed


def is_command(text: str, registry: Registry = REGISTRY) -> bool:
    """Whether the text is meant as a command: it starts with a command's name (well formed or
    not)."""
    try:
        registry.parse(text.replace("\x00", ""))
    except ParseError as exc:
        return exc.spec is not None
    return True


def run_command(ctx: Ctx, text: str, registry: Registry = REGISTRY) -> Outcome:
    """Run one command in a savepoint: a refusal or an error leaves the database as it was."""
    text = text.replace("\x00", "")  # no database stores NUL in text
    if not normalize(text):
        return Outcome(texts.EMPTY_MESSAGE, False)
    try:
        cmd = registry.parse(text)
    except ParseError as exc:
        return Outcome(texts.usage(exc.spec.usage) if exc.spec else texts.UNKNOWN_COMMAND, False)
    spec = cmd.spec
    if spec.roles and not ctx.roles.roles & set(spec.roles):
        return Outcome(texts.not_allowed(spec.name, spec.who), False)
    sent_before = len(ctx.out)
    savepoint = ctx.session.begin_nested()
    try:
        reply = spec.handler(ctx, cmd)
        ctx.session.flush()
    except CommandError as exc:
        savepoint.rollback()
        del ctx.out[sent_before:]
        return Outcome(exc.text, False)
    except Exception:
        savepoint.rollback()
        del ctx.out[sent_before:]
        raise
    savepoint.commit()
    return Outcome(reply, True)
