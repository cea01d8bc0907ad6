"""Every text users see, in one place: short, natural Chinese for a phone screen."""

from __future__ import annotations

import datetime as dt

WEEKDAYS = "一二三四五六日"

STATE_LABELS = {
    "new": "待甄别",
    "assigned": "待认领",
    "claimed": "办理中",
    "review": "待审核",
    "hard": "疑难件办理中",
    "answered": "已答复",
    "rejected": "已退回",
    "offline": "已线下答复",
}
OPEN_STATES = ("new", "assigned", "claimed", "review", "hard")
LEVEL_LABELS = {"dept_head": "处室负责人", "deputy": "分管局领导", "director": "局主要领导"}
CLOCK_LABELS = {
    "triage": "甄别",
    "claim": "认领",
    "reply": "答复",
    "placeholder": "先行回复",
    "followup": "线下答复",
}

REJECT_REPLY = "经甄别，该事项非本机关职责范围。"
NOT_IN_ROSTER = "您不在督办助手的名单中，暂不能使用命令。如需开通，请联系局办公室。"
APOLOGY = "抱歉，处理这条消息时出错了，已记录，请稍后再试或联系局办公室。"
UNKNOWN_COMMAND = "没看懂这条命令。发送「帮助」查看可用命令。"
EMPTY_MESSAGE = "请在@督办助手后写上命令，例如「待办」。发送「帮助」查看全部命令。"


def when(moment: dt.datetime, tz: dt.tzinfo, provisional: bool = False) -> str:
    """'10月8日(周四) 11:30', with （暂定） when the calendar had no data for it."""
    local = moment.astimezone(tz)
    text = f"{local.month}月{local.day}日(周{WEEKDAYS[local.weekday()]}) {local:%H:%M}"
    return text + ("（暂定）" if provisional else "")


def item_ref(number: int) -> str:
    return f"#{number}"


def excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- intake ------------------------------------------------------------------------------


def town_received(number: int) -> str:
    return f"已收到，编号{item_ref(number)}。我局将按时限办理并在此答复。"


def office_new_item(number: int, town: str, category: str, text: str, due: str) -> str:
    return (
        f"【新@件】{item_ref(number)} {town}·{category}\n{excerpt(text, 120)}\n"
        f"请于{due}前甄别：分派 {number} 处室 / 退回 {number} 说明"
    )


# --- triage ------------------------------------------------------------------------------


def assigned_reply(number: int, dept: str, due: str) -> str:
    return f"{item_ref(number)} 已分派{dept}，认领时限{due}。"


def dept_new_item(number: int, town: str, category: str, text: str, due: str) -> str:
    return (
        f"【待认领】{item_ref(number)} {town}·{category}\n{excerpt(text, 120)}\n"
        f"请于{due}前认领：认领 {number}"
    )


def rejected_reply(number: int) -> str:
    return f"{item_ref(number)} 已退回，已自动答复街镇：非本机关职责范围。"


def reject_to_town(note: str | None) -> str:
    return REJECT_REPLY + (f"\n{note}" if note else "")


def reassigned_reply(number: int, old: str, new: str, due: str) -> str:
    return f"{item_ref(number)} 已由{old}改派{new}，认领时限{due}。"


def reassigned_away(number: int, new: str) -> str:
    return f"{item_ref(number)} 已改派{new}，本处室无需再办理。"


def registered_reply(number: int, due: str) -> str:
    return f"已登记为{item_ref(number)}，请于{due}前甄别。"


# --- department --------------------------------------------------------------------------


def claimed_reply(number: int, reply_due: str, placeholder_due: str) -> str:
    return (
        f"{item_ref(number)} 已认领。答复时限{reply_due}；"
        f"如属疑难件，请处室负责人于{placeholder_due}前标记「疑难 {number}」。"
    )


def draft_reply(number: int, reviewer: str) -> str:
    return f"{item_ref(number)} 答复稿已提交，等待{reviewer}审核。"


def review_request(number: int, town: str, draft: str, due: str) -> str:
    return (
        f"【待审核】{item_ref(number)} {town}\n答复稿：{excerpt(draft, 200)}\n"
        f"答复时限{due}。同意 {number} / 退改 {number} 意见"
    )


def passed_up_reply(number: int, reviewer: str) -> str:
    return f"{item_ref(number)} 已报{reviewer}审核。"


