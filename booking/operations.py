"""What agents do to the appointment agenda, shared by the command line (booking/cli.py) and the
agents' agenda pages (handoff/agenda.py), so that both follow the same rules:

- `open_extra`: extra openings of a site over a period (on the service's slot grid, never over a
  holiday, a closure or hours already open);
- `close_day`: a closure of one site, or of all, for one day; refused while appointments are
  booked that day unless forced, and then the appointments are kept and listed so that agents
  warn the citizens (nothing is cancelled behind their back);
- `mark_attendance`: present / absent (no-show) / back to « à venir », with who and when;
- `day_csv`: a day's appointments for a spreadsheet, with formulas neutralised.

Plain Python over the booking database, no I/O besides it. Every refusal the agent can fix is
an `AgendaError` with one French sentence.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable, List, Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking import engine
from booking.config import BookingConfig, load_booking_config, load_bulky_booking_config
from booking.models import ApplicationClaim, Appointment, Closure, ExtraOpening, Site, WeeklySchedule
from core.db import session_scope
from core.holidays import holiday_name
from core.text import format_date_fr

REASON_FR = {"CNI": "CNI", "PASSPORT": "passeport", "CNI-PASSPORT": "les deux", "ENCOMBRANTS": "encombrants"}
STATUS_FR = {"booked": "réservé", "cancelled": "annulé", "honoured": "présent", "no_show": "absent"}
CSV_HEADER = (
    "Site",
    "Date",
    "Heure",
    "Durée (min)",
    "Référence",
    "Motif",
    "Personnes",
    "Nom",
    "Statut",
    "À vérifier",
    "Adresse",
    "Objets",
)
MAX_OPEN_DAYS = 366
MAX_STATIONS = 20
MAX_REASON_CHARS = 200
ATTENDANCE = ("booked", "honoured", "no_show")  # what an agent may set (cancelled is the citizen's)


class AgendaError(ValueError):
    """A refusal the agent can fix: one French sentence."""


def day_fr(day: date) -> str:
    return f"{format_date_fr(day)} {day.year}"


def hm(value: time | datetime) -> str:
    return f"{value:%H:%M}"


def minutes(start: time, end: time) -> int:
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def config_for(service: str) -> BookingConfig:
    """The booking rules of a site's service (slot grid, length of a slot)."""
    return load_bulky_booking_config() if service == "bulky_waste" else load_booking_config()


# ---- sites and closures ---------------------------------------------------------------------------


