"""调查复核 (document 三(五)): 实地核查, 回头看 and 再督查 recorded against a 督办事项."""
