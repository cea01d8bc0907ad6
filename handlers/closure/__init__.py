"""Closing a 督办事项 with what the document asks for: a 攻坚 matter's 销项 report and its two
files (attachment 4), and a 批示件's 专报 (attachment 1, 形成专报)."""
