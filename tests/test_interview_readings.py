"""The 约谈问询 readings of issue 11 (item 7), each taken from the document's words (main text
三(六), quoted in each test): "酌情启动约谈问询" (proposals), "点名批评、推进进度严重滞后" and
"连续" (consecutive months)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from bot.stats_xlsx import export_stats
from config.interviews import InterviewRules
from handlers import texts
from handlers.effects import Outgoing
from handlers.lights.ladder import Criticism, Decision, Firing, evaluate, propose
from storage.models import Interview
from tests.conftest import World

Y, R, G = "yellow", "red", "green"
ADMIN, OFFICE_GROUP, AIR_GROUP = "u-admin", "cid-office", "cid-air"


def recipients(out: list[Outgoing]) -> set[tuple[str, str]]:
    return {(m.channel, m.target) for m in out}


def settings(world: World, **rules: object) -> None:
    """The roster's ``[interviews]`` table."""
    data = world.roster.data.model_copy(update={"interviews": InterviewRules(**rules)})  # type: ignore[arg-type]
    world.roster = dataclasses.replace(world.roster, data=data)


def add(world: World, text: str = "区委区政府重点工作 大气处 孙内勤 臭氧污染防治攻坚") -> None:
    world.must("office_admin", f"新增事项 {text}")


def interviews(world: World) -> list[tuple[int, str, str]]:
    with world.db.sessions() as s:
        rows = s.scalars(select(Interview).order_by(Interview.id)).all()
        return [(i.tier, i.condition, i.state) for i in rows]


# --- "连续": consecutive calendar months --------------------------------------------------


# (id, the document's words, lights, conditions met)
CONSECUTIVE: list[tuple[str, str, list[tuple[str, str]], set[str]]] = [
    ("adjacent-months", "连续二次亮黄灯的", [("2026-09", Y), ("2026-10", Y)], {"yellow2@2026-09"}),
    ("a-month-missing", "连续二次亮黄灯的", [("2026-09", Y), ("2026-11", Y)], set()),
    ("across-new-year", "连续二次亮黄灯的", [("2026-12", Y), ("2027-01", Y)], {"yellow2@2026-12"}),
    (
        "gap-stops-three-reds",
        "连续三次亮红灯的",
        [("2026-03", R), ("2026-04", R), ("2026-06", R)],
        {"yellow2@2026-03", "red2@2026-03"},
    ),
    (
        "gap-stops-four",
        "连续四次亮黄灯(含红灯)",
        [("2026-01", Y), ("2026-02", R), ("2026-03", Y), ("2026-05", R)],
        {"yellow2@2026-01", "yellowred3@2026-01"},
    ),
    ("green-breaks", "连续二次亮黄灯的", [("2026-09", Y), ("2026-10", G), ("2026-11", Y)], set()),
]


@pytest.mark.parametrize(
    ("words", "lights", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CONSECUTIVE]
)
def test_consecutive_means_consecutive_months(
    words: str, lights: list[tuple[str, str]], expected: set[str]
) -> None:
    """三(六): "启动第一层级约谈问询的条件: 超限报告二次或连续二次亮黄灯的" — "连续" is read
    as consecutive calendar months; a month with no recorded light breaks a run, so a gap in
    the record never makes a false interview."""
    assert words  # the rule the case reads
    assert {f.condition for f in evaluate(lights, [], [], fired=())} == expected


def test_a_late_light_filling_the_gap_makes_the_run_then_and_fires_once() -> None:
    """ "连续三次亮黄灯(含红灯)": September and November alone meet nothing; October, recorded
    late, joins them into a run of three, which fires then, once."""
    lights = [("2026-09", Y), ("2026-11", Y)]
    assert evaluate(lights, [], [], fired=()) == []
    lights.append(("2026-10", R))
    found = evaluate(lights, [], [], fired=())
    assert {f.condition: f.tier for f in found} == {"yellowred3@2026-09": 2, "yellow2@2026-09": 1}
    assert found[0].evidence == "2026年9月黄灯、10月红灯、11月黄灯"
    assert evaluate(lights, [], [], fired={f.condition for f in found}) == []


