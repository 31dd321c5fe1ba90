"""Signalements (reports/): the content file, dangers and categories in citizens' words, the
reference format, the same problem reported twice (distances and addresses), tracking with the
second factor, and the personal data purge — on a fresh SQLite database with a fixed clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from booking.models import Report
from booking.seed import migrate
from core.content import ContentError
from core.db import session_scope
from reports import store
from reports.config import DEFAULT_REPORTS_FILE, load_reports_config, match_category, match_danger
from reports.privacy import forget_sender, purge_reports
from reports.store import NewReport, Place, distance_m, find_same, new_reference, save_report
from reports.tracking import ReportTrackingAdapter
from tracking.connector import FileNotFound, normalise_reference

NOW = datetime(2026, 11, 30, 9, 0)
MAIRIE = (47.9029, 1.9093)  # the demo town hall
CONFIG = load_reports_config()


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'reports.db'}"
    migrate(url)
    return url


def report(place: Place, category: str = "voirie", **extra) -> NewReport:
    values = dict(
        category=category,
        service="services_techniques",
        place=place,
        description="trou profond au milieu de la chaussée",
        channel="rest",
        sender_id="alice",
    )
    values.update(extra)
    return NewReport(**values)


def north_of(point, metres: float) -> Place:
    latitude = point[0] + metres / 111_195.0
    return Place("location", "Position partagée", latitude, point[1])


# ---- the content file -------------------------------------------------------------------------------


def test_the_demo_file_lists_the_eight_categories_with_known_services():
    assert [c.key for c in CONFIG.categories] == [
        "voirie", "eclairage", "proprete", "graffiti", "mobilier", "espaces_verts", "stationnement", "animal",
    ]  # fmt: skip
    assert CONFIG.category("stationnement").service == "police_municipale"
    assert all(len(c.label) <= 20 for c in CONFIG.categories)


def test_emergency_numbers_are_given_for_gas_and_electricity():
    assert "0 800 47 33 33" in CONFIG.danger("gaz").advice
    assert "09 726 750 45" in CONFIG.danger("electricite").advice
    for danger in CONFIG.dangers:
        assert re.search(r"\b(18|112|17)\b", danger.advice), danger.key


def test_a_service_unknown_to_the_territory_is_refused_in_french(tmp_path):
    path = tmp_path / "reports.yml"
    source = DEFAULT_REPORTS_FILE.read_text(encoding="utf-8")
    path.write_text(source.replace("service: environnement", "service: voirie_inconnue", 1), encoding="utf-8")
    with pytest.raises(ContentError) as error:
        load_reports_config(path)
    assert "voirie_inconnue" in str(error.value) and "territoire" in str(error.value)


@pytest.mark.parametrize(
    "text, key",
    [
        ("ça sent le gaz dans toute la rue", "gaz"),
        ("CA SENT LE GAZ", "gaz"),
        ("un cable electrique est tombé sur le trottoir", "electricite"),
        ("la rue est inondée, l'eau monte", "inondation"),
        ("une voiture en feu sur le parking", "incendie"),
    ],
)
def test_dangers_are_found_in_citizens_words(text, key):
    assert match_danger(CONFIG, text).key == key


@pytest.mark.parametrize(
    "text, key",
    [
        ("je veux signaler un nid de poule dans ma rue", "voirie"),
        ("le lampadaire devant chez moi ne marche plus", "eclairage"),
        ("y a des dechets balancés dans le bois", "proprete"),
        ("quelqu'un a fait des tags sur le mur", "graffiti"),
        ("le banc du parc est cassé", "mobilier"),
        ("une voiture mal garée devant mon garage", "stationnement"),
        ("un chien errant près de la gare", "animal"),
    ],
)
def test_categories_are_found_in_citizens_words(text, key):
    assert match_category(CONFIG, text).key == key


def test_whole_words_only_and_the_first_named_category_wins():
    assert match_category(CONFIG, "j'habite au troisième étage") is None  # « tag » is not in « étage »
    assert match_category(CONFIG, "une branche est tombée sur le banc").key == "espaces_verts"
    assert match_category(CONFIG, "il y a un souci") is None
    assert match_danger(CONFIG, "x" * 100_000) is None  # huge input: cut, no error


# ---- references and places ----------------------------------------------------------------------------


def test_reference_format_and_tracking_normalisation():
    reference = new_reference(2026)
    assert re.fullmatch(r"SIG-2026-\d{6}", reference)
    assert normalise_reference("sig 2026 004217") == "SIG-2026-004217"
    assert normalise_reference("SIG-2026-004217") == "SIG-2026-004217"


def test_references_are_not_a_sequence(url):
    references = [
        save_report(report(Place("described", f"lieu {i}")), forward=False, now=NOW, url=url).report.reference
        for i in range(30)
    ]
    numbers = sorted(int(r[-6:]) for r in references)
    assert len(set(references)) == 30
    assert numbers != list(range(numbers[0], numbers[0] + 30))


def test_distance_of_known_points():
    assert distance_m(*MAIRIE, *MAIRIE) == 0
    assert 49 < distance_m(*MAIRIE, north_of(MAIRIE, 49.5).latitude, MAIRIE[1]) < 50
    # Paris (Notre-Dame) to Orléans (cathedral): about 111 km as the crow flies
    assert 110_000 < distance_m(48.8530, 2.3499, 47.9020, 1.9099) < 112_000


# ---- the same problem reported twice -------------------------------------------------------------------


def test_same_category_within_50_m_in_7_days_counts_on_the_first_report(url):
    first = save_report(report(north_of(MAIRIE, 0)), forward=False, now=NOW, url=url)
    again = save_report(report(north_of(MAIRIE, 45)), forward=False, now=NOW + timedelta(days=6), url=url)
    assert again.duplicate and again.report.reference == first.report.reference
    assert again.report.reporters == 2
    with session_scope(url) as session:
        assert session.execute(select(Report)).scalars().all()[0].reporters == 2


@pytest.mark.parametrize(
    "change",
    [
        {"metres": 60},  # too far
        {"days": 8},  # too old
        {"category": "eclairage"},  # another problem
    ],
)
def test_a_new_report_when_far_old_or_another_category(url, change):
    first = save_report(report(north_of(MAIRIE, 0)), forward=False, now=NOW, url=url)
    later = NOW + timedelta(days=change.get("days", 1))
    second = save_report(
        report(north_of(MAIRIE, change.get("metres", 10)), category=change.get("category", "voirie")),
        forward=False,
        now=later,
        url=url,
    )
    assert not second.duplicate and second.report.reference != first.report.reference


def test_same_address_is_the_same_place_but_described_places_are_never_merged(url):
    address = Place("address", "12 Rue Pasteur, Villebrune")
    first = save_report(report(address), forward=False, now=NOW, url=url)
    assert find_same(
        "voirie", Place("address", "12 rue pasteur, villebrune"), now=NOW, url=url
    ).reference == (first.report.reference)
    described = Place("described", "devant l'école Jean Moulin")
    save_report(report(described), forward=False, now=NOW, url=url)
    assert not save_report(report(described), forward=False, now=NOW, url=url).duplicate


def test_a_closed_report_is_not_reopened(url):
    first = save_report(report(north_of(MAIRIE, 0)), forward=False, now=NOW, url=url)
    store.set_status(first.report.reference, "closed", now=NOW, url=url)
    assert not save_report(report(north_of(MAIRIE, 5)), forward=False, now=NOW, url=url).duplicate


# ---- tracking ---------------------------------------------------------------------------------------------


async def test_tracking_needs_the_contact_given_and_says_the_same_for_unknown(url):
    saved = save_report(
        report(Place("described", "place du marché"), contact_email="Marie.Dupont@example.fr"),
        forward=False,
        now=NOW,
        url=url,
    )
    adapter = ReportTrackingAdapter(url)
    status = await adapter.lookup(saved.report.reference, "marie.dupont@example.fr")
    assert status.kind == "report" and status.stage == "received" and "Voirie" in status.title
    with pytest.raises(FileNotFound) as wrong:
        await adapter.lookup(saved.report.reference, "someone@example.fr")
    with pytest.raises(FileNotFound) as unknown:
        await adapter.lookup("SIG-2026-999999", "marie.dupont@example.fr")
    assert str(wrong.value) == str(unknown.value)


async def test_tracking_by_phone_and_never_without_a_contact(url):
    by_phone = save_report(
        report(Place("described", "rue haute"), contact_phone="0612345678"), forward=False, now=NOW, url=url
    )
    anonymous = save_report(report(Place("described", "rue basse")), forward=False, now=NOW, url=url)
    adapter = ReportTrackingAdapter(url)
    assert (await adapter.lookup(by_phone.report.reference, "+33 6 12 34 56 78")).reference == (
        by_phone.report.reference
    )
    for guess in ("", "x", "0000000000"):
        with pytest.raises(FileNotFound):
            await adapter.lookup(anonymous.report.reference, guess)


# ---- personal data ---------------------------------------------------------------------------------


def test_purge_and_forget_erase_contact_and_conversation_but_keep_the_place(url):
    old = save_report(
        report(Place("described", "rue du four"), contact_email="a@example.fr", sender_id="bob"),
        forward=False,
        now=NOW - timedelta(days=200),
        url=url,
    )
    recent = save_report(
        report(Place("described", "rue du puits"), contact_email="b@example.fr", sender_id="carol"),
        forward=False,
        now=NOW,
        url=url,
    )
    assert purge_reports(180, now=NOW, url=url).reports == 1
    assert purge_reports(180, now=NOW, url=url).reports == 0  # idempotent
    erased = store.find_report(old.report.reference, url=url)
    assert erased.contact_email is None and erased.place == "rue du four"
    assert store.find_report(recent.report.reference, url=url).contact_email == "b@example.fr"
    assert forget_sender("rest", "carol", now=NOW, url=url).reports == 1
    assert store.find_report(recent.report.reference, url=url).contact_email is None


def test_agents_update_the_status_the_citizen_reads(url, monkeypatch, capsys):
    from reports import cli

    monkeypatch.setenv("GRU_DATABASE_URL", url)
    saved = save_report(report(Place("described", "rue neuve")), forward=False, now=NOW, url=url)
    assert cli.main(["status", saved.report.reference.lower(), "in_progress"]) == 0
    assert "en cours de traitement" in capsys.readouterr().out
    assert store.find_report(saved.report.reference, url=url).status == "in_progress"
    assert cli.main(["status", "SIG-2026-999999", "closed"]) == 1
    assert cli.main(["status", "RDV-ABCDEF", "closed"]) == 2
