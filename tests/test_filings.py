"""Monthly filing schedules, the 批示件 clocks, periods, and the [filings] roster section."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from conftest import CAL, EXAMPLE_ROSTER

from config.filings import FilingRules
from config.hours import WeekTemplate
from config.roster import RosterError, build_roster, load_roster
from handlers.filings.schedule import (
    instruction_feedback_due,
    instruction_sign_due,
    next_period,
    parse_month,
    parse_period,
    period_of,
    previous_period,
    schedule,
    workday_before,
)
from handlers.workcal import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
RULES = FilingRules()
D = dt.date
PLATFORM = "区网上督查室"


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


# --- the rules ------------------------------------------------------------------------------


def test_defaults_are_the_documents() -> None:
    assert RULES.nodes == {
        "领导批示件": 6,
        "区委区政府重点工作": 20,
        "历史遗留问题攻坚": 20,
        "局重点工作": 20,
        "实事项目": 25,
        "民心工程": 28,
    }
    assert RULES.move == "before"
    assert RULES.office_lead_workdays == {"default": 1, "局重点工作": 0}
    assert RULES.remind_workdays_before == [3, 1, 0]
    assert RULES.escalate == ["dept_head", "office"]
    assert RULES.instruction_sign_workdays == Fraction(1)
    assert RULES.instruction_feedback_lead_workdays == 1
    assert RULES.report_limits == {"目前进展": 500, "难点问题": 300, "下一步打算": 200}
    assert RULES.approval == ["领导批示件"]  # 附件1: "经分管局领导审核同意后"


def test_example_roster_has_the_defaults() -> None:
    roster = load_roster(EXAMPLE_ROSTER)
    assert roster.filings == RULES
    assert "filings" in tomllib.loads(EXAMPLE_ROSTER.read_text(encoding="utf-8"))


def test_roster_without_filings_gets_the_defaults() -> None:
    raw = tomllib.loads(EXAMPLE_ROSTER.read_text(encoding="utf-8"))
    del raw["filings"]
    assert build_roster(raw).filings == RULES


def test_values_are_normalised() -> None:
    rules = FilingRules.model_validate(
        {
            "nodes": {"批示件": 8, "攻坚": 19, " 民生工程 ": 27, "★实事项目": 25},
            "remind_workdays_before": [0, 5, 2],
            "instruction_sign_workdays": "0.5",
            "report_limits": {" 目前进展 ": 400},
            "approval": ["批示件", "攻坚"],
        }
    )
    assert rules.approval == ["领导批示件", "历史遗留问题攻坚"]
    assert rules.nodes == {"领导批示件": 8, "历史遗留问题攻坚": 19, "民心工程": 27, "实事项目": 25}
    assert rules.remind_workdays_before == [5, 2, 0]
    assert rules.instruction_sign_workdays == Fraction(1, 2)
    assert rules.report_limits == {"目前进展": 400}


RAW = tomllib.loads(EXAMPLE_ROSTER.read_text(encoding="utf-8"))

WRONG: list[tuple[str, str, object, str, str]] = [  # (id, field, value, key named, says)
    ("unknown-category", "nodes", {"环保工作": 6}, "filings.nodes", "'环保工作' is not a category"),
    ("day-32", "nodes", {"领导批示件": 32}, "filings.nodes", "'领导批示件': 32 is not a day"),
    ("day-0", "nodes", {"批示件": 0}, "filings.nodes", "'批示件': 0 is not a day"),
    ("day-text", "nodes", {"局重点工作": "20日"}, "filings.nodes.局重点工作", "valid integer"),
    ("day-float", "nodes", {"局重点工作": 20.5}, "filings.nodes.局重点工作", "valid integer"),
    ("same-twice", "nodes", {"领导批示件": 6, "批示件": 8}, "filings.nodes", "'批示件': the same"),
    ("move", "move", "later", "filings.move", "'before' or 'after'"),
    ("lead-negative", "office_lead_workdays", -1, "filings.office_lead_workdays", "0 or more"),
    ("lead-bool", "office_lead_workdays", True, "filings.office_lead_workdays", "valid dict"),
    (
        "lead-category",
        "office_lead_workdays",
        {"环保工作": 1},
        "filings.office_lead_workdays",
        "'环保工作' is not a category",
    ),
    (
        "lead-table-negative",
        "office_lead_workdays",
        {"实事": -1},
        "filings.office_lead_workdays",
        "'实事': -1",
    ),
    (
        "lead-table-text",
        "office_lead_workdays",
        {"default": "一天"},
        "filings.office_lead_workdays.default",
        "valid integer",
    ),
    ("remind-negative", "remind_workdays_before", [3, -1], "filings.remind_workdays_before", "-1"),
    ("remind-twice", "remind_workdays_before", [1, 1], "filings.remind_workdays_before", "twice"),
    ("escalate-role", "escalate", ["dept_head", "boss"], "filings.escalate", "'boss'"),
    ("escalate-twice", "escalate", ["office", "office"], "filings.escalate", "twice"),
    ("sign-zero", "instruction_sign_workdays", 0, "filings.instruction_sign_workdays", "than 0"),
    (
        "sign-text",
        "instruction_sign_workdays",
        "一天",
        "filings.instruction_sign_workdays",
        "working days",
    ),
    (
        "feedback-negative",
        "instruction_feedback_lead_workdays",
        -2,
        "filings.instruction_feedback_lead_workdays",
        "0 or more",
    ),
    ("limit-zero", "report_limits", {"目前进展": 0}, "filings.report_limits", "'目前进展'"),
    ("limits-empty", "report_limits", {}, "filings.report_limits", "at least one part"),
    ("unknown-key", "remind_at", "09:00", "filings.remind_at", "Extra inputs"),
    ("approval-category", "approval", ["环保工作"], "filings.approval", "'环保工作' is not a"),
    ("approval-twice", "approval", ["批示件", "领导批示件"], "filings.approval", "listed twice"),
    ("approval-text", "approval", "局重点工作", "filings.approval", "valid list"),
]


@pytest.mark.parametrize(
    ("field", "value", "key", "says"), [pytest.param(*w[1:], id=w[0]) for w in WRONG]
)
def test_wrong_filings_name_the_key(field: str, value: object, key: str, says: str) -> None:
    raw: dict[str, Any] = copy.deepcopy(RAW)
    raw["filings"][field] = value
    with pytest.raises(RosterError) as info:
        build_roster(raw, "org.toml")
    lines = [line.strip() for line in str(info.value).splitlines()]
    problem = next((line for line in lines if line.startswith(key + ":")), "")
    assert problem, f"{key!r} not named in:\n{info.value}"
    assert says in problem


@pytest.mark.parametrize(
    ("old", "new", "key", "says"),
    [
        ('"领导批示件" = 6', '"领导批示件" = 35', "filings.nodes", "'领导批示件': 35"),
        ('"实事项目" = 25', '"实事工程" = 25', "filings.nodes", "'实事工程'"),
        ('move = "before"', 'move = "prev"', "filings.move", "'before' or 'after'"),
        ("= [3, 1, 0]", "= [3, 1, 1]", "filings.remind_workdays_before", "1 is listed twice"),
    ],
)
def test_wrong_file_on_disk(tmp_path: Path, old: str, new: str, key: str, says: str) -> None:
    text = EXAMPLE_ROSTER.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "org.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(RosterError) as info:
        load_roster(path)
    message = str(info.value)
    assert message.startswith(f"{path}: invalid roster:")
    assert f"\n  {key}: " in message
    assert says in message.split(f"\n  {key}: ")[1].splitlines()[0]


# --- nodes ----------------------------------------------------------------------------------


def test_by_the_6th_in_october_2026_is_30_september() -> None:
    s = schedule(CAL, RULES, "领导批示件", PLATFORM, 2026, 10)
    assert s is not None
    assert (s.period, s.node, s.due_date) == ("2026-10", D(2026, 9, 30), D(2026, 9, 30))
    assert not s.provisional


# Worked out by hand from the State Council's 2026 notice: 元旦 1-1..1-3 (1-4 Sunday works),
# 春节 2-15..2-23 (2-14 and 2-28 Saturdays work), 清明 4-4..4-6, 劳动节 5-1..5-5 (5-9 works),
# 端午 6-19..6-21, 中秋 9-25..9-27 (9-20 Sunday works), 国庆 10-1..10-7 (10-10 works).
NODES_2026: dict[tuple[str, int], list[dt.date]] = {
    ("领导批示件", 6): [
        D(2026, 1, 6),
        D(2026, 2, 6),
        D(2026, 3, 6),
        D(2026, 4, 3),  # 4-4..4-6 清明
        D(2026, 5, 6),
        D(2026, 6, 5),  # Saturday
        D(2026, 7, 6),
        D(2026, 8, 6),
        D(2026, 9, 4),  # Sunday
        D(2026, 9, 30),  # 国庆
        D(2026, 11, 6),
        D(2026, 12, 4),  # Sunday
    ],
    ("局重点工作", 20): [
        D(2026, 1, 20),
        D(2026, 2, 14),  # 春节; the Saturday make-up workday
        D(2026, 3, 20),
        D(2026, 4, 20),
        D(2026, 5, 20),
        D(2026, 6, 18),  # 端午
        D(2026, 7, 20),
        D(2026, 8, 20),
        D(2026, 9, 20),  # a Sunday make-up workday
        D(2026, 10, 20),
        D(2026, 11, 20),
        D(2026, 12, 18),  # Sunday
    ],
    ("实事项目", 25): [
        D(2026, 1, 23),  # Sunday
        D(2026, 2, 25),
        D(2026, 3, 25),
        D(2026, 4, 24),  # Saturday
        D(2026, 5, 25),
        D(2026, 6, 25),
        D(2026, 7, 24),  # Saturday
        D(2026, 8, 25),
        D(2026, 9, 24),  # 中秋
        D(2026, 10, 23),  # Sunday
        D(2026, 11, 25),
        D(2026, 12, 25),
    ],
    ("民心工程", 28): [
        D(2026, 1, 28),
        D(2026, 2, 28),  # a Saturday make-up workday
        D(2026, 3, 27),  # Saturday
        D(2026, 4, 28),
        D(2026, 5, 28),
        D(2026, 6, 26),  # Sunday
        D(2026, 7, 28),
        D(2026, 8, 28),
        D(2026, 9, 28),
        D(2026, 10, 28),
        D(2026, 11, 27),  # Saturday
        D(2026, 12, 28),
    ],
}


@pytest.mark.parametrize(
    ("name", "day", "month", "expected"),
    [
        pytest.param(name, day, month, nodes[month - 1], id=f"{day}th-{month:02d}")
        for (name, day), nodes in NODES_2026.items()
        for month in range(1, 13)
    ],
)
def test_nodes_of_2026(name: str, day: int, month: int, expected: dt.date) -> None:
    assert RULES.nodes[name] == day
    s = schedule(CAL, RULES, name, PLATFORM, 2026, month)
    assert s is not None
    assert s.node == expected
    assert s.due_date == expected  # on a district platform: due at the node
    assert not s.provisional
    # independently of the calendar: an official working day, and the last one by the day
    nominal = D(2026, month, day)
    assert expected <= nominal
    assert chinese_calendar.is_workday(expected)
    between = [expected + dt.timedelta(days=n) for n in range(1, (nominal - expected).days + 1)]
    assert not any(chinese_calendar.is_workday(d) for d in between)


def test_move_after() -> None:
    rules = FilingRules(move="after")
    s = schedule(CAL, rules, "批示件", PLATFORM, 2026, 10)
    assert s is not None and s.node == D(2026, 10, 8)


def test_configured_node_and_month_end() -> None:
    rules = FilingRules(nodes={"局重点工作": 31})
    s = schedule(CAL, rules, "局重点工作", "区网上督查室", 2026, 4)
    assert s is not None and s.node == D(2026, 4, 30)  # April has 30 days
    assert schedule(CAL, rules, "民心工程", PLATFORM, 2026, 4) is None  # no longer listed


# --- due days, reminders, escalation --------------------------------------------------------


def test_platform_none_is_one_working_day_earlier_across_a_holiday() -> None:
    # 5-6 follows 劳动节 5-1..5-5: the office wants it on 4-30
    on_platform = schedule(CAL, RULES, "领导批示件", PLATFORM, 2026, 5)
    off_platform = schedule(CAL, RULES, "领导批示件", "无", 2026, 5)
    assert on_platform is not None and off_platform is not None
    assert on_platform.node == off_platform.node == D(2026, 5, 6)
    assert on_platform.due_date == D(2026, 5, 6)
    assert off_platform.due_date == D(2026, 4, 30)
    assert off_platform.due_at == at(2026, 4, 30, 17)
    # platform aliases: "" and "不在平台" mean "无"
    assert schedule(CAL, RULES, "领导批示件", "不在平台", 2026, 5) == off_platform


def test_platform_none_lead_is_configurable() -> None:
    rules = FilingRules.model_validate({"office_lead_workdays": {"default": 2, "局重点工作": 1}})
    s = schedule(CAL, rules, "局重点工作", "无", 2026, 10)  # node 10-20 (Tuesday)
    assert s is not None and s.due_date == D(2026, 10, 19)
    s = schedule(CAL, rules, "民心工程", "无", 2026, 10)  # node 10-28 (Wednesday)
    assert s is not None and s.due_date == D(2026, 10, 26)
    # a table replaces the defaults as a whole: 局重点工作 left out takes the default
    rules = FilingRules.model_validate({"office_lead_workdays": {"default": 2}})
    s = schedule(CAL, rules, "局重点工作", "无", 2026, 10)
    assert s is not None and s.due_date == D(2026, 10, 16)


# Attachment 6: "局重点工作：每月 20 日前填报" and its note "除局重点工作外，以上督办事项的月度
# 报表按照上级部门要求的节点报送"; 月度统计制度: "未在“三大平台”罗列的其他重点项目，各处室按照报送
# 时间节点提前1个工作日报局办公室汇总". The one-day lead is for the district's nodes; 局重点工作's
# 20th is the bureau's own node.
@pytest.mark.parametrize(
    ("category", "month", "due"),
    [
        pytest.param("局重点工作", 11, D(2026, 11, 20), id="局重点工作-own-node-no-lead"),
        pytest.param("局重点工作", 12, D(2026, 12, 18), id="局重点工作-sunday-node-friday"),
        pytest.param("实事项目", 11, D(2026, 11, 24), id="实事项目-one-day-lead"),
        pytest.param("民心工程", 11, D(2026, 11, 26), id="民心工程-saturday-node-lead"),
        pytest.param("攻坚", 11, D(2026, 11, 19), id="攻坚-off-platform-one-day-lead"),
    ],
)
def test_office_lead_per_category(category: str, month: int, due: dt.date) -> None:
    s = schedule(CAL, RULES, category, "无", 2026, month)
    assert s is not None and s.due_date == due


@pytest.mark.parametrize(
    ("given", "lead_bureau", "lead_other"),
    [
        pytest.param(1, 0, 1, id="old-scalar-1-is-the-document"),
        pytest.param(2, 0, 2, id="old-scalar-2-district-nodes"),
        pytest.param(0, 0, 0, id="old-scalar-0"),
        pytest.param({"局重点工作": 1}, 1, 1, id="table-without-default"),
        pytest.param({"default": 3, "实事": 0}, 3, 3, id="alias-key"),
    ],
)
def test_office_lead_forms(given: object, lead_bureau: int, lead_other: int) -> None:
    rules = FilingRules.model_validate({"office_lead_workdays": given})
    assert rules.office_lead("局重点工作") == lead_bureau
    assert rules.office_lead("民心工程") == lead_other


def test_office_lead_alias_is_stored_by_name() -> None:
    rules = FilingRules.model_validate({"office_lead_workdays": {"实事": 0}})
    assert rules.office_lead_workdays == {"default": 1, "实事项目": 0}


def test_reminders_skip_weekends_and_holidays() -> None:
    s = schedule(CAL, RULES, "领导批示件", PLATFORM, 2026, 10)
    assert s is not None
    # due 9-30 (Wednesday); 9-29 is 1 working day before, 9-28 2, then 中秋 9-25..9-27
    assert s.reminders == (at(2026, 9, 24, 9), at(2026, 9, 29, 9), at(2026, 9, 30, 9))
    assert all(r.utcoffset() == dt.timedelta(hours=8) for r in s.reminders)
    assert s.due_at == at(2026, 9, 30, 17)
    assert s.escalate_at == at(2026, 10, 8, 9)  # after 国庆


def test_reminders_on_a_make_up_sunday() -> None:
    # 2026-01: node 1-6 (Tuesday), office due 1-5; 1-4 is a Sunday make-up workday
    s = schedule(CAL, RULES, "批示件", "无", 2026, 1)
    assert s is not None
    assert s.due_date == D(2026, 1, 5)
    assert s.reminders == (at(2025, 12, 30, 9), at(2026, 1, 4, 9), at(2026, 1, 5, 9))
    assert not s.provisional


def test_escalate_the_next_working_morning() -> None:
    s = schedule(CAL, RULES, "领导批示件", PLATFORM, 2026, 11)  # 11-6 is a Friday
    assert s is not None
    assert s.due_at == at(2026, 11, 6, 17)
    assert s.escalate_at == at(2026, 11, 9, 9)
    s = schedule(CAL, RULES, "局重点工作", PLATFORM, 2026, 11)  # 11-20 is a Friday too
    assert s is not None and s.escalate_at == at(2026, 11, 23, 9)


def test_configured_reminders() -> None:
    rules = FilingRules(remind_workdays_before=[0, 2])
    s = schedule(CAL, rules, "实事项目", PLATFORM, 2026, 11)  # node 11-25 (Wednesday)
    assert s is not None
    assert s.reminders == (at(2026, 11, 23, 9), at(2026, 11, 25, 9))
    s = schedule(CAL, FilingRules(remind_workdays_before=[]), "实事项目", PLATFORM, 2026, 11)
    assert s is not None and s.reminders == ()


def test_office_hours_come_from_the_calendar() -> None:
    template = WeekTemplate.parse("mon-thu 08:30-12:00 13:00-17:30; fri 08:30-12:00 13:00-16:30")
    cal = WorkCalendar(template, official=CAL.official)
    s = schedule(cal, RULES, "领导批示件", PLATFORM, 2026, 11)  # Friday 11-6
    assert s is not None
    assert s.due_at == at(2026, 11, 6, 16, 30)
    assert s.reminders[-1] == at(2026, 11, 6, 8, 30)
    assert s.escalate_at == at(2026, 11, 9, 8, 30)


def test_provisional_beyond_the_data() -> None:
    for month in (1, 3, 12):
        s = schedule(CAL, RULES, "局重点工作", PLATFORM, 2027, month)
        assert s is not None and s.provisional, month
    # a node on 1 January 2027 reminds in covered December 2026, and is still provisional
    rules = FilingRules(nodes={"局重点工作": 1})
    s = schedule(CAL, rules, "局重点工作", PLATFORM, 2027, 1)
    assert s is not None and s.provisional
    assert s.reminders[0].year == 2026
    # a node in covered 2026 whose escalation falls in 2027 is provisional as well
    rules = FilingRules(nodes={"局重点工作": 31})
    s = schedule(CAL, rules, "局重点工作", PLATFORM, 2026, 12)
    assert s is not None and s.node == D(2026, 12, 31)
    assert s.escalate_at.year == 2027 and s.provisional


@pytest.mark.parametrize("name", ["街镇直通车", "大调研工作", "市政府总体目标", "不存在的类别"])
def test_category_without_a_node(name: str) -> None:
    assert schedule(CAL, RULES, name, PLATFORM, 2026, 10) is None


def test_unknown_platform() -> None:
    with pytest.raises(ValueError, match="platform"):
        schedule(CAL, RULES, "领导批示件", "钉钉", 2026, 10)


def test_workday_before() -> None:
    assert workday_before(CAL, D(2026, 10, 8), 0) == D(2026, 10, 8)
    assert workday_before(CAL, D(2026, 10, 8), 1) == D(2026, 9, 30)
    assert workday_before(CAL, D(2026, 10, 4), 0) == D(2026, 9, 30)  # a holiday: the last before
    assert workday_before(CAL, D(2026, 10, 11), 2) == D(2026, 10, 8)  # 10-10 Saturday works
    with pytest.raises(ValueError):
        workday_before(CAL, D(2026, 10, 8), -1)


# --- 领导批示件 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("registered", "due"),
    [
        (at(2026, 11, 16, 10), at(2026, 11, 17, 10)),  # Monday -> Tuesday, same hour
        (at(2026, 11, 20, 15), at(2026, 11, 23, 15)),  # Friday -> Monday
        (at(2026, 9, 30, 15), at(2026, 10, 8, 15)),  # over 国庆
        (at(2026, 10, 3, 11), at(2026, 10, 8, 17)),  # registered on a holiday: a whole day
        (at(2026, 11, 16, 18), at(2026, 11, 17, 17)),  # after hours: the next working day
    ],
)
def test_instruction_sign_due(registered: dt.datetime, due: dt.datetime) -> None:
    assert instruction_sign_due(CAL, RULES, registered) == due


def test_instruction_sign_due_configured() -> None:
    rules = FilingRules(instruction_sign_workdays=Fraction(1, 2))
    assert instruction_sign_due(CAL, rules, at(2026, 11, 16, 9)) == at(2026, 11, 16, 13, 30)
    with pytest.raises(ValueError, match="naive"):
        instruction_sign_due(CAL, RULES, dt.datetime(2026, 11, 16, 9))  # noqa: DTZ001


# Attachment 1, 情况反馈: "时间节点较《领导批示件办理通知》的反馈时间提前一个工作日" -- one
# working day before the notice's deadline as the notice writes it, counted on the real
# calendar (chinese-calendar's 2026 data): a deadline on a non-working day is not moved first.
@pytest.mark.parametrize(
    ("notice_due", "lead", "due"),
    [
        pytest.param(D(2026, 11, 20), 1, at(2026, 11, 19, 17), id="friday-thursday"),
        pytest.param(D(2026, 11, 22), 1, at(2026, 11, 20, 17), id="sunday-friday-not-thursday"),
        pytest.param(D(2026, 11, 21), 1, at(2026, 11, 20, 17), id="saturday-friday"),
        pytest.param(D(2026, 11, 23), 1, at(2026, 11, 20, 17), id="monday-previous-friday"),
        # 2026-10-10 (Saturday) is a 国庆 调休 working day
        pytest.param(D(2026, 10, 11), 1, at(2026, 10, 10, 17), id="sunday-makeup-saturday"),
        pytest.param(D(2026, 10, 12), 1, at(2026, 10, 10, 17), id="monday-makeup-saturday"),
        pytest.param(D(2026, 10, 10), 1, at(2026, 10, 9, 17), id="makeup-saturday-friday"),
        # 国庆 2026-10-01..07: a deadline in the holiday or just after it -> 9-30
        pytest.param(D(2026, 10, 5), 1, at(2026, 9, 30, 17), id="holiday-last-day-before"),
        pytest.param(D(2026, 10, 8), 1, at(2026, 9, 30, 17), id="after-holiday"),
        pytest.param(D(2026, 11, 22), 0, at(2026, 11, 20, 17), id="lead-0-sunday"),
        pytest.param(D(2026, 11, 20), 0, at(2026, 11, 20, 17), id="lead-0-friday"),
        pytest.param(D(2026, 11, 20), 3, at(2026, 11, 17, 17), id="lead-3"),
        pytest.param(D(2026, 11, 22), 2, at(2026, 11, 19, 17), id="lead-2-sunday"),
    ],
)
def test_instruction_feedback_due(notice_due: dt.date, lead: int, due: dt.datetime) -> None:
    rules = FilingRules(instruction_feedback_lead_workdays=lead)
    assert instruction_feedback_due(CAL, rules, notice_due) == due


# --- periods --------------------------------------------------------------------------------


def test_period_of() -> None:
    assert period_of(D(2026, 11, 30), SH) == "2026-11"
    # 20:00 UTC on 10-31 is 04:00 on 11-01 in Shanghai
    assert period_of(dt.datetime(2026, 10, 31, 20, tzinfo=dt.UTC), SH) == "2026-11"
    assert period_of(dt.datetime(2026, 10, 31, 20, tzinfo=dt.UTC), dt.UTC) == "2026-10"
    with pytest.raises(ValueError, match="naive"):
        period_of(dt.datetime(2026, 10, 31, 20), SH)  # noqa: DTZ001


def test_period_arithmetic() -> None:
    assert parse_period("2026-11") == (2026, 11)
    assert next_period("2026-12") == "2027-01"
    assert next_period("2026-01") == "2026-02"
    assert previous_period("2026-01") == "2025-12"
    assert previous_period("2026-10") == "2026-09"
    for bad in ("2026-13", "2026-00", "2026-1", "26-11", "2026/11", " 2026-11", "二〇二六-11"):
        with pytest.raises(ValueError):
            parse_period(bad)


NOV = D(2026, 11, 16)
DEC = D(2026, 12, 5)
JAN = D(2026, 1, 10)


@pytest.mark.parametrize(
    ("text", "reference", "period"),
    [
        ("2026-11", NOV, "2026-11"),
        ("2026.3", NOV, "2026-03"),
        ("2026/03", NOV, "2026-03"),
        ("2025年11月", NOV, "2025-11"),
        ("2026年11月份", NOV, "2026-11"),
        ("26年3月", NOV, "2026-03"),
        ("２０２６年１１月", NOV, "2026-11"),  # full-width
        ("２０２６－１１", NOV, "2026-11"),
        (" 2026 年 11 月 ", NOV, "2026-11"),
        ("2026年十一月", NOV, "2026-11"),
        # a bare month: the latest one not after the reference's next month
        ("11月", NOV, "2026-11"),
        ("12月", NOV, "2026-12"),
        ("1月", NOV, "2026-01"),
        ("１２月份", NOV, "2026-12"),
        ("1月", DEC, "2027-01"),
        ("2月", DEC, "2026-02"),
        ("12月", JAN, "2025-12"),
        ("2月", JAN, "2026-02"),
        ("3月", JAN, "2025-03"),
        ("十一月", NOV, "2026-11"),
        ("十月", NOV, "2026-10"),
        ("十二月", JAN, "2025-12"),
        ("三月", NOV, "2026-03"),
        ("本月", NOV, "2026-11"),
        ("上月", JAN, "2025-12"),
        ("上个月", NOV, "2026-10"),
        ("下月", DEC, "2027-01"),
        ("下个月", NOV, "2026-12"),
        # not a month
        ("13月", NOV, None),
        ("0月", NOV, None),
        ("十三月", NOV, None),
        ("一十月", NOV, None),
        ("2026-13", NOV, None),
        ("2026年13月", NOV, None),
        ("1999-12", NOV, None),
        ("11", NOV, None),
        ("", NOV, None),
        ("月", NOV, None),
        ("明年", NOV, None),
        ("#12", NOV, None),
    ],
)
def test_parse_month(text: str, reference: dt.date, period: str | None) -> None:
    assert parse_month(text, reference) == period
