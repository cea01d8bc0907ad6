"""The @件 commands, table-driven: every command × every role × every state, on both databases.

Items are brought into each state by the real commands (``conftest.PATHS``) on a fixed clock
(Monday 2026-11-16 09:30, Asia/Shanghai). A cell is one of

- ``ok``: the command succeeds, the item moves on, the events and messages are the right ones;
- ``R``: refused by role (``texts.not_allowed``); ``S``: wrong state (``texts.wrong_state``);
  ``D``: another department (``texts.not_your_department``); ``L``: wrong review level
  (``texts.not_your_level``); ``H``: already a hard case (``texts.already_hard``).

Every refusal leaves the items, events and timers rows as they were and sends nothing. The role
gate comes first, so a role refusal is tried in one state; another department's people are not
tried in states where either refusal (state or department) would be right. The read-only
commands (待办, 查看) run for every role over one database holding an item in every state.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from conftest import (
    AIR,
    ASKER,
    ASKER_NICK,
    DRAFT,
    EXAMPLE_ROSTER,
    PEOPLE,
    QUESTION,
    STATES,
    TOWN,
    TOWN_CID,
    TZ,
    WATER,
    WEBHOOK,
    World,
)

from config.roster import ROLE_NAMES, Roster, build_roster
from handlers import texts
from handlers.dispatch import REGISTRY
from handlers.effects import Outgoing
from handlers.sweep import sweep
from handlers.workcal import WorkCalendar
from storage.db import Database
from storage.models import Item

ASKED = "11月16日(周一) 09:30"  # when conftest's town asks (T0)
PLACEHOLDER = "该政策咨询/问题已收到，经研判需集体讨论，我局将尽快在线下回复贵街道（镇）。"
PERSONS = tuple(PEOPLE)
ROLE_OF = {
    "office_admin": "office_admin",
    "office_head": "office_head",
    "air_clerk": "clerk",
    "water_clerk": "clerk",
    "air_head": "dept_head",
    "water_head": "dept_head",
    "deputy": "deputy",
    "director": "director",
}
DB_STATE = {s: "review" if "review" in s else s for s in STATES}
LEVEL_OF = {"review_head": "dept_head", "review_deputy": "deputy", "review_director": "director"}
LEVEL_OF["hard_review"] = "dept_head"


def when(moment: dt.datetime | None, provisional: bool = False) -> str:
    assert moment is not None
    return texts.when(moment, TZ, provisional)


def day(d: int, h: int, m: int = 0) -> dt.datetime:
    """A moment in the week of 2026-11-16 (Monday) and after."""
    return dt.datetime(2026, 11, d, h, m, tzinfo=TZ)


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str  # the command word
    key: str  # for test ids
    text: str  # the command, with {n} for the item number
    roles: tuple[str, ...]  # roster roles that may use it; empty: everyone
    # state -> one code per permitted person (in PERSONS order); for the other states, ``S``
    # (another department's people: not tested, either refusal is right)
    cells: dict[str, str]
    after: Callable[[str], str]  # state after success
    level: str | None = None  # review level after success
    dept: str | None = None  # department after success, when the command sets it
    actions: tuple[str, ...] = ()  # events logged, in order, by the actor
    to: frozenset[str] = frozenset()  # targets that must receive a message
    reply: Callable[[int, Item], str] | None = None

    def permitted(self) -> list[str]:
        return [p for p in PERSONS if not self.roles or ROLE_OF[p] in self.roles]

    @property
    def who(self) -> str:
        return "、".join(ROLE_NAMES[r] for r in self.roles)


def _to(*targets: str) -> frozenset[str]:
    return frozenset(targets)


REVIEW_STATES = ("review_head", "review_deputy", "review_director", "hard_review")
APPROVE_CELLS = {  # air_head water_head deputy director
    "review_head": "ok D ok ok",
    "review_deputy": "L D ok ok",
    "review_director": "L D L ok",
    "hard_review": "ok D ok ok",
}

CASES = [
    Case(
        "分派",
        "assign",
        "分派 {n} 大气环境处",
        ("office_admin",),
        {"new": "ok"},
        after=lambda s: "assigned",
        dept=AIR,
        actions=("assigned",),
        to=_to("cid-air", "u-air-clerk"),
        reply=lambda n, i: texts.assigned_reply(n, AIR, when(i.claim_due, i.provisional)),
    ),
    Case(
        "退回",
        "reject",
        "退回 {n} 请向区建设交通委咨询",
        ("office_admin",),
        {"new": "ok", "assigned": "ok"},
        after=lambda s: "rejected",
        actions=("rejected",),
        to=_to(TOWN_CID),
        reply=lambda n, i: texts.rejected_reply(n),
    ),
    Case(
        "改派",
        "reassign",
        "改派 {n} 水生态环境处",
        ("office_admin",),
        {s: "ok" for s in ("assigned", "claimed", *REVIEW_STATES[:3])} | {"hard_review": "X"},
        after=lambda s: "assigned",
        dept=WATER,
        actions=("reassigned",),
        to=_to("cid-air", "cid-water", "u-water-clerk"),
        reply=lambda n, i: texts.reassigned_reply(n, AIR, WATER, when(i.claim_due, i.provisional)),
    ),
    Case(
        "认领",
        "claim",
        "认领 {n}",
        ("clerk",),
        {"assigned": "ok D"},  # air_clerk water_clerk
        after=lambda s: "claimed",
        actions=("claimed",),
        reply=lambda n, i: texts.claimed_reply(
            n, when(i.reply_due, i.provisional), when(i.placeholder_due, i.provisional)
        ),
    ),
    Case(
        "答复",
        "draft",
        "答复 {n} 答复稿：请按规定办理。",
        ("clerk",),
        {"claimed": "ok D", "hard": "ok D"},
        after=lambda s: "review",
        level="dept_head",
        actions=("drafted",),
        to=_to("u-air-head"),
        reply=lambda n, i: texts.draft_reply(n, "处室负责人"),
    ),
    Case(
        "同意",
        "approve",
        "同意 {n}",
        ("dept_head", "deputy", "director"),
        APPROVE_CELLS,
        after=lambda s: "answered",
        actions=("approved",),  # "replied" once DingTalk took it (test_delivery.py)
        to=_to(TOWN_CID),
        reply=lambda n, i: texts.approved_reply(n),
    ),
    Case(
        "退改",
        "send_back",
        "退改 {n} 请补充政策依据",
        ("dept_head", "deputy", "director"),
        APPROVE_CELLS,
        after=lambda s: "hard" if s == "hard_review" else "claimed",
        actions=("sent_back",),
        to=_to("u-air-clerk"),
        reply=lambda n, i: texts.returned_reply(n),
    ),
    Case(
        "疑难",
        "hard",
        "疑难 {n} 涉及多个部门",
        ("dept_head", "deputy"),
        {  # air_head water_head deputy
            "claimed": "ok D ok",
            "review_head": "ok D ok",
            "review_deputy": "ok D ok",
            "review_director": "ok D ok",
            "hard_review": "H D H",  # already a hard case
        },
        after=lambda s: "hard",
        actions=("hard",),  # "placeholder_sent" once DingTalk took it (test_delivery.py)
        to=_to(TOWN_CID),
        reply=lambda n, i: texts.hard_reply(n, False),
    ),
    Case(
        "报分管",
        "to_deputy",
        "报分管 {n}",
        ("dept_head",),
        {  # air_head water_head
            "review_head": "ok D",
            "review_deputy": "L D",
            "review_director": "L D",
            "hard_review": "ok D",
        },
        after=lambda s: "review",
        level="deputy",
        actions=("passed_up",),
        to=_to("u-deputy-1"),
        reply=lambda n, i: texts.passed_up_reply(n, "分管局领导"),
    ),
    Case(
        "集体研判",
        "to_director",
        "集体研判 {n}",
        ("deputy",),
        {"review_head": "ok", "review_deputy": "ok", "review_director": "L", "hard_review": "ok"},
        after=lambda s: "review",
        level="director",
        actions=("passed_up",),
        to=_to("u-director"),
        reply=lambda n, i: texts.passed_up_reply(n, "局主要领导"),
    ),
    Case(
        "已线下答复",
        "offline",
        "已线下答复 {n} 已电话答复街镇",
        ("clerk", "dept_head"),
        {"hard": "ok D ok D"},  # air_clerk water_clerk air_head water_head
        after=lambda s: "offline",
        actions=("offline_answered",),
        reply=lambda n, i: texts.offline_reply(n),
    ),
]
SHOW = Case("查看", "show", "查看 {n}", (), {}, after=lambda s: s)

# (command key, person, state) -> reason, for cells that fail because of a known bug
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}


def _cells() -> list[object]:
    out: list[object] = []
    for case in CASES:
        permitted = case.permitted()
        for state in STATES:
            listed = case.cells.get(state)
            codes = listed.split() if listed else ["-" if "water" in p else "S" for p in permitted]
            assert len(codes) == len(permitted), (case.name, state)
            for person, code in zip(permitted, codes, strict=True):
                if code == "-":
                    continue
                bug = KNOWN_BUGS.get((case.key, person, state))
                marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
                out.append(
                    pytest.param(
                        case, person, state, code, id=f"{case.key}-{person}-{state}", marks=marks
                    )
                )
        # The role gate comes before anything else: one state is enough.
        for person in PERSONS:
            if person not in permitted:
                out.append(pytest.param(case, person, "new", "R", id=f"{case.key}-{person}-R"))
    return out


def assert_refused(
    world: World, before: dict[str, object], out: list[object], ok: bool, reply: str
) -> None:
    assert not ok, reply
    assert out == []
    assert world.snapshot() == before


@pytest.mark.parametrize(("case", "person", "state", "code"), _cells())
def test_cell(world: World, case: Case, person: str, state: str, code: str) -> None:
    n = world.build(state)
    before = world.snapshot()
    events_before = len(world.events(n))
    outcome, out = world.run(person, case.text.format(n=n))
    if code != "ok":
        expected = {
            "R": lambda: texts.not_allowed(case.name, case.who),
            "S": lambda: texts.wrong_state(n, DB_STATE[state], case.name),
            "D": lambda: texts.not_your_department(n, AIR),
            "L": lambda: texts.not_your_level(n, LEVEL_OF[state]),
            "H": lambda: texts.already_hard(n),
            "X": lambda: texts.wrong_state(n, "hard", case.name),  # a hard case stays put
        }[code]()
        assert outcome.reply == expected
        assert_refused(world, before, out, outcome.ok, outcome.reply)
        return
    assert outcome.ok, outcome.reply
    item = world.item(n)
    assert item.state == case.after(state)
    assert item.review_level == case.level
    assert item.department == (case.dept or (AIR if state != "new" else None))
    new_events = world.events(n)[events_before:]
    assert [e.action for e in new_events] == list(case.actions)
    assert {e.actor for e in new_events} == {PEOPLE[person]}
    assert {e.at for e in new_events} == {world.now}
    assert case.to <= {m.target for m in out}
    assert case.reply is not None
    assert outcome.reply == case.reply(n, item)


# --- 待办, 列表, 帮助, 登记 -----------------------------------------------------------------------

TODO = {  # state -> (who must act, the line's action)
    "new": ("office_admin", "待甄别"),
    "assigned": ("air_clerk", "待认领"),
    "claimed": ("air_clerk", "待答复"),
    "review_head": ("air_head", "待审核"),
    "review_deputy": ("deputy", "待审核"),
    "review_director": ("director", "待审核"),
    "hard": ("air_clerk", "疑难件待线下答复"),
    "hard_review": ("air_head", "待审核"),
}


def build_all(world: World) -> dict[str, int]:
    """One item in every state, numbered in the order of STATES."""
    return dict(zip(STATES, world.build_many(list(STATES)), strict=True))


@pytest.mark.parametrize("person", PERSONS)
def test_todo(world: World, person: str) -> None:
    numbers = build_all(world)
    before = world.snapshot()
    outcome, out = world.run(person, "待办")
    assert outcome.ok
    assert out == []
    assert world.snapshot() == before
    expected = [
        f"#{numbers[state]} {TOWN}·{action}"
        for state, (actor, action) in TODO.items()
        if actor == person
    ]
    if not expected:
        assert outcome.reply == texts.nothing_to_do()
        return
    lines = outcome.reply.splitlines()
    assert lines[0] == "待办："
    assert [line.split("，")[0] for line in lines[1:]] == expected
    assert all("，时限" in line for line in lines[1:] if "疑难件待线下答复" not in line)


@pytest.mark.parametrize("person", PERSONS)
def test_show(world: World, person: str) -> None:
    numbers = build_all(world)
    before = world.snapshot()
    for state, n in numbers.items():
        outcome, out = world.run(person, f"查看 {n}")
        assert outcome.ok, (state, outcome.reply)
        assert out == []
        lines = outcome.reply.splitlines()
        label = texts.STATE_LABELS[DB_STATE[state]]
        dept = "" if state in ("new", "rejected") else f"｜{AIR}"
        assert lines[0] == f"#{n} {TOWN}·政策咨询｜{label}{dept}", state
        assert lines[1] == QUESTION
        history = lines[lines.index("记录：") + 1 :]
        assert len(history) == len(world.events(n)), state
        assert history[0].endswith(" @件收到")
        assert ("时限" in outcome.reply) == (state not in ("answered", "rejected", "offline"))
        if state in LEVEL_OF:
            level = texts.LEVEL_LABELS[LEVEL_OF[state]]
            assert f"答复稿（待{level}审核）：{DRAFT}" in lines
    assert world.snapshot() == before


LIST_ROLES = ("office_admin", "office_head", "dept_head", "deputy", "director")


@pytest.mark.parametrize("person", PERSONS)
def test_list(world: World, person: str) -> None:
    review = world.build("review_head")
    answered = world.build("answered")
    before = world.snapshot()
    outcome, out = world.run(person, "列表")
    if ROLE_OF[person] not in LIST_ROLES:
        assert outcome.reply == texts.not_allowed(
            "列表", "、".join(ROLE_NAMES[r] for r in LIST_ROLES)
        )
        assert_refused(world, before, out, outcome.ok, outcome.reply)
        return
    assert outcome.ok
    assert out == []
    assert world.snapshot() == before
    assert f"#{review} {TOWN}·待审核·{AIR}" in outcome.reply
    assert f"#{answered} " not in outcome.reply


def test_list_by_state(world: World) -> None:
    assigned = world.build("assigned")
    world.build("claimed")
    outcome, _ = world.run("office_admin", "列表 待认领")
    assert outcome.ok
    assert outcome.reply == f"未办结@件（1件）：\n#{assigned} {TOWN}·待认领·{AIR}"
    outcome, _ = world.run("director", "列表　待甄别")
    assert (outcome.ok, outcome.reply) == (True, texts.no_open_items("new"))
    outcome, out = world.run("deputy", "列表 办完的")
    assert not outcome.ok
    assert outcome.reply == texts.usage("列表 [待甄别/待认领/办理中/待审核/疑难件办理中]")
    assert out == []


def test_list_closed_state_gets_the_usage(world: World) -> None:
    """Regression: 列表 已答复 listed answered items under the heading 「未办结@件」."""
    world.build("answered")
    before = world.snapshot()
    outcome, out = world.run("office_admin", "列表 已答复")
    assert outcome.reply == texts.usage("列表 [待甄别/待认领/办理中/待审核/疑难件办理中]")
    assert_refused(world, before, out, outcome.ok, outcome.reply)


@pytest.mark.parametrize("person", PERSONS)
def test_help(world: World, person: str) -> None:
    world.build("claimed")
    before = world.snapshot()
    outcome, out = world.run(person, "帮助")
    assert outcome.ok
    assert out == []
    assert world.snapshot() == before
    lines = outcome.reply.splitlines()
    assert lines[0] == "可用命令："
    assert lines[-1] == "发送「帮助 命令」查看详情。"
    listed = {line.split("\u3000")[0] for line in lines[1:-1]}
    expected = {
        spec.usage
        for spec in REGISTRY.specs.values()
        if not spec.roles or ROLE_OF[person] in spec.roles
    }
    assert listed == expected
    assert ("认领 <编号>" in listed) == (ROLE_OF[person] == "clerk")
    assert ("分派 <编号> <处室>" in listed) == (person == "office_admin")
    assert {"待办", "查看 <编号>", "帮助 [命令]"} <= listed


def test_help_for_one_command(world: World) -> None:
    outcome, _ = world.run("air_clerk", "帮助 同意")
    spec = REGISTRY.specs["同意"]
    who = "可用：处室负责人、分管局领导、局主要领导"
    assert outcome.reply == f"同意 <编号/督N>\n{spec.summary}\n{who}"
    outcome, _ = world.run("air_clerk", "帮助 吃饭")
    assert outcome.reply == texts.UNKNOWN_COMMAND


@pytest.mark.parametrize("person", PERSONS)
def test_register(world: World, person: str) -> None:
    before = world.snapshot()
    outcome, out = world.run(person, "登记 川沙新镇 问题沟通 工地夜间施工噪声扰民，请协调。")
    if person != "office_admin":
        assert outcome.reply == texts.not_allowed("登记", "局办公室督办岗")
        assert_refused(world, before, out, outcome.ok, outcome.reply)
        return
    assert outcome.ok
    item = world.item(1)
    assert (item.state, item.town, item.category) == ("new", TOWN, "问题沟通")
    assert item.text == "工地夜间施工噪声扰民，请协调。"
    assert (item.conversation_id, item.asker_id) == (TOWN_CID, None)
    assert outcome.reply == texts.registered_reply(1, when(item.triage_due, item.provisional))
    assert [m.target for m in out] == ["cid-office"]  # no receipt to the town
    assert [(e.action, e.actor) for e in world.events(1)] == [("registered", "u-admin")]
    assert any(t.clock == "triage" for t in world.timers(1))


def test_register_unknown_town(world: World) -> None:
    before = world.snapshot()
    outcome, out = world.run("office_admin", "登记 陆家嘴街道 政策咨询 内容")
    assert outcome.reply == texts.unknown_town("陆家嘴街道", ["川沙新镇", "张江镇"])
    assert_refused(world, before, out, outcome.ok, outcome.reply)


# --- parsing: numbers, spaces, aliases, usage lines --------------------------------------------


def test_item_number_forms(world: World) -> None:
    for _ in range(12):
        world.receive()
    for form in ("#12", "12", "１２", "＃１２", "# 12", "#１２", "　#12　"):
        outcome, _ = world.run("air_clerk", f"查看{'' if form[0] == '#' else ' '}{form}")
        assert outcome.ok, form
        assert outcome.reply.startswith(f"#12 {TOWN}·"), form
    world.must("office_admin", "分派　＃１２　大气处")
    assert (world.item(12).state, world.item(12).department) == ("assigned", AIR)
    assert {world.item(i).state for i in range(1, 12)} == {"new"}
    world.must("air_clerk", "@督办助手 认领１２")
    assert world.item(12).state == "claimed"


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("大气环境处", AIR),
        ("大气处", AIR),
        ("水处", WATER),
        ("水环境处", WATER),
        ("水生态环境处", WATER),
    ],
)
def test_department_alias(world: World, alias: str, name: str) -> None:
    n = world.receive()
    outcome, _ = world.run("office_admin", f"分派 {n}　{alias}")
    assert outcome.ok, outcome.reply
    assert world.item(n).department == name


def test_unknown_department(world: World) -> None:
    n = world.receive()
    before = world.snapshot()
    known = [AIR, WATER]
    outcome, out = world.run("office_admin", f"分派 {n} 环保处")
    assert outcome.reply == texts.unknown_department("环保处", known)
    assert_refused(world, before, out, outcome.ok, outcome.reply)
    world.must("office_admin", f"分派 {n} 大气处")
    before = world.snapshot()
    outcome, out = world.run("office_admin", f"改派 {n} 土壤处")
    assert outcome.reply == texts.unknown_department("土壤处", known)
    assert_refused(world, before, out, outcome.ok, outcome.reply)
    outcome, out = world.run("office_admin", f"改派 {n} 大气处")
    assert outcome.reply == texts.same_department(n, AIR)
    assert_refused(world, before, out, outcome.ok, outcome.reply)


MALFORMED = [
    ("office_admin", "分派", "分派"),
    ("office_admin", "分派 abc 大气处", "分派"),
    ("office_admin", "分派 1", "分派"),
    ("office_admin", "分派 1 大气处 多余", "分派"),
    ("office_admin", "退回", "退回"),
    ("office_admin", "退回 #", "退回"),
    ("office_admin", "改派 1", "改派"),
    ("office_admin", "登记 川沙新镇", "登记"),
    ("office_admin", "登记 川沙新镇 政策咨询", "登记"),
    ("office_admin", "登记 川沙新镇 投诉 工地夜间施工", "登记"),
    ("air_clerk", "认领", "认领"),
    ("air_clerk", "认领 一", "认领"),
    ("air_clerk", "认领 1234567890", "认领"),
    ("air_clerk", "答复 1", "答复"),
    ("air_clerk", "答复 内容", "答复"),
    ("air_head", "同意", "同意"),
    ("air_head", "同意 1 好的", "同意"),
    ("air_head", "退改 1", "退改"),
    ("air_head", "疑难", "疑难"),
    ("air_head", "报分管 x", "报分管"),
    ("deputy", "集体研判", "集体研判"),
    ("air_clerk", "已线下答复", "已线下答复"),
    ("air_clerk", "查看", "查看"),
    ("air_clerk", "待办 1", "待办"),
    ("air_clerk", "帮助 认领 答复", "帮助"),
]


@pytest.mark.parametrize(
    ("person", "text", "name"),
    [pytest.param(*m, id=f"malformed{i}") for i, m in enumerate(MALFORMED)],
)
def test_malformed_gets_usage(world: World, person: str, text: str, name: str) -> None:
    world.build("claimed")
    before = world.snapshot()
    outcome, out = world.run(person, text)
    assert outcome.reply == texts.usage(REGISTRY.specs[name].usage)
    assert_refused(world, before, out, outcome.ok, outcome.reply)


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("你好", texts.UNKNOWN_COMMAND),
        ("认领了", texts.UNKNOWN_COMMAND),
        ("", texts.EMPTY_MESSAGE),
        ("　 \n", texts.EMPTY_MESSAGE),
        ("@督办助手", texts.EMPTY_MESSAGE),
    ],
    ids=["chat", "glued", "empty", "spaces", "mention"],
)
def test_not_a_command(world: World, text: str, reply: str) -> None:
    before = world.snapshot()
    outcome, out = world.run("air_clerk", text)
    assert outcome.reply == reply
    assert_refused(world, before, out, outcome.ok, outcome.reply)


@pytest.mark.parametrize("case", [*CASES, SHOW], ids=[c.key for c in [*CASES, SHOW]])
def test_unknown_item(world: World, case: Case) -> None:
    world.build("claimed")
    before = world.snapshot()
    outcome, out = world.run(case.permitted()[0], case.text.format(n=99))
    assert outcome.reply == texts.no_item(99)
    assert_refused(world, before, out, outcome.ok, outcome.reply)


def test_draft_text_is_kept_as_written(world: World) -> None:
    n = world.build("claimed")
    world.must("air_clerk", f"答复　{n}　依据《办法》第三条　执行；\n详见附件 ")
    assert world.item(n).draft == "依据《办法》第三条　执行；\n详见附件"


# --- clocks: 接件 and the placeholder -------------------------------------------------------


def test_claim_in_time_starts_the_reply_clock_at_the_claim(world: World, cal: WorkCalendar) -> None:
    n = world.build("assigned")  # claim due Monday 14:00
    assert world.item(n).claim_due == day(16, 14)
    world.at(2026, 11, 16, 10, 30)
    world.must("air_clerk", f"认领 {n}")
    item = world.item(n)
    assert item.claimed_at == item.accepted_at == day(16, 10, 30)
    assert item.reply_due == day(18, 15) == cal.add(day(16, 10, 30), "2.5").at
    assert item.placeholder_due == day(18, 10, 30)
    assert [e.detail for e in world.events(n) if e.action == "claimed"] == [""]


def test_late_claim_buys_no_time(world: World) -> None:
    n = world.build("assigned")  # claim due Monday 14:00
    world.at(2026, 11, 17, 10)
    out = world.must("air_clerk", f"认领 {n}")
    assert out == []
    item = world.item(n)
    assert item.claimed_at == day(17, 10)
    assert item.accepted_at == item.claim_due == day(16, 14)
    assert item.reply_due == day(19, 9, 30)  # 2.5 working days from Monday 14:00
    assert item.placeholder_due == day(18, 14)
    assert [e.detail for e in world.events(n) if e.action == "claimed"] == ["late"]
    outcome, _ = world.run("air_clerk", f"查看 {n}")
    assert "孙内勤 认领（逾期）" in outcome.reply


def test_late_claim_plans_no_reminder_in_the_past(world: World) -> None:
    """Regression: a late claim planned the reply and placeholder reminders from the claim
    deadline, and the next sweep sent those already past at once, labelled 「因系统停机延后」."""
    n = world.build("assigned")  # claim due Monday 14:00
    world.at(2026, 11, 18, 10)
    world.must("air_clerk", f"认领 {n}")
    pending = [t for t in world.timers(n) if t.state == "pending" and t.kind == "nag"]
    assert pending
    assert all(t.fire_at > world.now for t in pending)
    with world.db.transaction() as session:
        out = sweep(session, world.roster, world.cal, world.now)
    assert not any("系统停机" in m.text for m in out)


def test_placeholder_clock_reminds_and_never_escalates(world: World) -> None:
    # Only the head can tell a hard case: the 2-day mark reminds, nothing is overdue at it.
    n = world.build("claimed")
    item = world.item(n)
    kinds = {(t.kind, t.due_at) for t in world.timers(n) if t.clock == "placeholder"}
    assert kinds == {("nag", item.placeholder_due)}


def test_history_shows_the_town_received_it(world: World) -> None:
    n = world.receive()
    outcome, _ = world.run("office_admin", f"查看 {n}")
    assert "系统 @件收到" not in outcome.reply


def receipt_roster() -> Roster:
    raw = tomllib.loads(EXAMPLE_ROSTER.read_text(encoding="utf-8"))
    raw["rules"]["accept_basis"] = "receipt"
    return build_roster(raw)


def test_accept_basis_receipt(db: Database, cal: WorkCalendar) -> None:
    world = World(db, receipt_roster(), cal)
    n = world.receive()  # Monday 09:30
    world.later(hours=1)
    world.must("office_admin", f"分派 {n} 大气处")
    world.later(hours=1)
    world.must("air_clerk", f"认领 {n}")
    item = world.item(n)
    assert item.claimed_at == day(16, 11, 30)
    assert item.accepted_at == item.received_at == day(16, 9, 30)
    assert item.reply_due == day(18, 14)
    assert item.placeholder_due == day(18, 9, 30)


def test_hard_in_time(world: World) -> None:
    n = world.build("claimed")  # 接件 Monday 09:30: placeholder due Wednesday 09:30
    world.at(2026, 11, 17, 16)
    outcome, out = world.run("air_head", f"疑难 {n} 需要征求区水务局意见")
    assert outcome.reply == texts.hard_reply(n, False)
    item = world.item(n)
    assert (item.state, item.hard, item.hard_reason) == ("hard", True, "需要征求区水务局意见")
    assert item.placeholder_at == day(17, 16)
    assert [(e.action, e.detail) for e in world.events(n)][-1] == ("hard", "需要征求区水务局意见")
    assert [(m.target, m.text, m.item_id, m.purpose) for m in out] == [
        (TOWN_CID, f"【先行回复】#{n} {ASKED}提问：{QUESTION}\n{PLACEHOLDER}", n, "placeholder")
    ]
    assert {t.clock for t in world.timers(n) if t.state == "pending"} == {"followup"}


def test_hard_after_the_two_day_mark_is_sent_and_recorded_late(world: World) -> None:
    n = world.build("review_head")
    world.at(2026, 11, 18, 10)  # placeholder was due Wednesday 09:30
    outcome, out = world.run("deputy", f"疑难 {n}")
    assert outcome.reply == texts.hard_reply(n, True)
    assert [(e.action, e.actor) for e in world.events(n)][-1] == ("hard", "u-deputy-1")
    assert len(out) == 1
    message = out[0]
    # the reference first, then the placeholder sentence exactly and whole
    head, body = message.text.split("\n")
    assert body == PLACEHOLDER
    assert head == f"【先行回复】#{n} {ASKED}提问：{QUESTION}"
    assert (message.channel, message.target, message.webhook) == ("session", TOWN_CID, WEBHOOK)
    assert message.at_user_ids == (ASKER,)
    assert (message.fallback_channel, message.fallback_target) == ("group", TOWN_CID)
    assert message.fallback_text == f"【先行回复】#{n} {ASKER_NICK} {ASKED}提问：{QUESTION}\n{body}"


def test_hard_twice_sends_the_placeholder_once(world: World) -> None:
    """Regression: 疑难 on a hard case whose draft was under review sent the placeholder to the
    town a second time and planned a second follow-up chain."""
    n = world.build("hard_review")
    before = world.snapshot()
    outcome, out = world.run("air_head", f"疑难 {n}")
    assert outcome.reply == texts.already_hard(n)
    assert_refused(world, before, out, outcome.ok, outcome.reply)
    assert len([t for t in world.timers(n) if t.clock == "followup" and t.state == "pending"]) == 1


def test_hard_case_keeps_followups_after_draft_sent_back(world: World) -> None:
    """Regression: a hard case's follow-up timer that came due while its draft was under review
    was dropped by the sweeper and never planned again."""
    n = world.build("hard_review")  # 疑难 Monday 09:30: first follow-up Wednesday 09:30
    world.at(2026, 11, 18, 10)
    with world.db.transaction() as session:
        sweep(session, world.roster, world.cal, world.now)
    world.must("air_head", f"退改 {n} 仍需线下答复")
    assert world.item(n).state == "hard"
    lines: list[str] = []
    for d in (19, 20, 23, 24, 25):
        world.at(2026, 11, d, 10)
        with world.db.transaction() as session:
            lines += [m.text for m in sweep(session, world.roster, world.cal, world.now)]
    assert any(f"#{n} " in line and "疑难件" in line for line in lines)


def test_reassigned_hard_case_stays_consistent(world: World) -> None:
    n = world.build("hard_review")
    outcome, _ = world.run("office_admin", f"改派 {n} 水处")
    # a hard case stays with the department that judged it, draft under review or not
    assert not outcome.ok and outcome.reply == texts.wrong_state(n, "hard", "改派")


def test_offline_closes_the_hard_case(world: World) -> None:
    n = world.build("hard")
    world.later(days=1)
    world.must("air_head", f"已线下答复 {n} 已召开协调会")
    item = world.item(n)
    assert (item.state, item.reply) == ("offline", "已召开协调会")
    assert item.closed_at == item.replied_at == world.now
    assert {t.state for t in world.timers(n)} <= {"cancelled", "fired"}


# --- messages to the town -------------------------------------------------------------------


@pytest.mark.parametrize("note", ["请向区建设交通委咨询", ""])
@pytest.mark.parametrize("state", ["new", "assigned"])
def test_reject_answers_the_town(world: World, state: str, note: str) -> None:
    n = world.build(state)
    outcome, out = world.run("office_admin", f"退回 {n} {note}")
    assert outcome.reply == texts.rejected_reply(n)
    town = [m for m in out if m.target == TOWN_CID]
    assert len(town) == 1
    expected = "经甄别，该事项非本机关职责范围。" + (f"\n{note}" if note else "")
    head = f"【甄别结果】#{n} {ASKED}提问：{QUESTION}"
    assert town[0].text == f"{head}\n{expected}"
    assert town[0].at_user_ids == (ASKER,)
    named = f"【甄别结果】#{n} {ASKER_NICK} {ASKED}提问：{QUESTION}"
    assert town[0].fallback_text == f"{named}\n{expected}"
    item = world.item(n)
    assert (item.state, item.note) == ("rejected", note or None)
    assert {t.state for t in world.timers(n)} == {"cancelled"}


def test_reject_after_assignment_tells_the_department(world: World) -> None:
    """Regression: 退回 of an assigned item left the department waiting to claim it."""
    n = world.build("assigned")
    out = world.must("office_admin", f"退回 {n} 不属于我局")
    assert [(m.channel, m.text) for m in out if m.target == "cid-air"] == [
        ("group", texts.rejected_away(n))
    ]


def test_approve_sends_the_draft_to_the_asker(world: World) -> None:
    n = world.build("review_head")
    world.later(hours=2)
    out = world.must("air_head", f"同意 {n}")
    town = [m for m in out if m.target == TOWN_CID]
    assert len(town) == 1
    message = town[0]
    # the town sees which question this answers: number, when, first words; then the answer
    assert message.text == f"【答复】#{n} {ASKED}提问：{QUESTION}\n{DRAFT}"
    assert message.at_user_ids == (ASKER,)
    # after the webhook expired, the group message names the asker instead of @-mentioning
    assert message.fallback_text == f"【答复】#{n} {ASKER_NICK} {ASKED}提问：{QUESTION}\n{DRAFT}"
    assert (message.channel, message.webhook) == ("session", WEBHOOK)
    assert (message.fallback_channel, message.fallback_target) == ("group", TOWN_CID)
    # the sender records the outcome on the item and tells the approver and the drafter
    assert (message.item_id, message.purpose, message.actor) == (n, "reply", "u-air-head")
    assert [m.target for m in out] == [TOWN_CID]
    item = world.item(n)
    assert (item.state, item.reply, item.replied_at) == ("answered", DRAFT, world.now)
    assert {t.state for t in world.timers(n)} <= {"cancelled", "fired"}


def test_approve_without_an_asker(world: World) -> None:
    world.must("office_admin", "登记 张江镇 政策咨询 电话咨询：餐饮油烟检测频次？")
    for who, text in [
        ("office_admin", "分派 1 大气处"),
        ("air_clerk", "认领 1"),
        ("air_clerk", "答复 1 每年至少一次。"),
    ]:
        world.must(who, text)
    out = world.must("deputy", "同意 1")
    town = [m for m in out if m.target == "cid-town-zhangjiang"]
    head = "【答复】#1 11月16日(周一) 09:30提问：电话咨询：餐饮油烟检测频次？"
    assert [(m.channel, m.text, m.at_user_ids) for m in town] == [
        ("group", f"{head}\n每年至少一次。", ())
    ]


def test_a_long_question_is_cut_in_the_reference(world: World) -> None:
    question = "关于" + "工业企业挥发性有机物治理" * 5 + "的咨询"
    n = world.build("review_head", text=question)
    [town] = [m for m in world.must("air_head", f"同意 {n}") if m.target == TOWN_CID]
    head = town.text.split("\n")[0]
    assert head == f"【答复】#{n} {ASKED}提问：{question[:23]}…"


def test_nobody_approves_their_own_draft(db: Database, cal: WorkCalendar) -> None:
    """Whatever the roster says: here the deputy also serves as the air department's clerk."""
    with open(EXAMPLE_ROSTER, "rb") as f:
        raw = tomllib.load(f)
    raw["departments"][0]["clerks"].append("u-deputy-1")
    world = World(db, build_roster(raw), cal)
    n = world.build("claimed")
    world.must("deputy", f"答复 {n} {DRAFT}")
    before = world.snapshot()
    outcome, out = world.run("deputy", f"同意 {n}")
    assert outcome.reply == texts.own_draft(n)
    assert_refused(world, before, out, outcome.ok, outcome.reply)
    world.must("air_head", f"同意 {n}")
    assert world.item(n).state == "answered"


