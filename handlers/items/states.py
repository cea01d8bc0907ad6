"""The states of an @件 and the moves between them.

States are stored as their plain string values (``Item.state``); each command names its move
in ``TRANSITIONS`` and may take an item only from the move's sources to one of its targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ItemState(StrEnum):
    NEW = "new"  # 待甄别
    ASSIGNED = "assigned"  # 待认领
    CLAIMED = "claimed"  # 办理中
    REVIEW = "review"  # 待审核
    HARD = "hard"  # 疑难件
    ANSWERED = "answered"
    REJECTED = "rejected"
    OFFLINE = "offline"  # 疑难件, answered outside the chat


OPEN = (
    ItemState.NEW,
    ItemState.ASSIGNED,
    ItemState.CLAIMED,
    ItemState.REVIEW,
    ItemState.HARD,
)
CLOSED = (ItemState.ANSWERED, ItemState.REJECTED, ItemState.OFFLINE)


@dataclass(frozen=True)
class Transition:
    sources: frozenset[ItemState]
    targets: frozenset[ItemState]


def _move(sources: set[ItemState], targets: set[ItemState]) -> Transition:
    return Transition(frozenset(sources), frozenset(targets))


S = ItemState
TRANSITIONS: dict[str, Transition] = {
    "assign": _move({S.NEW}, {S.ASSIGNED}),  # 分派
    "reject": _move({S.NEW, S.ASSIGNED}, {S.REJECTED}),  # 退回
    "reassign": _move({S.ASSIGNED, S.CLAIMED, S.REVIEW}, {S.ASSIGNED}),  # 改派
    "claim": _move({S.ASSIGNED}, {S.CLAIMED}),  # 认领
    "draft": _move({S.CLAIMED, S.HARD}, {S.REVIEW}),  # 答复
    "approve": _move({S.REVIEW}, {S.ANSWERED}),  # 同意
    "send_back": _move({S.REVIEW}, {S.CLAIMED, S.HARD}),  # 退改 (back to where it was)
    "pass_up": _move({S.REVIEW}, {S.REVIEW}),  # 报分管, 集体研判
    "mark_hard": _move({S.CLAIMED, S.REVIEW}, {S.HARD}),  # 疑难
    "offline": _move({S.HARD}, {S.OFFLINE}),  # 已线下答复
}


def can(state: str, action: str) -> bool:
    """Whether an item in ``state`` may take the move ``action``."""
    return state in TRANSITIONS[action].sources


def move(state: str, action: str, target: ItemState) -> str:
    """The state after ``action`` (the value to store); a move the table does not allow is a
    programming error."""
    transition = TRANSITIONS[action]
    if state not in transition.sources or target not in transition.targets:
        raise ValueError(f"item state {state!r} cannot take {action!r} to {target.value!r}")
    return target.value
