"""SMS through a provider's HTTP gateway (alerts, appointment reminders).

The adapter speaks a generic JSON SMS gateway: POST <GRU_SMS_URL>/messages with a bearer token
(GRU_SMS_TOKEN) and the body {to, from, text, reference}; 2xx {id}. GRU_SMS_FROM is the sender
name shown on the phone (11 characters at most, default MAIRIE). The reference makes a retried
request a no-op at the gateway. A provider with another shape gets its own class with the same
`send(Outgoing)` / `close()`.

Errors: `SendFailed` (core/outbound.py), permanent for a 4xx, temporary for a timeout, a 5xx or a
429. Logs: the outcome, never the number or the text.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

from core.http import JsonClient
from core.outbound import Outgoing, SendFailed, post

__all__ = ["JsonSmsSender", "SendFailed", "french_mobile", "sms_sender_from_env"]

logger = logging.getLogger(__name__)

# +33 6…, 0033 7…, +33 (0)6…, 06… or 07…, with spaces, dots or dashes anywhere between the digits.
_MOBILE = re.compile(r"(?:(?:\+|00)33\s?(?:\(0\))?\s?|0)([67](?:[\s.\-]?\d){8})")


def french_mobile(text: str | None) -> str | None:
    """« 06 12 34 56 78 », « 07.12… », « +33 6 12… » → « +33612345678 »; None when it is not a
    French mobile number (a landline cannot receive an SMS)."""
    text = (text or "").strip()
    match = _MOBILE.fullmatch(text) if len(text) <= 30 else None
    return "+33" + re.sub(r"\D", "", match.group(1)) if match else None


class JsonSmsSender:
    channel = "sms"

    def __init__(
        self, base_url: str, api_token: str, sender_name: str, *, timeout_s: float | None = None
    ) -> None:
        self.sender_name = sender_name
        self.client = JsonClient(
            "sms",
            base_url,
            logger=logger,
            timeout_env="GRU_SMS_TIMEOUT",
            timeout_default=10.0,
            timeout_s=timeout_s,
            headers={"Authorization": f"Bearer {api_token}"},
            attempts=1,  # callers retry with their own delays
        )

    async def send(self, message: Outgoing) -> None:
        body = {
            "to": message.address,
            "from": self.sender_name,
            "text": message.text,
            "reference": message.reference,
        }
        await post(self.client, "/messages", json_body=body, idempotent=True)

    async def close(self) -> None:
        return None


def sms_sender_from_env(env: Mapping[str, str] = os.environ) -> JsonSmsSender | None:
    if env.get("GRU_SMS_URL") and env.get("GRU_SMS_TOKEN"):
        return JsonSmsSender(env["GRU_SMS_URL"], env["GRU_SMS_TOKEN"], env.get("GRU_SMS_FROM") or "MAIRIE")
    return None
