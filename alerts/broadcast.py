"""The operator's broadcast: preview, confirmation, delivery, report.

1. `preview` stores the alert (status « preview ») and counts its recipients per channel.
   The same alert asked again (topic, sectors, text and link) while it is still active is
   not a new one: the preview names it and counts only the subscribers who have not had it,
   so re-running the operator's command never sends it twice.
2. `confirm` makes it active for its validity (shown at the welcome, alerts.notices) and
   writes one `alert_deliveries` row per recipient — the unique (alert, subscription) key.
3. `deliver` sends the pending rows through each channel's adapter, throttled to the
   channel's rate (territory/demo/alerts.yml), with retries and exponential backoff for
   temporary failures. A row is marked « sending » before the call: after a crash, such rows
   become « interrupted » and are never sent again — one alert reaches a subscriber at most
   once, however often the command is re-run. Website subscribers see it at their next visit.
4. `report` counts sent / failed per channel.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Dict, List, Mapping, Sequence, Tuple
from urllib.parse import urlencode

from sqlalchemy import select, update

from alerts.config import CHANNELS, TOPICS, AlertsConfig, load_alerts_config
from alerts.models import Alert, Delivery, Subscription
from alerts.senders import Outgoing, Sender, SendFailed
from alerts.signing import make_token
from alerts.subscriptions import MESSENGER_FREQUENCIES, local_now
from core.db import session_scope
from core.http import public_url

logger = logging.getLogger(__name__)

MAX_TEXT = 600  # an SMS of 4 parts at most, with the topic and STOP
MAX_LINK = 500
BATCH = 200


class BroadcastError(ValueError):
    """An alert that cannot be sent (French message for the operator)."""


@dataclass(frozen=True)
class Preview:
    alert_id: str
    topic: str
    sectors: Tuple[str, ...]
    text: str
    link: str | None
    recipients: Dict[str, int]  # channel → subscribers who will receive it
    samples: Dict[str, str]  # channel → the exact text that will be sent
    confirmed_at: datetime | None = None  # set: the same alert, already confirmed and still active


@dataclass
class Report:
    alert_id: str
    counts: Dict[str, Dict[str, int]] = field(default_factory=dict)  # channel → status → n

    def total(self, status: str) -> int:
        return sum(by_status.get(status, 0) for by_status in self.counts.values())


def _check(config: AlertsConfig, topic: str, sectors: Sequence[str], text: str, link: str | None) -> None:
    if topic not in TOPICS:
        raise BroadcastError(f"Sujet « {topic} » inconnu. Sujets possibles : {', '.join(TOPICS)}.")
    unknown = [s for s in sectors if s not in config.sectors]
    if unknown:
        raise BroadcastError(
            f"Secteur « {unknown[0]} » inconnu. Secteurs possibles : {', '.join(config.sectors)}."
        )
    if not text.strip() or len(text) > MAX_TEXT:
        raise BroadcastError(f"Le texte de l'alerte doit faire entre 1 et {MAX_TEXT} caractères.")
    if link and (len(link) > MAX_LINK or not link.startswith(("https://", "http://"))):
        raise BroadcastError("Le lien doit commencer par https:// (500 caractères au plus).")


def _matches(row: Subscription, topic: str, sectors: Tuple[str, ...]) -> bool:
    if topic not in row.topic_list:
        return False
    return not sectors or row.sector is None or row.sector in sectors


def _recipients(session, topic: str, sectors: Tuple[str, ...]) -> List[Subscription]:
    rows = session.execute(
        select(Subscription).where(Subscription.status == "active", Subscription.topics.contains(topic))
    ).scalars()
    return [row for row in rows if _matches(row, topic, sectors)]


def _same_active_alert(
    session, topic: str, sectors: Tuple[str, ...], text: str, link: str | None, now: datetime
) -> Alert | None:
    """The confirmed alert still active with this topic, these sectors, text and link."""
    rows = session.execute(
        select(Alert).where(
            Alert.status == "confirmed",
            Alert.topic == topic,
            Alert.text == text,
            Alert.ends_at > now,
            Alert.link.is_(None) if link is None else Alert.link == link,
        )
    ).scalars()
    wanted = set(sectors)
    return next((row for row in rows if {s for s in row.sectors.split(",") if s} == wanted), None)


def compose(
    config: AlertsConfig, channel: str, topic: str, text: str, link: str | None, url: str = ""
) -> Tuple[str, str]:
    """(subject, body) of the alert on `channel`, from the messages of the alerts file."""
    label = config.topics[topic].label
    body = config.messages.alert.format(topic=label, text=text.strip(), link=link or "", url=url)
    if link:
        body += "\n" + config.messages.link.format(topic=label, text="", link=link, url=url)
    if channel == "sms":
        body += "\n" + config.messages.sms_stop
    subject = ""
    if channel == "email":
        subject = config.messages.email_subject.format(topic=label, text="", link="", url="")
        body += "\n\n" + config.messages.email_footer.format(topic=label, text="", link="", url=url)
    return subject, body


def preview(
    topic: str,
    sectors: Sequence[str],
    text: str,
    link: str | None = None,
    *,
    config: AlertsConfig | None = None,
    now: datetime | None = None,
    url: str | None = None,
) -> Preview:
    config = config or load_alerts_config()
    sectors = tuple(dict.fromkeys(s.strip() for s in sectors if s.strip()))
    link = (link or "").strip() or None
    _check(config, topic, sectors, text, link)
    now = now or local_now()
    with session_scope(url, write=True) as session:
        same = _same_active_alert(session, topic, sectors, text.strip(), link, now)
        if same is not None:  # a re-run: only the subscribers it has not reached yet
            alert_id, confirmed_at = same.id, same.starts_at
            known = set(
                session.execute(
                    select(Delivery.subscription_id).where(Delivery.alert_id == alert_id)
                ).scalars()
            )
        else:
            alert_id, confirmed_at, known = secrets.token_hex(16), None, set()
            session.add(
                Alert(
                    id=alert_id,
                    topic=topic,
                    sectors=",".join(sectors),
                    text=text.strip(),
                    link=link,
                    status="preview",
                    created_at=now,
                )
            )
        counts = Counter(row.channel for row in _recipients(session, topic, sectors) if row.id not in known)
    samples = {
        channel: compose(config, channel, topic, text, link, "…")[1]
        for channel in CHANNELS
        if channel != "web"
    }
    return Preview(
        alert_id,
        topic,
        sectors,
        text.strip(),
        link,
        {c: counts.get(c, 0) for c in CHANNELS},
        samples,
        confirmed_at,
    )


def confirm(
    alert_id: str,
    *,
    hours: int | None = None,
    config: AlertsConfig | None = None,
    now: datetime | None = None,
    url: str | None = None,
) -> int:
    """Activate the alert and write its pending deliveries (the ones missing only: re-running
    adds none twice). Returns the number of deliveries the alert has."""
    config = config or load_alerts_config()
    now = now or local_now()
    with session_scope(url, write=True) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise BroadcastError("Aperçu inconnu : refaites l'aperçu de l'alerte.")
        if alert.status == "preview":
            alert.status, alert.starts_at = "confirmed", now
            alert.ends_at = now + timedelta(hours=hours or config.default_validity_hours)
        sectors = tuple(s for s in alert.sectors.split(",") if s)
        known = set(
            session.execute(select(Delivery.subscription_id).where(Delivery.alert_id == alert_id)).scalars()
        )
        for row in _recipients(session, alert.topic, sectors):
            if row.id not in known:
                session.add(
                    Delivery(
                        alert_id=alert_id,
                        subscription_id=row.id,
                        channel=row.channel,
                        status="pending",
                        attempts=0,
                        updated_at=now,
                    )  # fmt: skip
                )
                known.add(row.id)
        return len(known)


# ---- delivery ------------------------------------------------------------------------------------


class Throttle:
    """At most `rate` starts per second (a channel's limit), shared by its concurrent sends."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_at = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            start = max(now, self.next_at)
            self.next_at = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


@dataclass(frozen=True)
class _Claimed:
    delivery_id: int
    subscription_id: int
    address: str
    token: str | None
    skip: str | None  # a reason not to send (Messenger token expired, frequency reached)


def _interrupt_stale(alert_id: str, url: str | None) -> int:
    """Rows « sending » left by a run that stopped midway: maybe sent, so never again."""
    with session_scope(url, write=True) as session:
        return (
            session.execute(
                update(Delivery)
                .where(Delivery.alert_id == alert_id, Delivery.status == "sending")
                .values(status="interrupted", detail="interrupted", updated_at=local_now())
            ).rowcount
            or 0
        )


def _claim(alert_id: str, channel: str, size: int, url: str | None) -> List[_Claimed]:
    """Mark up to `size` pending rows of a channel « sending » (one transaction) and return them.

    Two deliveries of one alert may run at once (a re-run while the first still sends, a
    confirmation clicked twice): on PostgreSQL the rows are locked as they are read and rows
    another run holds are skipped, so no row is claimed twice; SQLite's write transactions
    (BEGIN IMMEDIATE) already run one after the other."""
    now = local_now()
    with session_scope(url, write=True) as session:
        rows = session.execute(
            select(Delivery, Subscription)
            .join(Subscription, Subscription.id == Delivery.subscription_id)
            .where(Delivery.alert_id == alert_id, Delivery.channel == channel, Delivery.status == "pending")
            .order_by(Delivery.id)
            .limit(size)
            .with_for_update(of=Delivery, skip_locked=True)
        ).all()
        claimed = []
        for delivery, sub in rows:
            delivery.status, delivery.updated_at = "sending", now
            claimed.append(_Claimed(delivery.id, sub.id, sub.address, sub.token, _messenger_skip(sub, now)))
        return claimed


def _messenger_skip(sub: Subscription, now: datetime) -> str | None:
    if sub.channel != "messenger":
        return None
    if not sub.token:
        return "no_token"
    if sub.token_expires_at is not None and sub.token_expires_at <= now:
        return "token_expired"
    period = MESSENGER_FREQUENCIES.get(sub.token_frequency or "")
    if period and sub.last_sent_at is not None and now - sub.last_sent_at < period:
        return "frequency"  # Meta's opt-in allows one message per period
    return None


def _finish(results: List[Tuple[_Claimed, str, str | None, int]], channel: str, url: str | None) -> None:
    now = local_now()
    with session_scope(url, write=True) as session:
        for claimed, status, detail, attempts in results:
            session.execute(
                update(Delivery)
                .where(Delivery.id == claimed.delivery_id)
                .values(status=status, detail=detail, attempts=attempts, updated_at=now)
            )
        sent = [c.subscription_id for c, status, _, _ in results if status == "sent"]
        if channel == "messenger" and sent:
            session.execute(update(Subscription).where(Subscription.id.in_(sent)).values(last_sent_at=now))


def unsubscribe_link(subscription_id: int) -> str:
    token = make_token("unsubscribe", subscription_id, timedelta(days=400))
    return f"{public_url()}/webhooks/alerts/unsubscribe?{urlencode({'token': token})}"


async def _send_one(
    sender: Sender, throttle: Throttle, message: Outgoing, attempts: int, backoff_s: float
) -> Tuple[str, str | None, int]:
    for attempt in range(1, attempts + 1):
        await throttle.wait()
        try:
            await sender.send(message)
            return "sent", None, attempt
        except SendFailed as exc:
            if exc.permanent or attempt == attempts:
                return "failed", exc.reason[:40], attempt
            await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
    return "failed", "attempts", attempts  # pragma: no cover - the loop returns


async def _deliver_channel(
    alert: Alert,
    channel: str,
    sender: Sender | None,
    rate: float,
    config: AlertsConfig,
    url: str | None,
    *,
    concurrency: int,
    attempts: int,
    backoff_s: float,
) -> None:
    throttle = Throttle(rate)
    gate = asyncio.Semaphore(concurrency)
    while True:
        batch = await asyncio.to_thread(_claim, alert.id, channel, BATCH, url)
        if not batch:
            return
        if channel == "web":  # shown at the next visit (the welcome lists active alerts)
            results = [(c, "sent", "next_visit", 0) for c in batch]
            await asyncio.to_thread(_finish, results, channel, url)
            continue

        async def one(claimed: _Claimed):
            if sender is None:
                return claimed, "failed", "no_adapter", 0
            if claimed.skip:
                return claimed, "failed", claimed.skip, 0
            link = unsubscribe_link(claimed.subscription_id) if channel == "email" else ""
            subject, body = compose(config, channel, alert.topic, alert.text, alert.link, link)
            message = Outgoing(
                f"{alert.id}-{claimed.subscription_id}", claimed.address, claimed.token, body, subject
            )
            async with gate:
                status, detail, tries = await _send_one(sender, throttle, message, attempts, backoff_s)
            return claimed, status, detail, tries

        results = await asyncio.gather(*(one(c) for c in batch))
        await asyncio.to_thread(_finish, list(results), channel, url)


async def deliver(
    alert_id: str,
    senders: Mapping[str, Sender],
    *,
    rates: Mapping[str, float] | None = None,
    config: AlertsConfig | None = None,
    url: str | None = None,
    concurrency: int = 8,
    attempts: int = 3,
    backoff_s: float = 0.5,
) -> Report:
    """Send every pending delivery of a confirmed alert; return the report."""
    config = config or load_alerts_config()
    rates = {**config.channels, **(rates or {})}
    with session_scope(url) as session:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.status != "confirmed":
            raise BroadcastError("Alerte inconnue ou pas encore confirmée.")
    interrupted = await asyncio.to_thread(_interrupt_stale, alert_id, url)
    if interrupted:
        logger.warning(
            "alert %s: %d deliveries interrupted by an earlier run, not sent again", alert_id, interrupted
        )
    await asyncio.gather(
        *(
            _deliver_channel(
                alert,
                channel,
                senders.get(channel),
                float(rates.get(channel, 1000)),
                config,
                url,
                concurrency=concurrency,
                attempts=attempts,
                backoff_s=backoff_s,
            )  # fmt: skip
            for channel in CHANNELS
        )
    )
    result = report(alert_id, url=url)
    logger.info(
        "alert %s delivered: %d sent, %d failed", alert_id, result.total("sent"), result.total("failed")
    )
    return result


def report(alert_id: str, *, url: str | None = None) -> Report:
    with session_scope(url) as session:
        rows = session.execute(
            select(Delivery.channel, Delivery.status).where(Delivery.alert_id == alert_id)
        ).all()
    result = Report(alert_id)
    for channel, status in rows:
        result.counts.setdefault(channel, {}).setdefault(status, 0)
        result.counts[channel][status] += 1
    return result


def report_fr(report_: Report) -> str:
    """The operator's report, one line per channel."""
    names = {"messenger": "Messenger", "email": "E-mail", "sms": "SMS", "web": "Site (prochaine visite)"}
    lines = [f"Rapport d'envoi de l'alerte {report_.alert_id} :"]
    for channel in CHANNELS:
        counts = report_.counts.get(channel, {})
        failed = counts.get("failed", 0) + counts.get("interrupted", 0)
        lines.append(f"  {names[channel]} : {counts.get('sent', 0)} envoyé(s), {failed} en échec")
    lines.append(f"Total : {report_.total('sent')} envoyé(s).")
    return "\n".join(lines)


def preview_fr(p: Preview, config: AlertsConfig | None = None) -> str:
    config = config or load_alerts_config()
    names = {"messenger": "Messenger", "email": "E-mail", "sms": "SMS", "web": "Site (prochaine visite)"}
    where = ", ".join(config.sectors[s].label for s in p.sectors) if p.sectors else "toute la commune"
    lines = [
        f"Aperçu de l'alerte {p.alert_id}",
        f"  Sujet : {config.topics[p.topic].label} — secteurs : {where}",
        *(
            [
                f"  Cette alerte a déjà été confirmée le {p.confirmed_at:%d/%m/%Y à %H:%M} : seuls les "
                "abonnés qui ne l'ont pas encore reçue la recevront."
            ]
            if p.confirmed_at
            else []
        ),
        "  Destinataires : " + ", ".join(f"{names[c]} {p.recipients[c]}" for c in CHANNELS),
        "  Texte envoyé par SMS :",
        *("    " + line for line in p.samples["sms"].splitlines()),
    ]
    return "\n".join(lines)
