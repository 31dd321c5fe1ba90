"""Publik Chrono as the agenda of identity appointments (a booking/connector.py adapter).

Many communes already book CNI / passport appointments in Chrono, Publik's agenda software (often
connected to ANTS through it); they cannot run a second agenda. With this adapter the assistant
offers Chrono's free slots and books, moves and cancels in Chrono, while the assistant's database
keeps its own record of each appointment (reference, surname, conversation, contacts for the
reminders, pre-application numbers) and the Chrono booking id (table ``external_bookings``).

The API used -- from Entr'ouvert's published documentation of Chrono (Chrono's source code was not
available to check it against) (doc-publik.entrouvert.com,
« API agendas (chrono) »: « Informations sur les agendas », « Obtenir les créneaux d'un agenda »,
« Réservation d'un créneau », « Gestion des réservations », « Annulation dans un agenda »):

* ``GET /api/agenda/<agenda>/meetings/`` -- the meeting types of an agenda of kind « meetings »
  (``{"data": [{"id", "text", "duration", "api": {"datetimes_url"}}]}``); an appointment of N
  minutes uses the meeting type whose ``duration`` is N (cached 5 minutes);
* ``GET …/meetings/<type>/datetimes/?date_start=YYYY-MM-DD&date_end=YYYY-MM-DD&hide_disabled=true``
  (``date_end`` excluded) -- ``{"data": [{"id", "datetime": "2026-12-07 10:00:00", "end_datetime",
  "disabled", "api": {"fillslot_url"}}]}``, local (Europe/Paris) wall-clock times like our
  database's;
* ``POST /api/agenda/<agenda>/fillslot/<slot id>/`` (the slot's ``fillslot_url``) with a JSON body
  (``label``, ``user_last_name``, ``user_external_id``, ``user_display_label``, extra keys kept by
  Chrono as ``extra_data``; ``cancel_booking_id`` to move: the old booking is cancelled when the
  new one is made) -- ``{"err": 0, "booking_id", "datetime", "api": {"cancel_url", …}}``, or
  ``{"err": 1, "err_class": "no more desk available", …}`` when the slot was taken meanwhile;
* ``POST /api/booking/<id>/cancel/`` -- ``{"err": 0}``, or ``{"err": 1, … "already cancelled"}``;
* ``GET /api/booking/<id>/`` -- ``{"err": 0, "data": {…}}``, or ``{"err": 1, "err_class":
  "booking is cancelled"}`` (an agent cancelled it in Chrono's back office);
* ``GET /api/bookings/?user_external_id=…&agenda=…`` -- the bookings made for one user id.

Every request is signed as Publik's web services are (core/publik_signature.py: ``algo``,
``timestamp``, ``orig``, ``nonce``, ``signature``), with the ``orig`` and key Chrono's
administrator gives (GRU_CHRONO_ORIG, GRU_CHRONO_KEY).

Booking is « hold, then confirm »: the slot is held in Chrono (fillslot), then the assistant's
record is written in one transaction that checks the pre-application numbers and the limits of
active appointments; when that fails, the Chrono booking is cancelled again. Before the hold, the
same checks are made read-only, so a citizen over a limit never reaches Chrono. No personal data
goes to Chrono beyond the surname (agents see it in Chrono's back office with the reference in the
label); no e-mail nor phone, so Chrono sends no reminder of its own (the assistant does). Each
fillslot carries its own ``user_external_id`` (``gru-<reference>``, ``gru-<reference>-<new start>``
for a move): when its answer is lost (timeout, 5xx, unreadable -- Chrono may have booked anyway),
the bookings of that id are looked up; one found is kept as the hold, none found means nothing was
booked and the citizen is told so.

Timeouts and retries (core/http.py): each call has the GRU_CHRONO_TIMEOUT budget (5 s); GET and
the cancellation (idempotent: a second one answers « already cancelled ») are retried on a
connection error or a 5xx within that budget; fillslot never is. 401/403 (the key or orig refused)
and every failure become BookingUnavailable: the citizen is told kindly, with the service's phone.
Logs: method, path with the booking id masked, status, duration -- never a name or a reference.
"""

from __future__ import annotations

