"""Where the DingTalk SDKs send their requests: DingTalk itself, or a local DingTalk.

See shared/DINGTALK.md §1.3 (four copies of the endpoint), §5.4 (Tea config) and
§7.1 (lazy ``websockets.exceptions``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

# websockets 17 loads this submodule lazily; dingtalk-stream 0.24.3 names it in an
# ``except`` clause, which raises AttributeError if nothing has loaded it yet.
import websockets.exceptions  # noqa: F401
from alibabacloud_tea_openapi.models import Config
from dingtalk_stream import card_replier, chatbot, stream, utils

DINGTALK_ENDPOINT = "https://api.dingtalk.com"
OPEN_CONNECTION_PATH = "/v1.0/gateway/connections/open"


def point_sdk_at(endpoint: str) -> None:
    """Send every request dingtalk-stream builds from its endpoint to ``endpoint``.

    Each SDK module holds its own copy of the endpoint, and the open-connection URL is a
    class attribute computed at import, so all of them are patched.
    """
    base = endpoint.rstrip("/")
    for module in (utils, stream, chatbot, card_replier):
        module.DINGTALK_OPENAPI_ENDPOINT = base
    stream.DingTalkStreamClient.OPEN_CONNECTION_API = base + OPEN_CONNECTION_PATH


def tea_config(endpoint: str = DINGTALK_ENDPOINT) -> Config:
    """A Tea ``Config`` for the alibabacloud-dingtalk clients that targets ``endpoint``.

    The protocol is always set: left unset, the clients send plain http to DingTalk.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) base URL: {endpoint!r}")
    host = parts.netloc.rpartition("@")[2]  # host[:port], without any userinfo
    return Config(protocol=parts.scheme, endpoint=host, region_id="central")
