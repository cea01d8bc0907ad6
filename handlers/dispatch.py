"""From a message to a reply: every family's router in one registry, the commands that span
families (待办, 查看, 帮助), and the middleware chain each command runs through."""

from __future__ import annotations

import logging

from handlers import texts
from handlers.annual import commands as annual_commands
from handlers.approvals import router as approvals_router
from handlers.args import ViewArg, WordArg
from handlers.closure import commands as closure_commands
from handlers.closure import flow as closure_flow
from handlers.commands import Command, ParseError, Registry
from handlers.context import Ctx
from handlers.effects import Markdown
from handlers.filings import commands as filing_commands
from handlers.instructions import commands as instruction_commands
from handlers.items import commands as item_commands
from handlers.items import views as item_views
from handlers.lights import commands as light_commands
from handlers.matters import commands as matter_commands
from handlers.matters import view as matter_view
from handlers.meetings import commands as meeting_commands
from handlers.middleware import CHAIN, Call, Outcome, chain
from handlers.office_reports import commands as report_commands
from handlers.reviews import commands as review_commands
from handlers.score import commands as score_commands
from handlers.stats import commands as stats_commands
from handlers.taskbook import chat as taskbook_chat
from handlers.taskbook import commands as taskbook_commands
from handlers.taskbook import view as taskbook_view
from storage.models import Item, Matter, Task

logger = logging.getLogger(__name__)

# What concerns every family: 待办 and 查看 gather the families' views, 帮助 lists all.
general_router = Registry()

ROUTERS = (  # one per feature family, in the order 帮助 lists them
    approvals_router,  # 同意/退改: an @件's draft, or a 督办事项's submission (督N)
    item_commands.router,
    matter_commands.router,
    filing_commands.router,
    instruction_commands.router,
    light_commands.router,
    closure_commands.router,
    review_commands.router,
    annual_commands.router,
    stats_commands.router,
    report_commands.router,
    meeting_commands.router,
    score_commands.router,
    taskbook_chat.router,
    taskbook_commands.router,
    general_router,
)
TODO_SOURCES = (  # who contributes to 待办, in its order
    item_views.todo_lines,
    filing_commands.todo_lines,
    light_commands.todo_lines,
    closure_flow.todo_lines,
    annual_commands.todo_lines,
    score_commands.todo_lines,
    taskbook_commands.todo_lines,
)


def build_registry() -> Registry:
    """Every family's router, included in one visible place; duplicates fail here."""
    registry = Registry()
    for router in ROUTERS:
        registry.include(router)
    return registry


@general_router.command("待办", [], "我需要办理的@件、填报、批示件和约谈，及时限")
def todo(ctx: Ctx) -> str:
    """Each entry with its actions (links in a 1:1 chat)."""
    lines = [line for source in TODO_SOURCES for line in source(ctx)]
    if not lines:
        return texts.nothing_to_do()
    actions = tuple(dict.fromkeys(a for _, acts in lines for a in acts))
    return Markdown("待办：\n" + "\n".join(line for line, _ in lines), "", actions)


@general_router.command("查看", [ViewArg()], "查看@件、督办事项（督3）或任务（任3）的详情和记录")
def show(ctx: Ctx, target: Item | Matter | Task) -> str:
    """The argument's form chooses the view: 督3 a 督办事项, 任3 a task, 3 or #3 an @件."""
    if isinstance(target, Task):
        return taskbook_view.show_task(ctx, target)
    if isinstance(target, Matter):
        return matter_view.show_matter(ctx, target)
    return item_views.show_item(ctx, Command(REGISTRY.specs["查看"], {"target": target.id}))


@general_router.command(
    "帮助", [WordArg("name", "命令", optional=True)], "可用命令，或一条命令的用法"
)
def help_command(ctx: Ctx, name: str) -> str:
    registry = REGISTRY
    if name:
        spec = registry.specs.get(name)
        if spec is None:
            return texts.UNKNOWN_COMMAND
        return spec.help
    mine = [s for s in registry.specs.values() if not s.roles or ctx.roles.roles & set(s.roles)]
    return (
        "可用命令：\n"
        + "\n".join(f"{s.usage}\u3000{s.summary}" for s in mine)
        + "\n发送「帮助 命令」查看详情。"
    )


REGISTRY = build_registry()
RUN = chain(CHAIN)


def is_command(text: str, registry: Registry = REGISTRY) -> bool:
    """Whether the text is meant as a command: it starts with a command's name (well formed or
    not)."""
    try:
        registry.parse(text.replace("\x00", ""))
    except ParseError as exc:
        return exc.spec is not None
    return True


def run_command(ctx: Ctx, text: str, registry: Registry = REGISTRY) -> Outcome:
    """One command through the middleware chain (handlers.middleware): a refusal or an error
    leaves the database as it was."""
    return RUN(Call(ctx, text, registry))
