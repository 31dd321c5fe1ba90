"""How an alert reaches a subscriber: one adapter per channel, chosen by configuration.

- Messenger: Meta's Send API with the `notification_messages_token` of the person's opt-in
  (POST <graph>/me/messages, recipient {notification_messages_token}), the only way to write
  outside the 24-hour window for this purpose (see README, « Alertes »).
- E-mail: SMTP with STARTTLS and authentication when configured (smtplib, in worker threads,
  one kept-alive connection per thread).
- SMS: a generic JSON SMS gateway (POST <base>/messages, bearer token, body {to, from, text,
  reference}; 2xx {id}); the reference makes a retried request a no-op at the gateway.

Errors: `SendFailed(permanent=True)` (refused: do not retry) or `SendFailed(permanent=False)`
(timeout, connection, 5xx, 429: retry later). Logs: the channel and the outcome, never an
address. Plain Python, no Rasa.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Dict, Mapping, Protocol

from core.http import JsonClient, Rejected, Unavailable, timeout_from_env

logger = logging.getLogger(__name__)


class SendFailed(Exception):
    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    """One message to one subscriber."""

    reference: str  # « <alert id>-<subscription id> »: unique, no personal data
    address: str  # e-mail, +33 number, or PSID
    token: str | None  # Messenger notification_messages_token
    text: str  # the whole text (SMS, Messenger) or the e-mail body
    subject: str = ""  # e-mail only


class Sender(Protocol):
    channel: str

    async def send(self, message: Outgoing) -> None: ...

    async def close(self) -> None: ...


# ---- Messenger ---------------------------------------------------------------------------------


class MessengerSender:
    channel = "messenger"

    def __init__(self, graph_url: str, page_token: str, *, timeout_s: float | None = None) -> None:
        self.page_token = page_token
        self.client = JsonClient(
            "messenger",
            graph_url,
            logger=logger,
            timeout_env="GRU_MESSENGER_TIMEOUT",
            timeout_default=10.0,
            timeout_s=timeout_s,
            attempts=1,  # the broadcast retries with its own backoff and throttle
        )

    async def send(self, message: Outgoing) -> None:
        if not message.token:
            raise SendFailed("no_token", permanent=True)
        body = {
            "recipient": {"notification_messages_token": message.token},
            "message": {"text": message.text},
        }
        await post(self.client, "/me/messages", params={"access_token": self.page_token}, json_body=body)

    async def close(self) -> None:
        return None


async def post(client: JsonClient, path: str, **options) -> None:
    """One POST; a refusal (4xx) is permanent, anything else (timeout, 5xx, 429) temporary."""
    try:
        await client.request("POST", path, **options)
    except Rejected as exc:
        raise SendFailed(f"rejected {exc.status}", permanent=True) from None
    except Unavailable as exc:
        raise SendFailed(exc.kind, permanent=False) from None


# ---- SMS -----------------------------------------------------------------------------------------


class JsonSmsSender:
    channel = "sms"

    def __init__(
        self, base_url: str, api_token: str, sender_name: str, *, timeout_s: float | None = None
    ) -> None:
        self.sender_name = sender_name
        self.client = JsonClient(
            "sms",
            base_url,
            logger=logger,
            timeout_env="GRU_SMS_TIMEOUT",
            timeout_default=10.0,
            timeout_s=timeout_s,
            headers={"Authorization": f"Bearer {api_token}"},
            attempts=1,
        )

    async def send(self, message: Outgoing) -> None:
        body = {
            "to": message.address,
            "from": self.sender_name,
            "text": message.text,
            "reference": message.reference,
        }
        await post(self.client, "/messages", json_body=body, idempotent=True)

    async def close(self) -> None:
        return None


# ---- e-mail --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    sender: str = "alertes@localhost"
    sender_name: str = ""
    timeout_s: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SmtpSettings | None:
        host = env.get("GRU_SMTP_HOST")
        if not host:
            return None
        return cls(
            host=host,
            port=int(env.get("GRU_SMTP_PORT") or 587),
            user=env.get("GRU_SMTP_USER") or None,
            password=env.get("GRU_SMTP_PASSWORD") or None,
            starttls=(env.get("GRU_SMTP_STARTTLS") or "1") not in ("0", "false", "no"),
            sender=env.get("GRU_SMTP_FROM") or "alertes@localhost",
            sender_name=env.get("GRU_SMTP_FROM_NAME") or "",
            timeout_s=timeout_from_env("GRU_SMTP_TIMEOUT", 10.0, env),
        )


class SmtpSender:
    """SMTP in worker threads (smtplib blocks): each thread keeps its own connection."""

    channel = "email"

    def __init__(self, settings: SmtpSettings, *, workers: int = 2) -> None:
        self.settings = settings
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smtp")
        self.local = threading.local()
        self.connections: list = []
        self.lock = threading.Lock()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        if s.starttls:
            connection.starttls(context=ssl.create_default_context())
        if s.user:
            connection.login(s.user, s.password or "")
        with self.lock:
            self.connections.append(connection)
        return connection

    def _message(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = formataddr((self.settings.sender_name, self.settings.sender))
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Message-ID"] = make_msgid(idstring=message.reference.replace("-", "."))
        mail.set_content(message.text)
        return mail

    def send_now(self, message: Outgoing) -> None:
        """Blocking: one message on this thread's connection (opened or reopened as needed)."""
        mail = self._message(message)
        for attempt in (1, 2):
            connection = getattr(self.local, "connection", None)
            try:
                if connection is None:
                    connection = self.local.connection = self._connect()
                connection.send_message(mail)
                return
            except smtplib.SMTPServerDisconnected:
                self.local.connection = None  # the server closed an idle connection: once more
                if attempt == 2:
                    raise SendFailed("disconnected", permanent=False) from None
            except smtplib.SMTPRecipientsRefused:
                raise SendFailed("recipient refused", permanent=True) from None
            except smtplib.SMTPResponseException as exc:
                self.local.connection = None if exc.smtp_code == 421 else connection
                raise SendFailed(f"smtp {exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
            except (TimeoutError, OSError, smtplib.SMTPException) as exc:
                self.local.connection = None
                raise SendFailed(type(exc).__name__, permanent=False) from None

    async def send(self, message: Outgoing) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.pool, self.send_now, message)

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
                pass


def senders_from_env(env: Mapping[str, str] = os.environ) -> Dict[str, Sender]:
    """The adapters the environment configures (a channel without one cannot be delivered)."""
    senders: Dict[str, Sender] = {}
    page_token = env.get("FACEBOOK_PAGE_ACCESS_TOKEN")
    if page_token:
        graph = env.get("GRU_FACEBOOK_GRAPH_URL") or "https://graph.facebook.com/v19.0"
        senders["messenger"] = MessengerSender(graph, page_token)
    smtp = SmtpSettings.from_env(env)
    if smtp is not None:
        senders["email"] = SmtpSender(smtp)
    if env.get("GRU_SMS_URL") and env.get("GRU_SMS_TOKEN"):
        senders["sms"] = JsonSmsSender(
            env["GRU_SMS_URL"], env["GRU_SMS_TOKEN"], env.get("GRU_SMS_FROM") or "MAIRIE"
        )
    return senders
