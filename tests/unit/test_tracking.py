"""Request / subsidy tracking: common API and the demo (YAML) adapter."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from tracking.connector import (
    STAGE_FR,
    STAGES,
    FileNotFound,
    FileStatus,
    TrackingConnector,
    connector_from_env,
    decision_text_fr,
    format_amount_fr,
    normalise_name,
    normalise_reference,
    second_factor_matches,
)
from tracking.local import (
    DEFAULT_TRACKING_FILE,
    LocalTrackingAdapter,
    TrackingConfigError,
    load_tracking_file,
    parse_tracking_file,
)
from tracking.publik import PublikWcsAdapter


@pytest.fixture(scope="module")
def adapter() -> LocalTrackingAdapter:
    return LocalTrackingAdapter(DEFAULT_TRACKING_FILE)


# --- normalise_reference ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DEM-2026-004217", "DEM-2026-004217"),
        ("dem-2026-004217", "DEM-2026-004217"),
        ("DEM 2026 004217", "DEM-2026-004217"),
        ("  Dem_2026_004217. ", "DEM-2026-004217"),
        ("DEM2026004217", "DEM-2026-004217"),
        ("DEM-2026-4217", "DEM-2026-4217"),  # digits kept as given
        ("SUB-2026-0042", "SUB-2026-0042"),
        ("sub 2026-0042", "SUB-2026-0042"),
        ("n° SUB-2026-0042", "SUB-2026-0042"),
        ("référence : DEM-2026-004217", "DEM-2026-004217"),
        ("12-3456", "12-3456"),
        ("12 3456", "12-3456"),
        ("7-815", "7-815"),
        ("« 12-3456 »", "12-3456"),
    ],
)
def test_normalise_reference(text, expected):
    assert normalise_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "bonjour",
        "DEM",
        "DEM-26-004217",
        "XYZ-2026-004217",
        "DEM-2026-",
        "123456",
        "12-3456-7",
        None,
    ],
)
def test_normalise_reference_rejects(text):
    assert normalise_reference(text) is None


# --- second factor ---------------------------------------------------------------------------------


def test_normalise_name_ignores_case_accents_spaces_and_ligatures():
    assert normalise_name("Le Gall") == normalise_name("le-gall") == normalise_name("LEGALL") == "legall"
    assert normalise_name("Éluard") == normalise_name("eluard")
    assert normalise_name("Œuvray") == "oeuvray"


def test_second_factor_matches():
    assert second_factor_matches(" Camille.Lefevre@Example.ORG ", ["camille.lefevre@example.org"], [])
    assert not second_factor_matches("camille.lefevre@example.com", ["camille.lefevre@example.org"], [])
    assert second_factor_matches("lefevre", [], ["Lefèvre"])
    assert not second_factor_matches("", [""], [""])
    assert not second_factor_matches("  ", [], ["Lefèvre"])
    assert not second_factor_matches("Lefèvre", ["lefevre@example.org"], [])  # a name is not an e-mail


def test_amounts_and_decisions_in_french():
    assert format_amount_fr(1500) == "1 500 €"
    assert format_amount_fr(1234.5) == "1 234,50 €"
    assert format_amount_fr(800) == "800 €"
    assert decision_text_fr("accepted", "subsidy", 1500) == "accordée : 1 500 €"
    assert decision_text_fr("accepted", "request") == "acceptée"
    assert decision_text_fr("refused", "subsidy") == "refusée"
    assert decision_text_fr(None, "request") is None


# --- demo file -------------------------------------------------------------------------------------


def test_demo_file_covers_every_stage_and_kind(adapter):
    demo = load_tracking_file(DEFAULT_TRACKING_FILE)
    assert len(demo.files) >= 12
    assert {f.history[-1].stage for f in demo.files} == set(STAGES)
    assert {f.kind for f in demo.files} == {"request", "subsidy"}
    assert any(f.reference[0].isdigit() for f in demo.files)  # legacy numbers
    assert any(f.decision == "refused" for f in demo.files)
    assert any(f.kind == "subsidy" and f.amount_granted for f in demo.files)
    assert all(f.history[-1].date.year == 2026 for f in demo.files)


def test_demo_services_exist_in_territory():
    from core.territory import load_territory

    territory = load_territory()
    for item in load_tracking_file(DEFAULT_TRACKING_FILE).files:
        assert item.service in territory.services, item.reference


def test_adapter_is_a_tracking_connector(adapter):
    assert isinstance(adapter, TrackingConnector)


# --- lookups: every stage --------------------------------------------------------------------------


async def test_received(adapter):
    status = await adapter.lookup("DEM-2026-004302", "Nguyen")
    assert status == FileStatus(
        reference="DEM-2026-004302",
        kind="request",
        title="Inscription scolaire",
        stage="received",
        stage_fr="reçue",
        decision_fr=None,
        last_change=date(2026, 11, 23),
        next_step_fr=(
            "Votre dossier est bien enregistré. Un agent va le vérifier puis l'instruire : "
            "vous n'avez rien à faire pour le moment."
        ),
        service="scolaire",
    )


async def test_in_progress_with_custom_next_step(adapter):
    status = await adapter.lookup("dem 2026 004217", "camille.lefevre@example.org")
    assert status.reference == "DEM-2026-004217"
    assert (status.stage, status.stage_fr) == ("in_progress", "en cours d'instruction")
    assert status.title == "Demande de place en crèche"
    assert status.last_change == date(2026, 10, 2)
    assert status.decision_fr is None
    assert "commission d'attribution" in status.next_step_fr


async def test_waiting_document_names_the_missing_document(adapter):
    status = await adapter.lookup("DEM-2026-004218", "le gall")
    assert (status.stage, status.stage_fr) == ("waiting_document", "en attente d'un document de votre part")
    assert status.next_step_fr.startswith("Il manque le plan de masse coté (pièce PCMI2).")
    assert status.service == "urbanisme"


async def test_refused_request(adapter):
    status = await adapter.lookup("DEM-2026-003951", "DUBOIS MARTIN")
    assert (status.stage, status.stage_fr, status.decision_fr) == ("decided", "décidée", "refusée")
    assert "recours gracieux" in status.next_step_fr


async def test_accepted_request(adapter):
    status = await adapter.lookup("DEM-2026-003877", "s.benali@example.com")
    assert (status.stage, status.decision_fr) == ("decided", "acceptée")


async def test_closed_keeps_its_decision(adapter):
    status = await adapter.lookup("DEM-2026-002410", "oeuvray")
    assert (status.stage, status.stage_fr, status.decision_fr) == ("closed", "clôturée", "acceptée")
    assert status.last_change == date(2026, 5, 20)


async def test_legacy_reference_closed_without_decision(adapter):
    status = await adapter.lookup("12 3456", "Rousseau")
    assert (status.reference, status.stage, status.decision_fr) == ("12-3456", "closed", None)
    assert status.service == "services_techniques"


async def test_granted_subsidy_with_amount(adapter):
    status = await adapter.lookup("sub-2026-0042", "contact@amisduparc.example.org")
    assert status.kind == "subsidy"
    assert status.title == "Subvention — Association Les Amis du Parc"
    assert (status.stage, status.decision_fr) == ("decided", "accordée : 1 500 €")
    assert status.last_change == date(2026, 3, 26)
    assert "versée" in status.next_step_fr


async def test_subsidy_waiting_for_document_accent_insensitive(adapter):
    status = await adapter.lookup("SUB-2026-0043", "ELUARD")
    assert status.stage == "waiting_document"
    assert "bilan financier 2025" in status.next_step_fr


async def test_every_stage_has_plain_french(adapter):
    seen = {}
    for item in load_tracking_file(DEFAULT_TRACKING_FILE).files:
        status = await adapter.lookup(item.reference, item.holder.surname)
        assert status.stage_fr == STAGE_FR[status.stage]
        assert status.next_step_fr and status.next_step_fr.endswith(".")
        assert (status.decision_fr is not None) <= (status.stage in ("decided", "closed"))
        seen[status.stage] = status
    assert set(seen) == set(STAGES)


# --- second factor and unknown references: the same error ------------------------------------------


@pytest.mark.parametrize(
    ("reference", "second_factor"),
    [
        ("DEM-2026-004217", "Martin"),  # wrong surname
        ("DEM-2026-004217", "camille.lefevre@example.com"),  # wrong e-mail
        ("DEM-2026-004217", ""),
        ("DEM-2026-004217", "Nguyen"),  # the holder of another file
        ("DEM-2026-999999", "Lefèvre"),  # unknown reference
        ("DEM-2026-4217", "Lefèvre"),  # digits are not padded
        ("pas un numéro", "Lefèvre"),
    ],
)
async def test_wrong_second_factor_and_unknown_reference_are_indistinguishable(
    adapter, reference, second_factor
):
    with pytest.raises(FileNotFound) as caught:
        await adapter.lookup(reference, second_factor)
    assert str(caught.value) == str(FileNotFound())
    assert reference not in str(caught.value)


@pytest.mark.parametrize("surname", ["Lefèvre", "lefevre", "LEFEVRE", " Lefèvre ", "lefèvre"])
async def test_surname_is_case_and_accent_insensitive(adapter, surname):
    assert (await adapter.lookup("DEM-2026-004217", surname)).stage == "in_progress"


@pytest.mark.parametrize("surname", ["Da Silva", "dasilva", "DA-SILVA", "da  silva"])
async def test_surname_is_space_insensitive(adapter, surname):
    assert (await adapter.lookup("7-815", surname)).stage == "in_progress"


async def test_email_is_case_insensitive(adapter):
    status = await adapter.lookup("SUB-2026-0051", "ComiteDesFetes@Example.NET")
    assert (status.stage, status.decision_fr) == ("decided", "refusée")


# --- validation ------------------------------------------------------------------------------------


def _file(**overrides) -> dict:
    item = {
        "reference": "DEM-2026-000001",
        "kind": "request",
        "title": "Demande",
        "holder": {"surname": "Durand", "email": "durand@example.org"},
        "service": "accueil",
        "history": [{"date": "2026-10-01", "stage": "received"}],
    }
    item.update(overrides)
    return {"files": [item]}


def test_minimal_file_is_valid():
    assert parse_tracking_file(_file()).files[0].reference == "DEM-2026-000001"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reference": "dem-2026-000001"}, "forme officielle : « DEM-2026-000001 »"),
        ({"reference": "ABC"}, "référence « ABC » invalide"),
        ({"kind": "subsidy"}, "une référence DEM- est de type « request »"),
        ({"kind": "demande"}, "type « demande » inconnu"),
        ({"history": []}, "au moins une étape"),
        ({"history": [{"date": "2026-10-01", "stage": "in_progress"}]}, "commence par l'étape « received »"),
        ({"history": [{"date": "2026-10-01", "stage": "recu"}]}, "étape « recu » inconnue"),
        ({"history": [{"date": "2026-13-01", "stage": "received"}]}, "date invalide"),
        (
            {
                "history": [
                    {"date": "2026-10-05", "stage": "received"},
                    {"date": "2026-10-01", "stage": "in_progress"},
                ]
            },
            "dans l'ordre",
        ),
        (
            {
                "history": [
                    {"date": "2026-10-01", "stage": "received"},
                    {"date": "2026-10-02", "stage": "decided"},
                ]
            },
            "decision : obligatoire",
        ),
        (
            {
                "history": [
                    {"date": "2026-10-01", "stage": "received"},
                    {"date": "2026-10-02", "stage": "waiting_document"},
                ]
            },
            "missing_document : indiquez le document manquant",
        ),
        ({"decision": "accepted"}, "decision : seulement"),
        ({"decision": "maybe"}, "décision « maybe » inconnue"),
        ({"amount_granted": 100}, "amount_granted : seulement pour une subvention acceptée"),
        (
            {"holder": {"surname": "Durand", "email": "pas-un-mail"}},
            "adresse e-mail « pas-un-mail » invalide",
        ),
        ({"holder": {"surname": "Durand"}}, "holder.email : champ obligatoire manquant"),
        ({"service": "Urbanisme"}, "clé de service « Urbanisme » invalide"),
        ({"titre": "x"}, "titre : champ inconnu"),
    ],
)
def test_invalid_files_are_reported_in_french(overrides, message):
    with pytest.raises(TrackingConfigError) as caught:
        parse_tracking_file(_file(**overrides))
    assert str(caught.value).startswith("Fichier invalide : (dictionnaire) (suivi des dossiers")
    assert message in str(caught.value)


def test_granted_subsidy_needs_an_amount():
    raw = _file(
        reference="SUB-2026-0001",
        kind="subsidy",
        history=[{"date": "2026-10-01", "stage": "received"}, {"date": "2026-10-20", "stage": "decided"}],
        decision="accepted",
    )
    with pytest.raises(TrackingConfigError, match="amount_granted : indiquez le montant accordé"):
        parse_tracking_file(raw)


def test_duplicate_reference_is_reported():
    raw = _file()
    raw["files"].append(dict(raw["files"][0]))
    with pytest.raises(TrackingConfigError, match="DEM-2026-000001 apparaît deux fois"):
        parse_tracking_file(raw)


def test_missing_and_unreadable_files(tmp_path: Path):
    with pytest.raises(TrackingConfigError, match="introuvable"):
        LocalTrackingAdapter(tmp_path / "absent.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("files: [\n", encoding="utf-8")
    with pytest.raises(TrackingConfigError, match="illisible"):
        LocalTrackingAdapter(broken)
    empty = tmp_path / "empty.yml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(TrackingConfigError, match="Fichier vide ou mal formé : .*pas un fichier vide"):
        LocalTrackingAdapter(empty)


# --- connector_from_env ----------------------------------------------------------------------------


def test_connector_from_env_defaults_to_local():
    connector = connector_from_env({})
    assert isinstance(connector, LocalTrackingAdapter)
    assert connector.path == DEFAULT_TRACKING_FILE


async def test_connector_from_env_local_with_file(tmp_path: Path):
    path = tmp_path / "tracking.yml"
    path.write_text(yaml.safe_dump(_file(), allow_unicode=True), encoding="utf-8")
    connector = connector_from_env({"GRU_TRACKING": " LOCAL ", "GRU_TRACKING_FILE": str(path)})
    assert isinstance(connector, LocalTrackingAdapter)
    assert (await connector.lookup("DEM-2026-000001", "durand")).stage == "received"


def test_connector_from_env_publik():
    connector = connector_from_env(
        {
            "GRU_TRACKING": "publik",
            "GRU_PUBLIK_URL": "https://demarches.villebrune.example/",
            "GRU_PUBLIK_ORIG": "assistant",
            "GRU_PUBLIK_KEY": "secret-key",
            "GRU_PUBLIK_TIMEOUT": "2.5",
            "GRU_PUBLIK_FORMS": "demande-creche, permis-construire,subvention-association",
            "GRU_PUBLIK_SERVICES": "demande-creche=scolaire,permis-construire=urbanisme",
        }
    )
    assert isinstance(connector, PublikWcsAdapter)
    assert isinstance(connector, TrackingConnector)
    assert connector.forms == ["demande-creche", "permis-construire", "subvention-association"]
    assert connector.timeout_s == 2.5
    assert connector.reference_map == {
        "SUB": ["subvention-association"],
        "DEM": ["demande-creche", "permis-construire"],
    }
    assert connector.services == {"demande-creche": "scolaire", "permis-construire": "urbanisme"}
    assert "secret-key" not in repr(connector)


def test_connector_from_env_publik_default_timeout():
    env = {
        "GRU_TRACKING": "publik",
        "GRU_PUBLIK_URL": "https://demarches.villebrune.example",
        "GRU_PUBLIK_ORIG": "assistant",
        "GRU_PUBLIK_KEY": "k",
        "GRU_PUBLIK_FORMS": "demande-generique",
    }
    assert connector_from_env(env).timeout_s == 5.0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GRU_TRACKING": "sql"}, "GRU_TRACKING must be 'local' or 'publik'"),
        ({"GRU_TRACKING": "publik"}, "needs GRU_PUBLIK_URL"),
        (
            {"GRU_TRACKING": "publik", "GRU_PUBLIK_URL": "https://x.example", "GRU_PUBLIK_ORIG": "o"},
            "needs GRU_PUBLIK_KEY",
        ),
        (
            {
                "GRU_TRACKING": "publik",
                "GRU_PUBLIK_URL": "https://x.example",
                "GRU_PUBLIK_ORIG": "o",
                "GRU_PUBLIK_KEY": "k",
            },
            "needs GRU_PUBLIK_FORMS",
        ),
        (
            {
                "GRU_TRACKING": "publik",
                "GRU_PUBLIK_URL": "https://x.example",
                "GRU_PUBLIK_ORIG": "o",
                "GRU_PUBLIK_KEY": "k",
                "GRU_PUBLIK_FORMS": "a",
                "GRU_PUBLIK_TIMEOUT": "vite",
            },
            "GRU_PUBLIK_TIMEOUT must be a number",
        ),
        (
            {
                "GRU_TRACKING": "publik",
                "GRU_PUBLIK_URL": "https://x.example",
                "GRU_PUBLIK_ORIG": "o",
                "GRU_PUBLIK_KEY": "k",
                "GRU_PUBLIK_FORMS": "a",
                "GRU_PUBLIK_TIMEOUT": "0",
            },
            "GRU_PUBLIK_TIMEOUT must be positive",
        ),
        (
            {
                "GRU_TRACKING": "publik",
                "GRU_PUBLIK_URL": "https://x.example",
                "GRU_PUBLIK_ORIG": "o",
                "GRU_PUBLIK_KEY": "k",
                "GRU_PUBLIK_FORMS": " , ",
            },
            "at least one form slug",
        ),
    ],
)
def test_connector_from_env_errors(env, message):
    with pytest.raises(ValueError, match=message):
        connector_from_env(env)
