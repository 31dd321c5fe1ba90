"""What every outbound message adapter shares (core/mail.py, core/sms.py, the Messenger senders):
one message to one person, and one error whose kind says whether to try again.

`SendFailed(reason, permanent=True)`: refused (bad address, 4xx, SMTP 5xx): the same message would
be refused again. `permanent=False`: timeout, connection, 5xx, 429, SMTP 4xx: retry later.
`reason` is a short kind (timeout, recipient_refused, rejected 400…), never an address or a text:
callers log it and store it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.http import JsonClient, Rejected, Unavailable


class SendFailed(Exception):
    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    """One message to one person."""

    reference: str  # unique per message, no personal data (« <alert>-<subscription> », « RDV-…-24-sms »)
    address: str  # e-mail, +33 number, or PSID
    token: str | None  # Messenger notification_messages_token (alerts)
    text: str  # the whole text (SMS, Messenger) or the plain-text e-mail body
    subject: str = ""  # e-mail only
    html: str | None = None  # e-mail only: the HTML alternative of `text`


async def post(client: JsonClient, path: str, **options) -> None:
    """One POST; a refusal (4xx) is permanent, anything else (timeout, 5xx, 429) temporary."""
    try:
        await client.request("POST", path, **options)
    except Rejected as exc:
        raise SendFailed(f"rejected {exc.status}", permanent=True) from None
    except Unavailable as exc:
        raise SendFailed(exc.kind, permanent=False) from None
