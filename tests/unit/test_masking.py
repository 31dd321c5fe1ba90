"""Masking of the questions the statistics keep (core/masking.py): what goes, what stays."""

import pytest

from core.masking import mask


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("écrivez à jeanne.martin@exemple.fr svp", "écrivez à [e-mail] svp"),
        ("mon tel 06 12 34 56 78", "mon tel [téléphone]"),
        ("appelez le 0612345678 ou le +33 6 12 34 56 78", "appelez le [téléphone] ou le [téléphone]"),
        ("au 0033 1.23.45.67.89", "au [téléphone]"),
        ("mon rdv RDV-7KQ2PX a disparu", "mon rdv [référence] a disparu"),
        ("rdv 7kq2px demain", "[référence] demain"),
        ("suivi DEM-2026-004217 et SUB-2026-0042", "suivi [référence] et [référence]"),
        ("signalement SIG 2026 004217", "signalement [référence]"),
        ("rappel RAP-2026-000042", "rappel [référence]"),
        ("où en est mon dossier n° 12-34567 ?", "où en est mon dossier n° [numéro] ?"),
        ("ma pré-demande AB12CD34EF", "ma pré-demande [numéro]"),
        ("je m'appelle Jeanne Martin et je veux un rdv", "je m'appelle [nom] et je veux un rdv"),
        ("Bonjour, mon nom est DUPONT, merci", "Bonjour, mon nom est [nom], merci"),
        ("nom de famille: Le Gall", "nom de famille: [nom]"),
        ("je suis Madame Nguyen", "je suis Madame [nom]"),
        ("Cordialement, Paul Durand", "Cordialement, [nom]"),
        ("j'habite 12 bis rue des Lilas à Villebrune", "j'habite [adresse] à Villebrune"),
        ("collecte avenue du Général de Gaulle ?", "collecte [adresse] ?"),
        ("j'habite au 4 grande rue", "j'habite au [adresse]"),
        ("IBAN FR76 3000 6000 0112 3456 7890 189", "IBAN [numéro]"),
        ("sécu 1 84 12 75 123 456 78", "sécu [numéro]"),
    ],
)
def test_personal_data_is_replaced_by_what_it_was(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "je voudrais un acte de naissance",
        "au nom de ma mère",
        "le nom de la rue a changé ?",
        "je suis perdu, comment faire une carte grise",
        "Madame, je voudrais savoir les horaires",
        "c'est combien le passeport pour 2 personnes le 12/05/2026 à 14h30 ?",
        "rendez-vous demain pour ma cni",
        "quelle est la date de la prochaine collecte",
        "la nomination du maire",
    ],
)
def test_the_question_itself_stays_readable(text):
    assert mask(text) == text


def test_nothing_in_nothing_out():
    assert mask(None) == "" and mask("") == "" and mask("  a   b ") == "a b"
