"""查看 任3: a task with its plan against progress."""

from __future__ import annotations

from sqlalchemy import select

from handlers import texts
from handlers.context import Ctx
from handlers.effects import Markdown
from handlers.taskbook import progress
from handlers.taskbook.facts import evidence
from handlers.taskbook.sweep import owner_of
from storage.models import Matter, Task, TaskAmendment, TaskBook


def show_task(ctx: Ctx, task: Task) -> str:
    ref = progress.task_label(task)
    found = ctx.session.get(TaskBook, task.taskbook_id)
    state = found.state if found is not None else "draft"
    _, owner = owner_of(ctx.roster, task)
    extra = f"\n类别：{task.category}｜平台：{task.platform}"
    if task.matter_id is not None:
        matter = ctx.session.get(Matter, task.matter_id)
        extra += f"\n督办事项：督{task.matter_id}" + (f" {matter.name}" if matter else "")
    lines = [
        texts.task_view(
            ref, task.name, task.department, state, task.target, task.measures, owner, extra
        )
    ]
    for m in progress.milestones(ctx.session, task.id):
        met = ""
        if m.met_at is not None:
            met = f"（{ctx.when(m.met_at)} {ctx.roster.name(m.met_by or '')}" + (
                f"：{m.note}）" if m.note else "）"
            )
        status = progress.state_of(m, ctx.now)
        lines.append(
            texts.task_view_milestone(m.seq, f"{m.due.month}月{m.due.day}日", m.what, status, met)
        )
    if state == "draft":
        lines.append(texts.task_chat_missing(progress.missing(ctx.session, task)))
    behind = progress.behind(ctx.session, ctx.roster, ctx.cal, task, ctx.now)
    if behind is not None:
        lines.append(f"明显滞后：{evidence(behind, ctx.cal)}")
    for a in ctx.session.scalars(
        select(TaskAmendment).where(TaskAmendment.task_id == task.id).order_by(TaskAmendment.id)
    ):
        lines.append(texts.task_amended(ref, a.field, a.old, a.new, a.reason))
    return Markdown("\n".join(lines), ref)
