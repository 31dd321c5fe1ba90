"""The agents' agenda pages (handoff/agenda.py) through the real console app (aiohttp test client)
on a seeded SQLite database: who sees which site, the day and week views, print and CSV,
present / absent (with the ANTS withdrawal of a no-show, against a local server speaking the ANTS
API), extra openings and closures with the command line's rules."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, datetime, time, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from booking import engine
from booking.models import ApplicationClaim, Appointment, Closure, ExtraOpening
from core.db import session_scope
from handoff.console import Console, create_app
from handoff.rasa_api import RasaApi
from staff import auth
from tests.unit import test_ants
from tests.unit.test_ants import TOKEN as ANTS_TOKEN
from tests.unit.test_ants import VALIDATED
from tests.unit.test_handoff_console import PASSWORD, sign_in

MAIRIE, COTEAUX, ROUND = "villebrune-mairie", "villebrune-coteaux", "encombrants-villebrune"
DAY = date(2027, 3, 2)  # a Tuesday: the mairie receives 08:45-11:45 and 13:45-16:45
BOOKED_AT = datetime(2027, 3, 1, 8, 0)  # local time, when the citizens booked
UTC_AT_1015 = datetime(2027, 3, 2, 9, 15)  # 10:15 in Paris (UTC+1 in March)

ants = test_ants.ants  # the local server that speaks the ANTS API (a fixture)


def book(url, at, surname, *, reason="CNI", ids=(), channel="socketio", check=False, site=MAIRIE, **extra):
    slot = engine.Slot(site, datetime.combine(DAY, at), engine.duration_for(reason, 1))
    return engine.book(slot, reason=reason, people=1, surname=surname, application_ids=ids,
                       channel=channel, sender_id=surname, needs_agent_check=check, now=BOOKED_AT,
                       url=url, **extra)  # fmt: skip


@pytest.fixture(scope="module")
def password_hash():
    return auth.hash_password(PASSWORD)  # once: Argon2id is slow on purpose


@pytest.fixture
def seeded(db_url, password_hash):
    with session_scope(db_url, write=True) as s:
        accounts = (("jeanne", "agent", "etat_civil"), ("claire", "agent", "ccas"), ("chef", "admin", ""),
                    ("stats", "statistiques", "etat_civil"))  # fmt: skip
        s.add_all(
            auth.Agent(
                login=login,
                display_name=login.title(),
                password_hash=password_hash,
                role=role,
                services=services,
                active=True,
                created_at=UTC_AT_1015,
            )  # fmt: skip
            for login, role, services in accounts
        )
    return {
        "dupont": book(db_url, time(9, 0), "Dupont", ids=[VALIDATED]),
        "lefevre": book(
            db_url,
            time(9, 30),
            "Lefèvre",
            reason="CNI-PASSPORT",
            channel="facebook",
            check=True,
            email="l@example.org",
            phone="0612345678",
        ),  # fmt: skip
        "martin": engine.cancel(book(db_url, time(10, 0), "Martin").reference, surname="Martin", url=db_url),
        "durand": book(db_url, time(14, 0), "=Durand<b>", channel="pages"),
    }


@pytest.fixture
def clock():
    return {"now": UTC_AT_1015}


@pytest.fixture
async def client(db_url, seeded, clock, ants, monkeypatch):
    # The agenda tells ANTS of absences: here, the local server that speaks the ANTS API.
    monkeypatch.setenv("GRU_ANTS_API_URL", ants.base_url)
    monkeypatch.setenv("GRU_ANTS_API_TOKEN", ANTS_TOKEN)
    monkeypatch.setenv("GRU_PUBLIC_URL", "https://mairie.example")
    console = Console(RasaApi("http://127.0.0.1:9", "unused"), db_url=db_url, now=lambda: clock["now"])
    test_client = TestClient(TestServer(create_app(console, sweep=False)))
    await test_client.start_server()
    yield test_client
    await test_client.close()


async def csrf_of(client, path="/agenda/jour"):
    return re.search(r'name="csrf" value="([^"]+)"', await (await client.get(path)).text()).group(1)


async def mark(client, reference, presence, *, site=MAIRIE, csrf=None):
    token = csrf or await csrf_of(client)
    form = {
        "csrf": token,
        "reference": reference,
        "presence": presence,
        "site": site,
        "date": DAY.isoformat(),
    }
    return await client.post("/agenda/pointage", data=form, allow_redirects=False)


async def text_of(response) -> str:
    """The page's text as a reader gets it (entities such as &#39; decoded)."""
    return html.unescape(await response.text())


