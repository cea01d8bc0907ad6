"""The deadline declarations (handlers.deadlines) are the one source of what the sweepers
send: who is reminded, in which chats, with which texts, and who is told at each escalation
step. Changing or adding a declaration (and its texts) changes what goes out, nothing else."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from config.roster import Roster
from handlers import clocks, deadlines, texts
from handlers.dispatch import REGISTRY
from handlers.sweep import sweep
from storage import repo
from storage.models import Deadline, Filing, Item
from tests.conftest import World

OFFICE, AIR = "cid-office", "cid-air"
ADMIN, CLERK, HEAD = "u-admin", "u-air-clerk", "u-air-head"


@pytest.mark.parametrize("name", sorted(deadlines.CLOCKS))
def test_every_declaration_resolves(name: str, roster: Roster) -> None:
    """Its texts exist in handlers/texts.py, its settings in the roster, its commands in the
    dispatcher, its roles in the roster's vocabulary."""
    decl = deadlines.CLOCKS[name]
    assert decl.name == name
    assert callable(deadlines.text(decl.remind_line))
    assert deadlines.title(decl.remind_title)
    if decl.ladder:
        assert deadlines.title(decl.escalate_title) and callable(deadlines.text(decl.escalate_line))
        assert deadlines.ladder(roster, decl)
    if decl.repeat:
        assert deadlines.setting(roster, decl.repeat) > 0
    assert decl.reminders or decl.repeat
    assert deadlines.reminders(roster, decl) or decl.repeat
    for command in decl.met_by:
        assert command in REGISTRY.specs, command
    for role in decl.actors:
        assert role in {"office_admin", "office_head", "clerk", "dept_head", "deputy", "director"}
    if decl.subject == "item":
        assert name in texts.CLOCK_LABELS and decl.waiting
    else:
        assert decl.subject in ("matter", "office", "meeting", "task") and not decl.waiting


def test_every_deadline_row_kind_is_declared() -> None:
    assert {"monthly", "report"} | set(texts.FILING_KINDS) <= set(deadlines.CLOCKS)


def _nag(world: World, n: int, clock: str) -> dt.datetime:
    return min(
        t.fire_at
        for t in world.timers(n)
        if (t.clock, t.kind, t.state) == (clock, "nag", "pending")
    )


def _chats(out: list, n: int) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(m.channel, m.target) for m in out if f"#{n}" in m.text}


def test_item_reminder_chats_come_from_the_declaration(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim reminder goes to the department's group and its clerks; declared with no
    group and the head as the one who acts, it goes to the head alone."""
    n = world.build("assigned")
    world.now = _nag(world, n, "claim")
    decl = dataclasses.replace(deadlines.CLOCKS["claim"], remind_group="", actors=("dept_head",))
    monkeypatch.setitem(deadlines.CLOCKS, "claim", decl)
    with world.db.transaction() as session:
        out = sweep(session, world.roster, world.cal, world.now)
    assert _chats(out, n) == {("oto", HEAD)}


def test_escalation_ladder_comes_from_the_declaration(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The triage escalation follows the declared ladder setting (here the claim clock's:
    the department's head, who an unassigned item has none of, so only the office group)."""
    n = world.build("new")
    escalate = min(t.fire_at for t in world.timers(n) if t.kind == "escalate")
    with world.db.transaction() as session:
        sweep(session, world.roster, world.cal, escalate - dt.timedelta(seconds=1))
    world.now = escalate
    decl = dataclasses.replace(deadlines.CLOCKS["triage"], ladder="rules.escalate_claim")
    monkeypatch.setitem(deadlines.CLOCKS, "triage", decl)
    with world.db.transaction() as session:
        out = sweep(session, world.roster, world.cal, world.now)
    assert _chats(out, n) == {("group", OFFICE)}


def test_a_new_clock_is_one_declaration_and_its_texts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clock nobody wrote sweeper code for: planned, reminded and escalated from its
    declaration alone (here: the office must confirm a new item within the triage window,
    reminded 1:1 and in the office group, escalated to the director)."""
    decl = deadlines.Clock(
        "confirm",
        "item",
        actors=("office_admin",),
        met_by=("分派",),
        waiting=("new",),
        reminders=("half",),
        ladder="rules.escalate_reply",  # a two-step ladder; its second step is the director
        remind_group="office",
        escalate_office=True,
        remind_title="REMINDER",
        remind_line="nag_line",
        escalate_title="ESCALATION",
        escalate_line="overdue_line",
    )
    monkeypatch.setitem(deadlines.CLOCKS, "confirm", decl)
    monkeypatch.setitem(texts.CLOCK_LABELS, "confirm", "确认")
    monkeypatch.setitem(texts.ACTIONS, "confirm", "确认")
    n = world.build("new")
    with world.db.transaction() as session:
        item = session.get(Item, n)
        assert item is not None and item.triage_due is not None
        start, due = item.received_at, item.triage_due
        plans = clocks.plan(world.cal, world.roster.rules, "confirm", start, due)
        repo.add_timers(
            session, item, ((p.clock, p.kind, p.step, p.due_at, p.fire_at) for p in plans)
        )
    assert [(p.kind, p.step) for p in plans] == [("nag", 0), ("escalate", 0), ("escalate", 1)]
    world.now = plans[0].fire_at
    with world.db.transaction() as session:
        out = sweep(session, world.roster, world.cal, world.now)
    mine = [m for m in out if "请于" in m.text and "确认" in m.text and f"#{n}" in m.text]
    assert {(m.channel, m.target) for m in mine} == {("oto", ADMIN), ("group", OFFICE)}
    world.now = plans[2].fire_at
    with world.db.transaction() as session:
        out = sweep(session, world.roster, world.cal, world.now)
    told = {(m.channel, m.target) for m in out if "确认已超时" in m.text}
    assert told == {("oto", "u-director"), ("group", OFFICE)}


def test_matter_reminder_chats_come_from_the_declaration(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 批示件's 签收 reminder goes to the department; declared to the office group, it goes
    there (and still 1:1 to the clerk)."""
    world.at(2026, 11, 16, 10, 0)
    world.must("office_admin", "批示件 大气处 2026-12-10 关于加强秋冬季大气污染防治的批示")
    monkeypatch.setitem(
        deadlines.CLOCKS,
        "sign",
        dataclasses.replace(deadlines.CLOCKS["sign"], remind_group="office"),
    )
    world.at(2026, 11, 16, 14, 30)  # half-way through the 签收 window
    with world.db.transaction() as session:
        out = sweep(session, world.roster, world.cal, world.now)
        row = session.scalars(select(Filing).where(Filing.kind == "sign")).one()
        step = session.scalars(
            select(Deadline).where(Deadline.filing_id == row.id, Deadline.state == "pending")
        ).one()
        assert (step.clock, step.step) == ("sign", 1)
    assert {(m.channel, m.target) for m in out if "签收" in m.text} == {
        ("group", OFFICE),
        ("oto", CLERK),
    }
