"""A 攻坚 matter's 销项 (attachment 4). ``办结事项`` asks the department for the report; the
department writes 问题描述 and 解决情况 (``销项``, one message with named parts or one part a
message) and sends the two files (``附件``, handlers.closure.files). The matter closes when
every part is there and both files are stored: the Word report goes to the office group with
the two files. Each step is in the matter's log."""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy import select

from handlers import taps, texts
from handlers.closure import docs
from handlers.context import CommandError, Ctx
from handlers.documents import keep, send
from handlers.effects import Action, Outgoing, to_group
from handlers.instructions.reports import check_report, count_chars
from handlers.matters.base import close, label, log, notify
from handlers.matters.states import MatterStatus
from handlers.pending import expect
from storage.models import Attachment, ClosureReport, Matter

TACKLE = "历史遗留问题攻坚"  # the category whose closure needs the 销项 report
PARTS = ("问题描述", "解决情况")
PURPOSES = ("解决方案", "意见征询表")  # the report's two attachments
PART_LIMIT = 3000  # characters (without whitespace) a part may have
_NUMBERED = r"(?:[0-9０-９]{1,2}|[一二三四五])[ \t]*[、.．][ \t]*"
_HEADING = re.compile(
    r"[ \t\u3000]*((?:" + _NUMBERED + ")?(?:" + "|".join(PARTS) + r"))[ \t\u3000]*([:：])"
)


def needs_report(matter: Matter) -> bool:
    return matter.category == TACKLE


def report_of(ctx: Ctx, matter: Matter, create: bool = False) -> ClosureReport | None:
    report = ctx.session.get(ClosureReport, matter.id)
    if report is None and create:
        report = ClosureReport(matter_id=matter.id, note="")
        ctx.session.add(report)
        ctx.session.flush()
    return report


def files_of(ctx: Ctx, matter: Matter) -> list[Attachment]:
    """The matter's files not given up, oldest first."""
    return list(
        ctx.session.scalars(
            select(Attachment)
            .where(Attachment.matter_id == matter.id, Attachment.state != "failed")
            .order_by(Attachment.id)
        )
    )


def chosen_files(ctx: Ctx, matter: Matter) -> dict[str, Attachment]:
    """The latest file of each purpose (stored or still being fetched)."""
    chosen: dict[str, Attachment] = {}
    for one in files_of(ctx, matter):
        if one.purpose in PURPOSES:
            chosen[one.purpose] = one
    return chosen


def missing(ctx: Ctx, matter: Matter) -> list[str]:
    """What the report still lacks, in the template's order (a file still being fetched from
    DingTalk is named as such)."""
    report = report_of(ctx, matter)
    lacking = [
        part
        for part, value in zip(
            PARTS, (report.problem, report.solution) if report else (None, None), strict=True
        )
        if not value
    ]
    chosen = chosen_files(ctx, matter)
    for purpose in PURPOSES:
        one = chosen.get(purpose)
        if one is None:
            lacking.append(purpose)
        elif one.state != "stored":
            lacking.append(texts.closure_file_coming(purpose))
    return lacking


def ask(ctx: Ctx, matter: Matter, note: str) -> str:
    """办结事项 on a 攻坚 matter: the report is asked for (or, when all is there, it closes)."""
    report = report_of(ctx, matter, create=True)
    assert report is not None
    first = report.asked_at is None
    if first:
        report.asked_at, report.asked_by, report.note = ctx.now, ctx.actor, note
        log(ctx.session, matter, ctx.now, ctx.actor, "closure_asked", note)
    if try_finish(ctx, matter):
        return texts.closure_closed(label(matter))
    lacking = missing(ctx, matter)
    if first:
        text = texts.closure_asked(label(matter), lacking)
        dept = ctx.roster.department(matter.department)
        if dept is not None:
            ctx.send(to_group(dept.group, text + "\n" + texts.ACTIONS_IN_CHAT))
            ref = f"督{matter.id}"
            notify(ctx, [*dept.clerks, dept.head], text, _actions(ref))
    return texts.closure_waiting(label(matter), lacking, first)


def _actions(ref: str) -> tuple[Action, ...]:
    return (taps.matter("销项", ref), taps.matter("附件", ref), taps.view(ref))


def parse_parts(text: str) -> dict[str, str]:
    """The named parts of a 销项 message (``问题描述：…`` and ``解决情况：…``, on their own
    lines or on one, numbered or not, full- or half-width colons); {} when none is named."""
    lined = _HEADING.sub(lambda m: f"\n{m.group(1)}{m.group(2)}", text)
    check = check_report(lined, dict.fromkeys(PARTS, PART_LIMIT))
    return {name: value for name, value in check.parts.items() if value.strip()}


