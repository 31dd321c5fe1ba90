"""Signed, expiring links for e-mail double opt-in and unsubscription.

A token is « <purpose>.<subscription id>.<expiry, epoch seconds>.<signature> », the signature
being HMAC-SHA256 of the first three parts with GRU_ALERTS_SECRET, base64url. It says which
subscription and until when; it holds no address. Checked in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import datetime, timedelta, timezone

PURPOSES = ("confirm", "unsubscribe")
MAX_TOKEN = 200
_PROCESS_SECRET = secrets.token_hex(32)  # when GRU_ALERTS_SECRET is unset (tests, demo)


class BadToken(ValueError):
    """A link that is forged, altered, for another purpose or malformed."""


class ExpiredToken(ValueError):
    """A genuine link whose validity has passed."""


def _secret() -> bytes:
    return (os.environ.get("GRU_ALERTS_SECRET") or _PROCESS_SECRET).encode("utf-8")


def _sign(message: str) -> str:
    digest = hmac.new(_secret(), message.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def make_token(purpose: str, subscription_id: int, valid: timedelta, now: datetime | None = None) -> str:
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    now = now or datetime.now(timezone.utc)
    expiry = int((now + valid).timestamp())
    message = f"{purpose}.{int(subscription_id)}.{expiry}"
    return f"{message}.{_sign(message)}"


def read_token(token: str, purpose: str, now: datetime | None = None) -> int:
    """The subscription id of a genuine, unexpired token for `purpose`."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or not token.isascii():
        raise BadToken("malformed")
    parts = token.split(".")
    if len(parts) != 4:
        raise BadToken("malformed")
    kind, ident, expiry, signature = parts
    if not hmac.compare_digest(_sign(f"{kind}.{ident}.{expiry}"), signature):
        raise BadToken("signature")
    if kind != purpose or not ident.isdigit() or not expiry.isdigit():
        raise BadToken("purpose")
    now = now or datetime.now(timezone.utc)
    if int(expiry) <= now.timestamp():
        raise ExpiredToken("expired")
    return int(ident)
