"""The office's reports (document 三(三), 三(四)): the quarterly 督查情况报告 and the half-year
and year reports for the 局长办公会, as a Word document, an Excel workbook with charts and a
short markdown summary, built from the figures of handlers.stats (the same as 统计)."""
