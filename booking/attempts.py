"""Failed second-factor attempts, kept in the application database (not in the conversation).

A file number or a booking reference is shown only with its second factor (the surname or
e-mail given in the request). Failures are counted here, on the server, under two keys:

- the reference tried (a file number, an RDV- reference, a pre-application number), so that
  new conversations, « /restart » or new sender ids do not give new tries on it;
- the conversation (channel + sender id), so that one conversation cannot try many references.

Neither is stored in clear: a key is an HMAC-SHA256 of the scope, the kind and the value with
GRU_ATTEMPTS_SECRET (a random secret per process when unset: the counts then start again at
each restart, so production sets it). Nothing is recorded whether the reference exists or
not, so the answer never tells.

Rule: the 3rd failure within 24 hours locks the key for 15 minutes; each further failure locks
it again for twice as long (30 min, 1 h, … at most 24 h); 24 hours without a failure forget
the key. A success never gives a try back. Rows older than that are deleted as new failures
come in (no personal data: hashes, counts and times only).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, List, Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from booking.models import FailedAttempt
from core.db import session_scope

MAX_FAILURES = 3  # the failure that locks first
FIRST_LOCK = timedelta(minutes=15)
LONGEST_LOCK = timedelta(hours=24)
FORGET_AFTER = timedelta(hours=24)  # without a failure
SCOPES = ("tracking", "appointment")

_SECRET = (os.environ.get("GRU_ATTEMPTS_SECRET") or secrets.token_hex(32)).encode("utf-8")


@dataclass(frozen=True)
class Standing:
    """Where a set of keys stands: the most failures of any of them, and whether one is locked."""

    failures: int
    locked: bool


def _key(scope: str, kind: str, value: str) -> str:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return hmac.new(_SECRET, f"{scope}\n{kind}\n{value}".encode(), hashlib.sha256).hexdigest()


def keys_for(scope: str, reference: str, channel: str, sender_id: str) -> List[str]:
    """The two keys of one try: the reference (case and spaces ignored) and the conversation."""
    folded = "".join(reference.split()).upper()
    return [_key(scope, "reference", folded), _key(scope, "conversation", f"{channel}\n{sender_id}")]


def _utc(now: datetime | None) -> datetime:
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).replace(tzinfo=None) if now.tzinfo else now


def lock_for(failures: int) -> timedelta | None:
    """How long the key is locked after its `failures`-th failure in a row (None: not locked)."""
    if failures < MAX_FAILURES:
        return None
    doublings = min(failures - MAX_FAILURES, 10)
    return min(FIRST_LOCK * (2**doublings), LONGEST_LOCK)


def standing(keys: Sequence[str], *, now: datetime | None = None, url: str | None = None) -> Standing:
    """Failures (still remembered) and lock of the keys, without counting anything."""
    now = _utc(now)
    with session_scope(url) as session:
        rows = session.execute(select(FailedAttempt).where(FailedAttempt.key.in_(list(keys)))).scalars()
        live = [row for row in rows if now - row.last_failure_at < FORGET_AFTER]
        return Standing(
            failures=max((row.failures for row in live), default=0),
            locked=any(row.locked_until is not None and row.locked_until > now for row in live),
        )


def is_locked(keys: Sequence[str], *, now: datetime | None = None, url: str | None = None) -> bool:
    return standing(keys, now=now, url=url).locked


def record_failure(keys: Iterable[str], *, now: datetime | None = None, url: str | None = None) -> Standing:
    """Count one failure on every key (one write transaction) and say where they stand now."""
    now = _utc(now)
    keys = sorted(set(keys))
    for _attempt in range(3):  # two first failures on one key at once: the loser counts again
        try:
            return _record(keys, now, url)
        except IntegrityError:
            continue
    raise RuntimeError("failed attempts could not be recorded")


def _record(keys: List[str], now: datetime, url: str | None) -> Standing:
    failures, locked = 0, False
    with session_scope(url, write=True) as session:
        session.execute(  # forget what is old: no row outlives its usefulness
            delete(FailedAttempt).where(FailedAttempt.last_failure_at < now - FORGET_AFTER)
        )
        found = {
            row.key: row
            for row in session.execute(
                select(FailedAttempt).where(FailedAttempt.key.in_(keys)).with_for_update()
            ).scalars()
        }
        for key in keys:
            row = found.get(key)
            if row is None:
                row = FailedAttempt(key=key, failures=0, last_failure_at=now)
                session.add(row)
            row.failures += 1
            row.last_failure_at = now
            lock = lock_for(row.failures)
            if lock is not None:
                row.locked_until = now + lock
            failures = max(failures, row.failures)
            locked = locked or (row.locked_until is not None and row.locked_until > now)
        session.flush()
    return Standing(failures=failures, locked=locked)
