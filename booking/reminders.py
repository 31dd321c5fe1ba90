"""Reminders before an identity appointment: e-mail, SMS, Messenger, each sent exactly once.

When: `hours_before` of the booking file (territory/demo/booking.yml, « reminders »; default 48 and
24 h), or GRU_REMINDERS_HOURS (« 48,24 », « 24 », « off »). A pass (:func:`run_pass`, ``python -m
booking.reminders``, every few minutes from the assistant's scheduler, ops/jobs.py) looks at the
booked appointments of the coming hours and sends, per channel, the reminder of the deadline
reached last. A deadline already past when the appointment was booked or moved is skipped (no
« 48 h before » reminder right after booking for the day after tomorrow); when the scheduler was
down, the overdue earlier deadline gives way to the later one.

Channels: e-mail (plain text + HTML: the checklist, the signed move/cancel link of
booking/links.py, the opt-out link) and SMS when the citizen gave an address in the chat
(appointments.email / phone), Messenger for bookings made there (the PSID is the address; Send
API with the CONFIRMED_EVENT_UPDATE message tag, which Meta allows for « reminders of upcoming
appointments the user has scheduled », outside the 24-hour window).

Exactly once: the reminders table's unique key (appointment, start, channel, hours before) is
claimed by inserting the row BEFORE sending; a second scheduler, a restart or a retry cannot
insert it again. A temporary failure (timeout, 5xx, SMTP 4xx) is retried with growing delays
(1, 5, 15, 60 min…) until GRU_REMINDERS_MAX_ATTEMPTS (5) or the appointment's start; a refusal
is not. A pass that died while sending leaves its row « sending »: after the lease it is marked
failed (« interrupted »), never sent again -- at most once is the promise. A moved appointment
has another start, hence new reminders; a cancelled one is not booked any more, hence none (the
agenda is asked first: an appointment an agent cancelled in Publik Chrono gets none either); an
appointment whose citizen followed the opt-out link (signed, in every reminder) gets none.

Logs: reminder row ids, channels and error kinds; never an address, a name or a reference.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from booking.ants_sync import retry_delay
from booking.config import BookingConfig, load_booking_config
from booking.connector import BookingBackend, booking_backend
from booking.engine import local_now
from booking.facts import load_national_facts
from booking.links import manage_url, public_url
from booking.models import Appointment, AppointmentReminder, Site
from core import clock
from core.db import session_scope
from core.http import JsonClient
from core.mail import SmtpSender, SmtpSettings
from core.outbound import Outgoing, SendFailed, post
from core.signing import BadToken, ExpiredToken, make_token, read_token
from core.sms import sms_sender_from_env
from core.territory import load_territory
from core.text import format_date_fr, format_time_fr

__all__ = [
    "BadToken",
    "ExpiredToken",
    "run_pass",
    "set_contact",
    "stop_reminders",
    "reference_of_stop_token",
]

logger = logging.getLogger(__name__)

IDENTITY_REASONS = ("CNI", "PASSPORT", "CNI-PASSPORT")
LEASE = timedelta(minutes=10)  # well above a send's timeouts; a row older than this was interrupted
DEFAULT_MAX_ATTEMPTS = 5
STOP_PURPOSE = "stopreminders"
SECRET_ENV = "GRU_LINKS_SECRET"  # the same secret as the manage links (booking/links.py)
MESSAGE_TAG = "CONFIRMED_EVENT_UPDATE"
REASON_LABELS = {
    "CNI": "carte d'identité",
    "PASSPORT": "passeport",
    "CNI-PASSPORT": "carte d'identité et passeport",
}


# ---- settings ------------------------------------------------------------------------------------


def hours_before(config: BookingConfig | None = None, env: Mapping[str, str] = os.environ) -> list[int]:
    """The deadlines, largest first; GRU_REMINDERS_HOURS overrides the booking file."""
    raw = (env.get("GRU_REMINDERS_HOURS") or "").strip().lower()
    if not raw:
        return list((config or load_booking_config()).reminders.hours_before)
    if raw in ("off", "0", "none", "aucun"):
        return []
    parts = [p.strip() for p in raw.replace(";", ",").split(",") if p.strip()]
    if not parts or not all(p.isdigit() and 1 <= int(p) <= 168 for p in parts):
        raise ValueError(
            f"GRU_REMINDERS_HOURS must list hours between 1 and 168 (« 48,24 ») or « off »; got {raw!r}"
        )
    return sorted({int(p) for p in parts}, reverse=True)


def max_attempts_from_env(env: Mapping[str, str] = os.environ) -> int:
    raw = (env.get("GRU_REMINDERS_MAX_ATTEMPTS") or "").strip()
    if not raw:
        return DEFAULT_MAX_ATTEMPTS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"GRU_REMINDERS_MAX_ATTEMPTS must be a whole number, 1 or more; got {raw!r}")
    return int(raw)


def channels_configured(
    env: Mapping[str, str] = os.environ, config: BookingConfig | None = None
) -> list[str]:
    """The channels that can be offered now: listed in the booking file and with an adapter."""
    wanted = (config or load_booking_config()).reminders.channels
    ready = {
        "email": bool((env.get("GRU_SMTP_HOST") or "").strip()),
        "sms": bool(env.get("GRU_SMS_URL") and env.get("GRU_SMS_TOKEN")),
        "messenger": bool(env.get("FACEBOOK_PAGE_ACCESS_TOKEN")),
    }
    return [channel for channel in wanted if ready[channel]] if hours_before(config, env) else []


def when_before_fr(hours: Sequence[int]) -> str:
    """« 48 h et 24 h avant »; « la veille » wording is avoided: 24 h before 9 h is the day before
    at 9 h, not the evening."""
    parts = [f"{h} h" for h in hours]
    return (", ".join(parts[:-1]) + " et " + parts[-1] if len(parts) > 1 else parts[0]) + " avant"


# ---- the citizen's choice (the chat stores it with the appointment) --------------------------------


def set_contact(reference: str, channel: str, contact: str | None, *, sender: tuple[str, str],
                url: str | None = None) -> bool:  # fmt: skip
    """Store (or with None erase) the reminder address of one of this conversation's booked
    appointments; True when done. The e-mail and phone columns are erased with the appointment's
    other personal data by the retention purge (booking/privacy.py)."""
    if channel not in ("email", "sms"):
        raise ValueError(channel)
    column = "email" if channel == "email" else "phone"
    with session_scope(url, write=True) as session:
        result = session.execute(
            update(Appointment)
            .where(
                Appointment.reference == reference,
                Appointment.channel == sender[0],
                Appointment.sender_id == sender[1],
                Appointment.status == "booked",
            )
            .values({column: contact, "reminders_stopped_at": None})
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def stop_token(reference: str, start: datetime, now: datetime | None = None) -> str:
    """The opt-out link's token: valid until two days after the appointment."""
    now = now or datetime.now(timezone.utc)
    start_utc = start.replace(tzinfo=clock.territory_tz()).astimezone(timezone.utc)
    valid = max(start_utc - now, timedelta(0)) + timedelta(days=2)
    return make_token(SECRET_ENV, STOP_PURPOSE, reference, valid, now)