def stored(db_url, reference):
    with session_scope(db_url) as s:
        appt = s.execute(select(Appointment).where(Appointment.reference == reference)).scalar_one()
        claims = s.execute(
            select(ApplicationClaim.application_id).where(ApplicationClaim.appointment_id == appt.id)
        )
        return appt.status, appt.attendance_by, appt.attendance_at, list(claims.scalars())


# ---- who sees what ----------------------------------------------------------------------------------


async def test_the_agenda_needs_an_agent_or_an_admin(client):
    response = await client.get("/agenda/jour", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/connexion"
    await sign_in(client, "stats")
    # the statistics role is sent to its own pages (handoff/console.py `agent_of`)
    response = await client.get("/agenda/jour", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/statistiques"
    assert (await client.post("/agenda/pointage", allow_redirects=False)).status == 403


async def test_an_agent_sees_the_sites_of_their_services_only(client):
    await sign_in(client)  # jeanne, état civil: the identity sites (topic « appointments »)
    page = await (await client.get("/agenda/jour")).text()
    assert "Mairie de Villebrune" in page and "Mairie annexe des Coteaux" in page
    assert "encombrants" not in page.lower()
    response = await client.get(f"/agenda/jour?site={ROUND}&date={DAY}")
    assert response.status == 404 and "ne relève pas de vos services" in await text_of(response)
    assert (await client.get(f"/agenda/jour.csv?site={ROUND}")).status == 404


async def test_an_agent_of_another_service_is_told_and_an_admin_sees_every_site(client):
    await sign_in(client, "claire")  # CCAS: no booking site
    response = await client.get("/agenda/jour")
    assert response.status == 404 and "Aucun site de rendez-vous ne relève de vos services" in await text_of(
        response
    )
    await client.post("/deconnexion", data={"csrf": await csrf_of(client, "/")})
    await sign_in(client, "chef")
    page = await (await client.get(f"/agenda/jour?site={ROUND}&date={DAY}")).text()
    assert "Collecte des encombrants" in page and 'value="tous"' not in page
    assert 'value="tous"' in await (await client.get("/agenda/fermer")).text()  # admins close all sites


async def test_the_console_links_to_the_agenda(client):
    await sign_in(client)
    assert 'href="/agenda/jour">Agenda des rendez-vous</a>' in await (await client.get("/")).text()


# ---- the day, the week, paper and CSV ------------------------------------------------------------------


async def test_the_day_view_shows_every_detail_in_french(client, seeded):
    await sign_in(client)
    response = await client.get(f"/agenda/jour?site={MAIRIE}&date={DAY}")
    page = await response.text()
    assert response.status == 200 and "script" not in page.lower()
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<title>Mairie de Villebrune, mardi 2 mars 2027 — Agenda des rendez-vous</title>" in page
    row = html.unescape(
        re.search(rf'<tr id="rdv-{seeded["lefevre"].reference}".*?</tr>', page, re.S).group(0)
    )
    for text in ("09:30", "Lefèvre", "carte d'identité et passeport (2 documents)", "Messenger", "à vérifier",
                 "réservé", "Présent<span class=\"sr-only\"> : Lefèvre, 09:30</span>", "Absent"):  # fmt: skip
        assert text in row, text
    assert f"Pré-demande : {VALIDATED}" in page
    cancelled = re.search(rf'<tr id="rdv-{seeded["martin"].reference}".*?</tr>', page, re.S).group(0)
    assert "annulé" in cancelled and "<form" not in cancelled
    later = re.search(rf'<tr id="rdv-{seeded["durand"].reference}".*?</tr>', page, re.S).group(0)
    assert "=Durand&lt;b&gt;" in later and "page de rendez-vous" in later
    assert "Absent" not in later  # 14:00 has not begun at 10:15
    assert "3 rendez-vous · 0 présent · 0 absent · 3 non pointés · 1 à vérifier · 1 annulé" in page
    assert "Ouvert 08:45–11:45 (2 poste(s)), 13:45–16:45 (2 poste(s))" in page
    assert '<th scope="col">Heure</th>' in page and "<caption>" in page


async def test_a_future_day_has_nothing_to_mark_and_a_bad_date_is_refused(client, clock):
    clock["now"] = UTC_AT_1015 - timedelta(days=1)
    await sign_in(client)
    page = await (await client.get(f"/agenda/jour?site={MAIRIE}&date={DAY}")).text()
    assert "/agenda/pointage" not in page and "à venir" in page
    response = await client.get(f"/agenda/jour?site={MAIRIE}&date=2027-02-30")
    assert response.status == 400 and "Date invalide" in await text_of(response)


async def test_the_print_page_has_no_navigation_and_no_form(client, seeded):
    await sign_in(client)
    page = await (await client.get(f"/agenda/jour?site={MAIRIE}&date={DAY}&impression=1")).text()
    assert '<body class="impression">' in page and "<header>" not in page and "<nav" not in page
    assert "<form" not in page and "Pointage" not in page
    assert seeded["dupont"].reference in page and "Imprimé le mardi 2 mars 2027 à 10:15" in page


async def test_the_week_view_counts_each_day(client, seeded):
    await sign_in(client)
    await mark(client, seeded["dupont"].reference, "present")
    page = await (await client.get(f"/agenda/semaine?site={MAIRIE}&date={DAY + timedelta(days=2)}")).text()
    assert "semaine du lundi 1er mars au dimanche 7 mars 2027" in page
    assert page.count('<section class="day"') == 7
    tuesday = re.search(r'<tr><th scope="row"><a href="[^"]+">mardi 2 mars</a></th>(.*?)</tr>', page, re.S)
    assert re.findall(r"<td>(\d+)</td>", tuesday.group(1)) == ["3", "1", "0", "2", "1"]
    assert "dimanche 7 mars</a> (fermé)" in page
    assert "/agenda/pointage" not in page  # attendance is marked on the day view


async def test_the_csv_export_guards_against_formulas(client, seeded):
    await sign_in(client)
    response = await client.get(f"/agenda/jour.csv?site={MAIRIE}&date={DAY}")
    assert response.status == 200 and response.content_type == "text/csv"
    assert f'filename="rendez-vous-{MAIRIE}-{DAY}.csv"' in response.headers["Content-Disposition"]
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["Site", "Date", "Heure", "Durée (min)", "Référence"]
    assert [r[7] for r in rows[1:]] == ["Dupont", "Lefèvre", "Martin", "'=Durand<b>"]
    assert rows[2][8:10] == ["réservé", "oui"] and rows[3][8] == "annulé"


# ---- present / absent -----------------------------------------------------------------------------------


async def test_marking_present_is_stored_with_the_agent_and_redirects(client, db_url, seeded, caplog):
    await sign_in(client)
    reference = seeded["lefevre"].reference
    with caplog.at_level("DEBUG"):
        response = await mark(client, reference, "present")
    assert "attendance marked honoured" in caplog.text and reference not in caplog.text
    assert response.status == 303
    assert response.headers["Location"].startswith(f"/agenda/jour?site={MAIRIE}&date={DAY}&fait=present&ref=")
    status, by, at, _ = stored(db_url, reference)
    with session_scope(db_url) as s:
        jeanne = s.execute(select(auth.Agent.id).where(auth.Agent.login == "jeanne")).scalar_one()
    assert (status, by, at) == ("honoured", jeanne, datetime(2027, 3, 2, 10, 15))
    page = await (await client.get(response.headers["Location"])).text()
    assert f'<p class="notice" role="status">{reference} : présent.</p>' in page
    assert "1 présent" in page and "Annuler le pointage" in page
    await mark(client, reference, "a_venir")
    assert stored(db_url, reference)[0] == "booked"


async def test_marking_needs_the_session_csrf_token(client, db_url, seeded):
    await sign_in(client)
    response = await mark(client, seeded["dupont"].reference, "present", csrf="forged")
    assert response.status == 403 and stored(db_url, seeded["dupont"].reference)[0] == "booked"


async def test_an_absence_frees_the_pre_application_at_ants_and_can_be_undone(client, db_url, seeded, ants):
    await sign_in(client)
    reference = seeded["dupont"].reference
    assert (await mark(client, reference, "absent")).status == 303
    assert stored(db_url, reference)[0::3] == ("no_show", [])
    withdrawal = ants.requests[-1]
    assert withdrawal["method"] == "DELETE" and ("application_id", VALIDATED) in withdrawal["query"]
    page = await (await client.get(f"/agenda/jour?site={MAIRIE}&date={DAY}")).text()
    assert "1 absent" in page
    # Marked by mistake: undone, the number is held again and declared again.
    assert (await mark(client, reference, "present")).status == 303
    assert stored(db_url, reference)[0::3] == ("honoured", [VALIDATED])
    assert ants.requests[-1]["method"] == "POST"


async def test_undoing_an_absence_fails_when_the_number_was_booked_again(client, db_url, seeded):
    await sign_in(client)
    reference = seeded["dupont"].reference
    await mark(client, reference, "absent")
    again = engine.Slot(MAIRIE, datetime.combine(DAY + timedelta(days=7), time(9, 0)), 15)
    engine.book(again, reason="CNI", people=1, surname="Dupont", application_ids=[VALIDATED], channel="pages",
                sender_id="x", now=BOOKED_AT, url=db_url)  # fmt: skip
    response = await mark(client, reference, "a_venir")
    assert response.status == 409
    assert f"repris par un autre rendez-vous : {reference} reste absent." in await text_of(response)
    assert stored(db_url, reference)[0] == "no_show"


async def test_what_cannot_be_marked_is_explained(client, db_url, seeded, clock):
    await sign_in(client)
    response = await mark(client, seeded["durand"].reference, "absent")  # 14:00, it is 10:15
    assert response.status == 409 and "n'a pas encore commencé (14:00)" in await text_of(response)
    response = await mark(client, seeded["martin"].reference, "present")
    assert response.status == 409 and "est annulé : rien à pointer" in await text_of(response)
    response = await mark(client, seeded["dupont"].reference, "present", site=COTEAUX)  # not that site's
    assert response.status == 409 and "Rendez-vous introuvable." in await text_of(response)
    response = await mark(client, "<script>", "present")
    assert response.status == 400 and "<script>" not in await text_of(response)
    clock["now"] = UTC_AT_1015 - timedelta(days=1)
    response = await mark(client, seeded["dupont"].reference, "present")
    assert response.status == 409 and "n'a lieu que le mardi 2 mars 2027" in await text_of(response)
    assert stored(db_url, seeded["dupont"].reference)[0] == "booked"


# ---- extra openings and closures --------------------------------------------------------------------------


async def test_opening_extra_slots_on_a_sunday(client, db_url):
    await sign_in(client)
    sunday = DAY + timedelta(days=5)
    csrf = await csrf_of(client, "/agenda/ouvrir")
    form = {"csrf": csrf, "site": MAIRIE, "du": str(sunday), "au": str(sunday), "debut1": "09:00",
            "fin1": "12:00", "debut2": "", "fin2": "", "jours": ["5", "6"], "postes": "1"}  # fmt: skip
    response = await client.post("/agenda/ouvrir", data=form, allow_redirects=False)
    assert response.status == 303 and "fait=ouvert&plages=1&creneaux=12" in response.headers["Location"]
    with session_scope(db_url) as s:
        rows = s.execute(select(ExtraOpening.day, ExtraOpening.start_time, ExtraOpening.stations)).all()
    assert rows == [(sunday, time(9), 1)]
    slots = engine.available_slots([MAIRIE], sunday, sunday, 15, now=BOOKED_AT, url=db_url)
    assert len(slots) == 12
    page = await (await client.get(response.headers["Location"])).text()
    assert "1 plage(s) ajoutée(s), 12 créneau(x)." in page and "09:00–12:00 (1 poste(s))" in page
    again = await client.post("/agenda/ouvrir", data=form, allow_redirects=False)
    assert "plages=0" in again.headers["Location"] and "identiques=1" in again.headers["Location"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"fin1": "08:00"}, "Plage 09:00-08:00 : la fin doit être après le début."),
        ({"debut1": "09:10"}, "grille de 15 minutes"),
        ({"debut2": "11:00", "fin2": "13:00"}, "se chevauchent"),
        ({"fin1": "soon"}, "Plage 1 : heure invalide (attendu HH:MM)."),
        ({"du": "2027-03-01", "au": "2027-02-20"}, "La fin de la période est avant son début."),
        ({"du": "2027-03-01"}, "Le premier jour (01/03/2027) est passé."),
        ({"jours": []}, "Cochez au moins un jour de la semaine."),
        ({"jours": ["", "9", "lun"]}, "Cochez au moins un jour de la semaine."),
        ({"postes": "30"}, "Nombre de postes invalide (entre 1 et 20)."),
        ({"site": ROUND}, "ne relève pas de vos services"),
    ],
)
async def test_opening_refusals_keep_what_was_typed(client, db_url, change, message):
    await sign_in(client)
    csrf = await csrf_of(client, "/agenda/ouvrir")
    form = {"csrf": csrf, "site": MAIRIE, "du": "2027-03-07", "au": "2027-03-07", "debut1": "09:00",
            "fin1": "12:00", "jours": ["6"], **change}  # fmt: skip
    response = await client.post("/agenda/ouvrir", data=form)
    page = await response.text()
    assert response.status in (400, 404) and message in page
    if response.status == 400:
        assert f'value="{form["debut1"]}"' in page and 'role="alert"' in page
    with session_scope(db_url) as s:
        assert s.execute(select(ExtraOpening)).first() is None


