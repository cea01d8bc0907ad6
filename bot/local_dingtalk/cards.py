"""Interactive cards: create, deliver (or both at once), update, and the button callback over
the stream gateway, whose ACK carries the card's update (DINGTALK.md §3, §10).

A card instance is kept by its outTrackId with its current public data, each user's private
data and the spaces it was delivered to (``dtv1.card//IM_GROUP.<cid>`` or
``dtv1.card//IM_ROBOT.<userId>``). What a user sees is the public data overlaid with theirs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web

from bot.local_dingtalk.common import Json, error, json_body

if TYPE_CHECKING:
    from bot.local_dingtalk.server import LocalDingTalk

CARD_CALLBACK_TOPIC = "/v1.0/card/instances/callback"
SPACE_PREFIX = "dtv1.card//"
SpaceType = Literal["IM_GROUP", "IM_ROBOT"]


@dataclass
class CardInstance:
    """One card instance and what it holds now."""

    out_track_id: str
    template_id: str
    callback_type: str  # STREAM | HTTP
    data: dict[str, str]
    private: dict[str, dict[str, str]] = field(default_factory=dict)  # userId -> params
    spaces: list[tuple[SpaceType, str]] = field(default_factory=list)  # delivered to
    updates: int = 0  # PUTs and ACK updates applied

    def view(self, user_id: str | None = None) -> dict[str, str]:
        """The card's variables as ``user_id`` sees them."""
        return {**self.data, **self.private.get(user_id or "", {})}