def stop_url(reference: str, start: datetime, now: datetime | None = None) -> str:
    return f"{public_url()}/webhooks/reminders/stop?t={stop_token(reference, start, now)}"


def reference_of_stop_token(token: str, now: datetime | None = None) -> str:
    """The reference of a genuine opt-out link (BadToken / ExpiredToken of core/signing.py)."""
    return read_token(SECRET_ENV, token, (STOP_PURPOSE,), now)[1]


def stop_reminders(reference: str, *, now: datetime | None = None, url: str | None = None) -> bool:
    """The opt-out link: no more reminders for this appointment (True when it exists)."""
    moment = local_now(now)
    with session_scope(url, write=True) as session:
        appt = session.execute(
            select(Appointment).where(Appointment.reference == reference)
        ).scalar_one_or_none()
        if appt is None:
            return False
        if appt.reminders_stopped_at is None:
            appt.reminders_stopped_at = moment
        return True


# ---- what a reminder says ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """One claimed reminder and what its message needs (detached from the session)."""

    id: int
    channel: str
    hours_before: int
    attempts: int
    address: str  # e-mail, +33 number or PSID: never logged
    reference: str
    start: datetime
    reason: str
    people: int
    paper: bool  # no pre-application: the paper form on the spot
    site_name: str
    site_address: str


