"""The one-tap actions a 1:1 message offers (handlers.effects.Action), per what it asks."""

from __future__ import annotations

from handlers.effects import Action
from handlers.texts import PROGRESS_WORDS

Taps = tuple[Action, ...]
# Commands whose text comes in the next message: the stem, and what the bot asks for
NEEDS_TEXT = {
    "答复": "答复内容",
    "退改": "修改意见",
    "退回": "退回说明",
    "分派": "处室名称",
    "进展": "进展内容",
    "已反馈": "反馈材料或摘要",
    "销项": "销项报告（问题描述：… 解决情况：…，可分两条发送）",
    "不约谈": "不约谈的理由",
    "亮灯": "颜色和月份（如 黄 11月）",
    "调整申请": "调整内容",
    "调整同意": "区政府分管领导姓名（及同意日期，如 王副区长 11月19日）",
    "考核退回": "退回意见",
}


def view(ref: int | str) -> Action:
    """查看 #12 (an @件) or 查看 督3 (a 督办事项)."""
    shown = f"#{ref}" if isinstance(ref, int) else ref
    return Action(f"查看 {shown}", f"查看 {ref}")


def _item(verb: str, number: int) -> Action:
    return Action(f"{verb} #{number}", f"{verb} {number}", verb in NEEDS_TEXT)


def triage(number: int) -> Taps:
    return (_item("分派", number), _item("退回", number), view(number))


def claim(number: int) -> Taps:
    return (_item("认领", number), view(number))


def reply(number: int) -> Taps:
    return (_item("答复", number), view(number))


def review(number: int, level: str) -> Taps:
    """A draft at ``level`` (dept_head, deputy, director): 同意, 退改, the next level up,
    疑难 where that level may mark it."""
    up = {"dept_head": ("报分管",), "deputy": ("集体研判",)}.get(level, ())
    hard = ("疑难",) if level in ("dept_head", "deputy") else ()
    verbs = ("同意", "退改", *up, *hard)
    return (*(_item(v, number) for v in verbs), view(number))


def offline(number: int) -> Taps:
    return (_item("已线下答复", number), view(number))


def for_clock(clock: str, number: int, level: str | None, hard: bool = False) -> Taps:
    """What a reminder of an item's ``clock`` asks for (``hard``: a hard case, answered
    offline; ``level``: a draft waiting at that review level)."""
    if hard:
        return offline(number)
    if clock == "triage":
        return triage(number)
    if clock == "claim":
        return claim(number)
    if level is not None:
        return review(number, level)
    if clock in ("reply", "placeholder"):
        return reply(number)
    return (view(number),)


def matter(verb: str, ref: str) -> Action:
    """A 督办事项 command: 已填报 督3, 签收 督3."""
    return Action(f"{verb} {ref}", f"{verb} {ref}", verb in NEEDS_TEXT)


def filing(kind: str, ref: str, instruction: bool) -> Taps:
    """A filing due: 已填报 (a 批示件's monthly: 进展), 签收 or 已反馈, and 查看."""
    verb = {"sign": "签收", "feedback": "已反馈", "decision": "议定完成"}.get(kind)
    if kind in PROGRESS_WORDS:  # 实事项目's half-year or year report
        return (matter("已填报", f"{ref} {PROGRESS_WORDS[kind]}"), view(ref))
    if verb is None:
        verb = "进展" if instruction else "已填报"
    return (matter(verb, ref), view(ref))
