"""Monthly filings of 督办事项 and the other deadline rows (``Filing``): the schedule rules
(``schedule``), the rows (``rows``), 已填报 (``commands``) and the sweeper's part (``sweep``)."""
