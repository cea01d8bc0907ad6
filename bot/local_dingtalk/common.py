"""Small helpers the parts of the local DingTalk share."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

Clock = Callable[[], datetime]
Json = dict[str, Any]

LWCP = "$:LWCP_v1:$"  # prefix of DingTalk's encrypted user ids


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def encrypted_id(kind: str, value: str) -> str:
    return LWCP + hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def error(status: int, code: str, message: str) -> web.Response:
    body = {"code": code, "message": message, "requestid": uuid.uuid4().hex}
    return web.json_response(body, status=status, dumps=dumps)


async def json_body(request: web.Request) -> Json | None:
    """The request's body as a JSON object; None if it is not one."""
    try:
        body = json.loads(await request.text())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def str_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))
