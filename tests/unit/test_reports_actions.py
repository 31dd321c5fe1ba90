"""The report form's reading of answers (actions/reports.py), on rasa-sdk trackers: dangers
first, categories by words or by a button that was offered, places, descriptions, photos that
belong to the conversation, contacts; forged payloads and bad input are refused with the form's
failure, never an exception."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from actions.reports import ValidateReportForm
from tests.unit.test_forged_payloads import extract, is_failure, payload_message

FORM = "report_form"


@pytest.fixture
def database(db_url, monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    return db_url


def typed(text: str, intent: str = "inform", confidence: float = 0.9) -> Dict[str, Any]:
    return {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text}


async def answer(slot: str, latest: Dict[str, Any], **slots: Any):
    values = {"requested_slot": slot, **slots}
    return await extract(ValidateReportForm(), slot, latest, values, FORM)


async def test_first_message_danger_and_category():
    first = {"requested_slot": None}
    form = ValidateReportForm()
    result, said = await extract(
        form, "report_category", typed("ça sent le gaz, vite", "report_problem"), first, FORM
    )
    assert result["report_danger"] == "gaz" and said == []
    result, _ = await extract(
        form, "report_category", typed("nid de poule rue pasteur", "report_problem"), first, FORM
    )
    assert result["report_category"] == "voirie"
    result, _ = await extract(
        form, "report_category", typed("je veux signaler un truc", "report_problem"), first, FORM
    )
    assert result == {}  # nothing named: the form asks


@pytest.mark.parametrize("value", ["cat:inconnue", "cat:" + "x" * 5000, 12, ["cat:voirie"], "voirie"])
async def test_a_forged_category_button_is_a_failure(value):
    result, said = await answer("report_category", payload_message([("choice", value)]))
    assert is_failure(result, "report_category") and said == ["utter_report_category_unknown"]


async def test_the_category_button_offered():
    result, _ = await answer("report_category", payload_message([("choice", "cat:animal")]))
    assert result["report_category"] == "animal"


@pytest.mark.parametrize(
    "latitude, longitude",
    [("95", "2"), ("48", "200"), ("nan", "2"), ("abc", "2"), (None, "2")],
)
async def test_an_impossible_position_is_a_failure(latitude, longitude):
    entities = [(k, v) for k, v in (("latitude", latitude), ("longitude", longitude)) if v is not None]
    result, said = await answer("report_place", payload_message(entities, intent="share_location"))
    assert is_failure(result, "report_place") and said == ["utter_report_location_invalid"]


@pytest.mark.parametrize("text", ["🙂🙂🙂", "??", "a" * 400])
async def test_an_unreadable_place_is_a_failure(text):
    result, said = await answer("report_place", typed(text))
    assert is_failure(result, "report_place") and said == ["utter_report_place_invalid"]


async def test_a_described_place_is_kept_in_the_citizens_words(database):
    result, _ = await answer("report_place", typed("devant l'école Jean Moulin"), report_category="graffiti")
    assert (
        result["report_place"] == "devant l'école Jean Moulin" and result["report_place_kind"] == "described"
    )


@pytest.mark.parametrize(
    "text, response",
    [("🙂", "utter_report_description_invalid"), ("x" * 1001, "utter_report_description_too_long")],
)
async def test_descriptions_too_short_or_too_long(text, response):
    result, said = await answer("report_description", typed(text))
    assert is_failure(result, "report_description") and said == [response]


async def test_a_danger_named_in_the_description_stops_the_report():
    result, _ = await answer("report_description", typed("en fait il y a un cable electrique tombé"))
    assert result["report_danger"] == "electricite"


async def test_photos_of_another_conversation_or_forged_urls_are_refused(database):
    result, said = await answer("report_photo", payload_message([("upload_id", "0" * 32)], "share_photo"))
    assert is_failure(result, "report_photo") and said == ["utter_report_photo_unknown"]
    forged = payload_message([("photo_url", "http://169.254.169.254/latest")], "share_photo")
    result, said = await answer("report_photo", forged)  # not Messenger, not Meta's CDN
    assert is_failure(result, "report_photo") and said == ["utter_report_photo_unknown"]
    result, _ = await answer("report_photo", payload_message([("choice", "skip")]))
    assert result["report_photo"] == "none"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("marie.dupont@example.fr", "marie.dupont@example.fr"),
        ("c'est Marie.Dupont@Example.fr merci", "marie.dupont@example.fr"),
        ("06 12 34 56 78", "0612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("non merci", "none"),
    ],
)
async def test_contacts(text, expected):
    result, _ = await answer("report_contact", typed(text))
    assert result["report_contact"] == expected


@pytest.mark.parametrize("text", ["demain", "12", "a@b", "06 12", "x" * 3000 + "@example.fr"])
async def test_what_is_no_contact_is_a_failure(text):
    result, said = await answer("report_contact", typed(text))
    assert is_failure(result, "report_contact") and said == ["utter_report_contact_invalid"]


async def test_the_summary_confirmed_or_cancelled():
    result, _ = await answer("report_confirm", typed("oui", "affirm"))
    assert result["report_confirm"] is True
    result, _ = await answer("report_confirm", typed("non", "deny"))
    assert result["form_outcome"] == "stopped"
    result, said = await answer("report_confirm", typed("peut-être", "inform", 0.3))
    assert is_failure(result, "report_confirm") and said == ["utter_report_confirm_expected"]


def test_a_description_read_as_a_question_is_still_an_answer():
    from tests.unit.test_forged_payloads import tracker

    form = ValidateReportForm()
    statement = typed("le lampadaire de la mairie reste allumé toute la nuit", "opening_hours")
    assert form.is_answer(tracker(statement, {}, FORM), "report_description")
    question = typed("la mairie est ouverte le samedi ?", "opening_hours")
    assert not form.is_answer(tracker(question, {}, FORM), "report_description")
    assert not form.is_answer(
        tracker(typed("je veux arrêter tout ça", "stop"), {}, FORM), "report_description"
    )
