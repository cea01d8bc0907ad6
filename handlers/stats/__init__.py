"""Statistics per department: the figures (``figures``) and 统计 (``commands``)."""
