"""The year-end 考核评议 per department (issue 13 items 3 and 4)."""