import asyncio
import logging
import time as monotonic
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, List, Tuple
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from booking import ants_sync, engine
from booking.ants import AntsSettings
from booking.config import BookingConfig, load_booking_config
from booking.connector import BookingUnavailable, Records
from booking.engine import (
    ApplicationAlreadyBooked,
    AppointmentNotFound,
    AppointmentView,
    BookingError,
    Slot,
    SlotNotOffered,
    SlotTaken,
)
from booking.local import LocalBookingBackend
from booking.models import ApplicationClaim, Appointment, ExternalBooking, Site, SlotClaim
from core.db import session_scope
from core.holidays import holiday_name
from core.http import JsonClient, Rejected, Unavailable
from core.publik_signature import new_nonce, sign_query

logger = logging.getLogger(__name__)

BACKEND = "chrono"
MEETING_TYPES_TTL_S = 300.0
CHUNK_DAYS = 14  # free slots are read two weeks at a time until enough are found
CANCELLED_CLASSES = ("booking is cancelled", "already cancelled")
GONE_CLASSES = CANCELLED_CLASSES + ("not found", "does not exist")
REASON_LABELS = {"CNI": "carte d'identité", "PASSPORT": "passeport", "CNI-PASSPORT": "CNI et passeport"}
USER_LABEL = "Rendez-vous carte d'identité / passeport"

# (base URL, agenda) -> (expiry on the monotonic clock, {duration in minutes: meeting type slug})
_meeting_types: Dict[Tuple[str, str], Tuple[float, Dict[int, str]]] = {}


def _path_of(url: Any, prefix: str) -> str | None:
    """The path of a URL Chrono gave (fillslot_url, datetimes_url), if it is one of its API's:
    the call always goes to the configured base URL, never to a host an answer names."""
    if not isinstance(url, str) or not url:
        return None
    path = urlsplit(url).path
    return path if path.startswith(prefix) and ".." not in path else None


def _error_class(answer: Any) -> str:
    if not isinstance(answer, dict):
        return ""
    return " ".join(str(answer.get(k) or "") for k in ("err_class", "err_desc", "reason")).strip().lower()


def _failed(answer: Any) -> bool:
    return not isinstance(answer, dict) or answer.get("err") not in (0, None, False)


