"""复核 (document 三(五) 调查复核制度), on both databases:

  局办公室……视情开展联合实地调查复核。对市、区两级重点督查事项，责任部门的主要负责人要视时
  进行实地调查复核。局分管领导视情开展"回头看"、"再督查"。

who may record which kind, bad input, and the reviews in 查看 and 统计 (chat and workbook)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from bot.stats_xlsx import export_stats
from handlers import texts
from handlers.context import Ctx
from handlers.dispatch import run_command
from storage.models import Review
from tests.conftest import PEOPLE, TZ, World

REF = "督1 臭氧污染防治"


@pytest.fixture
def matter(world: World) -> World:
    world.at(2026, 11, 2, 10, 0)
    world.must("office_admin", "新增事项 区委区政府重点工作 大气处 孙内勤 臭氧污染防治")
    return world


def reviews(world: World) -> list[tuple[str, str, str]]:
    with world.db.sessions() as session:
        rows = session.scalars(select(Review).order_by(Review.id)).all()
        return [(r.kind, r.by, r.finding) for r in rows]


@pytest.mark.parametrize(
    ("who", "kind", "allowed"),
    [
        ("office_admin", "实地核查", True),  # 局办公室……联合实地调查复核
        ("office_head", "实地核查", True),
        ("air_head", "实地核查", True),  # 责任部门的主要负责人……实地调查复核
        ("water_head", "实地核查", False),  # not the responsible department
        ("deputy", "回头看", True),  # 局分管领导……"回头看"、"再督查"
        ("deputy", "再督查", True),
        ("deputy", "实地核查", False),
        ("air_head", "回头看", False),
        ("office_admin", "再督查", False),
        ("air_clerk", "实地核查", False),  # not a role that reviews
        ("director", "回头看", False),
    ],
)
def test_who_may_record_which_review(matter: World, who: str, kind: str, allowed: bool) -> None:
    outcome, out = matter.run(who, f"复核 督1 {kind} 现场围挡已整改")
    assert outcome.ok is allowed, outcome.reply
    if allowed:
        assert outcome.reply == texts.review_recorded(REF, kind)
        assert reviews(matter) == [(_stored(kind), PEOPLE[who], "现场围挡已整改")]
        name = matter.roster.name(PEOPLE[who])
        assert [(m.channel, m.target, m.text) for m in out] == [
            ("group", "cid-air", texts.review_told(REF, kind, name, "现场围挡已整改"))
        ]
    else:
        assert reviews(matter) == [] and out == []


def _stored(word: str) -> str:
    return {v: k for k, v in texts.REVIEW_KIND_LABELS.items()}[word]


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("复核 督1 抽查 现场已整改", "格式：复核 <事项> <实地核查/回头看/再督查> <发现>"),
        ("复核 督1 实地核查", "格式：复核 <事项> <实地核查/回头看/再督查> <发现>"),
        ("复核", "格式：复核 <事项> <实地核查/回头看/再督查> <发现>"),
        ("复核 督9 实地核查 现场已整改", texts.no_matter("督9")),
        ("复核 督1 实地核查 " + "字" * 2001, texts.review_too_long(2000)),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(matter: World, text: str, reply: str) -> None:
    outcome, out = matter.run("office_admin", text)
    assert not outcome.ok and outcome.reply.startswith(reply) and out == []
    assert reviews(matter) == []


def test_a_closed_matter_can_be_looked_back_at(matter: World) -> None:
    matter.must("office_admin", "办结事项 督1")
    matter.later(days=30)
    assert matter.run("deputy", "复核 督1 回头看 整改成效巩固")[0].ok


def test_reviews_in_view_and_statistics(matter: World, tmp_path: Path) -> None:
    matter.must("office_admin", "复核 督1 实地核查 围挡缺口两处")
    matter.later(hours=1)
    matter.must("deputy", "复核 督1 回头看 已补齐围挡")
    shown = matter.run("air_clerk", "查看 督1")[0].reply
    assert "复核：\n实地核查 11月2日(周一) 10:00 王敏：围挡缺口两处" in shown
    assert "回头看 11月2日(周一) 11:00 陈副局：已补齐围挡" in shown
    summary = matter.run("director", "统计")[0].reply
    block = summary.split("**大气环境处**", 1)[1]
    assert "复核 实地核查1 回头看1" in block and "再督查" not in block
    assert "**水生态环境处**" not in summary  # nothing to show there
    assert "复核" not in matter.run("director", "统计 10月")[0].reply  # counted in its month
    path = tmp_path / "stats.xlsx"
    start = dt.datetime(2026, 11, 1, tzinfo=TZ)
    with matter.db.sessions() as session:
        export_stats(
            session, matter.roster, path, start, dt.datetime(2026, 12, 1, tzinfo=TZ), matter.now
        )
    sheet = openpyxl.load_workbook(path).worksheets[0]
    header = [c.value for c in sheet[1]]
    lines = sheet.iter_rows(min_row=2, values_only=True)
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in lines if r and r[0]}
    for name, field, expected in [
        ("大气环境处", "复核·实地核查", 1),
        ("大气环境处", "复核·回头看", 1),
        ("大气环境处", "复核·再督查", 0),
        ("水生态环境处", "复核·实地核查", 0),
        (texts.XLSX_TOTAL, "复核·回头看", 1),
        (texts.STATS_OFFICE, "复核·实地核查", None),
    ]:
        assert rows[name][field] == expected, (name, field)


def test_typed_in_the_department_group_the_finding_is_not_posted_twice(matter: World) -> None:
    with matter.db.transaction() as session:
        ctx = Ctx(session, matter.roster, matter.cal, matter.now, actor="u-air-head")
        ctx.group = "cid-air"
        assert run_command(ctx, "复核 督1 实地核查 围挡完好").ok
        assert ctx.out == []  # the answer in the group says it
