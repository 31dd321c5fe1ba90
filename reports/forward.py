"""Reports reach the back-office chosen by configuration, through an outbox that loses none.

GRU_REPORTS_FORWARD:
* ``none`` (default): kept in the application database only (agents read them there);
* ``wcs``: a Publik w.c.s. form submission, ``POST <GRU_REPORTS_WCS_URL>/api/formdefs/<slug>/submit``
  with the signed query of Publik (``orig``, then ``algo``, ``timestamp``, ``signature``: see
  tracking/publik.py, GRU_REPORTS_WCS_ORIG, GRU_REPORTS_WCS_KEY) and the JSON body
  ``{"data": {...}, "context": {"channel": "web"}}``; w.c.s. answers ``{"err": 0, "data": {"id",
  "url", "backoffice_url", "api_url"}}``. The form's slug is the category's ``wcs_slug`` in the
  reports file; its fields' varnames are listed in README (Signalements);
* ``email``: a message to the category's ``email`` through SMTP (core/mail.py: GRU_SMTP_HOST,
  GRU_SMTP_PORT, GRU_SMTP_STARTTLS true/false, GRU_SMTP_USER / GRU_SMTP_PASSWORD when the server
  asks for a login, GRU_SMTP_FROM, GRU_SMTP_TIMEOUT), the photo attached.

The report row is the outbox (booking/models.Report.forward_*): the immediate try after the
citizen confirms, then `process_outbox` (``python -m reports.forward``, every few minutes from
the assistant's scheduler or cron) retries with growing delays, 1, 5, 15, 60 min then every 3 h,
up to GRU_REPORTS_OUTBOX_MAX_ATTEMPTS (default 10). A refusal (4xx, « err »: 1, a recipient the
SMTP server refuses) is not retried: the same request would be refused again. A pass claims its
rows (compare-and-set on next_attempt_at), so two passes never send a report twice.
Logs carry the report's row id, the back-office kind and an error kind: never a place, a name,
an e-mail or a description.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select, update

from booking.ants_sync import retry_delay
from booking.engine import local_now
from booking.models import Report
from core import clock
from core.db import session_scope
from core.http import JsonClient, Rejected, Unavailable
from core.mail import Attachment, SendFailed, SmtpSettings, compose, deliver
from core.publik_signature import sign_query
from core.territory import load_territory
from reports.config import load_reports_config
from reports.photos import photo_of
from reports.store import ReportView

logger = logging.getLogger(__name__)

FORWARDS = ("none", "wcs", "email")
DEFAULT_MAX_ATTEMPTS = 10
CLAIM_LEASE = timedelta(minutes=5)
CATEGORY_FIELD = "categorie"


class ForwardError(Exception):
    """``kind``: timeout, connection, server_error, rejected, invalid_answer…; ``final``: a refusal
    that a retry would not change."""

    def __init__(self, kind: str, final: bool = False) -> None:
        self.kind, self.final = kind, final
        super().__init__(kind)


@dataclass(frozen=True)
class Sent:
    backoffice_id: str | None = None
    url: str | None = None


class Forwarder(Protocol):
    kind: str

    async def send(self, report: ReportView, url: str | None = None) -> Sent: ...


# --- w.c.s. -----------------------------------------------------------------------------------------


def wcs_payload(report: ReportView, category_label: str, photo: tuple[str, str, bytes] | None) -> dict:
    """The submit body: field varnames of the signalement form (README, Signalements)."""
    data: dict = {
        "reference": report.reference,
        CATEGORY_FIELD: report.category,
        "categorie_libelle": category_label,
        "lieu": report.place,
        "type_lieu": report.place_kind,
        "description": report.description,
        "nombre_signalements": report.reporters,
        "date_signalement": report.created_at.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if report.latitude is not None and report.longitude is not None:
        data["localisation"] = {"lat": report.latitude, "lon": report.longitude}
    if report.contact_email:
        data["email"] = report.contact_email
    if report.contact_phone:
        data["telephone"] = report.contact_phone
    if photo is not None:
        filename, content_type, content = photo
        data["photo"] = {
            "filename": filename,
            "content_type": content_type,
            "content": base64.b64encode(content).decode("ascii"),
        }
    return {
        "data": data,
        "context": {"channel": "web", "comments": "Signalement reçu par l'assistant en ligne"},
    }


class WcsForwarder:
    kind = "wcs"

    def __init__(self, base_url: str, orig: str, key: str, *, timeout_s: float | None = None) -> None:
        self.orig, self.key = orig, key
        self.client = JsonClient(
            "w.c.s. reports",
            base_url,
            logger=logger,
            timeout_env="GRU_REPORTS_WCS_TIMEOUT",
            timeout_default=10.0,
            timeout_s=timeout_s,
            attempts=1,  # the outbox retries: a POST is never repeated within one try
        )

    async def send(self, report: ReportView, url: str | None = None) -> Sent:
        category = load_reports_config().category(report.category)
        slug = category.wcs_slug if category else report.category
        stored = await asyncio.to_thread(photo_of, report.photo_id, url=url)
        photo = (
            (stored.filename, stored.content_type, await asyncio.to_thread(stored.read)) if stored else None
        )
        body = wcs_payload(report, category.label if category else report.category, photo)
        query = sign_query("", self.key, self.orig, now=clock.now())  # algo, timestamp, orig, signature
        path = f"/api/formdefs/{slug}/submit"
        try:
            async with self.client.call("POST", path, query=query, json_body=body, idempotent=False) as reply:
                answer = reply.data
                if not isinstance(answer, dict) or answer.get("err") not in (0, None):
                    raise ForwardError("rejected", final=True)
                data = answer.get("data")
                if not isinstance(data, dict) or data.get("id") in (None, ""):
                    raise ForwardError("invalid_answer")
                url = data.get("backoffice_url") or data.get("url")
                return Sent(str(data["id"])[:64], str(url)[:300] if url else None)
        except Unavailable as exc:
            raise ForwardError(exc.kind) from None
        except Rejected:
            raise ForwardError("rejected", final=True) from None


# --- e-mail ----------------------------------------------------------------------------------------


def report_email(report: ReportView, recipient: str, settings: SmtpSettings, photo) -> EmailMessage:
    """The message to the service (French: agents read it)."""
    category = load_reports_config().category(report.category)
    territory = load_territory()
    lines = [
        f"Signalement {report.reference} reçu par l'assistant en ligne {territory.of_name}.",
        "",
        f"Catégorie : {category.label if category else report.category}",
        f"Lieu : {report.place}",
    ]
    if report.latitude is not None and report.longitude is not None:
        lines.append(
            f"Position : {report.latitude:.6f}, {report.longitude:.6f} "
            f"(https://www.openstreetmap.org/?mlat={report.latitude:.6f}&mlon={report.longitude:.6f}#map=19/"
            f"{report.latitude:.6f}/{report.longitude:.6f})"
        )
    lines += [
        f"Description : {report.description}",
        f"Date : {report.created_at.strftime('%d/%m/%Y %H:%M')}",
        f"Contact : {report.contact_email or report.contact_phone or 'aucun (habitant non joignable)'}",
        "",
        "Pour que l'habitant suive ce signalement dans l'assistant, mettez à jour son état :",
        f"python -m reports.cli status {report.reference} in_progress (puis closed).",
    ]
    return compose(
        settings,
        to=recipient,
        subject=f"Signalement {report.reference} : {category.label if category else report.category}",
        text="\n".join(lines),
        attachments=[Attachment(*photo)] if photo is not None else [],
        reference=report.reference,
    )


class EmailForwarder:
    kind = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _deliver(self, message: EmailMessage) -> None:
        try:
            deliver(self.settings, message)
        except SendFailed as exc:
            raise ForwardError(exc.reason, final=exc.permanent) from None

    async def send(self, report: ReportView, url: str | None = None) -> Sent:
        category = load_reports_config().category(report.category)
        recipient = category.email if category else load_territory().services[report.service].email
        stored = await asyncio.to_thread(photo_of, report.photo_id, url=url)
        photo = (
            (stored.filename, stored.content_type, await asyncio.to_thread(stored.read)) if stored else None
        )
        message = report_email(report, recipient, self.settings, photo)
        await asyncio.to_thread(self._deliver, message)  # smtplib blocks: never on the event loop
        return Sent(str(message["Message-ID"])[:64], None)


# --- configuration ----------------------------------------------------------------------------------


def forward_kind(env: Mapping[str, str] = os.environ) -> str:
    kind = (env.get("GRU_REPORTS_FORWARD") or "").strip().lower() or "none"
    if kind not in FORWARDS:
        raise ValueError(
            f"GRU_REPORTS_FORWARD must be none, wcs or email; got {env.get('GRU_REPORTS_FORWARD')!r}"
        )
    return kind


def forwarder_from_env(env: Mapping[str, str] = os.environ) -> Forwarder | None:
    kind = forward_kind(env)
    if kind == "none":
        return None
    if kind == "email":
        settings = SmtpSettings.from_env(env)
        if settings is None:
            raise ValueError("GRU_REPORTS_FORWARD=email needs GRU_SMTP_HOST")
        return EmailForwarder(settings)
    values = {}
    for name, fallback in (
        ("GRU_REPORTS_WCS_URL", "GRU_PUBLIK_URL"),
        ("GRU_REPORTS_WCS_ORIG", "GRU_PUBLIK_ORIG"),
        ("GRU_REPORTS_WCS_KEY", "GRU_PUBLIK_KEY"),
    ):
        values[name] = (env.get(name) or env.get(fallback) or "").strip()
        if not values[name]:
            raise ValueError(f"GRU_REPORTS_FORWARD=wcs needs {name} (or {fallback})")
    return WcsForwarder(
        values["GRU_REPORTS_WCS_URL"], values["GRU_REPORTS_WCS_ORIG"], values["GRU_REPORTS_WCS_KEY"]
    )


def max_attempts_from_env(env: Mapping[str, str] = os.environ) -> int:
    raw = (env.get("GRU_REPORTS_OUTBOX_MAX_ATTEMPTS") or "").strip()
    if not raw:
        return DEFAULT_MAX_ATTEMPTS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"GRU_REPORTS_OUTBOX_MAX_ATTEMPTS must be a whole number, 1 or more; got {raw!r}")
    return int(raw)


# --- the outbox -------------------------------------------------------------------------------------


def _claim(reference: str | None, now: datetime, limit: int, url: str | None) -> list[ReportView]:
    """Claim the due pending reports (or this one) for one try."""
    claimed = []
    with session_scope(url, write=True) as session:
        query = select(Report).where(Report.forward_status == "pending")
        if reference is not None:
            query = query.where(Report.reference == reference)
        else:
            query = query.where(Report.next_attempt_at <= now).order_by(Report.next_attempt_at, Report.id)
        for row in session.execute(query.limit(limit)).scalars().all():
            result = session.execute(
                update(Report)
                .where(
                    Report.id == row.id,
                    Report.forward_status == "pending",
                    Report.next_attempt_at == row.next_attempt_at,
                )
                .values(next_attempt_at=now + CLAIM_LEASE)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                claimed.append(ReportView.of(row))
    return claimed


def _record(report: ReportView, sent: Sent | None, error: ForwardError | None, now: datetime,
            max_attempts: int, url: str | None) -> str:  # fmt: skip
    attempts = report.forward_attempts + 1
    values: dict = {"forward_attempts": attempts, "forward_error": error.kind if error else None}
    if sent is not None:
        values.update(forward_status="sent", next_attempt_at=None, backoffice_id=sent.backoffice_id,
                      backoffice_url=sent.url)  # fmt: skip
        outcome = "sent"
    elif (error and error.final) or attempts >= max_attempts:
        values.update(forward_status="given_up", next_attempt_at=None)
        outcome = "given_up"
    else:
        values["next_attempt_at"] = now + retry_delay(attempts)
        outcome = "retry"
    with session_scope(url, write=True) as session:
        session.execute(
            update(Report)
            .where(Report.id == report.id, Report.forward_status == "pending")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return outcome


async def _attempt(forwarder: Forwarder, reports: list[ReportView], now: datetime, max_attempts: int,
                   url: str | None) -> dict[str, int]:  # fmt: skip
    summary = {"sent": 0, "retry": 0, "given_up": 0}
    for report in reports:
        sent, error = None, None
        try:
            sent = await forwarder.send(report, url)
        except ForwardError as exc:
            error = exc
        outcome = await asyncio.to_thread(_record, report, sent, error, now, max_attempts, url)
        summary[outcome] += 1
        if outcome == "sent":
            logger.info(
                "report %d sent to %s (attempt %d)", report.id, forwarder.kind, report.forward_attempts + 1
            )
        elif outcome == "retry":
            logger.warning("report %d not sent to %s: %s, retried later (attempt %d of %d)", report.id,
                           forwarder.kind, error.kind if error else "-", report.forward_attempts + 1,
                           max_attempts)  # fmt: skip
        else:
            logger.error("report %d given up for %s: %s; an agent must forward it by hand", report.id,
                         forwarder.kind, error.kind if error else "-")  # fmt: skip
    return summary


async def forward_now(
    reference: str,
    forwarder: Forwarder | None,
    *,
    now: datetime | None = None,
    url: str | None = None,
    max_attempts: int | None = None,
) -> str:
    """The immediate try after the citizen confirms: 'sent', 'retry' (kept in the outbox),
    'given_up' or 'none' (nothing to forward)."""
    if forwarder is None:
        return "none"
    moment = local_now(now)
    reports = await asyncio.to_thread(_claim, reference, moment, 1, url)
    if not reports:
        return "none"
    summary = await _attempt(forwarder, reports, moment, max_attempts or max_attempts_from_env(), url)
    return next(outcome for outcome, count in summary.items() if count)


async def process_outbox(
    forwarder: Forwarder | None,
    *,
    now: datetime | None = None,
    limit: int = 50,
    url: str | None = None,
    max_attempts: int | None = None,
) -> dict[str, int]:
    """One pass over the due reports: {'sent', 'retry', 'given_up', 'pending'}."""
    summary = {"sent": 0, "retry": 0, "given_up": 0, "pending": 0}
    if forwarder is None:
        return summary
    moment = local_now(now)
    reports = await asyncio.to_thread(_claim, None, moment, limit, url)
    if reports:
        summary.update(
            await _attempt(forwarder, reports, moment, max_attempts or max_attempts_from_env(), url)
        )
    summary["pending"] = await asyncio.to_thread(pending_count, url)
    return summary


def pending_count(url: str | None = None) -> int:
    from sqlalchemy import func

    with session_scope(url) as session:
        return session.execute(
            select(func.count()).select_from(Report).where(Report.forward_status == "pending")
        ).scalar_one()


def summary_fr(summary: Mapping[str, int]) -> str:
    return (
        f"Signalements : {summary['sent']} transmis, {summary['retry']} à réessayer, "
        f"{summary['given_up']} abandonné(s) (à transmettre par un agent), {summary['pending']} en attente."
    )


async def _main() -> int:
    from core import http

    try:
        forwarder = forwarder_from_env()
    except ValueError as exc:
        print(f"Configuration des signalements invalide : {exc}", file=sys.stderr)
        return 1
    if forwarder is None:
        print("Transmission des signalements non configurée (GRU_REPORTS_FORWARD=none) : rien à envoyer.")
        return 0
    try:
        summary = await process_outbox(forwarder)
    finally:
        await http.close_all()
    print(summary_fr(summary))
    return 0


if __name__ == "__main__":  # pragma: no cover - operators' entry point
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(_main()))
