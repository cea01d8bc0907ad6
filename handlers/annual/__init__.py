"""实事项目's year (attachment 2): the October reminder to declare next year's projects
(``declare``), a matter's 年度 (``year``), and plan changes with their three steps (the
department's request, the 区政府分管领导's consent, the office's filing with 重大办:
``commands``, shown by ``view``). The half-year and year progress reports are deadline rows
of the filings family (handlers.filings)."""
