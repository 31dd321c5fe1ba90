"""The appointment pages (portal/app.py): the real aiohttp app on 127.0.0.1 over a seeded SQLite
booking database (the fixture files' sites), with a local server speaking the ANTS API."""

from __future__ import annotations

import html
import logging
import os
import re
import subprocess
import sys
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from booking import engine, hub, links
from booking.ants import AntsSettings
from booking.config import load_booking_config
from ops import servers
from portal import app as portal
from tests.conftest import ROOT, free_port
from tests.unit.conftest import next_open_day
from tests.unit.local_server import serving
from tests.unit.test_ants import CONSUMED, TOKEN, VALIDATED, FakeAnts

PUBLIC = "https://rdv.villebrune.example"
MAIRIE = "villebrune-mairie"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SECOND_ID = "ZYXWV98765"

pytestmark = pytest.mark.usefixtures("fixture_files")


@pytest.fixture
async def fake_ants() -> AsyncIterator[FakeAnts]:
    fake = FakeAnts()
    fake.statuses[SECOND_ID] = {"status": "validated", "appointments": []}
    app = web.Application()
    app.router.add_get("/api/status", fake.status)
    app.router.add_post("/api/appointments", fake.appointments)
    app.router.add_delete("/api/appointments", fake.appointments)
    async with serving(app) as base:
        fake.base_url = base + "/api"
        yield fake


@asynccontextmanager
async def pages(db_url: str, ants: AntsSettings) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    app = portal.create_app(db_url, public_url=PUBLIC, ants=ants, config=load_booking_config())
    async with serving(app) as base:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies of 127.0.0.1
        async with aiohttp.ClientSession(base_url=base, cookie_jar=jar) as session:
            yield base, session


@pytest.fixture
async def site(db_url, fake_ants) -> AsyncIterator[aiohttp.ClientSession]:
    settings = AntsSettings(base_url=fake_ants.base_url, token=TOKEN, timeout_s=2)
    async with pages(db_url, settings) as (_base, session):
        yield session


def free_slot(db_url: str, offset: int = 0, people: int = 1) -> engine.Slot:
    day = next_open_day()
    slots = engine.available_slots([MAIRIE], day, day, 15 * people, url=db_url)
    return slots[offset]


async def fetch(
    session: aiohttp.ClientSession, path: str, **kwargs
) -> tuple[int, str, aiohttp.ClientResponse]:
    async with session.get(path, allow_redirects=False, **kwargs) as response:
        return response.status, html.unescape(await response.text()), response


async def post(
    session, path: str, data: dict, page: str | None = None
) -> tuple[int, str, aiohttp.ClientResponse]:
    """POST a form with the CSRF token of `page` (GET first, as a browser would)."""
    _status, text, _ = await fetch(session, page or path)
    token = CSRF.search(text).group(1)
    async with session.post(path, data={"csrf": token, **data}, allow_redirects=False) as response:
        return response.status, html.unescape(await response.text()), response


def callback_path(slot: engine.Slot) -> str:
    url = hub.callback_url(PUBLIC, slot.site_id, slot.start)
    return url.removeprefix(PUBLIC)


async def book_through_callback(session, slot: engine.Slot, **fields) -> str:
    """Confirm a slot from its callback URL; returns the Location of the confirmation."""
    data = {"site": slot.site_id, "start": f"{slot.start:%Y-%m-%dT%H:%M}", "motif": "cni", "personnes": "1",
            "nom": "Lefèvre", "numeros": VALIDATED, **fields}  # fmt: skip
    status, text, response = await post(session, "/rendez-vous", data, page=callback_path(slot))
    assert status == 303, text
    return response.headers["Location"]


# ---- the addresses the hub gives ANTS are the ones served ---------------------------------------


def test_one_function_builds_the_hub_links_and_the_signed_links():
    start = datetime(2026, 12, 19, 10, 15)
    assert hub.callback_url(PUBLIC + "/", "villebrune-mairie", start) == (
        f"{PUBLIC}/rendez-vous?site=villebrune-mairie&start=2026-12-19T10:15"
    )
    assert hub.management_url(PUBLIC, "RDV-AB12CD") == f"{PUBLIC}/rendez-vous/RDV-AB12CD"
    assert hub.cancel_url(PUBLIC, "RDV-AB12CD") == f"{PUBLIC}/rendez-vous/RDV-AB12CD/annuler"
    for purpose, path in (("manage", hub.management_path), ("cancel", hub.cancel_path)):
        signed = urlsplit(links.manage_url("RDV-AB12CD", purpose))
        assert signed.path == path("RDV-AB12CD")


