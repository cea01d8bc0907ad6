from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from handlers import texts
from handlers.lights.ladder import TIER_ROLES, Criticism, Decision, Firing, decide, evaluate

Y, R, G = "yellow", "red", "green"
DEPUTY = Criticism(17, "district_deputy", dt.date(2026, 4, 15), "黄浦江沿岸整治推进滞后")
PRINCIPAL = Criticism(18, "district_principal", dt.date(2026, 6, 3), "")


def lights(start: str, *colors: str) -> list[tuple[str, str]]:
    """Lights for consecutive months from `start`."""
    year, month = map(int, start.split("-"))
    out = []
    for color in colors:
        out.append((f"{year}-{month:02d}", color))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


# (id, lights, late periods, criticisms, {condition: tier})
CASES: list[tuple[str, list[tuple[str, str]], list[str], list[Criticism], dict[str, int]]] = [
    ("nothing", [], [], [], {}),
    ("one-yellow", lights("2026-03", Y), [], [], {}),
    ("greens", lights("2026-01", G, G, G, G), [], [], {}),
    ("two-yellow", lights("2026-03", Y, Y), [], [], {"yellow2@2026-03": 1}),
    ("yellow-red", lights("2026-03", Y, R), [], [], {"yellow2@2026-03": 1}),
    ("red-yellow", lights("2026-03", R, Y), [], [], {"yellow2@2026-03": 1}),
    ("green-breaks", lights("2026-03", Y, G, Y), [], [], {}),
    ("green-breaks-reds", lights("2026-03", R, G, R), [], [], {}),
    # "连续": consecutive calendar months; a month with no recorded light breaks a run
    ("missing-month-breaks-run", [("2026-03", Y), ("2026-06", Y)], [], [], {}),
    (
        "missing-month-breaks-reds",
        [("2026-03", R), ("2026-04", R), ("2026-06", R)],
        [],
        [],
        {"yellow2@2026-03": 1, "red2@2026-03": 2},
    ),
    ("any-order", [("2026-05", Y), ("2026-04", G), ("2026-06", Y)], [], [], {"yellow2@2026-05": 1}),
    (
        "gap-then-consecutive",
        [("2026-06", Y), ("2026-03", Y), ("2026-05", Y)],
        [],
        [],
        {"yellow2@2026-05": 1},
    ),
    ("across-years", [("2025-12", Y), ("2026-01", R)], [], [], {"yellow2@2025-12": 1}),
    (
        "three-yellow",
        lights("2026-03", Y, Y, Y),
        [],
        [],
        {"yellow2@2026-03": 1, "yellowred3@2026-03": 2},
    ),
    (
        "yellow-yellow-red",
        lights("2026-03", Y, Y, R),
        [],
        [],
        {"yellow2@2026-03": 1, "yellowred3@2026-03": 2},
    ),
    ("two-red", lights("2026-05", R, R), [], [], {"yellow2@2026-05": 1, "red2@2026-05": 2}),
    (
        "red-yellow-red",
        lights("2026-05", R, Y, R),
        [],
        [],
        {"yellow2@2026-05": 1, "yellowred3@2026-05": 2},
    ),
    (
        "yellow-red-red",
        lights("2026-03", Y, R, R),
        [],
        [],
        {"yellow2@2026-03": 1, "yellowred3@2026-03": 2, "red2@2026-04": 2},
    ),
    (
        "four-mixed",
        lights("2026-03", Y, R, Y, R),
        [],
        [],
        {"yellow2@2026-03": 1, "yellowred3@2026-03": 2, "yellowred4@2026-03": 3},
    ),
    (
        "three-red",
        lights("2026-03", R, R, R),
        [],
        [],
        {"yellow2@2026-03": 1, "yellowred3@2026-03": 2, "red2@2026-03": 2, "red3@2026-03": 3},
    ),
    (
        "yellow-then-three-red",
        lights("2026-03", Y, R, R, R),
        [],
        [],
        {
            "yellow2@2026-03": 1,
            "yellowred3@2026-03": 2,
            "yellowred4@2026-03": 3,
            "red2@2026-04": 2,
            "red3@2026-04": 3,
        },
    ),
    (
        "new-run-after-green",
        lights("2026-01", Y, Y, G, R, Y),
        [],
        [],
        {"yellow2@2026-01": 1, "yellow2@2026-04": 1},
    ),
    (
        "two-red-runs",
        lights("2026-01", R, R, G, R, R),
        [],
        [],
        {"yellow2@2026-01": 1, "red2@2026-01": 2, "yellow2@2026-04": 1, "red2@2026-04": 2},
    ),
    ("late-1", [], ["2026-02"], [], {}),
    ("late-2", [], ["2026-05", "2026-02"], [], {"late2@2026": 1}),
    ("late-3", [], ["2026-02", "2026-05", "2026-09"], [], {"late2@2026": 1, "late3@2026": 2}),
    (
        "late-4",
        [],
        ["2026-02", "2026-05", "2026-09", "2026-10"],
        [],
        {"late2@2026": 1, "late3@2026": 2},
    ),
    ("late-same-month", [], ["2026-02", "2026-02"], [], {"late2@2026": 1}),
    ("late-years-apart", [], ["2025-12", "2026-01"], [], {}),
    (
        "late-per-year",
        [],
        ["2025-03", "2025-11", "2026-01", "2026-02"],
        [],
        {"late2@2025": 1, "late2@2026": 1},
    ),
    ("named-deputy", [], [], [DEPUTY], {"named_deputy@17": 2}),
    ("named-principal", [], [], [PRINCIPAL], {"named_principal@18": 3}),
    (
        "everything",
        lights("2026-03", Y, Y),
        ["2026-02", "2026-05"],
        [PRINCIPAL, DEPUTY],
        {"yellow2@2026-03": 1, "late2@2026": 1, "named_deputy@17": 2, "named_principal@18": 3},
    ),
]


