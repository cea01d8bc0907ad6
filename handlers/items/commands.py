"""The @件 family's router: the office's and the departments' commands, 列表, 重发 and 发送失败
(待办 and 查看 N are the dispatcher's, shared with the 督办事项 families)."""

from __future__ import annotations

from handlers.commands import Registry
from handlers.items import delivery, department, office, views

router = Registry()
router.include(office.router)
router.include(department.router)
router.include(views.router)
router.include(delivery.router)
