"""Messenger's side of the crisis alerts: Meta's opt-in webhook and « STOP ».

Policy followed (Meta, Messenger Platform, « Marketing Messages », notification_messages):
the assistant sends the opt-in request template (template_type notification_messages) only
inside the 24-hour window, right after the citizen said « J'accepte »; Meta then sends a
`messaging_optins` event carrying `notification_messages_token`, its frequency
(DAILY/WEEKLY/MONTHLY), `token_expiry_timestamp` and `notification_messages_status`
(STOP_NOTIFICATIONS / RESUME_NOTIFICATIONS). Alerts are sent with that token, at most one per
frequency period, never after the expiry; « stop notifications » and « STOP » end it at once.
No message tag is used: none of Meta's tags covers public alerts.

Called from channels/facebook.py (GuardedMessenger.handle and .message).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Dict

from sqlalchemy.exc import SQLAlchemyError

from alerts.config import load_alerts_config
from alerts.subscriptions import record_messenger_optin, stop
from channels.alerts import is_stop
from core import clock

logger = logging.getLogger(__name__)


def _expiry(value: Any) -> datetime | None:
    """Meta's token_expiry_timestamp (milliseconds since the epoch) in the territory's time."""
    try:
        millis = int(value)
    except (TypeError, ValueError):
        return None
    moment = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
    return clock.local(moment).replace(tzinfo=None)


async def handle_optin(event: Dict[str, Any], send_text) -> bool:
    """A `messaging_optins` event of type notification_messages: store (or end) the token.
    `send_text(psid, text)` answers the citizen. False for other opt-ins (ignored)."""
    optin = event.get("optin")
    psid = (event.get("sender") or {}).get("id")
    if (
        not isinstance(optin, dict)
        or optin.get("type") != "notification_messages"
        or not isinstance(psid, str)
    ):
        return False
    stopped = optin.get("notification_messages_status") == "STOP_NOTIFICATIONS"
    token = optin.get("notification_messages_token")
    outcome = await asyncio.to_thread(
        record_messenger_optin,
        psid,
        token=token if isinstance(token, str) else None,
        frequency=str(optin.get("notification_messages_frequency") or ""),
        expires_at=_expiry(optin.get("token_expiry_timestamp")),
        stopped=stopped,
    )
    logger.info("Messenger alerts opt-in: %s", outcome)
    if outcome == "active":
        await send_text(psid, load_alerts_config().messages.messenger_optin_recorded)
    elif outcome == "stopped":
        await send_text(psid, load_alerts_config().messages.messenger_stopped)
    return True


async def handle_stop(psid: str, text: str, send_text) -> bool:
    """« STOP » on Messenger ends this person's alerts at once. True when it was handled (a
    subscription existed); otherwise the message goes on to the assistant."""
    if not is_stop(text):
        return False
    try:
        stopped = await asyncio.to_thread(stop, "messenger", psid)
    except (SQLAlchemyError, OSError) as exc:  # the assistant still answers « stop »
        logger.error("Messenger STOP not recorded: database unavailable (%s)", type(exc).__name__)
        return False
    if not stopped:
        return False
    logger.info("Messenger alerts ended by STOP")
    await send_text(psid, load_alerts_config().messages.messenger_stopped)
    return True
