"""From a message to a reply: parse once, check the role, run the handler, keep all or nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from handlers import texts
from handlers.commands import Command, ParseError, Registry, normalize
from handlers.context import CommandError, Ctx
from handlers.filings import commands as filing_commands
from handlers.instructions import commands as instruction_commands
from handlers.items import commands as item_commands
from handlers.items import views as item_views
from handlers.lights import commands as light_commands
from handlers.matters import commands as matter_commands
from handlers.matters import view as matter_view
from handlers.stats import commands as stats_commands

logger = logging.getLogger(__name__)

# What concerns every family: 待办 and 查看 gather the families' views, 帮助 lists all.
general_router = Registry()

ROUTERS = (  # one per feature family, in the order 帮助 lists them
    item_commands.router,
    matter_commands.router,
    filing_commands.router,
    instruction_commands.router,
    light_commands.router,
    stats_commands.router,
    general_router,
)
TODO_SOURCES = (  # who contributes to 待办, in its order
    item_views.todo_lines,
    filing_commands.todo_lines,
    light_commands.todo_lines,
)


def build_registry() -> Registry:
    """Every family's router, included in one visible place; duplicates fail here."""
    registry = Registry()
    for router in ROUTERS:
        registry.include(router)
    return registry


@general_router.command("待办", [], "待办", "我需要办理的@件、填报、批示件和约谈，及时限")
def todo(ctx: Ctx, cmd: Command) -> str:
    lines = [line for source in TODO_SOURCES for line in source(ctx)]
    if not lines:
        return texts.nothing_to_do()
    return "待办：\n" + "\n".join(lines)


@general_router.command("查看", ["view"], "查看 <编号>", "查看@件或督办事项（督3）的详情和记录")
def show(ctx: Ctx, cmd: Command) -> str:
    """The argument's form chooses the view: 督3 a 督办事项, 3 or #3 an @件."""
    if cmd.ref is not None:
        return matter_view.show_matter(ctx, cmd)
    return item_views.show_item(ctx, cmd)


@general_router.command("帮助", ["word?"], "帮助 [命令]", "可用命令，或一条命令的用法")
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
