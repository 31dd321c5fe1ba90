"""Availability, booking, cancellation and rescheduling of identity-document appointments.

Plain Python over the booking database; used by the chat actions, the ANTS hub
and the agents' command line. Each public function opens its own short
transaction(s) through `session_scope` (one session per request).

Availability = weekly schedules (+ agents' extra openings) × stations
− claimed steps − public holidays and closures, never sooner than the minimum
notice, never beyond the booking window.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Iterator, List, Sequence

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.config import BookingConfig, load_booking_config
from booking.models import (
    REASONS,
    ApplicationClaim,
    Appointment,
    Closure,
    ExtraOpening,
    Site,
    SlotClaim,
    WeeklySchedule,
)
from core import clock
from core.db import session_scope
from core.holidays import holiday_name
from core.text import fold_key

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no O/0, I/1: read aloud without doubt
DOCUMENT_REASON = {"cni": "CNI", "passeport": "PASSPORT", "les_deux": "CNI-PASSPORT"}


class BookingError(Exception):
    """Base class: every booking failure a citizen can be told about."""


class SlotTaken(BookingError):
    """The slot was taken meanwhile (or never was free)."""


class SlotNotOffered(BookingError):
    """The time is outside opening hours, closed, in the past or beyond the window."""


class ApplicationAlreadyBooked(BookingError):
    def __init__(self, application_id: str):
        super().__init__(application_id)
        self.application_id = application_id


class TooManyAppointments(BookingError):
    """The citizen already holds as many active appointments as the service allows.

    `kind` says which limit: sender (this conversation), surname (this surname at this site)
    or address (this pick-up address); never the personal value itself."""

    def __init__(self, kind: str, limit: int):
        super().__init__(kind)
        self.kind = kind
        self.limit = limit


class AppointmentNotFound(BookingError):
    """No live appointment for this reference (and second factor)."""


@dataclass(frozen=True)
class Slot:
    site_id: str
    start: datetime
    duration_minutes: int

    @property
    def key(self) -> str:
        """Stable text form used in chat buttons: site@YYYY-MM-DDTHH:MM."""
        return f"{self.site_id}@{self.start:%Y-%m-%dT%H:%M}"

    @classmethod
    def from_key(cls, key: str, duration_minutes: int) -> Slot:
        site_id, _, when = key.partition("@")
        return cls(site_id, datetime.strptime(when, "%Y-%m-%dT%H:%M"), duration_minutes)


@dataclass(frozen=True)
class AppointmentView:
    """What callers may read of an appointment, detached from any session."""

    reference: str
    site_id: str
    site_name: str
    site_address: str
    start: datetime
    duration_minutes: int
    reason: str
    people: int
    documents: int
    application_ids: tuple[str, ...]
    status: str
    needs_agent_check: bool
    channel: str
    surname: str
    address: str | None = None
    items: str | None = None

    @classmethod
    def of(cls, appt: Appointment, site: Site) -> AppointmentView:
        return cls(
            reference=appt.reference,
            site_id=site.id,
            site_name=site.name,
            site_address=f"{site.address}, {site.zip_code} {site.city}",
            start=appt.start,
            duration_minutes=appt.duration_minutes,
            reason=appt.reason,
            people=appt.people,
            documents=appt.documents,
            application_ids=tuple(appt.application_ids.split()) if appt.application_ids else (),
            status=appt.status,
            needs_agent_check=appt.needs_agent_check,
            channel=appt.channel,
            surname=appt.surname,
            address=appt.address,
            items=appt.items,
        )


# ---- small helpers -----------------------------------------------------------------


def local_now(now: datetime | None = None) -> datetime:
    """Naive wall-clock time of the territory (the database's convention)."""
    now = now or clock.now()
    if now.tzinfo is not None:
        now = now.astimezone(clock.territory_tz()).replace(tzinfo=None)
    return now.replace(second=0, microsecond=0)


def documents_needed(reason: str, people: int) -> int:
    return people * (2 if reason == "CNI-PASSPORT" else 1)


def duration_for(reason: str, people: int, config: BookingConfig | None = None) -> int:
    config = config or load_booking_config()
    return documents_needed(reason, people) * config.minutes_per_document


def new_reference() -> str:
    return "RDV-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def normalise_surname(text: str) -> str:
    """Case-, accent-, space- and hyphen-insensitive form of a surname, for comparison."""
    return fold_key(text)


def _steps(start: datetime, duration: int, step: int) -> List[datetime]:
    return [start + timedelta(minutes=k) for k in range(0, duration, step)]


# ---- opening hours -------------------------------------------------------------------


@dataclass(frozen=True)
class Opening:
    start: time
    end: time
    stations: int


def _closed_reason(session: Session, site_id: str, day: date) -> str | None:
    holiday = holiday_name(day)
    if holiday:
        return f"jour férié ({holiday})"
    closure = session.execute(
        select(Closure.reason).where(
            Closure.day == day, (Closure.site_id == site_id) | Closure.site_id.is_(None)
        )
    ).first()
    return closure[0] if closure else None


class SiteCalendar:
    """A site's openings over a range of days, read in three queries (not three per day)."""

    def __init__(self, session: Session, site: Site, first: date, last: date):
        self.site = site
        weekly: dict[int, List[Opening]] = {}
        for weekday, start, end in session.execute(
            select(WeeklySchedule.weekday, WeeklySchedule.start_time, WeeklySchedule.end_time).where(
                WeeklySchedule.site_id == site.id
            )
        ):
            weekly.setdefault(weekday, []).append(Opening(start, end, site.stations))
        extra: dict[date, List[Opening]] = {}
        for day, start, end, stations in session.execute(
            select(
                ExtraOpening.day, ExtraOpening.start_time, ExtraOpening.end_time, ExtraOpening.stations
            ).where(ExtraOpening.site_id == site.id, ExtraOpening.day >= first, ExtraOpening.day <= last)
        ):
            if stations != 0:
                extra.setdefault(day, []).append(
                    Opening(start, end, site.stations if stations is None else stations)
                )
        closed = {
            day
            for (day,) in session.execute(
                select(Closure.day).where(
                    Closure.day >= first,
                    Closure.day <= last,
                    (Closure.site_id == site.id) | Closure.site_id.is_(None),
                )
            )
        }
        self._weekly, self._extra, self._closed = weekly, extra, closed

    def openings(self, day: date) -> List[Opening]:
        if day in self._closed or holiday_name(day):
            return []
        return sorted(self._weekly.get(day.weekday(), []) + self._extra.get(day, []), key=lambda o: o.start)


def openings(session: Session, site: Site, day: date) -> List[Opening]:
    """The intervals a site takes appointments on `day` (empty when closed)."""
    return SiteCalendar(session, site, day, day).openings(day)


def closed_reason(site_id: str, day: date, url: str | None = None) -> str | None:
    """Why a site takes no appointment on `day` (holiday, closure, no hours), or None."""
    with session_scope(url) as session:
        reason = _closed_reason(session, site_id, day)
        if reason:
            return reason
        site = session.get(Site, site_id)
        if site is None or not openings(session, site, day):
            return "la mairie ne reçoit pas ce jour-là"
    return None


# ---- availability -------------------------------------------------------------------


def _claimed(session: Session, site_id: str, first: date, last: date) -> set[tuple[int, datetime]]:
    rows = session.execute(
        select(SlotClaim.station, SlotClaim.slot_start).where(
            SlotClaim.site_id == site_id,
            SlotClaim.slot_start >= datetime.combine(first, time.min),
            SlotClaim.slot_start < datetime.combine(last + timedelta(days=1), time.min),
        )
    ).all()
    return {(station, start) for station, start in rows}


def _free_stations(
    claimed: set[tuple[int, datetime]], stations: int, steps: Sequence[datetime]
) -> Iterator[int]:
    for station in range(1, stations + 1):
        if all((station, step) not in claimed for step in steps):
            yield station


def _day_slots(
    calendar: SiteCalendar,
    claimed: set[tuple[int, datetime]],
    day: date,
    duration: int,
    step: int,
    earliest: datetime,
    time_from: time | None,
    time_to: time | None,
) -> List[Slot]:
    """The free slots of one site on one day."""
    found: List[Slot] = []
    seen: set[datetime] = set()  # an agent's extra opening may overlap the weekly hours
    for opening in calendar.openings(day):
        start = _on_grid(datetime.combine(day, opening.start), step)
        end = datetime.combine(day, opening.end)
        while start + timedelta(minutes=duration) <= end:
            wanted = (time_from is None or start.time() >= time_from) and (
                time_to is None or start.time() < time_to
            )
            if start >= earliest and wanted and start not in seen:
                if next(_free_stations(claimed, opening.stations, _steps(start, duration, step)), None):
                    seen.add(start)
                    found.append(Slot(calendar.site.id, start, duration))
            start += timedelta(minutes=step)
    return found


def _on_grid(moment: datetime, step: int) -> datetime:
    """The first start on the step grid at or after `moment` (09:10 -> 09:15 for 15 minutes)."""
    minutes = moment.hour * 60 + moment.minute
    return moment + timedelta(minutes=-minutes % step)


CLAIMS_CHUNK_DAYS = 7


def available_slots(
    site_ids: Iterable[str],
    first: date,
    last: date,
    duration: int,
    *,
    now: datetime | None = None,
    time_from: time | None = None,
    time_to: time | None = None,
    preferred_time: time | None = None,
    limit: int | None = None,
    offset: int = 0,
    url: str | None = None,
    config: BookingConfig | None = None,
    service: str | None = None,
) -> List[Slot]:
    """Free slots of `duration` minutes between two days (inclusive), best first.

    Best = earliest day; within a day, nearest to `preferred_time` when given,
    else chronological. `offset`/`limit` page through the result ("d'autres créneaux").
    Days are read in order and the search stops once enough whole days are found,
    so "the first free slots" does not compute the whole booking window.
    """
    config = config or load_booking_config()
    now = local_now(now)
    earliest = now + timedelta(minutes=config.min_notice_minutes)
    first = max(first, now.date())
    last = min(last, now.date() + timedelta(days=config.booking_window_days))

    def rank(slot: Slot):
        if preferred_time is None:
            return (slot.start, slot.site_id)
        minutes = slot.start.hour * 60 + slot.start.minute
        wanted = preferred_time.hour * 60 + preferred_time.minute
        return (abs(minutes - wanted), slot.start, slot.site_id)

    found: List[Slot] = []
    if last < first:
        return found
    with session_scope(url) as session:
        query = select(Site).where(Site.id.in_(list(site_ids)), Site.active)
        if service is not None:
            query = query.where(Site.service == service)
        sites = session.execute(query).scalars().all()
        calendars = [SiteCalendar(session, site, first, last) for site in sites]
        claimed: dict[str, set[tuple[int, datetime]]] = {}
        day = first
        while day <= last:
            if (day - first).days % CLAIMS_CHUNK_DAYS == 0:
                chunk_end = min(last, day + timedelta(days=CLAIMS_CHUNK_DAYS - 1))
                claimed = {site.id: _claimed(session, site.id, day, chunk_end) for site in sites}
            today: List[Slot] = []
            for calendar in calendars:
                today += _day_slots(calendar, claimed[calendar.site.id], day, duration,
                                    config.slot_step_minutes, earliest, time_from, time_to)  # fmt: skip
            found += sorted(today, key=rank)
            if limit is not None and len(found) >= offset + limit:
                break
            day += timedelta(days=1)
    return found[offset : offset + limit] if limit is not None else found[offset:]


def first_available(
    site_ids: Iterable[str],
    duration: int,
    *,
    after: date,
    now: datetime | None = None,
    url: str | None = None,
    config: BookingConfig | None = None,
) -> Slot | None:
    """The first free slot from `after` to the end of the booking window, if any."""
    config = config or load_booking_config()
    now = local_now(now)
    last = now.date() + timedelta(days=config.booking_window_days)
    found = available_slots(site_ids, after, last, duration, now=now, limit=1, url=url, config=config)
    return found[0] if found else None


# ---- booking ------------------------------------------------------------------------


def _offered_stations(session: Session, config: BookingConfig, slot: Slot, now: datetime) -> int:
    """Stations open for the whole slot, or SlotNotOffered."""
    site = session.get(Site, slot.site_id)
    if site is None or not site.active:
        raise SlotNotOffered("site inconnu")
    if slot.start < now + timedelta(minutes=config.min_notice_minutes):
        raise SlotNotOffered("créneau passé ou trop proche")
    if slot.start.date() > now.date() + timedelta(days=config.booking_window_days):
        raise SlotNotOffered("au-delà de la période de réservation")
    start = slot.start
    if start.second or start.microsecond or (start.hour * 60 + start.minute) % config.slot_step_minutes:
        raise SlotNotOffered("heure hors de la grille")
    end = slot.start + timedelta(minutes=slot.duration_minutes)
    day = slot.start.date()
    fitting = [
        opening.stations
        for opening in openings(session, site, day)
        if datetime.combine(day, opening.start) <= slot.start and end <= datetime.combine(day, opening.end)
    ]
    if not fitting:
        raise SlotNotOffered("hors des heures d'ouverture")
    return max(fitting)


def appointment_fields(
    slot: Slot,
    *,
    reason: str,
    people: int,
    surname: str,
    channel: str,
    sender_id: str,
    application_ids: Sequence[str] = (),
    email: str | None = None,
    phone: str | None = None,
    address: str | None = None,
    items: str | None = None,
    needs_agent_check: bool = False,
    now: datetime,
    config: BookingConfig,
) -> tuple[dict, List[str]]:
    """The columns of a new appointment and its pre-application numbers, checked (ValueError for
    what no caller should send); shared by every agenda of booking/connector.py."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    if not 1 <= people <= config.max_people:
        raise ValueError(f"people must be between 1 and {config.max_people}")
    if not normalise_surname(surname):
        raise ValueError("a surname is required (it is the second factor of the booking)")
    documents = documents_needed(reason, people)
    if slot.duration_minutes != documents * config.minutes_per_document:
        raise ValueError("slot duration does not match the documents")
    ids = list(dict.fromkeys(a.strip().upper() for a in application_ids))
    fields = dict(
        site_id=slot.site_id,
        start=slot.start,
        duration_minutes=slot.duration_minutes,
        reason=reason,
        people=people,
        documents=documents,
        application_ids=" ".join(ids),
        surname=surname.strip()[:100],
        email=email,
        phone=phone[:30] if phone else None,
        address=address[:300] if address else None,
        items=items[:500] if items else None,
        channel=channel[:30],
        sender_id=sender_id[:200],
        status="booked",
        needs_agent_check=needs_agent_check,
        created_at=now,
        updated_at=now,
    )
    return fields, ids


def check_applications_free(session: Session, ids: Sequence[str]) -> None:
    """ApplicationAlreadyBooked for the first pre-application number that holds an appointment."""
    taken = session.execute(
        select(ApplicationClaim.application_id).where(ApplicationClaim.application_id.in_(list(ids)))
    )
    for (application_id,) in taken:
        raise ApplicationAlreadyBooked(application_id)


def book(
    slot: Slot,
    *,
    url: str | None = None,
    config: BookingConfig | None = None,
    now: datetime | None = None,
    **details: Any,
) -> AppointmentView:
    """Book `slot`; the database guarantees the slot and each application id are free.

    `details`: reason, people, surname, channel, sender_id and optionally application_ids,
    email, phone, address, items, needs_agent_check (see :func:`appointment_fields`).

    Each station is tried in its own short transaction: the primary key of
    slot_claims rejects a second holder, the loser rolls back and tries the next
    station, and SlotTaken is raised when none is left.
    """
    config = config or load_booking_config()
    now = local_now(now)
    fields, ids = appointment_fields(slot, now=now, config=config, **details)
    with session_scope(url) as session:
        stations = _offered_stations(session, config, slot, now)
        check_applications_free(session, ids)
        steps = _steps(slot.start, slot.duration_minutes, config.slot_step_minutes)
        # Only stations that looked free are tried (the database still decides).
        free = list(_free_stations(_claimed(session, slot.site_id, slot.start.date(), slot.start.date()),
                                   stations, steps))  # fmt: skip
    for station in free:
        for _attempt in range(3):  # a reference collision (1 in 10^9) draws again
            try:
                return _insert(url, slot, station, steps, ids, fields, now, config)
            except _ReferenceCollision:
                continue
            except _StationTaken:
                break
    raise SlotTaken(slot.key)


class _ReferenceCollision(Exception):
    pass


class _StationTaken(Exception):
    pass


def _insert(
    url: str | None,
    slot: Slot,
    station: int,
    steps: List[datetime],
    ids: List[str],
    fields: dict,
    now: datetime,
    config: BookingConfig,
) -> AppointmentView:
    """One attempt on one station, in one write transaction."""
    with session_scope(url, write=True) as session:
        # Checked again in the write transaction: a closure recorded meanwhile wins.
        _offered_stations(session, config, slot, now)
        _check_limits(session, config, fields, now)
        appt = Appointment(reference=new_reference(), station=station, **fields)
        session.add(appt)
        try:
            session.flush()
        except IntegrityError as exc:
            raise _ReferenceCollision() from exc
        for application_id in ids:
            session.add(ApplicationClaim(application_id=application_id, appointment_id=appt.id))
            try:
                session.flush()
            except IntegrityError as exc:
                raise ApplicationAlreadyBooked(application_id) from exc
        session.add_all(
            SlotClaim(site_id=slot.site_id, station=station, slot_start=step, appointment_id=appt.id)
            for step in steps
        )
        try:
            session.flush()
        except IntegrityError as exc:
            raise _StationTaken() from exc
        return AppointmentView.of(appt, session.get(Site, slot.site_id))


def _serialise(session: Session, keys: Iterable[str]) -> None:
    """Concurrent bookings of the same citizen wait for each other until commit.

    SQLite: nothing to do, a write transaction holds the database's write lock from BEGIN
    IMMEDIATE. PostgreSQL: one transaction-level advisory lock per key, taken in a fixed
    order (no deadlock), released at commit or rollback.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def _check_limits(session: Session, config: BookingConfig, fields: dict, now: datetime) -> None:
    """TooManyAppointments when the new booking would exceed one of the service's limits.

    Counted in the booking's own write transaction, so that concurrent requests of the
    same citizen cannot both pass. Active = booked (not cancelled) and not yet begun.
    """
    limits = config.limits
    surname = normalise_surname(fields["surname"])
    address = fold_key(fields["address"]) if fields.get("address") else ""
    channel, sender_id, site_id = fields["channel"], fields["sender_id"], fields["site_id"]
    keys = [f"sender:{channel}:{sender_id}", f"surname:{site_id}:{surname}"]
    if address:
        keys.append(f"address:{config.service}:{address}")
    _serialise(session, keys)

    def active(column, *conditions) -> List[str]:
        """One column of the service's active appointments that meet the conditions."""
        query = (
            select(column)
            .join(Site, Site.id == Appointment.site_id)
            .where(Site.service == config.service, Appointment.status == "booked", Appointment.start >= now)
        )
        return list(session.execute(query.where(*conditions)).scalars())

    mine = active(Appointment.id, Appointment.channel == channel, Appointment.sender_id == sender_id)
    if len(mine) >= limits.per_sender:
        raise TooManyAppointments("sender", limits.per_sender)
    names = active(Appointment.surname, Appointment.site_id == site_id)
    if sum(normalise_surname(name) == surname for name in names) >= limits.per_surname_and_site:
        raise TooManyAppointments("surname", limits.per_surname_and_site)
    if address:
        places = active(Appointment.address, Appointment.address.is_not(None))
        if sum(fold_key(place) == address for place in places) >= limits.per_address:
            raise TooManyAppointments("address", limits.per_address)


def _release(session: Session, appointment_id: int) -> None:
    session.execute(delete(SlotClaim).where(SlotClaim.appointment_id == appointment_id))
    session.execute(delete(ApplicationClaim).where(ApplicationClaim.appointment_id == appointment_id))


def _live(
    session: Session, reference: str, surname: str | None, sender: tuple[str, str] | None
) -> Appointment:
    """The live appointment for `reference` if the caller proves it is theirs."""
    appt = session.execute(
        select(Appointment).where(Appointment.reference == reference.upper(), Appointment.status == "booked")
    ).scalar_one_or_none()
    if appt is None:
        raise AppointmentNotFound(reference)
    owns = sender is not None and (appt.channel, appt.sender_id) == sender
    given = normalise_surname(surname) if surname is not None else ""
    if not owns and (not given or given != normalise_surname(appt.surname)):
        raise AppointmentNotFound(reference)
    return appt


def get_appointment(
    reference: str,
    *,
    surname: str | None = None,
    sender: tuple[str, str] | None = None,
    url: str | None = None,
) -> AppointmentView:
    """A live appointment, for its booker (same channel + sender) or with the booking surname."""
    with session_scope(url) as session:
        appt = _live(session, reference, surname, sender)
        return AppointmentView.of(appt, appt.site)


def appointment_by_reference(reference: str, *, url: str | None = None) -> AppointmentView:
    """A live appointment by its reference alone, for a caller that holds another proof (a signed
    link of booking/links.py). Never for a reference someone typed: that needs the surname."""
    with session_scope(url) as session:
        appt = session.execute(
            select(Appointment).where(
                Appointment.reference == reference.upper(), Appointment.status == "booked"
            )
        ).scalar_one_or_none()
        if appt is None:
            raise AppointmentNotFound(reference)
        return AppointmentView.of(appt, appt.site)


def cancel(
    reference: str,
    *,
    surname: str | None = None,
    sender: tuple[str, str] | None = None,
    now: datetime | None = None,
    url: str | None = None,
) -> AppointmentView:
    """Cancel a live appointment; its slot and application ids are free at once."""
    now = local_now(now)
    with session_scope(url, write=True) as session:
        appt = _live(session, reference, surname, sender)
        _release(session, appt.id)
        appt.status, appt.cancelled_at, appt.updated_at = "cancelled", now, now
        session.flush()
        return AppointmentView.of(appt, appt.site)


def reschedule(
    reference: str,
    new_slot: Slot,
    *,
    surname: str | None = None,
    sender: tuple[str, str] | None = None,
    now: datetime | None = None,
    url: str | None = None,
    config: BookingConfig | None = None,
) -> AppointmentView:
    """Move a live appointment to `new_slot`; the old slot is kept if the new one fails."""
    config = config or load_booking_config()
    now = local_now(now)
    with session_scope(url) as session:
        current = _live(session, reference, surname, sender)
        if new_slot.duration_minutes != current.duration_minutes:
            raise ValueError("slot duration does not match the appointment")
        stations = _offered_stations(session, config, new_slot, now)
        steps = _steps(new_slot.start, new_slot.duration_minutes, config.slot_step_minutes)
        claimed = _claimed(session, new_slot.site_id, new_slot.start.date(), new_slot.start.date())
        own = set(  # the appointment's own steps count as free: it may move by a quarter of an hour
            session.execute(
                select(SlotClaim.station, SlotClaim.slot_start).where(SlotClaim.appointment_id == current.id)
            ).all()
        )
        free = list(_free_stations(claimed - own, stations, steps))
    for station in free:
        try:
            with session_scope(url, write=True) as session:
                appt = _live(session, reference, surname, sender)
                _offered_stations(session, config, new_slot, now)  # a closure recorded meanwhile wins
                session.execute(delete(SlotClaim).where(SlotClaim.appointment_id == appt.id))
                session.add_all(
                    SlotClaim(
                        site_id=new_slot.site_id, station=station, slot_start=step, appointment_id=appt.id
                    )
                    for step in steps
                )
                try:
                    session.flush()
                except IntegrityError as exc:
                    raise _StationTaken() from exc
                appt.site_id, appt.station, appt.start, appt.updated_at = (
                    new_slot.site_id,
                    station,
                    new_slot.start,
                    now,
                )
                session.flush()
                return AppointmentView.of(appt, session.get(Site, new_slot.site_id))
        except _StationTaken:
            continue
    raise SlotTaken(new_slot.key)


def appointments_of(
    channel: str, sender_id: str, *, now: datetime | None = None, url: str | None = None
) -> List[AppointmentView]:
    """The sender's live appointments from today on, soonest first."""
    today = datetime.combine(local_now(now).date(), time.min)
    with session_scope(url) as session:
        rows = session.execute(
            select(Appointment, Site)
            .join(Site, Site.id == Appointment.site_id)
            .where(
                Appointment.channel == channel,
                Appointment.sender_id == sender_id,
                Appointment.status == "booked",
                Appointment.start >= today,
            )
            .order_by(Appointment.start)
        ).all()
        return [AppointmentView.of(appt, site) for appt, site in rows]


def appointments_on(
    day: date, site_id: str | None = None, *, url: str | None = None
) -> List[AppointmentView]:
    """A day's appointments (all statuses), per site then time — for the agents."""
    with session_scope(url) as session:
        query = (
            select(Appointment, Site)
            .join(Site, Site.id == Appointment.site_id)
            .where(
                Appointment.start >= datetime.combine(day, time.min),
                Appointment.start < datetime.combine(day + timedelta(days=1), time.min),
            )
            .order_by(Appointment.site_id, Appointment.start, Appointment.station)
        )
        if site_id:
            query = query.where(Appointment.site_id == site_id)
        return [AppointmentView.of(appt, site) for appt, site in session.execute(query).all()]


def appointments_for_applications(
    application_ids: Iterable[str], *, url: str | None = None
) -> dict[str, List[AppointmentView]]:
    """Live appointments holding each ANTS application id (for the hub's searchApplicationIds)."""
    ids = [a.upper() for a in application_ids]
    result: dict[str, List[AppointmentView]] = {a: [] for a in ids}
    with session_scope(url) as session:
        rows = session.execute(
            select(ApplicationClaim.application_id, Appointment, Site)
            .join(Appointment, Appointment.id == ApplicationClaim.appointment_id)
            .join(Site, Site.id == Appointment.site_id)
            .where(ApplicationClaim.application_id.in_(ids))
        ).all()
        for application_id, appt, site in rows:
            result[application_id].append(AppointmentView.of(appt, site))
    return result


def list_sites(*, service: str | None = "identity", url: str | None = None) -> List[Site]:
    """Active sites of a service (None: all), detached objects safe to read after the session."""
    query = select(Site).where(Site.active).order_by(Site.id)
    if service is not None:
        query = query.where(Site.service == service)
    with session_scope(url) as session:
        return list(session.execute(query).scalars().all())