def _params() -> list[Any]:
    return [pytest.param(*case[1:], id=case[0]) for case in CASES]


@pytest.mark.parametrize(("lights_", "late", "named", "expected"), _params())
def test_conditions(
    lights_: list[tuple[str, str]],
    late: list[str],
    named: list[Criticism],
    expected: dict[str, int],
) -> None:
    found = evaluate(lights_, late, named, fired=())
    assert {f.condition: f.tier for f in found} == expected
    assert len(found) == len(expected)  # no key twice
    tiers = [f.tier for f in found]
    assert tiers == sorted(tiers, reverse=True)
    for f in found:
        assert f.rule == texts.LADDER_RULES[f.condition.split("@")[0]]
        assert f.evidence


@pytest.mark.parametrize(("lights_", "late", "named", "expected"), _params())
def test_no_repeat(
    lights_: list[tuple[str, str]],
    late: list[str],
    named: list[Criticism],
    expected: dict[str, int],
) -> None:
    assert evaluate(lights_, late, named, fired=set(expected)) == []


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        ("yellow2", "连续二次亮黄灯"),
        ("late2", "超限报告二次"),
        ("yellowred3", "连续三次亮黄灯（含红灯）"),
        ("red2", "连续二次亮红灯"),
        ("late3", "超限报告超过三次（含三次）"),
        ("named_deputy", "区分管领导在全区性会议上点名批评"),
        ("yellowred4", "连续四次亮黄灯（含红灯）"),
        ("red3", "连续三次亮红灯"),
        ("named_principal", "区主要领导在全区性会议上点名批评"),
    ],
)
def test_rule_words(kind: str, rule: str) -> None:
    assert texts.LADDER_RULES[kind] == rule


def _by_key(found: list[Firing]) -> dict[str, str]:
    return {f.condition: f.evidence for f in found}


def test_evidence_mixed_run() -> None:
    found = evaluate(lights("2026-03", Y, R, Y), [], [], fired=())
    assert _by_key(found) == {
        "yellowred3@2026-03": "2026年3月黄灯、4月红灯、5月黄灯",
        "yellow2@2026-03": "2026年3月黄灯、4月红灯",
    }


def test_evidence_names_the_red_run_only() -> None:
    found = _by_key(evaluate(lights("2025-11", Y, R, R, R), [], [], fired=()))
    assert found["red3@2025-12"] == "2025年12月红灯、2026年1月红灯、2月红灯"
    assert found["yellowred4@2025-11"] == "2025年11月黄灯、12月红灯、2026年1月红灯、2月红灯"


def test_a_missing_month_makes_no_evidence() -> None:
    """ "连续二次亮黄灯": March and June are not consecutive; nothing fires."""
    assert evaluate([("2026-06", R), ("2026-03", Y)], [], [], fired=()) == []


