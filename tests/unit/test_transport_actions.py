"""The school transport actions on rasa-sdk trackers, with the demo feed and content, at a
fixed time of the school year: what they read, which response they choose and what the
citizen reads (rendered from domain/transport.yml)."""

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

import actions.transport as transport
from core import clock
from tests.conftest import ROOT
from tests.unit.responses import buttons_of, said
from tests.unit.test_booking_actions import message, tracker

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def at(monkeypatch):
    """Set the territory's clock: at(2026, 12, 1, 7, 0)."""

    def set_clock(*parts):
        moment = datetime(*parts, tzinfo=PARIS)
        monkeypatch.setattr(clock, "now", lambda: moment)
        monkeypatch.setattr(clock, "today", lambda: moment.date())

    set_clock(2026, 12, 1, 7, 0)  # a Tuesday of the school year, before the first bus
    return set_clock


async def first(text, entities=()):
    """The form's extraction on the message that starts it."""
    dispatcher = CollectingDispatcher()
    latest = message("school_transport", text, entities)
    result = await transport.ValidateTransportForm().extract_transport_place(
        dispatcher, tracker(latest, loop="transport_form"), {}
    )
    return result, dispatcher.messages


async def answer(text="", entities=(), slots=None, intent="inform"):
    """The form's extraction on an answer to « Pour quel établissement ou quel arrêt ? »."""
    dispatcher = CollectingDispatcher()
    slots = {"requested_slot": "transport_place", **(slots or {})}
    latest = message(intent, text, entities)
    result = await transport.ValidateTransportForm().extract_transport_place(
        dispatcher, tracker(latest, slots, loop="transport_form"), {}
    )
    return result, dispatcher.messages


async def done(**slots):
    dispatcher = CollectingDispatcher()
    events = await transport.ActionTransportDone().run(dispatcher, tracker(message(), slots, loop=None), {})
    return said(dispatcher.messages), dispatcher.messages, events


def test_every_response_the_actions_use_is_in_the_domain():
    used = set(
        re.findall(r"\"(utter_[a-z_]+)\"", (ROOT / "actions" / "transport.py").read_text(encoding="utf-8"))
    )
    responses = set(
        yaml.safe_load((ROOT / "domain" / "transport.yml").read_text(encoding="utf-8"))["responses"]
    )
    assert used and used <= responses, used - responses


# ---- « À quelle heure passe le car à l'arrêt de la gare ? » ------------------------------------


async def test_times_at_a_stop_named_in_the_question(at):
    result, messages = await first("À quelle heure passe le car à l'arrêt de la gare ?")
    assert result == {"transport_kind": "times", "transport_day": None, "transport_place": "stop:GARE"}
    assert messages == []
    text, _, events = await done(**result)
    assert text == (
        "Arrêt Gare, mardi 1er décembre :\n"
        "- 7 h 08 : ligne S2 vers Lycée Marie Curie\n"
        "- 7 h 42 : ligne S1 vers Collège Jean Moulin\n"
        "- 7 h 50 : ligne S4 vers Collège Jean Moulin\n"
        "- 17 h 10 : ligne S1 vers Les Essarts\n"
        "- 17 h 58 : ligne S2 vers Le Moulin-Neuf"
    )
    forgotten = {e["name"] for e in events if e.get("event") == "slot" and e["value"] is None}
    assert set(transport.TRANSPORT_SLOTS) <= forgotten


async def test_after_the_last_bus_the_next_day_is_given(at):
    at(2026, 12, 1, 18, 30)
    text, _, _ = await done(transport_kind="times", transport_place="stop:GARE")
    assert text.startswith(
        "Il n'y a plus de car scolaire aujourd'hui à l'arrêt Gare. "
        "Les prochains passent mercredi 2 décembre :"
    )
    assert "- 12 h 15 : ligne S1 vers Les Essarts" in text  # Wednesday's midday return


async def test_a_stop_on_a_holiday_gives_the_reason_and_the_next_buses(at):
    result, _ = await first(
        "le car de l'église c'est à quelle heure le 22 décembre", [("date", "le 22 décembre")]
    )
    assert result["transport_place"] == "stop:EGLISE" and result["transport_day"] == "2026-12-22"
    text, _, _ = await done(**result)
    assert text.startswith(
        "Pas de car scolaire mardi 22 décembre : vacances de Noël "
        "(du samedi 19 décembre au dimanche 3 janvier 2027). "
        "À l'arrêt Église, les prochains passent lundi 4 janvier 2027 :"
    )