def test_review_ladder(world: World) -> None:
    n = world.build("claimed")
    assert [m.target for m in world.must("air_clerk", f"答复 {n} {DRAFT}")] == ["u-air-head"]
    assert [m.target for m in world.must("air_head", f"报分管 {n}")] == ["u-deputy-1"]
    outcome, _ = world.run("air_head", f"同意 {n}")
    assert outcome.reply == texts.not_your_level(n, "deputy")
    assert [m.target for m in world.must("deputy", f"集体研判 {n}")] == ["u-director"]
    for who in ("air_head", "deputy"):
        outcome, _ = world.run(who, f"同意 {n}")
        assert outcome.reply == texts.not_your_level(n, "director")
    world.later(hours=1)
    out = world.must("director", f"同意 {n}")
    assert {m.target for m in out} == {TOWN_CID}
    assert [(e.action, e.actor, e.detail) for e in world.events(n)][2:] == [
        ("claimed", "u-air-clerk", ""),
        ("drafted", "u-air-clerk", DRAFT),
        ("passed_up", "u-air-head", "deputy"),
        ("passed_up", "u-deputy-1", "director"),
        ("approved", "u-director", DRAFT),
    ]
    outcome, _ = world.run("air_clerk", f"查看 {n}")
    assert "张局 同意" in outcome.reply
    assert "陈副局 报上级审核 局主要领导" in outcome.reply
    assert not re.search("[A-Za-z]", outcome.reply.split("记录：")[1])  # no English in the record


