"""A card button's tap: the button's command run as the tapper's typed command, and the
card's new state for every copy (DINGTALK.md §3)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.dingtalk import cards
from config.roster import Roster
from handlers import texts
from handlers.context import Ctx
from handlers.dispatch import run_command
from handlers.effects import Outgoing
from handlers.workcal import WorkCalendar
from storage.models import CardInstance

logger = logging.getLogger(__name__)


def tapped_command(data: dict[str, Any]) -> str:
    """The ``command`` parameter of a card callback's button (its ``content`` is JSON)."""
    try:
        content = json.loads(data.get("content") or "{}")
        command = content["cardPrivateData"]["params"]["command"]
    except (ValueError, TypeError, KeyError):
        return ""
    return command.strip() if isinstance(command, str) else ""


def act_on_tap(
    session: Session,
    roster: Roster,
    cal: WorkCalendar,
    now: dt.datetime,
    key: str,
    data: dict[str, Any],
) -> tuple[dict[str, Any], list[Outgoing]]:
    """What a tap does: the button's command run as the tapper's typed command (the same
    role check); on success every open copy of the card shows who did what, else only the
    tapper sees why nothing happened. Returns the ACK's answer and the messages to send
    (the command's, and the updates of the other copies)."""
    out: list[Outgoing] = []
    tapper = str(data.get("userId") or "")
    card = session.get(CardInstance, str(data.get("outTrackId") or ""))
    command = tapped_command(data)
    action = None
    if card is not None:
        action = next((a for a in card.actions if a[1] == command), None)

    def private(text: str) -> dict[str, Any]:
        return {
            "cardUpdateOptions": {"updatePrivateDataByKey": True},
            "userPrivateData": {"cardParamMap": {"status": text}},
        }

    if card is None or action is None:
        return private(texts.CARD_UNKNOWN), out
    if tapper not in roster.people:
        return private(texts.NOT_IN_ROSTER), out
    if len(action) > 2 and action[2]:
        return private(texts.card_needs_text(command)), out
    ctx = Ctx(session, roster, cal, now, actor=tapper, msg_id=key)
    try:
        outcome = run_command(ctx, command)  # an error is rolled back by the command's chain
    except Exception:
        logger.exception("card tap %s: %s by %s failed", key, command, tapper)
        return private(texts.APOLOGY), out
    out = list(ctx.out)
    if not outcome.ok or command.split()[0] in cards.VIEW_ONLY:
        return private(outcome.reply), out  # nothing changed: only the tapper sees why
    at = now.astimezone(cal.tz).strftime("%H:%M")
    status = texts.card_done(roster.name(tapper), at, command.split()[0])
    open_cards = [card]
    if card.subject:  # every open copy for the same @件 or matter
        open_cards += session.scalars(
            select(CardInstance).where(
                CardInstance.subject == card.subject,
                CardInstance.closed_at.is_(None),
                CardInstance.out_track_id != card.out_track_id,
            )
        ).all()
    update = json.dumps(cards.acted(status), ensure_ascii=False)
    copies = []  # updated by the sender after the commit, retried as any message
    for one in open_cards:
        one.closed_at = now
        if one.out_track_id != card.out_track_id:
            copies.append(Outgoing("card", one.out_track_id, update))
    card.closed_at = now
    out += copies
    answer = {
        "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
        "cardData": {"cardParamMap": cards.acted(status)},
        "userPrivateData": {"cardParamMap": {"status": outcome.reply}},
    }
    return answer, out
