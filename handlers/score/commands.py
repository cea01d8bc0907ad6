"""The year-end 考核评议 (三(七)): the office drafts (考核), adjusts what is its to judge
(考核调整), writes its overall opinion (考核意见) and sends the sheet to the 局主要领导
(考核送审), who approves it (考核审定: frozen, exported for 组织人事处) or returns it
(考核退回); the office may re-open an approved sheet (考核重开), on the record."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal

from sqlalchemy import select

from config.roster import Department
from handlers import documents, texts
from handlers.args import DeptArg, TextArg
from handlers.commands import Arg, Registry, Resolved
from handlers.context import CommandError, Ctx
from handlers.effects import Action, Markdown, to_group
from handlers.matters.base import notify
from handlers.score import export, sheet
from handlers.score.rules import ADJUSTABLE
from storage.models import ScoreAdjustment, ScoreEvent, ScoreSheet

router = Registry()

OFFICE = ("office_admin",)
DIRECTOR = ("director",)
EDITABLE = ("draft", "returned")
MAX_POINTS = 12
_YEAR = re.compile(r"(\d{4})(?:年度?)?")
_POINTS = re.compile(r"[+-]?\d{1,2}(?:\.\d)?")


class YearArg(Arg[int]):
    """A year that has begun: 2026, 2026年, 2026年度."""

    def __init__(self) -> None:
        super().__init__("year", "年份")

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> int:
        match = _YEAR.fullmatch(unicodedata.normalize("NFKC", str(raw)))
        if match is None or int(match[1]) < 2000:
            raise CommandError(texts.score_bad_year(str(raw)))
        year = int(match[1])
        if year > ctx.now.astimezone(ctx.cal.tz).year:
            raise CommandError(texts.score_year_not_begun(year))
        return year

    def sample(self) -> str:
        return "2026"


class ScoreItemArg(Arg[str]):
    """What the office adjusts: 目标清晰度, 及时度, 完成情况, 成效情况, 协同情况."""

    def __init__(self) -> None:
        super().__init__("item", "项")

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> str:
        word = unicodedata.normalize("NFKC", str(raw)).strip()
        if word not in ADJUSTABLE:
            raise CommandError(texts.score_bad_item(str(raw)))
        return word

    def sample(self) -> str:
        return "成效情况"


class PointsArg(Arg[float]):
    """Points added (2, +0.5) or taken (-1), at most 12 either way."""

    def __init__(self) -> None:
        super().__init__("points", "分")

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> float:
        word = unicodedata.normalize("NFKC", str(raw)).strip().removesuffix("分")
        if _POINTS.fullmatch(word) is None or abs(float(word)) > MAX_POINTS:
            raise CommandError(texts.score_bad_points(str(raw)))
        return float(word)

    def sample(self) -> str:
        return "-1"


def _find(ctx: Ctx, year: int) -> ScoreSheet:
    found = ctx.session.scalars(select(ScoreSheet).where(ScoreSheet.year == year)).first()
    if found is None:
        raise CommandError(texts.score_no_sheet(year))
    return found


def _event(ctx: Ctx, row: ScoreSheet, action: str, detail: str = "", **extra: Any) -> None:
    ctx.session.add(
        ScoreEvent(sheet_id=row.id, at=ctx.now, by=ctx.actor, action=action, detail=detail, **extra)
    )


def _decisions(year: int) -> tuple[Action, ...]:
    """The director's taps: 考核审定 and 考核退回 (asks for the comment)."""
    return (
        Action(f"考核审定 {year}", f"考核审定 {year}"),
        Action(f"考核退回 {year}", f"考核退回 {year}", True),
    )


def _require(row: ScoreSheet, states: tuple[str, ...], action: str) -> None:
    if row.state not in states:
        raise CommandError(texts.score_wrong_state(row.year, row.state, action))


def current(ctx: Ctx, row: ScoreSheet | None, year: int) -> dict[str, Any]:
    """The version sent to the director (while sent) or frozen (once approved), else the
    sheet as the data say now."""
    if row is not None and row.snapshot is not None:
        return dict(row.snapshot)
    return sheet.build(ctx.session, ctx.roster, ctx.cal, year, ctx.now, row)


def deliver(ctx: Ctx, data: dict[str, Any], channel: Literal["group", "oto"], target: str) -> None:
    """Keep the Word document and the workbook and send both to ``target``."""
    word_name, book_name = export.names(data)
    subject = f"score:{data['year']}"
    for name, content in ((word_name, export.word(data)), (book_name, export.excel(data))):
        documents.send(ctx, channel, target, documents.keep(ctx, name, content, subject))


@router.command(
    "考核",
    [YearArg()],
    "年度考核评议：起草（或查看）各处室评分及依据，Word 和 Excel 发到单聊",
    OFFICE,
)
def draft(ctx: Ctx, year: int) -> str:
    row = ctx.session.scalars(select(ScoreSheet).where(ScoreSheet.year == year)).first()
    if row is None:
        row = ScoreSheet(
            year=year, state="draft", opinion="", created_at=ctx.now, created_by=ctx.actor
        )
        ctx.session.add(row)
        ctx.session.flush()
        _event(ctx, row, "drafted")
    data = current(ctx, row, year)
    deliver(ctx, data, "oto", ctx.actor)
    text = export.summary(data) + "\n\n" + texts.score_files_sent(data["title"])
    return Markdown(text, data["title"])


