"""The 双月例会 (document 三(三)): its date, the agenda draft of what lags behind, the minutes
and the decisions that become 督办事项."""
