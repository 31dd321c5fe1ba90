"""Which stop or school a citizen means (typos, no accents, in a sentence), and what the
question asks (times, service on a day, holidays, registration)."""

from __future__ import annotations

import pytest

from actions.transport import find_places
from transport.feed import DEFAULT_GTFS_PATH, load_feed
from transport.matching import best_matches
from transport.questions import HOLIDAYS, REGISTRATION, SERVICE, TIMES, kind_of

FEED = load_feed(DEFAULT_GTFS_PATH)


@pytest.mark.parametrize(
    "text, place",
    [
        ("À quelle heure passe le car à l'arrêt de la gare ?", "stop:GARE"),
        ("a quel heure le bus passe a l'arret eglise", "stop:EGLISE"),
        ("arret des esarts", "stop:ESSARTS"),  # a letter missing
        ("la croix blanch", "stop:CROIXBL"),
        ("on est au moulin neuf", "stop:MOULINN"),
        ("LES GRANDS PRES", "stop:GDSPRES"),
        ("bellvue", "stop:BELLEVUE"),
        ("quel car pour le collège Jean Moulin ?", "school:college_jean_moulin"),
        ("college jean moulain", "school:college_jean_moulin"),
        ("kel bus pr le lycee de montval", "school:lycee_marie_curie"),
        ("l'école jules ferry", "school:ecole_jules_ferry"),
        ("la maternelle", "school:maternelle_les_tilleuls"),
    ],
)
def test_places_are_found_despite_typos(text, place):
    assert [c.key for c in find_places(FEED, text)] == [place]


@pytest.mark.parametrize("text", ["bonjour", "", "😀😀😀", "rue de la paix", "x" * 5000, "moulin"])
def test_nothing_is_guessed_from_unrelated_words(text):
    assert find_places(FEED, text) == []


def test_equally_good_names_are_all_returned():
    names = [("a", "Les Bordes", ["Les Bordes"]), ("b", "Bordes-Hautes", ["Bordes"])]
    assert {c.key for c in best_matches("arret bordes", names)} == {"a", "b"}


def test_a_huge_message_is_clipped_not_scanned_whole():
    text = "la gare " + "blabla " * 20000
    assert [c.key for c in find_places(FEED, text)] == ["stop:GARE"]


@pytest.mark.parametrize(
    "text, kind",
    [
        ("À quelle heure passe le car à l'arrêt de la gare ?", TIMES),
        ("quel car pour le collège Jean Moulin ?", TIMES),
        ("le car passe-t-il demain ?", SERVICE),
        ("est ce que les cars circulent le 11 novembre", SERVICE),
        ("le ramassage scolaire est maintenu quand il neige ?", SERVICE),
        ("y a t il un bus pendant les vacances", HOLIDAYS),
        ("comment inscrire mon enfant au transport scolaire ?", REGISTRATION),
        ("c combien l'abonnement bus pr le lycee", REGISTRATION),
        ("quels papiers pour la carte de transport scolaire", REGISTRATION),
        ("horaires du bus demain a la gare", TIMES),
    ],
)
def test_what_the_question_asks(text, kind):
    assert kind_of(text) == kind
