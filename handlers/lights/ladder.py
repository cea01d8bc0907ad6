"""The 约谈问询 ladder (main text 三(六)): which interview conditions a 督办事项 (matter) meets.

Pure rules, no I/O. The caller passes only ★ matters and keeps the keys of the conditions
that already fired (proposed, started, declined or absorbed), so that the same condition never
fires twice.

Readings of the document:
- "对纳入区级机关绩效考核的工作，酌情启动约谈问询" (started at discretion): a met condition is
  a proposal to the office, who starts the interview or declines it with a reason
  (``propose``); the roster's ``[interviews] start = "auto"`` keeps the automatic start
  (``decide``). A declined condition is never proposed again. Conditions met at once make one
  proposal at the highest tier (the lower ones absorbed in it); a waiting proposal absorbs
  nothing met later (a lower condition is a proposal of its own, one at its tier joins it),
  only a started interview at that tier or above does; starting one supersedes the started
  interviews and waiting proposals below it (``superseded_by``).
- One light per period "YYYY-MM", given in any order and sorted by period. "连续" means
  consecutive calendar months: a green breaks a run, and so does a month with no recorded
  light (the district platform lights every ★ matter every month, so a missing light is a gap
  in the record, never a false interview; the office is reminded of missing lights monthly).
  A light recorded late that fills the gap joins the runs on both sides: the run is met then.
- Tier 1's 连续二次亮黄灯 counts a red as a (graver) yellow, as tiers 2 and 3 say 含红灯:
  any two consecutive non-green lights meet it.
- 超限报告 (late filings) are counted per calendar year of the filing's period: two meet
  tier 1, three or more meet tier 2 (once, when the count reaches three).
- "区分管领导在全区性会议上点名批评、推进进度严重滞后的" (tier 2) and the same of the 区主要领导
  (tier 3) name two events, each a condition of its own, recorded by the office: a named
  criticism at a district meeting (点名, with the meeting and what was said) and 推进进度严重滞后
  (严重滞后, with who found it and the note). The caller's id keys each.

Condition keys, stable and unique per matter:
    yellow2@P  yellowred3@P  yellowred4@P   a run of yellow-or-red lights starting at P
    red2@P  red3@P                          a run of red lights starting at P
    late2@YYYY  late3@YYYY                  late filings of a year
    named_deputy@ID  named_principal@ID     a named criticism (点名)
    lagging_deputy@ID  lagging_principal@ID  推进进度严重滞后 (严重滞后)
A run's condition counts as fired when a fired key of that kind names any period within the
run's span, so a run extended backwards by a late-recorded earlier light, or two runs joined
by a light that fills the gap between them, do not fire a kind again.
The evidence names exactly the lights or filings that meet the condition.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from handlers import texts

TIER_ROLES: dict[int, tuple[str, str]] = {
    1: ("dept_head", "owner"),
    2: ("deputy", "dept_head"),
    3: ("director", "deputy"),
}

_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_NON_GREEN = frozenset({"yellow", "red"})
_RED = frozenset({"red"})
# (kind, tier, run length, colours the run is made of)
_RUN_RULES = (
    ("yellow2", 1, 2, _NON_GREEN),
    ("yellowred3", 2, 3, _NON_GREEN),
    ("red2", 2, 2, _RED),
    ("yellowred4", 3, 4, _NON_GREEN),
    ("red3", 3, 3, _RED),
)
# (kind, tier, count within a year)
_LATE_RULES = (("late2", 1, 2), ("late3", 2, 3))
# (event kind, level) -> (condition kind, tier)
_EVENTS = {
    ("named", "district_deputy"): ("named_deputy", 2),
    ("named", "district_principal"): ("named_principal", 3),
    ("lagging", "district_deputy"): ("lagging_deputy", 2),
    ("lagging", "district_principal"): ("lagging_principal", 3),
}


@dataclass(frozen=True)
class Firing:
    tier: int  # 1..3
    condition: str  # the stable key
    rule: str  # the document's words
    evidence: str  # months and colours, late filings, or the criticism's date and note


@dataclass(frozen=True)
class Criticism:
    """A district leader's event: a named criticism at a district meeting (``named``) or
    推进进度严重滞后 recorded on its own (``lagging``)."""

    id: int
    level: Literal["district_deputy", "district_principal"]
    date: dt.date
    note: str
    kind: Literal["named", "lagging"] = "named"


@dataclass(frozen=True)
class Decision:
    open: list[Firing]  # the new conditions of the highest new tier: one interview (or proposal)
    absorbed: list[Firing]  # record, do not notify
    supersede: list[int]  # tiers of open interviews below the tier opened


def _period(value: str, what: str) -> str:
    if not isinstance(value, str) or not _PERIOD.fullmatch(value):
        raise ValueError(f"{what}: malformed period {value!r}, expected YYYY-MM")
    return value


def _sorted_lights(lights: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    for period, color in lights:
        _period(period, "light")
        if color not in texts.LIGHT_LABELS:
            raise ValueError(f"light {period}: unknown colour {color!r}")
        if period in seen:
            raise ValueError(f"light {period}: recorded twice")
        seen.add(period)
    return sorted(lights)


def next_period(period: str) -> str:
    """The month after ``period`` ("2026-12" -> "2027-01")."""
    year, month = int(period[:4]), int(period[5:])
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


def _runs(lights: list[tuple[str, str]], colors: frozenset[str]) -> list[list[tuple[str, str]]]:
    """Maximal runs of lights in consecutive calendar months whose colours are all in
    `colors`: another colour or a month without a light ends a run."""
    runs: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for light in lights:
        joins = light[1] in colors and (not current or light[0] == next_period(current[-1][0]))
        if not joins and current:
            runs.append(current)
            current = []
        if light[1] in colors:
            current.append(light)
    if current:
        runs.append(current)
    return runs


def evaluate(
    lights: Sequence[tuple[str, str]],
    late_periods: Sequence[str],
    criticisms: Sequence[Criticism],
    fired: Collection[str],
) -> list[Firing]:
    """Every condition met now whose key is not in `fired`, highest tier first."""
    ordered = _sorted_lights(lights)
    late = sorted(_period(p, "late filing") for p in late_periods)
    fired_periods: dict[str, list[str]] = {}
    for key in fired:
        kind, _, suffix = key.partition("@")
        fired_periods.setdefault(kind, []).append(suffix)

    found: list[Firing] = []
    for kind, tier, length, colors in _RUN_RULES:
        for run in _runs(ordered, colors):
            first, last = run[0][0], run[-1][0]
            if len(run) < length or any(first <= p <= last for p in fired_periods.get(kind, [])):
                continue
            evidence = texts.ladder_lights(run[:length])
            found.append(Firing(tier, f"{kind}@{first}", texts.LADDER_RULES[kind], evidence))

    by_year: dict[str, list[str]] = {}
    for period in late:
        by_year.setdefault(period[:4], []).append(period)
    for year, periods in sorted(by_year.items()):
        for kind, tier, count in _LATE_RULES:
            key = f"{kind}@{year}"
            if len(periods) >= count and key not in fired:
                evidence = texts.ladder_late(periods[:count])
                found.append(Firing(tier, key, texts.LADDER_RULES[kind], evidence))

    keys: set[str] = set()
    for c in sorted(criticisms, key=lambda c: (c.date, c.id, c.kind)):
        if (c.kind, c.level) not in _EVENTS:
            raise ValueError(f"criticism {c.id}: unknown kind {c.kind!r} or level {c.level!r}")
        kind, tier = _EVENTS[(c.kind, c.level)]
        key = f"{kind}@{c.id}"
        if key in keys:
            raise ValueError(f"criticism {c.id}: recorded twice")
        keys.add(key)
        if key not in fired:
            evidence = texts.ladder_criticism(c.date, c.note)
            found.append(Firing(tier, key, texts.LADDER_RULES[kind], evidence))

    found.sort(key=lambda f: -f.tier)  # stable: within a tier, lights, late filings, criticisms
    return found


def decide(new: Sequence[Firing], open_tiers: Collection[int]) -> Decision:
    """Open one interview at the highest new tier unless one at that tier or above is open."""
    if not new:
        return Decision(open=[], absorbed=[], supersede=[])
    top = max(f.tier for f in new)
    if any(t >= top for t in open_tiers):
        return Decision(open=[], absorbed=list(new), supersede=[])
    return Decision(
        open=[f for f in new if f.tier == top],
        absorbed=[f for f in new if f.tier < top],
        supersede=sorted({t for t in open_tiers if t < top}),
    )


def propose(new: Sequence[Firing], started_tiers: Collection[int]) -> Decision:
    """ "酌情": the proposal to the office, at the highest new tier (the lower new conditions
    are absorbed in it, as in ``decide``), unless an interview at that tier or above has been
    started. A pending proposal absorbs nothing: a lower condition met later is a proposal of
    its own, so that the office decides on each tier. Nothing is superseded until the office
    starts one (``superseded_by``)."""
    if not new:
        return Decision(open=[], absorbed=[], supersede=[])
    top = max(f.tier for f in new)
    if any(t >= top for t in started_tiers):
        return Decision(open=[], absorbed=list(new), supersede=[])
    return Decision(
        open=[f for f in new if f.tier == top],
        absorbed=[f for f in new if f.tier < top],
        supersede=[],
    )


def superseded_by(tier: int, tiers: Collection[int]) -> list[int]:
    """The tiers of started interviews and pending proposals that starting one at ``tier``
    supersedes: every lower one."""
    return sorted({t for t in tiers if t < tier})
