"""The year-end score's pure rules (attachment 5): each veto fires on exactly its condition,
the 及时度 deduction follows the setting, every line carries its evidence."""

from __future__ import annotations

import pytest

from config.score import ScoreRules
from handlers.score.plan import PlanFacts
from handlers.score.rules import (
    CLARITY,
    COMPLETION,
    TIMELY,
    Adjustment,
    DeptInput,
    LateReport,
    MatterLights,
    late_deduction,
    notes,
    score,
)

KEY = "区委区政府重点工作"
RULES = ScoreRules()
PLAN = PlanFacts(tasks=4, complete=4, off_platform_behind=[])


def key_work(*lights: tuple[str, str], ref: str = "督1 河道整治") -> MatterLights:
    return MatterLights(ref, KEY, True, tuple(lights))


def star(*lights: tuple[str, str], ref: str = "督2 臭氧走航") -> MatterLights:
    return MatterLights(ref, "大调研工作", True, tuple(lights))


# "区委区府重点工作以区督查平台年底是否亮灯为一票否决。"
YEAR_END = [
    ("december red", [key_work(("2026-12", "red"))], RULES, True),
    ("december yellow", [key_work(("2026-12", "yellow"))], RULES, True),
    (
        "december green after a red",
        [key_work(("2026-11", "red"), ("2026-12", "green"))],
        RULES,
        False,
    ),
    ("november yellow, no december: not judged", [key_work(("2026-11", "yellow"))], RULES, False),
    (
        "last light yellow (setting last)",
        [key_work(("2026-11", "yellow"))],
        ScoreRules(year_end_light="last"),
        True,
    ),
    (
        "last light green (setting last)",
        [key_work(("2026-10", "red"), ("2026-11", "green"))],
        ScoreRules(year_end_light="last"),
        False,
    ),
    (
        "last year's december red",
        [key_work(("2025-12", "red"), ("2026-12", "green"))],
        RULES,
        False,
    ),
    ("not a key work: yellow in december", [star(("2026-12", "yellow"))], RULES, False),
]

# "过程中亮两次红灯同为一票否决。"
TWO_REDS = [
    ("two reds, not consecutive", [star(("2026-03", "red"), ("2026-07", "red"))], True),
    ("two reds, consecutive", [star(("2026-03", "red"), ("2026-04", "red"))], True),
    ("one red", [star(("2026-03", "red"))], False),
    ("a red and a yellow", [star(("2026-03", "red"), ("2026-04", "yellow"))], False),
    ("reds in two years", [star(("2025-12", "red"), ("2026-01", "red"))], False),
    (
        "two reds on two matters",
        [star(("2026-03", "red")), star(("2026-05", "red"), ref="督3 扬尘")],
        False,
    ),
    (
        "two reds, not ★",
        [MatterLights("督4 局工作", "局重点工作", False, (("2026-03", "red"), ("2026-04", "red")))],
        False,
    ),
]


@pytest.mark.parametrize(
    ("name", "matters", "rules", "vetoed"), YEAR_END, ids=[c[0] for c in YEAR_END]
)
def test_year_end_light_veto(
    name: str, matters: list[MatterLights], rules: ScoreRules, vetoed: bool
) -> None:
    result = score(DeptInput("大气环境处", PLAN, matters=matters), 2026, rules)
    assert bool(result.vetoes) is vetoed
    completion = result.line(COMPLETION)
    assert completion.points == (0 if vetoed else 12)
    if vetoed:
        (veto,) = result.vetoes
        assert "督1 河道整治" in veto and "年底亮灯" in veto
        assert veto in completion.evidence


def test_year_end_light_names_month_and_colour() -> None:
    result = score(
        DeptInput("大气环境处", PLAN, matters=[key_work(("2026-12", "yellow"))]), 2026, RULES
    )
    assert result.vetoes == ["一票否决：督1 河道整治（区委区政府重点工作）年底亮灯为2026年12月黄灯"]


def test_a_key_work_without_a_december_light_is_listed_not_vetoed() -> None:
    result = score(
        DeptInput("大气环境处", PLAN, matters=[key_work(("2026-11", "red"))]), 2026, RULES
    )
    assert result.vetoes == []
    assert any(e.startswith("未判定：督1 河道整治") for e in result.line(COMPLETION).evidence)


@pytest.mark.parametrize(("name", "matters", "vetoed"), TWO_REDS, ids=[c[0] for c in TWO_REDS])
def test_two_reds_veto(name: str, matters: list[MatterLights], vetoed: bool) -> None:
    result = score(DeptInput("大气环境处", PLAN, matters=matters), 2026, RULES)
    assert bool(result.vetoes) is vetoed
    if vetoed:
        assert result.vetoes[0].startswith("一票否决：督2 臭氧走航过程中两次亮红灯（2026年")


