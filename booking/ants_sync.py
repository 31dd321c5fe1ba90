"""ANTS declarations and withdrawals that survive an ANTS outage (outbox table ``ants_outbox``).

After a booking, :func:`declare_appointment` writes one outbox row per pre-application number, then
tries to send them at once. What ANTS did not take stays in the outbox: the appointment gets the
« à vérifier » flag (``needs_agent_check``) and :func:`process_outbox` (cron, ``python -m
booking.ants_sync``, or the assistant's scheduler) retries with growing delays -- 1, 5, 15, 60 min,
then every 3 h -- up to ``GRU_ANTS_OUTBOX_MAX_ATTEMPTS`` attempts (default 10). When a declaration
finally goes through, the flag is lowered if this outbox raised it (it stays when it was already
set, e.g. because ANTS could not check the pre-application at booking time). After a cancellation,
:func:`withdraw_appointment` does the same with DELETE (a declaration still waiting is dropped).

No call is sent twice: a pass claims each due row (a compare-and-set on ``next_attempt_at``) before
sending it, so two passes running at once -- or a pass and an immediate try -- share the rows.
Logs carry outbox row ids, operations and error kinds: never a pre-application number or a name.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from booking import engine
from booking.ants import ANTS_OWN_TIMEOUT_S, AntsClient, AntsError, AntsRejected, AntsSettings
from booking.models import AntsOutbox, Appointment
from core import clock
from core.db import session_scope

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 10
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=60),
    timedelta(hours=3),  # and then every 3 h
)
# A claimed row is left alone by other passes for this long (well above any ANTS timeout); if the
# process dies while sending, the row is retried after it.
CLAIM_LEASE = timedelta(minutes=5)
SUPERSEDED = "superseded"


def max_attempts_from_env(env: Mapping[str, str] = os.environ) -> int:
    raw = (env.get("GRU_ANTS_OUTBOX_MAX_ATTEMPTS") or "").strip()
    if not raw:
        return DEFAULT_MAX_ATTEMPTS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"GRU_ANTS_OUTBOX_MAX_ATTEMPTS must be a whole number, 1 or more; got {raw!r}")
    return value


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1 -> 1 min, 2 -> 5 min, ... capped at 3 h)."""
    return RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]


def _local(now: datetime | None) -> datetime:
    """Naive wall-clock time of the territory to the second (the database's convention)."""
    now = now or clock.now()
    if now.tzinfo is not None:
        now = now.astimezone(clock.territory_tz()).replace(tzinfo=None)
    return now.replace(microsecond=0)


@dataclass(frozen=True)
class _Row:
    """What a send needs, detached from the session."""

    id: int
    operation: str
    reference: str
    application_id: str
    meeting_point_id: str
    meeting_point: str
    appointment_date: datetime
    management_url: str | None
    attempts: int

    @classmethod
    def of(cls, row: AntsOutbox) -> _Row:
        return cls(
            id=row.id,
            operation=row.operation,
            reference=row.reference,
            application_id=row.application_id,
            meeting_point_id=row.meeting_point_id,
            meeting_point=row.meeting_point,
            appointment_date=row.appointment_date,
            management_url=row.management_url,
            attempts=row.attempts,
        )


# --- database steps (synchronous; called through asyncio.to_thread) ---------------------------------------


def _enqueue(
    operation: str,
    appt: engine.AppointmentView,
    management_url: str | None,
    now: datetime,
    url: str | None,
) -> list[_Row]:
    """One row per application id, claimed for the immediate try. A withdrawal drops the same
    appointment's declarations still waiting; an identical row still waiting is not doubled."""
    start = (
        appt.start
        if appt.start.tzinfo is None
        else appt.start.astimezone(clock.territory_tz()).replace(tzinfo=None)
    )
    rows: list[AntsOutbox] = []
    with session_scope(url, write=True) as session:
        for application_id in dict.fromkeys(appt.application_ids):
            pending = select(AntsOutbox).where(
                AntsOutbox.reference == appt.reference,
                AntsOutbox.application_id == application_id,
                AntsOutbox.appointment_date == start,
                AntsOutbox.done_at.is_(None),
            )
            if operation == "withdraw":
                session.execute(
                    update(AntsOutbox)
                    .where(
                        AntsOutbox.operation == "declare",
                        AntsOutbox.reference == appt.reference,
                        AntsOutbox.application_id == application_id,
                        AntsOutbox.appointment_date == start,
                        AntsOutbox.done_at.is_(None),
                    )
                    .values(done_at=now, last_error_kind=SUPERSEDED)
                )
            if session.execute(pending.where(AntsOutbox.operation == operation)).first() is not None:
                continue  # already waiting: the retries will send it
            row = AntsOutbox(
                operation=operation,
                reference=appt.reference,
                application_id=application_id,
                meeting_point_id=appt.site_id,
                meeting_point=appt.site_name,
                appointment_date=start,
                management_url=management_url,
                attempts=0,
                next_attempt_at=now + CLAIM_LEASE,  # ours for the immediate try
                raised_flag=False,
                created_at=now,
            )
            session.add(row)
            rows.append(row)
        session.flush()
        return [_Row.of(row) for row in rows]


