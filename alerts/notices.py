"""Active alerts, for the welcome and for related answers (interface 3 of the project).

`active_alerts(topics, sector)` returns the confirmed alerts valid now, newest first: those
of the topics asked (None: all) and of the sector (an alert without sectors concerns the
whole commune; no sector asked: every alert). Blocking (database): run it in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Tuple

from sqlalchemy import select

from alerts.models import Alert as AlertRow
from alerts.subscriptions import local_now
from core.db import session_scope


@dataclass(frozen=True)
class Alert:
    id: str
    topic: str
    sectors: Tuple[str, ...]  # empty: the whole commune
    text: str
    link: str | None
    starts_at: datetime
    ends_at: datetime

    def concerns(self, sector: str | None) -> bool:
        return sector is None or not self.sectors or sector in self.sectors


def active_alerts(
    topics: List[str] | None = None,
    sector: str | None = None,
    *,
    now: datetime | None = None,
    url: str | None = None,
) -> List[Alert]:
    now = now or local_now()
    query = select(AlertRow).where(
        AlertRow.status == "confirmed", AlertRow.starts_at <= now, AlertRow.ends_at > now
    )
    if topics is not None:
        query = query.where(AlertRow.topic.in_(list(topics)))
    with session_scope(url) as session:
        rows = session.execute(query.order_by(AlertRow.starts_at.desc(), AlertRow.id)).scalars().all()
        alerts = [
            Alert(
                row.id,
                row.topic,
                tuple(s for s in row.sectors.split(",") if s),
                row.text,
                row.link,
                row.starts_at,
                row.ends_at,
            )
            for row in rows
        ]
    return [alert for alert in alerts if alert.concerns(sector)]