class ChronoClient:
    """Chrono's published API, signed. Knows HTTP and the shapes, nothing of the conversation."""

    def __init__(
        self,
        base_url: str,
        orig: str,
        key: str,
        *,
        timeout_s: float = 5.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not base_url or not orig or not key:
            raise ValueError("the Chrono client needs a base URL, an orig and a key")
        self.base_url = base_url.rstrip("/")
        self._orig = orig
        self._key = key
        self._http = JsonClient(
            "Chrono",
            self.base_url,
            logger=logger,
            timeout_env="GRU_CHRONO_TIMEOUT",
            timeout_default=5.0,
            timeout_s=timeout_s,
            session=session,
        )

    def __repr__(self) -> str:  # never the key
        return f"ChronoClient(base_url={self.base_url!r}, orig={self._orig!r})"

    @property
    def timeout_s(self) -> float:
        return self._http.timeout_s

    async def _call(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]] = (),
        *,
        body: Any = None,
        idempotent: bool | None = None,
        log_path: str | None = None,
    ) -> Any:
        """The decoded answer; Chrono's own refusals (``err`` 1, HTTP 200, 400 or 404) are answers
        too. BookingUnavailable for everything else."""
        encoded = urlencode(list(params))

        def query() -> str:  # signed again for each try: Chrono may refuse a nonce seen before
            return sign_query(encoded, self._key, self._orig, nonce=new_nonce())

        try:
            async with self._http.call(
                method, path, query=query, json_body=body, idempotent=idempotent, log_path=log_path
            ) as reply:
                return reply.data
        except Unavailable as exc:
            raise BookingUnavailable("invalid_answer" if exc.kind == "invalid_json" else exc.kind) from None
        except Rejected as exc:
            if exc.status in (401, 403):
                raise BookingUnavailable("unauthorized", f"HTTP {exc.status}") from None
            if exc.status in (400, 404, 409) and isinstance(exc.body, dict):
                return {"err": 1, **exc.body} if "err" not in exc.body else exc.body
            if exc.status == 404:
                return {"err": 1, "err_class": "not found"}
            raise BookingUnavailable("rejected", f"HTTP {exc.status}") from None

    async def meeting_types(self, agenda: str) -> Dict[int, str]:
        """{duration in minutes: datetimes path} of an agenda's meeting types (cached)."""
        key = (self.base_url, agenda)
        cached = _meeting_types.get(key)
        if cached and cached[0] > monotonic.monotonic():
            return cached[1]
        path = f"/api/agenda/{quote(agenda, safe='')}/meetings/"
        answer = await self._call("GET", path)
        if _failed(answer) or not isinstance(answer.get("data"), list):
            raise BookingUnavailable("invalid_answer", "meeting types")
        found: Dict[int, str] = {}
        for item in answer["data"]:
            if not isinstance(item, dict) or isinstance(item.get("duration"), bool):
                continue
            duration, slug = item.get("duration"), item.get("id") or item.get("slug")
            if not isinstance(duration, int) or not isinstance(slug, str) or not slug:
                continue
            api = item.get("api") if isinstance(item.get("api"), dict) else {}
            datetimes = _path_of(api.get("datetimes_url"), "/api/agenda/") or (
                f"{path}{quote(slug, safe='')}/datetimes/"
            )
            found.setdefault(duration, datetimes)
        _meeting_types[key] = (monotonic.monotonic() + MEETING_TYPES_TTL_S, found)
        return found

    async def datetimes(
        self, path: str, first: date, last: date, *, hide_disabled: bool = True
    ) -> List[dict]:
        """The slots of a meeting type from `first` to `last` included."""
        params = [("date_start", first.isoformat()), ("date_end", (last + timedelta(days=1)).isoformat())]
        if hide_disabled:
            params.append(("hide_disabled", "true"))
        answer = await self._call("GET", path, params)
        if _failed(answer) or not isinstance(answer.get("data"), list):
            raise BookingUnavailable("invalid_answer", "datetimes")
        return [item for item in answer["data"] if isinstance(item, dict)]

    async def fillslot(self, path: str, body: Mapping[str, Any]) -> dict:
        """Book a slot: never retried (a second POST could book twice)."""
        answer = await self._call(
            "POST",
            path,
            body=dict(body),
            idempotent=False,
            log_path=path.rsplit("/fillslot/", 1)[0] + "/fillslot/<slot>/",
        )
        if not isinstance(answer, dict):
            raise BookingUnavailable("invalid_answer", "fillslot")
        return answer

    async def cancel(self, booking_id: str) -> bool:
        """Cancel a booking; True when it is cancelled now (or was already)."""
        path = f"/api/booking/{quote(booking_id, safe='')}/cancel/"
        answer = await self._call("POST", path, idempotent=True, log_path="/api/booking/<id>/cancel/")
        if not _failed(answer):
            return True
        return any(word in _error_class(answer) for word in GONE_CLASSES)

    async def is_live(self, booking_id: str) -> bool:
        path = f"/api/booking/{quote(booking_id, safe='')}/"
        answer = await self._call("GET", path, log_path="/api/booking/<id>/")
        if not _failed(answer):
            data = answer.get("data") if isinstance(answer.get("data"), dict) else answer
            return not data.get("cancellation_datetime")
        error = _error_class(answer)
        if any(word in error for word in GONE_CLASSES):
            return False
        raise BookingUnavailable("invalid_answer", "booking")

    async def bookings_of(self, user_external_id: str, agenda: str) -> List[str]:
        params = [("user_external_id", user_external_id), ("agenda", agenda)]
        answer = await self._call("GET", "/api/bookings/", params)
        if _failed(answer) or not isinstance(answer.get("data"), list):
            raise BookingUnavailable("invalid_answer", "bookings")
        return [str(item["id"]) for item in answer["data"] if isinstance(item, dict) and item.get("id")]


# ---- the assistant's record (plain database functions, run in a worker thread) -------------------


@dataclass(frozen=True)
class External:
    agenda: str
    booking_id: str


