"""The one SMTP client of the assistant: alerts (alerts/senders.py), reports forwarded to a service
(reports/forward.py) and appointment reminders (booking/reminders.py) all send through it.

Settings, from the environment (README, « Rappels » and « Signalements »):
GRU_SMTP_HOST (no host: no e-mail), GRU_SMTP_PORT (587), GRU_SMTP_STARTTLS (true/false, default
true), GRU_SMTP_USER / GRU_SMTP_PASSWORD (login when the server asks for one), GRU_SMTP_FROM
(default assistant@<host>), GRU_SMTP_FROM_NAME (the sender's name, e.g. « Mairie de Villebrune »),
GRU_SMTP_TIMEOUT (seconds, default 10).

- `compose()` builds a French-safe message: UTF-8 body, RFC 2047 encoded subject and names
  (« Rappel : votre rendez-vous à la mairie »), a plain-text part and an optional HTML
  alternative, attachments.
- `SmtpSender` sends on kept-alive connections, one per worker thread (smtplib blocks: never on
  the event loop); `deliver()` sends one message on a connection of its own (blocking).
- Errors: `SendFailed` (core/outbound.py) with a kind -- recipient_refused, rejected (SMTP 5xx):
  permanent; auth_refused (a password may be fixed meanwhile), server_error (SMTP 4xx), timeout,
  connection, disconnected: temporary. Logs carry the kind, never an address.
smtplib and email are the standard library's; aiosmtplib would add a dependency for what a thread
pool does here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import ssl
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid

from core.http import timeout_from_env
from core.outbound import Outgoing, SendFailed

__all__ = ["Attachment", "SendFailed", "SmtpSender", "SmtpSettings", "compose", "deliver"]

logger = logging.getLogger(__name__)

_TRUE = ("true", "1", "yes", "oui")
_FALSE = ("false", "0", "no", "non")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    sender: str = ""  # empty: assistant@<host>
    sender_name: str = ""
    timeout_s: float = 10.0

    @property
    def from_address(self) -> str:
        return self.sender or f"assistant@{self.host}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SmtpSettings | None:
        """None when GRU_SMTP_HOST is unset; ValueError (in English, for operators) when a value
        cannot be used."""
        host = (env.get("GRU_SMTP_HOST") or "").strip()
        if not host:
            return None
        raw_port = (env.get("GRU_SMTP_PORT") or "587").strip()
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise ValueError(f"GRU_SMTP_PORT must be a port number; got {raw_port!r}")
        starttls = (env.get("GRU_SMTP_STARTTLS") or "true").strip().lower()
        if starttls not in _TRUE + _FALSE:
            raise ValueError(f"GRU_SMTP_STARTTLS must be true or false; got {starttls!r}")
        return cls(
            host=host,
            port=int(raw_port),
            user=(env.get("GRU_SMTP_USER") or "").strip() or None,
            password=env.get("GRU_SMTP_PASSWORD") or None,
            starttls=starttls in _TRUE,
            sender=(env.get("GRU_SMTP_FROM") or "").strip(),
            sender_name=(env.get("GRU_SMTP_FROM_NAME") or "").strip(),
            timeout_s=timeout_from_env("GRU_SMTP_TIMEOUT", 10.0, env),
        )


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # « image/png »
    content: bytes


def compose(
    settings: SmtpSettings,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Iterable[Attachment] = (),
    reference: str = "",
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A message from the configured sender. `reference` (no personal data) goes into the
    Message-ID, so that a message sent again keeps its id; extra `headers` (List-Unsubscribe…)."""
    message = EmailMessage()
    sender = settings.from_address
    local, _, domain = sender.partition("@")
    message["From"] = Address(settings.sender_name, local, domain) if settings.sender_name else sender
    message["To"] = to
    message["Subject"] = subject
    idstring = "".join(c if c.isalnum() else "." for c in reference) or None
    message["Message-ID"] = make_msgid(idstring=idstring, domain=domain or None)
    for name, value in (headers or {}).items():
        message[name] = value
    # quoted-printable: 7-bit clean whatever the accents, for any relay (no 8BITMIME needed)
    message.set_content(text, cte="quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html", cte="quoted-printable")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
    try:
        if settings.starttls:
            connection.starttls(context=ssl.create_default_context())
        if settings.user:
            connection.login(settings.user, settings.password or "")
    except BaseException:
        connection.close()
        raise
    return connection


