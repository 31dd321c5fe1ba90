"""Crisis alerts, plain Python: the alerts file, subscriptions and consent, STOP, the signed
e-mail links, Meta's opt-in, active alerts, and the broadcast (idempotency after a crash,
throttling, retries) with in-process senders. The adapters against local servers are in
tests/unit/test_alerts_adapters.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from alerts import broadcast
from alerts.config import DEFAULT_ALERTS_FILE, TOPICS, AlertsConfigError, load_alerts_config
from alerts.models import Delivery, Subscription
from alerts.notices import active_alerts
from alerts.senders import SendFailed
from alerts.signing import BadToken, ExpiredToken, make_token, read_token
from alerts.subscriptions import (
    InvalidSubscription,
    confirm_email,
    forget_origin,
    normalise_email,
    normalise_phone,
    purge_alerts,
    record_messenger_optin,
    stop,
    subscribe,
    subscriptions_of,
    unsubscribe,
)
from core.db import session_scope

NOW = datetime(2026, 12, 1, 10, 0)
CONFIG = load_alerts_config()


def sub(url, channel="web", address="rest:a", origin="rest:a", topics=("canicule",), sector=None, now=NOW):
    return subscribe(channel=channel, address=address, origin=origin, topics=list(topics), sector=sector,
                     consent_version="v1", now=now, url=url)  # fmt: skip


def rows(url, model):
    with session_scope(url) as session:
        return session.execute(select(model)).scalars().all()


# ---- the alerts file ------------------------------------------------------------------------------


def test_the_demo_file_has_every_topic_and_the_waste_sectors():
    assert tuple(CONFIG.topics) == TOPICS
    assert set(CONFIG.sectors) == {"centre", "nord", "coteaux", "gare"}
    assert CONFIG.consent.version


def test_topics_are_read_from_the_citizen_words():
    assert CONFIG.topics_in("alertes CANICULE et crue svp") == ["inondation", "canicule"]
    assert CONFIG.topics_in("le car scolaire passe pas a cause de la neige") == [
        "grand_froid",
        "transport_scolaire",
    ]
    assert CONFIG.topics_in("bonjour") == []


def test_an_unknown_topic_in_the_file_is_refused_in_french(tmp_path):
    text = DEFAULT_ALERTS_FILE.read_text(encoding="utf-8")
    bad = tmp_path / "alerts.yml"
    bad.write_text(text.replace("  canicule:\n", "  canicul:\n"), encoding="utf-8")
    with pytest.raises(AlertsConfigError) as error:
        load_alerts_config(bad)
    assert "canicul" in str(error.value) and "inconnu" in str(error.value)


# ---- subscriptions and consent -----------------------------------------------------------------------


def test_consent_is_recorded_with_its_date_and_wording_version(db_url):
    view = sub(db_url, topics=["inondation", "canicule"], sector="nord")
    (row,) = rows(db_url, Subscription)
    assert (row.consent_at, row.consent_version) == (NOW, "v1")
    assert row.topic_list == ["inondation", "canicule"] and row.sector == "nord"
    assert view.status == "active"  # the website: shown at the next visit


def test_email_waits_for_its_link_and_sms_is_active(db_url):
    email = sub(db_url, channel="email", address="a@b.fr")
    sms = sub(db_url, channel="sms", address="+33612345678")
    messenger = sub(db_url, channel="messenger", address="psid-1")
    assert (email.status, sms.status, messenger.status) == ("pending", "active", "pending")
    assert confirm_email(email.id, url=db_url)
    assert {s.channel: s.status for s in subscriptions_of("rest:a", url=db_url)}["email"] == "active"


def test_a_second_subscription_replaces_topics_and_consent(db_url):
    sub(db_url, topics=["canicule"])
    sub(db_url, topics=["tempete", "pollution"], now=NOW + timedelta(days=1))
    (row,) = rows(db_url, Subscription)
    assert row.topic_list == ["tempete", "pollution"] and row.consent_at == NOW + timedelta(days=1)


def test_unknown_topics_or_channels_are_refused(db_url):
    with pytest.raises(InvalidSubscription):
        sub(db_url, topics=["zombies"])
    with pytest.raises(InvalidSubscription):
        sub(db_url, channel="pigeon")


def test_unsubscribe_per_topic_then_all_deletes_the_row(db_url):
    sub(db_url, topics=["canicule", "inondation"])
    assert unsubscribe("rest:a", ["canicule"], url=db_url) == 1
    assert rows(db_url, Subscription)[0].topic_list == ["inondation"]
    assert unsubscribe("rest:a", None, url=db_url) == 1
    assert rows(db_url, Subscription) == []


def test_stop_ends_only_that_channel_at_once(db_url):
    sub(db_url, channel="sms", address="+33612345678")
    sub(db_url, channel="web", address="rest:a")
    assert stop("sms", "+33612345678", url=db_url)
    assert [r.channel for r in rows(db_url, Subscription)] == ["web"]
    assert not stop("sms", "+33612345678", url=db_url)


def test_forget_my_data_deletes_every_subscription_of_the_conversation(db_url):
    sub(db_url, channel="email", address="a@b.fr")
    sub(db_url, channel="web", address="rest:a")
    sub(db_url, channel="web", address="rest:b", origin="rest:b")
    assert forget_origin("rest:a", url=db_url) == 2
    assert [r.origin for r in rows(db_url, Subscription)] == ["rest:b"]


def test_purge_removes_unconfirmed_and_old_consents_only(db_url):
    sub(db_url, channel="email", address="late@b.fr", now=NOW - timedelta(hours=49))
    sub(db_url, channel="web", address="rest:old", origin="rest:old", now=NOW - timedelta(days=800))
    sub(db_url, channel="web", address="rest:new", origin="rest:new", now=NOW - timedelta(days=10))
    result = purge_alerts(consent_days=730, deliveries_days=30, confirmation_hours=48, now=NOW, url=db_url)
    assert (result.unconfirmed, result.expired) == (1, 1)
    assert [r.address for r in rows(db_url, Subscription)] == ["rest:new"]
    again = purge_alerts(consent_days=730, deliveries_days=30, confirmation_hours=48, now=NOW, url=db_url)
    assert (again.unconfirmed, again.expired, again.deliveries) == (0, 0, 0)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("06 12 34 56 78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("12345", None),
        ("06" * 40, None),
        ("😀", None),
    ],  # fmt: skip
)
def test_phone_numbers(text, expected):
    assert normalise_phone(text) == expected


def test_emails():
    assert normalise_email(" Marie.Durand@Exemple.fr. ") == "marie.durand@exemple.fr"
    assert normalise_email("pas une adresse") is None
    assert normalise_email("a" * 300 + "@b.fr") is None


# ---- Meta's opt-in ------------------------------------------------------------------------------------


def test_the_optin_token_activates_messenger_and_stop_notifications_deletes(db_url):
    sub(db_url, channel="messenger", address="psid-1", origin="facebook:psid-1")
    assert record_messenger_optin("psid-0", token="t", frequency="DAILY", expires_at=None, stopped=False,
                                  url=db_url) == "unknown"  # fmt: skip
    expiry = NOW + timedelta(days=180)
    assert record_messenger_optin("psid-1", token="tok", frequency="weekly", expires_at=expiry, stopped=False,
                                  now=NOW, url=db_url) == "active"  # fmt: skip
    (row,) = rows(db_url, Subscription)
    assert (row.status, row.token, row.token_frequency, row.token_expires_at) == (
        "active",
        "tok",
        "WEEKLY",
        expiry,
    )
    assert record_messenger_optin("psid-1", token="tok", frequency="WEEKLY", expires_at=None, stopped=True,
                                  url=db_url) == "stopped"  # fmt: skip
    assert rows(db_url, Subscription) == []


# ---- signed links -------------------------------------------------------------------------------------


def test_a_signed_link_reads_back_and_expires(monkeypatch):
    monkeypatch.setenv("GRU_ALERTS_SECRET", "s" * 32)
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    token = make_token("confirm", 42, timedelta(hours=48), now=now)
    assert read_token(token, "confirm", now=now + timedelta(hours=47)) == 42
    with pytest.raises(ExpiredToken):
        read_token(token, "confirm", now=now + timedelta(hours=48, seconds=1))


def test_forged_altered_or_misused_links_are_refused(monkeypatch):
    monkeypatch.setenv("GRU_ALERTS_SECRET", "s" * 32)
    token = make_token("confirm", 42, timedelta(hours=48))
    kind, ident, expiry, signature = token.split(".")
    for bad in (f"{kind}.43.{expiry}.{signature}", f"{kind}.{ident}.9999999999.{signature}",
                "x", "é" * 10, "a.b.c.d", token + "x"):  # fmt: skip
        with pytest.raises(BadToken):
            read_token(bad, "confirm")
    with pytest.raises(BadToken):  # a confirmation link is no unsubscription link
        read_token(token, "unsubscribe")
    monkeypatch.setenv("GRU_ALERTS_SECRET", "t" * 32)  # another deployment's secret
    with pytest.raises(BadToken):
        read_token(token, "confirm")


# ---- broadcast ----------------------------------------------------------------------------------------


class Crash(BaseException):
    """The process dies (not an Exception: nothing catches it on the way)."""


class FakeSender:
    """Records what would leave; `crash_after` raises mid-batch like a killed process."""

    def __init__(self, channel, fail=None, crash_after=None):
        self.channel, self.fail, self.crash_after = channel, fail or {}, crash_after
        self.sent, self.tries = [], {}

    async def send(self, message):
        self.tries[message.address] = self.tries.get(message.address, 0) + 1
        if self.crash_after is not None and len(self.sent) >= self.crash_after:
            raise Crash
        if message.address in self.fail:
            failure = self.fail[message.address]
            if isinstance(failure, int):  # temporary failures before success
                if self.tries[message.address] <= failure:
                    raise SendFailed("server_error", permanent=False)
            else:
                raise failure
        self.sent.append(message)

    async def close(self):
        pass


def populate(url, n_sms=5):
    for i in range(n_sms):
        sub(url, channel="sms", address=f"+3361234560{i}", origin=f"rest:s{i}", topics=["canicule"])
    sub(url, channel="web", address="rest:w", origin="rest:w", topics=["canicule"], sector="nord")
    sub(url, channel="web", address="rest:g", origin="rest:g", topics=["canicule"], sector="gare")
    sub(url, channel="sms", address="+33699999999", origin="rest:x", topics=["inondation"])


def test_preview_counts_recipients_by_topic_and_sector(db_url):
    populate(db_url)
    preview = broadcast.preview("canicule", ["nord"], "Forte chaleur demain.", None, url=db_url)
    assert preview.recipients == {"messenger": 0, "email": 0, "sms": 5, "web": 1}
    assert "Forte chaleur demain." in preview.samples["sms"] and "STOP" in preview.samples["sms"]
    assert active_alerts(url=db_url, now=NOW) == []  # a preview is not an alert yet


@pytest.mark.parametrize(
    "topic, sectors, text, link",
    [
        ("zombies", [], "x", None),
        ("canicule", ["lune"], "x", None),
        ("canicule", [], " ", None),
        ("canicule", [], "x" * 601, None),
        ("canicule", [], "x", "javascript:alert(1)"),
    ],  # fmt: skip
)
def test_bad_broadcasts_are_refused_in_french(db_url, topic, sectors, text, link):
    with pytest.raises(broadcast.BroadcastError):
        broadcast.preview(topic, sectors, text, link, url=db_url)


async def test_broadcast_reaches_each_subscriber_once_and_reports(db_url):
    populate(db_url)
    preview = await asyncio.to_thread(
        broadcast.preview, "canicule", [], "Forte chaleur.", "https://x.fr", url=db_url
    )
    assert await asyncio.to_thread(broadcast.confirm, preview.alert_id, url=db_url) == 7
    assert await asyncio.to_thread(broadcast.confirm, preview.alert_id, url=db_url) == 7  # re-run: no new row
    sms = FakeSender("sms", fail={"+33612345601": 1, "+33612345602": SendFailed("rejected 400", True)})
    report = await broadcast.deliver(preview.alert_id, {"sms": sms}, url=db_url, backoff_s=0)
    assert sorted(m.address for m in sms.sent) == [
        "+33612345600",
        "+33612345601",
        "+33612345603",
        "+33612345604",
    ]
    assert sms.tries["+33612345601"] == 2  # a temporary failure is retried
    assert sms.tries["+33612345602"] == 1  # a refusal is not
    assert report.counts == {"sms": {"sent": 4, "failed": 1}, "web": {"sent": 2}}
    again = await broadcast.deliver(preview.alert_id, {"sms": sms}, url=db_url, backoff_s=0)
    assert len(sms.sent) == 4 and again.counts == report.counts
    (alert,) = await asyncio.to_thread(active_alerts, ["canicule"], "nord", url=db_url)
    assert (alert.text, alert.link, alert.sectors) == ("Forte chaleur.", "https://x.fr", ())


async def test_a_crash_midway_then_a_rerun_never_sends_twice(db_url):
    populate(db_url, n_sms=5)
    preview = await asyncio.to_thread(broadcast.preview, "canicule", [], "Chaleur.", url=db_url)
    await asyncio.to_thread(broadcast.confirm, preview.alert_id, url=db_url)
    crashing = FakeSender("sms", crash_after=2)
    with pytest.raises(Crash):
        await broadcast.deliver(preview.alert_id, {"sms": crashing}, url=db_url, concurrency=1)
    assert len(crashing.sent) == 2
    resumed = FakeSender("sms")
    report = await broadcast.deliver(preview.alert_id, {"sms": resumed}, url=db_url)
    first = {m.address for m in crashing.sent}
    second = {m.address for m in resumed.sent}
    assert not first & second  # nobody received it twice
    # the batch claimed before the crash is « interrupted » (maybe sent): never sent again
    assert report.counts["sms"].get("interrupted", 0) + report.counts["sms"].get("sent", 0) == 5
    statuses = {d.status for d in rows(db_url, Delivery)}
    assert "sending" not in statuses and "pending" not in statuses


async def test_the_same_alert_asked_again_is_the_same_alert_and_reaches_only_the_others(db_url):
    populate(db_url, n_sms=3)
    first = await asyncio.to_thread(broadcast.preview, "canicule", [], "Chaleur.", "https://x.fr", url=db_url)
    assert first.confirmed_at is None
    await asyncio.to_thread(broadcast.confirm, first.alert_id, now=NOW, url=db_url)
    sms = FakeSender("sms")
    await broadcast.deliver(first.alert_id, {"sms": sms}, url=db_url, backoff_s=0)
    sub(db_url, channel="sms", address="+33611111111", origin="rest:late", topics=["canicule"])
    # The operator runs the same command again (same topic, sectors, text, link), the alert active.
    later = NOW + timedelta(hours=1)
    again = await asyncio.to_thread(
        broadcast.preview, "canicule", [], " Chaleur. ", "https://x.fr", now=later, url=db_url
    )
    assert again.alert_id == first.alert_id and again.confirmed_at == NOW
    assert again.recipients == {"messenger": 0, "email": 0, "sms": 1, "web": 0}  # the newcomer only
    assert "déjà été confirmée le 01/12/2026 à 10:00" in broadcast.preview_fr(again)
    await asyncio.to_thread(broadcast.confirm, again.alert_id, now=later, url=db_url)
    await broadcast.deliver(again.alert_id, {"sms": sms}, url=db_url, backoff_s=0)
    assert sorted(m.address for m in sms.sent) == [
        "+33611111111",
        "+33612345600",
        "+33612345601",
        "+33612345602",
    ]  # everyone once
    # Another text, another link, other sectors, or once the alert has ended: a new alert.
    for topic, sectors, text, link, at in (
        ("canicule", [], "Chaleur, suite.", "https://x.fr", later),
        ("canicule", [], "Chaleur.", None, later),
        ("canicule", ["nord"], "Chaleur.", "https://x.fr", later),
        ("canicule", [], "Chaleur.", "https://x.fr", NOW + timedelta(hours=CONFIG.default_validity_hours)),
    ):
        other = await asyncio.to_thread(broadcast.preview, topic, sectors, text, link, now=at, url=db_url)
        assert other.alert_id != first.alert_id and other.confirmed_at is None


async def test_messenger_token_frequency_and_expiry_are_honoured(db_url):
    for psid, expiry in (("ok", None), ("old", NOW - timedelta(days=1)), ("none", None)):
        sub(db_url, channel="messenger", address=psid, origin=f"facebook:{psid}")
        if psid != "none":
            record_messenger_optin(psid, token=f"tok-{psid}", frequency="DAILY", expires_at=expiry,
                                   stopped=False, url=db_url)  # fmt: skip
    with session_scope(db_url, write=True) as session:  # the pending one stays without token
        session.get(Subscription, 3).status = "active"
    messenger = FakeSender("messenger")
    for round_ in range(2):
        preview = await asyncio.to_thread(broadcast.preview, "canicule", [], f"Alerte {round_}", url=db_url)
        await asyncio.to_thread(broadcast.confirm, preview.alert_id, url=db_url)
        report = await broadcast.deliver(preview.alert_id, {"messenger": messenger}, url=db_url)
    assert [m.token for m in messenger.sent] == ["tok-ok"]  # the second alert: the daily frequency is reached
    details = {d.detail for d in rows(db_url, Delivery) if d.status == "failed"}
    assert details == {"token_expired", "no_token", "frequency"}
    assert report.counts["messenger"] == {"failed": 3}


async def test_the_throttle_spaces_the_starts_at_the_channel_rate(monkeypatch):
    clock = {"now": 100.0}
    waits = []

    async def fake_sleep(seconds):
        waits.append(round(seconds, 6))
        clock["now"] += seconds

    monkeypatch.setattr(broadcast.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(broadcast.asyncio, "sleep", fake_sleep)
    throttle = broadcast.Throttle(rate=4)
    for _ in range(5):
        await throttle.wait()
    assert waits == [0.25, 0.25, 0.25, 0.25]  # the first starts at once, then one every 1/4 s
