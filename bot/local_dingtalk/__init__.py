"""A local DingTalk on 127.0.0.1: the stream gateway, the Open API, session webhooks,
interactive cards (§3), and files both ways (the robot message-file download, the media
upload; DINGTALK.md §10).

The real dingtalk-stream SDK and the real alibabacloud-dingtalk clients talk to it
unchanged (see ``bot.dingtalk.sdk``). The sandbox and the tests push inbound messages and
read what the bot sent; tests inject faults through a subclass of their own
(tests/fake_dingtalk.py).

``server`` runs it (:class:`LocalDingTalk`), ``gateway`` the stream, ``openapi`` tokens,
robot messages and files, ``webhooks`` session replies, ``cards`` interactive cards and their
callbacks, ``recorder`` what it saw.
"""

from bot.local_dingtalk.cards import CARD_CALLBACK_TOPIC, CardInstance
from bot.local_dingtalk.gateway import OpenCall, StreamConnection
from bot.local_dingtalk.recorder import LoggedRequest, OutboundMessage, UploadedMedia
from bot.local_dingtalk.server import BOT_MESSAGE_TOPIC, LocalDingTalk

__all__ = [
    "BOT_MESSAGE_TOPIC",
    "CARD_CALLBACK_TOPIC",
    "CardInstance",
    "LocalDingTalk",
    "LoggedRequest",
    "OpenCall",
    "OutboundMessage",
    "StreamConnection",
    "UploadedMedia",
]