def test_nul_character_is_not_a_crash(world: World) -> None:
    """Regression: on PostgreSQL a free text holding U+0000 raised DataError out of
    run_command (text fields cannot hold NUL) instead of answering."""
    n = world.build("claimed")
    outcome, _ = world.run("air_clerk", f"答复 {n} 甲\x00乙")
    assert outcome.ok, outcome.reply
    assert world.item(n).draft == "甲乙"


# --- after an outage, only what still helps (issue 8, item 12) --------------------------------


def sweep_at(world: World, *moment: int) -> list[Outgoing]:
    """The sweeper's first round at ``moment``: the bot comes back, or the clock jumped."""
    world.at(*moment)
    with world.db.transaction() as session:
        return sweep(session, world.roster, world.cal, world.now)


def lines_to(out: list[Outgoing], target: str) -> list[str]:
    return [line for m in out if m.target == target for line in m.text.splitlines()]


def test_a_jump_past_the_deadline_sends_the_escalation_not_the_reminders(world: World) -> None:
    """Seen in the sandbox: «/快进 2d» after an assignment sent the clerk 「请于11月16日(周一)
    14:00前认领」 twice, after 14:00, beside the escalation."""
    n = world.build("assigned")  # Monday 09:30: claim due 14:00, reminders at 11:15 and 12:00
    out = sweep_at(world, 2026, 11, 18, 9, 30)  # Wednesday
    assert not any("前认领" in m.text for m in out)
    assert lines_to(out, "u-air-clerk") == []
    assert lines_to(out, "cid-air") == []
    overdue = texts.overdue_line(n, TOWN, "claim", when(day(16, 14)), "孙内勤")
    # both steps of the ladder are due: each to its people, the office group hears it once
    assert [line.split("（原定")[0] for line in lines_to(out, "u-air-head")] == [
        f"【超时督办】{overdue}"
    ]
    assert [line.split("（原定")[0] for line in lines_to(out, "u-deputy-1")] == [
        f"【超时督办】{overdue}"
    ]
    assert len(lines_to(out, "cid-office")) == 1
    assert {t.state for t in world.timers(n) if t.clock == "claim"} == {"fired"}
    assert sweep_at(world, 2026, 11, 18, 10) == []  # nothing left to say


