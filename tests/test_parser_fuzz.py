"""Any text from anyone: ``run_command`` never raises, always answers with an ``Outcome``, and
when it refuses (a usage line, a refusal, an unknown command) nothing was changed or sent.

One SQLite database per test function, holding an item in every state; each example runs in a
transaction that is rolled back, so every example sees the same items.
"""

from __future__ import annotations

import pytest
from conftest import PEOPLE, STATES, BuildCache, World, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.roster import Roster
from handlers import texts
from handlers.context import Ctx
from handlers.dispatch import REGISTRY, Outcome, run_command
from handlers.workcal import WorkCalendar
from storage.db import Database

COMMANDS = sorted(REGISTRY.specs)
WORDS = [
    *COMMANDS,
    "大气处",
    "大气环境处",
    "水处",
    "水生态环境处",
    "环保处",
    "川沙新镇",
    "张江镇",
    "陆家嘴街道",
    "政策咨询",
    "问题沟通",
    *texts.STATE_LABELS.values(),
    "@督办助手",
]
FULL_WIDTH = str.maketrans("0123456789#", "０１２３４５６７８９＃")
SPACES = ["", " ", "\u3000", "\t", "\n", "\u00a0", "  "]

numbers = st.one_of(
    st.integers(0, len(STATES) + 2).map(str),
    st.integers(0, len(STATES) + 2).map(lambda i: str(i).translate(FULL_WIDTH)),
    st.integers(0, len(STATES) + 2).map(lambda i: f"#{i}"),
    st.integers(0, 10**12).map(str),
)
piece = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(["#", "＃", "@", "，", "。", *SPACES]),
    numbers,
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),  # full-width ASCII
    st.characters(min_codepoint=0x3000, max_codepoint=0x303F),  # CJK punctuation
    st.text(max_size=6),
)
command = st.builds(
    lambda name, sep, number, rest: f"{name}{sep}{number}{rest}",
    st.sampled_from(COMMANDS),
    st.sampled_from(SPACES),
    st.one_of(numbers, st.just("")),
    st.lists(piece, max_size=4).map("".join),
)
message = st.one_of(st.text(), st.lists(piece, max_size=8).map("".join), command)


@pytest.fixture
def items_world(db: Database, roster: Roster, cal: WorkCalendar, build_cache: BuildCache) -> World:
    world = World(db, roster, cal, cache=build_cache)
    world.build_many(list(STATES))
    world.later(hours=1)
    world.base = world.snapshot()  # every example is rolled back to this
    return world


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("who", PEOPLE)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=message)
def test_any_text(items_world: World, who: str, text: str) -> None:
    world = items_world
    with world.db.sessions() as session:
        session.begin()
        try:
            ctx = Ctx(session, world.roster, world.cal, world.now, actor=PEOPLE[who], msg_id="f")
            outcome = run_command(ctx, text)
            assert isinstance(outcome, Outcome)
            assert isinstance(outcome.reply, str)
            assert outcome.reply.strip()
            if outcome.ok:
                assert all(m.text and m.target for m in ctx.out)
            else:
                assert ctx.out == []
                assert snapshot(session) == world.base
        finally:
            session.rollback()