async def test_closing_a_day_with_appointments_asks_then_keeps_and_lists_them(client, db_url, clock, seeded):
    clock["now"] = UTC_AT_1015 - timedelta(days=1)
    await sign_in(client)
    csrf = await csrf_of(client, "/agenda/fermer")
    form = {"csrf": csrf, "site": MAIRIE, "date": str(DAY), "motif": "  panne   du dispositif "}
    response = await client.post("/agenda/fermer", data=form)
    page = await response.text()
    assert (
        response.status == 409 and "Fermeture refusée :</strong> 3 rendez-vous le mardi 2 mars 2027" in page
    )
    assert seeded["lefevre"].reference in page and "l@example.org" in page and "0612345678" in page
    assert 'name="forcer" value="1"' in page and "Fermer quand même" in page
    with session_scope(db_url) as s:
        assert s.execute(select(Closure).where(Closure.day == DAY)).first() is None

    response = await client.post("/agenda/fermer", data={**form, "forcer": "1"}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].endswith("fait=ferme")
    with session_scope(db_url) as s:
        assert (
            s.execute(select(Closure.reason).where(Closure.day == DAY)).scalar_one() == "panne du dispositif"
        )
    page = await (await client.get(response.headers["Location"])).text()
    assert "Fermeture enregistrée" in page and "<strong>Fermé :</strong> panne du dispositif" in page
    assert "3 rendez-vous\nrestent réservés" in page and "l@example.org" in page
    assert (
        engine.get_appointment(seeded["lefevre"].reference, surname="Lefèvre", url=db_url).status == "booked"
    )
    again = await client.post("/agenda/fermer", data=form, allow_redirects=False)
    assert again.headers["Location"].endswith("fait=deja_ferme")


async def test_closing_refusals(client, db_url):
    await sign_in(client)
    csrf = await csrf_of(client, "/agenda/fermer")
    cases = [
        ({"site": MAIRIE, "date": "2027-03-01", "motif": "x"}, 400, "Le 01/03/2027 est passé."),
        ({"site": MAIRIE, "date": "2027-03-09", "motif": "   "}, 400, "Le motif ne peut pas être vide."),
        ({"site": MAIRIE, "date": "demain", "motif": "x"}, 400, "Date invalide pour le jour"),
        ({"site": "tous", "date": "2027-03-09", "motif": "grève"}, 404, "ne relève pas de vos services"),
    ]
    for form, status, message in cases:
        response = await client.post("/agenda/fermer", data={"csrf": csrf, **form})
        assert response.status == status and message in await text_of(response), message
    with session_scope(db_url) as s:
        assert s.execute(select(Closure).where(Closure.source == "agent")).first() is None
