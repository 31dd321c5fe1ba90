"""Crisis alerts in the chat: subscribe (alerts_form: topics, sector, channel, address or
number, explicit consent) and unsubscribe (per topic or all, at once).

The rules are in the alerts package (plain Python); the texts are responses of
domain/alerts.yml. Database calls and SMTP run in threads.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, Dict, List
from urllib.parse import urlencode

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.common import (
    MAX_CHOICE_CHARS,
    button,
    channel_of,
    entity_values,
    intent_of,
    read_yes_no,
    text_of,
)
from actions.context import pseudonym
from actions.forms import FormDone, FormValidation, guarded
from alerts.config import load_alerts_config
from alerts.notices import active_alerts
from alerts.senders import Outgoing, SendFailed, SmtpSender, SmtpSettings
from alerts.signing import make_token
from alerts.subscriptions import (
    forget_origin,
    normalise_email,
    normalise_phone,
    stop_by_id,
    subscribe,
    subscriptions_of,
    unsubscribe,
)
from core.http import public_url
from core.privacy import load_privacy
from core.text import fold, join_fr
from waste.geocoder import GeocoderUnavailable, extract_address
from waste.sectors import sector_for

logger = logging.getLogger(__name__)

ALERTS = load_alerts_config()
ALERTS_SLOTS = ("alerts_topics", "alerts_sector", "alerts_channel", "alerts_contact", "alerts_consent")
ALL = "all"
MAX_CONTACT_INPUT = 254
MAX_SHOWN_AT_WELCOME = 3
OPTIN_PAYLOAD = "ALERTS_OPTIN"


def origin_of(tracker) -> str:
    """Who subscribed, as stored: « <input channel>:<sender id> »."""
    return f"{channel_of(tracker)}:{tracker.sender_id}"


def here_channel(tracker) -> str:
    """The current conversation's own channel for alerts: Messenger, or the website."""
    return "messenger" if channel_of(tracker) == "facebook" else "web"


def topic_labels(topics: List[str]) -> str:
    return join_fr(ALERTS.topics[t].label.lower() for t in topics)


def sector_label(sector: str | None) -> str:
    return ALERTS.sectors[sector].label if sector else "toute la commune"


def choice_of(tracker) -> str | None:
    value = next(iter(entity_values(tracker, "choice")), None)
    return value if value and len(value) <= MAX_CHOICE_CHARS else None


def topics_of(tracker) -> List[str]:
    """Topics of a button (« all » or one key) or named in the words typed."""
    choice = choice_of(tracker)
    if choice == ALL:
        return list(ALERTS.topics)
    if choice in ALERTS.topics:
        return [choice]
    text = text_of(tracker)[:500]
    if any(word in fold(text).split() for word in ("tous", "toutes", "tout")):
        return list(ALERTS.topics)
    return ALERTS.topics_in(text)


async def sector_of_address(text: str) -> str | None:
    """The sector of a typed address, through the waste geocoder and sectors (same keys)."""
    from actions.waste_chat.address import _search
    from actions.waste_chat.content import WASTE

    query = extract_address(text[:200])
    if not query:
        return None
    try:
        candidates = await _search(query)
    except GeocoderUnavailable:
        return None
    for candidate in candidates[:1]:
        match = sector_for(WASTE, candidate.street, candidate.housenumber)
        if match.sector in ALERTS.sectors:
            return match.sector
    return None