def test_a_light_joining_two_runs_fires_no_kind_again() -> None:
    """ "连续四次亮黄灯(含红灯)": two runs of two (each fired 连续二次亮黄灯) joined by the light
    between them make a run of five: the longer conditions fire, 连续二次 not again."""
    fired = {"yellow2@2026-01", "yellow2@2026-04"}
    lights = [("2026-01", Y), ("2026-02", Y), ("2026-04", Y), ("2026-05", Y)]
    assert evaluate(lights, [], [], fired) == []
    lights.append(("2026-03", Y))
    found = evaluate(lights, [], [], fired)
    assert {f.condition for f in found} == {"yellowred3@2026-01", "yellowred4@2026-01"}


def test_in_chat_a_late_light_fills_the_gap_and_proposes_once(world: World) -> None:
    """ "连续二次亮黄灯的": 9月 and 11月 yellow are no run; 10月 recorded late makes one."""
    world.at(2026, 11, 24, 10, 0)
    add(world)
    assert world.must("office_admin", "亮灯 督1 黄 9月") == []
    assert world.must("office_admin", "亮灯 督1 黄 11月") == []  # October missing: no run
    out = world.must("office_admin", "亮灯 督1 黄 10月")
    assert "连续三次亮黄灯（含红灯）：2026年9月黄灯、10月黄灯、11月黄灯" in out[0].text
    assert world.must("office_admin", "亮灯 督1 红 10月") == []  # a change: nothing again


# --- "酌情启动约谈问询": proposals ---------------------------------------------------------


def f(tier: int, key: str) -> Firing:
    return Firing(tier, key, "r", "e")


@pytest.mark.parametrize(
    ("new", "started", "expected"),
    [
        pytest.param([], set(), Decision([], [], []), id="nothing"),
        pytest.param([f(1, "a")], set(), Decision([f(1, "a")], [], []), id="propose-tier-1"),
        pytest.param(
            [f(2, "b"), f(1, "a")], set(), Decision([f(2, "b")], [f(1, "a")], []), id="top-tier"
        ),
        pytest.param([f(1, "a")], {2}, Decision([], [f(1, "a")], []), id="started-above"),
        pytest.param([f(2, "b")], {1}, Decision([f(2, "b")], [], []), id="supersedes-nothing-yet"),
    ],
)
def test_propose(new: list[Firing], started: set[int], expected: Decision) -> None:
    """三(六): "对纳入区级机关绩效考核的工作，酌情启动约谈问询" — a proposal at the highest new
    tier; only an interview started at that tier or above absorbs it; nothing is superseded
    until the office starts one."""
    assert propose(new, started) == expected


