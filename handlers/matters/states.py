"""The states of a 督办事项 and of a 约谈问询, and the moves between them.

Stored as their plain string values (``Matter.status``, ``Interview.state``).
"""

from __future__ import annotations

from enum import StrEnum


class MatterStatus(StrEnum):
    OPEN = "open"  # 进行中: filings owed, lights recorded
    CLOSED = "closed"  # 已办结 (an import may open it again)


class InterviewState(StrEnum):
    PROPOSED = "proposed"  # 待决定: the ladder proposed it; the office starts or declines it
    DECLINED = "declined"  # 不约谈: the office declined it, with its reason
    OPEN = "open"  # 待约谈: started (by the office, or by the ladder in the "auto" setting)
    HELD = "held"  # 已约谈: the office recorded 约谈完成
    SUPERSEDED = "superseded"  # 已升级: a higher tier opened while it was open
    ABSORBED = "absorbed"  # 并入: fired with a higher tier at once; recorded, never told


# A proposal is decided once; an interview moves only out of OPEN, and only once. A proposal
# joins the one started at its tier (absorbed) or is superseded by a higher one started.
INTERVIEW_MOVES: dict[InterviewState, frozenset[InterviewState]] = {
    InterviewState.PROPOSED: frozenset(
        {
            InterviewState.OPEN,
            InterviewState.DECLINED,
            InterviewState.SUPERSEDED,
            InterviewState.ABSORBED,
        }
    ),
    InterviewState.DECLINED: frozenset(),
    InterviewState.OPEN: frozenset({InterviewState.HELD, InterviewState.SUPERSEDED}),
    InterviewState.HELD: frozenset(),
    InterviewState.SUPERSEDED: frozenset(),
    InterviewState.ABSORBED: frozenset(),
}


def close_interview(state: str, target: InterviewState) -> str:
    """The state after closing an interview (the value to store); a move the table does not
    allow is a programming error."""
    if target not in INTERVIEW_MOVES[InterviewState(state)]:
        raise ValueError(f"interview state {state!r} cannot move to {target.value!r}")
    return target.value
