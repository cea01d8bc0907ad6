"""The DingTalk edge: the only code that talks HTTP to DingTalk to send or fetch.

``errors`` the error tree every failure becomes, ``transport`` what the sender needs (the
``Transport`` protocol and its result types), ``client`` the real one (session webhooks with
httpx, robot messages with the Tea SDK, the access-token cache, media upload and download),
``cards`` the interactive card's variables and ``card_api`` its calls, ``tea`` and ``http``
the helpers under it, ``sdk`` where the SDKs send their requests.
"""
