"""Hand-offs to agents and callback requests per day and per service, for the statistics
dashboard (plain Python, read from handoff_requests and callback_requests).

The tables' times are naive UTC; a day is the territory's local day. The wait is from the
request to the agent taking it, for the hand-offs an agent took.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, List
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.db import session_scope
from handoff.models import CallbackRequest, HandoffRequest


@dataclass
class HandoffCounts:
    by_day: Dict[date, Counter] = field(default_factory=dict)  # asked, taken, not_taken, callbacks
    by_service: Dict[str, Counter] = field(default_factory=dict)
    waits: Dict[date, List[float]] = field(default_factory=dict)  # minutes, per day
    service_waits: Dict[str, List[float]] = field(default_factory=dict)


def _utc_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    def utc(day: date) -> datetime:
        return datetime.combine(day, time.min, tz).astimezone(timezone.utc).replace(tzinfo=None)

    return utc(start), utc(end + timedelta(days=1))


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.replace(tzinfo=timezone.utc).astimezone(tz).date()


def handoff_counts(start: date, end: date, tz: ZoneInfo, url: str | None = None) -> HandoffCounts:
    since, until = _utc_bounds(start, end, tz)
    counts = HandoffCounts(defaultdict(Counter), defaultdict(Counter), defaultdict(list), defaultdict(list))
    with session_scope(url) as session:
        requests = session.execute(
            select(
                HandoffRequest.created_at,
                HandoffRequest.taken_at,
                HandoffRequest.close_reason,
                HandoffRequest.service,
            ).where(HandoffRequest.created_at >= since, HandoffRequest.created_at < until)
        )
        for created_at, taken_at, reason, service in requests:
            day = _local_day(created_at, tz)
            for counter in (counts.by_day[day], counts.by_service[service]):
                counter["asked"] += 1
                counter["taken"] += taken_at is not None
                counter["not_taken"] += reason == "not_taken"
            if taken_at is not None:
                minutes = (taken_at - created_at).total_seconds() / 60
                counts.waits[day].append(minutes)
                counts.service_waits[service].append(minutes)
        callbacks = session.execute(
            select(CallbackRequest.created_at, CallbackRequest.service).where(
                CallbackRequest.created_at >= since, CallbackRequest.created_at < until
            )
        )
        for created_at, service in callbacks:
            counts.by_day[_local_day(created_at, tz)]["callbacks"] += 1
            counts.by_service[service]["callbacks"] += 1
    return counts
