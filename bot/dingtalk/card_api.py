"""The interactive-card calls of the real transport (DINGTALK.md §3): create and deliver a card
with callbackType STREAM, and update its variables; httpx with the transport's access token."""

from __future__ import annotations

from typing import Any

import httpx

from bot.dingtalk.cards import CALLBACK_TYPE
from bot.dingtalk.errors import PermanentSendError, TransientSendError, clip
from bot.dingtalk.http import retry_after


class CardApi:
    """Mixed into :class:`bot.dingtalk.client.DingTalkTransport`, which provides these."""

    _http: httpx.AsyncClient
    _endpoint: str
    _robot_code: str
    _token: str | None

    async def _access_token(self) -> str:
        raise NotImplementedError

    async def send_card(
        self,
        template_id: str,
        out_track_id: str,
        space: tuple[str, str],
        params: dict[str, str],
    ) -> None:
        """Create a card from ``template_id`` with callbackType STREAM and deliver it to
        ``space``: ("oto", userId) or ("group", openConversationId)."""
        channel, target = space
        body: dict[str, Any] = {
            "cardTemplateId": template_id,
            "outTrackId": out_track_id,
            "cardData": {"cardParamMap": params},
            "callbackType": CALLBACK_TYPE,
            "imGroupOpenSpaceModel": {"supportForward": True},
            "imRobotOpenSpaceModel": {"supportForward": True},
            "userIdType": 1,
        }
        if channel == "group":
            body["openSpaceId"] = f"dtv1.card//IM_GROUP.{target}"
            body["imGroupOpenDeliverModel"] = {"robotCode": self._robot_code}
        else:
            body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{target}"
            body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT"}
        await self._card_call("POST", "/v1.0/card/instances/createAndDeliver", body)

    async def update_card(self, out_track_id: str, params: dict[str, str]) -> None:
        """Update a card's public variables by key (``PUT /v1.0/card/instances``)."""
        body = {
            "outTrackId": out_track_id,
            "cardData": {"cardParamMap": params},
            "cardUpdateOptions": {"updateCardDataByKey": True},
        }
        await self._card_call("PUT", "/v1.0/card/instances", body)

    async def _card_call(self, method: str, path: str, body: dict[str, Any]) -> None:
        api = path.rsplit("/", 1)[-1]
        for attempt in (1, 2):
            token = await self._access_token()
            try:
                response = await self._http.request(
                    method,
                    self._endpoint + path,
                    json=body,
                    headers={"x-acs-dingtalk-access-token": token},
                )
            except httpx.HTTPError as exc:
                raise TransientSendError(clip(f"card {api}: {exc!r}")) from exc
            status = response.status_code
            if status == 401 and attempt == 1:
                if self._token == token:
                    self._token = None
                continue
            if status == 429 or status >= 500:
                raise TransientSendError(f"card {api}: HTTP {status}", retry_after(response))
            if status >= 400:
                raise PermanentSendError(clip(f"card {api}: HTTP {status} {response.text}"))
            return
