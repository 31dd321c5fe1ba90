"""Signed, expiring links that let a citizen see, move or cancel an appointment without
retyping its reference and surname (e-mail and SMS reminders, confirmation messages).

`manage_url("RDV-AB12CD")` → « <pages_url()>/rendez-vous/RDV-AB12CD?t=<token> » (GRU_PUBLIC_URL, or
the pages' own port under `make run`: core/http.py); the page
calls `read_manage_token(token)` and gets the reference back (or BadToken / ExpiredToken).
The secret is GRU_LINKS_SECRET (core/signing.py: required in production, the same on every
replica). A link is valid until GRU_LINKS_DAYS days (default 90) after it was made, which
outlives any appointment of the 60-day booking window.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from urllib.parse import quote

from core.http import pages_url, public_url
from core.signing import BadToken, ExpiredToken, make_token, read_token

__all__ = [
    "BadToken",
    "ExpiredToken",
    "manage_token",
    "manage_url",
    "pages_url",
    "public_url",
    "read_manage_token",
]

SECRET_ENV = "GRU_LINKS_SECRET"
PURPOSES = ("manage", "cancel")


def _validity() -> timedelta:
    raw = (os.environ.get("GRU_LINKS_DAYS") or "90").strip()
    return timedelta(days=int(raw) if raw.isdigit() and 0 < int(raw) <= 400 else 90)


def manage_token(reference: str, purpose: str = "manage", now: datetime | None = None) -> str:
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    return make_token(SECRET_ENV, purpose, reference, _validity(), now)


def read_manage_token(token: str, purpose: str = "manage", now: datetime | None = None) -> str:
    """The appointment reference of a genuine, unexpired link made for `purpose`."""
    return read_token(SECRET_ENV, token, (purpose,), now)[1]


def manage_url(reference: str, purpose: str = "manage", now: datetime | None = None) -> str:
    path = "/rendez-vous/" + quote(reference) + ("/annuler" if purpose == "cancel" else "")
    return f"{pages_url()}{path}?t={manage_token(reference, purpose, now)}"
