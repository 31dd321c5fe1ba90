"""Signed, expiring links for e-mail double opt-in and unsubscription (core/signing.py).

The token says which subscription and until when (GRU_ALERTS_SECRET); it holds no address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.signing import BadToken, ExpiredToken
from core.signing import make_token as _make
from core.signing import read_token as _read

__all__ = ["BadToken", "ExpiredToken", "PURPOSES", "make_token", "read_token"]

PURPOSES = ("confirm", "unsubscribe")
SECRET_ENV = "GRU_ALERTS_SECRET"


def make_token(purpose: str, subscription_id: int, valid: timedelta, now: datetime | None = None) -> str:
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    return _make(SECRET_ENV, purpose, str(int(subscription_id)), valid, now)


def read_token(token: str, purpose: str, now: datetime | None = None) -> int:
    """The subscription id of a genuine, unexpired token for `purpose`."""
    _, ident = _read(SECRET_ENV, token, (purpose,), now)
    if not ident.isdigit():
        raise BadToken("purpose")
    return int(ident)
