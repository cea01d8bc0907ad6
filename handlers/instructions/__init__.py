"""领导批示件 (attachment 1): 批示件, 签收, 已反馈, 进展 (checked by ``reports``), 闭环."""
