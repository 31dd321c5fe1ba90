"""Alerts tables (SQLAlchemy 1.4, 2.0-style) in the application database; migration
booking/migrations/versions/0008_alerts.py creates them.

Times are the territory's wall-clock times without an offset, as in the booking tables.

- `alert_subscriptions`: one row per channel and address (a Messenger PSID, an e-mail, a
  phone number, a website conversation), its topics and optional sector, the consent given
  (when, which wording version) and, for Messenger, Meta's notification_messages token with
  its frequency and expiry. Unsubscribing deletes the row: nothing is kept.
- `alerts`: what the collectivité broadcast (topic, sectors, text, link) and its validity.
- `alert_deliveries`: one row per (alert, subscription), the unique key that makes a
  broadcast idempotent: re-running it, even after a crash, never sends twice.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base

from core.db import NAMING_CONVENTION

NAMING = NAMING_CONVENTION
AlertsBase = declarative_base(metadata=MetaData(naming_convention=NAMING))

SUBSCRIPTION_STATUSES = ("pending", "active")
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "interrupted")


class Subscription(AlertsBase):
    __tablename__ = "alert_subscriptions"
    id = Column(Integer, primary_key=True)
    channel = Column(String(20), nullable=False)  # messenger | email | sms | web
    address = Column(String(320), nullable=False)  # PSID, e-mail, +33… number, web conversation id
    origin = Column(String(300), nullable=False, index=True)  # « <input channel>:<sender id> » of the chat
    topics = Column(String(300), nullable=False)  # comma-separated topic keys
    sector = Column(String(64))  # None: the whole commune
    status = Column(String(20), nullable=False)
    consent_at = Column(DateTime, nullable=False)
    consent_version = Column(String(40), nullable=False)
    confirmed_at = Column(DateTime)  # e-mail: the link was followed; Messenger: the token came
    token = Column(String(500))  # Messenger notification_messages_token
    token_frequency = Column(String(20))  # DAILY | WEEKLY | MONTHLY
    token_expires_at = Column(DateTime)
    last_sent_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("channel", "address", name="uq_alert_subscriptions_channel_address"),
        CheckConstraint("status IN ('pending', 'active')", name="status_known"),
        CheckConstraint("channel IN ('messenger', 'email', 'sms', 'web')", name="channel_known"),
    )

    @property
    def topic_list(self) -> list[str]:
        return [t for t in (self.topics or "").split(",") if t]


class Alert(AlertsBase):
    __tablename__ = "alerts"
    id = Column(String(32), primary_key=True)
    topic = Column(String(40), nullable=False)
    sectors = Column(String(300), nullable=False, default="")  # comma-separated; "" = everywhere
    text = Column(Text, nullable=False)
    link = Column(String(500))
    status = Column(String(20), nullable=False)  # preview | confirmed
    created_at = Column(DateTime, nullable=False)
    starts_at = Column(DateTime)
    ends_at = Column(DateTime)

    __table_args__ = (CheckConstraint("status IN ('preview', 'confirmed')", name="status_known"),)


class Delivery(AlertsBase):
    __tablename__ = "alert_deliveries"
    id = Column(Integer, primary_key=True)
    alert_id = Column(String(32), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False)
    subscription_id = Column(
        Integer, ForeignKey("alert_subscriptions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    channel = Column(String(20), nullable=False)
    status = Column(String(20), nullable=False)
    detail = Column(String(40))  # why it failed: rejected, unavailable, frequency, expired…
    attempts = Column(Integer, nullable=False, default=0)
    updated_at = Column(DateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("alert_id", "subscription_id", name="uq_alert_deliveries_alert_subscription"),
        Index("ix_alert_deliveries_alert_status", "alert_id", "status"),
    )