def test_evidence_late() -> None:
    found = _by_key(evaluate([], ["2026-09", "2026-02", "2026-05", "2026-11"], [], fired=()))
    assert found == {
        "late2@2026": "超限报告2次：2026年2月、5月",
        "late3@2026": "超限报告3次：2026年2月、5月、9月",
    }
    same = evaluate([], ["2026-02", "2026-02", "2026-07"], [], fired={"late2@2026"})
    assert _by_key(same) == {"late3@2026": "超限报告3次：2026年2月（2次）、7月"}


def test_evidence_criticism() -> None:
    found = _by_key(evaluate([], [], [DEPUTY, PRINCIPAL], fired=()))
    assert found == {
        "named_principal@18": "2026年6月3日",
        "named_deputy@17": "2026年4月15日：黄浦江沿岸整治推进滞后",
    }


def test_late_fourth_fires_nothing_new() -> None:
    late = ["2026-02", "2026-05", "2026-09"]
    fired = {f.condition for f in evaluate([], late, [], fired=())}
    assert evaluate([], [*late, "2026-12"], [], fired=fired) == []
    # a new year starts a new count
    assert [f.condition for f in evaluate([], [*late, "2027-01", "2027-03"], [], fired)] == [
        "late2@2027"
    ]


def test_growing_run_fires_only_the_longer_condition() -> None:
    found = evaluate(lights("2026-03", Y, Y, R), [], [], fired={"yellow2@2026-03"})
    assert [(f.tier, f.condition) for f in found] == [(2, "yellowred3@2026-03")]


def test_run_extended_backwards_does_not_fire_again() -> None:
    # April and May fired; a late-recorded March light now starts the run
    found = evaluate(lights("2026-03", Y, Y, Y), [], [], fired={"yellow2@2026-04"})
    assert [f.condition for f in found] == ["yellowred3@2026-03"]


def test_fired_keys_of_other_runs_do_not_hide_a_new_run() -> None:
    found = evaluate(lights("2026-01", R, R, G, R, R), [], [], fired={"red2@2026-01"})
    assert {f.condition for f in found} == {"yellow2@2026-01", "yellow2@2026-04", "red2@2026-04"}


def f1(key: str = "yellow2@2026-03") -> Firing:
    return Firing(1, key, "r", "e")


def f2(key: str = "red2@2026-03") -> Firing:
    return Firing(2, key, "r", "e")


def f3(key: str = "red3@2026-03") -> Firing:
    return Firing(3, key, "r", "e")


@pytest.mark.parametrize(
    ("new", "open_tiers", "expected"),
    [
        pytest.param([], {1}, Decision([], [], []), id="nothing-new"),
        pytest.param([f1()], set(), Decision([f1()], [], []), id="first-tier-1"),
        pytest.param(
            [f2(), f1()], {1}, Decision([f2()], [f1()], [1]), id="tier-2-supersedes-tier-1"
        ),
        pytest.param(
            [f3(), f2(), f2("yellowred3@2026-02"), f1()],
            {1, 2},
            Decision([f3()], [f2(), f2("yellowred3@2026-02"), f1()], [1, 2]),
            id="tier-3-supersedes-both",
        ),
        pytest.param(
            [f2(), f2("late3@2026")],
            set(),
            Decision([f2(), f2("late3@2026")], [], []),
            id="one-interview-names-all-of-its-tier",
        ),
        pytest.param([f2()], {2}, Decision([], [f2()], []), id="same-tier-open-absorbs"),
        pytest.param([f1()], {3}, Decision([], [f1()], []), id="higher-tier-open-absorbs"),
        pytest.param(
            [f2(), f1()], {3, 1}, Decision([], [f2(), f1()], []), id="absorbed-supersedes-nothing"
        ),
    ],
)
def test_decide(new: list[Firing], open_tiers: set[int], expected: Decision) -> None:
    assert decide(new, open_tiers) == expected


Event = tuple[str, Any]


