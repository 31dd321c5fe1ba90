"""Booking database schema (SQLAlchemy 1.4, 2.0-style; migrations in booking/migrations).

Times are wall-clock times of the territory (Europe/Paris), stored without an
offset: opening hours, closures and appointments are all local, and an offset is
added only where another system needs one (ANTS).

No slot is ever given twice: an appointment holds one `slot_claims` row per
time step it covers on one biometric station, and (site, station, slot_start) is
the primary key. Two bookings of the same station and time cannot both commit,
whatever the number of concurrent requests; the database says no, not Python.
An ANTS pre-application number can hold one live appointment only, enforced the
same way by `application_claims`.
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
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

from core.db import NAMING_CONVENTION

NAMING = NAMING_CONVENTION
Base = declarative_base(metadata=MetaData(naming_convention=NAMING))

REASONS = ("CNI", "PASSPORT", "CNI-PASSPORT", "ENCOMBRANTS")
SERVICES = ("identity", "bulky_waste")
STATUSES = ("booked", "cancelled", "honoured", "no_show")


class Site(Base):
    __tablename__ = "sites"
    id = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    address = Column(String(300), nullable=False)
    zip_code = Column(String(10), nullable=False)
    city = Column(String(100), nullable=False)
    latitude = Column(Float, nullable=False)
    longitude = Column(Float, nullable=False)
    stations = Column(Integer, nullable=False)
    phone = Column(String(30))
    website = Column(String(300))
    city_logo = Column(String(300))
    active = Column(Boolean, nullable=False, default=True)
    # identity: CNI/passport meeting points (served to ANTS); bulky_waste: pick-up rounds
    service = Column(String(30), nullable=False, default="identity", server_default="identity")
    schedules = relationship("WeeklySchedule", cascade="all, delete-orphan", back_populates="site")

    __table_args__ = (CheckConstraint("stations >= 1", name="stations_positive"),)


class WeeklySchedule(Base):
    """Regular opening of a site: weekday (0 = Monday) and a time interval."""

    __tablename__ = "weekly_schedules"
    id = Column(Integer, primary_key=True)
    site_id = Column(String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True)
    weekday = Column(Integer, nullable=False)
    start_time = Column(Time, nullable=False)
    end_time = Column(Time, nullable=False)
    site = relationship("Site", back_populates="schedules")

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("end_time > start_time", name="interval_order"),
    )


class ExtraOpening(Base):
    """An opening added by an agent for one day (e.g. a Saturday session before summer)."""

    __tablename__ = "extra_openings"
    id = Column(Integer, primary_key=True)
    site_id = Column(String(64), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    day = Column(Date, nullable=False)
    start_time = Column(Time, nullable=False)
    end_time = Column(Time, nullable=False)
    stations = Column(Integer)  # None: the site's number of stations

    __table_args__ = (
        CheckConstraint("end_time > start_time", name="interval_order"),
        Index("ix_extra_openings_site_day", "site_id", "day"),
    )


class Closure(Base):
    """A whole day without appointments, for one site or (site_id NULL) for all."""

    __tablename__ = "closures"
    id = Column(Integer, primary_key=True)
    site_id = Column(String(64), ForeignKey("sites.id", ondelete="CASCADE"))
    day = Column(Date, nullable=False, index=True)
    reason = Column(String(200), nullable=False)
    source = Column(String(20), nullable=False, default="agent")  # config | agent

    __table_args__ = (UniqueConstraint("site_id", "day", name="uq_closures_site_day"),)


class Appointment(Base):
    __tablename__ = "appointments"
    id = Column(Integer, primary_key=True)
    reference = Column(String(10), nullable=False, unique=True)
    site_id = Column(String(64), ForeignKey("sites.id"), nullable=False)
    station = Column(Integer, nullable=False)
    start = Column(DateTime, nullable=False)
    duration_minutes = Column(Integer, nullable=False)
    reason = Column(String(12), nullable=False)
    people = Column(Integer, nullable=False)
    documents = Column(Integer, nullable=False)
    application_ids = Column(String(200), nullable=False, default="")  # space-separated, may be empty
    surname = Column(String(100), nullable=False)
    address = Column(String(300))  # bulky-waste pick-up address
    items = Column(String(500))  # bulky-waste items, as the citizen listed them
    email = Column(String(200))
    phone = Column(String(30))
    channel = Column(String(30), nullable=False)
    sender_id = Column(String(200), nullable=False)
    status = Column(String(12), nullable=False, default="booked")
    needs_agent_check = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)
    cancelled_at = Column(DateTime)
    # The citizen followed the « no more reminders » link of a reminder (booking/reminders.py).
    reminders_stopped_at = Column(DateTime)
    # Present / absent marked by an agent (booking/operations.py): when, and which agent
    # (staff_agents.id; None from the command line). Not personal data of the citizen.
    attendance_at = Column(DateTime)
    attendance_by = Column(Integer)
    site = relationship("Site")

    __table_args__ = (
        CheckConstraint("reason IN ('CNI', 'PASSPORT', 'CNI-PASSPORT', 'ENCOMBRANTS')", name="reason_known"),
        CheckConstraint("status IN ('booked', 'cancelled', 'honoured', 'no_show')", name="status_known"),
        CheckConstraint("people >= 1 AND documents >= 1", name="counts_positive"),
        Index("ix_appointments_site_start", "site_id", "start"),
        Index("ix_appointments_sender", "channel", "sender_id"),
    )


class SlotClaim(Base):
    """One time step of one station held by a live appointment (deleted on cancellation)."""

    __tablename__ = "slot_claims"
    site_id = Column(String(64), ForeignKey("sites.id"), primary_key=True)
    station = Column(Integer, primary_key=True)
    slot_start = Column(DateTime, primary_key=True)
    appointment_id = Column(
        Integer, ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False, index=True
    )


class ExternalBooking(Base):
    """The booking an appointment holds in an agenda the collectivité already runs (Publik Chrono,
    booking/chrono.py). The appointment row stays the assistant's record (reference, surname,
    channel, contacts for the reminders); the external agenda holds the slot, so such an
    appointment has no slot_claims. Nothing personal here: the agenda's slug and booking id."""

    __tablename__ = "external_bookings"
    appointment_id = Column(Integer, ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True)
    backend = Column(String(20), nullable=False)  # chrono
    agenda = Column(String(100), nullable=False)  # the agenda's slug
    booking_id = Column(String(64), nullable=False)  # the agenda's booking id
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)

    __table_args__ = (UniqueConstraint("backend", "booking_id", name="uq_external_bookings_booking"),)