def checklist(due: Due) -> list[str]:
    """What to bring: the same facts as the booking confirmation (territory/national_facts.yml)."""
    facts = load_national_facts().values()
    items = [
        f"une photo d'identité de moins de {facts['photo_max_age']}, aux normes",
        f"un justificatif de domicile de moins de {facts['address_proof_max_age']}",
        "votre ancien titre (carte ou passeport), s'il y en a un",
    ]
    if due.reason in ("PASSPORT", "CNI-PASSPORT"):
        items.append(
            f"un timbre fiscal pour le passeport : {facts['passport_adult_fee']} (adulte), "
            f"{facts['passport_teen_fee']} (15-17 ans), {facts['passport_child_fee']} (moins de 15 ans)"
        )
    items.append(
        f"en cas de perte ou de vol : la déclaration (et un timbre fiscal de {facts['cni_replacement_fee']} "
        "pour une carte d'identité)"
    )
    items.append(
        "arrivez 10 minutes en avance pour remplir le formulaire papier"
        if due.paper
        else "le numéro ou le récapitulatif de votre pré-demande"
    )
    items.append("pour un mineur : sa présence, et un parent avec sa propre pièce d'identité")
    return items


def when_fr(start: datetime) -> str:
    return f"{format_date_fr(start.date())} à {format_time_fr(start.time())}"


@dataclass(frozen=True)
class Texts:
    subject: str
    text: str  # e-mail plain text
    html: str
    sms: str
    messenger: str
    manage: str  # the signed move/cancel link
    stop: str  # the signed opt-out link


def texts_of(due: Due, now: datetime | None = None) -> Texts:
    territory = load_territory()
    when = when_fr(due.start)
    what = REASON_LABELS.get(due.reason, due.reason)
    people = "1 personne" if due.people == 1 else f"{due.people} personnes"
    manage, stop = manage_url(due.reference, now=now), stop_url(due.reference, due.start, now)
    items = checklist(due)
    signature = f"L'assistant en ligne {territory.of_name}"
    subject = f"Rappel : votre rendez-vous du {format_date_fr(due.start.date())} ({due.reference})"
    text = "\n".join(
        [
            "Bonjour,",
            "",
            f"Nous vous rappelons votre rendez-vous {due.reference} ({what}, {people}) :",
            f"le {when}, {due.site_name}, {due.site_address}.",
            "",
            "Le jour venu, apportez :",
            *[f"• {item}" for item in items],
            "",
            f"Pour déplacer ou annuler ce rendez-vous : {manage}",
            "Si vous ne pouvez pas venir, annulez-le : le créneau servira à quelqu'un d'autre.",
            "",
            f"Pour ne plus recevoir de rappel pour ce rendez-vous : {stop}",
            "",
            signature,
            "Message envoyé automatiquement : merci de ne pas y répondre.",
        ]
    )
    e = html.escape
    body = "".join(
        [
            '<!doctype html><html lang="fr"><head><meta charset="utf-8">',
            f"<title>{e(subject)}</title></head><body>",
            "<p>Bonjour,</p>",
            f"<p>Nous vous rappelons votre rendez-vous <strong>{e(due.reference)}</strong> "
            f"({e(what)}, {e(people)}) :"
            f"<br>le <strong>{e(when)}</strong>, {e(due.site_name)}, {e(due.site_address)}.</p>",
            "<p>Le jour venu, apportez :</p><ul>",
            *[f"<li>{e(item)}</li>" for item in items],
            "</ul>",
            f'<p><a href="{e(manage)}">Déplacer ou annuler ce rendez-vous</a></p>',
            "<p>Si vous ne pouvez pas venir, annulez-le : le créneau servira à quelqu'un d'autre.</p>",
            f'<p><small><a href="{e(stop)}">Ne plus recevoir de rappel pour ce rendez-vous</a><br>',
            f"{e(signature)}. Message envoyé automatiquement : merci de ne pas y répondre.</small></p>",
            "</body></html>",
        ]
    )
    sms = (
        f"Rappel : rendez-vous {due.reference} le {when}, {due.site_name}, {due.site_address}. "
        "Apportez photo, justificatif de domicile, ancien titre"
        + (", timbre fiscal" if due.reason != "CNI" else "")
        + f". Déplacer ou annuler : {manage} Plus de rappel : {stop}"
    )
    messenger = (
        f"Rappel : votre rendez-vous {due.reference} ({what}, {people}) est le {when}, "
        f"{due.site_name}, {due.site_address}.\nApportez : " + " ; ".join(items[:3]) + "."
    )[:600]
    return Texts(subject, text, body, sms, messenger, manage, stop)


