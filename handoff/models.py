"""Hand-off tables (SQLAlchemy 1.4, 2.0-style); created by migration 0010_staff.

- `handoff_requests`: one row per hand-off: the conversation (Rasa sender id and input
  channel), the service whose queue it is in, the topic, the state (waiting → taken →
  closed), the agent who holds it, when and why it ended. No message text: the transcript
  stays in Rasa's tracker store.
- `callback_requests`: a citizen's request to be called back (reference RAP-AAAA-NNNNNN),
  with the contact they gave and their consent; sent to the service by e-mail. `conversation`
  is a keyed pseudonym of the conversation (handoff/privacy.py), never the sender id: enough
  for « oubliez mes données » to find the conversation's requests (migration 0014).

Personal data (handoff/privacy.py, ops/purge.py): a callback request loses its contact, its
moment and its conversation `callbacks_days` days after it was made, or at once on « oubliez
mes données »; a closed hand-off loses its sender id `conversations_days` days after it ended,
or at once. The rows stay, anonymous, for the statistics (handoff/stats.py).

Times are naive UTC.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Integer, MetaData, String
from sqlalchemy.orm import declarative_base

from core.db import NAMING_CONVENTION

HandoffBase = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

STATUSES = ("waiting", "taken", "closed")


class HandoffRequest(HandoffBase):
    __tablename__ = "handoff_requests"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    channel = Column(String(40), nullable=False)
    service = Column(String(40), nullable=False)
    topic = Column(String(60))
    status = Column(String(20), nullable=False)
    created_at = Column(DateTime, nullable=False)
    taken_at = Column(DateTime)
    agent_id = Column(Integer)  # staff_agents.id (no foreign key: the hand-off survives the account)
    closed_at = Column(DateTime)
    close_reason = Column(String(40))

    __table_args__ = (
        CheckConstraint("status IN ('waiting', 'taken', 'closed')", name="status_known"),
        Index("ix_handoff_requests_status_service", "status", "service"),
        Index("ix_handoff_requests_conversation_id", "conversation_id"),
    )


class CallbackRequest(HandoffBase):
    __tablename__ = "callback_requests"
    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    service = Column(String(40), nullable=False)
    topic = Column(String(60))
    contact_kind = Column(String(10), nullable=False)
    contact = Column(String(320), nullable=False)
    moment = Column(String(200), nullable=False)
    conversation = Column(String(16), index=True)  # handoff.privacy.conversation_key; None once erased
    consent_at = Column(DateTime, nullable=False)
    created_at = Column(DateTime, nullable=False)
    sent_at = Column(DateTime)

    __table_args__ = (CheckConstraint("contact_kind IN ('phone', 'email')", name="contact_kind_known"),)
