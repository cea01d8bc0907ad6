"""The year's task book (document 三(一), 任务分解制度): tasks, 时间节点, plan against progress."""
