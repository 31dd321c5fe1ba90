"""The Messenger card of a confirmed appointment (generic template: title/subtitle ≤ 80)."""

from __future__ import annotations

from actions.appointments.context import REASON_LABELS, when_fr
from actions.common import payload
from booking.engine import AppointmentView


def appointment_card(appt: AppointmentView) -> dict:
    what = REASON_LABELS[appt.reason]
    return {
        "title": f"{appt.reference} — {what}"[:80],
        "subtitle": f"{when_fr(appt.start)}, {appt.site_name}"[:80],
        "buttons": [
            {
                "type": "postback",
                "title": "Déplacer",
                "payload": payload("reschedule_appointment", reference=appt.reference),
            },
            {
                "type": "postback",
                "title": "Annuler",
                "payload": payload("cancel_appointment", reference=appt.reference),
            },
        ],
    }
