"""Every text users see, in one place: short, natural Chinese for a phone screen."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.filings import Part, Template

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
CARD_UNKNOWN = "这张卡片已失效，请在与督办助手的单聊中发命令。"
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


NEW_ITEMS = "新@件"
NEW_FOR_DEPARTMENT = "待认领"


def new_item_line(number: int, town: str, category: str, text: str, due: str) -> str:
    """One new item as a line of a burst digest."""
    return f"{item_ref(number)} {town}·{category}：{excerpt(text, 30)}（{due}前）"


def office_new_item(
    number: int, town: str, category: str, text: str, due: str, attached: str = ""
) -> str:
    return (
        f"【新@件】{item_ref(number)} {town}·{category}，{due}前甄别\n{excerpt(text, 120)}\n"
        + (f"{attached}\n" if attached else "")
        + f"发送「分派 {number} 处室」或「退回 {number} 说明」"
    )


# A town's @ that cannot make an item: nothing written, or a voice or video message.
EMPTY_ITEM = "请在@督办助手后写上您要咨询或沟通的问题，我局收到后即编号办理。"
TEXT_PLEASE = "暂不能处理语音和视频，请把问题写成文字，再@督办助手发送，谢谢。"
PICTURE_ONLY = "[图片]"  # an item's text when the town sent only pictures


def file_only(names: Sequence[str]) -> str:
    """An item's text when the town sent files and no words."""
    return "[文件] " + "、".join(names)


def attachments_line(pictures: int, files: Sequence[str]) -> str:
    """What came with an item: '附图片2张', '附件: 方案.pdf', or both."""
    parts = [f"附图片{pictures}张"] if pictures else []
    if files:
        parts.append("附件: " + "、".join(files))
    return "；".join(parts)


def attachments_follow(number: int, town: str, line: str, missing: int, total: int) -> str:
    """The line before an item's pictures and files, and what could not be fetched."""
    head = f"【附件】{item_ref(number)} {town} {line}"
    if missing == total:
        return head + "，未能从钉钉取回，请联系街镇重新发送。"
    if missing:
        return head + f"，其中{missing}个未能从钉钉取回，请联系街镇重新发送；其余见下。"
    return head + "，见下。"


def picture_caption(number: int, seq: int) -> str:
    return f"{item_ref(number)} 图片{seq}"


# --- triage ------------------------------------------------------------------------------


def assigned_reply(number: int, dept: str, due: str) -> str:
    return f"{item_ref(number)} 已分派{dept}，认领时限{due}。"


def dept_new_item(
    number: int, town: str, category: str, text: str, due: str, attached: str = ""
) -> str:
    return (
        f"【待认领】{item_ref(number)} {town}·{category}，{due}前认领\n{excerpt(text, 120)}\n"
        + (f"{attached}\n" if attached else "")
        + f"发送「认领 {number}」"
    )


def rejected_reply(number: int) -> str:
    return f"{item_ref(number)} 已退回，正在自动答复街镇：非本机关职责范围。送达后会通知您。"


def reject_to_town(note: str | None) -> str:
    return REJECT_REPLY + (f"\n{note}" if note else "")


TOWN_ANSWER_KINDS = {"reply": "答复", "reject": "甄别结果", "placeholder": "先行回复"}


def town_answer(kind: str, number: int, asked: str, question: str, body: str, asker: str) -> str:
    """An answer in the town's chat, under a first line that places it: which item, whose
    question (``asker`` is "" when the message @-mentions them), when, and its first words."""
    who = f"{asker} " if asker else ""
    return (
        f"【{TOWN_ANSWER_KINDS[kind]}】{item_ref(number)} {who}{asked}提问：{excerpt(question, 24)}"
        f"\n{body}"
    )


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
        f"【待审核】{item_ref(number)} {town}，{due}前答复\n答复稿：{excerpt(draft, 200)}\n"
        f"发送「同意 {number}」或「退改 {number} 意见」"
    )


def passed_up_reply(number: int, reviewer: str) -> str:
    return f"{item_ref(number)} 已报{reviewer}审核。"


def approved_reply(number: int) -> str:
    return f"{item_ref(number)} 已同意，答复正在发送给街镇，送达后会通知您。"


def own_draft(number: int) -> str:
    return f"{item_ref(number)} 的答复稿是您本人起草的，须由其他审核人同意。"


def answered_notice(number: int, town: str) -> str:
    return f"{item_ref(number)} {town} 已答复办结。"


def returned_reply(number: int) -> str:
    return f"{item_ref(number)} 已退回内勤修改。"


def returned_notice(number: int, who: str, comment: str, due: str) -> str:
    return (
        f"【退改】{item_ref(number)} 请修改，{due}前答复\n{who}意见：{excerpt(comment, 200)}\n"
        f"修改后请重新发送：答复 {number} 内容"
    )


def hard_reply(number: int, late: bool) -> str:
    text = (
        f"{item_ref(number)} 已标记疑难件，先行回复正在发送给街镇，送达后会通知您。"
        f"线下答复后请发送「已线下答复 {number}」。"
    )
    return text + ("\n注意：已超过先行回复时限，记为逾期。" if late else "")


def already_hard(number: int) -> str:
    return f"{item_ref(number)} 已是疑难件，先行回复已发过。"


def rejected_away(number: int) -> str:
    return f"{item_ref(number)} 已由局办公室退回街镇，本处室无需办理。"


def offline_reply(number: int) -> str:
    return f"{item_ref(number)} 已线下答复，办结。"


# --- delivery to the town ----------------------------------------------------------------

OFFICE_NAME = "局办公室"
DELIVERY_LABELS = {"reply": "答复", "reject": "退回答复", "placeholder": "先行回复"}
DELIVERY_PENDING = "{label}发送中"
DELIVERY_FAILED = "{label}未送达"


def delivered_notice(purpose: str, number: int, town: str) -> str:
    return f"{item_ref(number)} {DELIVERY_LABELS[purpose]}已送达{town}。"


def delivery_failed(
    purpose: str, number: int, town: str, where: str, reason: str, advice: str
) -> str:
    label = DELIVERY_LABELS[purpose]
    return (
        f"【{label}未送达】{item_ref(number)} {town}：发往{where}的{label}{reason}。\n"
        f"{advice}，然后由局办公室发送「重发 {number}」。"
    )


def send_failure(error: str) -> tuple[str, str]:
    """Why DingTalk did not take a message, and what to do, from the sender's error."""
    code = _error_code(error)
    tail = f"（{code}）" if code else ""
    lowered = error.lower()
    if "not.in.group" in lowered or "notingroup" in lowered:
        return f"被钉钉拒收：机器人不在该群中{tail}", "请把督办助手机器人加入该群"
    if "400013" in error or "解散" in error:
        return f"未能送出：该群已解散{tail}", "请核对名单中的群，或用其他方式联系"
    if "invalid userid" in lowered or "filtered" in lowered or "staffid" in lowered:
        return f"被钉钉拒收：找不到此人或此人拒收{tail}", "请核对名单中此人的钉钉userId"
    if "300001" in error or "webhook expired" in lowered or "without a webhook" in lowered:
        return "未能送出：会话已过期，且没有可改发的群", "请核对名单中该街镇的群"
    if "http 401" in lowered or "invalidclientid" in lowered or "invalidauthentication" in lowered:
        return (
            f"未能送出：应用凭据无效{tail}",
            "请管理员检查 DINGTALK_CLIENT_ID 和 DINGTALK_CLIENT_SECRET",
        )
    if "http 403" in lowered:
        return (
            f"被钉钉拒收：没有发送权限{tail}",
            "请管理员在钉钉开放平台检查应用的机器人发消息权限，并确认机器人在群中",
        )
    if any(
        w in lowered for w in ("timed out", "refused", "http 5", "qpslimit", "429", "unexpected")
    ):
        return f"多次重试仍未送出（网络或钉钉故障）{tail}", "请稍后再试"
    return f"被钉钉拒收{tail}", "请管理员查看日志中的原因"


def _error_code(error: str) -> str:
    """'HTTP 400 robot.not.in.group' or 'errcode 300001' out of a sender error."""
    found = _HTTP_CODE.search(error)
    if found:
        return " ".join(g for g in ("HTTP", *found.groups()) if g)
    found = _ERRCODE.search(error)
    return f"errcode {found.group(1)}" if found else ""


_HTTP_CODE = re.compile(r"HTTP (\d{3})(?: ([^\s:]+):)?")
_ERRCODE = re.compile(r"errcode (-?\d+)")


def delivery_state(purpose: str, state: str) -> str:
    label = DELIVERY_LABELS[purpose]
    return (DELIVERY_FAILED if state == "failed" else DELIVERY_PENDING).format(label=label)


def nothing_to_resend(number: int) -> str:
    return f"{item_ref(number)} 没有未送达街镇的消息。"


def resending_reply(number: int, labels: list[str]) -> str:
    return f"{item_ref(number)} 正在重发{'、'.join(labels)}，送达后会通知您。"


NO_FAILED = "没有发送失败的消息。"


def failed_title(count: int) -> str:
    return f"发送失败的消息（{count}条，新的在前）："


def failed_line(when_: str, where: str, what: str, reason: str, number: int | None) -> str:
    hint = f"，处理后发送「重发 {number}」" if number is not None else ""
    return f"{when_} {where}｜{what}｜{reason}{hint}"


def failed_more(count: int) -> str:
    return f"……另有{count}条较早的未列出"


def chat_name(kind: str, name: str) -> str:
    return {"town": f"{name}直通车群", "group": f"{name}群", "person": f"单聊→{name}"}[kind]


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


def followup_line(number: int, town: str, clock: str, since: str) -> str:
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


def burst_digest(sections: list[tuple[str, list[str], int, int]]) -> str:
    """Messages that waited for a group's rate limit, as one: per title, its lines numbered
    from ``first`` of ``total`` (a long list goes as several such messages)."""
    parts = []
    for title, lines, first, total in sections:
        if total == 1:
            parts.append(f"【{title}】{lines[0]}")
            continue
        last = first + len(lines) - 1
        head = (
            f"【{title}·{total}件】"
            if len(lines) == total
            else f"【{title}·共{total}件，本条第{first}–{last}件】"
        )
        parts.append(head + "\n" + "\n".join(f"{i}. {line}" for i, line in enumerate(lines, first)))
    return "\n".join(parts)


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
    return "目前没有需要您办理的事项。"


