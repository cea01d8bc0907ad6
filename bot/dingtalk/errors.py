"""What a failed send becomes: transient (retry later) or permanent (DINGTALK.md §2.2, §5)."""

from __future__ import annotations

from typing import Final

MAX_ERROR_CHARS: Final = 1000


def clip(text: str) -> str:
    """``text`` cut to what ``last_error`` records."""
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


class SendError(Exception):
    """A message was not delivered; ``str()`` is what ``last_error`` records."""


class TransientSendError(SendError):
    """Worth retrying later: throttling, 5xx, timeouts, connection errors, garbled answers."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Retrying cannot help: a 4xx or a DingTalk error code."""


class WebhookExpired(PermanentSendError):
    """The session webhook expired or is unknown; send to the message's fallback instead."""
