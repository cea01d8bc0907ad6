"""The registry's fields: the checks of a value for each (shared by the chat commands'
converters, handlers.args, and the Excel import, bot.registry_xlsx), and making or changing a
matter with its record.

The ``to_*`` checks raise :class:`BadValue`, which carries the chat reply and the short text
the import writes after ``第3行「责任处室」：``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import categories
from config.categories import Category
from config.roster import Department, Roster, normalize_name
from handlers import texts
from handlers.context import CommandError, Ctx
from handlers.matters.base import NAME_LIMIT, label, log
from handlers.matters.states import MatterStatus
from storage.models import Matter


class BadValue(CommandError):
    """A value that is not what its field needs: ``text`` for the chat, ``cell`` for a
    registry sheet's cell."""

    def __init__(self, text: str, cell: str) -> None:
        super().__init__(text)
        self.cell = cell


# --- the registry's fields ----------------------------------------------------------------

STAR_YES = {"★", "☆", "*", "是", "√", "✓", "y", "yes", "true", "1", "纳入"}
STAR_NO = {"否", "无", "×", "✗", "x", "n", "no", "false", "0", "不纳入"}
STATUS_WORDS = {
    "进行中": MatterStatus.OPEN.value,
    "在办": MatterStatus.OPEN.value,
    "办理中": MatterStatus.OPEN.value,
    "未办结": MatterStatus.OPEN.value,
    "已办结": MatterStatus.CLOSED.value,
    "办结": MatterStatus.CLOSED.value,
    "已完成": MatterStatus.CLOSED.value,
    "完成": MatterStatus.CLOSED.value,
}
_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_DATE_DIGITS = re.compile(r"(\d{4})(\d{2})(\d{2})")


def to_name(name: str) -> str:
    if len(name) > NAME_LIMIT:
        raise BadValue(texts.name_too_long(len(name), NAME_LIMIT), texts.cell_too_long(NAME_LIMIT))
    return name


def unique_name(ctx: Ctx, name: str, number: int | None) -> None:
    """A matter's name: not too long, and no other matter's (than ``number``)."""
    to_name(name)
    clash = ctx.session.scalars(
        select(Matter).where(Matter.name == name, Matter.id != (number or 0))
    ).first()
    if clash is not None:
        raise CommandError(texts.duplicate_matter(name, label(clash)))


def to_category(word: str) -> Category:
    found = categories.category(word)
    if found is None:
        known = [c.name for c in categories.CATEGORIES]
        raise BadValue(texts.unknown_category(word, known), texts.cell_unknown_category(word))
    return found


def to_platform(word: str) -> str:
    found = categories.platform(word)
    if found is None:
        known = list(categories.PLATFORMS)
        raise BadValue(texts.unknown_platform(word, known), texts.cell_unknown_platform(word))
    return found


def to_department(roster: Roster, word: str) -> Department:
    dept = roster.department(word)
    if dept is None:
        known = [d.name for d in roster.data.departments]
        raise BadValue(texts.unknown_department(word, known), texts.cell_not_in_roster(word))
    return dept


def to_person(roster: Roster, word: str, current: str | None = None) -> str:
    """A userId from a userId or a roster name (``current``, the value kept, always does)."""
    if word in roster.people or (current is not None and word == current):
        return word
    key = normalize_name(word)
    ids = [p.id for p in roster.people.values() if normalize_name(p.name) == key]
    if len(ids) == 1:
        return ids[0]
    cell = texts.cell_same_name(len(ids), word) if ids else texts.cell_not_in_roster(word)
    raise BadValue(texts.unknown_person(word), cell)


def to_owner(roster: Roster, word: str, dept: str | None, current: str | None = None) -> str:
    """The 具体负责人: a person of the department ``dept``, or of none (never of another one);
    ``current``, the owner kept, is not checked again."""
    user = to_person(roster, word, current)
    theirs = roster.owner_elsewhere(user, dept) if dept else []
    if theirs and dept and user != current:
        text = texts.owner_elsewhere(roster.name(user), theirs, dept)
        raise BadValue(text, texts.cell_owner_elsewhere(word, theirs, dept))
    return user


def to_star(word: str, field: str = "绩效考核") -> bool:
    key = unicodedata.normalize("NFKC", word).lower()
    if key in STAR_YES or word in STAR_YES:
        return True
    if key in STAR_NO or word in STAR_NO:
        return False
    raise BadValue(texts.yes_no(field), texts.cell_bad_star(word))


def to_status(word: str) -> str:
    status = STATUS_WORDS.get(unicodedata.normalize("NFKC", word))
    if status is None:
        raise BadValue(texts.cell_bad_status(word), texts.cell_bad_status(word))
    return status


_PLAN_YEAR = re.compile(r"([0-9]{4})(?:年度?)?")


def to_plan_year(word: str, latest: int) -> int:
    """A 实事项目's 年度: 2027, 2027年 or 2027年度, from 2000 to ``latest`` (next year)."""
    match = _PLAN_YEAR.fullmatch(unicodedata.normalize("NFKC", word).strip())
    if match is None or not 2000 <= int(match[1]) <= latest:
        raise BadValue(texts.bad_plan_year(word, latest), texts.cell_bad_plan_year(word, latest))
    return int(match[1])


def to_date(value: object, shown: str | None = None) -> dt.date:
    """A date written 2026-12-10, 2026/12/10, 2026.12.10, 2026年12月10日 or 20261210 (or a
    date already)."""
    shown = str(value) if shown is None else shown
    found = parse_date(value)
    if found is None:
        raise BadValue(texts.bad_date(shown), texts.cell_bad_date(shown))
    return found


def parse_date(value: object) -> dt.date | None:
    """A date, or None when the value is not one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _DATE_TEXT.fullmatch(text) or _DATE_DIGITS.fullmatch(text)
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


# --- making and changing a matter ------------------------------------------------------------


def create_matter(
    session: Session, now: dt.datetime, actor: str, detail: str, **fields: Any
) -> Matter:
    """A new matter with ``fields``, numbered, its creation on its record (``detail``); the
    caller makes its deadline rows."""
    closed = fields.get("status") == MatterStatus.CLOSED
    matter = Matter(**fields, created_at=now, closed_at=now if closed else None)
    session.add(matter)
    session.flush()  # assigns the number
    log(session, matter, now, actor, "created", detail)
    return matter


def change(
    session: Session,
    matter: Matter,
    now: dt.datetime,
    actor: str,
    field: str,
    value: object,
    detail: str,
) -> None:
    """One field of a matter changed, on its record (``detail``: 名称：旧 → 新); a change of
    status closes or reopens it."""
    action = "edited"
    if field == "status":
        action = "closed" if value == MatterStatus.CLOSED else "reopened"
        matter.closed_at = now if value == MatterStatus.CLOSED else None
    setattr(matter, field, value)
    log(session, matter, now, actor, action, detail)
