"""Appointments made, moved and cancelled per day, for the statistics dashboard (plain Python).

Read from the booking tables, whatever the channel (chat, the pages ANTS links to, agents):
- made: `created_at` in the day;
- cancelled: `cancelled_at` in the day;
- moved: a live appointment whose `updated_at` is later than its `created_at` (the engine
  changes `updated_at` when it moves or cancels an appointment, and when the retention
  anonymises it — anonymised rows are left out). An appointment moved twice counts once, on
  the day of its latest move: the table keeps no history of moves.
Times of the booking tables are the territory's wall-clock time, so a day is a local day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Dict

from sqlalchemy import and_, select

from booking.models import Appointment
from booking.privacy import ANONYMOUS
from core.db import session_scope

REASON_LABELS = {
    "CNI": "Carte d'identité",
    "PASSPORT": "Passeport",
    "CNI-PASSPORT": "Carte d'identité et passeport",
    "ENCOMBRANTS": "Encombrants",
}
# A change within a minute of the booking is the booking itself (e.g. the ANTS flag).
MOVE_AFTER = timedelta(minutes=1)


@dataclass
class BookingCounts:
    by_day: Dict[date, Counter]  # day → {"made", "moved", "cancelled"}
    by_reason: Dict[str, Counter]  # reason → the same


def booking_counts(start: date, end: date, url: str | None = None) -> BookingCounts:
    since, until = datetime.combine(start, time.min), datetime.combine(end + timedelta(days=1), time.min)
    by_day: Dict[date, Counter] = defaultdict(Counter)
    by_reason: Dict[str, Counter] = defaultdict(Counter)

    with session_scope(url) as session:
        for what, column, extra in (
            ("made", Appointment.created_at, True),
            ("cancelled", Appointment.cancelled_at, Appointment.status == "cancelled"),
            (
                "moved",
                Appointment.updated_at,
                and_(Appointment.status != "cancelled", Appointment.surname != ANONYMOUS),
            ),
        ):
            rows = session.execute(
                select(column, Appointment.created_at, Appointment.reason).where(
                    column >= since, column < until, extra
                )
            )
            for moment, created_at, reason in rows:
                if what == "moved" and moment - created_at <= MOVE_AFTER:
                    continue  # changed with the booking itself, never moved
                by_day[moment.date()][what] += 1
                by_reason[reason][what] += 1
    return BookingCounts(dict(by_day), dict(by_reason))
