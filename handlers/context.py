"""What a handler runs with: the caller's session, the roster, the calendar, the clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.orm import Session

from config.roster import Roles, Roster
from handlers import texts
from handlers.effects import Outgoing
from handlers.workcal import WorkCalendar


class CommandError(Exception):
    """A user's mistake or a refusal: shown as is, and nothing the command did is kept."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(text)


@dataclass
class Ctx:
    session: Session
    roster: Roster
    cal: WorkCalendar
    now: dt.datetime
    actor: str = ""
    msg_id: str | None = None
    chat: str | None = None  # the 1:1 chat the command came from (its next message may follow)
    out: list[Outgoing] = field(default_factory=list)

    @cached_property
    def roles(self) -> Roles:
        return self.roster.roles_of(self.actor)

    def when(self, moment: dt.datetime | None, provisional: bool = False) -> str:
        return texts.when(moment, self.cal.tz, provisional) if moment else "—"

    def late(self, due: dt.datetime | None) -> str:
        """'已超时 2小时' when ``due`` has passed (in working time), else ''."""
        if due is None or self.now <= due:
            return ""
        minutes = int(self.cal.between(due, self.now).total_seconds() // 60)
        return texts.overdue(minutes, int(self.cal.day_us // 60_000_000))

    def deadline(self, due: dt.datetime | None, provisional: bool = False) -> str:
        """The deadline, and how far past it when it has passed."""
        late = self.late(due)
        return self.when(due, provisional) + (f"，{late}" if late else "")

    def send(self, message: Outgoing) -> None:
        self.out.append(message)