def _param_map(holder: Any) -> dict[str, str] | None:
    """``{"cardParamMap": {...}}``'s map when every value is a string; else None."""
    if not isinstance(holder, dict):
        return None
    params = holder.get("cardParamMap", {})
    if not isinstance(params, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        return None
    return dict(params)


def parse_space(space_id: Any) -> tuple[SpaceType, str] | None:
    if not isinstance(space_id, str) or not space_id.startswith(SPACE_PREFIX):
        return None
    kind, _, target = space_id.removeprefix(SPACE_PREFIX).partition(".")
    if kind not in ("IM_GROUP", "IM_ROBOT") or not target:
        return None
    return kind, target  # type: ignore[return-value]


class Cards:
    """The card API; its records are guarded by the recorder's lock."""

    def __init__(self, server: LocalDingTalk) -> None:
        self._server = server
        self._rec = server.recorder
        self.instances: dict[str, CardInstance] = {}

    def get(self, out_track_id: str) -> CardInstance | None:
        with self._rec.lock:
            return self.instances.get(out_track_id)

    def _check(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        if not self._server.openapi.token_ok(token):
            return error(401, "InvalidAuthentication", "不合法的access_token")
        return None

    def _create(self, body: Json) -> web.Response | CardInstance:
        template = body.get("cardTemplateId")
        out_track_id = body.get("outTrackId")
        if not isinstance(template, str) or not template:
            return error(400, "invalidParameter.cardTemplateId", "cardTemplateId不能为空")
        if not isinstance(out_track_id, str) or not out_track_id:
            return error(400, "invalidParameter.outTrackId", "outTrackId不能为空")
        data = _param_map(body.get("cardData"))
        if data is None:
            return error(400, "invalidParameter.cardParamMap", "cardParamMap的值须为字符串")
        callback_type = str(body.get("callbackType") or "HTTP")
        with self._rec.lock:
            if out_track_id in self.instances:
                return error(400, "invalidParameter.outTrackId.duplicate", "outTrackId已存在")
            card = CardInstance(out_track_id, template, callback_type, data)
            self.instances[out_track_id] = card
        return card

    def _deliver(self, card: CardInstance, body: Json) -> web.Response | list[Json]:
        raw = body.get("openSpaceId")
        spaces = [parse_space(s) for s in raw.split(";")] if isinstance(raw, str) else [None]
        if not spaces or any(s is None for s in spaces):
            return error(400, "invalidParameter.openSpaceId", "openSpaceId无效")
        results = []
        for kind, target in (s for s in spaces if s is not None):
            if kind == "IM_GROUP":
                model = body.get("imGroupOpenDeliverModel")
                if not isinstance(model, dict) or model.get("robotCode") != self._server.robot_code:
                    return error(400, "invalidParameter.robotCode", "robotCode无效")
            elif not isinstance(body.get("imRobotOpenDeliverModel"), dict):
                return error(400, "invalidParameter.imRobotOpenDeliverModel", "缺少投放参数")
            with self._rec.lock:
                card.spaces.append((kind, target))
            view = card.view(None if kind == "IM_GROUP" else target)
            if kind == "IM_GROUP":
                self._rec.record("group", target, "interactiveCard", _part(view), (), body)
            else:
                self._rec.record("oto", (target,), "interactiveCard", _part(view), (), body)
            results.append({"spaceType": kind, "spaceId": target, "success": True})
        return results

    async def create(self, request: web.Request) -> web.Response:
        denied = self._check(request)
        if denied is not None:
            return denied
        body = await json_body(request)
        if body is None:
            return error(400, "MissingParameter", "请求体不是合法的JSON")
        card = self._create(body)
        if isinstance(card, web.Response):
            return card
        return web.json_response({"success": True, "result": card.out_track_id})

    async def deliver(self, request: web.Request) -> web.Response:
        denied = self._check(request)
        if denied is not None:
            return denied
        body = await json_body(request) or {}
        card = self.get(str(body.get("outTrackId") or ""))
        if card is None:
            return error(400, "invalidParameter.outTrackId.notExist", "卡片实例不存在")
        results = self._deliver(card, body)
        if isinstance(results, web.Response):
            return results
        return web.json_response({"success": True, "result": results})

    async def create_and_deliver(self, request: web.Request) -> web.Response:
        denied = self._check(request)
        if denied is not None:
            return denied
        body = await json_body(request)
        if body is None:
            return error(400, "MissingParameter", "请求体不是合法的JSON")
        if parse_space(str(body.get("openSpaceId") or "").split(";")[0]) is None:
            return error(400, "invalidParameter.openSpaceId", "openSpaceId无效")
        card = self._create(body)
        if isinstance(card, web.Response):
            return card
        results = self._deliver(card, body)
        if isinstance(results, web.Response):
            with self._rec.lock:
                self.instances.pop(card.out_track_id, None)
            return results
        return web.json_response(
            {
                "success": True,
                "result": {"outTrackId": card.out_track_id, "deliverResults": results},
            }
        )

    async def update(self, request: web.Request) -> web.Response:
        denied = self._check(request)
        if denied is not None:
            return denied
        body = await json_body(request) or {}
        card = self.get(str(body.get("outTrackId") or ""))
        if card is None:
            return error(400, "invalidParameter.outTrackId.notExist", "卡片实例不存在")
        error_response = self.apply(card, body)
        if error_response is not None:
            return error(400, "invalidParameter.cardParamMap", error_response)
        return web.json_response({"success": True, "result": True})

    def apply(self, card: CardInstance, update: Json, tapper: str | None = None) -> str | None:
        """Apply an update (a PUT's body or a callback's ACK response); an error, or None.

        ``cardData`` replaces the public data unless ``cardUpdateOptions.updateCardDataByKey``
        (then by key); ``privateData`` {userId: {cardParamMap}} and, for a callback's tapper,
        ``userPrivateData`` likewise with ``updatePrivateDataByKey``."""
        options = update.get("cardUpdateOptions")
        options = options if isinstance(options, dict) else {}
        data = _param_map(update["cardData"]) if "cardData" in update else {}
        private: dict[str, dict[str, str] | None] = {}
        raw_private = update.get("privateData")
        if isinstance(raw_private, dict):
            private = {str(u): _param_map(p) for u, p in raw_private.items()}
        if tapper is not None and "userPrivateData" in update:
            private[tapper] = _param_map(update["userPrivateData"])
        if data is None or any(p is None for p in private.values()):
            return "cardParamMap的值须为字符串"
        with self._rec.lock:
            if "cardData" in update:
                card.data = {**card.data, **data} if options.get("updateCardDataByKey") else data
            by_key = options.get("updatePrivateDataByKey")
            for user, params in private.items():
                assert params is not None
                card.private[user] = {**card.private.get(user, {}), **params} if by_key else params
            card.updates += 1
        self._rec.notify()
        return None

    def callback_data(
        self, out_track_id: str, user_id: str, params: Json, action_id: str, space: int
    ) -> tuple[CardInstance, Json]:
        """The card, and the data of the callback DingTalk sends when ``user_id`` taps one of
        its buttons as delivered to its ``space``-th space (DINGTALK.md §3)."""
        card = self.get(out_track_id)
        if card is None or not card.spaces:
            raise ValueError(f"no card {out_track_id!r} was delivered")
        if card.callback_type != "STREAM":
            raise ValueError(f"card {out_track_id!r} does not call back over the stream")
        kind, target = card.spaces[space]
        content = {"cardPrivateData": {"actionIds": [action_id], "params": params}}
        return card, {
            "type": "actionCallback",
            "outTrackId": card.out_track_id,
            "corpId": self._server.corp_id,
            "userId": user_id,
            "userIdType": 1,
            "spaceType": kind,
            "spaceId": target,
            "content": json.dumps(content, ensure_ascii=False),
            "extension": json.dumps({}),
        }


def _part(view: dict[str, str]) -> Json:
    """How a delivered card is recorded as a message: its title and markdown."""
    return {"title": view.get("title", ""), "content": view.get("content", "")}


def ack_response(ack: Json) -> Json | None:
    """The ``response`` a callback's ACK carries (its ``data`` is JSON; a handler may give the
    response as a JSON string too); None when it carries no object."""
    try:
        response = json.loads(ack.get("data") or "{}").get("response")
        if isinstance(response, str):
            response = json.loads(response)
    except (ValueError, AttributeError):
        return None
    return response if isinstance(response, dict) else None