# ---- « quel car pour le collège Jean Moulin ? » ----------------------------------------------------


async def test_the_lines_of_a_school(at):
    result, _ = await first("quel car pour le collège Jean Moulin ?", [("school", "college_jean_moulin")])
    assert result["transport_place"] == "school:college_jean_moulin"
    text, _, _ = await done(**result)
    assert text.startswith("Collège Jean Moulin : ligne(s) S1 et S4. Horaires du mardi 1er décembre :\n")
    assert (
        "- Ligne S1 — Les Essarts – Collège Jean Moulin : Les Essarts 7 h 20, La Croix-Blanche 7 h 26, "
        "Église 7 h 34, Mairie 7 h 38 et Gare 7 h 42, arrivée à 7 h 47" in text
    )
    assert "- Ligne S1 — Les Essarts – Collège Jean Moulin : départ à 17 h 05, puis Gare 17 h 10" in text


async def test_a_primary_school_on_wednesday_says_there_is_no_bus_and_gives_thursday(at):
    text, _, _ = await done(
        transport_kind="times", transport_place="school:ecole_jules_ferry", transport_day="2026-12-02"
    )
    assert text.startswith("Pas de car scolaire mercredi 2 décembre : pas de service prévu ce jour-là.")
    assert "Horaires du jeudi 3 décembre :" in text and "arrivée à 8 h 21" in text


# ---- « le car passe-t-il demain ? » ---------------------------------------------------------------


async def test_service_tomorrow_a_wednesday(at):
    result, _ = await first("le car passe-t-il demain ?", [("date", "demain")])
    assert result == {"transport_kind": "service", "transport_day": "2026-12-02"}
    form = transport.ValidateTransportForm()
    assert await form.required_slots(["transport_place"], None, tracker(message(), result), {}) == []
    text, _, _ = await done(**result)
    assert text == (
        "Oui, les cars scolaires circulent mercredi 2 décembre (lignes S1, S2 et S4). "
        "Le mercredi, le retour a lieu à midi."
    )


async def test_no_service_on_a_holiday_says_why_and_when_it_resumes(at):
    at(2026, 12, 18, 19, 0)
    text, _, _ = await done(transport_kind="service", transport_day="2026-12-21")
    assert text == (
        "Non, pas de car scolaire lundi 21 décembre : vacances de Noël (du samedi 19 décembre au "
        "dimanche 3 janvier 2027). Les cars reprennent lundi 4 janvier 2027."
    )


async def test_no_service_on_a_public_holiday_and_after_the_school_year(at):
    text, _, _ = await done(transport_kind="service", transport_day="2027-05-17")
    assert "jour férié (lundi de Pentecôte)" in text and "Les cars reprennent mardi 18 mai 2027." in text
    text, _, _ = await done(transport_kind="service", transport_day="2027-07-20")
    assert text.startswith("Non, pas de car scolaire mardi 20 juillet 2027 : vacances d'été")


async def test_during_the_holidays_without_a_day_lists_the_coming_holidays(at):
    result, _ = await first("y a t il un bus pendant les vacances")
    assert result["transport_kind"] == "holidays"
    text, _, _ = await done(**result)
    assert text.startswith(
        "Les cars scolaires ne circulent pas pendant les vacances scolaires. La commune est en zone B."
    )
    assert "- Vacances de Noël : du samedi 19 décembre au dimanche 3 janvier 2027" in text
    assert "- Vacances d'hiver : du samedi 20 février 2027 au dimanche 7 mars 2027" in text


# ---- « comment inscrire mon enfant ? » ------------------------------------------------------------


async def test_registration(at):
    result, _ = await first("comment inscrire mon enfant au transport scolaire ?")
    assert result == {"transport_kind": "registration", "transport_day": None}
    text, messages, _ = await done(**result)
    assert text.startswith("Inscription au transport scolaire 2026-2027 : du 1er juin au 15 juillet.")
    assert "- un justificatif de domicile de moins de 3 mois" in text
    assert "Questions : Service scolaire et périscolaire, 01 99 00 10 50." in text
    url = "https://www.villebrune.example/transport-scolaire/inscription"
    assert {"title": "S'inscrire en ligne", "type": "web_url", "url": url} in buttons_of(messages)


# ---- the question when the stop or the school is missing ---------------------------------------


