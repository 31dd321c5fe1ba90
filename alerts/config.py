"""The alerts file (territory/demo/alerts.yml, GRU_ALERTS_FILE): topics, sectors, consent
wording and each channel's sending rate, validated at start with French messages."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, List

from pydantic import conint, constr, validator

from core.content import KEY_PATTERN, ContentError, ContentModel, content_path, load_content_file
from core.text import fold

DEFAULT_ALERTS_FILE = Path(__file__).resolve().parent.parent / "territory" / "demo" / "alerts.yml"
ALERTS_LABEL = "alertes à la population"

# The topics are a contract with the other features (alerts.notices.active_alerts).
TOPICS = (
    "inondation",
    "canicule",
    "grand_froid",
    "tempete",
    "coupure_eau",
    "pollution",
    "travaux_circulation",
    "transport_scolaire",
)
CHANNELS = ("messenger", "email", "sms", "web")
RATED_CHANNELS = ("messenger", "email", "sms")  # the website needs no sending


class AlertsConfigError(ContentError):
    """The alerts file is missing or invalid (French message)."""


class Consent(ContentModel):
    version: constr(strip_whitespace=True, min_length=1, max_length=40)
    text: constr(strip_whitespace=True, min_length=20, max_length=600)


class Topic(ContentModel):
    label: constr(strip_whitespace=True, min_length=1, max_length=25)
    keywords: List[constr(strip_whitespace=True, min_length=2, max_length=40)] = []


class Sector(ContentModel):
    label: constr(strip_whitespace=True, min_length=1, max_length=40)


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MESSAGE_PLACEHOLDERS = ("topic", "text", "link", "url")


def _placeholders(value: str) -> str:
    for name in _PLACEHOLDER.findall(value):
        if name not in MESSAGE_PLACEHOLDERS:
            raise ValueError(f"« {{{name}}} » inconnu (possibles : {', '.join(MESSAGE_PLACEHOLDERS)})")
    return value


Line = constr(strip_whitespace=True, min_length=1, max_length=1000)


class Messages(ContentModel):
    """Texts sent outside the conversation (alerts, confirmation e-mail)."""

    alert: Line
    link: Line
    sms_stop: Line
    email_subject: Line
    email_footer: Line
    messenger_optin_title: constr(strip_whitespace=True, min_length=1, max_length=65)  # Meta's limit
    messenger_optin_recorded: Line
    messenger_stopped: Line
    confirm_subject: Line
    confirm_body: Line

    _checked = validator("*", allow_reuse=True)(_placeholders)


class Pages(ContentModel):
    """Pages shown when a link of an e-mail is followed."""

    confirmed: Line
    unsubscribed: Line
    expired: Line
    invalid: Line
    unknown: Line


class AlertsConfig(ContentModel):
    consent: Consent
    topics: Dict[str, Topic]
    sectors: Dict[str, Sector] = {}
    channels: Dict[str, conint(ge=1, le=1000)]
    messages: Messages
    pages: Pages
    email_confirmation_hours: conint(ge=1, le=24 * 30) = 48
    default_validity_hours: conint(ge=1, le=24 * 30) = 24

    @validator("topics")
    def _all_topics(cls, value: Dict[str, Topic]) -> Dict[str, Topic]:
        unknown = [key for key in value if key not in TOPICS]
        if unknown:
            raise ValueError(f"sujet « {unknown[0]} » inconnu (possibles : {', '.join(TOPICS)})")
        missing = [key for key in TOPICS if key not in value]
        if missing:
            raise ValueError(f"sujet « {missing[0]} » manquant")
        return {key: value[key] for key in TOPICS}

    @validator("sectors")
    def _sector_keys(cls, value: Dict[str, Sector]) -> Dict[str, Sector]:
        for key in value:
            if not KEY_PATTERN.match(key):
                raise ValueError(f"clé de secteur « {key} » invalide (minuscules, chiffres, _)")
        return value

    @validator("channels")
    def _channel_rates(cls, value: Dict[str, int]) -> Dict[str, int]:
        for key in value:
            if key not in RATED_CHANNELS:
                raise ValueError(f"canal « {key} » inconnu (possibles : {', '.join(RATED_CHANNELS)})")
        missing = [key for key in RATED_CHANNELS if key not in value]
        if missing:
            raise ValueError(f"débit du canal « {missing[0]} » manquant")
        return value

    def topics_in(self, text: str) -> List[str]:
        """The topics a citizen's words name (« canicule et inondation » → both), in file order."""
        words = f" {re.sub(r'[^a-z0-9]+', ' ', fold(text))} "
        found = []
        for key, topic in self.topics.items():
            names = [key.replace("_", " "), fold(topic.label)] + [fold(k) for k in topic.keywords]
            if any(f" {re.sub(r'[^a-z0-9]+', ' ', name).strip()} " in words for name in names):
                found.append(key)
        return found


def alerts_path() -> Path:
    return content_path("GRU_ALERTS_FILE", DEFAULT_ALERTS_FILE)


@lru_cache(maxsize=4)
def load_alerts_config(path: Path | None = None) -> AlertsConfig:
    """Load and validate the alerts file (cached per path)."""
    return load_content_file(path or alerts_path(), AlertsConfig, ALERTS_LABEL, error=AlertsConfigError)