def write(ctx: Ctx, matter: Matter, text: str) -> str:
    """销项: the department's 问题描述 and 解决情况 (a part again replaces it)."""
    if not needs_report(matter):
        raise CommandError(texts.closure_only_tackle(label(matter)))
    if matter.status != MatterStatus.OPEN:
        raise CommandError(texts.matter_closed(label(matter)))
    report = report_of(ctx, matter, create=True)
    assert report is not None
    parts = parse_parts(text)
    if not parts:  # plain text: the first part still missing, in the template's order
        values = {"问题描述": report.problem, "解决情况": report.solution}
        gap = next((p for p in PARTS if not values[p]), None)
        if gap is None:
            raise CommandError(texts.closure_name_the_part(label(matter)))
        parts = {gap: text.strip()}
    for name, value in parts.items():
        count = count_chars(value)
        if count > PART_LIMIT:
            raise CommandError(texts.report_too_long(name, count, PART_LIMIT))
    if "问题描述" in parts:
        report.problem = parts["问题描述"]
    if "解决情况" in parts:
        report.solution = parts["解决情况"]
    report.written_by, report.written_at = ctx.actor, ctx.now
    log(ctx.session, matter, ctx.now, ctx.actor, "closure_part", "、".join(parts))
    if try_finish(ctx, matter):
        return texts.closure_closed(label(matter))
    lacking = missing(ctx, matter)
    if report.problem is None or report.solution is None:
        expect(ctx, f"销项 督{matter.id}")
    return texts.closure_part_kept(label(matter), list(parts), lacking, bool(ctx.chat))


def try_finish(ctx: Ctx, matter: Matter) -> bool:
    """Close the matter when the report was asked for and everything is there: the Word
    report and the two files go to the office group. True when it closed."""
    report = report_of(ctx, matter)
    if report is None or report.asked_at is None or matter.status != MatterStatus.OPEN:
        return False
    if missing(ctx, matter):
        return False
    assert report.problem is not None and report.solution is not None
    chosen = chosen_files(ctx, matter)
    files = [chosen[p] for p in PURPOSES]
    dept = ctx.roster.department(matter.department)
    content = docs.closure_report(
        f"督{matter.id}",
        matter.name,
        dept.name if dept else matter.department,
        report.problem,
        report.solution,
        [
            (p, f.file_name or texts.closure_file_name(p))
            for p, f in zip(PURPOSES, files, strict=True)
        ],
    )
    document = keep(ctx, texts.closure_document_name(matter.id), content, f"督{matter.id}")
    report.document_id = document.id
    office = ctx.roster.office.group
    ctx.send(to_group(office, texts.closure_to_office(label(matter), matter.department)))
    send(ctx, "group", office, document)
    for purpose, one in zip(PURPOSES, files, strict=True):
        assert one.path is not None
        kind: Literal["picture", "file"] = "picture" if one.kind == "picture" else "file"
        name = one.file_name or texts.closure_file_name(purpose)
        ctx.send(Outgoing("group", office, name, kind=kind, media_path=one.path))
    close(ctx.session, matter, ctx.now, ctx.actor, texts.CLOSURE_NOTE)
    return True


def todo_lines(ctx: Ctx) -> list[tuple[str, tuple[Action, ...]]]:
    """For 待办: the 攻坚 matters of the person's departments whose 销项 report was asked for
    and is not complete (the office: all of them)."""
    depts = ctx.roles.clerk_of | ctx.roles.head_of
    office = ctx.roles.has("office_admin")
    if not depts and not office:
        return []
    query = (
        select(Matter)
        .join(ClosureReport, ClosureReport.matter_id == Matter.id)
        .where(Matter.status == MatterStatus.OPEN, ClosureReport.asked_at.is_not(None))
        .order_by(Matter.id)
    )
    if not office:
        query = query.where(Matter.department.in_(sorted(depts)))
    lines: list[tuple[str, tuple[Action, ...]]] = []
    for matter in ctx.session.scalars(query):
        ref = f"督{matter.id}"
        line = texts.todo_closure(label(matter), missing(ctx, matter))
        if office and matter.department not in depts:
            lines.append((line, (taps.view(ref),)))
        else:
            lines.append((line, _actions(ref)))
    return lines
