"""Slow inputs must not block everyone: every parser of a citizen's text runs on hostile inputs
of 20 000 characters (the channels' maximum: 20 000 commas, thousands of distinct words,
repeated spaces or apostrophes, emoji only, digits only) in under 50 ms.

A guard against catastrophic (superlinear) parsing, not a benchmark: each call is measured in
CPU time of the test's own thread (time.thread_time), so other processes on a busy machine
(a training, another test run) do not count, and the best of three runs is kept. A run far
beyond the limit stops the repetitions (the best of three could not pass anyway). Each parser
clips its input at a documented maximum (MAX_ADDRESS_INPUT, MAX_QUESTION_CHARS, MAX_DATE_CHARS,
MAX_NAME_INPUT, MAX_ANSWER_CHARS, MAX_SITUATION_CHARS, MAX_REFERENCE_INPUT, MAX_CONTACT_INPUT) and
none is superlinear.
"""

from __future__ import annotations

import asyncio
import random
import string
import time
from datetime import datetime

import pytest
from rasa_sdk import Tracker

from actions.appointments import reading
from actions.appointments.id_documents import detect_topics
from actions.common import clean_surname
from core import dates
from handoff.callbacks import read_contact
from tracking.connector import normalise_reference
from waste.config import load_waste_config
from waste.geocoder import LocalGeocoder, extract_address, normalise_street
from waste.sorting import answer_fr, find_item, load_sorting_guide
from welfare.eligibility import detect_danger, parse_situation_text

LIMIT_S = 0.050
SIZE = 20_000  # channels/limits.py MAX_MESSAGE_CHARS


def _distinct_words(count: int, length: int, seed: int) -> str:
    rnd = random.Random(seed)
    return " ".join("".join(rnd.choice(string.ascii_lowercase) for _ in range(length)) for _ in range(count))


