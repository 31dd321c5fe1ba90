"""Carte d'identité / passport answers: topic detection, facts, buttons, and the action itself."""

import itertools
import json
import re

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.appointments import id_documents
from actions.appointments.id_documents import (
    TOPICS,
    ActionIdDocumentsInfo,
    detect_topics,
    id_documents_messages,
    normalize_document_type,
)
from booking.facts import load_national_facts
from tests.unit.responses import buttons_of, said

FACTS = load_national_facts().values()
LINK_CNI, LINK_PASSPORT, LINK_ANTS = FACTS["link_cni"], FACTS["link_passport"], FACTS["link_ants"]

DOCUMENT_TYPES = (None, "cni", "passeport")


def id_documents_answer(topics, document_type):
    """What the citizen reads (the messages' texts, one paragraph each) and the buttons."""
    messages = id_documents_messages(topics, document_type)
    return said(messages), buttons_of(messages)


PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]+)(?P<entities>\{.*\})?$")


def all_answers():
    """Every topic combination (and the overview) for every document type: 384 answers."""
    for size in range(len(TOPICS) + 1):
        for topics in itertools.combinations(TOPICS, size):
            for document_type in DOCUMENT_TYPES:
                text, buttons = id_documents_answer(list(topics), document_type)
                yield list(topics), document_type, text, buttons


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    "text, expected",
    [
        # documents to bring
        ("quels papiers faut-il pour faire un passeport ?", ["pieces"]),
        ("pièces à fournir carte d'identité", ["pieces"]),
        ("il faut quoi comme papiers pour la cni", ["pieces"]),
        ("je dois apporter quoi au rdv", ["pieces"]),
        ("quel justificatif de domicile si je suis hébergé chez mes parents ?", ["pieces"]),
        ("la photo doit dater de moins de combien de temps ?", ["pieces"]),
        ("PHOTO D'IDENTITE EN CABINE C'EST BON ?", ["pieces"]),
        # price
        ("cb ca coute", ["price"]),
        ("combien ca coute un passeport", ["price"]),
        ("combien coûte un passeport ?", ["price"]),
        ("la carte d'identité c'est gratuit ?", ["price"]),
        ("le timbre fiscal on l'achète où ?", ["price"]),
        ("tarif cni", ["price"]),
        # delay
        ("c koi les delais pour un passeport en ce moment", ["delay"]),
        ("en combien de temps on a son passeport ?", ["delay"]),
        ("c kan ke je recoi mon passeport", ["delay"]),
        ("où je récupère mon passeport une fois qu'il est fabriqué ?", ["delay"]),
        ("le rdv dure combien de temps ?", ["delay"]),
        # minors
        ("jsuis mineur jpeux faire ma cni tout seul ?", ["minor"]),
        ("parents divorcés, qui doit signer pour la carte d'identité du petit ?", ["minor"]),
        ("passeport pour mon bébé", ["minor"]),
        # loss and theft
        ("g perdu ma cni", ["loss_theft"]),
        ("on m'a volé mon passeport, quelles sont les démarches ?", ["loss_theft"]),
        ("je ne retrouve plus ma carte d identite", ["loss_theft"]),
        # pre-application
        ("predemande", ["pre_application"]),
        ("comment faire une pré-demande ANTS ?", ["pre_application"]),
        ("pre demande en ligne c obligatoire", ["pre_application"]),
        ("j'ai perdu mon numéro de pré-demande, comment le retrouver ?", ["pre_application"]),
        ("je n'ai pas internet, il y a un formulaire cerfa ?", ["pre_application"]),
        # validity
        ("ma cni est expirée, elle est encore valable ?", ["validity"]),
        ("mon passeport est périmé", ["validity"]),
        ("duree de validite carte d identite", ["validity"]),
        ("combien de temps est valable un passeport", ["validity"]),
        ("combien de temps dure un passeport", ["validity"]),
        # several at once, in canonical order
        ("combien ça coute de refaire une cni perdue ?", ["price", "loss_theft"]),
        ("timbre fiscal passeport mineur prix", ["price", "minor"]),
        (
            "Madame, Monsieur, je vous saurais gré de bien vouloir m'indiquer les pièces justificatives "
            "à fournir ainsi que le montant du timbre fiscal pour le passeport de mon fils âgé de 16 ans.",
            ["pieces", "price", "minor"],
        ),
        # nothing specific: overview
        ("comment renouveler ma carte d'identité ?", []),
        ("quelle est la marche à suivre pour obtenir un passeport ?", []),
        ("passeport", []),
        ("bonjour", []),
        ("", []),
        ("j'ai une petite question sur le passeport", []),
        ("mon vol pour Rome est dans 2 semaines, mon passeport est ok ?", []),
        ('/id_documents_info{"id_topic":"price"}', []),
    ],
)
def test_detect_topics(text, expected):
    assert detect_topics(text) == expected