async def test_every_hub_address_is_a_page(site, db_url):
    slot = free_slot(db_url)
    appt = engine.book(
        slot, reason="CNI", people=1, surname="Martin", channel="rest", sender_id="x", url=db_url
    )
    for url in (
        hub.callback_url(PUBLIC, slot.site_id, free_slot(db_url).start),
        hub.management_url(PUBLIC, appt.reference),
        hub.cancel_url(PUBLIC, appt.reference),
    ):
        status, text, _ = await fetch(site, url.removeprefix(PUBLIC))
        assert status == 200, (url, text)
        assert '<html lang="fr">' in text


# ---- confirming a slot chosen on the national site ---------------------------------------------


async def test_a_callback_slot_is_confirmed_checked_with_ants_and_declared(site, db_url, fake_ants):
    slot = free_slot(db_url)
    status, text, response = await fetch(site, callback_path(slot))
    assert status == 200
    assert "Confirmer votre rendez-vous" in text and 'name="csrf"' in text
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"

    location = await book_through_callback(site, slot, email="a.lefevre@exemple.fr", rappels="oui")
    assert "lef" not in location.lower()  # the surname never goes in a URL
    path, query = urlsplit(location).path, parse_qs(urlsplit(location).query)
    reference = path.rsplit("/", 1)[1]
    assert re.fullmatch(r"RDV-[A-Z0-9]{6}", reference) and query["etat"] == ["confirme"]
    assert links.read_manage_token(query["t"][0]) == reference

    status, text, _ = await fetch(site, location)
    assert status == 200
    assert "C'est réservé" in text and reference in text and "Mairie de Villebrune" in text
    assert "photo d'identité" in text and "récapitulatif de votre pré-demande" in text
    assert PUBLIC + hub.management_path(reference) + "?t=" in text

    appt = engine.get_appointment(reference, surname="LEFEVRE", url=db_url)
    assert (appt.start, appt.channel, appt.application_ids) == (slot.start, "pages", (VALIDATED,))
    calls = [(r["method"], r["path"]) for r in fake_ants.requests]
    assert calls == [("GET", "/api/status"), ("POST", "/api/appointments")]
    declared = dict(fake_ants.requests[1]["query"])
    assert declared["management_url"].endswith(hub.management_path(reference))


async def test_a_paper_file_books_without_ants_and_a_taken_slot_is_refused(site, db_url, fake_ants):
    slot = free_slot(db_url)
    await book_through_callback(site, slot, numeros="", papier="oui")
    assert fake_ants.requests == []
    # The mairie has two stations: a third booking of the same quarter hour finds none.
    await book_through_callback(site, slot, numeros="", papier="oui", nom="Durand")
    status, text, _ = await fetch(site, callback_path(slot))
    assert status == 409
    assert (
        "Ce créneau n'est plus disponible" in text and "/rendez-vous/creneaux?site=villebrune-mairie" in text
    )


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"numeros": CONSUMED}, "nouvelle pré-demande"),
        ({"numeros": "ABC"}, "10 lettres ou chiffres"),
        ({"numeros": VALIDATED, "personnes": "2"}, "un numéro de pré-demande par personne"),
        ({"nom": "R2D2"}, "nom de famille"),
        ({"email": "pas-un-mail"}, "adresse e-mail"),
        ({"telephone": "06 12 34 56 78"}, "Cochez la case d'accord"),
        ({"motif": "permis"}, "Choisissez la démarche"),
    ],
)
async def test_bad_answers_are_explained_in_french_and_kept(site, db_url, fields, message):
    slot = free_slot(db_url)
    data = {"site": slot.site_id, "start": f"{slot.start:%Y-%m-%dT%H:%M}", "motif": "cni", "personnes": "1",
            "nom": "Lefèvre", "numeros": VALIDATED, **fields}  # fmt: skip
    status, text, _ = await post(site, "/rendez-vous", data, page=callback_path(slot))
    assert status == 400
    assert message in text
    assert 'role="alert"' in text and "Erreur : " in text  # the summary, and next to the field
    assert 'value="Lefèvre"' in text or fields.get("nom")  # nothing typed is lost
    assert engine.appointments_on(slot.start.date(), url=db_url) == []


async def test_a_number_already_booked_here_counts_as_a_failed_try(site, db_url):
    slot = free_slot(db_url)
    engine.book(free_slot(db_url, 1), reason="CNI", people=1, surname="Autre", channel="rest", sender_id="y",
                application_ids=[VALIDATED], url=db_url)  # fmt: skip
    data = {"site": slot.site_id, "start": f"{slot.start:%Y-%m-%dT%H:%M}", "motif": "cni", "personnes": "1",
            "nom": "Lefèvre", "numeros": VALIDATED}  # fmt: skip
    statuses = [(await post(site, "/rendez-vous", data, page=callback_path(slot)))[0] for _ in range(4)]
    assert statuses == [400, 400, 429, 429]


