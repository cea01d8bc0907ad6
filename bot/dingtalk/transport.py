"""What the sender needs from DingTalk: the ``Transport`` protocol and its result types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Literal, Protocol

from bot.dingtalk.errors import PermanentSendError, TransientSendError

# A webhook this close to its expiry is treated as expired: the request itself takes time.
SESSION_MARGIN: Final = timedelta(seconds=30)


@dataclass(frozen=True)
class OtoResult:
    """Users a BatchSendOTO call did NOT deliver to (everyone else got the message)."""

    flow_controlled: tuple[str, ...] = ()  # throttled: retry them
    invalid: tuple[str, ...] = ()  # unknown users: permanent
    filtered: tuple[str, ...] = ()  # dropped by DingTalk: permanent

    def check(self, user_id: str) -> None:
        """Raise the SendError for ``user_id`` when the call did not deliver to them."""
        if user_id in self.invalid:
            raise PermanentSendError(f"BatchSendOTO: invalid userId {user_id}")
        if user_id in self.filtered:
            raise PermanentSendError(f"BatchSendOTO: userId {user_id} was filtered")
        if user_id in self.flow_controlled:
            raise TransientSendError(f"BatchSendOTO: userId {user_id} was flow-controlled")


class Transport(Protocol):
    """What the sender needs from DingTalk; every failure is a :class:`SendError`."""

    async def send_session(
        self,
        webhook: str,
        text: str,
        *,
        title: str | None = None,
        at_user_ids: Sequence[str] = (),
        expires_at: datetime | None = None,
    ) -> None: ...

    async def send_group(
        self, open_conversation_id: str, text: str, *, title: str | None = None
    ) -> None: ...

    async def send_oto(
        self, user_ids: Sequence[str], text: str, *, title: str | None = None
    ) -> OtoResult: ...

    async def send_group_media(self, open_conversation_id: str, media: Media) -> None: ...

    async def send_oto_media(self, user_ids: Sequence[str], media: Media) -> OtoResult: ...

    async def download_message_file(self, download_code: str) -> bytes: ...

    async def send_card(
        self,
        template_id: str,
        out_track_id: str,
        space: tuple[str, str],
        params: dict[str, str],
    ) -> None: ...

    async def update_card(self, out_track_id: str, params: dict[str, str]) -> None: ...


@dataclass(frozen=True)
class Media:
    """A picture or file to send: ``content``, or the bytes at ``path``, shown as ``name``."""

    kind: Literal["picture", "file"]
    path: Path | None
    name: str
    content: bytes | None = None