class ValidateAlertsForm(FormValidation):
    form = "alerts_form"
    topic = "default"
    restart_intent = "alerts_subscribe"

    async def form_slots(self, domain_slots, dispatcher, tracker, domain) -> List[str]:
        channel = tracker.get_slot("alerts_channel")
        slots = [s for s in domain_slots if s != "alerts_contact" or channel in ("email", "sms")]
        if tracker.get_slot("alerts_consent") is False:
            return []  # « Non merci »: nothing more to ask, nothing stored
        return slots

    async def extract_alerts_topics(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested is None and intent_of(tracker) == self.restart_intent:
            topics = topics_of(tracker)
            return {"alerts_topics": topics} if topics else {}
        if requested != "alerts_topics":
            return {}
        topics = topics_of(tracker)
        if not topics:
            return self.fail(dispatcher, tracker, "alerts_topics", "utter_alerts_topic_unknown")
        return self.filled(alerts_topics=topics)

    async def extract_alerts_sector(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "alerts_sector":
            return {}
        choice = choice_of(tracker)
        if choice == ALL:
            return self.filled(alerts_sector=ALL)
        if choice in ALERTS.sectors:
            return self.filled(alerts_sector=choice)
        text = text_of(tracker)
        words = fold(text)
        if any(key in words for key in ("toute la commune", "partout", "toute la ville", "peu importe")):
            return self.filled(alerts_sector=ALL)
        for key, sector in ALERTS.sectors.items():
            if fold(sector.label) in words:
                return self.filled(alerts_sector=key)
        sector = await sector_of_address(text) if text else None
        if sector is None:
            return self.fail(dispatcher, tracker, "alerts_sector", "utter_alerts_sector_unknown")
        return self.filled(alerts_sector=sector)

    async def extract_alerts_channel(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "alerts_channel":
            return {}
        choice = choice_of(tracker)
        words = fold(text_of(tracker))
        if choice == "here" or any(w in words for w in ("ici", "messenger", "site", "conversation")):
            channel = here_channel(tracker)
        elif choice == "email" or "mail" in words or "courriel" in words:
            channel = "email"
        elif choice == "sms" or "sms" in words or "texto" in words or "portable" in words:
            channel = "sms"
        else:
            return self.fail(dispatcher, tracker, "alerts_channel", "utter_alerts_channel_unknown")
        contact = self._contact(channel, text_of(tracker))  # « par mail : a@b.fr » in one message
        return self.filled(alerts_channel=channel, **({"alerts_contact": contact} if contact else {}))

    @staticmethod
    def _contact(channel: str, text: str) -> str | None:
        text = text[:MAX_CONTACT_INPUT]
        if channel == "email":
            return next((e for e in map(normalise_email, text.split()) if e), None)
        if channel == "sms":
            return normalise_phone(text.split(":")[-1])
        return None

    async def extract_alerts_contact(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "alerts_contact":
            return {}
        channel = tracker.get_slot("alerts_channel")
        text = tracker.latest_message.get("text") or ""
        if len(text) > MAX_CONTACT_INPUT:
            return self.fail(dispatcher, tracker, "alerts_contact", f"utter_alerts_{channel}_invalid")
        contact = self._contact(channel, text)
        if contact is None:
            return self.fail(dispatcher, tracker, "alerts_contact", f"utter_alerts_{channel}_invalid")
        return self.filled(alerts_contact=contact)

    def is_answer(self, tracker, requested) -> bool:
        # an e-mail address or a phone number is an answer whatever the NLU made of it
        if requested == "alerts_contact":
            text = text_of(tracker)
            return "@" in text or normalise_phone(text) is not None
        return super().is_answer(tracker, requested)

    async def extract_alerts_consent(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "alerts_consent":
            return {}
        choice = choice_of(tracker)
        answer = {"accept": True, "refuse": False}.get(choice) if choice else read_yes_no(tracker)
        if answer is None and "accepte" in fold(text_of(tracker)):
            answer = "pas" not in fold(text_of(tracker))
        if answer is None:
            return self.fail(dispatcher, tracker, "alerts_consent", "utter_alerts_consent_unclear")
        return self.filled(alerts_consent=answer)


class ActionAskAlertsConsent(Action):
    """The consent question: the exact wording recorded with the subscription, the privacy page."""

    def name(self) -> str:
        return "action_ask_alerts_consent"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        channel = tracker.get_slot("alerts_channel")
        dispatcher.utter_message(
            response="utter_ask_alerts_consent",
            consent=ALERTS.consent.text,
            topics=topic_labels(tracker.get_slot("alerts_topics") or []),
            sector=sector_label(
                None if tracker.get_slot("alerts_sector") == ALL else tracker.get_slot("alerts_sector")
            ),
            where={
                "messenger": "sur Messenger",
                "web": "sur ce site",
                "email": "par e-mail",
                "sms": "par SMS",
            }.get(channel, ""),
            privacy_url=load_privacy().notice.url,
        )
        return []


def optin_request() -> Dict[str, Any]:
    """Meta's notification_messages opt-in request (sent within the 24-hour window)."""
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "notification_messages",
                "title": ALERTS.messages.messenger_optin_title,
                "payload": OPTIN_PAYLOAD,
                "notification_messages_frequency": "DAILY",
                "notification_messages_reoptin": "ENABLED",
                "notification_messages_timezone": "Europe/Paris",
            },
        }
    }


async def send_confirmation_email(subscription_id: int, address: str, topics: List[str]) -> bool:
    """The double opt-in e-mail with its signed link; False when no SMTP server answers."""
    settings = SmtpSettings.from_env()
    if settings is None:
        logger.warning("alerts: e-mail subscription refused, GRU_SMTP_HOST is not set")
        return False
    token = make_token("confirm", subscription_id, timedelta(hours=ALERTS.email_confirmation_hours))
    link = f"{public_url()}/webhooks/alerts/confirm?{urlencode({'token': token})}"
    label = topic_labels(topics)
    body = ALERTS.messages.confirm_body.format(topic=label, text="", link="", url=link)
    sender = SmtpSender(settings, workers=1)
    try:
        await sender.send(
            Outgoing(f"confirm-{subscription_id}", address, None, body, ALERTS.messages.confirm_subject)
        )
        return True
    except SendFailed as exc:
        logger.warning("alerts: confirmation e-mail not sent (%s)", exc.reason)
        return False
    finally:
        await sender.close()


class ActionAlertsDone(FormDone):
    form = "alerts_form"
    topic = "default"
    restart_intent = "alerts_subscribe"
    slots = ALERTS_SLOTS
    stopped_response = "utter_alerts_stopped"

    @guarded()
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        return await super().run(dispatcher, tracker, domain)

    async def completed(self, dispatcher, tracker, domain) -> List[EventType]:
        if not tracker.get_slot("alerts_consent"):
            dispatcher.utter_message(response="utter_alerts_no_consent")
            return self.forget()
        topics = tracker.get_slot("alerts_topics") or []
        sector = tracker.get_slot("alerts_sector")
        sector = None if sector in (None, ALL) else sector
        channel = tracker.get_slot("alerts_channel") or here_channel(tracker)
        origin = origin_of(tracker)
        address = {"web": origin, "messenger": tracker.sender_id}.get(channel) or tracker.get_slot(
            "alerts_contact"
        )
        sub = await asyncio.to_thread(
            subscribe, channel=channel, address=address, origin=origin, topics=topics, sector=sector,
            consent_version=ALERTS.consent.version,
        )  # fmt: skip
        logger.info(
            "alerts subscription on %s (conversation %s, %d topics)",
            channel,
            pseudonym(tracker.sender_id),
            len(topics),
        )
        values = {"topics": topic_labels(topics), "sector": sector_label(sector)}
        if channel == "email" and sub.status == "pending":
            if not await send_confirmation_email(sub.id, address, topics):
                await asyncio.to_thread(stop_by_id, sub.id)
                dispatcher.utter_message(response="utter_alerts_email_unavailable")
                return self.forget()
            dispatcher.utter_message(response="utter_alerts_email_sent", email=address, **values)
        elif channel == "messenger" and sub.status == "pending":
            dispatcher.utter_message(response="utter_alerts_messenger_optin", **values)
            dispatcher.utter_message(json_message=optin_request())
        else:
            dispatcher.utter_message(response=f"utter_alerts_subscribed_{channel}", **values)
        return self.forget()


class ActionAlertsUnsubscribe(Action):
    """Ends the alerts at once: the topics named (button or words), else all of them."""

    def name(self) -> str:
        return "action_alerts_unsubscribe"

    @guarded()
    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        origin = origin_of(tracker)
        mine = await asyncio.to_thread(subscriptions_of, origin)
        if not mine:
            dispatcher.utter_message(response="utter_alerts_none")
            return []
        choice = choice_of(tracker)
        topics = None if choice == ALL else topics_of(tracker) or None
        if choice == ALL or (choice is None and topics and set(topics) == set(ALERTS.topics)):
            topics = None
        await asyncio.to_thread(unsubscribe, origin, topics)
        left = sorted({t for s in await asyncio.to_thread(subscriptions_of, origin) for t in s.topics},
                      key=list(ALERTS.topics).index)  # fmt: skip
        logger.info(
            "alerts unsubscription (conversation %s, %s)",
            pseudonym(tracker.sender_id),
            "some topics" if topics else "all",
        )
        if left:
            dispatcher.utter_message(
                response="utter_alerts_unsubscribed_some",
                stopped=topic_labels(topics or []),
                left=topic_labels(left),
                buttons=[button("Tout arrêter", "alerts_unsubscribe", choice=ALL)],
            )
        else:
            dispatcher.utter_message(response="utter_alerts_unsubscribed_all")
        return []


# ---- hooks used by other features -------------------------------------------------------------


async def welcome_alerts(dispatcher) -> None:
    """The active alerts, told when a visit starts (the session start calls it). A database
    that does not answer only skips them: the welcome must never fail."""
    try:
        alerts = await asyncio.to_thread(active_alerts)
    except Exception as exc:  # noqa: BLE001 - never block the welcome
        logger.warning("active alerts not read at the welcome: %s", type(exc).__name__)
        return
    for alert in alerts[:MAX_SHOWN_AT_WELCOME]:
        dispatcher.utter_message(
            response="utter_alerts_active",
            topic=ALERTS.topics[alert.topic].label,
            alert=alert.text,
            sector=join_fr(ALERTS.sectors[s].label for s in alert.sectors if s in ALERTS.sectors)
            or "toute la commune",
            buttons=[
                {"title": "Plus d'informations", "type": "web_url", "url": alert.link, "payload": alert.link}
            ]
            if alert.link
            else [],
        )


async def forget_alerts(channel: str, sender_id: str) -> int:
    """« Oubliez mes données »: the subscriptions made from this conversation are deleted."""
    return await asyncio.to_thread(forget_origin, f"{channel}:{sender_id}")
