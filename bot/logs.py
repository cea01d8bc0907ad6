"""Log lines an operator can use: what they are about, and no secrets in them.

:func:`log_context` sets fields (``msg=<msgId>``, ``item=<n>``, ``outbox=<id>``) for the lines
logged inside it (a contextvar: it follows the code into tasks it starts, not into threads);
:class:`ContextFilter` puts them on each record as ``%(context)s`` (" msg=… item=…", or "").

:class:`RedactingFilter` blots out, from the message and any traceback: the client secret and
the access tokens the transport holds (literally, as registered), and by their shape any
``access_token=``/``x-acs-dingtalk-access-token``/``accessToken`` value, any stream ``ticket``,
any ``clientSecret`` value, and session-webhook URLs (``…/robot/sendBySession?session=…``).
Both filters go on the handlers (:func:`install`): a handler's filters see every record that
reaches it, the SDK's and libraries' included.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import logging
import re
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["REDACTOR", "ContextFilter", "RedactingFilter", "install", "log_context", "redact"]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"
BLOT = "<redacted>"

_fields: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "log_fields", default=()
)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Fields for the lines logged inside; None values are left out."""
    current = dict(_fields.get())
    current.update({k: str(v) for k, v in fields.items() if v is not None})
    token = _fields.set(tuple(current.items()))
    try:
        yield
    finally:
        _fields.reset(token)


def context_text() -> str:
    return "".join(f" {k}={v}" for k, v in _fields.get())


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "context"):
            record.context = context_text()
        return True


_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:https?|wss?)://[^\s'\"<>]*/robot/sendBySession\?[^\s'\"<>]*"), BLOT),
    # a URL cut short (SQLAlchemy's "... (80 characters truncated) ..."): its query still
    (re.compile(r"([?&]session=)[^\s&'\"<>]+"), r"\1" + BLOT),
    (re.compile(r"(sessionWebhook['\"]?\s*[:=]\s*['\"]?)[^\s'\",}<>]+"), r"\1" + BLOT),
    (re.compile(r"(access_token=)[^\s&'\"<>]+", re.I), r"\1" + BLOT),
    (re.compile(r"(ticket=)[^\s&'\"<>]+", re.I), r"\1" + BLOT),
    (
        re.compile(
            r"((?:x[-_]acs[-_]dingtalk[-_]access[-_]token|access_?token|accessToken|ticket"
            r"|client_?secret|clientSecret|app_?secret)['\"]?\s*[:=]\s*(?:b?['\"])?)"
            r"[^\s'\",}<>]+",
            re.I,
        ),
        r"\1" + BLOT,
    ),
)


# every shape above holds one of these (lower case)
_TRIGGERS = ("session=", "sessionwebhook", "token", "ticket", "secret")


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) with the secrets blotted out."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._sources: list[Callable[[], Callable[[], str | None] | None]] = []

    def add_secret(self, secret: str) -> None:
        if len(secret) >= 6:  # a shorter one would blot out ordinary words
            self._secrets.add(secret)

    def add_source(self, source: Callable[[], str | None]) -> None:
        """A callable giving a secret that changes (the transport's current access token);
        a bound method is held weakly (a sandbox's transport goes with it)."""
        if inspect.ismethod(source):
            self._sources.append(weakref.WeakMethod(source))
        else:
            self._sources.append(lambda: source)

    def redact(self, text: str) -> str:
        lowered = text.lower()
        if any(word in lowered for word in _TRIGGERS):  # most lines: none, no regex run
            for pattern, replacement in _SHAPES:
                text = pattern.sub(replacement, text)
        current = set(self._secrets)
        for ref in list(self._sources):
            source = ref()
            if source is None:
                with contextlib.suppress(ValueError):  # another thread was first
                    self._sources.remove(ref)
                continue
            try:
                value = source()
            except Exception:  # a log line never fails for this
                value = None
            if value and len(value) >= 6:
                current.add(value)
        for secret in sorted(current, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, BLOT)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: keep what there is
            message = str(record.msg)
        record.msg, record.args = self.redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTOR = RedactingFilter()  # the process's: main and the sandbox register their secrets
_CONTEXT = ContextFilter()


def redact(text: str) -> str:
    return REDACTOR.redact(text)


def install(handler: logging.Handler | None = None) -> None:
    """Put the context and redacting filters on ``handler``, or on every root handler."""
    handlers = [handler] if handler is not None else logging.getLogger().handlers
    for h in handlers:
        if _CONTEXT not in h.filters:
            h.addFilter(_CONTEXT)
        if REDACTOR not in h.filters:
            h.addFilter(REDACTOR)
