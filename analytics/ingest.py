"""The statistics job: new events of the conversation store → the statistics tables
(`python -m analytics.ingest`; `make run` runs it every minute, the dashboard also before it
answers when the latest run is a few seconds old).

Incremental and idempotent. A bookmark (`analytics_state.last_event_id`) says how far the
store was read. Each run takes the next events (at most BATCH_EVENTS), and for every
conversation among them re-reads its events from the start of the session that holds its
first new event, then replaces that conversation's rows from that session on. Running it
twice, or after a crash half-way, gives the same rows: a session is always rebuilt whole from
the store, never added to. The write transaction locks the bookmark, so the job and the
dashboard never run it at the same time (SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE).

The sender id never reaches the tables: a conversation is `pseudonym(sender_id)`, an HMAC-SHA256
keyed by GRU_ANALYTICS_SECRET (else a secret kept in var/analytics.key, created on first use),
so that the same conversation gets the same pseudonym in every run and nobody can compute it
from a sender id without the key. The unanswered questions' masked texts are deleted after
the conversations' retention (privacy file, `conversations_days`).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as DbSession

from analytics.models import (
    AnalyticsForm,
    AnalyticsMessage,
    AnalyticsSession,
    AnalyticsState,
    AnalyticsUnanswered,
)
from analytics.sessions import Session, local, split_sessions
from core.clock import territory_tz
from core.content import ContentError
from core.db import session_scope
from core.privacy import EVENTS, events_engine, load_privacy
from core.signing import persistent_secret

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SECRET_FILE = ROOT / "var" / "analytics.key"
BOOKMARK = "last_event_id"
BATCH_EVENTS = 5000


@lru_cache(maxsize=1)
def _secret() -> bytes:
    value = os.environ.get("GRU_ANALYTICS_SECRET") or persistent_secret(SECRET_FILE)
    return value.encode("utf-8")


def pseudonym(sender_id: str) -> str:
    """The statistics' name of a conversation: 16 hex characters, stable, not reversible."""
    return hmac.new(_secret(), sender_id.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


@dataclass
class IngestReport:
    events: int = 0  # events of the store read for the first time
    conversations: int = 0  # conversations whose rows were rebuilt
    sessions: int = 0  # sessions written
    unanswered_purged: int = 0

    def summary_fr(self) -> str:
        return (
            f"Statistiques : {self.events} événement(s) nouveau(x), {self.conversations} conversation(s) "
            f"mise(s) à jour ({self.sessions} session(s)), {self.unanswered_purged} question(s) non "
            "comprise(s) supprimée(s) (durée de conservation)."
        )


def _rows(session: Session, conversation: str, tz: ZoneInfo) -> AnalyticsSession:
    start = local(session.started_at, tz)
    row = AnalyticsSession(
        conversation=conversation,
        source_event_id=session.source_event_id,
        started_at=session.started_at,
        ended_at=session.ended_at,
        day=start.date(),
        hour=start.hour,
        channel=session.channel,
        turns=session.turns,
        fallbacks=session.fallbacks,
        topic=session.topic,
        handoff=session.handoff,
        satisfaction_topic=session.satisfaction_topic,
        satisfaction=session.satisfaction,
    )
    for message in session.messages:
        at = local(message.at, tz)
        row.messages.append(
            AnalyticsMessage(
                at=message.at,
                day=at.date(),
                hour=at.hour,
                weekday=at.weekday(),
                intent=message.intent[:100],
                topic=message.topic,
                fallback=message.fallback,
            )
        )
    for form in session.forms:
        row.forms.append(
            AnalyticsForm(
                form=form.form[:60],
                started_at=form.started_at,
                day=local(form.started_at, tz).date(),
                outcome=form.outcome,
                question=form.question,
            )
        )
    for item in session.unanswered:
        if item.text:
            row.unanswered.append(
                AnalyticsUnanswered(
                    at=item.at,
                    day=local(item.at, tz).date(),
                    kind=item.kind,
                    text=item.text,
                    intent=(item.intent or None) and item.intent[:100],
                    confidence=item.confidence,
                )
            )
    return row


def _bookmark(db: DbSession) -> AnalyticsState:
    state = db.get(AnalyticsState, BOOKMARK, with_for_update=True)
    if state is None:
        state = AnalyticsState(key=BOOKMARK, value="0")
        db.add(state)
        db.flush()
    return state


def _batch(connection, after: int) -> int | None:
    """The id of the last event of the next batch (None: nothing new)."""
    newer = select(EVENTS.c.id).where(EVENTS.c.id > after).order_by(EVENTS.c.id)
    top = connection.execute(newer.offset(BATCH_EVENTS - 1).limit(1)).scalar()
    if top is None:
        top = connection.execute(select(func.max(EVENTS.c.id)).where(EVENTS.c.id > after)).scalar()
    return top


def _session_start(connection, sender: str, first_new: int) -> int:
    """The id where the session holding `first_new` starts (its `session_started` event)."""
    started = connection.execute(
        select(func.max(EVENTS.c.id)).where(
            EVENTS.c.sender_id == sender,
            EVENTS.c.type_name == "session_started",
            EVENTS.c.id <= first_new,
        )
    ).scalar()
    if started is not None:
        return started
    return connection.execute(select(func.min(EVENTS.c.id)).where(EVENTS.c.sender_id == sender)).scalar()


def _events(connection, sender: str, start: int, top: int):
    rows = connection.execute(
        select(EVENTS.c.id, EVENTS.c.data)
        .where(EVENTS.c.sender_id == sender, EVENTS.c.id >= start, EVENTS.c.id <= top)
        .order_by(EVENTS.c.id)
    )
    for event_id, data in rows:
        try:
            event = json.loads(data or "{}")
        except ValueError:
            continue  # a row another program wrote: not an event of Rasa's
        if isinstance(event, dict):
            yield event_id, event


def ingest_once(
    *, tracker_url: str | None = None, db_url: str | None = None, tz: ZoneInfo | None = None
) -> IngestReport:
    """Read one batch of new events (see the module's docstring); an empty report when none."""
    report = IngestReport()
    store = events_engine(tracker_url)
    if store is None:
        return report
    tz = tz or territory_tz()
    with session_scope(db_url, write=True) as db, store.connect() as connection:
        state = _bookmark(db)
        after = int(state.value)
        top = _batch(connection, after)
        if top is None:
            return report
        senders = connection.execute(
            select(EVENTS.c.sender_id, func.min(EVENTS.c.id), func.count())
            .where(EVENTS.c.id > after, EVENTS.c.id <= top)
            .group_by(EVENTS.c.sender_id)
        ).all()
        for sender, first_new, count in senders:
            start = _session_start(connection, sender, first_new)
            sessions = split_sessions(_events(connection, sender, start, top))
            conversation = pseudonym(sender)
            db.execute(
                delete(AnalyticsSession).where(
                    AnalyticsSession.conversation == conversation,
                    AnalyticsSession.source_event_id >= start,
                )
            )
            db.add_all(_rows(session, conversation, tz) for session in sessions)
            report.events += count
            report.conversations += 1
            report.sessions += len(sessions)
        state.value = str(top)
    return report


def purge_unanswered(now: datetime, days: int, db_url: str | None = None) -> int:
    """Delete the masked texts older than the conversations' retention; the number deleted."""
    before = now.astimezone(timezone.utc).replace(tzinfo=None) - timedelta(days=days)
    with session_scope(db_url, write=True) as db:
        return db.execute(delete(AnalyticsUnanswered).where(AnalyticsUnanswered.at < before)).rowcount or 0


def ingest(
    *, tracker_url: str | None = None, db_url: str | None = None, now: datetime | None = None
) -> IngestReport:
    """Everything new in the store, batch after batch, then the retention of the texts."""
    total = IngestReport()
    while True:
        batch = ingest_once(tracker_url=tracker_url, db_url=db_url)
        if batch.events == 0:
            break
        total.events += batch.events
        total.conversations += batch.conversations
        total.sessions += batch.sessions
    now = now or datetime.now(timezone.utc)
    total.unanswered_purged = purge_unanswered(now, load_privacy().retention.conversations_days, db_url)
    return total


def forget(sender_id: str, db_url: str | None = None) -> int:
    """« Oubliez mes données »: every statistics row of this conversation; the sessions deleted."""
    with session_scope(db_url, write=True) as db:
        return (
            db.execute(
                delete(AnalyticsSession).where(AnalyticsSession.conversation == pseudonym(sender_id))
            ).rowcount
            or 0
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analytics.ingest",
        description="Met à jour les tables de statistiques à partir des conversations enregistrées.",
    )
    parser.parse_args(argv)
    try:
        report = ingest()
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(
            "Statistiques non mises à jour : base de données injoignable ou incomplète "
            f"({type(exc).__name__}).",
            file=sys.stderr,
        )
        return 1
    if report.events or report.unanswered_purged:
        print(report.summary_fr())
    return 0


if __name__ == "__main__":  # pragma: no cover - operators' entry point
    sys.exit(main())
