"""Monthly filings of 督办事项 and the other deadline rows (``Filing``, the record; their
reminders are ``Deadline`` rows): the schedule rules (``schedule``), the rows (``rows``),
已填报 (``commands``) and the sweeper's part (``sweep``)."""
