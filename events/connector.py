"""The events connector: what every adapter answers, and the choice of adapter.

An adapter implements :class:`EventsConnector`: `search(query, size, cursor)` returns a page of
:class:`Event` (the next occurrence of each event inside the query's window, earliest first) and
an opaque cursor for the next page. `events.local` reads the territory's content file (the
embedded default, demo events that never go stale); `events.openagenda` reads an OpenAgenda agenda
(API v2). `connector_from_env` picks one: GRU_EVENTS_ADAPTER=local (default, GRU_EVENTS_FILE) or
openagenda (GRU_OPENAGENDA_AGENDA_UID, GRU_OPENAGENDA_KEY, GRU_OPENAGENDA_URL,
GRU_OPENAGENDA_PUBLIC_URL, GRU_OPENAGENDA_TIMEOUT).

Plain Python, no Rasa. Errors: :class:`EventsUnavailable` (down, slow, refused key, malformed
answer); its `kind` is for the operators' log line, never shown to citizens.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, Tuple, runtime_checkable

from core.text import fold

PAGE_SIZE = 5  # events shown at once (the brief: « up to five »)
MAX_CURSOR = 2000  # characters of a cursor kept in a slot: a longer one is not ours

# « Gratuit », « entrée libre », « libre participation », « 0 € »: an event costs nothing.
_FREE = re.compile(
    r"\b(gratuit|gratuite|gratuits|gratuites|entree libre|acces libre|libre participation|sans frais)\b"
    r"|^0 ?(€|eur)"
)
# Children's events, from a title, keywords or conditions.
_CHILDREN = re.compile(
    r"\b(enfant|enfants|jeune public|jeunesse|famille|familles|familial|familiale|"
    r"des \d+ ans|a partir de \d+ ans|bebe|bebes|kids|ado|ados)\b"
)


@dataclass(frozen=True)
class Event:
    """One occurrence of an event, as the assistant shows it."""

    uid: str
    title: str
    begin: datetime  # aware, in the territory's time zone
    end: datetime | None
    place: str | None = None  # « Place de la Mairie »
    address: str | None = None
    city: str | None = None
    price: str | None = None  # « Gratuit », « 5 € », « 8 € / 5 € (réduit) »: as the agenda says it
    free: bool = False
    for_children: bool = False
    categories: Tuple[str, ...] = ()
    image_url: str | None = None
    link: str | None = None  # « Plus d'infos »
    registration: str | None = None  # a registration link, when there is one


@dataclass(frozen=True)
class EventQuery:
    """What the citizen asked for. No window: upcoming (and current) events from now."""

    start: datetime | None = None  # aware; events beginning at or after it
    end: datetime | None = None  # aware; events beginning at or before it
    categories: Tuple[str, ...] = ()  # category keys of the content file (« concert »)
    search: Tuple[str, ...] = ()  # words searched in titles (from the content's categories)
    free_only: bool = False
    children: bool = False

    @property
    def is_open(self) -> bool:
        """True for « the next events » (no window, no filter)."""
        return not (
            self.start or self.end or self.categories or self.search or self.free_only or self.children
        )

    def to_slot(self) -> dict:
        """A JSON-able form kept in the conversation, for « D'autres événements »."""
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "categories": list(self.categories),
            "search": list(self.search),
            "free_only": self.free_only,
            "children": self.children,
        }

    @classmethod
    def from_slot(cls, value: object) -> EventQuery | None:
        """The query kept by `to_slot`; None when the value is not one (an old or odd slot)."""
        if not isinstance(value, dict):
            return None
        try:
            start = datetime.fromisoformat(value["start"]) if value.get("start") else None
            end = datetime.fromisoformat(value["end"]) if value.get("end") else None
            categories = tuple(str(c)[:40] for c in value.get("categories") or ())[:5]
            search = tuple(str(s)[:40] for s in value.get("search") or ())[:5]
        except (KeyError, TypeError, ValueError):
            return None
        if (start and start.tzinfo is None) or (end and end.tzinfo is None):
            return None
        return cls(start, end, categories, search, bool(value.get("free_only")), bool(value.get("children")))


@dataclass
class EventPage:
    events: list = field(default_factory=list)  # of Event, earliest first
    cursor: str | None = None  # pass it back for the next page; None: this was the last one
    total: int | None = None  # events matching, when the source says it


class EventsUnavailable(Exception):
    """The agenda cannot be read now. `kind`: down | timeout | rate_limited | unauthorized | invalid."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@runtime_checkable
class EventsConnector(Protocol):
    async def search(self, query: EventQuery, size: int = PAGE_SIZE, cursor: str | None = None) -> EventPage:
        """The events matching `query`, `size` at most, from `cursor` (None: the first page)."""
        ...


def looks_free(*texts: str | None) -> bool:
    return any(_FREE.search(fold(t)) for t in texts if t)


def looks_for_children(*texts: str | None) -> bool:
    return any(_CHILDREN.search(fold(t)) for t in texts if t)


def connector_from_env(env: Mapping[str, str] = os.environ) -> EventsConnector:
    """The adapter chosen by GRU_EVENTS_ADAPTER: local (default) or openagenda."""
    kind = (env.get("GRU_EVENTS_ADAPTER") or "").strip().lower() or "local"
    if kind == "local":
        from events.local import LocalEventsAdapter

        return LocalEventsAdapter()
    if kind != "openagenda":
        raise ValueError(
            f"GRU_EVENTS_ADAPTER must be 'local' or 'openagenda'; got {env.get('GRU_EVENTS_ADAPTER')!r}"
        )
    from events.openagenda import OpenAgendaAdapter

    uid = (env.get("GRU_OPENAGENDA_AGENDA_UID") or "").strip()
    key = (env.get("GRU_OPENAGENDA_KEY") or "").strip()
    if not uid or not key:
        raise ValueError(
            "GRU_EVENTS_ADAPTER=openagenda needs GRU_OPENAGENDA_AGENDA_UID and GRU_OPENAGENDA_KEY"
        )
    return OpenAgendaAdapter(
        uid,
        key,
        base_url=(env.get("GRU_OPENAGENDA_URL") or "").strip() or None,
        public_url=(env.get("GRU_OPENAGENDA_PUBLIC_URL") or "").strip() or None,
    )