def site_or_error(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        known = ", ".join(session.execute(select(Site.id).order_by(Site.id)).scalars())
        raise AgendaError(f"site inconnu « {site_id} » (sites : {known})")
    return site


def recorded_closure(session: Session, site_id: str | None, day: date) -> str | None:
    """The recorded closure of `day` for `site_id` (None: the all-sites closure), or None."""
    where = (
        Closure.site_id.is_(None)
        if site_id is None
        else (Closure.site_id == site_id) | Closure.site_id.is_(None)
    )
    row = session.execute(select(Closure.reason, Closure.site_id).where(Closure.day == day, where)).first()
    if row is None:
        return None
    return f"{row[0]} (tous les sites)" if row[1] is None and site_id is not None else row[0]


def closure_reason(session: Session, site_id: str, day: date) -> str | None:
    """Why `day` is closed for `site_id` (public holiday or closure), or None."""
    holiday = holiday_name(day)
    return f"jour férié ({holiday})" if holiday else recorded_closure(session, site_id, day)


def day_closed(session: Session, site: Site, day: date) -> str | None:
    """Why `site` receives nobody on `day` (holiday, closure, no hours that weekday), or None."""
    return closure_reason(session, site.id, day) or (
        None if engine.openings(session, site, day) else "pas de permanence ce jour-là"
    )


# ---- extra openings -------------------------------------------------------------------------------


@dataclass
class Opened:
    """What `open_extra` did (or, for the ranges left aside, did not do) and why."""

    site_id: str
    site_name: str
    first: date
    last: date
    stations: int
    minutes_per_slot: int
    days: int = 0
    ranges: int = 0
    slots: int = 0
    identical: int = 0
    skipped: List[tuple[date, str]] = field(default_factory=list)  # (day, why closed)
    overlaps: List[tuple[date, time, time, List[tuple[time, time]]]] = field(default_factory=list)


def check_ranges(intervals: Iterable[tuple[time, time]], config: BookingConfig) -> List[tuple[time, time]]:
    """The ranges sorted, or AgendaError: on the slot grid, long enough for a slot, not overlapping."""
    step, per_document = config.slot_step_minutes, config.minutes_per_document
    ranges = sorted(set(intervals))
    if not ranges:
        raise AgendaError("indiquez au moins une plage horaire")
    for start, end in ranges:
        label = f"{hm(start)}-{hm(end)}"
        if end <= start:
            raise AgendaError(f"plage {label} : la fin doit être après le début")
        if start.minute % step or end.minute % step:
            raise AgendaError(f"plage {label} : les heures doivent tomber sur la grille de {step} minutes")
        if minutes(start, end) < per_document:
            raise AgendaError(f"plage {label} : trop courte (au moins {per_document} minutes)")
    for (s1, e1), (s2, e2) in zip(ranges, ranges[1:], strict=False):
        if s2 < e1:
            raise AgendaError(f"les plages {hm(s1)}-{hm(e1)} et {hm(s2)}-{hm(e2)} se chevauchent")
    return ranges


def _existing_ranges(session: Session, site_id: str, day: date) -> set[tuple[time, time]]:
    weekly = session.execute(
        select(WeeklySchedule.start_time, WeeklySchedule.end_time).where(
            WeeklySchedule.site_id == site_id, WeeklySchedule.weekday == day.weekday()
        )
    ).all()
    extra = session.execute(
        select(ExtraOpening.start_time, ExtraOpening.end_time).where(
            ExtraOpening.site_id == site_id, ExtraOpening.day == day
        )
    ).all()
    return {(s, e) for s, e in [*weekly, *extra]}


def open_extra(
    site_id: str,
    first: date,
    last: date,
    intervals: Iterable[tuple[time, time]],
    *,
    today: date,
    weekdays: Iterable[int] | None = None,
    stations: int | None = None,
    url: str | None = None,
) -> Opened:
    """Add the ranges to each chosen weekday of the period (holidays, closed days and ranges
    already open are left aside and reported). `stations` None: the site's own number."""
    if last < first:
        raise AgendaError("la fin de la période est avant son début")
    if first < today:
        raise AgendaError(f"le premier jour ({first:%d/%m/%Y}) est passé")
    if (last - first).days >= MAX_OPEN_DAYS:
        raise AgendaError(f"période trop longue (au plus {MAX_OPEN_DAYS} jours)")
    if stations is not None and not 1 <= stations <= MAX_STATIONS:
        raise AgendaError(f"nombre de postes invalide (entre 1 et {MAX_STATIONS})")
    chosen = frozenset(range(7)) if weekdays is None else frozenset(weekdays)
    with session_scope(url, write=True) as session:
        site = site_or_error(session, site_id)
        if not site.active:
            raise AgendaError(f"le site « {site.id} » est inactif (retiré du fichier de rendez-vous)")
        config = config_for(site.service)
        ranges = check_ranges(intervals, config)
        done = Opened(site.id, site.name, first, last, stations or site.stations, config.minutes_per_document)
        day = first
        while day <= last:
            if day.weekday() in chosen:
                _open_day(session, site, day, ranges, stations, done)
            day += timedelta(days=1)
    return done


def _open_day(
    session: Session,
    site: Site,
    day: date,
    ranges: List[tuple[time, time]],
    stations: int | None,
    done: Opened,
) -> None:
    reason = closure_reason(session, site.id, day)
    if reason:
        done.skipped.append((day, reason))
        return
    existing = _existing_ranges(session, site.id, day)
    added = 0
    for start, end in ranges:
        if (start, end) in existing:
            done.identical += 1
        elif any(s < end and start < e for s, e in existing):
            done.overlaps.append((day, start, end, sorted(existing)))
        else:
            session.add(
                ExtraOpening(site_id=site.id, day=day, start_time=start, end_time=end, stations=stations)
            )
            existing.add((start, end))
            added += 1
            done.slots += minutes(start, end) // done.minutes_per_slot * done.stations
    done.days += 1 if added else 0
    done.ranges += added


# ---- closures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Booked:
    """A booked appointment of a day being closed, with what an agent needs to warn the citizen."""

    start: datetime
    site_id: str
    reference: str
    reason: str
    people: int
    surname: str
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class Closed:
    """What `close_day` did: `recorded` False with `already` (closed before) or with the booked
    appointments that refused it (`force` not given)."""

    site_id: str | None
    where: str
    day: date
    reason: str
    recorded: bool
    already: str | None
    booked: tuple[Booked, ...]


def booked_on(session: Session, day: date, site_id: str | None = None) -> List[Booked]:
    """The appointments still booked on `day` (one site, or all), by time."""
    rows = session.execute(
        select(Appointment)
        .where(
            Appointment.status == "booked",
            Appointment.start >= datetime.combine(day, time.min),
            Appointment.start < datetime.combine(day + timedelta(days=1), time.min),
            *([Appointment.site_id == site_id] if site_id else []),
        )
        .order_by(Appointment.start, Appointment.site_id)
    ).scalars()
    return [
        Booked(a.start, a.site_id, a.reference, a.reason, a.people, a.surname, a.phone, a.email) for a in rows
    ]


def clean_reason(text: str) -> str:
    reason = " ".join(text.split())
    if not reason:
        raise AgendaError("le motif ne peut pas être vide")
    if len(reason) > MAX_REASON_CHARS:
        raise AgendaError(f"motif trop long ({MAX_REASON_CHARS} caractères au plus)")
    return reason


def close_day(
    site_id: str | None, day: date, reason: str, *, today: date, force: bool = False, url: str | None = None
) -> Closed:
    """Record a closure of `site_id` (None: every site) on `day`. Booked appointments that day
    refuse it unless `force`; forced, they are kept (and returned) for the agents to warn."""
    reason = clean_reason(reason)
    if day < today:
        raise AgendaError(f"le {day:%d/%m/%Y} est passé")
    # One write transaction: the check and the closure are atomic with respect to other writers.
    with session_scope(url, write=True) as session:
        site = site_or_error(session, site_id) if site_id else None
        where = "tous les sites" if site is None else f"{site.name} ({site.id})"
        already = recorded_closure(session, site.id if site else None, day)
        if already:
            return Closed(site_id, where, day, reason, False, already, ())
        live = tuple(booked_on(session, day, site.id if site else None))
        if live and not force:
            return Closed(site_id, where, day, reason, False, None, live)
        session.add(Closure(site_id=site.id if site else None, day=day, reason=reason, source="agent"))
    return Closed(site_id, where, day, reason, True, None, live)


# ---- attendance -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceCounts:
    """A day's appointments by attendance: `live` = not cancelled = present + absent + pending."""

    live: int
    present: int
    absent: int
    pending: int
    cancelled: int
    to_check: int


def attendance_counts(views: Iterable[engine.AppointmentView]) -> AttendanceCounts:
    statuses = [(v.status, v.needs_agent_check) for v in views]
    count = {s: sum(1 for status, _ in statuses if status == s) for s in (*ATTENDANCE, "cancelled")}
    return AttendanceCounts(
        live=len(statuses) - count["cancelled"],
        present=count["honoured"],
        absent=count["no_show"],
        pending=count["booked"],
        cancelled=count["cancelled"],
        to_check=sum(1 for status, check in statuses if check and status != "cancelled"),
    )


@dataclass(frozen=True)
class AttendanceChange:
    view: engine.AppointmentView
    before: str
    after: str

    @property
    def released(self) -> bool:
        """Marked absent: the pre-application numbers were freed (ANTS is to be told)."""
        return self.after == "no_show" and self.before != "no_show"

    @property
    def reclaimed(self) -> bool:
        """An absence undone: the numbers are held again (ANTS is to be told again)."""
        return self.before == "no_show" and self.after != "no_show"


def mark_attendance(
    reference: str,
    status: str,
    *,
    now: datetime,
    agent_id: int | None = None,
    site_ids: Iterable[str] | None = None,
    url: str | None = None,
) -> AttendanceChange:
    """Set an appointment's attendance: honoured (present), no_show (absent) or booked (not
    marked yet). `now` is the territory's wall-clock time; `site_ids`, when given, the sites the
    agent may act on (any other reference is « introuvable »).

    Present from the appointment's day on; absent once it has begun. An absent citizen's
    pre-application numbers are released, as after a cancellation, so that they can book again
    (RDV Service Public counts a no-show as cancelled for ANTS too); undoing it claims them back,
    unless another appointment holds them meanwhile.
    """
    if status not in ATTENDANCE:
        raise ValueError(f"unknown attendance {status!r}")
    allowed = None if site_ids is None else set(site_ids)
    with session_scope(url, write=True) as session:
        appt = session.execute(
            select(Appointment).where(Appointment.reference == reference.strip().upper())
        ).scalar_one_or_none()
        if appt is None or (allowed is not None and appt.site_id not in allowed):
            raise AgendaError("rendez-vous introuvable")
        if appt.status == "cancelled":
            raise AgendaError(f"le rendez-vous {appt.reference} est annulé : rien à pointer")
        if status != "booked" and appt.start.date() > now.date():
            raise AgendaError(f"le rendez-vous {appt.reference} n'a lieu que le {day_fr(appt.start.date())}")
        if status == "no_show" and appt.start > now:
            raise AgendaError(f"le rendez-vous {appt.reference} n'a pas encore commencé ({hm(appt.start)})")
        before = appt.status
        if before != status:
            if status == "no_show":
                session.execute(delete(ApplicationClaim).where(ApplicationClaim.appointment_id == appt.id))
            elif before == "no_show":
                _claim_again(session, appt)
            appt.status = status
            appt.attendance_at, appt.attendance_by = now, agent_id
            appt.updated_at = now
            session.flush()
        return AttendanceChange(engine.AppointmentView.of(appt, appt.site), before, status)


def _claim_again(session: Session, appt: Appointment) -> None:
    reference, ids = appt.reference, appt.application_ids.split()
    for application_id in ids:
        session.add(ApplicationClaim(application_id=application_id, appointment_id=appt.id))
        try:
            session.flush()
        except IntegrityError:  # the key says no: another live appointment holds the number
            raise AgendaError(
                f"le numéro de pré-demande {application_id} est repris par un autre rendez-vous : "
                f"{reference} reste absent"
            ) from None


# ---- CSV ------------------------------------------------------------------------------------------


def csv_cell(value: str) -> str:
    """Neutralise spreadsheet formulas in text typed by citizens (=, +, -, @, tab, CR)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def day_csv(views: Sequence[engine.AppointmentView]) -> bytes:
    """The appointments as CSV for Excel: « ; » separated, UTF-8 with a BOM, CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for v in views:
        writer.writerow(
            (
                csv_cell(v.site_name),
                f"{v.start:%d/%m/%Y}",
                hm(v.start),
                v.duration_minutes,
                v.reference,
                REASON_FR.get(v.reason, v.reason),
                v.people,
                csv_cell(v.surname),
                STATUS_FR.get(v.status, v.status),
                "oui" if v.needs_agent_check else "non",
                csv_cell(v.address or ""),
                csv_cell(v.items or ""),
            )
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel then reads UTF-8