def classify(exc: BaseException) -> SendFailed:
    """The SendFailed of an smtplib or socket error (order matters: subclasses first)."""
    if isinstance(exc, SendFailed):
        return exc
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SendFailed("auth_refused", permanent=False)  # a configuration to fix: kept, retried
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return SendFailed("recipient_refused", permanent=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendFailed("disconnected", permanent=False)
    if isinstance(exc, smtplib.SMTPResponseException):
        if exc.smtp_code >= 500:
            return SendFailed("rejected", permanent=True)
        return SendFailed("server_error", permanent=False)
    if isinstance(exc, (TimeoutError, ssl.SSLError)) and not isinstance(exc, ConnectionError):
        return SendFailed("timeout" if isinstance(exc, TimeoutError) else "tls", permanent=False)
    return SendFailed("connection", permanent=False)


def deliver(settings: SmtpSettings, message: EmailMessage) -> None:
    """Blocking: one message on a connection of its own."""
    try:
        connection = _connect(settings)
        try:
            connection.send_message(message)
        finally:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()
    except (OSError, smtplib.SMTPException) as exc:
        failure = classify(exc)
        logger.warning("e-mail not sent: %s", failure.reason)
        raise failure from None


class SmtpSender:
    """Sends `Outgoing` messages (alerts, reminders) on kept-alive connections, one per worker
    thread, opened again when the server closed an idle one."""

    channel = "email"

    def __init__(self, settings: SmtpSettings, *, workers: int = 2) -> None:
        self.settings = settings
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smtp")
        self.local = threading.local()
        self.connections: list = []
        self.lock = threading.Lock()

    def _connection(self) -> smtplib.SMTP:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = _connect(self.settings)
            with self.lock:
                self.connections.append(connection)
        return connection

    def _drop(self) -> None:
        connection, self.local.connection = getattr(self.local, "connection", None), None
        if connection is not None:
            with self.lock:
                if connection in self.connections:
                    self.connections.remove(connection)
            connection.close()

    def message_of(self, message: Outgoing) -> EmailMessage:
        return compose(
            self.settings,
            to=message.address,
            subject=message.subject,
            text=message.text,
            html=message.html,
            reference=message.reference,
        )

    def send_message_now(self, mail: EmailMessage) -> None:
        """Blocking: one composed message on this thread's connection."""
        for attempt in (1, 2):
            try:
                self._connection().send_message(mail)
                return
            except smtplib.SMTPServerDisconnected:
                self._drop()  # the server closed an idle connection: once more on a new one
                if attempt == 2:
                    raise SendFailed("disconnected", permanent=False) from None
            except smtplib.SMTPRecipientsRefused:
                raise SendFailed("recipient_refused", permanent=True) from None
            except (OSError, smtplib.SMTPException) as exc:
                failure = classify(exc)
                if not isinstance(exc, smtplib.SMTPResponseException) or exc.smtp_code == 421:
                    self._drop()
                raise failure from None

    def send_now(self, message: Outgoing) -> None:
        self.send_message_now(self.message_of(message))

    async def send(self, message: Outgoing) -> None:
        await asyncio.get_running_loop().run_in_executor(self.pool, self.send_now, message)

    async def send_message(self, mail: EmailMessage) -> None:
        await asyncio.get_running_loop().run_in_executor(self.pool, self.send_message_now, mail)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._close_all)
        self.pool.shutdown(wait=False)

    def _close_all(self) -> None:
        with self.lock:
            connections, self.connections = self.connections, []
        for connection in connections:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()