def test_detect_topics_ignores_case_and_accents():
    assert detect_topics("DÉLAI") == detect_topics("delai") == detect_topics("Délai") == ["delay"]
    assert detect_topics("PRÉ-DEMANDE") == detect_topics("prédemande") == ["pre_application"]


def test_detect_topics_tolerates_non_text():
    assert detect_topics(None) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("cni", "cni"),
        ("CNI", "cni"),
        ("carte d'identité", "cni"),
        ("carte nationale d'identite", "cni"),
        ("passeport", "passeport"),
        ("Passeport", "passeport"),
        ("passport", "passeport"),
        (["passeport", "passeport"], "passeport"),
        (["cni", "passeport"], None),
        ("permis de conduire", None),
        (None, None),
        (42, None),
    ],
)
def test_normalize_document_type(value, expected):
    assert normalize_document_type(value) == expected


# --------------------------------------------------------------------------- facts


def text_of(topics, document_type=None):
    return id_documents_answer(topics, document_type)[0]


@pytest.mark.parametrize(
    "topic, document_type, facts",
    [
        ("pieces", None, ["pré-demande", "6 mois", "conforme aux normes", "1 an", "ancien document"]),
        ("pieces", "cni", ["6 mois", "1 an", "ancienne carte", "25 €"]),
        ("pieces", "passeport", ["6 mois", "1 an", "ancien passeport", "86 €"]),
        ("price", "passeport", ["86 €", "42 €", "15 à 17 ans", "17 €", "avant 15 ans"]),
        ("price", "cni", ["gratuite", "25 €", "perte ou de vol"]),
        ("price", None, ["86 €", "42 €", "17 €", "gratuite", "25 €", "timbres.impots.gouv.fr", "tabac"]),
        ("delay", None, ["plusieurs semaines", "ants.gouv.fr", "SMS", "3 mois", "détruit", "15 minutes"]),
        ("delay", "cni", ["3 mois", "détruite", "la retirer", "mairie"]),
        ("minor", None, ["présent", "12 ans", "autorité parentale", "pièce d'identité"]),
        ("minor", "passeport", ["42 €", "17 €", "5 ans"]),
        ("minor", "cni", ["gratuite"]),
        ("loss_theft", None, ["déclarez la perte", "mairie", "police ou à la gendarmerie", "récépissé"]),
        ("loss_theft", "cni", ["25 €"]),
        ("loss_theft", "passeport", ["86 €"]),
        ("pre_application", None, ["ants.gouv.fr", "10 lettres et chiffres", "QR code", "cerfa", "mairie"]),
        ("validity", "passeport", ["10 ans", "adulte", "5 ans", "mineur"]),
        ("validity", "cni", ["mars 2021", "10 ans"]),
        ("validity", None, ["mars 2021", "10 ans", "5 ans"]),
    ],
)
def test_each_topic_states_its_facts(topic, document_type, facts):
    text = text_of([topic], document_type)
    for fact in facts:
        assert fact in text, f"{fact!r} missing from the {topic} answer"


def test_overview_states_where_and_how():
    text = text_of([])
    for fact in ("en personne", "sur rendez-vous", "station biométrique", "pas forcément", "15 minutes"):
        assert fact in text
    assert "ants.gouv.fr" in text and "formulaire papier" in text


def test_only_the_known_amounts_and_links():
    for topics, document_type, text, _ in all_answers():
        where = (topics, document_type)
        assert set(re.findall(r"(\d+) €", text)) <= {"86", "42", "17", "25"}, where
        assert set(re.findall(r"https?://\S+", text)) <= {LINK_CNI, LINK_PASSPORT, LINK_ANTS}, where