def _check_offered(session, config: BookingConfig, slot: Slot, now: datetime) -> None:
    """The rules the assistant keeps for every agenda: a known site, the notice, the window."""
    site = session.get(Site, slot.site_id)
    if site is None or not site.active:
        raise SlotNotOffered("site inconnu")
    if slot.start < now + timedelta(minutes=config.min_notice_minutes):
        raise SlotNotOffered("créneau passé ou trop proche")
    if slot.start.date() > now.date() + timedelta(days=config.booking_window_days):
        raise SlotNotOffered("au-delà de la période de réservation")


def _free_reference(session) -> str:
    while True:
        reference = engine.new_reference()
        if session.execute(select(Appointment.id).where(Appointment.reference == reference)).first() is None:
            return reference


def precheck(
    fields: dict, ids: List[str], slot: Slot, config: BookingConfig, now: datetime, url: str | None
) -> str:
    """Read-only checks before the hold; the reference the booking will have."""
    with session_scope(url) as session:
        _check_offered(session, config, slot, now)
        engine.check_applications_free(session, ids)
        engine._check_limits(session, config, fields, now)
        return _free_reference(session)


def record(
    reference: str,
    fields: dict,
    ids: List[str],
    external: External,
    config: BookingConfig,
    now: datetime,
    url: str | None,
) -> AppointmentView:
    """The confirmation: the assistant's record of a booking held in Chrono, in one transaction."""
    with session_scope(url, write=True) as session:
        engine._check_limits(session, config, fields, now)
        appt = Appointment(reference=reference, station=1, **fields)
        session.add(appt)
        session.flush()
        for application_id in ids:
            session.add(ApplicationClaim(application_id=application_id, appointment_id=appt.id))
            try:
                session.flush()
            except IntegrityError as exc:
                raise ApplicationAlreadyBooked(application_id) from exc
        session.add(
            ExternalBooking(
                appointment_id=appt.id,
                backend=BACKEND,
                agenda=external.agenda,
                booking_id=external.booking_id,
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        return AppointmentView.of(appt, session.get(Site, fields["site_id"]))


def external_of(
    reference: str, surname: str | None, sender: tuple[str, str] | None, url: str | None
) -> Tuple[AppointmentView, External | None]:
    """A live appointment its holder proves (engine's rule) and its Chrono booking, if any."""
    with session_scope(url) as session:
        appt = engine._live(session, reference, surname, sender)
        external = session.get(ExternalBooking, appt.id)
        found = External(external.agenda, external.booking_id) if external else None
        return AppointmentView.of(appt, appt.site), found


def external_by_reference(reference: str, url: str | None) -> External | None:
    """The Chrono booking of a live appointment (for the reminders: no second factor, not a citizen)."""
    with session_scope(url) as session:
        row = session.execute(
            select(ExternalBooking)
            .join(Appointment, Appointment.id == ExternalBooking.appointment_id)
            .where(Appointment.reference == reference.upper(), Appointment.status == "booked")
        ).scalar_one_or_none()
        return External(row.agenda, row.booking_id) if row else None


def moved(
    reference: str,
    surname: str | None,
    sender: tuple[str, str] | None,
    new_slot: Slot,
    external: External,
    now: datetime,
    url: str | None,
) -> AppointmentView:
    with session_scope(url, write=True) as session:
        appt = engine._live(session, reference, surname, sender)
        session.execute(
            delete(SlotClaim).where(SlotClaim.appointment_id == appt.id)
        )  # a local booking moved in
        row = session.get(ExternalBooking, appt.id)
        if row is None:
            row = ExternalBooking(appointment_id=appt.id, backend=BACKEND, created_at=now)
            session.add(row)
        row.agenda, row.booking_id, row.updated_at = external.agenda, external.booking_id, now
        appt.site_id, appt.station, appt.start, appt.updated_at = new_slot.site_id, 1, new_slot.start, now
        session.flush()
        return AppointmentView.of(appt, session.get(Site, new_slot.site_id))


def cancelled_in_agenda(reference: str, now: datetime, url: str | None) -> AppointmentView | None:
    """Chrono says the booking is cancelled (an agent did it there): record it so."""
    with session_scope(url, write=True) as session:
        appt = session.execute(
            select(Appointment).where(
                Appointment.reference == reference.upper(), Appointment.status == "booked"
            )
        ).scalar_one_or_none()
        if appt is None:
            return None
        engine._release(session, appt.id)
        appt.status, appt.cancelled_at, appt.updated_at = "cancelled", now, now
        session.flush()
        return AppointmentView.of(appt, appt.site)


# ---- the adapter ---------------------------------------------------------------------------------


class ChronoBookingBackend(Records):
    """booking/connector.py adapter: the sites of `agendas` (site id -> Chrono agenda slug) are
    booked in Chrono; any other site (bulky-waste rounds), and appointments booked locally before
    the switch, go on with the local engine."""

    name = BACKEND

    def __init__(
        self,
        base_url: str,
        orig: str,
        key: str,
        agendas: Mapping[str, str],
        *,
        url: str | None = None,
        timeout_s: float = 5.0,
        session: aiohttp.ClientSession | None = None,
        ants: AntsSettings | None = None,
    ) -> None:
        super().__init__(url)
        self.ants = ants  # None: AntsSettings.from_env() when needed
        self.client = ChronoClient(base_url, orig, key, timeout_s=timeout_s, session=session)
        self.agendas = dict(agendas)
        self.local = LocalBookingBackend(url)

    def __repr__(self) -> str:
        return f"ChronoBookingBackend({self.client!r}, agendas={self.agendas!r})"

    # -- free slots --

    async def _slots_of(self, site_id: str, first: date, last: date, duration: int) -> List[Slot]:
        agenda = self.agendas[site_id]
        path = (await self.client.meeting_types(agenda)).get(duration)
        if path is None:
            logger.warning(
                "Chrono agenda %s has no meeting type of %d minutes: no slot offered", agenda, duration
            )
            return []
        found = []
        for item in await self.client.datetimes(path, first, last):
            if item.get("disabled"):
                continue
            try:
                start = datetime.fromisoformat(str(item["datetime"]))
            except (KeyError, ValueError):
                raise BookingUnavailable("invalid_answer", "datetime") from None
            found.append(Slot(site_id, start.replace(tzinfo=None, second=0, microsecond=0), duration))
        return found

    async def available_slots(
        self,
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
        config: BookingConfig | None = None,
        service: str | None = None,
    ) -> List[Slot]:
        ids = list(dict.fromkeys(site_ids))
        remote = [s for s in ids if s in self.agendas and service in (None, "identity")]
        options = dict(
            now=now,
            time_from=time_from,
            time_to=time_to,
            preferred_time=preferred_time,
            config=config,
            service=service,
        )
        others = [s for s in ids if s not in remote]
        if not remote:
            return await self.local.available_slots(
                others, first, last, duration, limit=limit, offset=offset, **options
            )
        config = config or load_booking_config()
        moment = engine.local_now(now)
        earliest = moment + timedelta(minutes=config.min_notice_minutes)
        first = max(first, moment.date())
        last = min(last, moment.date() + timedelta(days=config.booking_window_days))
        found: List[Slot] = []
        if others:  # never the case with the booking files (each call is about one service's sites)
            found += await self.local.available_slots(others, first, last, duration, **options)
        chunk = timedelta(days=CHUNK_DAYS if limit is not None else 366)
        day = first
        while day <= last:
            chunk_last = min(last, day + chunk - timedelta(days=1))
            batches = await asyncio.gather(*(self._slots_of(s, day, chunk_last, duration) for s in remote))
            for slot in (s for batch in batches for s in batch):
                if not first <= slot.start.date() <= last or slot.start < earliest:
                    continue
                if (time_from and slot.start.time() < time_from) or (
                    time_to and slot.start.time() >= time_to
                ):
                    continue
                found.append(slot)
            if limit is not None and len(found) >= offset + limit:
                break
            day = chunk_last + timedelta(days=1)
        found = sorted(set(found), key=lambda slot: (slot.start.date(), *_rank(slot, preferred_time)))
        return found[offset : offset + limit] if limit is not None else found[offset:]

    async def closed_reason(self, site_id: str, day: date) -> str | None:
        if site_id not in self.agendas:
            return await self.local.closed_reason(site_id, day)
        holiday = holiday_name(day)
        return f"jour férié ({holiday})" if holiday else None  # Chrono's own closures are not published

    # -- booking --

    async def _fillslot_path(self, slot: Slot) -> str:
        """The slot's fillslot path, read from Chrono's own list (SlotNotOffered when the slot is
        not one of Chrono's, SlotTaken when it is full)."""
        path = (await self.client.meeting_types(self.agendas[slot.site_id])).get(slot.duration_minutes)
        if path is None:
            raise SlotNotOffered("pas de type de rendez-vous de cette durée")
        day = slot.start.date()
        for item in await self.client.datetimes(path, day, day, hide_disabled=False):
            try:
                start = datetime.fromisoformat(str(item.get("datetime")))
            except ValueError:
                continue
            if start.replace(tzinfo=None) != slot.start:
                continue
            if item.get("disabled"):
                raise SlotTaken(slot.key)
            api = item.get("api") if isinstance(item.get("api"), dict) else {}
            fillslot = _path_of(api.get("fillslot_url"), "/api/agenda/")
            if fillslot is None:
                raise BookingUnavailable("invalid_answer", "fillslot_url")
            return fillslot
        raise SlotNotOffered("hors des créneaux de l'agenda")

    @staticmethod
    def _body(reference: str, reason: str, people: int, surname: str, ids: Sequence[str]) -> dict:
        label = f"{reference} — {REASON_LABELS.get(reason, reason)}, {people} pers."
        body = {
            "label": label,
            "user_last_name": surname.strip()[:100],
            "user_display_label": USER_LABEL,
            "user_external_id": f"gru-{reference}",
            "gru_reference": reference,
        }
        if ids:
            body["pre_demandes_ants"] = " ".join(ids)  # agents check them at the desk
        return body

    async def _hold(self, slot: Slot, body: dict) -> External:
        """fillslot. When Chrono fails without a clear answer (timeout, 5xx, unreadable), it may
        have booked all the same: the bookings of this request's user id are looked up, and the one
        found is taken as the hold (any other is cancelled); none found: BookingUnavailable."""
        agenda = self.agendas[slot.site_id]
        path = await self._fillslot_path(slot)
        try:
            answer = await self.client.fillslot(path, body)
        except BookingUnavailable as exc:
            if exc.kind in ("unauthorized", "rejected"):
                raise
            found = await self._recover(body["user_external_id"], agenda)
            if found is None:
                raise
            logger.warning("Chrono booked despite a failed fillslot (%s): the booking is kept", exc.kind)
            return found
        if _failed(answer):
            logger.info("Chrono refused a slot (%s)", _error_class(answer)[:60] or "no reason")
            raise SlotTaken(slot.key)
        booking_id = answer.get("booking_id")
        if isinstance(booking_id, bool) or not isinstance(booking_id, (int, str)) or not str(booking_id):
            found = await self._recover(body["user_external_id"], agenda)
            if found is None:
                raise BookingUnavailable("invalid_answer", "booking_id")
            return found
        return External(agenda, str(booking_id))

    async def _recover(self, user_external_id: str, agenda: str) -> External | None:
        try:
            found = await self.client.bookings_of(user_external_id, agenda)
        except BookingUnavailable as exc:
            logger.error(
                "Chrono: could not look for a booking left by a failed fillslot (%s); an agent "
                "should look in agenda %s for a label that starts with RDV-",
                exc.kind,
                agenda,
            )
            return None
        for extra in found[1:]:
            await self._release(External(agenda, extra))
        return External(agenda, found[0]) if found else None

    async def _release(self, external: External) -> None:
        try:
            if not await self.client.cancel(external.booking_id):
                logger.error(
                    "Chrono refused to cancel booking %s of agenda %s", external.booking_id, external.agenda
                )
        except BookingUnavailable as exc:
            logger.error(
                "Chrono booking %s of agenda %s not cancelled (%s): an agent must cancel it",
                external.booking_id,
                external.agenda,
                exc.kind,
            )

    async def book(
        self,
        slot: Slot,
        *,
        now: datetime | None = None,
        config: BookingConfig | None = None,
        **details: Any,
    ) -> AppointmentView:
        """`details` as booking/connector.py's BookingBackend.book (engine.appointment_fields)."""
        if slot.site_id not in self.agendas:
            return await self.local.book(slot, now=now, config=config, **details)
        config = config or load_booking_config()
        moment = engine.local_now(now)
        fields, ids = engine.appointment_fields(slot, now=moment, config=config, **details)
        reference = await asyncio.to_thread(precheck, fields, ids, slot, config, moment, self.url)
        body = self._body(reference, fields["reason"], fields["people"], fields["surname"], ids)
        external = await self._hold(slot, body)
        try:
            return await asyncio.to_thread(record, reference, fields, ids, external, config, moment, self.url)
        except (BookingError, IntegrityError) as exc:
            await self._release(external)
            if isinstance(exc, IntegrityError):  # a reference drawn twice at once: choose again
                raise SlotTaken(slot.key) from None
            raise
        except (SQLAlchemyError, OSError):
            await self._release(external)
            raise

    async def cancel(
        self,
        reference: str,
        *,
        surname: str | None = None,
        sender: tuple[str, str] | None = None,
        now: datetime | None = None,
    ) -> AppointmentView:
        _view, external = await asyncio.to_thread(external_of, reference, surname, sender, self.url)
        if external is not None and not await self.client.cancel(external.booking_id):
            raise BookingUnavailable("rejected", "cancel")
        return await self.local.cancel(reference, surname=surname, sender=sender, now=now)

    async def reschedule(
        self,
        reference: str,
        new_slot: Slot,
        *,
        surname: str | None = None,
        sender: tuple[str, str] | None = None,
        now: datetime | None = None,
        config: BookingConfig | None = None,
    ) -> AppointmentView:
        current, external = await asyncio.to_thread(external_of, reference, surname, sender, self.url)
        if new_slot.site_id not in self.agendas:
            if external is not None:
                raise SlotNotOffered("un rendez-vous de l'agenda Chrono reste dans Chrono")
            return await self.local.reschedule(
                reference, new_slot, surname=surname, sender=sender, now=now, config=config
            )
        config = config or load_booking_config()
        moment = engine.local_now(now)
        if new_slot.duration_minutes != current.duration_minutes:
            raise ValueError("slot duration does not match the appointment")
        await asyncio.to_thread(_offered, config, new_slot, moment, self.url)
        body = self._body(
            current.reference, current.reason, current.people, current.surname, current.application_ids
        )
        body["user_external_id"] = f"gru-{current.reference}-{new_slot.start:%Y%m%d%H%M}"  # one per move
        if external is not None:
            body["cancel_booking_id"] = external.booking_id  # Chrono cancels it once the new one is made
        held = await self._hold(new_slot, body)
        try:
            return await asyncio.to_thread(
                moved, reference, surname, sender, new_slot, held, moment, self.url
            )
        except (AppointmentNotFound, SQLAlchemyError, OSError):
            await self._release(held)  # cancelled meanwhile: the new booking goes too
            raise

    async def still_booked(self, reference: str) -> bool:
        external = await asyncio.to_thread(external_by_reference, reference, self.url)
        if external is None:
            return await self.local.still_booked(reference)
        try:
            live = await self.client.is_live(external.booking_id)
        except BookingUnavailable as exc:
            logger.warning("Chrono could not confirm a booking (%s): taken as still booked", exc.kind)
            return True
        if not live:
            view = await asyncio.to_thread(cancelled_in_agenda, reference, engine.local_now(), self.url)
            logger.info("a booking cancelled in Chrono is recorded as cancelled")
            if view is not None:  # its pre-application numbers are free again: ANTS is told
                await ants_sync.withdraw_appointment(view, self.ants or AntsSettings.from_env(), url=self.url)
        return live


def _offered(config: BookingConfig, slot: Slot, now: datetime, url: str | None) -> None:
    with session_scope(url) as session:
        _check_offered(session, config, slot, now)


def _rank(slot: Slot, preferred_time: time | None) -> tuple:
    """The engine's order within a day."""
    if preferred_time is None:
        return (slot.start, slot.site_id)
    minutes = slot.start.hour * 60 + slot.start.minute
    wanted = preferred_time.hour * 60 + preferred_time.minute
    return (abs(minutes - wanted), slot.start, slot.site_id)
