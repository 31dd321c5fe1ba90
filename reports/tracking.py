"""Following a report (SIG-AAAA-NNNNNN) with the tracking flow: a local adapter on the reports
table, with the rules of every tracking adapter (tracking/connector.py): the second factor is the
e-mail or the phone number given with the report, and an unknown reference or a wrong factor
raise the same FileNotFound. A report given without any contact cannot be followed in the chat
(the citizen is told so when it is recorded): its reference alone discloses nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import re

from reports.store import ReportView, find_report
from tracking.connector import FileNotFound, FileStatus, make_status, normalise_email

STAGES = {"received": "received", "in_progress": "in_progress", "closed": "closed"}


def normalise_phone(text: str | None) -> str:
    """« 06 12 34 56 78 », « +33 6 12 34 56 78 » → « 0612345678 »."""
    digits = re.sub(r"\D", "", text or "")
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


def factor_matches(given: str, report: ReportView) -> bool:
    if not isinstance(given, str) or not given.strip():
        return False
    candidates = [
        (normalise_email(given), normalise_email(report.contact_email)),
        (normalise_phone(given), normalise_phone(report.contact_phone)),
    ]
    matched = False
    for wanted, known in candidates:  # both compared, in constant time
        if wanted and known and len(wanted) >= 6 and hmac.compare_digest(wanted.encode(), known.encode()):
            matched = True
    return matched


def next_step_fr(report: ReportView) -> str:
    if report.status == "closed":
        return "Le service a traité ce signalement. Merci de nous avoir prévenus."
    if report.status == "in_progress":
        return "Le service s'en occupe : une intervention est prévue."
    if report.forward_status == "sent":
        return "Votre signalement a été transmis au service, qui va le traiter."
    return "Votre signalement est enregistré ; il va être transmis au service concerné."


class ReportTrackingAdapter:
    """TrackingConnector for SIG- references (tracking.connector.TrackingConnector)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url

    async def lookup(self, reference: str, second_factor: str) -> FileStatus:
        report = await asyncio.to_thread(find_report, reference, url=self.url)
        if report is None or not factor_matches(second_factor, report):
            raise FileNotFound()
        from reports.config import load_reports_config

        category = load_reports_config().category(report.category)
        title = f"Signalement — {category.label if category else report.category}"
        if report.reporters > 1:
            title += f" (signalé {report.reporters} fois)"
        return make_status(
            reference=report.reference,
            kind="report",
            title=title,
            stage=STAGES.get(report.status, "received"),
            last_change=report.updated_at.date(),
            service=report.service,
            next_step_fr=next_step_fr(report),
        )
