"""Personal data out of the Rasa server's logs.

Rasa's and Sanic's own loggers carry what citizens wrote on their error paths (Rasa's
REST channel logs the message text when handling fails, debug lines quote messages and
conversation ids). `PrivacyFilter` rewrites such records: quoted texts and ids after
the keys that carry them, e-mail addresses, phone numbers, references (RDV-…, DEM-…,
SUB-…) and 10-character ANTS pre-application numbers.

`install()` applies the filter when a record is created rather than on handlers:
Rasa and Sanic (re)configure their handlers after the channels are imported, and a
filter on a logger would miss the records its children propagate. The channel
modules call it at import (Rasa imports them at start-up through credentials.yml).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Callable, Iterable

from core.masking import ANTS_ID, EMAIL, PHONE

REDACTED = "[masqué]"
LOGGER_PREFIXES = ("rasa", "sanic", "socketio", "engineio", "asyncio", "channels", "root")

# Keys whose value is a citizen's words or identifier, as Rasa's loggers write them:
# structlog JSON ("text": "…"), structlog console (text='…'), Python reprs ('text': '…').
_KEYS = (
    "text|message|user_message|user_text|response_text|parse_data_text|sender_id|sender|"
    "conversation_id|session_id|recipient_id|user_id|psid|metadata"
)
_JSON_VALUE = re.compile(rf'(?P<key>"(?:{_KEYS})"\s*:\s*)"(?:[^"\\]|\\.)*"')
_REPR_VALUE = re.compile(rf"(?P<key>'(?:{_KEYS})'\s*:\s*)(?P<q>['\"])(?:(?!(?P=q))[^\\]|\\.)*(?P=q)")
_KV_VALUE = re.compile(rf"(?P<key>\b(?:{_KEYS})=)(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s,)}}]+)")
# Rasa's debug phrases: "Received user message 'x'", "conversation ID 'x'", "sender 'x'".
_PHRASE_VALUE = re.compile(
    r"(?P<key>(?<!['\"])\b(?:user message|message|text|conversation id|conversation|sender id|sender|"
    r"session id|session)(?:\s*:\s*|\s+))(?P<q>['\"])(?:(?!(?P=q)).)*(?P=q)",
    re.IGNORECASE,
)
# E-mails, phones and ANTS numbers: the shapes of core/masking.py (the statistics mask the same).
# Any text after our prefixes: a log line may quote a partial or mistyped reference.
_REFERENCE = re.compile(r"\b(?:RDV|DEM|SUB)-[A-Za-z0-9][A-Za-z0-9-]*", re.IGNORECASE)


def _quoted(match: re.Match) -> str:
    quote = match.groupdict().get("q") or '"'
    return f"{match.group('key')}{quote}{REDACTED}{quote}"


def redact(text: str) -> str:
    """`text` with the personal data this module knows about replaced by « [masqué] »."""
    if not text:
        return text
    text = _JSON_VALUE.sub(lambda m: f'{m.group("key")}"{REDACTED}"', text)
    text = _REPR_VALUE.sub(_quoted, text)
    text = _KV_VALUE.sub(lambda m: f"{m.group('key')}{REDACTED}", text)
    text = _PHRASE_VALUE.sub(_quoted, text)
    for pattern in (EMAIL, PHONE, _REFERENCE, ANTS_ID):
        text = pattern.sub(REDACTED, text)
    return text


def describe_error(exc: BaseException) -> str:
    """An exception's type and where it was raised, without its message (which may quote data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}"


class PrivacyFilter(logging.Filter):
    """Rewrites the message, arguments and traceback of records from `prefixes` loggers."""

    def __init__(self, prefixes: Iterable[str] = LOGGER_PREFIXES) -> None:
        super().__init__()
        self.prefixes = tuple(prefixes)

    def applies_to(self, name: str) -> bool:
        return any(name == prefix or name.startswith(prefix + ".") for prefix in self.prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.applies_to(record.name) or getattr(record, "_gru_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: keep the template only
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._gru_redacted = True
        return True


_FILTER = PrivacyFilter()


def install() -> None:
    """Redact every record of Rasa's, Sanic's and the channels' loggers as it is created."""
    factory: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(factory, "_gru_privacy", False):
        return

    def private_record(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _FILTER.filter(record)
        return record

    private_record._gru_privacy = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(private_record)
