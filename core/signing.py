"""Signed, expiring tokens for the links we send citizens (e-mail, SMS, Messenger).

A token is « <purpose>.<identifier>.<expiry, epoch seconds>.<signature> », the signature being
HMAC-SHA256 of the first three parts, base64url. It says what it is for, which record and
until when; it holds no personal data. Checked in constant time. Written by hand because the
format is four fields and the standard library's hmac does the cryptography (itsdangerous
would add a dependency for the same dozen lines).

Each caller names its secret's environment variable (GRU_ALERTS_SECRET, GRU_LINKS_SECRET);
when it is unset (tests, the demo) a per-process random secret is used, so links die with the
process: production sets the variable (the same on every replica).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

MAX_TOKEN = 200
_IDENT = re.compile(r"[A-Za-z0-9-]{1,64}")
_PROCESS_SECRET = secrets.token_hex(32)


class BadToken(ValueError):
    """A link that is forged, altered, for another purpose or malformed."""


class ExpiredToken(ValueError):
    """A genuine link whose validity has passed."""


def _sign(secret_env: str, message: str) -> str:
    secret = (os.environ.get(secret_env) or _PROCESS_SECRET).encode("utf-8")
    digest = hmac.new(secret, message.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def make_token(
    secret_env: str, purpose: str, ident: str, valid: timedelta, now: datetime | None = None
) -> str:
    if not purpose.isalpha() or not _IDENT.fullmatch(ident):
        raise ValueError("purpose or identifier not allowed in a token")
    now = now or datetime.now(timezone.utc)
    message = f"{purpose}.{ident}.{int((now + valid).timestamp())}"
    return f"{message}.{_sign(secret_env, message)}"


def read_token(secret_env: str, token: str, purposes: tuple, now: datetime | None = None) -> tuple:
    """(purpose, identifier) of a genuine, unexpired token whose purpose is one of `purposes`."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or not token.isascii():
        raise BadToken("malformed")
    parts = token.split(".")
    if len(parts) != 4:
        raise BadToken("malformed")
    kind, ident, expiry, signature = parts
    if not hmac.compare_digest(_sign(secret_env, f"{kind}.{ident}.{expiry}"), signature):
        raise BadToken("signature")
    if kind not in purposes or not _IDENT.fullmatch(ident) or not expiry.isdigit():
        raise BadToken("purpose")
    now = now or datetime.now(timezone.utc)
    if int(expiry) <= now.timestamp():
        raise ExpiredToken("expired")
    return kind, ident


def persistent_secret(path: Path) -> str:
    """A random secret kept in a private file (created 0600 on first use). Two processes that
    start together get the same secret: the file appears whole or not at all (written aside,
    then linked into place; the one that loses the race reads the winner's)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_urlsafe(32)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    try:
        os.link(draft, path)
    except FileExistsError:
        secret = path.read_text(encoding="utf-8").strip()
    finally:
        draft.unlink()
    return secret
