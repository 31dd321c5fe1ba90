"""Where identity appointments are booked: the one interface of the chat, the citizens' pages, the
reminders and the ANTS hub, whatever agenda holds the slots.

Adapters (chosen by :func:`booking_backend`):

* ``local`` (default, embedded) -- booking/local.py: the booking engine (booking/engine.py) on the
  assistant's database, weekly hours from the booking file (territory/demo/booking.yml);
* ``chrono`` -- booking/chrono.py: the collectivité's Publik Chrono (its agendas of kind
  « meetings »), through Chrono's published, signed API.

Whatever the adapter, the assistant's database keeps a record of every appointment booked through
it: the reference (``RDV-`` + 6 characters) and the surname that is its second factor, the channel
and conversation, the contacts given for reminders, the pre-application numbers (one live
appointment each). So the look-ups -- by reference and surname, a conversation's appointments, the
appointments of pre-application numbers, the sites -- are the same plain functions over that
database for every adapter (:class:`Records`), synchronous like every database call of the project
(callers run them in a worker thread). The agenda operations -- free slots, book, cancel, move, and
« is it still booked? » for the reminders -- may go over the network: they are coroutines, every
call has a time budget, and they raise :class:`BookingUnavailable` when the agenda cannot answer
(nothing was booked, cancelled or moved; the caller tells the citizen so, with the service's phone).

The rest of the engine's errors (SlotTaken, SlotNotOffered, ApplicationAlreadyBooked,
TooManyAppointments, AppointmentNotFound) mean the same for every adapter.

Configuration: ``backend.kind`` of the booking file, or GRU_BOOKING_BACKEND (``local`` | ``chrono``);
Chrono's address and keys from the environment only (GRU_CHRONO_URL, GRU_CHRONO_ORIG,
GRU_CHRONO_KEY, GRU_CHRONO_TIMEOUT), its agendas from ``backend.chrono_agendas`` or
GRU_CHRONO_AGENDAS (« site=agenda,site=agenda »; by default the agenda's slug is the site's id).
Bulky-waste rounds (their own booking file) stay on the local engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Dict, List, Protocol, runtime_checkable

from booking import engine
from booking.config import BACKENDS, BookingConfig, load_booking_config
from booking.engine import AppointmentView, BookingError, Slot
from booking.models import Site
from core.http import pairs_from_env, timeout_from_env

__all__ = [
    "BookingBackend",
    "BookingUnavailable",
    "Records",
    "booking_backend",
    "chrono_agendas",
]

UNAVAILABLE_KINDS = (
    "timeout",
    "connection",
    "server_error",
    "rate_limited",
    "invalid_answer",
    "unauthorized",
    "rejected",
    "not_configured",
)


class BookingUnavailable(BookingError):
    """The agenda cannot answer now (down, too slow, our credentials refused, an answer we cannot
    read): nothing was booked, cancelled or moved. ``kind`` is one of UNAVAILABLE_KINDS, for the
    logs; the message never holds a reference, a name or a query."""

    def __init__(self, kind: str, detail: str = "") -> None:
        self.kind = kind if kind in UNAVAILABLE_KINDS else "rejected"
        super().__init__(f"agenda unavailable ({self.kind}{': ' + detail if detail else ''})")


@runtime_checkable
class BookingBackend(Protocol):
    """What the chat, the pages, the reminders and the hub need of an agenda."""

    name: str  # "local" | "chrono"
    url: str | None  # the assistant's database (None: GRU_DATABASE_URL)

    # -- look-ups in the assistant's database (synchronous: run them in a worker thread) --

    def list_sites(self, *, service: str | None = "identity") -> List[Site]: ...

    def get_appointment(
        self, reference: str, *, surname: str | None = None, sender: tuple[str, str] | None = None
    ) -> AppointmentView: ...

    def appointment_by_reference(self, reference: str) -> AppointmentView: ...

    def appointments_of(
        self, channel: str, sender_id: str, *, now: datetime | None = None
    ) -> List[AppointmentView]: ...

    def appointments_for_applications(
        self, application_ids: Iterable[str]
    ) -> Dict[str, List[AppointmentView]]: ...

    # -- the agenda (coroutines; BookingUnavailable when it cannot answer) --

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
        """Free slots of `duration` minutes from `first` to `last` (inclusive), best first (the
        engine's order: day by day; within a day nearest to `preferred_time`, else by time)."""
        ...

    async def closed_reason(self, site_id: str, day: date) -> str | None:
        """Why a site takes no appointment that day, when the adapter knows it; None otherwise."""
        ...

    async def book(
        self,
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
        now: datetime | None = None,
        config: BookingConfig | None = None,
    ) -> AppointmentView:
        """Hold `slot` in the agenda and confirm it with the assistant's record, or neither."""
        ...

    async def cancel(
        self,
        reference: str,
        *,
        surname: str | None = None,
        sender: tuple[str, str] | None = None,
        now: datetime | None = None,
    ) -> AppointmentView: ...

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
        """Move a live appointment; the old slot is kept when the new one cannot be had."""
        ...

    async def still_booked(self, reference: str) -> bool:
        """Whether the appointment is still live in the agenda (an agent may have cancelled it
        there); an appointment found cancelled is recorded so. True when the agenda cannot say."""
        ...


class Records:
    """The look-ups every adapter shares: the assistant's own database (booking/engine.py)."""

    name = "records"

    def __init__(self, url: str | None = None) -> None:
        self.url = url

    def list_sites(self, *, service: str | None = "identity") -> List[Site]:
        return engine.list_sites(service=service, url=self.url)

    def get_appointment(
        self, reference: str, *, surname: str | None = None, sender: tuple[str, str] | None = None
    ) -> AppointmentView:
        return engine.get_appointment(reference, surname=surname, sender=sender, url=self.url)

    def appointment_by_reference(self, reference: str) -> AppointmentView:
        return engine.appointment_by_reference(reference, url=self.url)

    def appointments_of(
        self, channel: str, sender_id: str, *, now: datetime | None = None
    ) -> List[AppointmentView]:
        return engine.appointments_of(channel, sender_id, now=now, url=self.url)

    def appointments_for_applications(
        self, application_ids: Iterable[str]
    ) -> Dict[str, List[AppointmentView]]:
        return engine.appointments_for_applications(application_ids, url=self.url)


# ---- configuration ------------------------------------------------------------------------------


def chrono_agendas(config: BookingConfig, env: Mapping[str, str] = os.environ) -> Dict[str, str]:
    """Site id -> Chrono agenda slug for every site of the booking file (GRU_CHRONO_AGENDAS, then
    the file's backend.chrono_agendas, then the site's own id)."""
    mapping = dict(config.backend.chrono_agendas)
    mapping.update(pairs_from_env("GRU_CHRONO_AGENDAS", "site=agenda,site=agenda", env))
    ids = [site.id for site in config.sites]
    unknown = sorted(set(mapping) - set(ids))
    if unknown:
        raise ValueError(
            f"GRU_CHRONO_AGENDAS nomme des sites absents du fichier des rendez-vous : {', '.join(unknown)}"
        )
    return {site: mapping.get(site, site) for site in ids}


def backend_kind(config: BookingConfig | None = None, env: Mapping[str, str] = os.environ) -> str:
    raw = (env.get("GRU_BOOKING_BACKEND") or "").strip().lower()
    if raw and raw not in BACKENDS:
        raise ValueError(f"GRU_BOOKING_BACKEND doit valoir {' ou '.join(BACKENDS)} ; reçu {raw!r}")
    return raw or (config or load_booking_config()).backend.kind


def booking_backend(
    url: str | None = None, *, env: Mapping[str, str] = os.environ, config: BookingConfig | None = None
) -> BookingBackend:
    """The adapter the configuration chooses, on the database `url` (None: GRU_DATABASE_URL).

    ValueError in French (naming the variable, never echoing the key) when the configuration is
    incomplete; `make run` checks it before starting (ops/servers.py).
    Cheap to call per request: the Chrono adapter shares the process's HTTP session and caches.
    """
    config = config or load_booking_config()
    kind = backend_kind(config, env)
    if kind == "local":
        from booking.local import LocalBookingBackend

        return LocalBookingBackend(url)
    from booking.chrono import ChronoBookingBackend

    values = {}
    for name in ("GRU_CHRONO_URL", "GRU_CHRONO_ORIG", "GRU_CHRONO_KEY"):
        values[name] = (env.get(name) or "").strip()
        if not values[name]:
            raise ValueError(f"l'agenda chrono a besoin de {name}")
    return ChronoBookingBackend(
        values["GRU_CHRONO_URL"],
        values["GRU_CHRONO_ORIG"],
        values["GRU_CHRONO_KEY"],
        chrono_agendas(config, env),
        url=url,
        timeout_s=timeout_from_env("GRU_CHRONO_TIMEOUT", 5.0, env),
    )