def test_a_met_condition_is_proposed_to_the_office_only(world: World) -> None:
    """ "酌情启动约谈问询": the bot proposes (who interviews whom, the rule, the evidence) to
    the office admins and the office group; the interviewer and interviewee hear nothing."""
    world.at(2026, 11, 24, 10, 0)
    add(world)
    world.must("office_admin", "亮灯 督1 黄 9月")
    out = world.must("office_admin", "亮灯 督1 黄 10月")
    assert recipients(out) == {("oto", ADMIN), ("group", OFFICE_GROUP)}
    (to_admin,) = [m for m in out if m.channel == "oto"]
    assert to_admin.text.startswith("【约谈建议】督1 臭氧污染防治攻坚")
    assert "第一层级约谈问询：赵处约谈孙内勤" in to_admin.text
    assert "连续二次亮黄灯：2026年9月黄灯、10月黄灯" in to_admin.text
    assert [a.command for a in to_admin.actions] == [
        "启动约谈 督1 一级",
        "不约谈 督1 一级",
        "查看 督1",
    ]
    assert [a.needs_text for a in to_admin.actions] == [False, True, False]
    assert interviews(world) == [(1, "yellow2@2026-09", "proposed")]
    outcome, _ = world.run("office_admin", "查看 督1")
    assert "第一层级约谈问询（待决定）：连续二次亮黄灯" in outcome.reply

    world.at(2026, 11, 24, 11, 0)
    outcome, out = world.run("office_admin", "启动约谈 督1")
    assert outcome.ok and "已启动督1 臭氧污染防治攻坚的第一层级约谈问询" in outcome.reply
    assert recipients(out) == {
        ("oto", "u-air-head"),
        ("oto", "u-air-clerk"),
        ("group", AIR_GROUP),
        ("group", OFFICE_GROUP),  # which saw the proposal: told it was started, and by whom
    }
    assert out[0].text.startswith("【第一层级约谈问询】督1")
    (office,) = [m for m in out if m.target == OFFICE_GROUP]
    assert (
        office.text
        == "【约谈建议】督1 臭氧污染防治攻坚：王敏已启动第一层级约谈问询，已通知约谈双方。"
    )
    assert interviews(world) == [(1, "yellow2@2026-09", "open")]
    outcome, _ = world.run("office_admin", "查看 督1")
    assert (
        "第一层级约谈问询（待约谈）：连续二次亮黄灯（王敏11月24日(周二) 11:00启动）"
        in outcome.reply
    )


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("propose", {("oto", ADMIN), ("group", OFFICE_GROUP)}),
        ("auto", {("oto", "u-air-head"), ("oto", "u-air-clerk"), ("group", AIR_GROUP)}),
    ],
)
def test_proposals_or_automatic_start(world: World, start: str, expected: set[object]) -> None:
    """ "酌情启动约谈问询": ``[interviews] start`` "propose" (the default) asks the office;
    "auto" keeps the automatic start for offices that want it."""
    world.at(2026, 11, 24, 10, 0)
    settings(world, start=start)
    add(world)
    world.must("office_admin", "亮灯 督1 黄 9月")
    out = world.must("office_admin", "亮灯 督1 黄 10月")
    assert recipients(out) == expected
    state = "proposed" if start == "propose" else "open"
    assert interviews(world) == [(1, "yellow2@2026-09", state)]


def test_a_declined_condition_is_never_proposed_again(world: World) -> None:
    """ "酌情启动约谈问询": the office declines with a reason (recorded: who, when, why); the
    same condition is never proposed again, a new one is."""
    world.at(2026, 11, 24, 10, 0)
    add(world)
    world.must("office_admin", "亮灯 督1 黄 9月")
    world.must("office_admin", "亮灯 督1 黄 10月")
    outcome, out = world.run("office_admin", "不约谈 督1 一级 已约请处室当面说明，整改到位")
    assert outcome.ok and recipients(out) == {("group", OFFICE_GROUP)}  # nobody else
    assert out[0].text == (
        "【约谈建议】督1 臭氧污染防治攻坚：王敏决定不启动第一层级约谈问询。"
        "理由：已约请处室当面说明，整改到位"
    )
    assert "理由：已约请处室当面说明，整改到位" in outcome.reply
    with world.db.sessions() as s:
        row = s.scalars(select(Interview)).one()
        assert (row.state, row.decided_by, row.reason) == (
            "declined",
            ADMIN,
            "已约请处室当面说明，整改到位",
        )
        assert row.decided_at == world.now
    # the same run, its lights changed or recorded again: nothing is proposed again
    assert world.must("office_admin", "亮灯 督1 红 10月") == []
    assert world.must("office_admin", "亮灯 督1 黄 10月") == []
    outcome, _ = world.run("office_admin", "启动约谈 督1")
    assert not outcome.ok and "没有待决定的约谈建议" in outcome.reply
    outcome, _ = world.run("office_admin", "查看 督1")
    assert "（不约谈）：连续二次亮黄灯（王敏11月24日(周二) 10:00决定不约谈：已约请" in outcome.reply
    # a new condition (tier 2's 连续三次) is a new proposal, naming only itself
    out = world.must("office_admin", "亮灯 督1 黄 11月")
    assert "连续三次亮黄灯（含红灯）" in out[0].text and "连续二次亮黄灯：" not in out[0].text