async def test_a_post_without_its_csrf_token_is_refused(site, db_url):
    slot = free_slot(db_url)
    data = {"site": slot.site_id, "start": f"{slot.start:%Y-%m-%dT%H:%M}", "motif": "cni", "personnes": "1",
            "nom": "Lefèvre", "papier": "oui", "csrf": "forged-token-forged-token-forged-token"}  # fmt: skip
    await fetch(site, callback_path(slot))  # the cookie is set, the field does not match it
    async with site.post("/rendez-vous", data=data, allow_redirects=False) as response:
        assert response.status == 403
        assert "Page expirée" in await response.text()
    assert engine.appointments_on(slot.start.date(), url=db_url) == []


# ---- managing: reference + surname, or the signed link -------------------------------------------


async def test_reference_and_surname_lead_to_the_signed_page_and_guesses_lock(site, db_url):
    appt = engine.book(free_slot(db_url), reason="PASSPORT", people=1, surname="N'Diaye", channel="rest",
                       sender_id="z", url=db_url)  # fmt: skip
    path = hub.management_path(appt.reference)
    status, text, _ = await fetch(site, path)
    assert status == 200 and "nom de famille" in text
    status, _, response = await post(site, path, {"nom": "ndiaye"})
    assert status == 303
    location = response.headers["Location"]
    assert "diaye" not in location.lower() and "?t=" in location
    status, text, _ = await fetch(site, location)
    assert status == 200 and appt.reference in text and "timbre fiscal pour le passeport" in text

    statuses = []
    for _ in range(4):
        status, text, _ = await post(site, path, {"nom": "Dupont"})
        statuses.append(status)
    assert statuses == [400, 400, 429, 429]
    assert "ne correspondent à aucun rendez-vous actif" not in text and "Trop d'essais" in text
    status, _, _ = await post(site, path, {"nom": "N'Diaye"})  # locked, even with the right name
    assert status == 429


async def test_expired_and_forged_links_get_410_and_400(site, db_url, monkeypatch):
    appt = engine.book(free_slot(db_url), reason="CNI", people=1, surname="Martin", channel="rest",
                       sender_id="z", url=db_url)  # fmt: skip
    old = datetime.now(timezone.utc) - timedelta(days=400)
    expired = links.manage_token(appt.reference, now=old)
    status, text, _ = await fetch(site, f"{hub.management_path(appt.reference)}?t={expired}")
    assert status == 410 and "Lien expiré" in text
    status, text, _ = await fetch(site, f"{hub.management_path(appt.reference)}?t=manage.RDV-ZZZZZZ.1.abc")
    assert status == 400 and "Lien non valable" in text
    other = links.manage_token("RDV-ZZZZZZ")  # a genuine link of another appointment
    status, _, _ = await fetch(site, f"{hub.management_path(appt.reference)}?t={other}")
    assert status == 400
    cancel_only = links.manage_token(appt.reference, "cancel")  # cannot open the manage page
    status, _, _ = await fetch(site, f"{hub.management_path(appt.reference)}?t={cancel_only}")
    assert status == 400


async def test_cancel_from_the_signed_cancel_link_withdraws_from_ants(site, db_url, fake_ants):
    location = await book_through_callback(site, free_slot(db_url))
    reference = urlsplit(location).path.rsplit("/", 1)[1]
    cancel = links.manage_url(reference, "cancel").removeprefix(links.pages_url())
    status, text, _ = await fetch(site, cancel)
    assert status == 200 and "Oui, annuler le rendez-vous" in text
    status, _, response = await post(site, cancel, {})
    assert status == 303 and "etat=annule" in response.headers["Location"]
    status, text, _ = await fetch(site, response.headers["Location"])
    assert status == 200 and "Rendez-vous annulé" in text and reference in text
    with pytest.raises(engine.AppointmentNotFound):
        engine.appointment_by_reference(reference, url=db_url)
    assert [r["method"] for r in fake_ants.requests] == ["GET", "POST", "DELETE"]
    status, text, _ = await fetch(site, links.manage_url(reference).removeprefix(links.pages_url()))
    assert status == 404 and "n'est plus actif" in text


async def test_the_hub_cancel_url_asks_the_surname_then_cancels(site, db_url):
    appt = engine.book(free_slot(db_url), reason="CNI", people=1, surname="Martin", channel="rest",
                       sender_id="z", url=db_url)  # fmt: skip
    path = hub.cancel_path(appt.reference)
    status, _, response = await post(site, path, {"nom": "MARTIN"})
    assert status == 303 and response.headers["Location"].startswith(path + "?t=cancel.")
    status, _, response = await post(site, response.headers["Location"], {})
    assert status == 303
    assert engine.appointments_on(appt.start.date(), url=db_url)[0].status == "cancelled"


