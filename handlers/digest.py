"""Due reminders become one message per chat per sweep, sent in working time only."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from handlers import texts
from handlers.effects import Action, Channel, Outgoing
from handlers.workcal import WorkCalendar

LATE_GRACE = dt.timedelta(minutes=10)


def deliverable(cal: WorkCalendar, fire_at: dt.datetime, now: dt.datetime) -> bool:
    """Messages go out in working time only; a timer at the end of a working period
    (17:00) may still go just after it."""
    if cal.is_working_time(now):
        return True
    return now - fire_at <= LATE_GRACE and cal.between(fire_at, now) == dt.timedelta(0)


def late_grace_passed(planned: dt.datetime, now: dt.datetime) -> bool:
    """A message this late states the time it was planned for."""
    return now - planned > LATE_GRACE


def late_note(cal: WorkCalendar, planned: dt.datetime, now: dt.datetime) -> str:
    """What a reminder sent ``now`` for ``planned`` adds when it is late (the bot was down):
    the time it was planned for; "" when on time."""
    return texts.late_suffix(texts.when(planned, cal.tz)) if late_grace_passed(planned, now) else ""


class Digest:
    """Lines per chat; each chat gets one message per sweep."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.actions: dict[tuple[str, str], dict[Action, None]] = defaultdict(dict)

    def add(
        self,
        channel: str,
        targets: list[str],
        title: str,
        line: str,
        actions: tuple[Action, ...] = (),
    ) -> None:
        """A line for each target; a line a chat already has is not added again. A person's
        message (``oto``) offers the ``actions`` of its lines; a group's says, once, that
        they are in each person's 1:1 chat with the bot (a tap in a group never reaches it)."""
        for target in dict.fromkeys(targets):
            if target:
                lines = self.lines[(channel, target)][title]
                if line not in lines:
                    lines.append(line)
                self.actions[(channel, target)].update(dict.fromkeys(actions))

    def messages(self) -> list[Outgoing]:
        """One message per chat; its lines go along, for the sender's burst digests."""
        out = []
        for (channel, target), by_title in self.lines.items():
            text = "\n".join(texts.digest(title, lines) for title, lines in by_title.items())
            pairs = tuple((title, line) for title, lines in by_title.items() for line in lines)
            kind: Channel = "group" if channel == "group" else "oto"
            actions = tuple(self.actions.get((channel, target), ()))
            if kind == "group":
                text += "\n" + texts.ACTIONS_IN_CHAT if actions else ""
                actions = ()
            out.append(Outgoing(kind, target, text, digest=pairs, actions=actions))
        return out