async def test_without_a_place_the_form_asks_with_buttons(at):
    result, _ = await first("horaires ramassage scolaire")
    assert result == {"transport_kind": "times", "transport_day": None}
    dispatcher = CollectingDispatcher()
    events = await transport.ActionAskTransportPlace().run(
        dispatcher, tracker(message(), loop="transport_form"), {}
    )
    titles = [b["title"] for b in buttons_of(dispatcher.messages)]
    assert titles[:4] == ["Collège Jean Moulin", "Lycée Marie Curie (Montval)", "École Jules Ferry",
                          "École maternelle Les Tilleuls"]  # fmt: skip
    assert "Arrêt Gare" in titles and len(titles) <= transport.MAX_PLACE_BUTTONS
    offered = events[0]["value"]
    assert "stop:GARE" in offered and "school:college_jean_moulin" in offered

    result, messages = await answer(entities=[("choice", "stop:GARE")], slots={"transport_offered": offered})
    assert result["transport_place"] == "stop:GARE" and messages == []


async def test_a_typed_answer_with_a_typo_and_a_day(at):
    result, _ = await answer("les esarts demain", [("date", "demain")])
    assert result["transport_place"] == "stop:ESSARTS" and result["transport_day"] == "2026-12-02"


@pytest.mark.parametrize(
    "choice", ["stop:NOWHERE", "school:../../etc", "stop:" + "G" * 500, "school:lycee_marie_curie"]
)
async def test_a_forged_button_is_refused(at, choice):
    offered = ["stop:GARE", "school:college_jean_moulin"]
    result, messages = await answer(entities=[("choice", choice)], slots={"transport_offered": offered})
    assert result["transport_place"] is None and result["form_failures"] == 1
    assert said(messages).startswith("Je ne trouve pas cet arrêt ni cet établissement")


async def test_an_unknown_place_counts_a_failure_and_the_third_ends_the_form(at):
    result, messages = await answer("chez ma grand-mère", slots={"form_failures": 2})
    assert result["form_failures"] == 3 and result["form_outcome"] == "failed"
    assert "01 99 00 10 50" in said(messages)


async def test_emojis_only_get_the_french_answer(at):
    result, messages = await answer("🚌🚌🚌")
    assert result["transport_place"] is None
    assert said(messages).startswith("Je ne trouve pas cet arrêt")


async def test_several_close_places_are_offered_as_buttons(monkeypatch, at):
    names = [("stop:BORDES", "Les Bordes", ["Les Bordes"]), ("stop:HAUTES", "Bordes-Hautes", ["Bordes"])]
    monkeypatch.setattr(transport, "_stop_names", lambda network: names)
    result, messages = await answer("les bordes")
    assert result == {"transport_place": None, "transport_offered": ["stop:HAUTES", "stop:BORDES"]}
    assert [b["title"] for b in buttons_of(messages)] == ["Bordes-Hautes", "Les Bordes"]


# ---- active alerts (interface 3 of the project) -----------------------------------------------


async def test_active_school_transport_alerts_end_the_answer(monkeypatch, at):
    asked = []

    def active_alerts(topics=None, sector=None):
        asked.append(topics)
        return [
            SimpleNamespace(
                text="Neige : aucun car scolaire ce mardi.", link="https://www.villebrune.example/alertes"
            )
        ]

    monkeypatch.setattr(transport, "active_alerts", active_alerts)
    text, _, _ = await done(transport_kind="service", transport_day="2026-12-01")
    assert asked == [["transport_scolaire"]]
    assert text.endswith(
        "Information importante : Neige : aucun car scolaire ce mardi. https://www.villebrune.example/alertes"
    )


async def test_the_question_is_not_asked_again_under_the_close_names(at):
    dispatcher = CollectingDispatcher()
    asked = tracker(message(), loop="transport_form")
    offered = ["stop:BORDES", "stop:HAUTES"]
    asked.events.append({"event": "slot", "name": "transport_offered", "value": offered})
    assert await transport.ActionAskTransportPlace().run(dispatcher, asked, {}) == []
    assert dispatcher.messages == []


def test_a_date_entity_that_lost_its_month_gives_way_to_the_message(at):
    # The NLU once tagged only « 11 » of « le 11 novembre »: 11 December, not 11 November.
    text = "est ce que les cars scolaires circulent le 11 novembre ?"
    assert transport.read_day(["11", text]).isoformat() == "2027-11-11"
    assert transport.read_day(["le 11 novembre", text]).isoformat() == "2027-11-11"
    assert transport.read_day(["demain", "le car passe-t-il demain ?"]).isoformat() == "2026-12-02"
    assert transport.read_day(["11", "le car passe le 11 ?"]).isoformat() == "2026-12-11"
    assert transport.read_day(["", "rien de daté"]) is None