def overdue(minutes: int, day_minutes: int) -> str:
    """How far past its deadline, in working time: 已超时 2小时, 已超时 1.5个工作日."""
    if minutes < 1:
        return "已超时"
    if minutes < 60:
        return f"已超时 {minutes}分钟"
    if minutes < day_minutes:
        hours, rest = divmod(minutes, 60)
        return f"已超时 {hours}小时" + (f"{rest}分" if rest else "")
    halves = minutes * 2 // day_minutes
    days = str(halves // 2) + (".5" if halves % 2 else "")
    return f"已超时 {days}个工作日"


def todo_filing(ref: str, what: str, due: str, late: str) -> str:
    return f"{ref}·{what}，时限{due}" + (f"，{late}" if late else "")


def todo_interview(ref: str, tier: str, interviewer: str, interviewee: str) -> str:
    return f"{ref}·{tier}：{interviewer}约谈{interviewee}，开展后由局办公室记录「约谈完成」"


def filing_label(kind: str, period: str, instruction: bool) -> str:
    if kind in PROGRESS_WORDS:
        return progress_label(period)
    if kind == "decision":
        return FILING_KINDS[kind]
    if kind != "monthly":
        return f"批示件{FILING_KINDS[kind]}"
    return f"{period_label(period)}" + ("跟踪进展" if instruction else "填报")


def no_open_items(state: str | None) -> str:
    return f"目前没有{STATE_LABELS[state] if state else '未办结'}的@件。"


def calendar_warning(years: list[int]) -> str:
    listed = "、".join(f"{y}年" for y in years)
    return (
        f"【日历提醒】{listed}的节假日安排尚未导入，相关时限只按周末计算（暂定）。"
        "国务院通知发布后，请用 calendar import-notice 导入。"
    )


# --- 约谈问询 ladder ---

LADDER_TIER_NAMES = {1: "第一层级约谈问询", 2: "第二层级约谈问询", 3: "第三层级约谈问询"}
LADDER_ROLE_LABELS = {
    "owner": "项目具体负责人",
    "dept_head": "处室负责人",
    "deputy": "分管局领导",
    "director": "局主要领导",
}
LIGHT_LABELS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
# The document's words for each condition kind of handlers.lights.ladder.
LADDER_RULES = {
    "yellow2": "连续二次亮黄灯",
    "late2": "超限报告二次",
    "yellowred3": "连续三次亮黄灯（含红灯）",
    "red2": "连续二次亮红灯",
    "late3": "超限报告超过三次（含三次）",
    "named_deputy": "区分管领导在全区性会议上点名批评",
    "yellowred4": "连续四次亮黄灯（含红灯）",
    "red3": "连续三次亮红灯",
    "named_principal": "区主要领导在全区性会议上点名批评",
    "lagging_deputy": "推进进度严重滞后（区分管领导）",
    "lagging_principal": "推进进度严重滞后（区主要领导）",
}


def _ladder_months(entries: list[tuple[str, str]]) -> str:
    """("YYYY-MM", suffix) pairs as "2025年12月黄灯、2026年1月红灯", the year when it changes."""
    parts: list[str] = []
    year = ""
    for period, suffix in entries:
        y, m = period.split("-")
        parts.append(f"{'' if y == year else y + '年'}{int(m)}月{suffix}")
        year = y
    return "、".join(parts)


def ladder_lights(lights: list[tuple[str, str]]) -> str:
    return _ladder_months([(period, LIGHT_LABELS[color]) for period, color in lights])


def ladder_late(periods: list[str]) -> str:
    counts: dict[str, int] = {}
    for period in periods:
        counts[period] = counts.get(period, 0) + 1
    months = _ladder_months([(p, f"（{n}次）" if n > 1 else "") for p, n in counts.items()])
    return f"超限报告{len(periods)}次：{months}"


def ladder_criticism(date: dt.date, note: str) -> str:
    day = f"{date.year}年{date.month}月{date.day}日"
    return f"{day}：{note.strip()}" if note.strip() else day


def ladder_heading(tier: int, interviewer: str, interviewee: str) -> str:
    who = f"{LADDER_ROLE_LABELS[interviewer]}约谈{LADDER_ROLE_LABELS[interviewee]}"
    return f"{LADDER_TIER_NAMES[tier]}（{who}）"


# --- filings and 批示件 reports ---


def period_label(period: str) -> str:
    """'2026-11' -> '2026年11月'; '2026-H1' -> '2026年上半年'; '2026-Y' -> '2026年度'."""
    year, month = period.split("-")
    if month in PROGRESS_PERIODS:
        return f"{int(year)}{PROGRESS_PERIODS[month]}"
    return f"{int(year)}年{int(month)}月"


def report_too_long(part: str, count: int, limit: int) -> str:
    return f"「{part}」超出{count - limit}字（{count}/{limit}字）"


def report_missing(part: str) -> str:
    return f"缺少「{part}」"


def report_repeated(part: str) -> str:
    return f"「{part}」写了不止一次，已合并计算字数，请合并为一段"


def report_template(limits: dict[str, int]) -> str:
    parts = " ".join(f"{i}、{name}（{n}字以内）" for i, (name, n) in enumerate(limits.items(), 1))
    return f"没有找到进展报告的各部分，请按模板分段填写：{parts}"


# --- statistics ---

STATS_OFFICE = "局办公室"
STATS_COLORS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
STATS_EMPTY = "本期没有数据。"


def stats_items(count: int) -> str:
    return f"@件{count}"


def stats_clock(label: str, on_time: int, counted: int) -> str:
    return f"{label}按时{on_time}/{counted}"


def stats_open_overdue(count: int) -> str:
    return f"超时未办{count}"


def stats_rejected(count: int) -> str:
    return f"退回{count}"


def stats_filings(on_time: int, overdue: int, open_: int) -> str:
    parts = [f"按时{on_time}" if on_time else "", f"超限{overdue}" if overdue else ""]
    parts.append(f"未到期{open_}" if open_ else "")
    return "填报" + " ".join(p for p in parts if p)


def stats_lights(counts: dict[str, int]) -> str:
    return " ".join(f"{label}{counts[c]}" for c, label in STATS_COLORS.items() if counts.get(c))


def stats_interviews(count: int) -> str:
    return f"约谈{count}"


def stats_block(name: str, segments: list[str]) -> str:
    return f"**{name}** " + " · ".join(segments)


def stats_summary(title: str, blocks: list[str]) -> str:
    return "\n\n".join([f"**{title}**", *(blocks or [STATS_EMPTY])])


def stats_exported(path: str, first: dt.date, last: dt.date) -> str:
    return f"导出统计到{path}（{first.isoformat()}至{last.isoformat()}）"


# The workbook (bot/stats_xlsx.py): sheet names, headers, cell values.
XLSX_SUMMARY = "汇总"
XLSX_ITEMS = "@件明细"
XLSX_FILINGS = "填报"
XLSX_TOTAL = "合计"
XLSX_CLOCK_COLUMNS = ("按时", "超时", "超时未办", "按时率")
XLSX_SUMMARY_HEAD = ("处室", "@件数", "退回")
XLSX_SUMMARY_TAIL = (
    "填报按时",
    "填报超限",
    "填报未到期",
    "填报按时率",
    "绿灯",
    "黄灯",
    "红灯",
    "在办约谈",
    "约谈建议待决定",
)
XLSX_WINDOW = "统计区间：{first}至{last}（按收到时间；填报按截止时间）；统计时点：{now}"
XLSX_ITEM_HEAD = ("编号", "街镇", "类别", "处室", "状态", "疑难件", "收到时间")
XLSX_ITEM_CLOCK = ("{label}时限", "{label}时间", "{label}是否超时")
XLSX_OUTCOMES = {"on_time": "否", "late": "是", "open_overdue": "是（未办）", "pending": "未到期"}
XLSX_FILING_HEAD = (
    "事项编号",
    "事项名称",
    "类别",
    "处室",
    "月份/环节",  # a monthly filing's month, or a 批示件's 签收/反馈
    "节点",
    "截止时间",
    "填报时间",
    "填报人",
    "情况",
)
XLSX_FILING_OUTCOMES = {"on_time": "按时", "overdue": "超限", "open": "未到期"}
XLSX_FILING_STEPS = {"sign": "签收", "feedback": "反馈"}  # a 批示件's filings
XLSX_YES, XLSX_NO = "是", "否"


ITEM_EVENTS = {  # an @件's record, by action
    "received": "@件收到",
    "registered": "登记",
    "assigned": "分派",
    "rejected": "退回",
    "reassigned": "改派",
    "claimed": "认领",
    "drafted": "提交答复稿",
    "passed_up": "报上级审核",
    "approved": "同意",
    "replied": "答复已发送",
    "reply_failed": "答复未送达",
    "reject_sent": "退回答复已发送",
    "reject_failed": "退回答复未送达",
    "resent": "重发",
    "sent_back": "退改",
    "hard": "标记疑难",
    "placeholder_sent": "先行回复已发送",
    "placeholder_failed": "先行回复未送达",
    "offline_answered": "已线下答复",
    "nagged": "提醒",
    "escalated": "超时督办",
}


def event_detail(action: str, detail: str) -> str:
    """An @件 event's detail as 查看 shows it: none where the record's text is shown above
    (the question, the draft), and Chinese for the values the bot records."""
    if not detail or action in ("received", "drafted", "approved"):
        return ""
    if detail == "late":
        return "（逾期）"
    if action == "passed_up":
        return LEVEL_LABELS.get(detail, detail)
    return detail


# --- 督办事项: registry, filings, 批示件, lights, interviews ---


MATTER_STATUS = {"open": "进行中", "closed": "已办结"}
CRITICISM_LEVELS = {
    "district_deputy": "区分管领导点名批评",
    "district_principal": "区主要领导点名批评",
}
FILING_KINDS = {
    "monthly": "月度填报",
    "sign": "签收",
    "feedback": "反馈",
    "decision": "例会议定事项",
}
FILING_REMINDER = "填报提醒"
FILING_ESCALATION = "超限督办"
INTERVIEW_TITLE = "约谈问询"
INTERVIEW_STATES = {
    "proposed": "待决定",
    "declined": "不约谈",
    "open": "待约谈",
    "held": "已约谈",
    "superseded": "已升级",
    "absorbed": "并入",
}
MATTER_EVENTS = {
    "created": "登记",
    "edited": "修改",
    "closed": "办结",
    "reopened": "重新开启",
    "imported": "导入",
    "filed": "已填报",
    "nagged": "提醒",
    "overdue": "超限",
    "light": "亮灯",
    "criticism": "点名批评",
    "interview": "启动约谈",
    "interview_held": "约谈完成",
    "proposed": "约谈建议",
    "declined": "不约谈",
    "lagging": "严重滞后",
    "report": "进展报告",
    "closure": "闭环",
    "submitted": "提交审核",
    "approved": "审核同意",
    "returned": "退改",
}


def matter_ref(number: int, name: str) -> str:
    return f"督{number} {excerpt(name, 30)}"


def matter_line(category: str, platform: str, dept: str, owner: str, deputy: str) -> str:
    where = "" if platform == "无" else f"·{platform}"
    return f"{category}{where}｜{dept}｜负责人{owner}｜分管{deputy}"


def matter_added(ref: str, line: str) -> str:
    return f"已登记{ref}\n{line}"


def matter_edited(ref: str, field: str, old: str, new: str) -> str:
    return f"{ref}：{field}由「{old or '—'}」改为「{new}」。"


def matter_unchanged(ref: str, field: str) -> str:
    return f"{ref}的{field}没有变化。"


def matter_closed_reply(ref: str) -> str:
    return f"{ref}已办结，不再提醒填报。"


def no_matter(ref: str) -> str:
    return f"没有找到督办事项「{ref}」。发送「事项列表」查看编号。"


def ambiguous_matter(ref: str, found: list[str]) -> str:
    return f"「{ref}」对应多个事项：{'；'.join(found)}。请写编号，如 督3。"


def matter_closed(ref: str) -> str:
    return f"{ref}已办结。"


def duplicate_matter(name: str, ref: str) -> str:
    return f"已有同名事项：{ref}。"


def no_matters(title: str) -> str:
    return f"没有{title}。"


def owner_elsewhere(name: str, theirs: list[str], dept: str) -> str:
    return f"{name}是{'、'.join(theirs)}的人员，不能担任{dept}事项的负责人。"


def owner_check_after_move(name: str, theirs: list[str]) -> str:
    return f"\n注意：负责人{name}属于{'、'.join(theirs)}，请用「修改事项 … 负责人 姓名」更换。"


def unknown_person(word: str) -> str:
    return f"名单中没有「{word}」，请写姓名或钉钉userId。"


def unknown_category(word: str, known: list[str]) -> str:
    return f"没有「{word}」这个类别。可选：{'、'.join(known)}"


def unknown_platform(word: str, known: list[str]) -> str:
    return f"没有「{word}」这个平台。可选：{'、'.join(known)}"


def yes_no(field: str) -> str:
    return f"{field}请写「是」或「否」。"


def not_matter_department(ref: str, dept: str) -> str:
    return f"{ref}由{dept}负责，只有该处室内勤或负责人可以办理。"


def bad_month(word: str) -> str:
    return f"没看懂月份「{word}」，请写如 11月 或 2026-11。"


def bad_date(word: str) -> str:
    return f"没看懂日期「{word}」，请写如 2026-12-10。"


def date_in_past(word: str) -> str:
    return f"反馈期限{word}已经过去，请核对。"


def light_entry(period: str, color: str) -> str:
    return f"{period_label(period)}{LIGHT_LABELS[color]}"


def light_recorded(ref: str, detail: str, star: bool) -> str:
    tail = "" if star else "（非绩效考核事项，不启动约谈问询）"
    return f"已记录{ref}：{detail}{tail}"


def light_unchanged(ref: str, entry: str) -> str:
    return f"{ref}已记录为{entry}，无变化。"


def criticism_entry(date: dt.date, level: str, note: str, kind: str = "named") -> str:
    what = criticism_label(kind, level)
    return f"{date.month}月{date.day}日 {what}" + (f"：{note}" if note else "")


def criticism_recorded(ref: str, what: str, star: bool) -> str:
    tail = "" if star else "（非绩效考核事项，不启动约谈问询）"
    return f"已记录{ref}：{what}{tail}"


def filing_entry(
    kind: str, what: str, due: str, done: str | None, overdue: bool, approval: str = ""
) -> str:
    if done:
        state = f"{done}已办" + ("（超限）" if overdue else "")
    else:
        state = "已超限，未办" if overdue else "未办"
    return f"{what}：时限{due}，{state}" + (f"，{approval}" if approval else "")


def interview_entry(tier: int, state: str, rules: str, opened: str) -> str:
    return f"{opened} {LADDER_TIER_NAMES[tier]}（{INTERVIEW_STATES[state]}）：{rules}"


def instruction_status(
    sign_due: str,
    signed: str | None,
    feedback_due: str,
    fed: str | None,
    notice: dt.date,
    steps: list[str],
) -> str:
    parts = [
        f"通知反馈期限{notice.month}月{notice.day}日",
        f"签收：{signed + '已签收' if signed else '时限' + sign_due}",
        f"反馈：{fed + '已反馈' if fed else '时限' + feedback_due}",
    ]
    if steps:
        parts.append("闭环：" + "、".join(steps))
    return "｜".join(parts)


def no_filing(ref: str, month: str) -> str:
    return f"{ref}没有{month}的填报任务。"


def nothing_to_file(ref: str) -> str:
    return f"{ref}目前没有待填报的月份。"


def already_filed(ref: str, what: str, when_: str) -> str:
    return f"{ref}的{what}已于{when_}记录，无需重复。"


def filed_reply(ref: str, what: str, overdue: bool) -> str:
    return f"已记录：{ref}，{what}" + ("已完成（超限）。" if overdue else "按时完成。")


def filing_reminder_line(ref: str, kind: str, what: str, due: str, platform: str) -> str:
    number = ref.split()[0]
    if kind == "sign":
        todo = f"请在区网上督查室签收，签收后发送「签收 {number}」"
    elif kind == "report":
        todo = f"请报送跟踪办理情况：发送「进展 {number} 1、目前进展… 2、难点问题… 3、下一步打算…」"
    elif kind == "feedback":
        todo = f"请发送「已反馈 {number} 反馈材料或摘要」，经分管局领导同意后录入平台"
    elif kind in PROGRESS_WORDS:
        todo = f"请报局办公室汇总报重大办，完成后发送「已填报 {number} {PROGRESS_WORDS[kind]}」"
    else:
        where = "报局办公室" if platform == "无" else f"在{platform}填报"
        todo = f"请{where}，完成后发送「已填报 {number}」"
    return f"{ref}｜{what}截止{due}，{todo}"


def filing_overdue_line(ref: str, what: str, due: str, who: str) -> str:
    return f"{ref}｜{what}已过时限{due}仍未完成（待{who or '处室'}办理），记超限一次"


def instruction_new(ref: str, sign_due: str, feedback_due: str, notice: dt.date) -> str:
    return (
        f"【领导批示件】{ref}，{sign_due}前签收\n"
        f"请在区网上督查室签收（签收 {ref.split()[0]}）；"
        f"反馈材料（已反馈 编号 内容）经分管局领导同意后于{feedback_due}前录入"
        f"（通知期限{notice.month}月{notice.day}日）。"
        "未办结前每月按节点报送跟踪情况（进展 编号 报告）。"
    )


def instruction_registered(ref: str, dept: str, sign_due: str, feedback_due: str) -> str:
    return f"已登记{ref}，交{dept}：签收时限{sign_due}，反馈时限{feedback_due}。"


def not_instruction(ref: str) -> str:
    return f"{ref}不是领导批示件。"


def report_refused(ref: str, problems: list[str]) -> str:
    return f"{ref}的进展报告未记录，请修改：\n" + "\n".join(problems)


def report_kept(ref: str) -> str:
    return f"已收到{ref}的进展报告（本月跟踪已报送或尚未到期）。"


def closure_by_office(step: str) -> str:
    return f"「{step}」由局办公室督办岗记录。"


def closure_done_already(ref: str, step: str) -> str:
    return f"{ref}的「{step}」已记录。"


def closure_progress(ref: str, step: str, missing: list[str]) -> str:
    return f"已记录{ref}：{step}。还差：{'、'.join(missing)}。"


def instruction_closed(ref: str) -> str:
    return f"{ref}闭环完成，已办结。"


def no_open_interview(ref: str) -> str:
    return f"{ref}没有待开展的约谈问询。"


def interview_held(ref: str, tier: str) -> str:
    return f"已记录：{ref}的{tier}已开展。"


def interview_notice(
    ref: str, tier: str, interviewer: str, interviewee: str, rules: list[tuple[str, str]]
) -> str:
    lines = [
        f"【{tier}】{ref}",
        f"由{interviewer}约谈{interviewee}。依据《督促检查工作实施办法》三(六)：",
    ]
    lines += [f"· {rule}：{evidence}" for rule, evidence in rules]
    lines.append("约谈后请局办公室发送「约谈完成 " + ref.split()[0] + "」。")
    return "\n".join(lines)


def stats_title(period: str) -> str:
    return f"{period_label(period)}督办统计"


def name_too_long(length: int, limit: int) -> str:
    return f"事项名称太长（{length}字），请控制在{limit}字以内。"


def instruction_category_fixed() -> str:
    return "领导批示件有签收和反馈时限，请用「批示件」命令登记，不能由其他类别改成或改出。"


def category_defaults(star: str, platform: str) -> str:
    return f"绩效考核和平台随类别改为：{star}、{platform}。"


def deputy_follows(name: str) -> str:
    return f"分管局领导随处室改为{name}。"


def instruction_files_by_report(ref: str) -> str:
    number = ref.split()[0]
    return f"{ref}是领导批示件，跟踪情况请用「进展 {number} 报告」报送（按模板检查字数）。"


def date_too_far(word: str) -> str:
    return f"反馈期限{word}太远了，请核对。"


def feedback_already_due(word: str, due: str) -> str:
    return f"按反馈期限{word}，反馈应在{due}前完成，已来不及。请核对期限，或与局办公室商定。"


def no_deadline(ref: str, what: str) -> str:
    return f"{ref}没有{what}时限（导入时未填批示件反馈期限）。请局办公室补上。"


def light_before_matter(matter: str, since: str, period: str) -> str:
    year = since[:5]
    return f"{matter} 于{since}登记，只能补记{year}1月以来的亮灯，不能记录{period}的。"


def light_in_future(month: str) -> str:
    return f"{month}还没到，不能记录亮灯。"


# --- 约谈问询 at discretion (酌情), 推进进度严重滞后, the missing lights (issue 11, item 7) ---

TIER_WORDS = {1: "一级", 2: "二级", 3: "三级"}  # how a command names a tier
PROPOSAL_TITLE = "约谈建议"
LAGGING_LEVELS = {
    "district_deputy": "推进进度严重滞后（区分管领导）",
    "district_principal": "推进进度严重滞后（区主要领导）",
}
MISSING_LIGHTS_TITLE = "亮灯补录提醒"


def criticism_label(kind: str, level: str) -> str:
    """点名批评 or 推进进度严重滞后, with the district leader's level."""
    return (LAGGING_LEVELS if kind == "lagging" else CRITICISM_LEVELS)[level]


def interview_proposal(
    ref: str,
    tier: str,
    word: str,
    interviewer: str,
    interviewee: str,
    rules: list[tuple[str, str]],
) -> str:
    number = ref.split()[0]
    lines = [f"【约谈建议】{ref}", f"{tier}：{interviewer}约谈{interviewee}。条件已满足："]
    lines += [f"· {rule}：{evidence}" for rule, evidence in rules]
    lines.append(
        f"三(六)「酌情启动」，请决定：启动约谈 {number} {word}，或 不约谈 {number} {word} 理由"
    )
    return "\n".join(lines)


def no_proposal(ref: str) -> str:
    return f"{ref}没有待决定的约谈建议。"


def no_proposal_at(ref: str, tier: str) -> str:
    return f"{ref}没有待决定的{tier}建议。"


def which_tier(ref: str, verb: str, number: str, tiers: list[int]) -> str:
    forms = "或".join(f"「{verb} {number} {TIER_WORDS[t]}」" for t in tiers)
    return f"{ref}有{len(tiers)}个约谈建议待决定，请写明层级：{forms}"


def interview_started(ref: str, tier: str, interviewer: str, interviewee: str) -> str:
    return f"已启动{ref}的{tier}（{interviewer}约谈{interviewee}），已通知双方。"


def proposal_started(ref: str, tier: str, who: str) -> str:
    return f"【约谈建议】{ref}：{who}已启动{tier}，已通知约谈双方。"


def proposal_declined(ref: str, tier: str, who: str, reason: str) -> str:
    return f"【约谈建议】{ref}：{who}决定不启动{tier}。理由：{reason}"


def interview_declined(ref: str, tier: str, reason: str) -> str:
    return f"已记录：{ref}不启动{tier}。理由：{reason}。该条件不再提出建议。"


def todo_proposal(ref: str, tier: str, interviewer: str, interviewee: str, since: str) -> str:
    return f"{ref}·约谈建议待决定（{since}起）：{tier}，{interviewer}约谈{interviewee}"


def interview_decision(state: str, who: str, when_: str, reason: str | None) -> str:
    """How 查看 shows the office's decision on a proposal."""
    if state == "declined":
        return f"（{who}{when_}决定不约谈：{reason or '—'}）"
    return f"（{who}{when_}启动）"


def stats_proposals(count: int) -> str:
    return f"约谈建议待决定{count}"


def missing_lights(month: str, refs: list[str]) -> str:
    numbers = [ref.split()[0] for ref in refs]
    example = f"亮灯 {numbers[0]} 黄 {month.split('年')[1]}"
    lines = [
        f"【{MISSING_LIGHTS_TITLE}】{month}尚未记录亮灯的绩效考核（★）事项{len(refs)}项：",
        *(f"· {ref}" for ref in refs),
        f"区督查平台每月对★事项亮灯，请补录，如「{example}」（绿/黄/红）。"
        "未记录的月份视为中断，不计入「连续」亮灯。",
    ]
    return "\n".join(lines)


# --- a registry sheet's cells (bot.registry_xlsx: 第3行「责任处室」：<text>) -------------------


def cell_too_long(limit: int) -> str:
    return f"超过{limit}字"


def cell_unknown_category(word: str) -> str:
    return f"没有「{word}」这个类别"


def cell_unknown_platform(word: str) -> str:
    return f"没有「{word}」这个平台（区网上督查室、大调研、街镇直通车或无）"


def cell_not_in_roster(word: str) -> str:
    return f"「{word}」不在名单中"


def cell_same_name(count: int, word: str) -> str:
    return f"名单中有{count}人叫「{word}」，请填写钉钉userId"


def cell_owner_elsewhere(word: str, theirs: list[str], dept: str) -> str:
    return f"「{word}」是{'、'.join(theirs)}的人员，不属于{dept}"


def cell_bad_star(word: str) -> str:
    return f"「{word}」应填★、是或否（空着按类别）"


def cell_bad_status(word: str) -> str:
    return f"「{word}」应填进行中或已办结"


def cell_bad_date(word: str) -> str:
    return f"「{word}」不是日期（如2026-12-31）"


# --- one-tap actions and the text-taking conversation ---------------------------------------

ACTIONS_IN_CHAT = "（办理操作见您与督办助手的单聊）"
CANCELLED = "已取消。"
NOTHING_TO_CANCEL = "没有待续的操作。"
INPUT_EXPIRED = "上一条操作已超时取消，请重新发送。"


def ask_for_text(stem: str, what: str, optional: bool = False) -> str:
    without = "；不写说明请发送「无」" if optional else ""
    return f"请发送{what}（{stem} 之后的内容），10分钟内有效{without}；发送「取消」放弃。"


def card_done(name: str, at: str, verb: str) -> str:
    """An interactive card's state once someone acted on it (for everyone who has a copy)."""
    return f"已由 {name} 于 {at} {verb}"


def card_needs_text(command: str) -> str:
    """A card's button whose command needs words the card cannot take."""
    return f"请在与督办助手的单聊中发送「{command} 」并接着写内容。"


# --- approvals of filings by the 分管局领导 (issue 11, item 3) --------------------------------

APPROVAL_TITLE = "待您审核"
APPROVAL_WAITING_TITLE = "待分管局领导审核"
APPROVAL_STATES = {"pending": "待分管局领导审核", "returned": "已退改", "approved": "已同意"}
FEEDBACK_LIMIT = 2000  # 已反馈's text, characters without whitespace


def resubmit_command(kind: str, number: str) -> str:
    """What the department sends (again) for a filing of ``kind`` (``report``: a 批示件's
    monthly tracking report)."""
    return {
        "feedback": f"已反馈 {number} 反馈材料或摘要",
        "report": f"进展 {number} 1、目前进展… 2、难点问题… 3、下一步打算…",
    }.get(kind, f"已填报 {number}")


def approval_request(ref: str, what: str, submitter: str, due: str, text: str | None) -> str:
    number = ref.split()[0]
    body = text if text else "（处室已填报，未附文字）"
    return (
        f"【待您审核】{ref}｜{what}，时限{due}\n{submitter}提交：\n{body}\n"
        f"发送「同意 {number}」或「退改 {number} 意见」"
    )


def submitted_reply(ref: str, what: str, leader: str, due: str) -> str:
    return f"已提交：{ref}，{what}送分管局领导{leader}审核，同意后才算完成（时限{due}）。"


def approval_reminder_line(ref: str, what: str, due: str, submitter: str) -> str:
    number = ref.split()[0]
    return (
        f"{ref}｜{what}截止{due}，{submitter}已提交，待您审核："
        f"发送「同意 {number}」或「退改 {number} 意见」"
    )


def approval_waiting_line(ref: str, what: str, due: str, leader: str) -> str:
    return f"{ref}｜{what}截止{due}，材料已提交，待分管局领导{leader}审核同意（同意后才算完成）"


def approval_overdue_line(ref: str, what: str, due: str, leader: str) -> str:
    return f"{ref}｜{what}已过时限{due}，材料已提交但{leader}尚未审核同意，记超限一次"


APPROVAL_NOTE = "（须经分管局领导同意才算完成，请留出审核时间）"


def returned_suffix(note: str) -> str:
    return f"（已退改：{excerpt(note, 60)}，请修改后重新提交）"


def matter_approved_reply(ref: str, what: str, overdue: bool) -> str:
    return f"已同意：{ref}，{what}" + ("已完成（超限）。" if overdue else "按时完成。")


def matter_approved_notice(ref: str, what: str, leader: str, feedback: bool, overdue: bool) -> str:
    todo = "请录入区网上督查室平台" if feedback else "记为完成"
    tail = "（超限）。" if overdue else "。"
    return f"【已同意】{ref}｜{what}经{leader}审核同意，{todo}{tail}"


def matter_returned_reply(ref: str, what: str) -> str:
    return f"已退改：{ref}，{what}退回处室修改。"


def matter_returned_notice(
    ref: str, what: str, leader: str, opinion: str, due: str, again: str
) -> str:
    return (
        f"【退改】{ref}｜{what}请修改，时限{due}\n{leader}意见：{excerpt(opinion, 200)}\n"
        f"修改后请重新发送：{again}"
    )


def nothing_to_approve(ref: str) -> str:
    return f"{ref}没有待审核的材料。"


def own_submission(ref: str) -> str:
    return f"{ref}的材料是您本人提交的，须由其他领导审核。"


def not_approver(ref: str, leader: str) -> str:
    return f"{ref}的材料由分管局领导{leader}审核。"


def todo_approval(ref: str, what: str, due: str, late: str) -> str:
    return f"{ref}·{what}待您审核，时限{due}" + (f"，{late}" if late else "")


def approval_entry(state: str, who: str, when_: str) -> str:
    """查看 督N: where a filing's approval stands."""
    return f"{APPROVAL_STATES[state]}（{who} {when_}）"


def feedback_too_long(length: int, limit: int) -> str:
    return f"反馈内容太长（{length}字），请写摘要，控制在{limit}字以内。"


# --- closure: a 攻坚 matter's 销项 report and files, a 批示件's 专报 (issue 11 item 4) ------

MATTER_EVENTS.update(
    {
        "closure_asked": "要求报送销项报告",
        "closure_part": "销项报告",
        "closure_file": "销项附件",
        "review": "调查复核",
    }
)
CLOSURE_FIELDS = ("事项编号", "事项名称", "报送机构", "问题描述", "解决情况")  # attachment 4
CLOSURE_ATTACHMENT_HEAD = "附件："
CLOSURE_TITLE = "关于浦东新区生态环境局历史遗留问题“攻坚”行动事项销项的情况报告"
TEMPLATE_MARK = "（销项报告）"
CLOSURE_ATTACHMENTS = {
    "解决方案": "区生态环境局历史遗留“攻坚”行动工作解决方案",
    "意见征询表": "意见征询表（盖章同意）",
}
CLOSURE_NOTE = "销项报告及附件齐全"
PICTURE_WORD = "图片"
FILES_NOT_TAKEN = (
    "督办助手只接收攻坚事项的销项附件（解决方案、意见征询表），"
    "由处室内勤、处室负责人或局办公室发送。"
)


def closure_file_coming(purpose: str) -> str:
    return f"{purpose}（文件正在接收）"


def closure_file_name(purpose: str) -> str:
    return f"{purpose}文件"


def closure_document_name(number: int) -> str:
    return f"督{number}销项报告.docx"


def _lacking(parts: Sequence[str]) -> str:
    return "、".join(parts)


def closure_asked(ref: str, lacking: list[str]) -> str:
    return (
        f"【销项报告】{ref} 局办公室要求报送销项报告，齐全后办结。\n"
        f"尚缺：{_lacking(lacking)}\n"
        f"发送「销项 {ref.split()[0]} 问题描述：… 解决情况：…」（可分两条发送）；"
        f"发送「附件 {ref.split()[0]}」后再发送文件（解决方案、盖章的意见征询表）"
    )


def closure_waiting(ref: str, lacking: list[str], first: bool) -> str:
    head = "已通知处室报送销项报告" if first else "销项报告尚未齐全"
    return f"{ref}：{head}，齐全后自动办结。尚缺：{_lacking(lacking)}"


def closure_only_tackle(ref: str) -> str:
    return f"{ref} 不是历史遗留问题攻坚事项，无需销项报告；办结请用「办结事项」。"


def closure_name_the_part(ref: str) -> str:
    return f"{ref} 的问题描述和解决情况都已填写；如要修改，请写明部分名称，如「解决情况：…」。"


def closure_part_kept(ref: str, parts: list[str], lacking: list[str], in_chat: bool) -> str:
    text = f"已记录 {ref} 的{_lacking(parts)}。"
    if not lacking:
        return text + "待局办公室办结。"
    text += f"尚缺：{_lacking(lacking)}"
    written = [p for p in ("问题描述", "解决情况") if p in lacking]
    if written and in_chat:
        text += f"\n请直接发送{_lacking(written)}，10分钟内有效。"
    elif written:
        text += f"\n发送「销项 {ref.split()[0]} {written[0]}：…」补充。"
    return text


def todo_closure(ref: str, lacking: list[str]) -> str:
    return f"{ref} 销项报告尚缺：{_lacking(lacking)}"


def closure_closed(ref: str) -> str:
    return f"{ref} 销项报告及附件齐全，已办结，报告已报局办公室。"


def closure_to_office(ref: str, department: str) -> str:
    return f"【销项办结】{ref}（{department}）销项报告及附件齐全，已办结。报告和两个附件见下。"


def attach_which_matter(names: list[str]) -> str:
    return (
        f"已收到「{'、'.join(names)}」。请回复它所属的攻坚事项，如「督3」"
        "（可加上「解决方案」或「意见征询表」），10分钟内有效。"
    )


def attach_in_chat(command: str) -> str:
    return f"请在与督办助手的单聊中发送「{command}」，再发送文件。"


def attach_send_file(ref: str, purpose: str | None) -> str:
    what = purpose or "解决方案或盖章的意见征询表"
    return f"请发送 {ref} 的{what}文件，10分钟内有效；发送「取消」放弃。"


def attach_which_purpose(ref: str, name: str, in_chat: bool) -> str:
    shown = name or PICTURE_WORD
    if in_chat:
        return f"{ref} 的「{shown}」是解决方案还是意见征询表？请回复「解决方案」或「意见征询表」。"
    stem = f"附件 {ref.split()[0]}"
    question = f"{ref} 的「{shown}」是解决方案还是意见征询表？"
    return f"{question}请发送「{stem} 解决方案」或「{stem} 意见征询表」。"


def attach_kept(ref: str, files: list[tuple[str, str]], lacking: list[str]) -> str:
    shown = "；".join(f"{p or '类别待定'}：{n or PICTURE_WORD}" for p, n in files)
    tail = f"尚缺：{_lacking(lacking)}" if lacking else "待局办公室办结。"
    return f"已收到 {ref} 的附件（{shown}）。{tail}"


def attach_failed(name: str) -> str:
    return f"文件「{name}」未能从钉钉取回，请重新发送。"


CLOSURE_COMPLETE = "销项：报告及附件齐全"


def closure_status(lacking: list[str]) -> str:
    return f"销项：尚缺{_lacking(lacking)}"


# 批示件 专报
SPECIAL_SECTIONS = ("一、批示件基本情况", "二、情况反馈", "三、跟踪办理情况", "四、办理闭环")
SPECIAL_NOTICE_FIELDS = (
    "事项编号",
    "事项名称",
    "责任处室",
    "分管局领导",
    "登记时间",
    "通知反馈期限",
    "签收",
)
SPECIAL_FEEDBACK_FIELDS = ("反馈期限", "反馈录入", "反馈内容")
SPECIAL_NO_TRACKING = "（无月度跟踪报告）"
SPECIAL_NOT_WRITTEN = "（反馈材料已录入区网上督查室，未在督办助手中填写）"
SPECIAL_STEP_HEADER = ("步骤", "办理人及时间")


def special_title(name: str) -> str:
    return f"关于领导批示件「{name}」办理情况的专报"


def special_document_name(number: int) -> str:
    return f"督{number}批示件专报.docx"


def notice_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# --- reviews: 调查复核 (issue 11 item 5) ---------------------------------------------------

VIEW_REVIEWS, VIEW_LOG = "复核：", "记录："  # 查看 督N: the headings of its lists
REVIEW_KIND_LABELS = {"field": "实地核查", "lookback": "回头看", "recheck": "再督查"}
XLSX_REVIEW_COLUMNS = tuple(f"复核·{word}" for word in REVIEW_KIND_LABELS.values())
REVIEW_WHO = {
    "field": "局办公室或责任处室负责人",
    "lookback": "该事项的分管局领导",
    "recheck": "该事项的分管局领导",
}


def review_not_allowed(kind: str, who: str, ref: str) -> str:
    return f"{ref} 的{kind}由{who}记录。"


def review_too_long(limit: int) -> str:
    return f"复核发现请控制在{limit}字以内。"


def review_recorded(ref: str, kind: str) -> str:
    return f"已记录 {ref} 的{kind}。"


def review_told(ref: str, kind: str, who: str, finding: str) -> str:
    return f"【{kind}】{ref}（{who}）：{finding}"


def review_entry(at: str, kind: str, who: str, finding: str) -> str:
    return f"{kind} {at} {who}：{excerpt(finding, 60)}"


def stats_reviews(counts: dict[str, int]) -> str:
    return "复核 " + " ".join(f"{REVIEW_KIND_LABELS[k]}{n}" for k, n in counts.items() if n)


# --- the office's reports: 督查情况报告, 半年/年度报告 (handlers/office_reports) -----------------

REPORT_KIND_WORDS = {
    "季度": "quarter",
    "半年": "half",
    "半年度": "half",
    "年度": "year",
    "年": "year",
}
REPORT_KIND_NAMES = {"quarter": "季度", "half": "半年", "year": "年度"}
REPORT_CN_NUMBERS = "零一二三四五六七八九十"
REPORT_DOC_SUFFIX = "附表"
REPORT_DRAFT_FOR = {"quarter": "局领导", "half": "局长办公会", "year": "局长办公会"}


def report_title(kind: str, year: int, number: int, made: dt.date) -> str:
    """A quarterly report is named by the month it is made in (三(四): 2月、5月、8月、11月),
    since it covers the three months before it, not a calendar quarter."""
    if kind == "quarter":
        return f"{made.year}年{made.month}月督查情况报告"
    if kind == "half":
        return f"{year}年{'上' if number == 1 else '下'}半年督查情况报告"
    return f"{year}年度督查情况报告"


def report_this_and_before(kind: str, number: int) -> tuple[str, str]:
    """How the overview names the period and the one before (本季度 / 上季度)."""
    if kind == "quarter":
        return "本季度", "上季度"
    if kind == "half":
        return ("上半年", "去年下半年") if number == 1 else ("下半年", "上半年")
    return "本年度", "上年度"


def report_span(first: dt.date, last: dt.date) -> str:
    return f"{first.year}年{first.month}月{first.day}日至{last.year}年{last.month}月{last.day}日"


def report_percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def report_rate_change(rate: float | None, before: float | None, word: str) -> str:
    """'，较上季度提高2.1个百分点' (empty when either is missing)."""
    if rate is None or before is None:
        return ""
    points = round((rate - before) * 100, 1)
    if points == 0:
        return f"，与{word}持平"
    return f"，较{word}{'提高' if points > 0 else '降低'}{abs(points):.1f}个百分点"


def report_count_change(count: int, before: int, word: str, unit: str) -> str:
    if count == before:
        return f"，与{word}持平"
    return f"，较{word}{'增加' if count > before else '减少'}{abs(count - before)}{unit}"


def report_short_change(rate: float | None, before: float | None) -> str:
    """'（+2.1个百分点）' for the phone summary."""
    if rate is None or before is None:
        return ""
    return f"（{(rate - before) * 100:+.1f}个百分点）"


def report_overview_items(
    this: str, count: int, change: str, rejected: int, triage: str, triage_change: str
) -> str:
    return (
        f"{this}共受理街镇@件{count}件{change}，其中经甄别非本机关职责范围退回{rejected}件；"
        f"按时甄别率{triage}{triage_change}。"
    )


def report_overview_departments(claim: str, reply: str, reply_change: str, hard: int) -> str:
    return f"各处室按时认领率{claim}，按时答复率{reply}{reply_change}；疑难件{hard}件。"


def report_overview_filings(due: int, on_time: int, overdue: int, rate: str, change: str) -> str:
    return (
        f"督办事项应填报{due}次，按时填报{on_time}次，超限{overdue}次，按时填报率{rate}{change}。"
    )


def report_overview_instructions(registered: int, closed: int, open_: int) -> str:
    return f"登记领导批示件{registered}件，办结{closed}件，目前在办{open_}件。"


def report_overview_lights(total: int, yellow: int, red: int, interviews: int) -> str:
    return f"区平台亮灯{total}次，其中黄灯{yellow}次、红灯{red}次；目前在办约谈问询{interviews}起。"


def report_overview_overdue(now: str, count: int) -> str:
    return f"截至{now}，超时未办的@件{count}件。" if count else f"截至{now}，没有超时未办的@件。"


REPORT_SECTIONS = {
    "overview": "总体情况",
    "items": "街镇直通车@件办理情况",
    "filings": "督办事项及月度填报情况",
    "tasks": "任务书执行情况",
    "instructions": "领导批示件办理情况",
    "lights": "亮灯及约谈问询情况",
    "reviews": "复核情况",
    "attention": "需要领导关注的事项",
}
REPORT_MADE_BY = "局办公室"
REPORT_ITEMS_HEAD = ("处室", "@件数", "认领按时率", "答复按时率", "先行回复按时率", "超时未办")
REPORT_FILINGS_HEAD = ("处室", "应填报", "按时", "超限", "未到期", "按时填报率")
REPORT_INSTRUCTIONS_HEAD = ("项目", "按时", "超时", "未到期", "按时率")
REPORT_INSTRUCTION_STEPS = {"sign": "签收", "feedback": "反馈"}
REPORT_LIGHTS_HEAD = ("处室", "绿灯", "黄灯", "红灯", "在办约谈")
REPORT_REVIEWS_HEAD = ("处室", "实地核查", "回头看", "再督查", "合计")
REPORT_ATTENTION_HEAD = ("类别", "事项", "处室", "情况")
REPORT_TOTAL = "合计"
REPORT_NONE = "无。"
REPORT_ATTENTION_KINDS = {
    "item": "超时未办@件",
    "light": "黄红灯事项",
    "interview": "在办约谈问询",
    "overdue": "填报超限",
    "task": "任务明显滞后",
}


def report_items_para(count: int, departments: int, open_overdue: int) -> str:
    return (
        f"本期分派至{departments}个处室的@件共{count}件，"
        f"目前超过时限仍未办理的{open_overdue}件。各处室情况见下表。"
    )


def report_filings_para(due: int, overdue: int) -> str:
    return f"本期督办事项应填报{due}次，超限{overdue}次。各处室情况见下表。"


def report_lights_para(yellow: int, red: int, interviews: int) -> str:
    return f"本期黄灯{yellow}次、红灯{red}次；目前在办约谈问询{interviews}起。各处室情况见下表。"


def report_reviews_para(total: int) -> str:
    if not total:
        return "本期无复核记录。"
    return f"本期复核{total}次（实地核查、回头看、再督查）。各处室情况见下表。"


def report_attention_item(number: int, town: str, department: str, clock: str, due: str) -> str:
    return f"#{number}（{town}，{department or STATS_OFFICE}）：{CLOCK_LABELS[clock]}时限{due}已过"


def report_attention_light(number: int, name: str, lights: list[tuple[str, str]]) -> str:
    seen = "、".join(f"{int(p[5:])}月{STATS_COLORS[c]}" for p, c in lights)
    return f"督{number} {name}：{seen}"


def report_attention_interview(number: int, name: str, tier: int, rule: str) -> str:
    return f"督{number} {name}：第{REPORT_CN_NUMBERS[tier]}层级，{rule}"


def report_short_item(number: int, department: str, clock: str) -> str:
    return f"#{number}（{department or STATS_OFFICE}·{CLOCK_LABELS[clock]}）"


def report_short_light(number: int, name: str, last: tuple[str, str]) -> str:
    return f"督{number} {excerpt(name, 12)}（{int(last[0][5:])}月{STATS_COLORS[last[1]]}）"


def report_short_interview(number: int, tier: int) -> str:
    return f"督{number}（第{REPORT_CN_NUMBERS[tier]}层级）"


def report_attention_more(label: str, count: int) -> str:
    return f"另有{label}{count}项，见Excel附表「需关注」。"


def report_attention_overdue(department: str, count: int) -> str:
    return f"{department}超限{count}次"


# The workbook's sheets and charts
REPORT_XLSX_SUMMARY = "汇总"
REPORT_XLSX_WEEKS = "@件按周"
REPORT_XLSX_LIGHTS = "亮灯按月"
REPORT_XLSX_FILINGS = "填报"
REPORT_XLSX_ATTENTION = "需关注"
REPORT_XLSX_SUMMARY_HEAD = (
    "处室", "@件数", "认领按时率", "答复按时率", "先行回复按时率", "超时未办",
    "填报按时", "超限", "未到期", "绿灯", "黄灯", "红灯", "在办约谈",
)  # fmt: skip
REPORT_XLSX_WEEK_HEAD = ("周（起始日）", "@件数")
REPORT_XLSX_MONTH = "月份"
REPORT_XLSX_FILING_HEAD = ("处室", "按时", "超限")
REPORT_CHART_RATES = "各处室按时率（按时限）"
REPORT_CHART_WEEKS = "每周受理@件数"
REPORT_CHART_LIGHTS = "各处室每月黄红灯次数"
REPORT_CHART_FILINGS = "填报按时与超限"


# The phone's summary
def report_summary_head(title: str, span: str) -> str:
    return f"**{title}**（{span}）"


def report_summary_figures(
    items: str, triage: str, reply: str, filings: str, lights: str
) -> list[str]:
    return [
        f"1. 受理@件 {items}",
        f"2. 按时甄别率 {triage}",
        f"3. 按时答复率 {reply}",
        f"4. 按时填报率 {filings}",
        f"5. {lights}",
    ]


def report_summary_lights(yellow: int, red: int, interviews: int) -> str:
    return f"黄灯{yellow}次、红灯{red}次，在办约谈{interviews}起"


REPORT_SUMMARY_ATTENTION = "**需关注**"
REPORT_SUMMARY_NOTHING = "暂无需要关注的事项。"
REPORT_SUMMARY_FILES = "详见Word报告及Excel附表。"


def report_summary_line(kind: str, entries: list[str], total: int) -> str:
    more = f"等{total}项" if total > len(entries) else ""
    return f"- {REPORT_ATTENTION_KINDS[kind]}：{'；'.join(entries)}{more}"


def report_summary_items(count: int, change: str) -> str:
    return f"{count}件{change}"


def report_summary_count_change(count: int, before: int) -> str:
    return f"（{count - before:+d}）" if count != before else ""


def report_summary_filings(rate: str, change: str, overdue: int) -> str:
    return f"{rate}{change}，超限{overdue}次"


# The command, the schedule, the record
def report_bad_period(text: str) -> str:
    return (
        f"「{text}」不是报告期间。季度写2026Q3或2026年第三季度，"
        "半年写2026上半年或2026H1，年度写2026年。"
    )


def report_wrong_kind(text: str, kind: str) -> str:
    return f"「{text}」不是{REPORT_KIND_NAMES[kind]}报告的期间。"


def report_not_begun(title: str) -> str:
    return f"{title}的期间尚未开始。"


def report_sent_files(title: str) -> str:
    return f"{title}的Word报告和Excel附表已发到您与督办助手的单聊。"


def report_draft_notice(title: str, span: str, label: str, kind: str) -> str:
    return (
        f"【报告草稿】{title}（{span}）已生成，请审核后报{REPORT_DRAFT_FOR[kind]}；"
        f"呈报后请发送「报告已呈报 {label}」。"
    )


def report_submitted(title: str, who: str, at: str) -> str:
    return f"已记录：{title}由{who}于{at}呈报。"


def report_already_submitted(title: str, who: str, at: str) -> str:
    return f"{title}已于{at}由{who}记录呈报，无需重复。"


def report_file_failed(name: str, reason: str, command: str) -> str:
    return (
        f"【报告文件未送达】「{name}」没有发出（{reason}）。"
        f"请在服务器上运行 {command} 生成文件后转发。"
    )


# --- filing templates and the office's compiled document (issue 11) -------------------------


def _part_hint(part: Part) -> str:
    """How a template part is written: its name and limit (the usage the bot shows)."""
    if part.kind == "percentage":
        hint = "%，0–100"
    elif part.limit is not None:
        hint = f"{part.limit}字以内"
    else:
        hint = ""
    optional = "选填" if not part.required else ""
    inside = "，".join(x for x in (optional, hint) if x)
    return part.name + (f"（{inside}）" if inside else "")


def template_parts(template: Template) -> str:
    return " ".join(f"{i}、{_part_hint(p)}：…" for i, p in enumerate(template.parts, 1))


def template_help(template: Template) -> str:
    return f"没有找到填报的各部分，请按模板分段填写：{template_parts(template)}"


def percentage_unreadable(part: str, value: str) -> str:
    return f"「{part}」应为0到100的数字（如60或60%），收到「{excerpt(value, 20)}」"


def percentage_out_of_range(part: str, value: str) -> str:
    return f"「{part}」应在0到100之间，收到「{excerpt(value, 20)}」"


def percentage_falling(part: str, now: str, previous: str, note: str) -> str:
    explain = f"，如确有原因请在「{note}」中说明" if note else ""
    return f"「{part}」{now}%低于上次填报的{previous}%{explain}"


def filing_no_template(ref: str, category: str) -> str:
    number = ref.split()[0]
    return f"{category}没有填报模板，在平台填报后直接发送「已填报 {number}」即可。"


def filing_collected(
    ref: str, what: str, kept: list[str], missing: list[str], wrong: list[str], in_chat: bool
) -> str:
    """A filing not complete yet: what is kept, what is missing or wrong."""
    lines = [f"{ref}的{what}尚未记录。"]
    if kept:
        lines.append("已收到：" + "、".join(kept))
    if missing:
        lines.append("还缺：" + "、".join(missing))
    if wrong:
        lines.append("请修改：\n" + "\n".join(wrong))
    number = ref.split()[0]
    if in_chat:
        lines.append("请直接发送其余部分（10分钟内有效），发送「取消」放弃。")
    else:
        lines.append(f"请发送「已填报 {number} 部分名称：内容」补齐，已收到的部分会保留。")
    return "\n".join(lines)


def filing_template_prompt(ref: str, what: str, template: Template, in_chat: bool) -> str:
    """已填报 without the parts, for a category with a template."""
    how = "请直接发送" if in_chat else f"请发送「已填报 {ref.split()[0]} 」并接着写"
    return f"{ref}的{what}按模板填报，{how}：\n{template_parts(template)}"


COMPILED_STATUS = {
    "on_time": "按时报送",
    "late": "超限报送",
    "missing_late": "未报送（超限）",
    "missing": "未报送",
}


def compiled_title(title: str, period: str) -> str:
    return f"{title}（{period_label(period)}）"


def compiled_file(category: str, period: str, suffix: str) -> str:
    return f"{category}{period_label(period)}汇总.{suffix}"


def compiled_summary(category: str, period: str, counts: dict[str, int]) -> str:
    total = sum(counts.values())
    parts = "，".join(f"{COMPILED_STATUS[k]}{n}件" for k, n in counts.items() if n)
    return f"【汇总】{category}{period_label(period)}：应报{total}件，{parts}。Word和Excel见文件。"


def compiled_sent(category: str, period: str) -> str:
    return f"{category}{period_label(period)}汇总已发送到局办公室群。"


def nothing_to_compile(category: str, period: str) -> str:
    return f"{category}{period_label(period)}没有填报记录，无可汇总。"


def no_template(category: str) -> str:
    return f"{category}没有填报模板，无法汇总。"


COMPILED_HEADERS = ("序号", "责任处室", "项目名称", "填报时间", "状态")
COMPILED_NAME = "事项名称"
COMPILED_MISSING = "（未报送）"


def filing_sheet_problem(row: int, column: str, what: str) -> str:
    return f"第{row}行「{column}」：{what}"


# the 月报表 by sheet (python -m bot filings import)
SHEET_NUMBER, SHEET_NAME = "事项编号", "项目名称"


def sheet_unreadable(path: object, problem: object = None) -> str:
    if problem is None:
        return f"{path}：文件不存在"
    return f"{path}：无法读取，请另存为 .xlsx 后再导入（{problem}）"


def sheet_no_header(headings: Sequence[str]) -> str:
    heads = "、".join(f"「{h}」" for h in headings)
    return f"第1行（表头）：找不到「项目名称」或「事项编号」以及{heads}列"


def sheet_missing_column(row: int, heading: str) -> str:
    return f"第{row}行（表头）：缺少「{heading}」列"


def sheet_row_twice(number: int, first_row: int) -> str:
    return f"督{number}与第{first_row}行重复"


def sheet_no_filing(number: int, period: str) -> str:
    return f"督{number}没有{period_label(period)}的填报"


def sheet_filed_already(number: int, when_: str) -> str:
    return f"督{number}已于{when_}填报，不能覆盖"


def sheet_no_matter(written: str) -> str:
    return f"没有事项「{written}」"


def sheet_no_name(name: str, category: str, many: bool) -> str:
    return f"「{name}」不止一项" if many else f"没有名为「{name}」的{category}"


def sheet_wrong_category(number: int, found: str, wanted: str) -> str:
    return f"督{number}是{found}，不是{wanted}"


def sheet_refused(path: object, count: int) -> str:
    return f"未导入，数据库没有改动。{path}有{count}处问题："


def sheet_imported(filed: int, unchanged: int) -> str:
    return f"导入完成：填报{filed}项，未变{unchanged}项"


# the compiled document's lines (handlers.filings.render)
_CN_NUMBERS = "一二三四五六七八九十"


def compiled_subtitle(category: str, due: str, made: str) -> str:
    return f"{category} · 截止{due} · 汇总于{made}"


def compiled_section(number: int, ref: str, department: str) -> str:
    return f"{number}. {ref}（{department}）"


def compiled_part_heading(index: int, name: str) -> str:
    """The brief's headings: 一、进展情况."""
    return f"{_CN_NUMBERS[index % 10]}、{name}"


def compiled_joined(index: int, name: str, value: str) -> str:
    """One part in a column that joins several: 1、证照办理情况：…"""
    return f"{index}、{name}：{value}"


def compiled_ref(number: int, name: str = "") -> str:
    """A matter in the compiled document: 督3 and its whole name."""
    return f"督{number} {name}".strip()


# --- 实事项目's year: declaration, half-year and year reports, plan changes (issue 11) ---

PROGRESS_PERIODS = {"H1": "年上半年", "Y": "年度"}  # period suffix -> label after the year
PROGRESS_WORDS = {"half": "半年", "year": "年度"}  # the word 已填报 takes for each report
FILING_KINDS.update({"half": "半年度进展报告", "year": "年度进展报告"})
MATTER_EVENTS.update(
    {
        "change_requested": "计划调整申请",
        "change_consented": "区政府分管领导同意调整",
        "change_filed": "调整报重大办备案",
        "change_withdrawn": "撤回调整申请",
    }
)
DECLARE_TITLE = "实事项目申报"
PLAN_CHANGE_TITLE = "实事项目计划调整"


def progress_label(period: str) -> str:
    """'2026-H1' -> '2026年上半年进展报告'."""
    return f"{period_label(period)}进展报告"


def declare_line(year: int, by: str, office: bool, departments: list[str]) -> str:
    """The October reminder: to the office (which leads) or to a department."""
    if office:
        listed = "、".join(departments) if departments else "（暂无实事项目处室）"
        return (
            f"请局办公室牵头各处室于{by}前申报{year}年度实事项目实施计划（每年10月申报下一年度），"
            f"已提醒：{listed}。登记：「新增事项 实事项目 处室 负责人 {year}年度 名称」，"
            f"或导入申报表（「年度」列填{year}）"
        )
    return f"请于{by}前向局办公室申报本处室{year}年度实事项目实施计划（项目名称、具体负责人）"


def bad_plan_year(word: str, latest: int) -> str:
    return f"「{word}」不是年度，请写如 {latest} 或 {latest}年度（最晚{latest}年度）。"


def cell_bad_plan_year(word: str, latest: int) -> str:
    return f"「{word}」不是年度（如{latest}，最晚{latest}）"


def plan_year_not_for(category: str) -> str:
    return f"{category}不按年度申报，不能设置年度。"


def plan_year_entry(year: int) -> str:
    return f"年度：{year}"


def not_annual(ref: str, categories: list[str]) -> str:
    return f"{ref}不是{'、'.join(categories)}，没有年度计划可调整。"


def change_open_already(ref: str, number: int) -> str:
    return f"{ref}已有调整申请（第{number}次）未完成，完成或撤回后再提出。"


def no_open_change(ref: str) -> str:
    return f"{ref}没有未完成的调整申请。"


def change_needs_consent(ref: str) -> str:
    return f"{ref}的调整申请尚未记录区政府分管领导同意，请先「调整同意」。"


def change_consented_already(ref: str, leader: str, on: dt.date) -> str:
    return f"{ref}的调整已记录{leader}于{on.month}月{on.day}日同意，接下来请「调整备案」。"


def bad_consent_date(word: str) -> str:
    return f"「{word}」不是日期，请写如 11月20日 或 2026-11-20（不晚于今天）。"


def change_requested_reply(ref: str, number: int) -> str:
    return (
        f"已提交{ref}的计划调整申请（第{number}次），待区政府分管领导同意后由局办公室报重大办备案。"
    )


def change_requested_notice(ref: str, dept: str, who: str, content: str, number: int) -> str:
    return (
        f"{ref}｜{dept}{who}提出计划调整申请（第{number}次）：{content}\n"
        f"请报区政府分管领导，同意后发送「调整同意 {ref.split()[0]} 领导姓名 [日期]」，"
        f"报重大办备案后发送「调整备案 {ref.split()[0]}」"
    )


def change_consented_notice(ref: str, leader: str, on: dt.date, who: str) -> str:
    return (
        f"{ref}｜计划调整已经区政府分管领导{leader}于{on.month}月{on.day}日同意（{who}记录），"
        "待局办公室报新区重大办备案"
    )


def change_filed_notice(ref: str, who: str) -> str:
    return f"{ref}｜计划调整已由局办公室报新区重大办备案（{who}记录），调整完成"


def change_withdrawn_notice(ref: str, who: str) -> str:
    return f"{ref}｜计划调整申请已由{who}撤回"


def change_entry(
    number: int,
    content: str,
    requested: str,
    requester: str,
    consent: str | None,
    filed: str | None,
    state: str,
) -> str:
    """查看 督N: one plan change with its three steps."""
    steps = [f"申请 {requested} {requester}：{content}"]
    steps.append(f"区政府分管领导同意：{consent}" if consent else "区政府分管领导同意：待记录")
    steps.append(f"报重大办备案：{filed}" if filed else "报重大办备案：待记录")
    status = {"open": "进行中", "done": "已完成", "withdrawn": "已撤回"}[state]
    return f"计划调整{number}（{status}）：" + "；".join(steps)


def consent_shown(leader: str, on: dt.date, by: str) -> str:
    return f"{leader} {on.month}月{on.day}日（{by}记录）"


def todo_change(ref: str, step: str) -> str:
    return f"{ref}·计划调整待{step}"


CHANGE_STEPS = {"consent": "区政府分管领导同意", "file": "报重大办备案"}


def leader_too_long(length: int, limit: int) -> str:
    return f"领导姓名太长（{length}字），请控制在{limit}字以内（如 王副区长）。"


# --- the 双月例会 (document 三(三)): agenda, minutes, decisions ------------------------------

MEETING = "双月例会"
AGENDA_TITLE = "双月例会议程草案"
DECISION_REMINDER = "例会议定事项提醒"
LAGGING_KINDS = {
    "lights": "黄灯红灯",
    "filings": "超限",
    "items": "超期@件",
    "instructions": "批示件逾期未反馈",
    "interviews": "待约谈问询",
    "tasks": "任务明显滞后",
}
AGENDA_POINTS = (
    "各处室通报滞后事项的原因、问题与瓶颈，提出对策建议",
    "研判下阶段工作重点",
    "统筹各部门督查工作计划，把握工作整体推进节奏",
    "议定需落实的事项、责任处室、负责人和期限",
)
DECISION_STATES = {
    "open": "落实中",
    "overdue": "已超期",
    "done": "已完成（待办结）",
    "closed": "已办结",
}


def meeting_label(period: str) -> str:
    return f"{period_label(period)}{MEETING}"


def agenda_line(ref: str, kind: str, what: str, due: str, platform: str) -> str:
    """The agenda declaration's line (handlers.deadlines): the meeting and when."""
    return f"{ref}将于{due}召开，议程草案见附件"


def agenda_heading(meeting: str, at: str, total: int) -> str:
    """The agenda summary's first line."""
    lag = f"滞后事项{total}项" if total else "暂无滞后事项"
    return f"【{AGENDA_TITLE}】{meeting} {at}召开，{lag}"


def agenda_since(since: str) -> str:
    return f"统计自{since}（上次例会）起，超限按时限计；灯色取最近一次。"


def agenda_dept_line(dept: str, counts: list[tuple[str, int]]) -> str:
    return f"- **{dept}**：" + "，".join(f"{kind}{n}" for kind, n in counts)


def agenda_more(name: str) -> str:
    return f"详见附件《{name}》，请办公室核定后印发各处室。"


def agenda_file_name(period: str) -> str:
    return f"{meeting_label(period)}议程草案.docx"


def lag_light(ref: str, period: str, color: str) -> str:
    return f"{ref}：{period_label(period)}亮{STATS_COLORS[color]}"


def lag_filing(ref: str, what: str, due: str) -> str:
    return f"{ref}：{what}超限（时限{due}）"


def lag_item(ref: str, town: str, clocks: list[str], late: str) -> str:
    return f"{ref} {town}：{'、'.join(clocks)}{late}"


def lag_instruction(ref: str, due: str) -> str:
    return f"{ref}：反馈时限{due}已过，尚未反馈"


def lag_interview(ref: str, tier: str, interviewer: str, interviewee: str) -> str:
    return f"{ref}：{tier}待开展（{interviewer}约谈{interviewee}）"


def doc_agenda_intro(meeting: str, at: str, since: str, now: str) -> str:
    return (
        f"依据《督促检查工作实施办法》双月例会制度，{meeting}定于{at}召开。"
        f"以下为自{since}以来的滞后事项（截至{now}），按处室列示，供会议研判。"
    )


DOC_SECTIONS = (
    "一、会议议程",
    "二、滞后事项汇总",
    "三、各处室滞后事项",
    "四、上次例会议定事项落实情况",
)
DOC_COUNT_HEADER = ("处室", *LAGGING_KINDS.values(), "合计")
DOC_DETAIL_HEADER = ("类型", "事项", "情况")
DOC_DECISION_HEADER = ("事项", "处室", "负责人", "期限", "状态")
DOC_NOTHING = "无。"


def meeting_set(meeting: str, at: str, agenda: str) -> str:
    return f"已定：{meeting}于{at}召开；议程草案将于{agenda}发送局办公室群。"


def meeting_set_agenda_sent(meeting: str, at: str, sent: str) -> str:
    return f"已定：{meeting}于{at}召开（议程草案已于{sent}发送，不再重发）。"


def meeting_bad_date(word: str) -> str:
    return f"「{word}」不是日期，请写如 2026-12-18 或 12月18日。"


def meeting_bad_time(word: str) -> str:
    return f"「{word}」不是时间，请写如 14:30。"


def meeting_held_already(meeting: str, at: str) -> str:
    return f"{meeting}已于{at}召开；纪要和议定事项请用「例会纪要」「例会议定」。"


def meeting_date_too_far(word: str) -> str:
    return f"日期{word}太远了，请核对。"


def meeting_in_past(at: str) -> str:
    return f"{at}已过，请写将来的时间。"


def meeting_not_in_months(months: list[int]) -> str:
    listed = "、".join(f"{m}月" for m in months)
    return f"例会月份为{listed}，这一天不属于任何一次例会。"


def meeting_none_held() -> str:
    return "还没有召开过的双月例会。请先用「例会 <日期> [时间]」确定日期。"


def minutes_recorded(meeting: str, at: str, appended: bool) -> str:
    return f"已记录{meeting}（{at}）纪要" + ("（补充）。" if appended else "。")


def decision_due_past(due: str) -> str:
    return f"期限{due}已过，请写将来的日期。"


def decision_due(due: str) -> str:
    """A decision's 期限 ('' when it has none: it files monthly)."""
    return f"期限{due}" if due else "无期限，按月填报"


def decision_recorded(ref: str, meeting: str, dept: str, owner: str, due: str) -> str:
    return (
        f"已登记{meeting}议定事项：{ref}，{dept}，负责人{owner}，{decision_due(due)}；"
        "已通知负责人和处室。"
    )


def decision_notice(ref: str, meeting: str, dept: str, owner: str, due: str) -> str:
    number = ref.split()[0]
    return (
        f"【例会议定】{ref}，{decision_due(due)}\n{meeting}议定由{dept}落实，负责人{owner}。"
        f"完成后发送「议定完成 {number}」。"
    )


def decision_reminder_line(ref: str, kind: str, what: str, due: str, platform: str) -> str:
    number = ref.split()[0]
    return f"{ref}｜{what}期限{due}，完成后发送「议定完成 {number}」"


def not_a_decision(ref: str) -> str:
    return f"{ref}不是双月例会议定的事项。"


def decision_done_already(ref: str) -> str:
    return f"{ref}已记录完成，无需重复。"


def decision_done_reply(ref: str, late: bool) -> str:
    return f"已记录：{ref}已完成" + ("（超过期限）" if late else "") + "，已告知局办公室。"


def decision_done_office(ref: str, dept: str, who: str, late: bool) -> str:
    mark = "（超过期限）" if late else ""
    number = ref.split()[0]
    return (
        f"【例会议定事项完成】{ref}｜{dept}{who}报告已完成{mark}，核实后发送「办结事项 {number}」。"
    )


def meeting_view_next(meeting: str, at: str, by: str) -> str:
    how = f"（{by}确定）" if by else "（默认日期，可用「例会 <日期> [时间]」调整）"
    return f"**下次例会**：{meeting} {at}{how}"


def meeting_view_agenda(state: str) -> str:
    return f"议程草案：{state}"


def agenda_state_planned(at: str) -> str:
    return f"将于{at}发送局办公室群"


def agenda_state_sent(at: str) -> str:
    return f"已于{at}发送"


MEETING_VIEW_TITLE = "双月例会"


def meeting_view_last(meeting: str, at: str) -> str:
    return f"**上次例会**：{meeting} {at}"


def meeting_view_minutes(minutes: str) -> str:
    return f"纪要：{excerpt(minutes, 120)}"


MEETING_VIEW_NO_MINUTES = "纪要：尚未记录（「例会纪要 <要点>」）"


def meeting_view_decision(ref: str, dept: str, owner: str, due: str, state: str) -> str:
    return f"- {ref}｜{dept}｜{owner}｜{decision_due(due)}｜{state}"


def meeting_view_decisions(count: int) -> str:
    return f"**议定事项**（{count}项）：" if count else "**议定事项**：无"


# --- the year-end 考核评议 (三(七), attachment 5; handlers/score) ---------------------------

SCORE_NO_TASKS = "任务书无任务：0分"
SCORE_NO_VETO = "无一票否决情形"
SCORE_STATES = {"draft": "草稿", "sent": "已送审", "approved": "已审定", "returned": "已退回"}
SCORE_HEADER = ("处室", "目标清晰度(3)", "及时度(5)", "完成度(12)", "总分", "一票否决")
SCORE_LINE_HEADER = ("处室", "项目", "满分", "数据得分", "调整", "得分", "依据")
SCORE_FIGURES_HEADER = ("处室", "@件数", "认领按时率", "答复按时率", "先行回复按时率", "填报按时率")
SCORE_SECTIONS = (
    "一、评分汇总",
    "二、逐项评分与依据",
    "三、@件平台评价考核数据",
    "四、局办公室总体考评意见",
    "五、评分说明",
)
SCORE_NO_OPINION = "（尚未填写）"
SCORE_DOC_SUFFIX = "明细"
SCORE_ADJUST_ITEMS = "目标清晰度、及时度、完成情况、成效情况、协同情况"


def score_title(year: int) -> str:
    return f"{year}年度重点工作考核评议"


def score_no_taskbook(setting: str) -> str:
    if setting == "full":
        return "本年度尚无工作任务书，未能按任务书核对，按设置暂给满分（局办公室可调整）"
    return "本年度尚无工作任务书，按设置计0分（局办公室可调整）"


def score_plan(tasks: int, complete: int) -> str:
    return f"任务书{tasks}项任务，{complete}项要素齐全（预期目标、时间节点、具体举措、责任人）"


def score_late_count(count: int, deduction: int) -> str:
    return f"报送滞后{count}次，扣{deduction}分"


def score_late_line(ref: str, what: str, due: str) -> str:
    return f"滞后：{ref}·{what}（时限{due}）"


def score_no_year_end_light(ref: str, year: int, reading: str) -> str:
    which = f"{year}年12月" if reading == "december" else f"{year}年"
    return f"未判定：{ref}（区委区政府重点工作）无{which}亮灯记录，请局办公室核实"


def score_veto_year_end(ref: str, month: str, color: str) -> str:
    return f"一票否决：{ref}（区委区政府重点工作）年底亮灯为{month}{LIGHT_LABELS[color]}"


def score_veto_two_reds(ref: str, months: str) -> str:
    return f"一票否决：{ref}过程中两次亮红灯（{months}）"


def score_veto_behind(task: str, evidence: str) -> str:
    return f"一票否决：{task}不在区督查平台，与年初计划差距明显（{evidence}）"


def score_points(points: float) -> str:
    return f"{points:g}"


def score_adjust_line(item: str, points: float, reason: str, by: str) -> str:
    sign = "+" if points >= 0 else ""
    return f"局办公室调整「{item}」{sign}{points:g}分：{reason}（{by}）"


def score_notes(
    year: int,
    threshold: int,
    deduction: int,
    light: str,
    veto: str,
    no_taskbook: str,
    has_taskbook: bool,
) -> list[str]:
    light_text = (
        f"以{year}年12月的亮灯为准（无12月亮灯记录的不判定，列出请局办公室核实）"
        if light == "december"
        else f"以{year}年最后一次记录的亮灯为准"
    )
    lines = [
        "目标清晰度（3分）：任务书每项任务均有预期目标、时间节点、具体举措、责任人的得满分，"
        "否则按要素齐全的任务所占比例计分；局办公室可调整",
        f"及时度（5分）：本年度报送滞后（超限）的月度填报、批示件签收、反馈和每月跟踪各计一次；"
        f"第{threshold}次起每次扣{deduction}分，扣完为止（设置 [score] late_threshold、"
        "deduction_per_late）",
        f"完成度（12分）：区委区政府重点工作“年底是否亮灯”{light_text}，非绿灯一票否决"
        "（设置 year_end_light）；★事项本年度亮两次红灯（不论是否连续）一票否决；"
        "不在区督查平台的重点工作与年初计划差距明显的一票否决",
        "一票否决："
        + ("完成度计0分" if veto == "completion" else "该处室总分计0分")
        + "，局办公室的调整不改变否决（设置 veto）",
        "局办公室可按完成情况、成效情况、协同情况调整完成度，各项得分不超过满分、不低于0分",
        "@件平台评价考核数据（按时率）列于评分旁供参考，不计入得分",
    ]
    if not has_taskbook:
        lines.append(
            "本年度尚无工作任务书：目标清晰度"
            + ("暂给满分" if no_taskbook == "full" else "计0分")
            + "，任务书中与计划差距明显的否决无法判定（设置 no_taskbook）"
        )
    return lines


def score_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def score_summary_line(name: str, total: float, vetoed: bool) -> str:
    return f"- **{name}**：{total:g}分" + ("（一票否决）" if vetoed else "")


def score_summary(year: int, state: str, count: int) -> str:
    return f"【{score_title(year)}】{SCORE_STATES[state]}，{count}个处室"


def score_taken(at: str) -> str:
    return f"数据截至{at}。"


def score_files_sent(title: str) -> str:
    return f"Word 评分表和 Excel 明细已发到单聊：{title}"


def score_need_draft() -> str:
    return "尚无考核评分草稿：请先发「考核 <年份>」。"


def score_no_sheet(year: int) -> str:
    return f"{year}年度尚无考核评分：请先发「考核 {year}」。"


def score_bad_year(raw: str) -> str:
    return f"「{raw}」不是年份，请写如 2026。"


def score_year_not_begun(year: int) -> str:
    return f"{year}年尚未开始，不能考核。"


def score_bad_item(raw: str) -> str:
    return f"「{raw}」不是可调整的项目，请写：{SCORE_ADJUST_ITEMS}。"


def score_bad_points(raw: str) -> str:
    return f"「{raw}」不是分数，请写如 -1 或 0.5（绝对值不超过12）。"


def score_wrong_state(year: int, state: str, action: str) -> str:
    return f"{year}年度考核评分{SCORE_STATES[state]}，不能{action}。"


def score_adjusted(year: int, dept: str, item: str, points: float, total: float) -> str:
    sign = "+" if points >= 0 else ""
    return f"已记录：{year}年度考核 {dept}「{item}」{sign}{points:g}分，该处室现为{total:g}分。"


def score_opinion_set(year: int) -> str:
    return f"已记录{year}年度考核的总体考评意见。"


def score_need_opinion(year: int) -> str:
    return f"请先填写总体考评意见：「考核意见 {year} <意见>」。"


def score_sent_reply(year: int, director: str) -> str:
    return f"已将{score_title(year)}送{director}审定。"


def score_to_director(year: int, by: str, summary: str) -> str:
    return (
        f"【考核评议送审】{by}报来{score_title(year)}，请审定或退回（Word、Excel 随后发到单聊）。\n"
        + summary
    )


def score_approved_reply(year: int) -> str:
    return f"已审定{score_title(year)}：结果已冻结，Word、Excel 已发局办公室群，报送组织人事处。"


def score_approved_group(year: int, by: str, at: str) -> str:
    return (
        f"【考核评议已审定】{score_title(year)}经{by}于{at}审定，结果已冻结；"
        "请报送组织人事处（Word、Excel 见下）。"
    )


def score_returned_reply(year: int) -> str:
    return f"已退回{score_title(year)}，局办公室修改后再送审。"


def score_returned_office(year: int, by: str, comment: str) -> str:
    return (
        f"【考核评议退回】{by}退回{score_title(year)}：{comment}\n修改后请再发「考核送审 {year}」。"
    )


def score_reopened(year: int, reason: str) -> str:
    return f"已重开{score_title(year)}（理由：{reason}），冻结结果已存档，可调整后再送审。"


def score_frozen_note(by: str, at: str) -> str:
    return f"已审定（{by}，{at}），以下为冻结结果。"


SCORE_ACTIONS = {
    "adjust": "调整",
    "opinion": "修改意见",
    "send": "送审",
    "approve": "审定",
    "return": "退回",
    "reopen": "重开",
}


def score_reopened_notice(year: int, by: str, reason: str) -> str:
    return f"【考核评议重开】{by}重开了已审定的{score_title(year)}：{reason}。修改后将再次送审。"


def score_todo(year: int, state: str) -> str:
    if state == "sent":
        return f"考核评议·{score_title(year)}待审定（审定或退回）"
    return f"考核评议·{score_title(year)}已退回，修改后再送审"


# --- the year's task book (三(一) 任务分解制度) ---


def taskbook_marked_behind(name: str, note: str) -> str:
    return f"「{name}」经局办公室认定滞后" + (f"：{note}" if note else "")


def taskbook_missed_behind(name: str, seq: int, due: dt.date, what: str, workdays: int) -> str:
    return (
        f"「{name}」第{seq}个时间节点（{due.month}月{due.day}日 {what}）"
        f"未完成，已逾期{workdays}个工作日"
    )


MILESTONE_REMINDER = "任务书时间节点提醒"
MILESTONE_ESCALATION = "任务书时间节点逾期"


def milestone_reminder_line(ref: str, name: str, seq: int, what: str, due: str, who: str) -> str:
    return (
        f"{ref}「{name}」第{seq}个时间节点：{what or '（未写明）'}，{due}前完成（责任人{who}）。"
        f"完成后发送「已完成 {ref} 说明」"
    )


def milestone_overdue_line(ref: str, name: str, seq: int, what: str, due: str, who: str) -> str:
    return f"{ref}「{name}」第{seq}个时间节点（{what or '未写明'}）已过{due}仍未完成（责任人{who}）"


TASKBOOK_STATES = {
    "draft": "草稿",
    "submitted": "已提交",
    "compiled": "已汇总",
    "approved": "已审定",
    "issued": "已下达",
}
MILESTONE_STATES = {"met": "已完成", "due": "未到期", "missed": "已逾期"}


def task_of_matter_none(ref: str) -> str:
    return f"{ref}没有关联任务书的任务（局办公室可用「任务关联 任3 {ref}」关联）。"


def task_not_found(word: str) -> str:
    return f"没有找到任务「{word}」。任务编号形如 任3（发送「待办」或「查看 任3」）。"


def task_not_yours(ref: str, dept: str) -> str:
    return f"{ref}是{dept}的任务，您不是该处室的内勤或负责人。"


def taskbook_bad_year(word: str) -> str:
    return f"「{word}」不是年份，请写如 2026。"


def milestone_no_such(ref: str, seq: int, count: int) -> str:
    return f"{ref}没有第{seq}个时间节点（共{count}个）。"


def milestone_met_already(ref: str, seq: int) -> str:
    return f"{ref}第{seq}个时间节点已记录完成。"


def milestone_all_met(ref: str) -> str:
    return f"{ref}的时间节点都已完成。"


def milestone_met(ref: str, name: str, seq: int, what: str, late: bool, left: int) -> str:
    text = f"已记录：{ref}「{name}」第{seq}个时间节点（{what or '未写明'}）已完成"
    text += "（超过时间节点）" if late else ""
    return text + (f"，还有{left}个节点。" if left else "，全部节点已完成。")


def taskbook_none(year: int, dept: str) -> str:
    how = "由局办公室导入，或发送「新增任务 任务名称 时间节点」"
    return f"{dept}还没有{year}年度工作任务书（{how}）。"


def taskbook_wrong_state(year: int, dept: str, state: str) -> str:
    return f"{dept}{year}年度工作任务书{TASKBOOK_STATES[state]}，不能再提交。"


def taskbook_submitted(year: int, depts: Sequence[str]) -> str:
    return f"已提交：{'、'.join(depts)}{year}年度工作任务书，等待局办公室汇总。"


def taskbook_submitted_office(year: int, depts: Sequence[str]) -> str:
    return (
        f"【任务书】{'、'.join(depts)}已提交{year}年度工作任务书，汇总后发送「任务书汇总 {year}」。"
    )


def taskbook_nothing_in(year: int, state: str) -> str:
    return f"没有{TASKBOOK_STATES[state]}的{year}年度任务书。"


def taskbook_compiled(year: int, depts: Sequence[str], waiting: Sequence[str]) -> str:
    text = f"已汇总{year}年度任务书：{'、'.join(depts)}。"
    if waiting:
        text += f"尚未提交：{'、'.join(waiting)}。"
    return text + f"局长办公会审定后发送「任务书审定 {year} 会议/日期」。"


def taskbook_approved(year: int, meeting: str, depts: Sequence[str]) -> str:
    return (
        f"已记录：{year}年度局重点工作任务书经{meeting}审定（{'、'.join(depts)}）。"
        f"下达后发送「任务书下达 {year}」。"
    )


def taskbook_issued(year: int, depts: Sequence[str]) -> str:
    return f"已以局名义下达{year}年度局重点工作任务书（{'、'.join(depts)}），已通知各处室。"


def taskbook_issued_dept(year: int, dept: str) -> str:
    return (
        f"【任务书下达】{year}年度局重点工作任务书已以局名义下达，"
        f"{dept}请按时间节点推进，完成后发送「已完成 任N 说明」。"
    )


def task_bad_field(word: str, known: Sequence[str]) -> str:
    return f"「{word}」不是可调整的字段，可选：{'、'.join(known)}。"


def task_amend_before_approval(ref: str) -> str:
    return f"{ref}所在任务书尚未审定，审定前请用「任务修改」或修改后重新导入。"


def task_amended(ref: str, field: str, old: str, new: str, reason: str) -> str:
    return f"已调整：{ref}「{field}」由「{old}」改为「{new}」，理由：{reason}。"


def task_linked(ref: str, name: str, matter: str) -> str:
    return f"已关联：{ref}「{name}」↔ {matter}。"


def task_marked_behind(ref: str, name: str) -> str:
    return f"已认定：{ref}「{name}」明显滞后于计划，列入局办公室待办。"


def todo_milestone(ref: str, name: str, seq: int, what: str, due: str, missed: bool) -> str:
    mark = "已逾期" if missed else "将到期"
    return f"{ref}「{name}」第{seq}个时间节点（{what or '未写明'}）{due}{mark}"


def todo_task_behind(ref: str, dept: str, why: str) -> str:
    return f"{ref}｜{dept}任务明显滞后：{why}"


def task_view(
    ref: str, name: str, dept: str, state: str, target: str, measures: str, owner: str, extra: str
) -> str:
    return (
        f"**{ref}｜{name}**\n处室：{dept}（任务书{TASKBOOK_STATES[state]}）\n"
        f"预期目标：{target or '未填写'}\n具体举措：{measures or '未填写'}\n"
        f"责任人：{owner or '未填写'}{extra}\n时间节点："
    )


def task_view_milestone(seq: int, due: str, what: str, state: str, met: str) -> str:
    return f"{seq}. {due} {what or '未写明'}：{MILESTONE_STATES[state]}{met}"


TASKBOOK_COLUMNS = (
    "处室",
    "编号",
    "任务名称",
    "类别",
    "预期目标",
    "时间节点",
    "具体举措",
    "责任人",
    "平台",
)
TASKBOOK_DOC_EMPTY = "（本年度尚无任务）"


def chinese_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")


def taskbook_doc_title(year: int) -> str:
    return f"{year}年度局重点工作任务书"


def taskbook_doc_approved(meeting: str) -> str:
    return f"经{meeting}审定，以局名义下达。"


def taskbook_sheet_title(year: int) -> str:
    return f"{year}年度任务书"


def taskbook_imported(year: int, counts: Sequence[tuple[str, int]]) -> str:
    parts = "、".join(f"{dept}{n}项" for dept, n in counts)
    return f"导入完成：{year}年度任务书，{parts}（各处室原有草稿已替换）"


def task_linked_already(ref: str, matter: str) -> str:
    return f"{ref}已关联{matter}。"


def task_matter_detail(ref: str, year: int) -> str:
    return f"{year}年度任务书{ref}"


def task_bad_nodes(why: str) -> str:
    return f"时间节点：{why}。多个节点用「；」隔开，如 9月30日完成方案；12月31日完成验收。"


# The reports' 任务书执行情况 and the agenda's tasks behind plan (issue 13 item 2)
REPORT_TASKS_HEAD = (
    "处室",
    "任务数",
    "按期完成节点",
    "逾期完成节点",
    "逾期未完成节点",
    "未到期节点",
)
REPORT_XLSX_TASKS = "任务书"
REPORT_XLSX_BEHIND_HEAD = ("任务", "处室", "任务名称", "滞后情况")
REPORT_TASKS_BEHIND = "明显滞后的任务："


def report_tasks_none(year: str) -> str:
    return f"{year}年度工作任务书尚未录入，本期无任务书执行情况。"


def report_tasks_para(
    year: str, tasks: int, on_time: int, late: int, missed: int, due: int, behind: int
) -> str:
    return (
        f"{year}年度任务书共{tasks}项任务。本期到期的时间节点中，按期完成{on_time}个，"
        f"逾期完成{late}个，逾期未完成{missed}个，尚未到期{due}个；"
        f"目前明显滞后的任务{behind}项。各处室情况见下表。"
    )


def report_attention_task(ref: str, department: str, evidence: str) -> str:
    return f"{ref}（{department}）{evidence}"


def report_short_task(ref: str, department: str) -> str:
    return f"{ref} {department}"


def lag_task(ref: str, evidence: str) -> str:
    return f"{ref}：{evidence}"


# --- the task book in chat (新增任务, 任务修改, 删除任务) ---------------------------------------

TASK_CHAT_FIELDS_HINT = "预期目标、具体举措、责任人、类别、平台、时间节点、任务名称"


def task_chat_name_dept(known: Sequence[str]) -> str:
    dept = known[0] if known else "大气处"
    return f"请先写处室，如「新增任务 {dept} 任务名称 6月30日 完成方案」。"


def task_chat_not_member(dept: str) -> str:
    return f"您不是{dept}的内勤或负责人，不能修改该处室的任务书。"


def task_chat_no_nodes() -> str:
    return "请写任务名称和时间节点，如「新增任务 臭氧攻坚 6月30日 完成方案；12月31日 完成验收」。"


def task_chat_not_draft(year: int, dept: str, state: str) -> str:
    return (
        f"{dept}{year}年度工作任务书{TASKBOOK_STATES[state]}，不能再新增、修改或删除任务"
        f"（审定后由局办公室「任务调整」并写明理由）。"
    )


def task_chat_missing(missing: Sequence[str]) -> str:
    return f"尚缺：{'、'.join(missing)}。" if missing else "要素齐全。"


def task_chat_added(
    ref: str, name: str, dept: str, year: int, nodes: str, missing: Sequence[str]
) -> str:
    text = f"已加入{dept}{year}年度工作任务书（草稿）：{ref}「{name}」，时间节点：{nodes}。"
    text += task_chat_missing(missing)
    if missing:
        text += f"补充请发送「任务修改 {ref} {missing[0]} 内容」。"
    return text


def task_chat_bad_field(word: str) -> str:
    return f"「{word}」不是任务的字段，可选：{TASK_CHAT_FIELDS_HINT}。"


def task_chat_empty(field: str) -> str:
    return f"「{field}」不能为空。"


def task_chat_changed(ref: str, field: str, old: str, new: str, missing: Sequence[str]) -> str:
    return f"已修改：{ref}「{field}」由「{old or '未填写'}」改为「{new}」。" + task_chat_missing(
        missing
    )


def task_chat_deleted(ref: str, name: str, dept: str, year: int) -> str:
    return f"已从{dept}{year}年度工作任务书（草稿）删除：{ref}「{name}」。"
