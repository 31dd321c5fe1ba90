"""Personal data of hand-offs and callback requests: the retention purge and « oubliez mes
données » (plain Python).

- A callback request holds the citizen's phone number or e-mail and the moment they chose
  (free words). `callbacks_days` days after it was made (territory/demo/privacy.yml), or at
  once when the conversation asks to be forgotten, they are erased with the request's
  conversation pseudonym; the row stays (reference, service, topic, kind of contact, dates)
  for the statistics (handoff/stats.py).
- A hand-off holds the conversation's Rasa sender id, which links a person to a service: the
  agent console needs it while the hand-off is active (to write to the citizen); once closed,
  it is erased `conversations_days` days after the end (the transcript it pointed to is purged
  then too), or at once on « oubliez mes données ». An active hand-off keeps it (the
  conversation is paused meanwhile: the citizen's messages go to the agent).

A callback request never stores the sender id: `conversation_key` is the statistics' keyed
pseudonym (analytics/ingest.py, GRU_ANALYTICS_SECRET) of a prefixed sender id, so that the
key is stable across restarts and processes, cannot be computed back from a sender id without
the secret, and does not equal the conversation's pseudonym in the statistics tables (a
request's contact cannot be joined to the topics of the conversation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from analytics.ingest import pseudonym
from core.db import session_scope
from handoff.models import CallbackRequest, HandoffRequest

# What an erased request keeps in its non-null text columns.
ERASED = ""
_CALLBACK_ERASED = {"contact": ERASED, "moment": ERASED, "conversation": None}


def conversation_key(sender_id: str) -> str:
    """The pseudonym stored with a callback request (see the module's docstring)."""
    return pseudonym(f"callback_requests:{sender_id}")


@dataclass(frozen=True)
class HandoffPurge:
    callbacks: int  # callback requests whose contact was erased
    handoffs: int  # closed hand-offs whose sender id was erased


def _naive_utc(moment: datetime | None) -> datetime:
    """The tables' times are naive UTC."""
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _personal_callbacks():
    return (CallbackRequest.contact != ERASED) | CallbackRequest.conversation.isnot(None)


def purge_handoffs(
    callbacks_days: int,
    conversations_days: int,
    *,
    now: datetime | None = None,
    url: str | None = None,
) -> HandoffPurge:
    moment = _naive_utc(now)
    with session_scope(url, write=True) as session:
        callbacks = session.execute(
            update(CallbackRequest)
            .where(
                CallbackRequest.created_at < moment - timedelta(days=callbacks_days),
                _personal_callbacks(),
            )
            .values(**_CALLBACK_ERASED)
            .execution_options(synchronize_session=False)
        ).rowcount
        handoffs = session.execute(
            update(HandoffRequest)
            .where(
                HandoffRequest.status == "closed",
                HandoffRequest.closed_at < moment - timedelta(days=conversations_days),
                HandoffRequest.conversation_id != ERASED,
            )
            .values(conversation_id=ERASED)
            .execution_options(synchronize_session=False)
        ).rowcount
    return HandoffPurge(callbacks or 0, handoffs or 0)


def forget_conversation(sender_id: str, *, url: str | None = None) -> HandoffPurge:
    """« Oubliez mes données »: this conversation's callback requests and closed hand-offs."""
    with session_scope(url, write=True) as session:
        callbacks = session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.conversation == conversation_key(sender_id))
            .values(**_CALLBACK_ERASED)
            .execution_options(synchronize_session=False)
        ).rowcount
        handoffs = session.execute(
            update(HandoffRequest)
            .where(HandoffRequest.conversation_id == sender_id, HandoffRequest.status == "closed")
            .values(conversation_id=ERASED)
            .execution_options(synchronize_session=False)
        ).rowcount
    return HandoffPurge(callbacks or 0, handoffs or 0)
