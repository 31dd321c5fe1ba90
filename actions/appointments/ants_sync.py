"""What ANTS is told about the commune's bookings, in one place: the check before booking,
the declaration after it, the withdrawal after a cancellation or a move."""

from __future__ import annotations

import logging
import os
from typing import Dict, List, Tuple

from booking import engine
from booking.ants import AntsClient, AntsError, AntsSettings, AntsUnavailable

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
    """POST each application id to ANTS; True when an agent must finish it by hand."""
    settings = ants_settings()
    if not settings.enabled:
        return False
    client = AntsClient(settings)
    management = f"{os.environ.get('GRU_PUBLIC_URL', 'http://localhost:5005')}/rendez-vous/{appt.reference}"
    try:
        for application_id in appt.application_ids:
            await client.declare(application_id, appt.site_id, appt.site_name, appt.start, management)
    except AntsError:
        logger.warning("ANTS declaration failed; appointment flagged for an agent")
        return True
    finally:
        await client.close()
    return False


async def withdraw_from_ants(appt: engine.AppointmentView) -> None:
    settings = ants_settings()
    if not settings.enabled or not appt.application_ids:
        return
    client = AntsClient(settings)
    try:
        for application_id in appt.application_ids:
            await client.delete(application_id, appt.site_id, appt.site_name, appt.start)
    except AntsError:
        logger.warning("ANTS withdrawal failed after a cancellation; an agent must remove it by hand")
    finally:
        await client.close()