# "其它不在区督查平台的重点工作，与年初计划对表，完成情况与年初计划差距明显的工作一票否决。"
@pytest.mark.parametrize(
    ("behind", "vetoed"),
    [([("任务3 土壤普查", "节点2026年6月30日逾期40个工作日")], True), ([], False)],
)
def test_off_platform_behind_plan_veto(behind: list[tuple[str, str]], vetoed: bool) -> None:
    plan = PlanFacts(tasks=3, complete=3, off_platform_behind=behind)
    result = score(DeptInput("土壤处", plan), 2026, RULES)
    assert bool(result.vetoes) is vetoed
    if vetoed:
        assert result.vetoes == [
            "一票否决：任务3 土壤普查不在区督查平台，与年初计划差距明显"
            "（节点2026年6月30日逾期40个工作日）"
        ]


def test_a_veto_zeroes_completion_or_the_total_per_setting() -> None:
    dept = DeptInput("大气环境处", PLAN, matters=[key_work(("2026-12", "red"))])
    part = score(dept, 2026, RULES)
    assert [line.points for line in part.lines] == [3, 5, 0] and part.total == 8
    whole = score(dept, 2026, ScoreRules(veto="total"))
    assert [line.points for line in whole.lines] == [0, 0, 0] and whole.total == 0


def test_an_adjustment_does_not_lift_a_veto() -> None:
    dept = DeptInput(
        "大气环境处",
        PLAN,
        matters=[key_work(("2026-12", "red"))],
        adjustments=[Adjustment("成效情况", 2, "成效明显", "王主任")],
    )
    assert score(dept, 2026, RULES).line(COMPLETION).points == 0


# "及时度(5 分)。推进情况报送工作,根据局办书面要求三次报送滞后的,扣分。"
@pytest.mark.parametrize(
    ("late", "threshold", "per", "points"),
    [
        (0, 3, 1, 5),
        (2, 3, 1, 5),  # a near miss: two late reports
        (3, 3, 1, 4),
        (5, 3, 1, 2),
        (9, 3, 1, 0),  # never below 0
        (3, 3, 2, 3),
        (2, 2, 1, 4),
        (4, 5, 1, 5),
    ],
)
def test_timeliness_deduction_follows_the_setting(
    late: int, threshold: int, per: int, points: int
) -> None:
    rules = ScoreRules(late_threshold=threshold, deduction_per_late=per)
    reports = [LateReport(f"督{i} 事项", "2026年3月填报", "3月31日") for i in range(late)]
    line = score(DeptInput("大气环境处", PLAN, late=reports), 2026, rules).line(TIMELY)
    assert line.points == points
    assert line.evidence[0] == f"报送滞后{late}次，扣{late_deduction(late, rules)}分"
    assert len(line.evidence) == 1 + late
    assert all("时限3月31日" in e for e in line.evidence[1:])


@pytest.mark.parametrize(
    ("plan", "setting", "points"),
    [
        (PlanFacts(4, 4, []), "full", 3),
        (PlanFacts(4, 2, []), "full", 1.5),
        (PlanFacts(0, 0, []), "full", 0),
        (None, "full", 3),
        (None, "zero", 0),
    ],
)
def test_clarity_from_the_task_book(plan: PlanFacts | None, setting: str, points: float) -> None:
    rules = ScoreRules(no_taskbook=setting)  # type: ignore[arg-type]
    line = score(DeptInput("大气环境处", plan), 2026, rules).line(CLARITY)
    assert line.points == points
    assert line.evidence  # says why


def test_adjustments_land_on_their_line_clamped_with_their_reason() -> None:
    dept = DeptInput(
        "大气环境处",
        PlanFacts(4, 2, []),
        adjustments=[
            Adjustment("目标清晰度", 1, "补充了节点", "王主任"),
            Adjustment("协同情况", -3, "协同不力", "王主任"),
            Adjustment("完成情况", 5, "超额完成", "王主任"),
        ],
    )
    result = score(dept, 2026, RULES)
    assert result.line(CLARITY).points == 2.5
    assert result.line(COMPLETION).adjust == 2 and result.line(COMPLETION).points == 12
    assert "局办公室调整「协同情况」-3分：协同不力（王主任）" in result.line(COMPLETION).evidence
    assert result.total == 19.5


def test_every_line_carries_evidence_and_notes_state_the_settings() -> None:
    result = score(DeptInput("大气环境处", None), 2026, RULES)
    assert all(line.evidence for line in result.lines)
    text = "\n".join(
        notes(ScoreRules(late_threshold=4, deduction_per_late=2, veto="total"), 2026, False)
    )
    assert "第4次起每次扣2分" in text and "该处室总分计0分" in text
    assert "以2026年12月的亮灯为准" in text and "尚无工作任务书" in text
