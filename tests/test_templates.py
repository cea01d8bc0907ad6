"""The filing templates' check (attachment 2's 月报表 and 民心工程 brief; attachment 1's 批示件
report is test_reports.py): every part missing, too long, a percentage out of range or
falling, full-width forms, and a filing collected over several messages. The settings."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from config.filings import FilingRules, Template
from config.roster import RosterError, build_roster
from handlers.filings.template import check_template, parse_percentage
from tests.test_filings import RAW

RULES = FilingRules()
SHISHI = RULES.template("实事项目")
MINXIN = RULES.template("民心工程")
assert SHISHI is not None and MINXIN is not None

GOOD_SHISHI = (
    "1、证照办理情况：施工许可已取得\n"
    "2、本月进展情况：完成管网铺设3公里\n"
    "3、下月主要工作安排：开展竣工验收\n"
    "4、累计完成进度（%）：60\n"
    "5、备注：无"
)
GOOD_MINXIN = "一、进展情况：完成12个小区改造\n二、存在问题：资金拨付慢\n三、下一步工作：年底前完工"


def test_a_good_monthly_report() -> None:
    check = check_template(GOOD_SHISHI, SHISHI)
    assert check.complete, check.problems
    assert check.good == {
        "证照办理情况": "施工许可已取得",
        "本月进展情况": "完成管网铺设3公里",
        "下月主要工作安排": "开展竣工验收",
        "累计完成进度": "60",
        "备注": "无",
    }


def test_a_good_brief() -> None:
    check = check_template(GOOD_MINXIN, MINXIN)
    assert check.complete and list(check.good) == ["进展情况", "存在问题", "下一步工作"]


SHISHI_LINES = GOOD_SHISHI.split("\n")
MINXIN_LINES = GOOD_MINXIN.split("\n")


@pytest.mark.parametrize(
    ("template", "lines", "index", "name"),
    [
        pytest.param(SHISHI, SHISHI_LINES, i, p.name, id=f"实事项目-{p.name}")
        for i, p in enumerate(SHISHI.parts)
        if p.required
    ]
    + [
        pytest.param(MINXIN, MINXIN_LINES, i, p.name, id=f"民心工程-{p.name}")
        for i, p in enumerate(MINXIN.parts)
    ],
)
def test_every_part_missing(template: Template, lines: list[str], index: int, name: str) -> None:
    text = "\n".join(line for i, line in enumerate(lines) if i != index)
    check = check_template(text, template)
    assert not check.complete
    assert check.missing == [name] and check.problems == [f"缺少「{name}」"]
    assert name not in check.good and len(check.good) == len(lines) - 1


def test_the_note_is_optional() -> None:
    check = check_template("\n".join(SHISHI_LINES[:4]), SHISHI)
    assert check.complete and "备注" not in check.good


@pytest.mark.parametrize(
    ("template", "lines", "index", "name", "limit"),
    [
        pytest.param(SHISHI, SHISHI_LINES, i, p.name, p.limit, id=f"实事项目-{p.name}")
        for i, p in enumerate(SHISHI.parts)
        if p.limit
    ]
    + [
        pytest.param(MINXIN, MINXIN_LINES, i, p.name, p.limit, id=f"民心工程-{p.name}")
        for i, p in enumerate(MINXIN.parts)
    ],
)
def test_every_part_too_long(
    template: Template, lines: list[str], index: int, name: str, limit: int
) -> None:
    long = list(lines)
    long[index] = long[index].split("：")[0] + "：" + "字" * (limit + 3)
    check = check_template("\n".join(long), template)
    assert check.problems == [f"「{name}」超出3字（{limit + 3}/{limit}字）"]
    assert name not in check.good  # a wrong part is not kept
    exact = list(lines)
    exact[index] = exact[index].split("：")[0] + "：" + "字" * limit
    assert check_template("\n".join(exact), template).complete


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("101", "「累计完成进度」应在0到100之间，收到「101」"),
        ("150%", "「累计完成进度」应在0到100之间，收到「150%」"),
        ("-5", "「累计完成进度」应为0到100的数字（如60或60%），收到「-5」"),
        ("六成", "「累计完成进度」应为0到100的数字（如60或60%），收到「六成」"),
        ("约60", "「累计完成进度」应为0到100的数字（如60或60%），收到「约60」"),
    ],
)
def test_a_percentage_out_of_range(written: str, problem: str) -> None:
    lines = list(SHISHI_LINES)
    lines[3] = f"4、累计完成进度：{written}"
    check = check_template("\n".join(lines), SHISHI)
    assert check.problems == [problem] and "累计完成进度" not in check.good


@pytest.mark.parametrize(
    ("written", "value"),
    [("0", "0"), ("100", "100"), ("60%", "60"), ("６０％", "60"), ("62.5 %", "62.5")],
)
def test_percentages_read(written: str, value: str) -> None:
    lines = list(SHISHI_LINES)
    lines[3] = f"累计完成进度：{written}"
    check = check_template("\n".join(lines), SHISHI)
    assert check.complete and check.good["累计完成进度"] == value


def test_a_falling_percentage_needs_the_note() -> None:
    lines = list(SHISHI_LINES)
    lines[3] = "4、累计完成进度：55"
    without = "\n".join(lines[:4])
    check = check_template(without, SHISHI, previous=Decimal(60))
    assert check.problems == ["「累计完成进度」55%低于上次填报的60%，如确有原因请在「备注」中说明"]
    assert check.good["累计完成进度"] == "55"  # kept: the note may come next
    lines[4] = "5、备注：设计变更，工程量增加"
    assert check_template("\n".join(lines), SHISHI, previous=Decimal(60)).complete
    assert check_template(without, SHISHI, previous=Decimal(55)).complete  # equal is fine
    # the note comes in the next message
    later = check_template("备注：设计变更", SHISHI, draft=check.good, previous=Decimal(60))
    assert later.complete and later.good["备注"] == "设计变更"


@pytest.mark.parametrize(
    "text",
    [
        # full-width numbers, brackets and colons
        "１．证照办理情况：已取得\n２．本月进展情况：铺设\n３．下月主要工作安排：验收\n"
        "４．累计完成进度（％）：６０％",
        # half-width, numbered in brackets
        "(1)证照办理情况:已取得\n(2)本月进展情况:铺设\n(3)下月主要工作安排:验收\n(4)累计完成进度(%):60",
        # unnumbered, one line, set off by spaces or punctuation
        "证照办理情况：已取得 本月进展情况：铺设；下月主要工作安排：验收，累计完成进度：60%",
        # the usage line's numbered one-line form
        "1、证照办理情况已取得 2、本月进展情况铺设 3、下月主要工作安排验收 4、累计完成进度60",
    ],
)
def test_full_and_half_width_forms(text: str) -> None:
    check = check_template(text, SHISHI)
    assert check.complete, check.problems
    assert [v.strip("；，") for v in check.good.values()] == ["已取得", "铺设", "验收", "60"]


def test_brief_with_full_width_chinese_numbers() -> None:
    check = check_template("一．进展情况\n完成\n二、存在问题：无\n（三）下一步工作：验收", MINXIN)
    assert check.complete and check.good["进展情况"] == "完成"


def test_collected_over_several_messages() -> None:
    first = check_template("一、进展情况：完成改造", MINXIN, draft={})
    assert first.missing == ["存在问题", "下一步工作"] and first.good == {"进展情况": "完成改造"}
    # a wrong part is named, the good ones are kept
    second = check_template(
        "存在问题：" + "长" * 501 + "\n下一步工作：验收", MINXIN, draft=first.good
    )
    assert second.wrong == ["「存在问题」超出1字（501/500字）"]
    assert second.missing == [] and list(second.good) == ["进展情况", "下一步工作"]
    # the one part still missing may come without its heading
    third = check_template("资金拨付慢", MINXIN, draft=second.good)
    assert third.complete and third.good["存在问题"] == "资金拨付慢"
    # a part written again replaces the kept one
    again = check_template("进展情况：完成全部改造", MINXIN, draft=third.good)
    assert again.complete and again.good["进展情况"] == "完成全部改造"


def test_without_headings_the_template_is_explained() -> None:
    check = check_template("本月进展顺利", MINXIN, draft={})
    assert not check.headings and len(check.problems) == 1
    assert "1、进展情况（800字以内）：… 2、存在问题（500字以内）：…" in check.problems[0]
    shown = check_template("随便写写", SHISHI).problems[0]
    assert "4、累计完成进度（%，0–100）：…" in shown and "5、备注（选填，200字以内）：…" in shown


def test_parse_percentage() -> None:
    assert parse_percentage("累计完成60%") == Decimal(60)
    assert parse_percentage("60.555") is None and parse_percentage("") is None


# --- settings --------------------------------------------------------------------------------


def test_defaults_from_the_document() -> None:
    assert SHISHI.title == "浦东新区为民办实事项目建设进度月报表" and SHISHI.layout == "table"
    assert [p.name for p in SHISHI.parts][-2:] == ["累计完成进度", "备注"]
    assert MINXIN.title == "新区民心工程简报"
    instruction = RULES.template("领导批示件")
    assert instruction is not None
    assert [(p.name, p.limit) for p in instruction.parts] == [
        ("目前进展", 500),
        ("难点问题", 300),
        ("下一步打算", 200),
    ]
    assert RULES.template("局重点工作") is None
    assert RULES.templated == ["领导批示件", "实事项目", "民心工程"]


def test_the_example_roster_shows_the_defaults() -> None:
    assert build_roster(copy.deepcopy(RAW), "org.toml").filings.templates == RULES.templates


def test_a_template_from_the_roster() -> None:
    raw: dict[str, Any] = copy.deepcopy(RAW)
    raw["filings"].pop("report_limits", None)
    raw["filings"]["templates"] = {
        "民生工程": {"title": "简报", "parts": [{"name": "进展", "limit": 50}]},
        "实事": {"title": "x", "parts": []},  # removes the default: a bare 已填报
        "局重点工作": {
            "title": "局重点工作月报",
            "layout": "table",
            "parts": [{"name": "完成率", "kind": "percentage"}],
        },
    }
    rules = build_roster(raw, "org.toml").filings
    brief = rules.template("民心工程")
    assert brief is not None and [p.name for p in brief.parts] == ["进展"]
    assert rules.template("实事项目") is None
    assert rules.template("局重点工作") is not None


WRONG = [
    ("category", {"实事工程": {"title": "x", "parts": [{"name": "a"}]}}, "'实事工程'"),
    ("no-title", {"实事项目": {"parts": [{"name": "a"}]}}, "title"),
    ("kind", {"实事项目": {"title": "x", "parts": [{"name": "a", "kind": "number"}]}}, "kind"),
    ("twice", {"实事项目": {"title": "x", "parts": [{"name": "a"}, {"name": "a"}]}}, "twice"),
    ("limit-zero", {"实事项目": {"title": "x", "parts": [{"name": "a", "limit": 0}]}}, "more than"),
    (
        "pct-limit",
        {"实事项目": {"title": "x", "parts": [{"name": "a", "kind": "percentage", "limit": 3}]}},
        "no limit",
    ),
    (
        "none-required",
        {"实事项目": {"title": "x", "parts": [{"name": "a", "required": False}]}},
        "required",
    ),
    ("note", {"实事项目": {"title": "x", "note": "备注", "parts": [{"name": "a"}]}}, "'备注'"),
    ("extra", {"实事项目": {"title": "x", "parts": [{"name": "a", "max": 3}]}}, "Extra"),
]


@pytest.mark.parametrize(("value", "says"), [pytest.param(*w[1:], id=w[0]) for w in WRONG])
def test_wrong_templates_name_the_key(value: dict[str, Any], says: str) -> None:
    raw: dict[str, Any] = copy.deepcopy(RAW)
    raw["filings"]["templates"] = value
    with pytest.raises(RosterError) as info:
        build_roster(raw, "org.toml")
    lines = [line.strip() for line in str(info.value).splitlines()]
    problem = next((line for line in lines if line.startswith("filings.templates")), "")
    assert problem, f"filings.templates not named in:\n{info.value}"
    assert says in str(info.value)


def test_the_instruction_template_in_one_place() -> None:
    raw: dict[str, Any] = copy.deepcopy(RAW)
    raw["filings"]["report_limits"] = {"目前进展": 400}
    raw["filings"]["templates"] = {"批示件": {"title": "x", "parts": [{"name": "a"}]}}
    with pytest.raises(RosterError) as info:
        build_roster(raw, "org.toml")
    assert "report_limits" in str(info.value) and "templates" in str(info.value)