# ---- the senders -------------------------------------------------------------------------------------


class MessengerReminderSender:
    """Meta's Send API to the PSID of the booking conversation, with the CONFIRMED_EVENT_UPDATE
    message tag (POST <graph>/me/messages, messaging_type MESSAGE_TAG) and a button template: the
    move/cancel and opt-out links as buttons."""

    channel = "messenger"

    def __init__(self, graph_url: str, page_token: str, *, timeout_s: float | None = None) -> None:
        self.page_token = page_token
        self.client = JsonClient(
            "messenger reminders",
            graph_url,
            logger=logger,
            timeout_env="GRU_MESSENGER_TIMEOUT",
            timeout_default=10.0,
            timeout_s=timeout_s,
            attempts=1,  # the reminders table retries
        )

    async def send_reminder(self, due: Due, texts: Texts) -> None:
        body = {
            "recipient": {"id": due.address},
            "messaging_type": "MESSAGE_TAG",
            "tag": MESSAGE_TAG,
            "message": {
                "attachment": {
                    "type": "template",
                    "payload": {
                        "template_type": "button",
                        "text": texts.messenger,
                        "buttons": [
                            {"type": "web_url", "url": texts.manage, "title": "Déplacer ou annuler"},
                            {"type": "web_url", "url": texts.stop, "title": "Plus de rappel"},
                        ],
                    },
                }
            },
        }
        await post(self.client, "/me/messages", params={"access_token": self.page_token}, json_body=body)

    async def close(self) -> None:
        return None


class EmailReminderSender:
    channel = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.smtp = SmtpSender(settings, workers=1)

    async def send_reminder(self, due: Due, texts: Texts) -> None:
        mail = self.smtp.message_of(
            Outgoing(
                f"{due.reference}-{due.hours_before}h",
                due.address,
                None,
                texts.text,
                texts.subject,
                texts.html,
            )
        )
        # RFC 8058: mail clients show « se désabonner »; the link's page asks before stopping.
        mail["List-Unsubscribe"] = f"<{texts.stop}>"
        await self.smtp.send_message(mail)

    async def close(self) -> None:
        await self.smtp.close()


class SmsReminderSender:
    channel = "sms"

    def __init__(self, gateway) -> None:
        self.gateway = gateway

    async def send_reminder(self, due: Due, texts: Texts) -> None:
        # The gateway's reference makes a repeated request a no-op: one per reminder row.
        await self.gateway.send(Outgoing(f"rappel-{due.id}", due.address, None, texts.sms))

    async def close(self) -> None:
        await self.gateway.close()


def senders_from_env(env: Mapping[str, str] = os.environ) -> dict:
    senders: dict = {}
    smtp = SmtpSettings.from_env(env)
    if smtp is not None:
        senders["email"] = EmailReminderSender(smtp)
    sms = sms_sender_from_env(env)
    if sms is not None:
        senders["sms"] = SmsReminderSender(sms)
    if env.get("FACEBOOK_PAGE_ACCESS_TOKEN"):
        graph = env.get("GRU_FACEBOOK_GRAPH_URL") or "https://graph.facebook.com/v19.0"
        senders["messenger"] = MessengerReminderSender(graph, env["FACEBOOK_PAGE_ACCESS_TOKEN"])
    return senders


# ---- the pass: claim, send, record -------------------------------------------------------------------


def _addresses(appt: Appointment) -> dict[str, str]:
    found = {}
    if appt.email:
        found["email"] = appt.email
    if appt.phone:
        found["sms"] = appt.phone
    if appt.channel == "facebook" and appt.sender_id:
        found["messenger"] = appt.sender_id
    return found


