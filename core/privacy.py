"""Personal data: the retention policy (territory/demo/privacy.yml) and the conversation store.

The policy file says how long each kind of data is kept and what the privacy notice says; it
is a content file like the others (French errors with the line, checked at start).

The conversation store is Rasa's SQL tracker store (GRU_TRACKER_STORE_URL): one `events` table,
one row per event (sender_id, type_name, timestamp, intent_name, action_name, data as JSON).
Rasa-free code reaches it with SQLAlchemy core to erase a conversation (« oubliez mes
données ») and to purge old events (python -m ops.purge). `mask_welfare` is the rule that
hides what a citizen says of their situation in a welfare triage; the tracker store
(channels/tracker_store.py) applies it before saving.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Tuple
from urllib.parse import urlsplit, urlunsplit

from pydantic import conint, constr, validator
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine, create_engine

from core.content import EMAIL_PATTERN, ContentError, ContentModel, content_path, load_content_file

DEFAULT_PRIVACY_FILE = Path(__file__).resolve().parent.parent / "territory" / "demo" / "privacy.yml"
PRIVACY_LABEL = "données personnelles"
DEFAULT_TRACKER_STORE_URL = "sqlite:///var/rasa.db"


class PrivacyConfigError(ContentError):
    """The privacy file is missing or invalid (French message)."""


# ---- the policy file ---------------------------------------------------------------------------

Days = conint(ge=1, le=3650)
Sentence = constr(strip_whitespace=True, min_length=1)
DURATIONS = (
    "conversations_days",
    "bookings_days_after",
    "remembered_address_days",
    "alerts_consent_days",
    "reports_days",
    "callbacks_days",
)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class Retention(ContentModel):
    conversations_days: Days
    bookings_days_after: Days
    remembered_address_days: Days
    # Crisis alerts subscriptions (alerts/subscriptions.py), counted from the consent given.
    alerts_consent_days: Days = 730
    reports_days: Days = 365  # signalements: contact, conversation id and photo erased after
    # Callback requests (handoff/privacy.py): the contact, the moment and the conversation erased after.
    callbacks_days: Days = 90


class Dpo(ContentModel):
    name: Sentence
    service: Sentence | None = None
    email: constr(regex=EMAIL_PATTERN.pattern)
    address: Sentence


class Notice(ContentModel):
    url: constr(regex=r"^https?://\S+$")
    title: Sentence
    controller: Sentence
    purpose: Sentence
    legal_basis: Sentence
    data: List[Sentence]
    recipients: Sentence
    rights: List[Sentence]
    complaint: Sentence

    @validator("purpose", "legal_basis", "recipients", "complaint", "controller")
    def _known_placeholders(cls, value: str) -> str:
        return _check_placeholders(value)

    @validator("data", "rights", each_item=True)
    def _known_placeholders_each(cls, value: str) -> str:
        return _check_placeholders(value)


def _check_placeholders(text: str) -> str:
    for name in _PLACEHOLDER.findall(text):
        if name not in DURATIONS:
            raise ValueError(f"« {{{name}}} » inconnu (possibles : {', '.join(DURATIONS)})")
    return text


class PrivacyPolicy(ContentModel):
    retention: Retention
    dpo: Dpo
    notice: Notice

    def fill(self, text: str) -> str:
        """A notice text with its {durations} replaced by the retention values."""
        values = self.retention.dict()
        return _PLACEHOLDER.sub(lambda m: str(values[m[1]]), text)


def privacy_path() -> Path:
    return content_path("GRU_PRIVACY_FILE", DEFAULT_PRIVACY_FILE)


@lru_cache(maxsize=4)
def load_privacy(path: Path | None = None) -> PrivacyPolicy:
    """Load and validate the privacy file (cached per path)."""
    return load_content_file(path or privacy_path(), PrivacyPolicy, PRIVACY_LABEL, error=PrivacyConfigError)


# ---- the conversation store (Rasa's SQL tracker store) -----------------------------------------

_metadata = MetaData()
# The columns of rasa.core.tracker_store.SQLTrackerStore.SQLEvent (Rasa 3.6).
EVENTS = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def tracker_store_url(url: str | None = None) -> str:
    """The SQLAlchemy URL of the conversation store: GRU_TRACKER_STORE_URL as `make run` reads it
    (`?login_db=…` is for Rasa only)."""
    url = url or os.environ.get("GRU_TRACKER_STORE_URL") or DEFAULT_TRACKER_STORE_URL
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql+psycopg2"):
        parts = parts._replace(scheme="postgresql")
    return urlunsplit(parts._replace(query="")) if parts.scheme != "sqlite" else url


@lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    return create_engine(url, future=True, hide_parameters=True)


def _has_events(engine: Engine) -> bool:
    """Whether the store holds Rasa's table (a missing SQLite file is not created)."""
    if engine.url.get_backend_name() == "sqlite":
        path = engine.url.database
        if not path or (path != ":memory:" and not Path(path).exists()):
            return False
    return inspect(engine).has_table("events")


def events_engine(url: str | None = None) -> Engine | None:
    """The conversation store's engine, or None while it holds no `events` table (nothing said yet)."""
    engine = _engine(tracker_store_url(url))
    return engine if _has_events(engine) else None


def erase_conversation(sender_id: str, url: str | None = None) -> int:
    """Delete every stored event of one conversation, in every session; the number deleted."""
    engine = _engine(tracker_store_url(url))
    if not _has_events(engine):
        return 0
    with engine.begin() as connection:
        return connection.execute(delete(EVENTS).where(EVENTS.c.sender_id == sender_id)).rowcount or 0


