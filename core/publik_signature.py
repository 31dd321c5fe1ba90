"""Publik's signed requests, shared by every Publik client (w.c.s. for tracking and signalements,
Chrono for appointments).

The scheme of Entr'ouvert's ``signature.py`` (the same in w.c.s., Chrono, Passerelle): the query
string is built, then ``algo=sha256&timestamp=<UTC, 2026-11-29T10:00:00Z>&orig=<orig>`` is appended
(url-encoded by ``urlencode``, so the colons of the timestamp travel as ``%3A``), optionally a
``nonce`` (a random value the receiver may refuse to see twice: no replay within the clock skew),
and ``signature=<url-quoted base64(HMAC-SHA256(key, that exact query string))>`` is added last. The
receiver recomputes the HMAC on the raw query string up to ``&signature=`` and rejects a timestamp
more than a few minutes away from its clock (:func:`check_signature`).

Written here with the standard library's hmac (no Publik package is published on PyPI); the tests
of tracking/ and booking/ check it against local servers that verify it the receiver's way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, quote, urlencode

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def new_nonce() -> str:
    """A fresh random nonce (128 bits, hexadecimal)."""
    return secrets.token_hex(16)


def sign_query(query: str, key: str, orig: str, now: datetime | None = None, nonce: str | None = None) -> str:
    """Append algo/timestamp/orig (and the nonce when given) and the HMAC-SHA256 signature."""
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    pairs = [("algo", "sha256"), ("timestamp", moment.strftime(TIMESTAMP_FORMAT)), ("orig", orig)]
    if nonce is not None:
        pairs.append(("nonce", nonce))
    extra = urlencode(pairs)
    unsigned = f"{query}&{extra}" if query else extra
    digest = hmac.new(key.encode("utf-8"), unsigned.encode("utf-8"), hashlib.sha256).digest()
    return f"{unsigned}&signature={quote(base64.b64encode(digest), safe='')}"


def check_signature(query: str, key: str, max_skew_s: float = 300, now: datetime | None = None) -> bool:
    """True if the raw (still url-encoded) `query` carries a valid, fresh sha256 signature for `key`."""
    if not isinstance(query, str) or "&signature=" not in query:
        return False
    unsigned, _, signature_part = query.rpartition("&signature=")
    if "&" in signature_part:  # the signature must be the last parameter
        return False
    try:
        params = parse_qs(unsigned, keep_blank_values=True, strict_parsing=True)
        signature = base64.b64decode(parse_qs(f"s={signature_part}")["s"][0], validate=True)
        (algo,) = params["algo"]
        (raw_timestamp,) = params["timestamp"]
        (_orig,) = params["orig"]
        timestamp = datetime.strptime(raw_timestamp, TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)
    except (KeyError, ValueError, TypeError):
        return False
    if algo != "sha256":
        return False
    moment = now or datetime.now(timezone.utc)
    if abs(moment - timestamp) > timedelta(seconds=max_skew_s):
        return False
    expected = hmac.new(key.encode("utf-8"), unsigned.encode("utf-8"), hashlib.sha256).digest()
    return hmac.compare_digest(expected, signature)
