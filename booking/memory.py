"""Addresses a citizen asked the assistant to remember across sessions (consent given).

One row per conversation (channel, sender id) in the application database; nothing
else is kept, and `forget` deletes it when the citizen asks (« oubliez mes données »).
Plain Python: the actions call these functions off the event loop (asyncio.to_thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from booking.engine import local_now
from booking.models import RememberedAddress
from core.db import session_scope


@dataclass(frozen=True)
class Remembered:
    street: str
    housenumber: int | None
    sector: str
    consented_at: datetime


def remember(
    channel: str,
    sender_id: str,
    street: str,
    housenumber: int | None,
    sector: str,
    now: datetime | None = None,
) -> None:
    """Keep (or replace) the citizen's address, with the time of their consent."""
    with session_scope(write=True) as session:
        session.merge(
            RememberedAddress(
                channel=channel,
                sender_id=sender_id,
                street=street,
                housenumber=housenumber,
                sector=sector,
                consented_at=local_now(now),
            )
        )


def recall(channel: str, sender_id: str) -> Remembered | None:
    """The address kept for this conversation, if the citizen asked for it."""
    with session_scope() as session:
        row = session.get(RememberedAddress, (channel, sender_id))
        if row is None:
            return None
        return Remembered(row.street, row.housenumber, row.sector, row.consented_at)


def forget(channel: str, sender_id: str) -> bool:
    """Delete the kept address; True if there was one."""
    with session_scope(write=True) as session:
        result = session.execute(
            delete(RememberedAddress).where(
                RememberedAddress.channel == channel,
                RememberedAddress.sender_id == sender_id,
            )
        )
        return bool(result.rowcount)