HOSTILE = {
    "commas": "," * SIZE,
    "distinct_words": _distinct_words(SIZE // 6, 5, 1)[:SIZE],
    "spaces": " " * SIZE,
    "spaced_letters": "a " * (SIZE // 2),
    "apostrophes": "'" * SIZE,
    "elisions": "l'" * (SIZE // 2),
    "emoji": "😀" * SIZE,
    "digits": "1" * SIZE,
    "spaced_digits": "1 " * (SIZE // 2),
    "politeness": "merci " * (SIZE // 6),
}
# 20 000 distinct words (about 140 000 characters): a button payload carries its value
# (« où jeter … » buttons) straight to the parser.
TWENTY_THOUSAND_WORDS = _distinct_words(SIZE, 6, 2)

NOW = datetime(2026, 12, 1, 10, 0)
WASTE = load_waste_config()
GEOCODER = LocalGeocoder([s.name for s in WASTE.streets], WASTE.postcode, WASTE.city)
GUIDE = load_sorting_guide()


def _tracker(text: str) -> Tracker:
    latest = {"intent": {"name": "inform", "confidence": 0.95}, "entities": [], "text": text}
    return Tracker("citizen-1", {}, latest, [], False, None, {"name": "booking_form"}, "action_listen")


def _parse_when(text: str) -> None:
    try:
        dates.parse_when(text, NOW)
    except dates.DateNotUnderstood:
        pass


PARSERS = {
    "geocoder.extract_address": extract_address,
    "geocoder.normalise_street": normalise_street,
    "geocoder.search": lambda text: asyncio.run(GEOCODER.search(text)),
    "sorting.find_item": lambda text: find_item(GUIDE, text),
    "sorting.answer": lambda text: answer_fr(GUIDE, find_item(GUIDE, text), text),
    "dates.parse_when": _parse_when,
    "dates.normalize": dates.normalize,
    "common.clean_surname": clean_surname,
    "reading.document_type_in": lambda text: reading.document_type_in(_tracker(text), True),
    "reading.parse_person_count": lambda text: reading.parse_person_count(_tracker(text), True),
    "reading.application_ids_of": lambda text: reading.application_ids_of(_tracker(text)),
    "reading.says_no_pre_application": lambda text: reading.says_no_pre_application(_tracker(text)),
    "reading.references_in": lambda text: reading.references_in(_tracker(text)),
    "reading.pick_offered": lambda text: reading.pick_offered(text, ["villebrune-mairie@2026-12-02T10:00"]),
    "welfare.parse_situation_text": parse_situation_text,
    "welfare.detect_danger": detect_danger,
    "tracking.normalise_reference": normalise_reference,
    "id_documents.detect_topics": detect_topics,
    "handoff.read_contact": read_contact,
}
# actions/appointments/id_documents.py is outside this change: its topic detection reads the
# whole message (linear, but 25-90 ms at 20 000 characters on a busy machine). The fix is the
# same as the other parsers': clip the text before folding it (a question is short).
NOT_YET_CLIPPED: set = set()  # every parser clips its input now


def best_of_three(parse, text: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.thread_time()
        parse(text)
        best = min(best, time.thread_time() - start)
        if best > 20 * LIMIT_S:  # hopeless: no need to wait for two more slow runs
            break
    return best


@pytest.fixture(scope="module", autouse=True)
def warm_up():
    """Regular expressions compiled, content files loaded: the first call is not the one timed."""
    for parse in PARSERS.values():
        parse("12 rue du moulin")


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize("name", list(PARSERS))
def test_a_hostile_message_is_parsed_in_under_50_ms(name, kind, request):
    if name in NOT_YET_CLIPPED:
        request.applymarker(pytest.mark.xfail(reason="input not clipped yet", strict=False))
    text = HOSTILE[kind]
    assert len(text) <= SIZE
    elapsed = best_of_three(PARSERS[name], text)
    assert elapsed < LIMIT_S, f"{name} took {elapsed * 1000:.0f} ms on {kind}"


@pytest.mark.parametrize(
    "name", ["sorting.find_item", "sorting.answer", "geocoder.search", "dates.parse_when"]
)
def test_twenty_thousand_distinct_words_are_not_all_read(name):
    elapsed = best_of_three(PARSERS[name], TWENTY_THOUSAND_WORDS)
    assert elapsed < LIMIT_S, f"{name} took {elapsed * 1000:.0f} ms on 20 000 distinct words"


# ---- the clipping keeps real answers whole --------------------------------------------------


def test_real_answers_are_shorter_than_the_limits():
    address = "Bonjour, j'habite au 12 bis avenue Jean Jaurès, 45990 Villebrune, merci d'avance !"
    assert extract_address(address) == "12 bis avenue Jean Jaurès 45990 Villebrune"
    assert asyncio.run(GEOCODER.search(address))[0].street == "Avenue Jean Jaurès"
    assert find_item(GUIDE, "où est-ce que je peux jeter mes vieilles piles usagées s'il vous plaît ?")
    when = dates.parse_when("plutôt le mardi 8 décembre en fin d'après-midi après 17 h 30 si possible", NOW)
    assert when.start.day == 8 and when.time_from.hour == 17
    assert clean_surname("c'est au nom de Mme N’Diaye") == "N'DIAYE"
    assert clean_surname("mon nom c'est monsieur Le Gall") == "LE GALL"
    assert normalise_reference("référence : DEM-2026-004217") == "DEM-2026-004217"


def test_politeness_after_commas_is_still_removed():
    assert extract_address("12 rue du Moulin,,, merci beaucoup !!") == "12 rue du Moulin"
    assert extract_address("merci") == ""
    assert extract_address("rue de la Mercière") == "rue de la Mercière"


def test_a_danger_word_far_in_a_long_message_is_still_seen():
    """Danger detection reads the whole message (up to the channels' maximum), clipped never."""
    text = "a " * 9000 + "mon mari me frappe"
    assert detect_danger(text)
