"""The 督办事项 and 约谈问询 states: the stored strings, and an interview closes only once."""

from __future__ import annotations

import pytest

from handlers import texts
from handlers.matters.states import InterviewState, MatterStatus, close_interview


def test_the_stored_values_and_their_labels() -> None:
    assert [s.value for s in MatterStatus] == ["open", "closed"]
    assert set(texts.MATTER_STATUS) == {s.value for s in MatterStatus}
    assert set(texts.INTERVIEW_STATES) == {s.value for s in InterviewState}


@pytest.mark.parametrize("target", [InterviewState.HELD, InterviewState.SUPERSEDED])
def test_an_open_interview_closes_once(target: InterviewState) -> None:
    closed = close_interview("open", target)
    assert closed == target.value
    for again in (InterviewState.HELD, InterviewState.SUPERSEDED, InterviewState.OPEN):
        with pytest.raises(ValueError, match="cannot move"):
            close_interview(closed, again)


def test_an_absorbed_condition_never_opens() -> None:
    with pytest.raises(ValueError, match="cannot move"):
        close_interview("absorbed", InterviewState.HELD)


@pytest.mark.parametrize(
    "target",
    [
        InterviewState.OPEN,
        InterviewState.DECLINED,
        InterviewState.SUPERSEDED,
        InterviewState.ABSORBED,
    ],
)
def test_a_proposal_is_decided_once(target: InterviewState) -> None:
    """ "酌情启动约谈问询": a proposal is started, declined, superseded or joins the one
    started at its tier, once; a declined one never opens."""
    decided = close_interview("proposed", target)
    assert decided == target.value
    with pytest.raises(ValueError, match="cannot move"):
        close_interview(decided, InterviewState.PROPOSED)
    if target == InterviewState.DECLINED:
        with pytest.raises(ValueError, match="cannot move"):
            close_interview(decided, InterviewState.OPEN)