def _simulate(events: list[Event], close_after_opening: bool) -> list[tuple[int, list[str]]]:
    """Record events one by one as the bot would; the interviews opened, in order."""
    recorded: list[tuple[str, str]] = []
    late: list[str] = []
    named: list[Criticism] = []
    fired: set[str] = set()
    open_tiers: set[int] = set()
    opened: list[tuple[int, list[str]]] = []
    for kind, value in events:
        if kind == "light":
            recorded.append(value)
        elif kind == "late":
            late.append(value)
        else:
            named.append(value)
        d = decide(evaluate(recorded, late, named, fired), open_tiers)
        fired |= {f.condition for f in d.open + d.absorbed}
        open_tiers -= set(d.supersede)
        if d.open:
            opened.append((d.open[0].tier, [f.condition for f in d.open]))
            open_tiers.add(d.open[0].tier)
        if close_after_opening:
            open_tiers.clear()
    # everything met has fired: a final pass gives nothing
    assert evaluate(recorded, late, named, fired) == []
    return opened


GROWTH: list[Event] = [
    *(("light", light) for light in lights("2026-01", Y, Y, R, R, R, G, Y, Y)),
]


def test_growth_with_interviews_left_open() -> None:
    assert _simulate(GROWTH, close_after_opening=False) == [
        (1, ["yellow2@2026-01"]),
        (2, ["yellowred3@2026-01"]),
        (3, ["yellowred4@2026-01"]),  # red2@2026-03 absorbed; red3 at May absorbed too
    ]


def test_growth_with_interviews_held_and_closed() -> None:
    assert _simulate(GROWTH, close_after_opening=True) == [
        (1, ["yellow2@2026-01"]),
        (2, ["yellowred3@2026-01"]),
        (3, ["yellowred4@2026-01"]),
        (3, ["red3@2026-03"]),
        (1, ["yellow2@2026-07"]),
    ]


def test_growth_mixing_late_filings_and_criticism() -> None:
    events: list[Event] = [
        ("late", "2026-01"),
        ("light", ("2026-01", Y)),
        ("late", "2026-02"),  # tier 1
        ("light", ("2026-02", G)),
        ("light", ("2026-03", Y)),
        ("late", "2026-03"),  # tier 2
        ("light", ("2026-04", Y)),  # yellow2 absorbed under the open tier 2
        ("named", DEPUTY),  # absorbed
        ("named", PRINCIPAL),  # tier 3
        ("late", "2026-05"),  # fourth late filing: nothing
    ]
    assert _simulate(events, close_after_opening=False) == [
        (1, ["late2@2026"]),
        (2, ["late3@2026"]),
        (3, ["named_principal@18"]),
    ]


def test_tier_roles_chain() -> None:
    assert TIER_ROLES == {
        1: ("dept_head", "owner"),
        2: ("deputy", "dept_head"),
        3: ("director", "deputy"),
    }
    for tier in (1, 2):
        assert TIER_ROLES[tier + 1][1] == TIER_ROLES[tier][0]
    assert texts.ladder_heading(2, *TIER_ROLES[2]) == "第二层级约谈问询（分管局领导约谈处室负责人）"
    assert (
        texts.ladder_heading(1, *TIER_ROLES[1])
        == "第一层级约谈问询（处室负责人约谈项目具体负责人）"
    )


@pytest.mark.parametrize(
    ("lights_", "late", "named", "message"),
    [
        pytest.param([("2026-03", "blue")], [], [], "'blue'", id="unknown-colour"),
        pytest.param([("2026-03", "Yellow")], [], [], "'Yellow'", id="colour-case"),
        pytest.param([("2026-13", Y)], [], [], "'2026-13'", id="month-13"),
        pytest.param([("2026-00", Y)], [], [], "'2026-00'", id="month-0"),
        pytest.param([("2026-3", Y)], [], [], "'2026-3'", id="one-digit-month"),
        pytest.param([("２０２６-03", Y)], [], [], "'２０２６-03'", id="full-width-digits"),
        pytest.param([("2026-03 ", Y)], [], [], "'2026-03 '", id="trailing-space"),
        pytest.param([("2026-03", Y), ("2026-03", R)], [], [], "2026-03", id="period-twice"),
        pytest.param([], ["2026/03"], [], "'2026/03'", id="late-slash"),
        pytest.param(
            [],
            [],
            [Criticism(5, "town", dt.date(2026, 1, 5), "")],  # type: ignore[arg-type]
            "'town'",
            id="unknown-level",
        ),
        pytest.param([], [], [DEPUTY, DEPUTY], "17", id="criticism-twice"),
    ],
)
def test_invalid(
    lights_: list[tuple[str, str]], late: list[str], named: list[Criticism], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(lights_, late, named, fired=())