@router.command(
    "考核调整",
    [DeptArg(), ScoreItemArg(), PointsArg(), TextArg("reason", "理由")],
    "调整考核评分（目标清晰度、及时度，完成度的完成情况、成效情况、协同情况），同项以最后一次为准",
    OFFICE,
)
def adjust(ctx: Ctx, dept: Department, item: str, points: float, reason: str) -> str:
    rows = ctx.session.scalars(select(ScoreSheet).order_by(ScoreSheet.year.desc())).all()
    row = next((r for r in rows if r.state in EDITABLE), None)
    if row is None:
        if rows:
            _require(rows[0], EDITABLE, texts.SCORE_ACTIONS["adjust"])
        raise CommandError(texts.score_need_draft())
    ctx.session.add(
        ScoreAdjustment(
            sheet_id=row.id,
            department=dept.name,
            item=item,
            points=points,
            reason=reason,
            by=ctx.actor,
            at=ctx.now,
        )
    )
    ctx.session.flush()
    data = current(ctx, row, row.year)
    total = next(d["total"] for d in data["departments"] if d["name"] == dept.name)
    return texts.score_adjusted(row.year, dept.name, item, points, total)


@router.command(
    "考核意见", [YearArg(), TextArg("opinion", "意见")], "局办公室的总体考评意见", OFFICE
)
def opinion(ctx: Ctx, year: int, opinion: str) -> str:
    row = _find(ctx, year)
    _require(row, EDITABLE, texts.SCORE_ACTIONS["opinion"])
    row.opinion = opinion
    _event(ctx, row, "opinion", opinion)
    return texts.score_opinion_set(year)


@router.command("考核送审", [YearArg()], "把考核评分送局主要领导审定", OFFICE)
def send_up(ctx: Ctx, year: int) -> str:
    row = _find(ctx, year)
    _require(row, EDITABLE, texts.SCORE_ACTIONS["send"])
    if not row.opinion:
        raise CommandError(texts.score_need_opinion(year))
    data = current(ctx, row, year)
    data["state"] = "sent"
    row.state, row.snapshot = "sent", data  # the director approves what he reads
    _event(ctx, row, "sent")
    director = ctx.roster.director
    acts = _decisions(year)
    text = texts.score_to_director(year, ctx.roster.name(ctx.actor), export.summary(data))
    notify(ctx, [director], text, acts)
    deliver(ctx, data, "oto", director)
    return texts.score_sent_reply(year, ctx.roster.name(director))


@router.command("考核审定", [YearArg()], "局主要领导审定考核评分：结果冻结，报组织人事处", DIRECTOR)
def approve(ctx: Ctx, year: int) -> str:
    row = _find(ctx, year)
    _require(row, ("sent",), texts.SCORE_ACTIONS["approve"])
    data = current(ctx, row, year)
    who, at = ctx.roster.name(ctx.actor), ctx.when(ctx.now)
    data["state"], data["approved"] = "approved", {"by": who, "at": at}
    row.state, row.snapshot = "approved", data
    row.approved_at, row.approved_by = ctx.now, ctx.actor
    _event(ctx, row, "approved")
    group = ctx.roster.office.group
    ctx.send(to_group(group, texts.score_approved_group(year, who, at)))
    deliver(ctx, data, "group", group)
    return texts.score_approved_reply(year)


@router.command(
    "考核退回", [YearArg(), TextArg("comment", "意见")], "局主要领导退回考核评分", DIRECTOR
)
def send_back(ctx: Ctx, year: int, comment: str) -> str:
    row = _find(ctx, year)
    _require(row, ("sent",), texts.SCORE_ACTIONS["return"])
    row.state, row.snapshot = "returned", None
    _event(ctx, row, "returned", comment)
    text = texts.score_returned_office(year, ctx.roster.name(ctx.actor), comment)
    notify(ctx, ctx.roster.office.admins, text)
    return texts.score_returned_reply(year)


@router.command(
    "考核重开", [YearArg(), TextArg("reason", "理由")], "重开已审定的考核评分（留痕）", OFFICE
)
def reopen(ctx: Ctx, year: int, reason: str) -> str:
    row = _find(ctx, year)
    _require(row, ("approved",), texts.SCORE_ACTIONS["reopen"])
    _event(ctx, row, "reopened", reason, snapshot=row.snapshot)
    row.state, row.snapshot = "draft", None
    row.approved_at, row.approved_by = None, None
    text = texts.score_reopened_notice(year, ctx.roster.name(ctx.actor), reason)
    notify(ctx, [ctx.roster.director], text)
    return texts.score_reopened(year, reason)


def todo_lines(ctx: Ctx) -> list[tuple[str, tuple[Action, ...]]]:
    """待办: the director's sheets awaiting approval; the office admins' returned sheets."""
    if ctx.actor == ctx.roster.director:
        state = "sent"
    elif ctx.actor in ctx.roster.office.admins:
        state = "returned"
    else:
        return []
    rows = ctx.session.scalars(
        select(ScoreSheet).where(ScoreSheet.state == state).order_by(ScoreSheet.year)
    ).all()
    lines: list[tuple[str, tuple[Action, ...]]] = []
    for row in rows:
        if state == "sent":
            acts = _decisions(row.year)
        else:
            acts = (Action(f"考核送审 {row.year}", f"考核送审 {row.year}"),)
        lines.append((texts.score_todo(row.year, state), acts))
    return lines