def test_several_reminders_of_one_clock_due_at_once_make_one(world: World) -> None:
    n = world.build("claimed")  # 接件 Monday 09:30: reply due Wednesday 14:00
    nags = [t for t in world.timers(n) if t.clock == "reply" and t.kind == "nag"]
    assert [t.fire_at for t in nags] == [day(17, 11, 15), day(18, 12)]
    out = sweep_at(world, 2026, 11, 18, 13, 30)  # both due; the deadline is not
    reply_due = when(day(18, 14))
    assert lines_to(out, "u-air-clerk") == [
        f"【督办提醒】{texts.nag_line(n, TOWN, 'reply', reply_due)}"
        + texts.late_suffix(when(day(18, 12)))
    ]
    # the group is told where the actions are; the clerk's message carries them
    assert lines_to(out, "cid-air") == [*lines_to(out, "u-air-clerk"), texts.ACTIONS_IN_CHAT]
    (to_clerk,) = [m for m in out if m.target == "u-air-clerk"]
    assert [a.command for a in to_clerk.actions] == [f"答复 {n}", f"查看 {n}"]
    assert all(not m.actions for m in out if m.channel == "group")
    # the placeholder mark (Wednesday 09:30) has passed: its reminders are moot
    assert lines_to(out, "u-air-head") == []
    clocks = ("reply", "placeholder")
    assert {t.state for t in world.timers(n) if t.kind == "nag" and t.clock in clocks} == {"fired"}


def test_a_superseded_reminder_never_comes_later(world: World) -> None:
    """Off hours only the latest reminder may still go (just after its time); the older one
    must not follow at the next working minute."""
    n = world.build("claimed")
    out = sweep_at(world, 2026, 11, 18, 12, 5)  # lunch: the 12:00 reminder just went due
    assert len(lines_to(out, "u-air-clerk")) == 1
    assert lines_to(sweep_at(world, 2026, 11, 18, 13, 0), "u-air-clerk") == []
    assert {t.state for t in world.timers(n) if t.clock == "reply" and t.kind == "nag"} == {"fired"}
