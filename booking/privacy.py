"""Retention limits of the application database (territory/demo/privacy.yml, `retention`).

- Appointments, `bookings_days_after` days after their date: the personal fields (surname,
  e-mail, phone, pre-application numbers, pick-up address, conversation id) are erased and
  the row stays, anonymous, for the statistics (date, site, reason, people, items, status).
  The pre-application numbers they held (application_claims) and the ANTS outbox rows about
  them go too.
- Remembered addresses, `remembered_address_days` days after the citizen's consent: deleted.

Plain Python (python -m ops.purge runs it every day); idempotent: a second run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from booking.engine import local_now
from booking.models import AntsOutbox, ApplicationClaim, Appointment, RememberedAddress
from core.db import session_scope
from core.privacy import Retention

ANONYMOUS = "[anonymisé]"  # the surname of an anonymised appointment (the column is required)


@dataclass(frozen=True)
class BookingPurge:
    appointments: int  # appointments anonymised by this run
    addresses: int  # remembered addresses deleted
    outbox: int  # ANTS outbox rows deleted


def purge_bookings(
    retention: Retention, *, now: datetime | None = None, url: str | None = None
) -> BookingPurge:
    """Apply the retention limits to the application database."""
    now = local_now(now)
    bookings_before = now - timedelta(days=retention.bookings_days_after)
    addresses_before = now - timedelta(days=retention.remembered_address_days)
    with session_scope(url, write=True) as session:
        old = select(Appointment.id).where(
            Appointment.start < bookings_before, Appointment.surname != ANONYMOUS
        )
        ids = list(session.execute(old).scalars())
        of_ids = select(Appointment.reference).where(Appointment.id.in_(ids))
        references = list(session.execute(of_ids).scalars())
        outbox = 0
        if ids:
            session.execute(delete(ApplicationClaim).where(ApplicationClaim.appointment_id.in_(ids)))
            outbox = session.execute(delete(AntsOutbox).where(AntsOutbox.reference.in_(references))).rowcount
            session.execute(
                update(Appointment)
                .where(Appointment.id.in_(ids))
                .values(
                    surname=ANONYMOUS,
                    email=None,
                    phone=None,
                    application_ids="",
                    address=None,
                    sender_id="",
                    updated_at=now,
                )
            )
        outbox += session.execute(
            delete(AntsOutbox).where(
                AntsOutbox.appointment_date < bookings_before, AntsOutbox.done_at.isnot(None)
            )
        ).rowcount
        addresses = session.execute(
            delete(RememberedAddress).where(RememberedAddress.consented_at < addresses_before)
        ).rowcount
    return BookingPurge(len(ids), addresses or 0, outbox or 0)
