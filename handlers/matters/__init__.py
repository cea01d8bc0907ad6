"""The registry of 督办事项 (新增/修改/办结事项, 事项列表, 查看 督N) and what every 督办事项 family
shares (``base``). The router is ``handlers.matters.commands.router``."""
