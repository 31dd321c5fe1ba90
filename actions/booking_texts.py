"""What the citizen reads in the identity-appointment flows (plain Python, no Rasa).

Short sentences, vouvoiement, buttons where a choice is expected. The actions in
actions/booking.py decide; this module words.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Dict, List, Sequence

from booking.engine import AppointmentView, Slot
from core.text import format_date_fr, format_time_fr

Button = Dict[str, str]

DOCUMENT_LABELS = {
    "cni": "carte d'identité",
    "passeport": "passeport",
    "les_deux": "carte d'identité et passeport",
}
REASON_LABELS = {
    "CNI": "carte d'identité",
    "PASSPORT": "passeport",
    "CNI-PASSPORT": "carte d'identité et passeport",
    "ENCOMBRANTS": "enlèvement d'encombrants",
}
WEEKDAY_SHORT = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
MONTH_SHORT = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


def payload(intent: str, **entities: str) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def button(title: str, intent: str, **entities: str) -> Button:
    return {"title": title, "payload": payload(intent, **entities)}


def when_fr(start: datetime) -> str:
    """« mardi 1er décembre à 10 h »."""
    return f"{format_date_fr(start.date())} à {format_time_fr(start.time())}"


def short_slot_fr(slot: Slot, site_names: Dict[str, str] | None = None) -> str:
    """« mar. 1 déc. 10 h 15 » (+ « — Coteaux » when several sites are offered)."""
    start = slot.start
    day = f"{WEEKDAY_SHORT[start.weekday()]} {start.day} {MONTH_SHORT[start.month - 1]}"
    text = f"{day} {format_time_fr(start.time())}"
    if site_names and len(site_names) > 1:
        text += f" — {site_names.get(slot.site_id, slot.site_id)}"
    return text


def slot_buttons(slots: Sequence[Slot], site_names: Dict[str, str], more: bool) -> List[Button]:
    buttons = [button(short_slot_fr(s, site_names), "inform", choice=s.key) for s in slots]
    if more:
        buttons.append(button("D'autres créneaux", "inform", choice="more"))
    buttons.append(button("Un autre jour", "inform", choice="other_day"))
    return buttons


def duration_fr(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} minutes"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if rest else f"{hours} heure" + ("s" if hours > 1 else "")


def people_fr(count: int) -> str:
    return "1 personne" if count == 1 else f"{count} personnes"


def summary_text(
    reason: str, people: int, slot: Slot, site_name: str, site_address: str, surname: str, ids: Sequence[str]
) -> str:
    lines = [
        "Je récapitule votre demande :",
        f"• {REASON_LABELS[reason].capitalize()}, {people_fr(people)}",
        f"• Le {when_fr(slot.start)} ({duration_fr(slot.duration_minutes)})",
        f"• {site_name}, {site_address}",
        f"• Au nom de {surname}",
    ]
    if ids:
        lines.append("• Pré-demande(s) : " + ", ".join(ids))
    else:
        lines.append("• Sans pré-demande : formulaire papier à remplir sur place")
    lines.append("Je confirme la réservation ?")
    return "\n".join(lines)


def checklist(reason: str, paper: bool) -> List[str]:
    items = [
        "une photo d'identité de moins de 6 mois, aux normes",
        "un justificatif de domicile de moins d'un an",
        "votre ancien titre (carte ou passeport), s'il y en a un",
    ]
    if reason in ("PASSPORT", "CNI-PASSPORT"):
        items.append(
            "un timbre fiscal pour le passeport : 86 € (adulte), 42 € (15-17 ans), 17 € (moins de 15 ans)"
        )
    items.append(
        "en cas de perte ou de vol : la déclaration (et un timbre fiscal de 25 € pour une carte d'identité)"
    )
    if paper:
        items.append("arrivez 10 minutes en avance pour remplir le formulaire papier")
    else:
        items.append("le numéro ou le récapitulatif de votre pré-demande")
    items.append("pour un mineur : sa présence, et un parent avec sa propre pièce d'identité")
    return items


def confirmation_text(appt: AppointmentView, ants_note: str | None = None) -> str:
    lines = [
        f"C'est réservé ! Votre référence : {appt.reference}",
        f"Rendez-vous le {when_fr(appt.start)}, {appt.site_name}, {appt.site_address}.",
        "Le jour venu, apportez :",
    ]
    lines += [f"• {item}" for item in checklist(appt.reason, paper=not appt.application_ids)]
    lines.append(
        f"Pour annuler ou déplacer, écrivez « annuler mon rendez-vous » ici, ou donnez la référence "
        f"{appt.reference} et votre nom depuis le site ou Messenger."
    )
    if ants_note:
        lines.append(ants_note)
    return "\n".join(lines)


def appointment_line(appt: AppointmentView) -> str:
    if appt.reason == "ENCOMBRANTS":
        day = format_date_fr(appt.start.date())
        return f"• {appt.reference} : {REASON_LABELS[appt.reason]} le {day} au matin"
    return (
        f"• {appt.reference} : {REASON_LABELS[appt.reason]}, {people_fr(appt.people)}, "
        f"le {when_fr(appt.start)}, {appt.site_name}"
    )


def horizon_fr(today: date, window_days: int) -> str:
    return format_date_fr(today + timedelta(days=window_days))


APPLICATION_ID_HELP = (
    "Le numéro de pré-demande compte 10 lettres et chiffres (par exemple 4F7K2M9QXZ). "
    "Il figure sur le récapitulatif reçu après la pré-demande sur ants.gouv.fr."
)

NO_PRE_APPLICATION = (
    "Pas de souci : vous remplirez le formulaire papier sur place. "
    "Prévoyez d'arriver 10 minutes en avance. "
    "La pré-demande en ligne sur ants.gouv.fr fait gagner du temps, si vous le pouvez."
)


def failures_help(phone: str) -> tuple[str, List[Button]]:
    text = (
        "Je n'arrive pas à comprendre votre réponse, désolé. "
        f"Vous pouvez aussi prendre rendez-vous par téléphone au {phone}, ou parler à un agent."
    )
    return text, [button("Parler à un agent", "human_handoff"), button("Arrêter", "stop")]


def appointment_card(appt: AppointmentView) -> dict:
    """A Messenger generic-template card for a confirmed appointment (title/subtitle ≤ 80)."""
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