@dataclass(frozen=True)
class ConversationPurge:
    events: int  # events deleted
    conversations: int  # conversations deleted whole (nothing newer than the limit)


def purge_conversations(before: datetime, url: str | None = None) -> ConversationPurge:
    """Delete the events older than `before`: every event of a conversation silent since then,
    and, in a conversation still in use, the events of its sessions before the current one."""
    engine = _engine(tracker_store_url(url))
    if not _has_events(engine):
        return ConversationPurge(0, 0)
    cutoff = before.timestamp()
    other = EVENTS.alias("other")
    latest = (
        select(func.max(other.c.timestamp)).where(other.c.sender_id == EVENTS.c.sender_id).scalar_subquery()
    )
    session_start = (
        select(func.max(other.c.timestamp))
        .where(other.c.sender_id == EVENTS.c.sender_id, other.c.type_name == "session_started")
        .scalar_subquery()
    )
    with engine.begin() as connection:
        silent = connection.execute(
            select(func.count()).select_from(
                select(EVENTS.c.sender_id)
                .group_by(EVENTS.c.sender_id)
                .having(func.max(EVENTS.c.timestamp) < cutoff)
                .subquery()
            )
        ).scalar_one()
        deleted = connection.execute(
            delete(EVENTS).where(
                EVENTS.c.timestamp < cutoff,
                or_(latest < cutoff, EVENTS.c.timestamp < session_start),
            )
        ).rowcount
    return ConversationPurge(deleted or 0, silent)


# ---- what a welfare triage must not leave in the store -----------------------------------------

MASK = "[masqué]"
WELFARE_SLOT_PREFIX = "welfare_"
WELFARE_INTENT = "welfare_guidance"
WELFARE_FORM = "welfare_form"


def is_welfare_slot(name: object) -> bool:
    return isinstance(name, str) and name.startswith(WELFARE_SLOT_PREFIX)


def intent_of(event: Dict[str, Any]) -> str | None:
    """The intent name of a user event in Rasa's dict form (None for other events)."""
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def _mask_user(event: Dict[str, Any]) -> Dict[str, Any]:
    event = copy.deepcopy(event)
    event["text"] = MASK
    parse_data = event.get("parse_data") or {}
    if "text" in parse_data:
        parse_data["text"] = MASK
    for entity in parse_data.get("entities") or event.get("entities") or []:
        for key in ("value", "text"):
            if key in entity:
                entity[key] = MASK
    return event


# What Rasa puts in a bot message's metadata besides the values the action passed to the response.
_BOT_METADATA_KEPT = ("utter_action", "template", "model_id", "assistant_id")


def _mask_bot(event: Dict[str, Any]) -> Dict[str, Any]:
    event = copy.deepcopy(event)
    event["text"] = MASK
    metadata = event.get("metadata") or {}
    for key in metadata:
        if key not in _BOT_METADATA_KEPT:
            metadata[key] = MASK  # the response's values (e.g. the triage's answer)
    return event


def mask_welfare(events: Iterable[Dict[str, Any]]) -> Iterator[Tuple[Dict[str, Any], bool]]:
    """Each event (Rasa's dict form), masked where it tells of a welfare situation, and whether it
    changed: the values of the welfare_* slots, the citizen's messages of a triage (intent
    welfare_guidance, or sent while welfare_form was active) and the assistant's answers to them."""
    active_loop: str | None = None
    in_triage = False
    for event in events:
        kind = event.get("event")
        masked = event
        if kind == "session_started":
            active_loop, in_triage = None, False
        elif kind == "active_loop":
            active_loop = event.get("name")
        elif kind == "user":
            in_triage = intent_of(event) == WELFARE_INTENT or active_loop == WELFARE_FORM
            if in_triage and event.get("text") != MASK:
                masked = _mask_user(event)
        elif kind == "bot" and in_triage and event.get("text") not in (None, MASK):
            masked = _mask_bot(event)
        elif kind == "slot" and is_welfare_slot(event.get("name")) and event.get("value") not in (None, MASK):
            masked = dict(event, value=MASK)
        yield masked, masked is not event


def mask_idle_triages(idle_before: datetime, url: str | None = None) -> int:
    """Mask the welfare details of conversations silent since `idle_before` (a triage left
    unfinished keeps its answers in the store until then); the number of events masked."""
    engine = _engine(tracker_store_url(url))
    if not _has_events(engine):
        return 0
    cutoff = idle_before.timestamp()
    with engine.begin() as connection:
        senders = list(
            connection.execute(
                select(EVENTS.c.sender_id)
                .where(EVENTS.c.type_name == "slot", EVENTS.c.data.like('%"welfare_%'))
                .group_by(EVENTS.c.sender_id)
            ).scalars()
        )
        masked = 0
        for sender_id in senders:
            rows = connection.execute(
                select(EVENTS.c.id, EVENTS.c.timestamp, EVENTS.c.data)
                .where(EVENTS.c.sender_id == sender_id)
                .order_by(EVENTS.c.id)
            ).all()
            if not rows or max((row.timestamp or 0.0) for row in rows) >= cutoff:
                continue
            events = [json.loads(row.data) for row in rows]
            for row, (data, changed) in zip(rows, mask_welfare(events), strict=True):
                if changed:
                    connection.execute(
                        update(EVENTS).where(EVENTS.c.id == row.id).values(data=json.dumps(data))
                    )
                    masked += 1
    return masked


def tells_of_welfare(events: Iterable[Dict[str, Any]]) -> bool:
    """Whether any event would be masked (a cheap check before touching the store)."""
    return any(changed for _, changed in mask_welfare(events))