def test_several_proposals_name_their_tier(world: World) -> None:
    """ "酌情启动约谈问询": with proposals of two tiers waiting on one matter, the command
    names the tier (一级/二级/三级); the office may decline one and start the other."""
    world.at(2026, 11, 24, 10, 0)
    add(world)
    world.must("office_admin", "亮灯 督1 黄 9月")
    world.must("office_admin", "亮灯 督1 红 10月")  # tier 1 proposed
    world.must("office_admin", "点名 督1 区分管领导 11月全区生态环境大会上点名进度滞后")  # tier 2
    outcome, _ = world.run("office_admin", "启动约谈 督1")
    assert not outcome.ok
    assert "有2个约谈建议待决定" in outcome.reply
    assert "「启动约谈 督1 一级」或「启动约谈 督1 二级」" in outcome.reply
    outcome, _ = world.run("office_admin", "待办")
    assert outcome.reply.count("约谈建议待决定") == 2
    outcome, _ = world.run("office_admin", "启动约谈 督1 三级")
    assert not outcome.ok and "没有待决定的第三层级约谈问询建议" in outcome.reply
    world.must("office_admin", "不约谈 督1 第二层级 已由区分管领导当场协调")
    out = world.must("office_admin", "启动约谈 督1")  # the one left: tier 1
    assert "【第一层级约谈问询】督1" in out[0].text
    assert [s for _, _, s in interviews(world)] == ["open", "declined"]


def test_starting_a_higher_tier_supersedes_the_lower_proposal(world: World) -> None:
    """ "酌情启动约谈问询": the office starts tier 2; the waiting tier-1 proposal is superseded."""
    world.at(2026, 11, 24, 10, 0)
    add(world)
    world.must("office_admin", "亮灯 督1 黄 9月")
    world.must("office_admin", "亮灯 督1 红 10月")
    world.must("office_admin", "严重滞后 督1 区分管 区分管领导督查时指出进度严重滞后")
    out = world.must("office_admin", "启动约谈 督1 二级")
    assert recipients(out) == {
        ("oto", "u-deputy-1"),
        ("oto", "u-air-head"),
        ("group", AIR_GROUP),
        ("group", OFFICE_GROUP),
    }
    assert [(t, s) for t, _, s in interviews(world)] == [(1, "superseded"), (2, "open")]


# --- "点名批评、推进进度严重滞后" ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "level", "key", "tier", "words"),
    [
        ("named", "district_deputy", "named_deputy@7", 2, "区分管领导在全区性会议上点名批评"),
        ("lagging", "district_deputy", "lagging_deputy@7", 2, "推进进度严重滞后（区分管领导）"),
        ("named", "district_principal", "named_principal@7", 3, "区主要领导在全区性会议上点名批评"),
        (
            "lagging",
            "district_principal",
            "lagging_principal@7",
            3,
            "推进进度严重滞后（区主要领导）",
        ),
    ],
)
def test_criticism_and_lagging_tiers(
    kind: str, level: str, key: str, tier: int, words: str
) -> None:
    """三(六): tier 2 "区分管领导在全区性会议上点名批评、推进进度严重滞后的"; tier 3
    "区主要领导在全区性会议上点名批评、推进进度严重滞后的" — each event a condition."""
    event = Criticism(7, level, dt.date(2026, 11, 20), "年度目标完成不到三成", kind)  # type: ignore[arg-type]
    (found,) = evaluate([], [], [event], fired=())
    assert (found.condition, found.tier, found.rule) == (key, tier, words)
    assert found.evidence == "2026年11月20日：年度目标完成不到三成"
    assert evaluate([], [], [event], fired={key}) == []