def _deadline(appt: Appointment, hours: Sequence[int], now: datetime) -> int | None:
    """The deadline reached last (the smallest number of hours already reached), unless it was
    already past when the appointment was booked or moved."""
    reached = [h for h in hours if appt.start - timedelta(hours=h) <= now]
    if not reached:
        return None
    h = min(reached)
    return h if appt.updated_at < appt.start - timedelta(hours=h) else None


def _due_of(row: AppointmentReminder, appt: Appointment, site: Site, address: str) -> Due:
    return Due(
        id=row.id,
        channel=row.channel,
        hours_before=row.hours_before,
        attempts=row.attempts,
        address=address,
        reference=appt.reference,
        start=appt.start,
        reason=appt.reason,
        people=appt.people,
        paper=not appt.application_ids,
        site_name=site.name,
        site_address=f"{site.address}, {site.zip_code} {site.city}",
    )


def _live_appointments(session, now: datetime, horizon: timedelta):
    return session.execute(
        select(Appointment, Site)
        .join(Site, Site.id == Appointment.site_id)
        .where(
            Appointment.status == "booked",
            Appointment.reason.in_(IDENTITY_REASONS),
            Appointment.reminders_stopped_at.is_(None),
            Appointment.start > now,
            Appointment.start <= now + horizon,
        )
        .order_by(Appointment.start, Appointment.id)
    ).all()


def claim_new(hours: Sequence[int], channels: Sequence[str], now: datetime, url: str | None = None,
              limit: int = 200) -> list[Due]:  # fmt: skip
    """Insert (claim) the reminders due now; each row in its own transaction, so that the unique
    key refuses the rows another pass claimed first."""
    if not hours or not channels:
        return []
    with session_scope(url) as session:
        candidates: list[tuple[int, Due]] = []  # (appointment id, the message's data; id 0 until claimed)
        for appt, site in _live_appointments(session, now, timedelta(hours=max(hours))):
            h = _deadline(appt, hours, now)
            for channel, address in _addresses(appt).items() if h is not None else ():
                if channel in channels:
                    template = AppointmentReminder(id=0, channel=channel, hours_before=h, attempts=0)
                    candidates.append((appt.id, _due_of(template, appt, site, address)))
        ids = {appointment_id for appointment_id, _ in candidates}
        existing = {
            (r.appointment_id, r.start, r.channel, r.hours_before)
            for r in session.execute(
                select(AppointmentReminder).where(AppointmentReminder.appointment_id.in_(ids))
            ).scalars()
        }
    todo = [(a, d) for a, d in candidates if (a, d.start, d.channel, d.hours_before) not in existing]
    claimed: list[Due] = []
    for appointment_id, due in todo[:limit]:
        try:
            with session_scope(url, write=True) as session:
                row = AppointmentReminder(
                    appointment_id=appointment_id,
                    start=due.start,
                    channel=due.channel,
                    hours_before=due.hours_before,
                    status="sending",
                    attempts=0,
                    next_attempt_at=now + LEASE,
                    created_at=now,
                )
                session.add(row)
                session.flush()
                claimed.append(replace(due, id=row.id))
        except IntegrityError:
            continue  # another pass has it
    return claimed