def test_answers_end_with_the_official_link():
    expected = {"cni": [LINK_CNI], "passeport": [LINK_PASSPORT], None: [LINK_CNI, LINK_PASSPORT]}
    for topics, document_type, text, _ in all_answers():
        where = (topics, document_type)
        links = text.rsplit("\n\n", 1)[-1]
        assert all(link in links for link in expected[document_type]), where
        assert all(line.split(" : ")[-1].startswith("https://") for line in links.splitlines()), where
        if "pre_application" in topics[:2] or not topics:
            assert text.endswith(LINK_ANTS), where
        else:
            assert LINK_ANTS not in links, where


def test_messages_stay_short_and_polite():
    for topics, document_type, text, buttons in all_answers():
        where = (topics, document_type)
        assert len(text) <= 900, where
        assert all(len(b["title"]) <= 20 for b in buttons), where  # Messenger cuts longer titles
        words = set(re.findall(r"[a-zà-ÿ']+", text.lower()))
        assert not words & {"tu", "ton", "ta", "tes", "toi"}, where  # vouvoiement only


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
def test_single_topic_answers_fit_a_messenger_button_message(topic, document_type):
    text, buttons = id_documents_answer([topic], document_type)
    assert len(text) <= 640 and len(buttons) <= 3  # Messenger button template limits
    paragraphs = text.split("\n\n")
    assert len(paragraphs) <= 3  # at most 2 paragraphs of answer, then the link(s)


def test_two_topics_at_most_are_answered_the_next_ones_become_buttons():
    text, buttons = id_documents_answer(["pieces", "price", "minor"], "passeport")
    assert "6 mois" in text and "42 €" in text  # pieces and price answered
    assert "autorité parentale" not in text
    assert buttons[1]["payload"] == '/id_documents_info{"id_topic":"minor","document_type":"passeport"}'


# --------------------------------------------------------------------------- buttons


def parse_payload(payload):
    match = PAYLOAD.match(payload)
    assert match, payload
    entities = json.loads(match["entities"]) if match["entities"] else {}
    assert isinstance(entities, dict) and all(isinstance(v, str) for v in entities.values())
    return match["intent"], entities


def test_payloads_are_valid_rasa_payloads():
    for topics, document_type, _, buttons in all_answers():
        where = (topics, document_type)
        assert buttons[0 if topics else -1]["payload"].startswith("/book_appointment"), where
        for b in buttons:
            intent, entities = parse_payload(b["payload"])
            assert intent in ("id_documents_info", "book_appointment"), where
            if intent == "id_documents_info":
                assert entities["id_topic"] in TOPICS and entities["id_topic"] not in topics[:2], where
            assert entities.get("document_type") == document_type, where
        assert len({b["payload"] for b in buttons}) == len(buttons), where
        assert len(buttons) == 8 if not topics else 2 <= len(buttons) <= 3, where


def test_overview_offers_every_topic_and_an_appointment():
    _, buttons = id_documents_answer([], None)
    assert [parse_payload(b["payload"])[1].get("id_topic") for b in buttons] == [*TOPICS, None]
    assert buttons[-1] == {"title": "Prendre rendez-vous", "payload": "/book_appointment"}


def test_appointment_button_carries_the_document_type():
    _, buttons = id_documents_answer(["price"], "passeport")
    assert buttons[0] == {
        "title": "Prendre rendez-vous",
        "payload": '/book_appointment{"document_type":"passeport"}',
    }
    assert 2 <= len(buttons) <= 3
    topics = [parse_payload(b["payload"])[1]["id_topic"] for b in buttons[1:]]
    assert "price" not in topics


def test_unknown_values_fall_back_to_the_overview():
    assert id_documents_answer(["nope"], "permis") == id_documents_answer([], None)
    assert id_documents_answer(None, None) == id_documents_answer([], None)


# --------------------------------------------------------------------------- action


