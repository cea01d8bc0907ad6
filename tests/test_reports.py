"""The 批示件 progress report check (attachment 1's template)."""

from __future__ import annotations

import pytest

from config.filings import FilingRules
from handlers.instructions.reports import check_report, count_chars

LIMITS = FilingRules().report_limits
PROGRESS, PROBLEMS, NEXT = "目前进展", "难点问题", "下一步打算"


def report(
    progress: str = "召开专题会议研究部署。",
    problems: str = "跨区协调难。",
    plan: str = "年底前完成。",
) -> str:
    return (
        "关于XX批示件的跟踪办理情况\n"
        f"1、目前进展（500字）：{progress}\n"
        f"2、难点问题（300字）：{problems}\n"
        f"3、下一步打算（200字）：{plan}\n"
    )


def test_a_good_report() -> None:
    check = check_report(report(), LIMITS)
    assert check.problems == []
    assert check.ok
    assert check.parts == {
        PROGRESS: "召开专题会议研究部署。",
        PROBLEMS: "跨区协调难。",
        NEXT: "年底前完成。",
    }
    assert list(check.parts) == [PROGRESS, PROBLEMS, NEXT]


@pytest.mark.parametrize(
    "headings",
    [
        ("1、目前进展：", "2、难点问题：", "3、下一步打算："),
        ("1. 目前进展:", "2. 难点问题:", "3. 下一步打算:"),
        ("１．目前进展（500 字）：", "２．难点问题（300 字）：", "３．下一步打算（200 字）："),
        ("（1）目前进展", "（2）难点问题", "（3）下一步打算"),  # the text on the next line
        ("(1) 目前进展(500字)", "(2) 难点问题(300字)", "(3) 下一步打算(200字)"),
        ("一、目前进展", "二、难点问题", "三、下一步打算"),
        ("目前进展：", "难点问题：", "下一步打算："),
        ("目前进展", "难点问题", "下一步打算"),  # alone on their lines
        ("①目前进展【不超过500字】", "②难点问题【不超过300字】", "③下一步打算【不超过200字】"),
        ("  1、 目前进展 ：", "\u30002、难点问题：", "\t3、下一步打算："),
    ],
)
def test_heading_styles(headings: tuple[str, str, str]) -> None:
    text = "\n".join(
        [headings[0], "已完成排查。", headings[1], "资金缺口。", headings[2], "下月验收。"]
    )
    check = check_report(text, LIMITS)
    assert check.problems == []
    assert check.parts == {PROGRESS: "已完成排查。", PROBLEMS: "资金缺口。", NEXT: "下月验收。"}


@pytest.mark.parametrize(
    "text",
    [
        # the one-line form of the command's usage line: numbered headings set off by a space
        "1、目前进展已完成排查 2、难点问题资金缺口 3、下一步打算下月验收",
        "1、目前进展已完成排查。2、难点问题资金缺口。3、下一步打算下月验收",
        "1、目前进展…已完成排查 2、难点问题…资金缺口 3、下一步打算…下月验收",
    ],
)
def test_one_line_form_of_the_usage_line(text: str) -> None:
    check = check_report(text, LIMITS)
    assert check.ok, check.problems
    assert [p.strip("…。") for p in check.parts.values()] == ["已完成排查", "资金缺口", "下月验收"]


def test_a_number_inside_a_sentence_is_not_a_heading() -> None:
    text = "1、目前进展：完成第2、难点问题的排查 2、难点问题：无 3、下一步打算：验收"
    check = check_report(text, LIMITS)
    assert check.ok and check.parts[PROGRESS] == "完成第2、难点问题的排查"


def test_text_on_the_heading_line() -> None:
    text = "1、目前进展 已完成排查。\n2、难点问题（300字）资金缺口。\n下一步打算：下月验收。"
    check = check_report(text, LIMITS)
    assert check.parts == {PROGRESS: "已完成排查。", PROBLEMS: "资金缺口。", NEXT: "下月验收。"}


def test_one_line_report() -> None:
    text = "1、目前进展：已完成排查。2、难点问题：资金缺口。3、下一步打算：下月验收。"
    check = check_report(text, LIMITS)
    assert check.ok
    assert check.parts == {PROGRESS: "已完成排查。", PROBLEMS: "资金缺口。", NEXT: "下月验收。"}


