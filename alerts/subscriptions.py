"""Subscriptions: consent recorded, per topic and optional sector, per channel.

- `subscribe` records (or updates) the subscription of one address on one channel with the
  consent given (time, wording version). The website and SMS are active at once; an e-mail
  waits for its confirmation link (double opt-in, alerts.signing), Messenger for Meta's
  notification_messages token (the opt-in webhook, `record_messenger_optin`).
- `unsubscribe` removes topics, or the whole subscription (the row is deleted: nothing kept).
- `stop` ends a channel's subscription at once (« STOP » by SMS or on Messenger).
- `forget_origin` (« oubliez mes données ») and `purge_alerts` (retention limits) delete rows.

Blocking database calls: the conversation runs them in a thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, List, Sequence

from sqlalchemy import delete, select

from alerts.config import CHANNELS, TOPICS
from alerts.models import Delivery, Subscription
from core import clock
from core.content import EMAIL_PATTERN
from core.db import session_scope

PHONE = re.compile(r"^\+33[1-9]\d{8}$")
MESSENGER_FREQUENCIES = {
    "DAILY": timedelta(days=1),
    "WEEKLY": timedelta(days=7),
    "MONTHLY": timedelta(days=30),
}


class InvalidSubscription(ValueError):
    """A value the subscription cannot hold (unknown topic, channel, malformed address)."""


def local_now() -> datetime:
    """The territory's wall-clock time, without offset (how the tables store times)."""
    return clock.now().replace(tzinfo=None)


def normalise_phone(text: str) -> str | None:
    """« 06 12 34 56 78 », « +33 6 12… », « 0033612… » → « +33612345678 »; None if not French."""
    digits = re.sub(r"[\s.\-()]", "", text or "")
    if len(digits) > 20:
        return None
    if digits.startswith("0033"):
        digits = "+33" + digits[4:]
    elif digits.startswith("0") and len(digits) == 10:
        digits = "+33" + digits[1:]
    return digits if PHONE.match(digits) else None


def normalise_email(text: str) -> str | None:
    text = (text or "").strip().strip("<>.,;")
    if len(text) > 254 or not EMAIL_PATTERN.match(text):
        return None
    return text.lower()


@dataclass(frozen=True)
class SubscriptionView:
    """What the conversation and the endpoints need of a subscription (no session attached)."""

    id: int
    channel: str
    address: str
    topics: List[str]
    sector: str | None
    status: str

    @classmethod
    def of(cls, row: Subscription) -> SubscriptionView:
        return cls(row.id, row.channel, row.address, row.topic_list, row.sector, row.status)


def _check(channel: str, topics: Sequence[str]) -> None:
    if channel not in CHANNELS:
        raise InvalidSubscription(f"unknown channel {channel!r}")
    if not topics or any(t not in TOPICS for t in topics):
        raise InvalidSubscription("unknown or missing topic")


def subscribe(
    *,
    channel: str,
    address: str,
    origin: str,
    topics: Sequence[str],
    sector: str | None,
    consent_version: str,
    now: datetime | None = None,
    url: str | None = None,
) -> SubscriptionView:
    """Record a subscription with its consent; a second one on the same address replaces the
    topics and sector (and takes the new consent)."""
    _check(channel, topics)
    now = now or local_now()
    ordered = ",".join(t for t in TOPICS if t in set(topics))
    status = "active" if channel in ("web", "sms") else "pending"
    with session_scope(url, write=True) as session:
        row = session.execute(
            select(Subscription).where(Subscription.channel == channel, Subscription.address == address)
        ).scalar_one_or_none()
        if row is None:
            row = Subscription(channel=channel, address=address, created_at=now, status=status)
            session.add(row)
        elif row.status == "active" and channel == "email":
            status = "active"  # an address already confirmed needs no second link
        row.origin, row.topics, row.sector, row.status = origin[:300], ordered, sector, status
        if channel == "messenger" and row.token and not _expired(row, now):
            row.status = "active"  # the token from an earlier opt-in is still valid
        row.consent_at, row.consent_version = now, consent_version
        session.flush()
        return SubscriptionView.of(row)


def _expired(row: Subscription, now: datetime) -> bool:
    return row.token_expires_at is not None and row.token_expires_at <= now