@pytest.mark.parametrize(
    ("level", "tier", "pair"),
    [
        ("区分管", "第二层级约谈问询", "陈副局约谈赵处"),
        ("区主要", "第三层级约谈问询", "张局约谈陈副局"),
    ],
)
def test_lagging_recorded_on_its_own(world: World, level: str, tier: str, pair: str) -> None:
    """ "推进进度严重滞后的" can be recorded on its own (严重滞后) as the trigger of tier 2
    (区分管领导) or tier 3 (区主要领导); the note is kept and shown."""
    world.at(2026, 11, 24, 10, 0)
    add(world)
    outcome, out = world.run("office_admin", f"严重滞后 督1 {level} 年度目标完成不到三成")
    assert outcome.ok and "推进进度严重滞后" in outcome.reply
    assert recipients(out) == {("oto", ADMIN), ("group", OFFICE_GROUP)}
    assert f"{tier}：{pair}" in out[0].text
    assert "推进进度严重滞后（" in out[0].text and "11月24日：年度目标完成不到三成" in out[0].text
    outcome, _ = world.run("office_admin", "查看 督1")
    assert "11月24日 推进进度严重滞后（区" in outcome.reply


def test_named_criticism_keeps_its_reason(world: World) -> None:
    """ "区分管领导在全区性会议上点名批评": 点名 records the meeting and what was said."""
    world.at(2026, 11, 24, 10, 0)
    add(world, "局重点工作 大气处 孙内勤 局重点项目")  # not ★: recorded, no interview
    outcome, out = world.run("office_admin", "点名 督1 区分管领导 11月全区大会：扬尘整治滞后")
    assert outcome.ok and out == [] and "不启动约谈问询" in outcome.reply
    outcome, _ = world.run("office_admin", "查看 督1")
    assert "11月24日 区分管领导点名批评：11月全区大会：扬尘整治滞后" in outcome.reply
    assert texts.criticism_label("named", "district_deputy") == "区分管领导点名批评"


def test_a_condition_met_later_at_a_waiting_tier_joins_its_proposal(world: World) -> None:
    """ "区分管领导在全区性会议上点名批评…的" while tier 2's "连续二次亮红灯" waits: the office is
    shown both, and starting it opens one interview naming both."""
    world.at(2026, 11, 24, 10, 0)
    add(world)
    world.must("office_admin", "亮灯 督1 红 10月")
    world.must("office_admin", "亮灯 督1 红 11月")  # tier 2 (tier 1 absorbed)
    out = world.must("office_admin", "点名 督1 区分管领导 全区大会上点名")
    assert "· 连续二次亮红灯：2026年10月红灯、11月红灯" in out[0].text
    assert "· 区分管领导在全区性会议上点名批评：2026年11月24日：全区大会上点名" in out[0].text
    outcome, _ = world.run("office_admin", "待办")
    assert outcome.reply.count("约谈建议待决定") == 1
    out = world.must("office_admin", "启动约谈 督1")
    assert "连续二次亮红灯：" in out[0].text and "点名批评：" in out[0].text
    states = sorted(s for _, _, s in interviews(world))
    assert states == ["absorbed", "absorbed", "open"]
    outcome, _ = world.run("director", "统计 11月")
    assert "约谈1" in outcome.reply and "约谈建议" not in outcome.reply


def test_statistics_show_the_waiting_proposals(world: World, tmp_path: Path) -> None:
    """统计 and the workbook: the proposals awaiting the office's decision, per department."""
    world.at(2026, 11, 24, 10, 0)
    add(world)
    world.must("office_admin", "亮灯 督1 黄 10月")
    world.must("office_admin", "亮灯 督1 黄 11月")
    outcome, _ = world.run("director", "统计 11月")
    assert "**大气环境处** 黄灯1 · 约谈建议待决定1" in outcome.reply
    path = tmp_path / "stats.xlsx"
    start = dt.datetime(2026, 11, 1, tzinfo=world.cal.tz)
    with world.db.sessions() as session:
        end = dt.datetime(2026, 12, 1, tzinfo=world.cal.tz)
        export_stats(session, world.roster, path, start, end, world.now)
    sheet = openpyxl.load_workbook(path)[texts.XLSX_SUMMARY]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(values_only=True)}
    assert rows["大气环境处"]["约谈建议待决定"] == 1
    assert rows["大气环境处"]["在办约谈"] == 0
    assert rows[texts.XLSX_TOTAL]["约谈建议待决定"] == 1
