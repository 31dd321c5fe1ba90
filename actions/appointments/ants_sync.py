"""What ANTS is told about the commune's bookings, in one place: the check before booking,
the declaration after it, the withdrawal after a cancellation or a move."""

from __future__ import annotations

import logging
from typing import Dict, List, Tuple

from booking import ants_sync as outbox
from booking import engine
from booking.ants import AntsClient, AntsError, AntsSettings, AntsUnavailable
from core.http import pages_url

logger = logging.getLogger(__name__)


def ants_settings() -> AntsSettings:
    return AntsSettings.from_env()


async def check_with_ants(ids: List[str], site_id: str) -> Tuple[Dict[str, str | None], bool, bool]:
    """({id: why it cannot be booked, None when ANTS gave no reason}, flag for an agent,
    refused because ANTS is down) for the pre-application numbers given."""
    settings = ants_settings()
    if not settings.enabled:
        return {}, False, False
    client = AntsClient(settings)
    try:
        checks = await client.check(ids, site_id)
    except AntsUnavailable:
        logger.warning("ANTS unavailable during booking (policy %s)", settings.down_policy)
        return {}, settings.down_policy == "flag", settings.down_policy != "flag"
    except AntsError:
        return {a: None for a in ids}, False, False
    finally:
        await client.close()
    return {a: c.reason_fr or "" for a, c in checks.items() if not c.bookable}, False, False


async def declare_to_ants(appt: engine.AppointmentView) -> bool:
    """Declare to ANTS through the outbox (booking/ants_sync.py): True when something could not
    be sent now — the appointment is « à vérifier » and the outbox retries it later."""
    return await outbox.declare_appointment(appt, ants_settings(), pages_url())


async def withdraw_from_ants(appt: engine.AppointmentView) -> None:
    """Withdraw a cancelled or moved appointment from ANTS; what fails is retried by the outbox."""
    await outbox.withdraw_appointment(appt, ants_settings())