def _claim_due(now: datetime, limit: int, url: str | None) -> list[_Row]:
    claimed: list[_Row] = []
    with session_scope(url, write=True) as session:
        due = (
            session.execute(
                select(AntsOutbox)
                .where(AntsOutbox.done_at.is_(None), AntsOutbox.next_attempt_at <= now)
                .order_by(AntsOutbox.next_attempt_at, AntsOutbox.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
        for row in due:
            snapshot = _Row.of(row)
            result = session.execute(
                update(AntsOutbox)
                .where(
                    AntsOutbox.id == row.id,
                    AntsOutbox.done_at.is_(None),
                    AntsOutbox.next_attempt_at == row.next_attempt_at,
                )
                .values(next_attempt_at=now + CLAIM_LEASE)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                claimed.append(snapshot)
    return claimed


def _record(row: _Row, error: AntsError | None, now: datetime, max_attempts: int, url: str | None) -> str:
    """Store the outcome of one attempt: 'sent', 'retry' or 'given_up' (a refusal is not retried:
    the same request would be refused again)."""
    attempts = row.attempts + 1
    values: dict = {"attempts": attempts, "last_error_kind": error.kind if error else None}
    if error is None:
        values["done_at"], outcome = now, "sent"
    elif isinstance(error, AntsRejected) or attempts >= max_attempts:
        values["done_at"], outcome = now, "given_up"
    else:
        values["next_attempt_at"], outcome = now + retry_delay(attempts), "retry"
    with session_scope(url, write=True) as session:
        session.execute(
            update(AntsOutbox)
            .where(AntsOutbox.id == row.id, AntsOutbox.done_at.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return outcome


def _raise_flag(reference: str, row_ids: Sequence[int], url: str | None) -> None:
    """Set the appointment's « à vérifier » flag for failed declarations (remembering we set it)."""
    with session_scope(url, write=True) as session:
        appointment = session.execute(
            select(Appointment).where(Appointment.reference == reference)
        ).scalar_one_or_none()
        if appointment is None or appointment.needs_agent_check:
            return  # already flagged for another reason: it stays an agent's call
        appointment.needs_agent_check = True
        session.execute(
            update(AntsOutbox)
            .where(AntsOutbox.id.in_(list(row_ids)))
            .values(raised_flag=True)
            .execution_options(synchronize_session=False)
        )


def _lower_flag_if_ours(reference: str, url: str | None) -> bool:
    """Lower the flag when every declaration of the appointment went through and one of them had
    raised it. True when the flag was lowered."""
    with session_scope(url, write=True) as session:
        declarations = select(AntsOutbox).where(
            AntsOutbox.reference == reference,
            AntsOutbox.operation == "declare",
            AntsOutbox.last_error_kind.is_distinct_from(SUPERSEDED),
        )
        rows = session.execute(declarations).scalars().all()
        if not any(r.raised_flag for r in rows):
            return False
        if any(r.done_at is None or r.last_error_kind is not None for r in rows):
            return False  # still waiting, or given up: the agent still has to look
        appointment = session.execute(
            select(Appointment).where(Appointment.reference == reference)
        ).scalar_one_or_none()
        if appointment is None or appointment.status != "booked" or not appointment.needs_agent_check:
            return False
        appointment.needs_agent_check = False
        session.execute(
            update(AntsOutbox)
            .where(AntsOutbox.id.in_([r.id for r in rows]))
            .values(raised_flag=False)
            .execution_options(synchronize_session=False)
        )
        return True


def pending_count(url: str | None = None) -> int:
    """Rows still waiting to be sent (for operators' checks)."""
    with session_scope(url) as session:
        return session.execute(
            select(func.count()).select_from(AntsOutbox).where(AntsOutbox.done_at.is_(None))
        ).scalar_one()


# --- sending ---------------------------------------------------------------------------------------------


async def _send(client: AntsClient, row: _Row) -> AntsError | None:
    try:
        if row.operation == "declare":
            await client.declare(
                row.application_id,
                row.meeting_point_id,
                row.meeting_point,
                row.appointment_date,
                row.management_url or "",
            )
        else:
            await client.delete(
                row.application_id, row.meeting_point_id, row.meeting_point, row.appointment_date
            )
    except AntsError as exc:
        return exc
    except ValueError:  # a stored value ANTS would never accept (e.g. a malformed number)
        return AntsRejected("invalid row", kind="invalid")
    return None


async def _attempt(
    client: AntsClient, rows: Sequence[_Row], now: datetime, max_attempts: int, url: str | None
) -> dict[int, str]:
    outcomes: dict[int, str] = {}
    for row in rows:
        error = await _send(client, row)
        outcome = await asyncio.to_thread(_record, row, error, now, max_attempts, url)
        outcomes[row.id] = outcome
        if outcome == "retry":
            logger.warning(
                "ANTS outbox row %d (%s): %s, retry in %d min (attempt %d of %d)",
                row.id,
                row.operation,
                error.kind if error else "-",
                retry_delay(row.attempts + 1) // timedelta(minutes=1),
                row.attempts + 1,
                max_attempts,
            )
        elif outcome == "given_up":
            logger.error(
                "ANTS outbox row %d (%s): %s, given up after %d attempt(s); an agent must finish it by hand",
                row.id,
                row.operation,
                error.kind if error else "-",
                row.attempts + 1,
            )
        else:
            logger.info("ANTS outbox row %d (%s): sent (attempt %d)", row.id, row.operation, row.attempts + 1)
    return outcomes


async def declare_appointment(
    appt: engine.AppointmentView,
    settings: AntsSettings,
    public_url: str,
    *,
    now: datetime | None = None,
    url: str | None = None,
    max_attempts: int | None = None,
) -> bool:
    """Declare a booked appointment to ANTS (one row per application id, tried at once).

    True when something could not be sent now: the appointment is flagged « à vérifier » and the
    outbox retries later (the caller tells the citizen an agent will check, as before).
    """
    if not settings.enabled or not appt.application_ids:
        return False
    moment = _local(now)
    management = f"{public_url.rstrip('/')}/rendez-vous/{appt.reference}"
    rows = await asyncio.to_thread(_enqueue, "declare", appt, management, moment, url)
    if not rows:
        return False
    attempts = max_attempts or max_attempts_from_env()
    outcomes = await _attempt(AntsClient(settings), rows, moment, attempts, url)
    failed = [row_id for row_id, outcome in outcomes.items() if outcome != "sent"]
    if failed:
        await asyncio.to_thread(_raise_flag, appt.reference, failed, url)
        logger.warning(
            "ANTS declaration not sent (%d of %d); appointment flagged for an agent", len(failed), len(rows)
        )
        return True
    return False


async def withdraw_appointment(
    appt: engine.AppointmentView,
    settings: AntsSettings,
    *,
    now: datetime | None = None,
    url: str | None = None,
    max_attempts: int | None = None,
) -> None:
    """Withdraw a cancelled (or moved) appointment's declarations from ANTS; what fails is retried."""
    if not settings.enabled or not appt.application_ids:
        return
    moment = _local(now)
    rows = await asyncio.to_thread(_enqueue, "withdraw", appt, None, moment, url)
    attempts = max_attempts or max_attempts_from_env()
    outcomes = await _attempt(AntsClient(settings), rows, moment, attempts, url)
    if any(outcome != "sent" for outcome in outcomes.values()):
        logger.warning("ANTS withdrawal not sent now; the outbox retries it")


async def process_outbox(
    settings: AntsSettings,
    now: datetime | None = None,
    limit: int = 50,
    *,
    url: str | None = None,
    max_attempts: int | None = None,
) -> dict:
    """One pass over the due rows: {'sent', 'retry', 'given_up', 'flags_lowered', 'pending'}."""
    summary = {"sent": 0, "retry": 0, "given_up": 0, "flags_lowered": 0, "pending": 0}
    if not settings.enabled:
        return summary
    moment = _local(now)
    rows = await asyncio.to_thread(_claim_due, moment, limit, url)
    if rows:
        attempts = max_attempts or max_attempts_from_env()
        # Nobody waits here: ANTS's own client budget, so a slow success is not resent as a failure.
        patient = replace(settings, timeout_s=max(settings.timeout_s, ANTS_OWN_TIMEOUT_S))
        outcomes = await _attempt(AntsClient(patient), rows, moment, attempts, url)
        for outcome in outcomes.values():
            summary[outcome] += 1
        for reference in dict.fromkeys(
            row.reference for row in rows if row.operation == "declare" and outcomes[row.id] == "sent"
        ):
            if await asyncio.to_thread(_lower_flag_if_ours, reference, url):
                summary["flags_lowered"] += 1
    summary["pending"] = await asyncio.to_thread(pending_count, url)
    return summary


def summary_fr(summary: Mapping[str, int]) -> str:
    return (
        f"ANTS : {summary['sent']} envoi(s) réussi(s), {summary['retry']} à réessayer, "
        f"{summary['given_up']} abandonné(s) (à traiter par un agent), "
        f"{summary['flags_lowered']} rendez-vous sorti(s) de « à vérifier », "
        f"{summary['pending']} en attente."
    )


async def _main() -> int:
    from core import http

    settings = AntsSettings.from_env()
    if not settings.enabled:
        print("ANTS non configuré (GRU_ANTS_API_URL, GRU_ANTS_API_TOKEN) : rien à envoyer.")
        return 0
    try:
        summary = await process_outbox(settings)
    finally:
        await http.close_all()
    print(summary_fr(summary))
    return 0


if __name__ == "__main__":  # pragma: no cover - operators' entry point
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(_main()))
