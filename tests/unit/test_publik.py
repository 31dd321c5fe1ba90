"""Publik w.c.s. adapter against a real local aiohttp server that checks the request signatures."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from tracking.connector import FileNotFound, TrackingUnavailable
from tracking.publik import PublikWcsAdapter, check_signature, map_status, sign_query

ORIG = "assistant-villebrune"
KEY = "shared-secret-0123456789"
FORMS = ["demande-creche", "permis-construire", "subvention-association"]

HOLDER_EMAIL = "camille.lefevre@example.org"
HOLDER_NAME = "Camille Lefèvre"


def form(
    number: int,
    status_name: str,
    *,
    formdef_id: int = 3,
    endpoint: bool = False,
    status_id: str = "2",
    fields: dict | None = None,
    user: dict | None = None,
    receipt: str = "2026-09-14T09:12:00",
    updated: str | None = "2026-10-02T14:30:00",
    display_name: str = "Demande de place en crèche",
) -> dict:
    """A form as w.c.s. exports it (GET /api/forms/<slug>/<id>/)."""
    data = {
        "id": str(number),
        "display_id": f"{formdef_id}-{number}",
        "display_name": f"{display_name} #{formdef_id}-{number}",
        "receipt_time": receipt,
        "last_update_time": updated,
        "fields": fields or {},
        "user": user if user is not None else {"id": 17, "email": HOLDER_EMAIL, "name": HOLDER_NAME},
        "workflow": {"status": {"id": status_id, "name": status_name, "endpoint": endpoint}},
        "evolution": [{"status": "1", "time": receipt, "who": {"name": "Agent"}, "parts": []}],
    }
    if updated is None:
        del data["last_update_time"]
    return data


@dataclass
class FakeWcs:
    """Mimics the w.c.s. form API; 403 for an unsigned, badly signed or expired request."""

    forms: dict = field(default_factory=dict)  # (slug, id) -> answer
    requests: list = field(default_factory=list)
    mode: str = "normal"  # normal | slow | error500 | malformed | unauthorized
    delay_s: float = 2.0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""
    keys: dict = field(default_factory=lambda: {ORIG: KEY})

    async def get_form(self, request: web.Request) -> web.Response:
        raw_query = request.rel_url.raw_query_string
        self.requests.append({"path": request.path, "query": raw_query})
        params = parse_qs(raw_query)
        key = self.keys.get((params.get("orig") or [""])[0])
        if key is None or not check_signature(raw_query, key):
            return web.json_response({"err": 1, "err_desc": "invalid signature"}, status=403)
        if self.mode == "slow":
            try:
                await asyncio.wait_for(self.release.wait(), self.delay_s)
            except asyncio.TimeoutError:
                pass
        if self.mode == "error500":
            return web.Response(status=500, text="Internal Server Error")
        if self.mode == "unauthorized":
            return web.json_response({"err": 1, "err_desc": "unauthorized"}, status=401)
        if self.mode == "malformed":
            return web.Response(status=200, text="<html>maintenance", content_type="application/json")
        answer = self.forms.get((request.match_info["slug"], request.match_info["id"]))
        if answer is None:
            return web.json_response({"err": 1, "err_desc": "no such form"}, status=404)
        return web.json_response(answer)


@pytest.fixture
async def wcs():
    fake = FakeWcs()
    app = web.Application()
    app.router.add_get("/api/forms/{slug}/{id}/", fake.get_form)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield fake
    finally:
        fake.release.set()
        await runner.cleanup()


def make_adapter(fake: FakeWcs, *, key: str = KEY, timeout_s: float = 2.0, **kwargs) -> PublikWcsAdapter:
    return PublikWcsAdapter(fake.base_url, ORIG, key, FORMS, timeout_s=timeout_s, **kwargs)


async def lookup(fake: FakeWcs, reference: str, second_factor: str = HOLDER_EMAIL, **kwargs):
    async with make_adapter(fake, **kwargs) as adapter:
        return await adapter.lookup(reference, second_factor)


# --- signature -------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 29, 10, 0, 0, tzinfo=timezone.utc)


def test_sign_query_shape():
    signed = sign_query("email=a%40b.fr", KEY, ORIG, now=NOW)
    unsigned, _, signature = signed.partition("&signature=")
    assert (
        unsigned == "email=a%40b.fr&algo=sha256&timestamp=2026-11-29T10%3A00%3A00Z&orig=assistant-villebrune"
    )
    assert "+" not in signature and "/" not in signature and "=" not in signature  # url-quoted base64
    assert len(base64.b64decode(parse_qs(f"s={signature}")["s"][0])) == 32  # sha256
    assert sign_query("", KEY, ORIG, now=NOW).startswith("algo=sha256&timestamp=")


def test_sign_query_naive_and_local_times_are_utc():
    paris = timezone(timedelta(hours=1))
    assert sign_query("", KEY, ORIG, now=NOW.astimezone(paris)) == sign_query("", KEY, ORIG, now=NOW)


def test_check_signature_round_trip():
    signed = sign_query("a=1&b=deux", KEY, ORIG, now=NOW)
    assert check_signature(signed, KEY, now=NOW)
    assert check_signature(signed, KEY, now=NOW + timedelta(seconds=299))
    assert check_signature(sign_query("", KEY, ORIG), KEY)  # real clock


@pytest.mark.parametrize(
    "tamper",
    [
        lambda q: q.replace("a=1", "a=2"),
        lambda q: q.replace("orig=assistant-villebrune", "orig=intrus"),
        lambda q: q.replace("algo=sha256", "algo=sha1"),
        lambda q: q.replace("timestamp=2026-11-29T10%3A00%3A00Z", "timestamp=2026-11-29T10%3A01%3A00Z"),
        lambda q: q + "&c=3",
        lambda q: q.partition("&signature=")[0],
        lambda q: q.partition("&signature=")[0] + "&signature=AAAA",
        lambda q: q.partition("&signature=")[0] + "&signature=%%%",
        lambda q: "",
    ],
)
def test_check_signature_detects_tampering(tamper):
    signed = sign_query("a=1", KEY, ORIG, now=NOW)
    assert not check_signature(tamper(signed), KEY, now=NOW)


def test_check_signature_wrong_key_and_expiry():
    signed = sign_query("a=1", KEY, ORIG, now=NOW)
    assert not check_signature(signed, "another-key", now=NOW)
    assert not check_signature(signed, KEY, now=NOW + timedelta(seconds=301))
    assert not check_signature(signed, KEY, now=NOW - timedelta(seconds=301))
    assert check_signature(signed, KEY, max_skew_s=3600, now=NOW + timedelta(minutes=30))


# --- the fake server really checks signatures ------------------------------------------------------


async def _raw_get(fake: FakeWcs, query: str) -> int:
    url = URL(f"{fake.base_url}/api/forms/demande-creche/4217/?{query}", encoded=True)
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status


async def test_server_rejects_unsigned_badly_signed_and_expired_requests(wcs):
    wcs.forms[("demande-creche", "4217")] = form(4217, "En cours d'instruction")
    assert await _raw_get(wcs, sign_query("", KEY, ORIG)) == 200
    assert await _raw_get(wcs, "") == 403
    assert await _raw_get(wcs, f"orig={ORIG}") == 403
    assert await _raw_get(wcs, sign_query("", "wrong-key", ORIG)) == 403
    assert await _raw_get(wcs, sign_query("", KEY, "unknown-orig")) == 403
    expired = datetime.now(timezone.utc) - timedelta(minutes=10)
    assert await _raw_get(wcs, sign_query("", KEY, ORIG, now=expired)) == 403


async def test_adapter_with_wrong_key_is_unavailable(wcs):
    wcs.forms[("demande-creche", "4217")] = form(4217, "En cours d'instruction")
    with pytest.raises(TrackingUnavailable, match="HTTP 403"):
        await lookup(wcs, "DEM-2026-004217", key="wrong-key")


# --- lookups ---------------------------------------------------------------------------------------


async def test_in_progress_request_and_signed_request(wcs):
    wcs.forms[("demande-creche", "4217")] = form(4217, "En cours d'instruction")
    status = await lookup(wcs, "dem-2026-004217", services={"demande-creche": "scolaire"})
    assert status.reference == "DEM-2026-004217"
    assert (status.kind, status.title) == ("request", "Demande de place en crèche")
    assert (status.stage, status.stage_fr, status.decision_fr) == (
        "in_progress",
        "en cours d'instruction",
        None,
    )
    assert status.last_change == date(2026, 10, 2)
    assert status.service == "scolaire"
    # DEM searches the non-subsidy forms in order; the first one answers.
    assert [r["path"] for r in wcs.requests] == ["/api/forms/demande-creche/4217/"]
    query = parse_qs(wcs.requests[0]["query"])
    assert (query["algo"], query["orig"]) == (["sha256"], [ORIG])
    assert "signature" in query


async def test_received(wcs):
    wcs.forms[("permis-construire", "4217")] = form(4217, "Nouveau", display_name="Permis de construire")
    status = await lookup(wcs, "DEM-2026-004217")
    assert (status.stage, status.stage_fr, status.title) == ("received", "reçue", "Permis de construire")
    assert [r["path"] for r in wcs.requests] == [
        "/api/forms/demande-creche/4217/",  # 404, next slug
        "/api/forms/permis-construire/4217/",
    ]


async def test_waiting_document_with_missing_document_field(wcs):
    wcs.forms[("permis-construire", "4218")] = form(
        4218, "En attente de pièces complémentaires", fields={"piece_manquante": "le plan de masse coté"}
    )
    status = await lookup(wcs, "DEM-2026-004218", "lefevre")
    assert (status.stage, status.stage_fr) == ("waiting_document", "en attente d'un document de votre part")
    assert status.next_step_fr.startswith("Il manque le plan de masse coté.")


async def test_refused_request(wcs):
    wcs.forms[("demande-creche", "3951")] = form(3951, "Refusé", endpoint=True)
    status = await lookup(wcs, "DEM-2026-003951", "LEFEVRE")
    assert (status.stage, status.stage_fr, status.decision_fr) == ("decided", "décidée", "refusée")


async def test_granted_subsidy_with_amount(wcs):
    wcs.forms[("subvention-association", "42")] = form(
        42,
        "Accordée",
        formdef_id=9,
        endpoint=True,
        fields={
            "nom_association": "Association Les Amis du Parc",
            "montant_accorde": "1500",
            "nom": "Moreau",
        },
        user={"email": "contact@amisduparc.example.org", "name": "Jeanne Moreau"},
        receipt="2026-02-02T10:00:00+01:00",
        updated="2026-03-26T17:45:00Z",
    )
    status = await lookup(wcs, "SUB-2026-0042", "moreau")
    assert status.kind == "subsidy"
    assert status.title == "Subvention — Association Les Amis du Parc"
    assert (status.stage, status.decision_fr) == ("decided", "accordée : 1 500 €")
    assert status.last_change == date(2026, 3, 26)
    # SUB only searches the subsidy forms.
    assert [r["path"] for r in wcs.requests] == ["/api/forms/subvention-association/42/"]


async def test_closed(wcs):
    wcs.forms[("demande-creche", "12")] = form(12, "Dossier clôturé", endpoint=True, updated=None)
    status = await lookup(wcs, "DEM-2026-000012")
    assert (status.stage, status.stage_fr, status.decision_fr) == ("closed", "clôturée", None)
    assert status.last_change == date(2026, 9, 14)  # no last_update_time: the receipt date


async def test_status_map_override(wcs):
    wcs.forms[("demande-creche", "4217")] = form(4217, "Étape 3", status_id="wf-3")
    assert (await lookup(wcs, "DEM-2026-004217")).stage == "in_progress"  # unknown name: in progress
    status = await lookup(wcs, "DEM-2026-004217", status_map={"wf-3": "waiting_document"})
    assert status.stage == "waiting_document"
    with pytest.raises(ValueError, match="unknown stage"):
        make_adapter(wcs, status_map={"wf-3": "waiting"})


async def test_legacy_display_id(wcs):
    wcs.forms[("permis-construire", "3456")] = form(3456, "Accepté", formdef_id=12, display_name="Permis")
    wcs.forms[("demande-creche", "3456")] = form(3456, "Nouveau", formdef_id=3)  # display_id 3-3456
    status = await lookup(wcs, "12 3456")
    assert (status.reference, status.stage, status.decision_fr) == ("12-3456", "decided", "acceptée")
    assert len(wcs.requests) == 2  # demande-creche answered 3-3456: not this file


async def test_legacy_with_formdef_map_goes_straight_to_the_form(wcs):
    wcs.forms[("permis-construire", "3456")] = form(3456, "Accepté", formdef_id=12)
    await lookup(wcs, "12-3456", formdef_map={"12": "permis-construire"})
    assert [r["path"] for r in wcs.requests] == ["/api/forms/permis-construire/3456/"]


async def test_second_factor_sources(wcs):
    wcs.forms[("demande-creche", "77")] = form(
        77,
        "Nouveau",
        user={"email": "yann.legall@example.net", "name": "Yann Le Gall"},
        fields={"email": "Autre.Adresse@Example.net", "nom": "Kerouac"},
    )
    for factor in ("yann.legall@example.net", "autre.adresse@example.net", "gall", "Le Gall", "kérouac"):
        assert (await lookup(wcs, "DEM-2026-000077", factor)).stage == "received", factor
    for factor in ("Yann", "legall@example.net", "", "   "):
        with pytest.raises(FileNotFound):
            await lookup(wcs, "DEM-2026-000077", factor)


async def test_anonymous_form_uses_fields(wcs):
    wcs.forms[("demande-creche", "78")] = form(78, "Nouveau", user={}, fields={"nom": "Éluard"})
    assert (await lookup(wcs, "DEM-2026-000078", "eluard")).stage == "received"


async def test_wrong_second_factor_and_unknown_reference_are_the_same_error(wcs):
    wcs.forms[("demande-creche", "4217")] = form(4217, "En cours d'instruction")
    with pytest.raises(FileNotFound) as wrong_factor:
        await lookup(wcs, "DEM-2026-004217", "dupont")
    with pytest.raises(FileNotFound) as unknown:
        await lookup(wcs, "DEM-2026-009999", HOLDER_EMAIL)
    assert str(wrong_factor.value) == str(unknown.value)


async def test_404_everywhere_is_not_found(wcs):
    with pytest.raises(FileNotFound):
        await lookup(wcs, "DEM-2026-004217")
    assert len(wcs.requests) == 2  # both request forms tried


async def test_other_year_is_not_the_same_file(wcs):
    wcs.forms[("demande-creche", "4217")] = form(4217, "Nouveau", receipt="2025-06-01T10:00:00")
    with pytest.raises(FileNotFound):
        await lookup(wcs, "DEM-2026-004217")


async def test_not_a_reference_sends_nothing(wcs):
    with pytest.raises(FileNotFound):
        await lookup(wcs, "bonjour")
    assert wcs.requests == []


# --- unavailable -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "message"), [("error500", "HTTP 500"), ("unauthorized", "HTTP 401")])
async def test_http_errors_are_unavailable(wcs, mode, message):
    wcs.mode = mode
    with pytest.raises(TrackingUnavailable, match=message):
        await lookup(wcs, "DEM-2026-004217")


async def test_malformed_json_is_unavailable(wcs):
    wcs.mode = "malformed"
    with pytest.raises(TrackingUnavailable, match="malformed JSON"):
        await lookup(wcs, "DEM-2026-004217")


@pytest.mark.parametrize(
    "answer",
    [
        [1, 2, 3],
        {"id": "4217", "receipt_time": "2026-09-14T09:00:00", "user": {"email": HOLDER_EMAIL}},  # no workflow
        {
            "id": "4217",
            "user": {"email": HOLDER_EMAIL},
            "workflow": {"status": {"name": "Nouveau"}},
        },  # no date
    ],
)
async def test_bad_answers_are_unavailable(wcs, answer):
    wcs.forms[("demande-creche", "4217")] = answer
    with pytest.raises(TrackingUnavailable):
        await lookup(wcs, "DEM-2026-004217")


async def test_timeout_is_unavailable(wcs):
    wcs.mode = "slow"
    started = time.perf_counter()
    with pytest.raises(TrackingUnavailable, match="no answer within 0.3 s"):
        await lookup(wcs, "DEM-2026-004217", timeout_s=0.3)
    assert time.perf_counter() - started < 1.5


async def test_connection_refused_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = PublikWcsAdapter(f"http://127.0.0.1:{port}", ORIG, KEY, FORMS, timeout_s=2.0)
    async with adapter:
        with pytest.raises(TrackingUnavailable, match="ClientConnectorError"):
            await adapter.lookup("DEM-2026-004217", HOLDER_EMAIL)


async def test_shared_session_is_left_open(wcs):
    wcs.forms[("demande-creche", "4217")] = form(4217, "Nouveau")
    async with aiohttp.ClientSession() as session:
        adapter = PublikWcsAdapter(wcs.base_url, ORIG, KEY, FORMS, session=session)
        assert (await adapter.lookup("DEM-2026-004217", HOLDER_EMAIL)).stage == "received"
        await adapter.close()
        assert not session.closed


# --- privacy ---------------------------------------------------------------------------------------


async def test_logs_and_errors_carry_no_personal_data(wcs, caplog):
    caplog.set_level(logging.DEBUG)
    wcs.forms[("demande-creche", "4217")] = form(4217, "En cours d'instruction")
    await lookup(wcs, "DEM-2026-004217")
    with pytest.raises(FileNotFound) as not_found:
        await lookup(wcs, "DEM-2026-004217", "Dupont")
    wcs.mode = "error500"
    with pytest.raises(TrackingUnavailable) as unavailable:
        await lookup(wcs, "DEM-2026-004217", HOLDER_NAME)
    records = [r for r in caplog.records if r.name == "tracking.publik"]
    # One line per call: found; found with a wrong second factor then 404 on the next form; 500.
    assert [r.getMessage().split(" in ")[0] for r in records] == [
        "Publik GET /api/forms/demande-creche/<id>/ -> 200",
        "Publik GET /api/forms/demande-creche/<id>/ -> 200",
        "Publik GET /api/forms/permis-construire/<id>/ -> 404",
        "Publik GET /api/forms/demande-creche/<id>/ -> 500",
    ]
    assert [r.levelno for r in records] == [logging.INFO] * 3 + [logging.WARNING]
    text = caplog.text + str(not_found.value) + str(unavailable.value)
    for secret in ("DEM-2026-004217", "004217", "4217", HOLDER_EMAIL, "Lefèvre", "Lefevre", "Dupont", KEY):
        assert secret.casefold() not in text.casefold(), secret


# --- status mapping --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "endpoint", "expected"),
    [
        ("Nouveau", False, ("received", None)),
        ("Demande reçue", False, ("received", None)),
        ("Déposée", False, ("received", None)),
        ("En cours d'instruction", False, ("in_progress", None)),
        ("En cours de traitement", False, ("in_progress", None)),
        ("En cours de validation", False, ("in_progress", None)),
        ("En attente de décision", False, ("in_progress", None)),
        ("En attente de l'avis de la commission", False, ("in_progress", None)),
        ("En attente de pièces", False, ("waiting_document", None)),
        ("Dossier incomplet", False, ("waiting_document", None)),
        ("Attente du demandeur", False, ("waiting_document", None)),
        ("Accepté", True, ("decided", "accepted")),
        ("Validée", False, ("decided", "accepted")),
        ("Avis favorable", True, ("decided", "accepted")),
        ("Refusé", True, ("decided", "refused")),
        ("Avis défavorable", True, ("decided", "refused")),
        ("Rejetée", False, ("decided", "refused")),
        ("Décision notifiée", True, ("decided", None)),
        ("Clôturé", True, ("closed", None)),
        ("Terminé", False, ("closed", None)),
        ("Archivage", True, ("closed", None)),
        ("Étape 3", False, ("in_progress", None)),
    ],
)
def test_map_status(name, endpoint, expected):
    assert map_status("x", name, endpoint) == expected


def test_map_status_overrides_by_id_or_name():
    assert map_status("wf-9", "Étape 9", False, {"wf-9": "closed"}) == ("closed", None)
    assert map_status("wf-9", "Étape 9", False, {"étape 9": "received"}) == ("received", None)
    assert map_status("wf-9", "Accepté", True, {"wf-9": "closed"}) == ("closed", "accepted")
