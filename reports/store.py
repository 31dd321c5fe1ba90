"""Reports in the application database: references, the same problem reported twice, look-ups.

* Reference ``SIG-AAAA-NNNNNN``: the year and 6 random digits (not a sequence: the next report's
  number cannot be guessed from one's own). A reference alone still discloses nothing: tracking
  asks the contact given with the report, and failed tries are counted (booking/attempts.py).
* The same problem: a report of the same category within ``SAME_PLACE_M`` metres (both places
  have coordinates) or at the same address (both found by the geocoder), in the last
  ``SAME_PERIOD`` and not closed, is the same report: its counter goes up and the citizen gets
  its reference (« déjà signalé, merci »). Described places (« devant l'école ») are not compared.
* Everything is synchronous (SQLAlchemy sessions): the actions call it through asyncio.to_thread.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from booking.engine import local_now
from booking.models import Report, Upload
from core.db import session_scope
from core.text import fold

SAME_PLACE_M = 50.0
SAME_PERIOD = timedelta(days=7)
EARTH_RADIUS_M = 6_371_000.0
PLACE_KINDS = ("address", "location", "described")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine; enough within a commune)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def new_reference(year: int) -> str:
    return f"SIG-{year:04d}-{secrets.randbelow(1_000_000):06d}"


@dataclass(frozen=True)
class Place:
    kind: str  # address | location | described
    label: str
    latitude: float | None = None
    longitude: float | None = None

    def same_as(self, other: Place) -> bool:
        if None not in (self.latitude, self.longitude, other.latitude, other.longitude):
            return distance_m(self.latitude, self.longitude, other.latitude, other.longitude) <= SAME_PLACE_M
        if self.kind == other.kind == "address":
            return fold(self.label) == fold(other.label)
        return False


@dataclass(frozen=True)
class NewReport:
    category: str
    service: str
    place: Place
    description: str
    channel: str
    sender_id: str
    photo_id: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class ReportView:
    """What the forwarding and tracking need, detached from the session."""

    id: int
    reference: str
    category: str
    service: str
    place_kind: str
    place: str
    latitude: float | None
    longitude: float | None
    description: str
    photo_id: str | None
    contact_email: str | None
    contact_phone: str | None
    channel: str
    status: str
    reporters: int
    created_at: datetime
    updated_at: datetime
    forward_status: str
    forward_attempts: int
    next_attempt_at: datetime | None
    backoffice_url: str | None

    @classmethod
    def of(cls, row: Report) -> ReportView:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Saved:
    report: ReportView
    duplicate: bool  # True: an existing report was counted again


def _same_place_row(session, category: str, place: Place, now: datetime) -> Report | None:
    if place.kind == "described":
        return None
    recent = (
        session.execute(
            select(Report)
            .where(
                Report.category == category,
                Report.created_at >= now - SAME_PERIOD,
                Report.status != "closed",
            )
            .order_by(Report.created_at.desc())
        )
        .scalars()
        .all()
    )
    for row in recent:
        if place.same_as(Place(row.place_kind, row.place, row.latitude, row.longitude)):
            return row
    return None


def find_same(
    category: str, place: Place, *, now: datetime | None = None, url: str | None = None
) -> ReportView | None:
    """A recent open report of the same category at the same place, or None (reads only)."""
    with session_scope(url) as session:
        row = _same_place_row(session, category, place, local_now(now))
        return ReportView.of(row) if row else None


def count_again(reference: str, *, now: datetime | None = None, url: str | None = None) -> ReportView | None:
    """One more citizen reported this problem: the counter goes up."""
    moment = local_now(now)
    with session_scope(url, write=True) as session:
        session.execute(
            update(Report)
            .where(Report.reference == reference)
            .values(reporters=Report.reporters + 1, updated_at=moment)
            .execution_options(synchronize_session=False)
        )
        row = session.execute(select(Report).where(Report.reference == reference)).scalar_one_or_none()
        return ReportView.of(row) if row else None


def save_report(
    report: NewReport, *, forward: bool, now: datetime | None = None, url: str | None = None
) -> Saved:
    """Store a report, or count an existing one at the same place (checked again here, in the
    write transaction: two citizens reporting at once make one report with two reporters).
    `forward`: the report waits in the outbox for the back-office (forward_status pending)."""
    if report.place.kind not in PLACE_KINDS:
        raise ValueError(f"unknown place kind {report.place.kind!r}")
    moment = local_now(now)
    for _ in range(10):  # a reference already taken (1 in a million): draw another one
        try:
            with session_scope(url, write=True) as session:
                same = _same_place_row(session, report.category, report.place, moment)
                if same is not None:
                    same.reporters += 1
                    same.updated_at = moment
                    session.flush()
                    return Saved(ReportView.of(same), True)
                row = Report(
                    reference=new_reference(moment.year),
                    category=report.category,
                    service=report.service,
                    place_kind=report.place.kind,
                    place=report.place.label[:300],
                    latitude=report.place.latitude,
                    longitude=report.place.longitude,
                    description=report.description[:1000],
                    photo_id=report.photo_id,
                    contact_email=report.contact_email,
                    contact_phone=report.contact_phone,
                    channel=report.channel,
                    sender_id=report.sender_id,
                    status="received",
                    reporters=1,
                    created_at=moment,
                    updated_at=moment,
                    forward_status="pending" if forward else "none",
                    forward_attempts=0,
                    next_attempt_at=moment if forward else None,
                )
                session.add(row)
                session.flush()
                if report.photo_id:
                    session.execute(
                        update(Upload)
                        .where(Upload.id == report.photo_id)
                        .values(report_reference=row.reference)
                        .execution_options(synchronize_session=False)
                    )
                return Saved(ReportView.of(row), False)
        except IntegrityError:
            continue
    raise RuntimeError("no free report reference after 10 draws")


def find_report(reference: str, *, url: str | None = None) -> ReportView | None:
    with session_scope(url) as session:
        row = session.execute(select(Report).where(Report.reference == reference)).scalar_one_or_none()
        return ReportView.of(row) if row else None


def set_status(reference: str, status: str, *, now: datetime | None = None, url: str | None = None) -> bool:
    """An agent's update (received → in_progress → closed). True when the report exists."""
    with session_scope(url, write=True) as session:
        result = session.execute(
            update(Report)
            .where(Report.reference == reference)
            .values(status=status, updated_at=local_now(now))
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1