def test_names_in_the_text_are_not_headings() -> None:
    text = (
        "目前进展：已完成排查，目前进展顺利。\n"
        "目前进展总体顺利，难点问题已上报\n"  # at a line start, but no colon nor number
        "难点问题：无。\n"
        "下一步打算：巩固成效，把下一步打算落到实处：按月通报。"
    )
    check = check_report(text, LIMITS)
    assert check.ok
    assert check.parts[PROGRESS] == "已完成排查，目前进展顺利。\n目前进展总体顺利，难点问题已上报"
    assert check.parts[NEXT] == "巩固成效，把下一步打算落到实处：按月通报。"


def test_any_order() -> None:
    text = "3、下一步打算：下月验收。\n1、目前进展：已完成排查。\n2、难点问题：资金缺口。"
    check = check_report(text, LIMITS)
    assert check.ok
    assert list(check.parts) == [PROGRESS, PROBLEMS, NEXT]  # the template's order
    assert check.parts[NEXT] == "下月验收。"


def test_too_long_names_the_part_and_by_how_much() -> None:
    check = check_report(report(progress="进" * 523, plan="划" * 201), LIMITS)
    assert check.problems == [
        "「目前进展」超出23字（523/500字）",
        "「下一步打算」超出1字（201/200字）",
    ]
    assert not check.ok


def test_exactly_at_the_limit_and_whitespace_not_counted() -> None:
    progress = "\n".join(["进" * 100] * 5)  # 500 characters over 5 lines
    spaced = " ".join("难" * 300) + "\u3000\t"
    check = check_report(report(progress=progress, problems=spaced), LIMITS)
    assert check.problems == []
    assert count_chars(check.parts[PROBLEMS]) == 300
    check = check_report(report(progress=progress + "。"), LIMITS)
    assert check.problems == ["「目前进展」超出1字（501/500字）"]


def test_configured_limit_wins_over_the_heading() -> None:
    text = f"1、目前进展（600字）：{'进' * 550}\n2、难点问题：无\n3、下一步打算：无"
    check = check_report(text, LIMITS)
    assert check.problems == ["「目前进展」超出50字（550/500字）"]
    assert check_report(text, {**LIMITS, PROGRESS: 600}).ok


def test_missing_and_empty_parts() -> None:
    text = "1、目前进展：已完成排查。\n3、下一步打算：\n"
    check = check_report(text, LIMITS)
    assert check.problems == ["缺少「难点问题」", "缺少「下一步打算」"]
    assert check.parts == {PROGRESS: "已完成排查。", NEXT: ""}


def test_problems_in_the_templates_order() -> None:
    text = "下一步打算：\n目前进展：" + "进" * 510
    check = check_report(text, LIMITS)
    assert check.problems == [
        "「目前进展」超出10字（510/500字）",
        "缺少「难点问题」",
        "缺少「下一步打算」",
    ]


def test_a_part_written_twice() -> None:
    text = "目前进展：排查。\n难点问题：资金。\n下一步打算：验收。\n目前进展：" + "进" * 500
    check = check_report(text, LIMITS)
    assert check.parts[PROGRESS] == "排查。\n" + "进" * 500
    assert check.problems == [
        "「目前进展」写了不止一次，已合并计算字数，请合并为一段",
        "「目前进展」超出3字（503/500字）",
    ]


@pytest.mark.parametrize("text", ["", "   ", "本月已召开专题会议，进展顺利。", "目前进展顺利"])
def test_no_headings_explains_the_template(text: str) -> None:
    check = check_report(text, LIMITS)
    assert check.parts == {}
    assert len(check.problems) == 1
    line = check.problems[0]
    assert "\n" not in line
    for part in (
        "1、目前进展（500字以内）",
        "2、难点问题（300字以内）",
        "3、下一步打算（200字以内）",
    ):
        assert part in line


def test_other_parts_from_config() -> None:
    limits = {"进展情况": 10, "存在问题": 5}
    check = check_report("一、进展情况：已完成全部十二项整改。\n二、存在问题：无", limits)
    assert check.parts == {"进展情况": "已完成全部十二项整改。", "存在问题": "无"}
    assert check.problems == ["「进展情况」超出1字（11/10字）"]
