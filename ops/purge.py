"""Apply the retention limits of the privacy file (python -m ops.purge, make purge).

`make run` runs it once a day (ops/jobs.py); in production put it in the system's cron or a
systemd timer. It deletes the conversation events older than `conversations_days` from the
tracker store (GRU_TRACKER_STORE_URL), anonymises the appointments `bookings_days_after` days
after their date and deletes the addresses remembered more than `remembered_address_days` ago
(GRU_DATABASE_URL), and deletes the alerts subscriptions never confirmed in time or whose
consent is older than `alerts_consent_days` (alerts.subscriptions.purge), erases the contact of
the callback requests made more than `callbacks_days` ago and the sender id of the hand-offs
closed more than `conversations_days` ago (handoff/privacy.py). It prints one French line of
counts, never a name or an id.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from typing import Sequence

from sqlalchemy.exc import SQLAlchemyError

from alerts.config import load_alerts_config
from alerts.subscriptions import AlertsPurge, purge_alerts
from booking.privacy import BookingPurge, purge_bookings
from core.content import ContentError
from core.privacy import ConversationPurge, load_privacy, mask_idle_triages, purge_conversations
from handoff.privacy import HandoffPurge, purge_handoffs
from reports.privacy import ReportsPurge, purge_reports

# A conversation silent this long has left its session (Rasa's session_expiration_time: 60 min).
IDLE = timedelta(hours=1)


def summary_fr(
    conversations: ConversationPurge,
    bookings: BookingPurge,
    reports: ReportsPurge | None = None,
    alerts: AlertsPurge | None = None,
    handoffs: HandoffPurge | None = None,
) -> str:
    text = (
        f"Purge des données : {conversations.events} message(s) ou événement(s) de conversation supprimé(s) "
        f"({conversations.conversations} conversation(s) entière(s)), "
        f"{bookings.appointments} rendez-vous anonymisé(s), "
        f"{bookings.addresses} adresse(s) mémorisée(s) supprimée(s)."
    )
    if reports is not None:
        text += (
            f" {reports.reports} signalement(s) sans contact ni photo désormais, "
            f"{reports.photos} photo(s) supprimée(s)."
        )
    if alerts is not None:
        text += f" Alertes : {alerts.unconfirmed + alerts.expired} abonnement(s) supprimé(s)."
    if handoffs is not None:
        text += (
            f" Agents : {handoffs.callbacks} demande(s) de rappel sans coordonnées désormais, "
            f"{handoffs.handoffs} mise(s) en relation sans identifiant de conversation désormais."
        )
    return text


def purge(
    *,
    now: datetime | None = None,
    tracker_url: str | None = None,
    database_url: str | None = None,
) -> tuple[ConversationPurge, BookingPurge, ReportsPurge]:
    policy = load_privacy()
    now = now or datetime.now(timezone.utc)
    before = now - timedelta(days=policy.retention.conversations_days)
    conversations = purge_conversations(before, url=tracker_url)
    mask_idle_triages(now - IDLE, url=tracker_url)
    bookings = purge_bookings(policy.retention, now=now, url=database_url)
    reports = purge_reports(policy.retention.reports_days, now=now, url=database_url)
    return conversations, bookings, reports


def purge_alert_subscriptions(*, database_url: str | None = None) -> AlertsPurge:
    """The alerts subscriptions' limits (alerts_consent_days; the e-mail link's validity)."""
    policy = load_privacy()
    return purge_alerts(
        consent_days=policy.retention.alerts_consent_days,
        deliveries_days=policy.retention.conversations_days,
        confirmation_hours=load_alerts_config().email_confirmation_hours,
        url=database_url,
    )


def purge_handoff_data(*, now: datetime | None = None, database_url: str | None = None) -> HandoffPurge:
    """Callback requests (callbacks_days) and closed hand-offs (conversations_days)."""
    retention = load_privacy().retention
    return purge_handoffs(retention.callbacks_days, retention.conversations_days, now=now, url=database_url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.purge",
        description="Applique les durées de conservation du fichier des données personnelles.",
    )
    parser.parse_args(argv)
    try:
        conversations, bookings, reports = purge()
        alerts = purge_alert_subscriptions()
        handoffs = purge_handoff_data()
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(
            f"Purge impossible : base de données injoignable ou incomplète ({type(exc).__name__}).",
            file=sys.stderr,
        )
        return 1
    print(summary_fr(conversations, bookings, reports, alerts, handoffs))
    return 0


if __name__ == "__main__":  # pragma: no cover - operators' entry point
    sys.exit(main())
