"""The year-end score of one department (attachment 5 of the document): pure rules, no I/O.

目标清晰度 (3) from the task book's facts; 及时度 (5) from the year's late reports; 完成度
(12) with the one-vote vetoes; the office's adjustments on top. Every line carries its
evidence; the vetoes name theirs (matter, months, colours). The readings where the document
is silent are the roster's ``[score]`` settings (config.score), listed by ``notes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from config.score import ScoreRules
from handlers import texts
from handlers.score.plan import PlanFacts

CLARITY, TIMELY, COMPLETION = "目标清晰度", "及时度", "完成度"
FULL = {CLARITY: 3, TIMELY: 5, COMPLETION: 12}
# What the office may adjust, and the line each counts in (三(七): 完成情况、成效情况、协同情况
# are the office's judgment of the work, so they count in 完成度).
ADJUSTABLE = {
    CLARITY: CLARITY,
    TIMELY: TIMELY,
    "完成情况": COMPLETION,
    "成效情况": COMPLETION,
    "协同情况": COMPLETION,
}
DISTRICT_KEY_WORK = "区委区政府重点工作"


@dataclass(frozen=True)
class MatterLights:
    """A matter of the department with its lights of the year: (YYYY-MM, colour)."""

    ref: str  # 督3 名称
    category: str
    star: bool
    lights: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LateReport:
    ref: str  # 督3 名称
    what: str  # 2026年3月填报, 批示件反馈
    due: str  # the deadline, as the reader reads it


@dataclass(frozen=True)
class Adjustment:
    item: str  # a key of ADJUSTABLE
    points: float
    reason: str
    by: str  # a name


@dataclass(frozen=True)
class DeptInput:
    name: str
    plan: PlanFacts | None  # None: no task book for the department
    late: Sequence[LateReport] = ()
    matters: Sequence[MatterLights] = ()
    adjustments: Sequence[Adjustment] = ()


@dataclass
class Line:
    item: str
    full: int
    base: float  # from the data
    adjust: float = 0.0
    points: float = 0.0
    evidence: list[str] = field(default_factory=list)


@dataclass
class DeptScore:
    name: str
    lines: list[Line]
    vetoes: list[str]
    total: float

    def line(self, item: str) -> Line:
        return next(line for line in self.lines if line.item == item)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lines": [vars(line) | {"evidence": list(line.evidence)} for line in self.lines],
            "vetoes": list(self.vetoes),
            "total": self.total,
        }


def _clamp(value: float, full: int) -> float:
    return round(min(max(value, 0.0), float(full)), 1)


def clarity(plan: PlanFacts | None, rules: ScoreRules) -> Line:
    """ "形成工作任务项目化、项目清单化、清单计划化的不扣分": full marks when every task has
    its target, milestones, measures and responsible person; else in proportion."""
    full = FULL[CLARITY]
    if plan is None:
        base = float(full) if rules.no_taskbook == "full" else 0.0
        return Line(CLARITY, full, base, evidence=[texts.score_no_taskbook(rules.no_taskbook)])
    if plan.tasks == 0:
        return Line(CLARITY, full, 0.0, evidence=[texts.SCORE_NO_TASKS])
    base = round(full * plan.complete / plan.tasks, 1)
    return Line(CLARITY, full, base, evidence=[texts.score_plan(plan.tasks, plan.complete)])


def late_deduction(count: int, rules: ScoreRules) -> int:
    """ "三次报送滞后的，扣分": the late report numbered ``late_threshold`` and each after it
    deduct ``deduction_per_late`` points."""
    return max(0, count - rules.late_threshold + 1) * rules.deduction_per_late


def timely(late: Sequence[LateReport], rules: ScoreRules) -> Line:
    full = FULL[TIMELY]
    deduction = late_deduction(len(late), rules)
    evidence = [texts.score_late_count(len(late), deduction)]
    evidence += [texts.score_late_line(r.ref, r.what, r.due) for r in late]
    return Line(TIMELY, full, _clamp(full - deduction, full), evidence=evidence)


def year_end_light(
    lights: Sequence[tuple[str, str]], year: int, rules: ScoreRules
) -> tuple[str, str] | None:
    """The light that counts as "年底": December's, or the last of the year; None: none."""
    of_year = sorted(p for p in lights if p[0].startswith(f"{year}-"))
    if rules.year_end_light == "december":
        return next((p for p in of_year if p[0] == f"{year}-12"), None)
    return of_year[-1] if of_year else None


def vetoes(
    matters: Sequence[MatterLights], plan: PlanFacts | None, year: int, rules: ScoreRules
) -> tuple[list[str], list[str]]:
    """The one-vote vetoes of 完成度 and the notes (a key work with no year-end light)."""
    found: list[str] = []
    notes: list[str] = []
    for matter in matters:
        if matter.category == DISTRICT_KEY_WORK:
            # "区委区府重点工作以区督查平台年底是否亮灯为一票否决"
            end = year_end_light(matter.lights, year, rules)
            if end is None:
                notes.append(texts.score_no_year_end_light(matter.ref, year, rules.year_end_light))
            elif end[1] != "green":
                found.append(
                    texts.score_veto_year_end(matter.ref, texts.period_label(end[0]), end[1])
                )
        if matter.star:
            # "过程中亮两次红灯同为一票否决"
            reds = sorted(p for p, c in matter.lights if c == "red" and p.startswith(f"{year}-"))
            if len(reds) >= 2:
                months = "、".join(texts.period_label(p) for p in reds)
                found.append(texts.score_veto_two_reds(matter.ref, months))
    if plan is not None:
        # "其它不在区督查平台的重点工作，与年初计划对表，完成情况与年初计划差距明显的工作一票否决"
        for task, evidence in plan.off_platform_behind:
            found.append(texts.score_veto_behind(task, evidence))
    return found, notes


def _adjust(line: Line, adjustments: Sequence[Adjustment]) -> None:
    for adj in adjustments:
        if ADJUSTABLE.get(adj.item) == line.item:
            line.adjust = round(line.adjust + adj.points, 1)
            line.evidence.append(texts.score_adjust_line(adj.item, adj.points, adj.reason, adj.by))


def score(dept: DeptInput, year: int, rules: ScoreRules) -> DeptScore:
    """One department's score: the lines, the vetoes, the total."""
    found, notes = vetoes(dept.matters, dept.plan, year, rules)
    completion = Line(COMPLETION, FULL[COMPLETION], float(FULL[COMPLETION]))
    completion.evidence += found or [texts.SCORE_NO_VETO]
    completion.evidence += notes
    lines = [clarity(dept.plan, rules), timely(dept.late, rules), completion]
    for line in lines:
        _adjust(line, dept.adjustments)
        line.points = _clamp(line.base + line.adjust, line.full)
    if found:
        # a veto is absolute: the office's adjustments do not lift it
        for line in lines if rules.veto == "total" else [completion]:
            line.points = 0.0
    total = round(sum(line.points for line in lines), 1)
    return DeptScore(dept.name, lines, found, total)


def notes(rules: ScoreRules, year: int, has_taskbook: bool) -> list[str]:
    """评分说明: every reading and setting in force, as the score sheet prints them."""
    return texts.score_notes(
        year,
        rules.late_threshold,
        rules.deduction_per_late,
        rules.year_end_light,
        rules.veto,
        rules.no_taskbook,
        has_taskbook,
    )
