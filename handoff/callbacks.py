"""Callback requests: outside opening hours, or when no agent took the conversation in time,
the citizen leaves a phone number or an e-mail, a preferred moment and their consent; the
request is stored with a reference RAP-AAAA-NNNNNN and e-mailed to the service (plain Python).

The reference is the year and 6 random digits (not a sequence: a reference tells nothing
about the others). The contact is kept for the callback only (erased after `callbacks_days`,
or on « oubliez mes données »: handoff/privacy.py). Logs carry the row's id, not the reference:
the citizen holds the reference, and with it a log line would tie their conversation to it.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.senders import Outgoing, SendFailed, SmtpSender, SmtpSettings
from core.text import clip
from handoff.models import CallbackRequest

logger = logging.getLogger(__name__)

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# French numbers: 0X XX XX XX XX or +33 X XX XX XX XX, with spaces, dots or dashes.
PHONE = re.compile(r"(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}")
REFERENCE = re.compile(r"RAP-\d{4}-\d{6}")
# « mon numéro est le 06 12 34 56 78, rappelez-moi plutôt le matin » is a fifth of it. The rest
# is not read: EMAIL's search is quadratic on a long run of letters or digits with no « @ ».
MAX_CONTACT_INPUT = 300


@dataclass(frozen=True)
class Contact:
    kind: str  # phone | email
    value: str


def read_contact(text: str) -> Contact | None:
    """A phone number or an e-mail address in a message (its first MAX_CONTACT_INPUT characters),
    normalised; None when there is none."""
    text = clip(text, MAX_CONTACT_INPUT)
    email = EMAIL.search(text)
    if email:
        return Contact("email", email.group(0).lower())
    phone = PHONE.search(text)
    if phone:
        digits = re.sub(r"\D", "", phone.group(0))
        if digits.startswith("33"):
            digits = "0" + digits[2:]
        return Contact("phone", " ".join(digits[i : i + 2] for i in range(0, 10, 2)))
    return None


def new_reference(year: int) -> str:
    return f"RAP-{year:04d}-{secrets.randbelow(1_000_000):06d}"


def store(
    session: Session,
    *,
    service: str,
    topic: str | None,
    contact: Contact,
    moment: str,
    now: datetime,
    conversation: str | None = None,
) -> CallbackRequest:
    """Store the request; `conversation` is handoff.privacy.conversation_key(sender id), never
    the sender id (« oubliez mes données » finds the conversation's requests by it)."""
    while True:  # a clash among a million per year is rare: draw again
        reference = new_reference(now.year)
        if (
            session.execute(select(CallbackRequest.id).where(CallbackRequest.reference == reference)).first()
            is None
        ):
            break
    request = CallbackRequest(
        reference=reference,
        service=service,
        topic=topic,
        contact_kind=contact.kind,
        contact=contact.value,
        moment=moment.strip()[:200],
        conversation=conversation,
        consent_at=now,
        created_at=now,
    )
    session.add(request)
    session.flush()
    return request


def email_text(request: CallbackRequest, service_name: str, topic_label: str | None) -> str:
    how = "Téléphone" if request.contact_kind == "phone" else "E-mail"
    return (
        f"Demande de rappel {request.reference} pour {service_name}.\n\n"
        f"Sujet : {topic_label or 'non précisé'}\n"
        f"{how} : {request.contact}\n"
        f"Moment souhaité : {request.moment}\n"
        f"Consentement donné le {request.consent_at:%d/%m/%Y à %H:%M} (UTC) : "
        "ces coordonnées ne servent qu'à ce rappel.\n"
    )


async def send_to_service(
    request: CallbackRequest, service_email: str, service_name: str, topic_label: str | None
) -> bool:
    """E-mail the request to the service; False when SMTP is not configured or fails (the
    request stays stored, unsent, for an agent to see)."""
    settings = SmtpSettings.from_env()
    if settings is None:
        logger.warning("callback %d stored, not e-mailed: GRU_SMTP_HOST is not set", request.id)
        return False
    sender = SmtpSender(settings, workers=1)
    message = Outgoing(
        reference=request.reference,
        address=service_email,
        token=None,
        text=email_text(request, service_name, topic_label),
        subject=f"Demande de rappel {request.reference}",
    )
    try:
        await sender.send(message)
    except SendFailed as exc:
        logger.error("callback %d not e-mailed: %s", request.id, exc.reason)
        return False
    finally:
        await sender.close()
    logger.info("callback %d e-mailed to the service", request.id)
    return True


def mark_sent(session: Session, reference: str, now: datetime) -> None:
    request = session.execute(
        select(CallbackRequest).where(CallbackRequest.reference == reference)
    ).scalar_one()
    request.sent_at = now
