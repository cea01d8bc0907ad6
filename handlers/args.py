"""The typed arguments commands declare (handlers.commands.Arg).

Each converter reads its argument's shape from the text (a missing or malformed one gives the
command's usage line) and resolves it against the roster or the database after the role gate,
with the same replies as everywhere (handlers.texts). The registry's fields are checked by the
functions the Excel import uses too (handlers.matters.fields).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from config import categories
from config.categories import Category
from config.roster import Department, Town
from handlers import texts
from handlers.commands import Arg, Malformed, MatterRef, Resolved, Rest
from handlers.context import CommandError, Ctx
from handlers.filings import schedule
from handlers.items.common import item_for
from handlers.items.states import OPEN, ItemState
from handlers.matters.base import (
    INSTRUCTION,
    ensure_open,
    find_matter,
    label,
    month_of,
    require_dept,
)
from handlers.matters.fields import (
    parse_date,
    to_category,
    to_department,
    to_owner,
    to_person,
    unique_name,
)
from storage.models import Item, Matter, Task

V = TypeVar("V")


# --- converters -----------------------------------------------------------------------------


class WordArg(Arg[str]):
    """One word, as written (normalized); "" when an optional one is absent."""

    def __init__(self, name: str, label: str, optional: bool = False) -> None:
        super().__init__(name, label, optional)


class TextArg(Arg[str]):
    """Free text to the end, kept exactly as written (only trimmed)."""

    def __init__(self, name: str = "text", label: str = "内容", optional: bool = False) -> None:
        super().__init__(name, label, optional)

    def take(self, rest: Rest) -> str:
        text = rest.original()
        if not text and not self.optional:
            raise Malformed
        return text

    def sample(self) -> str:
        return "" if self.optional else "说明文字"


class ChoiceArg(Arg[V | None]):
    """One of a few words (``choices``: word -> value); None when an optional one is absent.
    A word not among them gives the usage line: when the text is parsed (``strict``), or in
    its turn after the role gate and the arguments before it."""

    def __init__(
        self,
        name: str,
        choices: Mapping[str, V],
        label: str | None = None,
        optional: bool = False,
        strict: bool = False,
    ) -> None:
        super().__init__(name, label or "/".join(choices), optional)
        self.choices, self.strict = choices, strict

    def take(self, rest: Rest) -> str:
        word = super().take(rest)
        if self.strict and word and word not in self.choices:
            raise Malformed
        return str(word)

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> V | None:
        if not raw and self.optional:
            return None
        if raw not in self.choices:
            raise Malformed
        return self.choices[raw]

    def sample(self) -> str:
        return next(iter(self.choices))


_ITEM = re.compile(r"#?\s*(\d{1,9})(?!\d)")


class ItemArg(Arg[Item]):
    """An @件 by number (#12, 12, １２); with ``action``, one whose state allows that move
    (handlers.items.states), and passing ``check`` (which raises CommandError)."""

    def __init__(
        self,
        action: str | None = None,
        check: Callable[[Item, str], None] | None = None,
        name: str = "item",
        label: str = "编号",
    ) -> None:
        super().__init__(name, label)
        self.action, self.check = action, check

    def take(self, rest: Rest) -> int:
        match = rest.match(_ITEM)
        if not match:
            raise Malformed
        return int(match.group(1))

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> Item:
        item = item_for(ctx, raw, got.command, self.action)
        if self.check is not None:
            self.check(item, got.command)
        return item

    def sample(self) -> str:
        return "12"


class MatterArg(Arg[Matter]):
    """A 督办事项: 督3, #3, 3 or (a unique part of) its name. ``instruction``: an open
    领导批示件 (True) or anything but one (False); ``department``: one of the actor's
    departments (their clerk or head)."""

    def __init__(
        self,
        instruction: bool | None = None,
        department: bool = False,
        name: str = "matter",
        label: str = "事项",
    ) -> None:
        super().__init__(name, label)
        self.instruction, self.department = instruction, department

    def take(self, rest: Rest) -> MatterRef:
        return MatterRef(str(super().take(rest)))

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> Matter:
        matter = find_matter(ctx, raw.ref)
        if self.instruction:
            if matter.category != INSTRUCTION:
                raise CommandError(texts.not_instruction(label(matter)))
            ensure_open(ctx, matter)
        if self.department:
            require_dept(ctx, matter)
        if self.instruction is False and matter.category == INSTRUCTION:
            # its monthly tracking report has a template to check: 进展
            raise CommandError(texts.instruction_files_by_report(label(matter)))
        return matter

    def sample(self) -> str:
        return "督1"


class TaskRef(str):
    """A task of the year's task book as written: 任3."""


class ViewArg(Arg[Item | Matter | Task]):
    """What 查看 shows: 督3 a 督办事项, 任3 a task of the task book, 3 or #3 an @件."""

    def __init__(self, name: str = "target", label: str = "编号") -> None:
        super().__init__(name, label)

    def take(self, rest: Rest) -> int | MatterRef | TaskRef:
        if rest.text.startswith("任"):
            return TaskRef(rest.word())
        if rest.text.startswith("督"):
            return MatterArg().take(rest)
        return ItemArg().take(rest)

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> Item | Matter | Task:
        if isinstance(raw, TaskRef):
            number = raw.removeprefix("任").strip()
            task = ctx.session.get(Task, int(number)) if number.isdigit() else None
            if task is None:
                raise CommandError(texts.task_not_found(raw))
            return task
        if isinstance(raw, MatterRef):
            return find_matter(ctx, raw.ref)
        return item_for(ctx, raw, got.command)

    def sample(self) -> str:
        return "督1"


class ReviewArg(Arg[Item | Matter]):
    """What 同意 and 退改 answer: 督3 a 督办事项's submission waiting for its 分管局领导, 12 or
    #12 an @件's draft (in a state that allows ``action``)."""

    def __init__(self, action: str, name: str = "target", label: str = "编号/督N") -> None:
        super().__init__(name, label)
        self.action = action

    def take(self, rest: Rest) -> int | MatterRef:
        if rest.text.startswith("督"):
            return MatterArg().take(rest)
        return ItemArg().take(rest)

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> Item | Matter:
        if isinstance(raw, MatterRef):
            return find_matter(ctx, raw.ref)
        return ItemArg(self.action).resolve(ctx, raw, got)

    def sample(self) -> str:
        return "12"


class DeptArg(Arg[Department]):
    """A department by its name or an alias."""

    def __init__(self, name: str = "dept", label: str = "处室") -> None:
        super().__init__(name, label)

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> Department:
        return to_department(ctx.roster, raw)

    def sample(self) -> str:
        return "大气处"


class TownArg(Arg[Town]):
    def __init__(self, name: str = "town", label: str = "街镇") -> None:
        super().__init__(name, label)

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> Town:
        town = ctx.roster.town(raw)
        if town is None:
            known = [t.name for t in ctx.roster.data.towns]
            raise CommandError(texts.unknown_town(raw, known))
        return town

    def sample(self) -> str:
        return "川沙新镇"


class PersonArg(Arg[str]):
    """A person by roster name or userId, as the userId; ``owner_of``: the argument naming
    the department whose matter the person is to own (handlers.args.to_owner)."""

    def __init__(self, name: str, label: str, owner_of: str | None = None) -> None:
        super().__init__(name, label)
        self.owner_of = owner_of

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> str:
        if self.owner_of is None:
            return to_person(ctx.roster, raw)
        dept = got[self.owner_of]
        assert isinstance(dept, Department)
        return to_owner(ctx.roster, raw, dept.name)

    def sample(self) -> str:
        return "u-air-clerk"


class CategoryArg(Arg[Category]):
    """A 督办事项 category (section 一's kinds) by its name or an alias."""

    def __init__(self, name: str = "category", label: str = "类别") -> None:
        super().__init__(name, label)

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> Category:
        return to_category(raw)

    def sample(self) -> str:
        return "局重点工作"


class MonthArg(Arg[str | None]):
    """A month (11月, 2026-11, 2026年11月, 本月, 上月) as a period "YYYY-MM"; when absent, the
    current month, or None (``current=False``)."""

    def __init__(self, current: bool = True, name: str = "month", label: str = "月份") -> None:
        super().__init__(name, label, optional=True)
        self.current = current

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> str | None:
        if not raw and not self.current:
            return None
        return month_of(ctx, raw)

    def sample(self) -> str:
        return "11月"


class NoticeDueArg(Arg[dt.date]):
    """A 批示件 notice's feedback deadline: a date to come, within three years, whose
    feedback (a working day before it) can still be made."""

    def __init__(self, name: str = "notice_due", label: str = "反馈期限如2026-12-10") -> None:
        super().__init__(name, label)

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> dt.date:
        due = parse_date(raw)
        if due is None:
            raise CommandError(texts.bad_date(raw))
        today = ctx.now.astimezone(ctx.cal.tz).date()
        if due < today:
            raise CommandError(texts.date_in_past(raw))
        if due > today + dt.timedelta(days=3 * 366):
            raise CommandError(texts.date_too_far(raw))
        feedback_due = schedule.instruction_feedback_due(ctx.cal, ctx.roster.filings, due)
        if feedback_due <= ctx.now:
            raise CommandError(texts.feedback_already_due(raw, ctx.when(feedback_due)))
        return due

    def sample(self) -> str:
        return "2026-12-10"


class NameArg(TextArg):
    """A new 督办事项's name: the rest of the text, not too long, no other matter's."""

    def __init__(self, name: str = "name", label: str = "名称") -> None:
        super().__init__(name, label)

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> str:
        name = str(raw).strip()
        unique_name(ctx, name, None)
        return name


class StateArg(Arg[ItemState | None]):
    """An open @件 state by its label (列表); None when absent."""

    def __init__(self, name: str = "state") -> None:
        super().__init__(name, "/".join(texts.STATE_LABELS[s] for s in OPEN), optional=True)

    def take(self, rest: Rest) -> str:
        return rest.all()

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> ItemState | None:
        if not raw:
            return None
        wanted = next((s for s in OPEN if raw in (s, texts.STATE_LABELS[s])), None)
        if wanted is None:
            raise Malformed
        return wanted

    def sample(self) -> str:
        return texts.STATE_LABELS[OPEN[0]]


class MatterFilterArg(Arg[Department | Category | str | None]):
    """Which matters 事项列表 shows: a department, a category, or 已办结 ("closed")."""

    def __init__(self, name: str = "only") -> None:
        super().__init__(name, "处室/类别/已办结", optional=True)

    def resolve(self, ctx: Ctx, raw: Any, got: Resolved) -> Department | Category | str | None:
        if not raw:
            return None
        if raw in ("已办结", "办结"):
            return "closed"
        found = ctx.roster.department(raw) or categories.category(raw)
        if found is None:
            raise Malformed
        return found

    def sample(self) -> str:
        return "已办结"


_TIER = re.compile(r"(?:第([一二三])层级(?:约谈问询|约谈)?|([一二三])级)(?= |$)")


class TierArg(Arg[int | None]):
    """A 约谈问询 tier (一级, 第二层级, 第三层级约谈问询); optional, so taken only when the next
    word is one (a decline's reason may follow directly); None when absent."""

    def __init__(self, name: str = "tier", label: str = "层级") -> None:
        super().__init__(name, label, optional=True)

    def take(self, rest: Rest) -> int | None:
        match = rest.match(_TIER)
        if not match:
            return None
        return "一二三".index(match.group(1) or match.group(2)) + 1

    def sample(self) -> str:
        return "一级"