def claim_retries(now: datetime, url: str | None = None, limit: int = 200) -> list[Due]:
    """Claim the reminders to try again (compare-and-set on next_attempt_at), and mark failed
    the ones a dead pass left « sending » (never sent twice)."""
    claimed: list[Due] = []
    with session_scope(url, write=True) as session:
        interrupted = session.execute(
            update(AppointmentReminder)
            .where(AppointmentReminder.status == "sending", AppointmentReminder.next_attempt_at <= now)
            .values(status="failed", last_error_kind="interrupted", next_attempt_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if interrupted:
            logger.warning("reminders: %d interrupted while sending, not sent again", interrupted)
        rows = session.execute(
            select(AppointmentReminder, Appointment, Site)
            .join(Appointment, Appointment.id == AppointmentReminder.appointment_id)
            .join(Site, Site.id == Appointment.site_id)
            .where(AppointmentReminder.status == "retry", AppointmentReminder.next_attempt_at <= now)
            .order_by(AppointmentReminder.next_attempt_at, AppointmentReminder.id)
            .limit(limit)
        ).all()
        for row, appt, site in rows:
            address = _addresses(appt).get(row.channel)
            current = (
                appt.status == "booked" and appt.start == row.start and appt.reminders_stopped_at is None
            )
            if not current or address is None or appt.start <= now:
                row.status, row.next_attempt_at, row.last_error_kind = "failed", None, "obsolete"
                continue
            result = session.execute(
                update(AppointmentReminder)
                .where(
                    AppointmentReminder.id == row.id,
                    AppointmentReminder.status == "retry",
                    AppointmentReminder.next_attempt_at == row.next_attempt_at,
                )
                .values(status="sending", next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                claimed.append(_due_of(row, appt, site, address))
    return claimed


def record(due: Due, error: SendFailed | None, now: datetime, max_attempts: int,
           url: str | None = None) -> str:  # fmt: skip
    """'sent', 'retry' or 'failed'."""
    attempts = due.attempts + 1
    later = now + retry_delay(attempts)
    if error is None:
        outcome, values = "sent", {"status": "sent", "sent_at": now, "next_attempt_at": None}
    elif error.permanent or attempts >= max_attempts or later >= due.start:
        outcome, values = "failed", {"status": "failed", "next_attempt_at": None}
    else:
        outcome, values = "retry", {"status": "retry", "next_attempt_at": later}
    values.update(attempts=attempts, last_error_kind=error.reason[:30] if error else None)
    mine = (AppointmentReminder.id == due.id, AppointmentReminder.status == "sending")
    with session_scope(url, write=True) as session:
        statement = update(AppointmentReminder).where(*mine).values(**values)
        session.execute(statement.execution_options(synchronize_session=False))
    return outcome


async def run_pass(
    senders: Mapping[str, object],
    *,
    now: datetime | None = None,
    url: str | None = None,
    config: BookingConfig | None = None,
    env: Mapping[str, str] = os.environ,
    agenda: BookingBackend | None = None,
) -> dict[str, int]:
    """One pass: {'sent', 'retry', 'failed'} counts. Each reminder is sent only if the agenda
    (booking/connector.py) still holds the appointment: one an agent cancelled in Publik Chrono is
    recorded as cancelled and gets none."""
    agenda = agenda or booking_backend(url, env=env)
    moment = local_now(now)
    wall = now or clock.now()
    hours = hours_before(config, env)
    max_attempts = max_attempts_from_env(env)
    summary = {"sent": 0, "retry": 0, "failed": 0}
    retries = await asyncio.to_thread(claim_retries, moment, url)
    fresh = await asyncio.to_thread(claim_new, hours, list(senders), moment, url)
    for due in retries + fresh:
        sender = senders.get(due.channel)
        error: SendFailed | None = None
        if sender is None:
            error = SendFailed("not_configured", permanent=False)
        elif not await agenda.still_booked(due.reference):
            error = SendFailed("cancelled", permanent=True)
        else:
            try:
                await sender.send_reminder(due, texts_of(due, wall if wall.tzinfo else None))
            except SendFailed as exc:
                error = exc
        outcome = await asyncio.to_thread(record, due, error, moment, max_attempts, url)
        summary[outcome] += 1
        if outcome == "sent":
            logger.info("reminder %d sent by %s (%d h before)", due.id, due.channel, due.hours_before)
        else:
            logger.warning("reminder %d not sent by %s: %s (%s)", due.id, due.channel,
                           error.reason if error else "-", outcome)  # fmt: skip
    return summary


async def _main() -> int:
    from core import http

    problem = http.public_url_problem()
    if problem:  # every reminder carries links built on it
        print(problem, file=sys.stderr)
        return 1
    try:
        hours_before(env=os.environ)
        max_attempts_from_env()
        senders = senders_from_env()
    except ValueError as exc:
        print(f"Configuration des rappels invalide : {exc}", file=sys.stderr)
        return 1
    if not senders:
        print("Aucun canal de rappel configuré (GRU_SMTP_HOST, GRU_SMS_URL, Messenger) : rien à envoyer.")
        return 0
    try:
        summary = await run_pass(senders)
    finally:
        for sender in senders.values():
            await sender.close()
        await http.close_all()
    print(
        f"Rappels : {summary['sent']} envoyé(s), {summary['retry']} à réessayer, "
        f"{summary['failed']} en échec."
    )
    return 0


if __name__ == "__main__":  # pragma: no cover - operators' entry point
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(_main()))
