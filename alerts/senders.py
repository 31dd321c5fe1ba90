"""How an alert reaches a subscriber: one adapter per channel, chosen by configuration.

- Messenger: Meta's Send API with the `notification_messages_token` of the person's opt-in
  (POST <graph>/me/messages, recipient {notification_messages_token}), the only way to write
  outside the 24-hour window for this purpose (see README, « Alertes »).
- E-mail: core/mail.py (SMTP with STARTTLS and authentication when configured, in worker
  threads, one kept-alive connection per thread).
- SMS: core/sms.py (a generic JSON SMS gateway; the reference makes a retried request a no-op).

Errors: `SendFailed(permanent=True)` (refused: do not retry) or `SendFailed(permanent=False)`
(timeout, connection, 5xx, 429: retry later). Logs: the channel and the outcome, never an
address. Plain Python, no Rasa.
"""

from __future__ import annotations

import logging
import os
from typing import Dict, Mapping, Protocol

from core.http import JsonClient
from core.mail import SmtpSender, SmtpSettings
from core.outbound import Outgoing, SendFailed, post
from core.sms import JsonSmsSender, sms_sender_from_env

# SMTP and the SMS gateway live in core/mail.py and core/sms.py (shared with reports and reminders);
# these names stay importable from here.
__all__ = [
    "JsonSmsSender",
    "MessengerSender",
    "Outgoing",
    "SendFailed",
    "Sender",
    "SmtpSender",
    "SmtpSettings",
    "post",
    "senders_from_env",
]

logger = logging.getLogger(__name__)


class Sender(Protocol):
    channel: str

    async def send(self, message: Outgoing) -> None: ...

    async def close(self) -> None: ...


# ---- Messenger ---------------------------------------------------------------------------------


class MessengerSender:
    channel = "messenger"

    def __init__(self, graph_url: str, page_token: str, *, timeout_s: float | None = None) -> None:
        self.page_token = page_token
        self.client = JsonClient(
            "messenger",
            graph_url,
            logger=logger,
            timeout_env="GRU_MESSENGER_TIMEOUT",
            timeout_default=10.0,
            timeout_s=timeout_s,
            attempts=1,  # the broadcast retries with its own backoff and throttle
        )

    async def send(self, message: Outgoing) -> None:
        if not message.token:
            raise SendFailed("no_token", permanent=True)
        body = {
            "recipient": {"notification_messages_token": message.token},
            "message": {"text": message.text},
        }
        await post(self.client, "/me/messages", params={"access_token": self.page_token}, json_body=body)

    async def close(self) -> None:
        return None


def senders_from_env(env: Mapping[str, str] = os.environ) -> Dict[str, Sender]:
    """The adapters the environment configures (a channel without one cannot be delivered)."""
    senders: Dict[str, Sender] = {}
    page_token = env.get("FACEBOOK_PAGE_ACCESS_TOKEN")
    if page_token:
        graph = env.get("GRU_FACEBOOK_GRAPH_URL") or "https://graph.facebook.com/v19.0"
        senders["messenger"] = MessengerSender(graph, page_token)
    smtp = SmtpSettings.from_env(env)
    if smtp is not None:
        senders["email"] = SmtpSender(smtp)
    sms = sms_sender_from_env(env)
    if sms is not None:
        senders["sms"] = sms
    return senders
