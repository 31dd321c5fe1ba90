"""Statistics tables (SQLAlchemy 1.4, 2.0-style) in the application database; migration
booking/migrations/versions/0013_analytics.py creates them.

Filled from the conversation store by `python -m analytics.ingest` (analytics/ingest.py).
No message text and no sender id: a conversation is a pseudonym (keyed hash of the sender
id), a message is its time, intent and topic. The one exception is `analytics_unanswered`:
the questions the assistant could not answer, or whose answer was rated unhelpful, and the
citizens' comments, masked (core/masking.py) and kept only as long as the conversations.

- `analytics_sessions`: one row per session of a conversation (Rasa's sessions: a new one
  after an hour of silence): when, channel, number of messages, fallbacks, first topic,
  whether an agent was asked for, the satisfaction asked and given.
- `analytics_messages`: one row per citizen message: when (hour and weekday, local time),
  intent, topic, whether it fell back.
- `analytics_forms`: one row per form started: the form, how it ended and the question it
  ended at when it did not end with every answer.
- `analytics_unanswered`: see above.
- `analytics_state`: the job's bookmark in the conversation store (the last event read).

Times are naive UTC; `day`, `hour` and `weekday` are the territory's local calendar.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

from core.db import NAMING_CONVENTION

AnalyticsBase = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

# How a form ended. `open`: the conversation's latest session still has it active (the
# dashboard counts it as abandoned once the conversation has been silent for an hour).
OUTCOMES = ("completed", "stopped", "handoff", "failed", "switched", "blocked", "abandoned", "open")
KINDS = ("fallback", "unhelpful", "comment")  # unanswered questions
RATINGS = ("yes", "no")
MAX_TEXT = 500


def _session_id() -> Column:
    """The session a row belongs to; deleted with it (a session is rebuilt whole)."""
    return Column(
        Integer, ForeignKey("analytics_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )


class AnalyticsSession(AnalyticsBase):
    __tablename__ = "analytics_sessions"
    id = Column(Integer, primary_key=True)
    conversation = Column(String(16), nullable=False)  # pseudonym (analytics/ingest.py)
    source_event_id = Column(Integer, nullable=False)  # the session's first event in the store
    started_at = Column(DateTime, nullable=False)
    ended_at = Column(DateTime, nullable=False)  # the session's latest event
    day = Column(Date, nullable=False)
    hour = Column(Integer, nullable=False)
    channel = Column(String(40), nullable=False)
    turns = Column(Integer, nullable=False)
    fallbacks = Column(Integer, nullable=False)
    topic = Column(String(40))
    handoff = Column(Boolean, nullable=False, default=False)
    satisfaction_topic = Column(String(40))  # the flow after which « Cette réponse vous a-t-elle aidé ? »
    satisfaction = Column(String(3))  # yes | no (None: not answered)
    messages = relationship("AnalyticsMessage", cascade="all, delete-orphan", passive_deletes=True)
    forms = relationship("AnalyticsForm", cascade="all, delete-orphan", passive_deletes=True)
    unanswered = relationship("AnalyticsUnanswered", cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
        UniqueConstraint("conversation", "source_event_id", name="uq_analytics_sessions_source"),
        CheckConstraint("satisfaction IN ('yes', 'no')", name="satisfaction_known"),
        Index("ix_analytics_sessions_day", "day"),
    )


class AnalyticsMessage(AnalyticsBase):
    __tablename__ = "analytics_messages"
    id = Column(Integer, primary_key=True)
    session_id = _session_id()
    at = Column(DateTime, nullable=False)
    day = Column(Date, nullable=False)
    hour = Column(Integer, nullable=False)
    weekday = Column(Integer, nullable=False)  # 0 = Monday
    intent = Column(String(100), nullable=False)
    topic = Column(String(40), nullable=False)
    fallback = Column(Boolean, nullable=False)

    __table_args__ = (Index("ix_analytics_messages_day", "day"),)


class AnalyticsForm(AnalyticsBase):
    __tablename__ = "analytics_forms"
    id = Column(Integer, primary_key=True)
    session_id = _session_id()
    form = Column(String(60), nullable=False)
    started_at = Column(DateTime, nullable=False)
    day = Column(Date, nullable=False)
    outcome = Column(String(12), nullable=False)
    question = Column(String(60))  # the slot asked when the form ended (None when completed)

    __table_args__ = (
        CheckConstraint(
            "outcome IN ('completed', 'stopped', 'handoff', 'failed', 'switched', 'blocked', "
            "'abandoned', 'open')",
            name="outcome_known",
        ),
        Index("ix_analytics_forms_day", "day"),
    )


class AnalyticsUnanswered(AnalyticsBase):
    __tablename__ = "analytics_unanswered"
    id = Column(Integer, primary_key=True)
    session_id = _session_id()
    at = Column(DateTime, nullable=False)
    day = Column(Date, nullable=False)
    kind = Column(String(10), nullable=False)
    text = Column(String(MAX_TEXT), nullable=False)  # masked (core/masking.py)
    intent = Column(String(100))  # the closest intent the NLU saw, a hint for the content team
    confidence = Column(Float)

    __table_args__ = (
        CheckConstraint("kind IN ('fallback', 'unhelpful', 'comment')", name="kind_known"),
        Index("ix_analytics_unanswered_day", "day"),
    )


class AnalyticsState(AnalyticsBase):
    __tablename__ = "analytics_state"
    key = Column(String(40), primary_key=True)
    value = Column(String(100), nullable=False)
