"""同意 and 退改: one command each, for what waits on a reviewer. The argument's form chooses,
as 查看's does: ``同意 12`` an @件's draft reply (handlers.items.department), ``同意 督3`` a
督办事项's submission waiting for its 分管局领导 (handlers.filings.verdict)."""

from __future__ import annotations

from handlers.args import ReviewArg, TextArg
from handlers.commands import Registry
from handlers.context import Ctx
from handlers.filings import verdict as filing_verdict
from handlers.items import department
from storage.models import Item, Matter

router = Registry()


@router.command(
    "同意",
    [ReviewArg("approve")],
    "同意答复稿，发送给街镇；督N：同意处室报送的批示件反馈、跟踪进展或填报",
    department.REVIEWERS,
)
def approve(ctx: Ctx, target: Item | Matter) -> str:
    if isinstance(target, Matter):
        return filing_verdict.approve(ctx, target)
    return department.approve(ctx, target)


@router.command(
    "退改",
    [ReviewArg("send_back"), TextArg("opinion", "意见")],
    "退回答复稿修改；督N：退回处室报送的材料修改",
    department.REVIEWERS,
)
def send_back(ctx: Ctx, target: Item | Matter, opinion: str) -> str:
    if isinstance(target, Matter):
        return filing_verdict.send_back(ctx, target, opinion)
    return department.send_back(ctx, target, opinion)