def approved_reply(number: int) -> str:
    return f"{item_ref(number)} 已同意，答复已发送给街镇。"


def answered_notice(number: int, town: str) -> str:
    return f"{item_ref(number)} {town} 已答复办结。"


def returned_reply(number: int) -> str:
    return f"{item_ref(number)} 已退回内勤修改。"


def returned_notice(number: int, who: str, comment: str) -> str:
    return f"【退改】{item_ref(number)} {who}意见：{comment}\n修改后请重新发送：答复 {number} 内容"


def hard_reply(number: int, late: bool) -> str:
    text = (
        f"{item_ref(number)} 已标记疑难件，先行回复已发送给街镇。"
        f"线下答复后请发送「已线下答复 {number}」。"
    )
    return text + ("\n注意：已超过先行回复时限，记为逾期。" if late else "")


def already_hard(number: int) -> str:
    return f"{item_ref(number)} 已是疑难件，先行回复已发过。"


def rejected_away(number: int) -> str:
    return f"{item_ref(number)} 已由局办公室退回街镇，本处室无需办理。"


def offline_reply(number: int) -> str:
    return f"{item_ref(number)} 已线下答复，办结。"


# --- reminders and escalations -----------------------------------------------------------

ACTIONS = {
    "triage": "甄别（分派/退回）",
    "claim": "认领",
    "reply": "答复",
    "placeholder": "判断是否疑难件（疑难件须先行回复）",
}


def nag_line(number: int, town: str, clock: str, due: str) -> str:
    return f"{item_ref(number)} {town}：请于{due}前{ACTIONS[clock]}"


def overdue_line(number: int, town: str, clock: str, due: str, who: str) -> str:
    return f"{item_ref(number)} {town}：{CLOCK_LABELS[clock]}已超时（时限{due}），待{who}办理"


def followup_line(number: int, town: str, since: str) -> str:
    return (
        f"{item_ref(number)} {town}：疑难件自{since}起待线下答复，"
        f"办结后请发送「已线下答复 {number}」"
    )


def late_suffix(planned: str) -> str:
    return f"（原定{planned}发出，因系统停机延后）"


def digest(title: str, lines: list[str]) -> str:
    if len(lines) == 1:
        return f"【{title}】{lines[0]}"
    return f"【{title}·{len(lines)}件】\n" + "\n".join(
        f"{i}. {line}" for i, line in enumerate(lines, 1)
    )


REMINDER = "督办提醒"
ESCALATION = "超时督办"
FOLLOWUP = "疑难件跟踪"


# --- refusals ----------------------------------------------------------------------------


def usage(line: str) -> str:
    return f"格式：{line}"


def not_allowed(command: str, who: str) -> str:
    return f"「{command}」只有{who}可以使用。"


def no_item(number: int) -> str:
    return f"没有编号为{item_ref(number)}的@件。"


def wrong_state(number: int, state: str, command: str) -> str:
    return f"{item_ref(number)} 当前{STATE_LABELS[state]}，不能{command}。"


def unknown_department(name: str, known: list[str]) -> str:
    return f"没有「{name}」这个处室。可选：{'、'.join(known)}"


def unknown_town(name: str, known: list[str]) -> str:
    return f"没有「{name}」这个街镇。可选：{'、'.join(known) or '（名单中尚无街镇）'}"


def not_your_department(number: int, dept: str | None) -> str:
    return f"{item_ref(number)} 属于{dept or '其他处室'}，不归您办理。"


def not_your_level(number: int, level: str) -> str:
    return f"{item_ref(number)} 的答复稿正等待{LEVEL_LABELS[level]}审核。"


def same_department(number: int, dept: str) -> str:
    return f"{item_ref(number)} 已经在{dept}。"


def nothing_to_do() -> str:
    return "目前没有需要您办理的@件。"


def no_open_items(state: str | None) -> str:
    return f"目前没有{STATE_LABELS[state] if state else '未办结'}的@件。"


def calendar_warning(years: list[int]) -> str:
    listed = "、".join(f"{y}年" for y in years)
    return (
        f"【日历提醒】{listed}的节假日安排尚未导入，相关时限只按周末计算（暂定）。"
        "国务院通知发布后，请用 calendar import-notice 导入。"
    )
