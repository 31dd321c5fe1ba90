"""One conversation's events (Rasa's tracker store, in order) → what the statistics keep of
each of its sessions. Pure functions: no database, unit-tested on plain event lists.

What is read from Rasa's events (their dict form, as the SQL tracker store keeps them):
- `session_started` starts a session; the slots Rasa copies into the new session right after
  it (carry_over_slots_to_new_session) are the old session's and are not counted again;
- `user`: a citizen's message: its time, channel, intent and confidence. Messages that no
  citizen typed are not counted: the intents the agent console triggers (text « EXTERNAL: … »)
  and the message a form hands back to the dialogue when the citizen changes subject
  (actions/forms.py `replay_latest_message`: the same message again, without a message id);
- a fallback: the intent `nlu_fallback`, or the action after the message is
  `action_handle_fallback` / `action_default_fallback` (the dialogue policies were unsure);
- `active_loop` with a name starts a form, with none ends it; the slot `form_outcome`
  (actions/forms.py) says why it ended early, `requested_slot` which question was asked;
- `action_human_handoff`: the citizen asked for an agent;
- the slots of the satisfaction question (actions/satisfaction.py): `satisfaction_asked`
  (the topic of the answer it followed), `satisfaction` (yes/no), `satisfaction_comment`.
The texts kept (questions not understood, rated unhelpful, comments) are masked at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Dict, Iterable, List, Tuple
from zoneinfo import ZoneInfo

from analytics.labels import FALLBACK_INTENT, SATISFACTION_INTENTS, SMALL_TALK, topic_of
from analytics.models import MAX_TEXT
from core.masking import mask

FALLBACK_ACTIONS = frozenset({"action_handle_fallback", "action_default_fallback"})
# Actions Rasa runs by itself around every message: they tell nothing of the answer.
SILENT_ACTIONS = frozenset({"action_listen", "action_extract_slots", "action_session_start"})
HANDOFF_ACTION = "action_human_handoff"
OUTCOME_SLOT = "form_outcome"
ASKED_SLOT = "satisfaction_asked"
RATING_SLOT = "satisfaction"
COMMENT_SLOT = "satisfaction_comment"
EXTERNAL_PREFIX = "EXTERNAL: "
# Messages that are no question: their text is not a candidate for the unhelpful list.
NOT_A_REQUEST = SMALL_TALK | SATISFACTION_INTENTS | {FALLBACK_INTENT}


@dataclass
class Message:
    at: datetime
    intent: str
    topic: str
    fallback: bool = False


@dataclass
class FormRun:
    form: str
    started_at: datetime
    outcome: str = "open"
    question: str | None = None


@dataclass
class Unanswered:
    at: datetime
    kind: str  # fallback | unhelpful | comment
    text: str  # masked
    intent: str | None = None
    confidence: float | None = None


@dataclass
class Session:
    source_event_id: int
    started_at: datetime
    ended_at: datetime
    channel: str = "unknown"
    topic: str | None = None
    handoff: bool = False
    satisfaction_topic: str | None = None
    satisfaction: str | None = None
    messages: List[Message] = field(default_factory=list)
    forms: List[FormRun] = field(default_factory=list)
    unanswered: List[Unanswered] = field(default_factory=list)

    @property
    def turns(self) -> int:
        return len(self.messages)

    @property
    def fallbacks(self) -> int:
        return sum(1 for m in self.messages if m.fallback)


def utc(timestamp: float | None) -> datetime:
    """A tracker timestamp (epoch seconds) as naive UTC."""
    return datetime.fromtimestamp(timestamp or 0.0, tz=timezone.utc).replace(tzinfo=None)


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=timezone.utc).astimezone(tz)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return local(moment, tz).date()


def _clean(text: str | None) -> str:
    return mask(text)[:MAX_TEXT]


def _closest_intent(event: Dict[str, Any]) -> Tuple[str | None, float | None]:
    """The best intent other than the fallback (what the NLU hesitated on)."""
    parse = event.get("parse_data") or {}
    for candidate in parse.get("intent_ranking") or [parse.get("intent") or {}]:
        name = candidate.get("name")
        if name and name != FALLBACK_INTENT:
            return name, candidate.get("confidence")
    return None, None


def _typed(event: Dict[str, Any]) -> bool:
    """A message a citizen sent (not the console's trigger, not a form's replay)."""
    text = event.get("text") or ""
    if text.startswith(EXTERNAL_PREFIX):
        return False
    return bool(event.get("message_id") or (event.get("parse_data") or {}).get("message_id"))


class _Reader:
    """Reads one session's events in order (see the module's docstring)."""

    def __init__(self, source_event_id: int, at: datetime) -> None:
        self.session = Session(source_event_id=source_event_id, started_at=at, ended_at=at)
        self.carried_over = False  # between session_started and the first action: copied slots
        self.form: FormRun | None = None
        self.outcome: str | None = None
        self.last: Message | None = None  # the latest message, until the next one
        self.last_event: Dict[str, Any] | None = None
        self.awaiting_action = False  # the first action after a message tells a core fallback
        self.request: Tuple[Dict[str, Any], Message] | None = None  # the latest question asked

    def read(self, event: Dict[str, Any], at: datetime) -> None:
        self.session.ended_at = max(self.session.ended_at, at)
        kind = event.get("event")
        if kind == "session_started":
            self.carried_over = True
            return
        if kind == "action":
            self._action(event.get("name"))
            self.carried_over = False
        elif kind == "user":
            self._user(event, at)
        elif kind == "active_loop":
            self._loop(event.get("name"), at)
        elif kind == "slot" and not self.carried_over:
            self._slot(event.get("name"), event.get("value"), at)

    def _action(self, name: str | None) -> None:
        if name in SILENT_ACTIONS:
            return
        if self.awaiting_action and self.last is not None:
            self.awaiting_action = False
            if name in FALLBACK_ACTIONS and not self.last.fallback:
                self.last.fallback = True
                self._unanswered_fallback()
        if name == HANDOFF_ACTION:
            self.session.handoff = True

    def _user(self, event: Dict[str, Any], at: datetime) -> None:
        if not _typed(event):
            return
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or FALLBACK_INTENT
        message = Message(at=at, intent=intent, topic=topic_of(intent), fallback=intent == FALLBACK_INTENT)
        self.session.messages.append(message)
        if self.session.channel == "unknown" and event.get("input_channel"):
            self.session.channel = str(event["input_channel"])[:40]
        if self.session.topic is None and intent not in NOT_A_REQUEST:
            self.session.topic = message.topic
        self.last, self.last_event, self.awaiting_action = message, event, True
        text = event.get("text") or ""
        if self.form is None and intent not in NOT_A_REQUEST and not text.startswith("/"):
            self.request = (event, message)
        if message.fallback:
            self._unanswered_fallback()

    def _unanswered_fallback(self) -> None:
        text = (self.last_event or {}).get("text") or ""
        if not text or text.startswith("/") or self.last is None:
            return  # a button's payload is no question
        intent, confidence = _closest_intent(self.last_event or {})
        self.session.unanswered.append(Unanswered(self.last.at, "fallback", _clean(text), intent, confidence))

    def _loop(self, name: str | None, at: datetime) -> None:
        if name:
            if self.form is not None and self.form.form != name:
                self._end_form("switched")
            if self.form is None:
                self.form = FormRun(form=name, started_at=at)
                self.session.forms.append(self.form)
                self.outcome = None
            return
        if self.form is not None:
            self._end_form(self.outcome or "completed")

    def _end_form(self, outcome: str) -> None:
        if self.form is not None:
            self.form.outcome = outcome
            if outcome == "completed":
                self.form.question = None
        self.form, self.outcome = None, None

    def _slot(self, name: str | None, value: Any, at: datetime) -> None:
        if name == "requested_slot" and value and self.form is not None:
            self.form.question = str(value)[:60]
        elif name == OUTCOME_SLOT and value:
            self.outcome = str(value)
        elif name == ASKED_SLOT and value:
            self.session.satisfaction_topic = str(value)[:40]
        elif name == RATING_SLOT and value in ("yes", "no"):
            self.session.satisfaction = value
            if value == "no" and self.request is not None:
                event, message = self.request
                self.session.unanswered.append(
                    Unanswered(at, "unhelpful", _clean(event.get("text")), message.intent, None)
                )
        elif name == COMMENT_SLOT and isinstance(value, str) and value.strip():
            self.session.unanswered.append(Unanswered(at, "comment", _clean(value)))

    def finish(self, latest: bool) -> Session:
        """The session, its open form « abandoned » unless it is the conversation's latest."""
        if self.form is not None:
            self.form.outcome = "open" if latest else "abandoned"
        return self.session


def split_sessions(events: Iterable[Tuple[int, Dict[str, Any]]]) -> List[Session]:
    """The sessions of one conversation's events (event id, Rasa's dict), oldest first. Events
    before the first `session_started` make a session of their own when they hold messages."""
    readers: List[_Reader] = []
    for event_id, event in events:
        at = utc(event.get("timestamp"))
        if not readers or event.get("event") == "session_started":
            readers.append(_Reader(event_id, at))
        readers[-1].read(event, at)
    last = len(readers) - 1
    sessions = [reader.finish(latest=index == last) for index, reader in enumerate(readers)]
    return [session for session in sessions if session.messages]