class ApplicationClaim(Base):
    """An ANTS pre-application number held by a live appointment (one at a time)."""

    __tablename__ = "application_claims"
    application_id = Column(String(10), primary_key=True)
    appointment_id = Column(
        Integer, ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False, index=True
    )


class RememberedAddress(Base):
    """An address a citizen asked the assistant to remember across sessions (consent given).

    Deleted when the citizen asks to forget it; never shown to anyone else.
    """

    __tablename__ = "remembered_addresses"
    channel = Column(String(30), primary_key=True)
    sender_id = Column(String(200), primary_key=True)
    street = Column(String(200), nullable=False)
    housenumber = Column(Integer)
    sector = Column(String(64), nullable=False)
    consented_at = Column(DateTime, nullable=False)


OUTBOX_OPERATIONS = ("declare", "withdraw")


class AntsOutbox(Base):
    """One ANTS declaration (POST) or withdrawal (DELETE) of one pre-application number, kept until
    ANTS has it (booking/ants_sync.py retries it with growing delays).

    ``done_at`` is set when the call went through (``last_error_kind`` NULL) or was given up
    (``last_error_kind`` says why: rejected, too many attempts, superseded by a cancellation).
    ``raised_flag``: this declaration's failure set the appointment's « à vérifier » flag, which is
    lowered when the declaration finally goes through. No personal data besides the pre-application
    number ANTS needs; ``last_error_kind`` is a kind (timeout, server_error, ...), never a message.
    """

    __tablename__ = "ants_outbox"
    id = Column(Integer, primary_key=True)
    operation = Column(String(10), nullable=False)  # declare | withdraw
    reference = Column(String(10), nullable=False)  # the appointment's reference
    application_id = Column(String(10), nullable=False)
    meeting_point_id = Column(String(64), nullable=False)
    meeting_point = Column(String(200), nullable=False)
    appointment_date = Column(DateTime, nullable=False)  # Paris wall-clock time, like appointments.start
    management_url = Column(String(300))  # declarations only
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False)
    last_error_kind = Column(String(30))
    raised_flag = Column(Boolean, nullable=False, default=False)
    done_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("operation IN ('declare', 'withdraw')", name="operation_known"),
        Index("ix_ants_outbox_due", "done_at", "next_attempt_at"),
        Index("ix_ants_outbox_reference", "reference"),
    )


REMINDER_CHANNELS = ("email", "sms", "messenger")
REMINDER_STATUSES = ("sending", "retry", "sent", "failed")