def confirm_email(subscription_id: int, *, now: datetime | None = None, url: str | None = None) -> bool:
    """The confirmation link was followed: the e-mail subscription becomes active."""
    with session_scope(url, write=True) as session:
        row = session.get(Subscription, subscription_id)
        if row is None or row.channel != "email":
            return False
        row.status, row.confirmed_at = "active", now or local_now()
        return True


def record_messenger_optin(
    psid: str,
    *,
    token: str | None,
    frequency: str | None,
    expires_at: datetime | None,
    stopped: bool,
    now: datetime | None = None,
    url: str | None = None,
) -> str:
    """Meta's opt-in webhook for a PSID: « active » with the token, « stopped » (the row is
    deleted when the person stops notifications), or « unknown » (no subscription asked)."""
    now = now or local_now()
    with session_scope(url, write=True) as session:
        row = session.execute(
            select(Subscription).where(Subscription.channel == "messenger", Subscription.address == psid)
        ).scalar_one_or_none()
        if row is None:
            return "unknown"
        if stopped or not token:
            session.delete(row)
            return "stopped"
        row.token, row.token_frequency = token[:500], (frequency or "").upper()[:20] or None
        row.token_expires_at, row.status, row.confirmed_at = expires_at, "active", now
        return "active"


def subscriptions_of(origin: str, *, url: str | None = None) -> List[SubscriptionView]:
    """The subscriptions made from one conversation (« <input channel>:<sender id> »)."""
    with session_scope(url) as session:
        rows = session.execute(
            select(Subscription).where(Subscription.origin == origin).order_by(Subscription.id)
        )
        return [SubscriptionView.of(row) for row in rows.scalars()]


def unsubscribe(origin: str, topics: Iterable[str] | None = None, *, url: str | None = None) -> int:
    """Remove `topics` (None: all) from the conversation's subscriptions; a subscription left
    without topic is deleted. Returns how many subscriptions changed."""
    drop = None if topics is None else set(topics)
    changed = 0
    with session_scope(url, write=True) as session:
        for row in session.execute(select(Subscription).where(Subscription.origin == origin)).scalars():
            kept = [] if drop is None else [t for t in row.topic_list if t not in drop]
            if kept == row.topic_list:
                continue
            changed += 1
            if kept:
                row.topics = ",".join(kept)
            else:
                session.delete(row)
    return changed


def stop(channel: str, address: str, *, url: str | None = None) -> bool:
    """« STOP »: the subscription of this address on this channel ends at once (row deleted)."""
    with session_scope(url, write=True) as session:
        done = session.execute(
            delete(Subscription).where(Subscription.channel == channel, Subscription.address == address)
        ).rowcount
    return bool(done)


def stop_by_id(subscription_id: int, *, url: str | None = None) -> bool:
    """The unsubscribe link of an alert e-mail."""
    with session_scope(url, write=True) as session:
        return bool(session.execute(delete(Subscription).where(Subscription.id == subscription_id)).rowcount)


def forget_origin(origin: str, *, url: str | None = None) -> int:
    """« Oubliez mes données »: every subscription made from this conversation is deleted."""
    with session_scope(url, write=True) as session:
        return session.execute(delete(Subscription).where(Subscription.origin == origin)).rowcount or 0


@dataclass(frozen=True)
class AlertsPurge:
    unconfirmed: int  # subscriptions never confirmed (e-mail link, Messenger opt-in) in time
    expired: int  # consents older than the retention limit
    deliveries: int  # delivery rows of alerts ended long ago


def purge_alerts(
    *,
    consent_days: int,
    deliveries_days: int,
    confirmation_hours: int,
    now: datetime | None = None,
    url: str | None = None,
) -> AlertsPurge:
    """Retention limits (territory/demo/privacy.yml): idempotent, a second run changes nothing."""
    now = now or local_now()
    with session_scope(url, write=True) as session:
        unconfirmed = session.execute(
            delete(Subscription).where(
                Subscription.status == "pending",
                Subscription.consent_at < now - timedelta(hours=confirmation_hours),
            )
        ).rowcount
        expired = session.execute(
            delete(Subscription).where(Subscription.consent_at < now - timedelta(days=consent_days))
        ).rowcount
        deliveries = session.execute(
            delete(Delivery).where(Delivery.updated_at < now - timedelta(days=deliveries_days))
        ).rowcount
    return AlertsPurge(unconfirmed or 0, expired or 0, deliveries or 0)
