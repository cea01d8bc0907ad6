"""Who receives each reminder and escalation of the @件 clocks: pinned, one row per timer.

Each case brings an item into a state with the real commands, moves the clock to one of its
pending timers and sweeps: the chats that receive the item's line are exactly the expected
ones (people by 1:1 message, groups by digest)."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import World

from handlers import texts
from handlers.sweep import sweep

OFFICE, AIR = "cid-office", "cid-air"
ADMIN, BOSS = "u-admin", "u-office-head"
CLERK, HEAD, DEPUTY, DIRECTOR = "u-air-clerk", "u-air-head", "u-deputy-1", "u-director"

# (state, clock, kind, step, title, the chats that receive it)
CASES = [
    ("new", "triage", "nag", 0, texts.REMINDER, {("oto", ADMIN), ("group", OFFICE)}),
    ("new", "triage", "escalate", 0, texts.ESCALATION, {("oto", BOSS), ("group", OFFICE)}),
    ("assigned", "claim", "nag", 0, texts.REMINDER, {("oto", CLERK), ("group", AIR)}),
    ("assigned", "claim", "escalate", 0, texts.ESCALATION, {("oto", HEAD), ("group", OFFICE)}),
    ("assigned", "claim", "escalate", 1, texts.ESCALATION, {("oto", DEPUTY), ("group", OFFICE)}),
    ("claimed", "reply", "nag", 0, texts.REMINDER, {("oto", CLERK), ("group", AIR)}),
    # a draft under review: the reviewer is reminded, not the clerk
    ("review_head", "reply", "nag", 1, texts.REMINDER, {("oto", HEAD), ("group", AIR)}),
    ("review_deputy", "reply", "nag", 1, texts.REMINDER, {("oto", DEPUTY), ("group", AIR)}),
    (
        "claimed",
        "reply",
        "escalate",
        0,
        texts.ESCALATION,
        {("oto", HEAD), ("oto", DEPUTY), ("group", OFFICE)},
    ),
    ("claimed", "reply", "escalate", 1, texts.ESCALATION, {("oto", DIRECTOR), ("group", OFFICE)}),
    # only the head can tell a hard case: 1:1 only, never to the department's group
    ("claimed", "placeholder", "nag", 0, texts.REMINDER, {("oto", HEAD)}),
    ("hard", "followup", "followup", 0, texts.FOLLOWUP, {("oto", CLERK), ("oto", HEAD)}),
]


def _timer(world: World, n: int, clock: str, kind: str, step: int) -> dt.datetime:
    found = [
        t.fire_at
        for t in world.timers(n)
        if (t.clock, t.kind, t.state) == (clock, kind, "pending") and t.step == step
    ]
    assert found, [(t.clock, t.kind, t.step, t.state) for t in world.timers(n)]
    return found[0]


@pytest.mark.parametrize(
    ("state", "clock", "kind", "step", "title", "chats"),
    [pytest.param(*c, id=f"{c[0]}-{c[1]}-{c[2]}-{c[3]}") for c in CASES],
)
def test_who_receives_it(
    world: World,
    state: str,
    clock: str,
    kind: str,
    step: int,
    title: str,
    chats: set[tuple[str, str]],
) -> None:
    n = world.build(state)
    fire_at = _timer(world, n, clock, kind, step)
    # the timers before this one, swept in time, so that only this one is new
    with world.db.transaction() as session:
        sweep(session, world.roster, world.cal, fire_at - dt.timedelta(seconds=1))
    world.now = max(fire_at, world.now)
    with world.db.transaction() as session:
        out = sweep(session, world.roster, world.cal, world.now)
    mine = [m for m in out if f"#{n}" in m.text]
    assert {(m.channel, m.target) for m in mine} == chats
    assert all(title in m.text for m in mine)


def test_every_clock_and_kind_is_pinned() -> None:
    """A new clock or a new kind of timer needs its row above."""
    from config.roster import Rules
    from handlers import clocks
    from handlers.sweep import WAITING

    pinned = {(c[1], c[2], c[3]) for c in CASES}
    assert {clock for clock, _, _ in pinned} == set(WAITING)
    for clock in ("triage", "claim", "reply"):  # every step of the default ladders
        steps = len(clocks.ladder(Rules(), clock))
        assert {s for c, k, s in pinned if (c, k) == (clock, "escalate")} == set(range(steps))
