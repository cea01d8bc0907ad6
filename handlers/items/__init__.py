"""街镇直通车 @件 (attachment 3): intake, triage, claim, reply review, hard cases, views and the
delivery of answers to the town. The router is ``handlers.items.commands.router``."""
