"""Our own errors for the Tea SDK's (the alibabacloud-dingtalk clients; DINGTALK.md §5.5)."""

from __future__ import annotations

from typing import Final

from Tea.exceptions import TeaException

from bot.dingtalk.errors import PermanentSendError, SendError, TransientSendError, clip

QPS_RETRY_AFTER: Final = 1.0  # DingTalk's advice for QPS throttling: wait 1 s and retry


def tea_status(exc: TeaException) -> int | None:
    """The HTTP status of a Tea error; None when no HTTP answer was read (§5.5)."""
    status = getattr(exc, "statusCode", None)
    if status is None and isinstance(exc.data, dict):
        status = exc.data.get("statusCode")
    try:
        return None if status is None else int(status)
    except (TypeError, ValueError):
        return None


def is_auth_error(exc: TeaException) -> bool:
    return tea_status(exc) == 401 or exc.code == "InvalidAuthentication"


def from_tea(api: str, exc: TeaException) -> SendError:
    """Our own error for a Tea SDK error."""
    status = tea_status(exc)
    code = str(exc.code or "")
    if status is None:  # connection refused, timeout, or an answer that is not JSON
        inner = getattr(exc, "inner_exception", None)
        reason = getattr(inner, "message", None) or (repr(inner) if inner else exc.message)
        return TransientSendError(clip(f"{api}: {reason or exc!r}"))
    detail = clip(f"{api}: HTTP {status} {code}: {exc.message}")
    if status == 429 or (status == 403 and code.startswith("Forbidden.AccessDenied.QpsLimit")):
        return TransientSendError(detail, retry_after=QPS_RETRY_AFTER)
    if status >= 500:
        return TransientSendError(detail)
    return PermanentSendError(detail)