class AppointmentReminder(Base):
    """One reminder of one appointment (booking/reminders.py): the unique key (appointment, start,
    channel, hours before) is claimed by inserting the row before anything is sent, so a reminder
    is never sent twice, whatever the number of schedulers and restarts. A moved appointment has
    another start, hence new reminders. ``next_attempt_at``: the end of the sender's lease while
    ``sending``, the next try while ``retry``. No personal data: the address is read from the
    appointment when sending; ``last_error_kind`` is a kind (timeout, recipient_refused…)."""

    __tablename__ = "appointment_reminders"
    id = Column(Integer, primary_key=True)
    appointment_id = Column(
        Integer, ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False, index=True
    )
    start = Column(DateTime, nullable=False)  # the appointment's start when the reminder was due
    channel = Column(String(20), nullable=False)
    hours_before = Column(Integer, nullable=False)
    status = Column(String(10), nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime)
    last_error_kind = Column(String(30))
    sent_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint(
            "appointment_id", "start", "channel", "hours_before", name="uq_appointment_reminders_key"
        ),
        CheckConstraint("channel IN ('email', 'sms', 'messenger')", name="channel_known"),
        CheckConstraint("status IN ('sending', 'retry', 'sent', 'failed')", name="status_known"),
        Index("ix_appointment_reminders_due", "status", "next_attempt_at"),
    )


class FailedAttempt(Base):
    """Failed second-factor tries on one key (booking/attempts.py): a reference tried, or a
    conversation. ``key`` is an HMAC of it, never the reference or the sender id itself."""

    __tablename__ = "failed_attempts"
    key = Column(String(64), primary_key=True)
    failures = Column(Integer, nullable=False)
    last_failure_at = Column(DateTime, nullable=False)  # UTC
    locked_until = Column(DateTime)  # UTC; None: not locked

    __table_args__ = (Index("ix_failed_attempts_last_failure_at", "last_failure_at"),)


# ---- signalements (reports/store.py, reports/forward.py) ---------------------------------------

REPORT_STATUSES = ("received", "in_progress", "closed")
FORWARD_STATUSES = ("none", "pending", "sent", "given_up")


class Report(Base):
    """A problem in the street reported by a citizen (« signalement »), reference SIG-AAAA-NNNNNN.

    The row is also the forwarding outbox (reports/forward.py): ``forward_status`` pending until the
    back-office (w.c.s. or the service's e-mail) has it, retried at ``next_attempt_at``.
    Personal data: the contact, the conversation id and the photo, erased by the retention purge
    (booking/privacy.py) and on « oubliez mes données »; the place and description stay.
    """

    __tablename__ = "reports"
    id = Column(Integer, primary_key=True)
    reference = Column(String(15), nullable=False, unique=True)
    category = Column(String(40), nullable=False)
    service = Column(String(40), nullable=False)
    place_kind = Column(String(10), nullable=False)  # address | location | described
    place = Column(String(300), nullable=False)  # address label, « position partagée » or the words
    latitude = Column(Float)
    longitude = Column(Float)
    description = Column(String(1000), nullable=False)
    photo_id = Column(String(32))  # an uploads.id
    contact_email = Column(String(200))
    contact_phone = Column(String(30))
    channel = Column(String(30), nullable=False)
    sender_id = Column(String(200), nullable=False)
    status = Column(String(12), nullable=False, default="received")
    reporters = Column(Integer, nullable=False, default=1)  # citizens who reported it (dedupe)
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)
    forward_status = Column(String(10), nullable=False, default="none")
    forward_attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime)
    forward_error = Column(String(30))  # a kind (timeout, rejected, ...), never a message
    backoffice_id = Column(String(64))
    backoffice_url = Column(String(300))

    __table_args__ = (
        CheckConstraint("status IN ('received', 'in_progress', 'closed')", name="status_known"),
        CheckConstraint("place_kind IN ('address', 'location', 'described')", name="place_kind_known"),
        CheckConstraint(
            "forward_status IN ('none', 'pending', 'sent', 'given_up')", name="forward_status_known"
        ),
        CheckConstraint("reporters >= 1", name="reporters_positive"),
        Index("ix_reports_category_created", "category", "created_at"),
        Index("ix_reports_forward_due", "forward_status", "next_attempt_at"),
        Index("ix_reports_sender", "channel", "sender_id"),
    )


class Upload(Base):
    """A photo a citizen sent (webchat upload or Messenger attachment), re-encoded without its
    metadata and stored under var/uploads/<id>.<ext>. Tied to the conversation that sent it:
    nobody else can attach it to a report."""

    __tablename__ = "uploads"
    id = Column(String(32), primary_key=True)  # 32 random hex digits
    channel = Column(String(30), nullable=False)
    sender_id = Column(String(200), nullable=False)
    content_type = Column(String(30), nullable=False)
    size = Column(Integer, nullable=False)
    created_at = Column(DateTime, nullable=False)
    report_reference = Column(String(15))  # set when attached to a report

    __table_args__ = (
        Index("ix_uploads_sender", "channel", "sender_id"),
        Index("ix_uploads_created", "created_at"),
    )
