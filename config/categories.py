"""The kinds of 督办事项 (section 一 of the document) and the platforms they are filed on.

Section 一 lists seven scopes; scope (一) has seven kinds of its own, scope (二) two. The ones
marked ★ (*区委区政府重点工作, *实事项目和民心工程, *大调研工作) count in the district's
performance assessment: the 约谈问询 ladder applies to them. A category gives a matter's
defaults (★, platform); each matter may differ. Which categories have a monthly filing node is
configuration (``[filings]`` in the roster), not this table.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

PLATFORMS = ("区网上督查室", "大调研", "街镇直通车", "无")
PLATFORM_ALIASES = {
    "网上督查室": "区网上督查室",
    "督查室": "区网上督查室",
    "大调研平台": "大调研",
    "直通车": "街镇直通车",
    "": "无",
    "-": "无",
    "—": "无",
    "不在平台": "无",
}


@dataclass(frozen=True)
class Category:
    name: str
    scope: str  # 一 .. 七, section 一 of the document
    star: bool
    platform: str
    aliases: tuple[str, ...] = ()


CATEGORIES: tuple[Category, ...] = (
    Category("市委市政府重点工作", "一", False, "区网上督查室", ("市重点工作",)),
    Category("市政府总体目标", "一", False, "区网上督查室"),
    Category("区委区政府重点工作", "一", True, "区网上督查室", ("区委区府重点工作", "区重点工作")),
    Category(
        "历史遗留问题攻坚",
        "一",
        False,
        "区网上督查室",
        ("攻坚", "历史遗留问题“攻坚”行动", "历史遗留问题攻坚行动"),
    ),
    Category("领导批示件", "一", False, "区网上督查室", ("批示件",)),
    Category("领导会议调研件", "一", False, "区网上督查室", ("会议调研件",)),
    Category("舆论监督整改件", "一", False, "区网上督查室", ("舆论监督件",)),
    Category("实事项目", "二", True, "无", ("实事",)),
    Category("民心工程", "二", True, "无", ("民生工程",)),
    Category("局重点工作", "三", False, "无"),
    Category("大调研工作", "四", True, "大调研", ("大调研",)),
    Category("街镇直通车", "五", False, "街镇直通车"),
    Category("上级部门部署的其他重点工作", "六", False, "无", ("上级部署工作",)),
    Category("局主要领导关心的其他重点工作", "七", False, "无", ("局领导关心工作",)),
)

_BY_NAME: dict[str, Category] = {}
for _c in CATEGORIES:
    for _key in (_c.name, *_c.aliases):
        _BY_NAME[unicodedata.normalize("NFKC", _key)] = _c


def category(name: str) -> Category | None:
    """A category by its name or an alias (full-width and half-width alike)."""
    key = unicodedata.normalize("NFKC", name.strip()).replace("*", "").replace("★", "")
    return _BY_NAME.get(key) or _BY_NAME.get(key.replace('"', "“", 1).replace('"', "”", 1))


def platform(name: str) -> str | None:
    key = unicodedata.normalize("NFKC", name.strip())
    if key in PLATFORMS:
        return key
    return PLATFORM_ALIASES.get(key)
