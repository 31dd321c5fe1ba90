"""The embedded agenda: the booking engine (booking/engine.py) on the assistant's database, as a
booking/connector.py adapter. Each operation runs the engine's function in a worker thread (the
database calls block); the engine itself is unchanged, and so are its rules: weekly hours of the
booking file, agents' extra openings and closures, public holidays, stations claimed by the
database so that no slot is ever given twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date
from typing import Any, List

from booking import engine
from booking.connector import Records
from booking.engine import AppointmentNotFound, AppointmentView, Slot


class LocalBookingBackend(Records):
    name = "local"

    async def available_slots(
        self, site_ids: Iterable[str], first: date, last: date, duration: int, **options: Any
    ) -> List[Slot]:
        return await asyncio.to_thread(
            engine.available_slots, list(site_ids), first, last, duration, url=self.url, **options
        )

    async def closed_reason(self, site_id: str, day: date) -> str | None:
        return await asyncio.to_thread(engine.closed_reason, site_id, day, self.url)

    async def book(self, slot: Slot, **details: Any) -> AppointmentView:
        return await asyncio.to_thread(engine.book, slot, url=self.url, **details)

    async def cancel(self, reference: str, **options: Any) -> AppointmentView:
        return await asyncio.to_thread(engine.cancel, reference, url=self.url, **options)

    async def reschedule(self, reference: str, new_slot: Slot, **options: Any) -> AppointmentView:
        return await asyncio.to_thread(engine.reschedule, reference, new_slot, url=self.url, **options)

    async def still_booked(self, reference: str) -> bool:
        """The database is the agenda: the appointment is live as long as its row says so."""
        try:
            await asyncio.to_thread(engine.appointment_by_reference, reference, url=self.url)
        except AppointmentNotFound:
            return False
        return True