def tracker(text="...", entities=(), slots=None, latest=None):
    parse = {
        "intent": {"name": "id_documents_info", "confidence": 0.9},
        "entities": list(entities),
        "text": text,
    }
    latest = parse if latest is None else latest
    return Tracker(
        sender_id="citizen-1",
        slots=slots or {},
        latest_message=latest,
        events=[{"event": "user", "text": text, "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def run(tr):
    dispatcher = CollectingDispatcher()
    events = await ActionIdDocumentsInfo().run(dispatcher, tr, {})
    assert events == []
    assert all(not m.get("buttons") for m in dispatcher.messages[:-1])  # buttons on the last message
    return {"text": said(dispatcher.messages), "buttons": buttons_of(dispatcher.messages)}


def test_action_name():
    assert ActionIdDocumentsInfo().name() == "action_id_documents_info"


async def test_action_answers_the_topic_of_a_button():
    entities = [{"entity": "id_topic", "value": "price"}, {"entity": "document_type", "value": "passeport"}]
    message = await run(tracker('/id_documents_info{"id_topic":"price"}', entities))
    assert (message["text"], message["buttons"]) == id_documents_answer(["price"], "passeport")


async def test_action_accepts_a_list_of_topics_in_the_entity():
    message = await run(tracker(entities=[{"entity": "id_topic", "value": ["validity", "minor"]}]))
    assert message["text"] == text_of(["minor", "validity"])


async def test_action_detects_the_topic_in_the_words():
    entities = [{"entity": "document_type", "value": "cni"}]
    message = await run(tracker("g perdu ma cni, ça coute combien ?", entities))
    assert message["text"] == text_of(["price", "loss_theft"], "cni")
    assert message["text"].endswith(LINK_CNI)


async def test_action_uses_the_document_type_slot_when_the_message_names_none():
    message = await run(tracker("combien ça coute ?", slots={"document_type": "passeport"}))
    assert "86 €" in message["text"] and "gratuite" not in message["text"]


async def test_action_answers_for_both_documents_when_both_are_named():
    entities = [
        {"entity": "document_type", "value": "cni"},
        {"entity": "document_type", "value": "passeport"},
    ]
    message = await run(tracker("délais", entities, slots={"document_type": "cni"}))
    assert message["text"] == text_of(["delay"], None)


async def test_action_unknown_topic_gives_the_overview():
    entities = [{"entity": "id_topic", "value": "horoscope"}]
    message = await run(tracker('/id_documents_info{"id_topic":"horoscope"}', entities))
    assert (message["text"], message["buttons"]) == id_documents_answer([], None)


@pytest.mark.parametrize(
    "latest",
    [
        {},
        {"text": None, "entities": None},
        {"text": 12, "entities": [None, "x", {"entity": "id_topic", "value": {"a": 1}}]},
    ],
)
async def test_action_never_raises_on_odd_messages(latest):
    message = await run(tracker(latest=latest))
    assert message["text"] == text_of([])


async def test_action_sends_the_overview_if_anything_breaks(monkeypatch):
    def broken(tracker):
        raise RuntimeError("boom")

    monkeypatch.setattr(id_documents, "topics_of", broken)
    message = await run(tracker("prix"))
    assert message["text"] == text_of([])


# --------------------------------------------------------------------------- national facts


def test_no_fee_amount_is_written_in_the_actions_code():
    from tests.conftest import ROOT

    fee = re.compile(r"\b(86|42|17|25)\s*(€|euros?\b)")
    for path in (ROOT / "actions").rglob("*.py"):
        found = fee.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path}: fee amounts belong in territory/national_facts.yml"


def test_no_fee_amount_is_written_twice_in_the_domain():
    from tests.conftest import ROOT

    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "domain").glob("*.yml"))
    assert not re.findall(r"\b(86|42|17|25)\s*€", text)  # the responses read {passport_adult_fee}…


def test_national_facts_have_a_check_date_and_an_official_source():
    facts = load_national_facts()
    assert facts.verified_on.year >= 2025
    assert FACTS["passport_adult_fee"] == "86 €" and FACTS["cni_replacement_fee"] == "25 €"
    for name, fact in facts.facts.items():
        assert fact.source.startswith(("https://www.service-public.fr/", "https://ants.gouv.fr",
                                       "https://timbres.impots.gouv.fr")), name  # fmt: skip


def test_another_facts_file_through_the_environment(tmp_path, monkeypatch):
    from booking import facts as module
    from core.content import ContentError
    from tests.conftest import ROOT

    changed = (
        (ROOT / "territory" / "national_facts.yml").read_text(encoding="utf-8").replace('"86 €"', '"88 €"')
    )
    path = tmp_path / "facts.yml"
    path.write_text(changed, encoding="utf-8")
    monkeypatch.setenv("GRU_NATIONAL_FACTS_FILE", str(path))
    module.load_national_facts.cache_clear()
    assert module.load_national_facts().values()["passport_adult_fee"] == "88 €"
    path.write_text("verified_on: 2026-01-01\nfacts: {}\n", encoding="utf-8")
    module.load_national_facts.cache_clear()
    with pytest.raises(ContentError, match="passport_adult_fee"):
        module.load_national_facts(path)
    module.load_national_facts.cache_clear()
