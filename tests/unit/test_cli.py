"""Agents' command line (python -m booking.cli) against a seeded SQLite database (the fixture
files' sites)."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from booking import cli, engine, operations
from booking.config import load_booking_config, load_bulky_booking_config
from booking.models import Closure, ExtraOpening
from core.db import session_scope
from core.holidays import french_holidays, holiday_name
from tests.unit.conftest import next_open_day

MAIRIE = "villebrune-mairie"  # 2 stations; Mon-Fri mornings; closed on Sundays
COTEAUX = "villebrune-coteaux"


pytestmark = pytest.mark.usefixtures("fixture_files")


def weekday() -> date:
    return next_open_day()


def book(url, day, at, *, reason="CNI", people=1, surname="Dupont", check=False, email=None):
    slot = engine.Slot(MAIRIE, datetime.combine(day, at), engine.duration_for(reason, people))
    return engine.book(
        slot,
        reason=reason,
        people=people,
        surname=surname,
        channel="rest",
        sender_id="t",
        needs_agent_check=check,
        email=email,
        url=url,
    )


@pytest.fixture
def run(db_url, capsys):
    def _run(*args: str) -> tuple[int, str, str]:
        code = cli.main([*args, "--db", db_url])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return _run


# ---- jour ---------------------------------------------------------------------------------------


def test_jour_table(run, db_url):
    day = weekday()
    first = book(db_url, day, time(9, 0), surname="Dupont")
    second = book(db_url, day, time(10, 0), reason="CNI-PASSPORT", surname="Lefèvre", check=True)
    cancelled = book(db_url, day, time(10, 30), reason="PASSPORT", surname="Martin")
    engine.cancel(cancelled.reference, surname="Martin", url=db_url)

    code, out, _ = run("jour", "--date", day.isoformat())
    assert code == 0
    assert f"Rendez-vous du {cli.day_fr(day)}" in out
    assert "Mairie de Villebrune (villebrune-mairie) — 2 rendez-vous, 1 à vérifier, 1 annulé(s)" in out
    assert "Mairie annexe des Coteaux (villebrune-coteaux)" in out
    lines = out.splitlines()
    row = next(line for line in lines if first.reference in line).split()
    assert row == ["09:00", "15", "min", first.reference, "CNI", "1", "Dupont", "réservé"]
    row = next(line for line in lines if second.reference in line).split()
    assert row == ["10:00", "30", "min", second.reference, "les", "deux", "1", "Lefèvre", "réservé", "oui"]
    assert "passeport" in next(line for line in lines if cancelled.reference in line)
    assert "annulé" in next(line for line in lines if cancelled.reference in line)

    code, out, _ = run("jour", "--date", day.strftime("%d/%m/%Y"), "--site", MAIRIE)
    assert code == 0 and first.reference in out and "Coteaux" not in out


def test_jour_csv_file_for_excel(run, db_url, tmp_path):
    day = weekday()
    view = book(db_url, day, time(9, 0), surname="=cmd|' /C calc'!A0", check=True)
    target = tmp_path / "jour.csv"
    code, out, _ = run("jour", "--date", day.isoformat(), "--csv", str(target))
    assert code == 0 and str(target) in out
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == list(operations.CSV_HEADER)
    assert rows[0][:3] == ["Site", "Date", "Heure"] and "Référence" in rows[0] and "À vérifier" in rows[0]
    assert rows[1] == [
        "Mairie de Villebrune",
        day.strftime("%d/%m/%Y"),
        "09:00",
        "15",
        view.reference,
        "CNI",
        "1",
        "'=cmd|' /C calc'!A0",
        "réservé",
        "oui",
        "",
        "",
    ]
    assert len(rows) == 2


def test_jour_csv_on_stdout(run, db_url):
    day = weekday()
    view = book(db_url, day, time(9, 0))
    code, out, _ = run("jour", "--date", day.isoformat(), "--csv", "-")
    assert code == 0
    assert out.startswith("\ufeffSite;Date;Heure;")
    assert f";{view.reference};" in out


def test_jour_shows_the_bulky_waste_address_and_items(run, db_url, tmp_path):
    config = load_bulky_booking_config()
    day = next_open_day({1, 3})  # the rounds run on Tuesdays and Thursdays
    slot = engine.Slot("encombrants-villebrune", datetime.combine(day, time(8, 0)), 240)
    view = engine.book(
        slot,
        reason="ENCOMBRANTS",
        people=1,
        surname="Durand",
        channel="rest",
        sender_id="t",
        address="3 rue Pasteur",
        items="un canapé, deux chaises",
        url=db_url,
        config=config,
    )
    assert (view.address, view.items) == ("3 rue Pasteur", "un canapé, deux chaises")
    code, out, _ = run("jour", "--date", day.isoformat(), "--site", "encombrants-villebrune")
    lines = out.splitlines()
    row = next(i for i, line in enumerate(lines) if view.reference in line)
    assert "encombrants" in lines[row]
    assert lines[row + 1].strip() == "Adresse : 3 rue Pasteur — Objets : un canapé, deux chaises"
    target = tmp_path / "jour.csv"
    run("jour", "--date", day.isoformat(), "--csv", str(target))
    rows = list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][-2:] == ["Adresse", "Objets"]
    assert rows[1][-2:] == ["3 rue Pasteur", "un canapé, deux chaises"]


def test_jour_empty_day(run):
    code, out, _ = run("jour", "--date", next_open_day({6}).isoformat())
    assert code == 0
    assert out.count("Aucun rendez-vous.") == 3 and "pas de permanence" in out  # 2 mairies + encombrants


# ---- ouvrir -------------------------------------------------------------------------------------


def test_ouvrir_on_a_sunday_adds_bookable_slots(run, db_url):
    sunday = next_open_day({6})
    assert engine.available_slots([MAIRIE], sunday, sunday, 15, url=db_url) == []
    code, out, _ = run(
        "ouvrir",
        "--site",
        MAIRIE,
        "--du",
        sunday.isoformat(),
        "--au",
        sunday.isoformat(),
        "--heures",
        "09:00-12:00",
        "--heures",
        "14:00-16:00",
    )
    assert code == 0
    assert "1 jour(s), 2 plage(s), 40 créneau(x) de 15 min (2 poste(s))" in out
    slots = engine.available_slots([MAIRIE], sunday, sunday, 15, url=db_url)
    assert [s.start.time() for s in slots][:2] == [time(9, 0), time(9, 15)]
    assert len(slots) == 12 + 8
    assert slots[-1].start == datetime.combine(sunday, time(15, 45))
    # and they can be booked, on both stations
    for name in ("Un", "Deux"):
        engine.book(
            slots[0], reason="CNI", people=1, surname=name, channel="rest", sender_id=name, url=db_url
        )

    code, out, _ = run(
        "ouvrir",
        "--site",
        MAIRIE,
        "--du",
        sunday.isoformat(),
        "--au",
        sunday.isoformat(),
        "--heures",
        "09:00-12:00",
        "--heures",
        "14:00-16:00",
    )
    assert code == 0 and "Aucune ouverture ajoutée" in out and "2 plage(s) déjà ouverte(s)" in out
    with session_scope(db_url) as session:
        assert session.execute(select(func.count(ExtraOpening.id))).scalar_one() == 2


def test_ouvrir_only_on_chosen_weekdays_with_fewer_stations(run, db_url):
    closed = {c.date for c in load_booking_config().closures}
    monday = next_open_day({0}, min_days_ahead=1)
    while any(
        holiday_name(d) or d in closed for d in (monday + timedelta(days=5), monday + timedelta(days=6))
    ):
        monday += timedelta(days=7)
    sunday = monday + timedelta(days=6)
    code, out, _ = run(
        "ouvrir",
        "--site",
        MAIRIE,
        "--du",
        monday.isoformat(),
        "--au",
        sunday.isoformat(),
        "--heures",
        "9h-10h",
        "--jours",
        "samedi,dim",
        "--postes",
        "1",
    )
    assert code == 0
    with session_scope(db_url) as session:
        rows = session.execute(select(ExtraOpening).order_by(ExtraOpening.day)).scalars().all()
    # Saturday 09:00-10:00 overlaps the Saturday hours (09:00-11:45): not added, reported.
    assert [(r.day, r.start_time, r.end_time, r.stations) for r in rows] == [(sunday, time(9), time(10), 1)]
    assert "chevauchent" in out and "09:00-11:45" in out
    assert "1 jour(s), 1 plage(s), 4 créneau(x) de 15 min (1 poste(s))" in out


def test_ouvrir_skips_public_holidays(run, db_url):
    today = engine.local_now().date()
    holidays = sorted({**french_holidays(today.year), **french_holidays(today.year + 1)})
    holiday = next(d for d in holidays if d > today)
    code, out, _ = run(
        "ouvrir",
        "--site",
        MAIRIE,
        "--du",
        holiday.isoformat(),
        "--au",
        holiday.isoformat(),
        "--heures",
        "09:00-12:00",
    )
    assert code == 0 and "Aucune ouverture ajoutée" in out and "jour férié" in out
    with session_scope(db_url) as session:
        assert session.execute(select(func.count(ExtraOpening.id))).scalar_one() == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--heures", "12:00-09:00"], "la fin doit être après le début"),
        (["--heures", "9 à 12"], "plage horaire invalide"),
        (["--heures", "09:10-12:00"], "grille de 15 minutes"),
        (["--heures", "09:00-12:00", "--heures", "11:00-13:00"], "se chevauchent"),
        (["--heures", "09:00-12:00", "--jours", "lun,xyz"], "jour inconnu"),
        (["--heures", "09:00-12:00", "--postes", "0"], "nombre de postes invalide"),
    ],
)
def test_ouvrir_bad_hours(run, args, message):
    sunday = next_open_day({6}).isoformat()
    code, _, err = run("ouvrir", "--site", MAIRIE, "--du", sunday, "--au", sunday, *args)
    assert code == 2
    assert message in err


def test_ouvrir_bad_period(run):
    sunday = next_open_day({6})
    saturday = (sunday - timedelta(days=1)).isoformat()
    code, _, err = run(
        "ouvrir", "--site", MAIRIE, "--du", sunday.isoformat(), "--au", saturday, "--heures", "9h-12h"
    )
    assert code == 2 and "la fin de la période est avant son début" in err
    past = (engine.local_now().date() - timedelta(days=3)).isoformat()
    code, _, err = run(
        "ouvrir", "--site", MAIRIE, "--du", past, "--au", sunday.isoformat(), "--heures", "9h-12h"
    )
    assert code == 2 and "est passé" in err


# ---- fermer -------------------------------------------------------------------------------------


def test_fermer_refuses_while_appointments_are_live_then_forcer(run, db_url):
    day = weekday()
    view = book(db_url, day, time(9, 0), surname="Lefèvre", email="l@example.org")
    code, out, _ = run(
        "fermer", "--site", MAIRIE, "--date", day.isoformat(), "--motif", "panne du dispositif"
    )
    assert code == 1
    assert "Fermeture refusée : 1 rendez-vous" in out
    assert view.reference in out and "Lefèvre" in out and "l@example.org" in out and "09:00" in out
    assert engine.closed_reason(MAIRIE, day, url=db_url) is None

    code, out, _ = run("fermer", "--tous", "--date", day.isoformat(), "--motif", "grève")
    assert code == 1 and view.reference in out

    code, out, _ = run(
        "fermer", "--site", MAIRIE, "--date", day.isoformat(), "--motif", "panne du dispositif", "--forcer"
    )
    assert code == 0
    assert "Fermeture enregistrée" in out and "prévenez les usagers" in out and view.reference in out
    assert engine.closed_reason(MAIRIE, day, url=db_url) == "panne du dispositif"
    assert engine.available_slots([MAIRIE], day, day, 15, url=db_url) == []
    # the appointment is kept (agents call the citizen and move it)
    assert engine.get_appointment(view.reference, surname="Lefèvre", url=db_url).status == "booked"


def test_fermer_without_appointments_and_twice(run, db_url):
    day = weekday()
    code, out, _ = run("fermer", "--site", COTEAUX, "--date", day.isoformat(), "--motif", "inventaire")
    assert code == 0 and "Fermeture enregistrée" in out
    code, out, _ = run("fermer", "--site", COTEAUX, "--date", day.isoformat(), "--motif", "inventaire")
    assert code == 0 and "Déjà fermé" in out
    code, out, _ = run("fermer", "--tous", "--date", day.isoformat(), "--motif", "pont")
    assert code == 0
    with session_scope(db_url) as session:
        rows = session.execute(select(Closure.site_id, Closure.source).where(Closure.day == day)).all()
    assert sorted(rows, key=str) == sorted([(COTEAUX, "agent"), (None, "agent")], key=str)
    assert engine.closed_reason(MAIRIE, day, url=db_url) == "pont"


def test_fermer_needs_a_site_or_tous(run):
    code, _, err = run("fermer", "--date", weekday().isoformat(), "--motif", "x")
    assert code == 2 and "l'une de ces options est obligatoire" in err


# ---- sites --------------------------------------------------------------------------------------


def test_sites(run):
    code, out, _ = run("sites")
    assert code == 0
    assert "villebrune-mairie — Mairie de Villebrune" in out
    assert "villebrune-coteaux — Mairie annexe des Coteaux" in out
    assert "2 poste(s) biométrique(s)" in out and "1 poste(s) biométrique(s)" in out
    assert "  samedi    09:00-11:45" in out
    assert "  jeudi     08:45-11:45, 13:45-18:30" in out


# ---- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["jour", "--date", "2026-02-30"], "date invalide « 2026-02-30 »"),
        (["jour", "--date", "demain matin"], "date invalide"),
        (["jour", "--site", "nulle-part"], "site inconnu « nulle-part »"),
        (["fermer", "--site", "nulle-part", "--date", "2099-01-05", "--motif", "x"], "site inconnu"),
        (
            [
                "ouvrir",
                "--site",
                "nulle-part",
                "--du",
                "2099-01-04",
                "--au",
                "2099-01-04",
                "--heures",
                "9h-12h",
            ],
            "site inconnu",
        ),
        (["fermer", "--site", MAIRIE, "--date", "2020-01-06", "--motif", "x"], "est passé"),
        (["ouvrir", "--site", MAIRIE, "--du", "2099-01-04"], "arguments obligatoires manquants"),
        (["inconnue"], "choix invalide"),
    ],
)
def test_bad_input_exits_2_in_french(run, args, message):
    code, _, err = run(*args)
    assert code == 2
    assert message in err


def test_missing_database_exits_1(tmp_path, capsys):
    missing = tmp_path / "absente.db"
    assert cli.main(["jour", "--db", f"sqlite:///{missing}"]) == 1
    assert capsys.readouterr().err.strip() == cli.MISSING_DATABASE
    assert not missing.exists()

    empty = tmp_path / "vide.db"
    sqlite3.connect(empty).close()
    assert cli.main(["sites", "--db", f"sqlite:///{empty}"]) == 1
    assert "Base de rendez-vous absente" in capsys.readouterr().err


def test_help_is_french(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "utilisation :" in out and "afficher cette aide" in out and "ouvrir" in out
