"""The 销项 of a 攻坚 matter: 销项 (the report's parts) and 附件 (its two files). 办结事项
(handlers.matters) asks for them."""

from __future__ import annotations

from handlers.args import ChoiceArg, MatterArg, TextArg
from handlers.closure import files, flow
from handlers.commands import Registry
from handlers.context import Ctx
from handlers.matters.base import DEPT
from storage.models import Matter

router = Registry()


@router.command(
    "销项",
    [MatterArg(department=True), TextArg("report", "问题描述：… 解决情况：…")],
    "攻坚事项销项报告：问题描述、解决情况（可分两条发送）",
    DEPT,
)
def report(ctx: Ctx, matter: Matter, report: str) -> str:
    return flow.write(ctx, matter, report)


@router.command(
    "附件",
    [MatterArg(), ChoiceArg("purpose", {p: p for p in flow.PURPOSES}, optional=True)],
    "攻坚事项销项附件：发送本命令后在单聊中发送文件（解决方案、盖章的意见征询表）",
    sorted(files.SENDERS),
)
def attach(ctx: Ctx, matter: Matter, purpose: str | None) -> str:
    return files.attach(ctx, matter, purpose)