async def test_move_shows_the_same_sites_free_days_and_moves(site, db_url, fake_ants):
    first = free_slot(db_url)
    location = await book_through_callback(site, first)
    reference = urlsplit(location).path.rsplit("/", 1)[1]
    token = parse_qs(urlsplit(location).query)["t"][0]
    move = f"{hub.management_path(reference)}/deplacer?t={token}"
    status, text, _ = await fetch(site, move)
    assert status == 200 and "Déplacer le rendez-vous" in text
    assert text.count("<fieldset") == portal.DAYS_SHOWN and "Plus tard" in text
    later = re.search(r'href="\?([^"]+apres=[^"]+)"', text).group(1)
    status, later_text, _ = await fetch(site, f"{hub.management_path(reference)}/deplacer?{later}")
    assert status == 200 and later_text != text
    target = free_slot(db_url, 3)
    status, _, response = await post(site, move, {"start": f"{target.start:%Y-%m-%dT%H:%M}"})
    assert status == 303 and "etat=deplace" in response.headers["Location"]
    assert engine.appointment_by_reference(reference, url=db_url).start == target.start
    assert [r["method"] for r in fake_ants.requests][-2:] == ["DELETE", "POST"]
    status, text, _ = await post(site, move, {"start": "2020-01-01T10:00"})
    assert status == 409 and "Choisissez-en un autre" in text


# ---- booking from scratch ---------------------------------------------------------------------


async def test_booking_from_scratch_goes_site_day_slot_form(site, db_url):
    status, text, _ = await fetch(site, "/rendez-vous/nouveau")
    assert status == 200 and "Mairie de Villebrune" in text and 'action="/rendez-vous/creneaux"' in text
    status, text, _ = await fetch(
        site, "/rendez-vous/creneaux?site=villebrune-mairie&motif=passeport&personnes=2"
    )
    assert status == 200 and 'name="start"' in text and 'name="personnes" value="2"' in text
    start = re.search(r'name="start" value="([^"]+)"', text).group(1)
    status, text, _ = await fetch(
        site, f"/rendez-vous?site=villebrune-mairie&start={start}&motif=passeport&personnes=2"
    )
    assert status == 200
    assert 'value="passeport" checked' in text and '<option value="2" selected>' in text
    status, _, response = await fetch(site, "/rendez-vous/retrouver?reference=rdv ab12cd")
    assert status == 303 and response.headers["Location"] == "/rendez-vous/RDV-AB12CD"


# ---- errors, limits and logs ----------------------------------------------------------------------


async def test_errors_are_french_pages_with_the_security_headers(site):
    status, text, response = await fetch(site, "/rendez-vous/inconnu/page")
    assert status == 404 and "Page introuvable" in text
    assert response.headers["X-Frame-Options"] == "DENY"
    status, text, _ = await fetch(site, "/rendez-vous?site=nulle-part&start=2026-12-19T10:00")
    assert status == 404 and "Lieu inconnu" in text
    status, text, _ = await fetch(site, "/rendez-vous?site=villebrune-mairie&start=demain")
    assert status == 404 and "Créneau inconnu" in text
    async with site.post("/rendez-vous", data={"nom": "x" * (portal.MAX_BODY + 1)}) as response:
        assert response.status == 413 and "Formulaire trop long" in await response.text()


async def test_logs_carry_neither_names_nor_links(site, db_url, caplog):
    caplog.set_level(logging.INFO)
    location = await book_through_callback(
        site, free_slot(db_url), email="a.lefevre@exemple.fr", rappels="oui"
    )
    await fetch(site, location)
    logged = caplog.text.lower()
    assert "rendez-vous/rdv-" in logged  # one line per request: method, path, status
    for secret in ("lef", "exemple.fr", VALIDATED.lower(), "t=", "etat="):
        assert secret not in logged


def test_python_m_portal_serves_on_gru_pages_port(tmp_path):
    port = free_port()
    env = {**os.environ, "GRU_PAGES_PORT": str(port), "GRU_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "portal"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        servers.wait_http(f"http://127.0.0.1:{port}/health", 30, proc)
    finally:
        proc.terminate()
        proc.wait(10)
    bad = subprocess.run([sys.executable, "-m", "portal"], cwd=ROOT, env={**env, "GRU_PAGES_PORT": "web"},
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert bad.returncode == 1 and "GRU_PAGES_PORT invalide" in bad.stderr
