"""Citizens' questions about events read into a query: dates (core.dates), school holidays
of the events file, categories (longest words first), « gratuit », « pour les enfants »."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from events.local import DEFAULT_EVENTS_FILE, load_events_file
from events.question import read_question

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=PARIS)  # a Tuesday


@pytest.fixture(scope="module")
def content():
    return load_events_file(DEFAULT_EVENTS_FILE)


def ask(content, text, now=NOW, entities=()):
    return read_question(text, now, content, entities)


def days(question):
    return question.query.start.date(), question.query.end.date()


def test_this_weekend(content):
    for text in ("qu'est-ce qu'il y a ce week-end ?", "slt ya koi ce we", "des sorties ce weekend"):
        question = ask(content, text)
        assert days(question) == (date(2026, 12, 5), date(2026, 12, 6)), text
        assert question.what_fr == "les événements entre le samedi 5 et le dimanche 6 décembre"


def test_tomorrow_evening_keeps_the_time_and_the_category(content):
    question = ask(content, "des concerts demain soir")
    assert question.query.categories == ("concert",)
    assert question.query.start == datetime(2026, 12, 2, 17, 0, tzinfo=PARIS)
    assert question.query.end.date() == date(2026, 12, 2)
    assert question.what_fr == "les concerts le mercredi 2 décembre après 17 h"


def test_tonight_starts_now_not_at_midnight(content):
    late = datetime(2026, 12, 1, 18, 40, tzinfo=PARIS)
    question = ask(content, "il y a quoi ce soir ?", now=late)
    assert question.query.start == late and question.query.end.date() == late.date()


def test_holidays_come_from_the_events_file(content):
    question = ask(content, "activités gratuites pour les enfants pendant les vacances")
    assert question.period == "noel"
    assert days(question) == (date(2026, 12, 19), date(2027, 1, 3))
    assert question.query.free_only and question.query.children
    expected = "les événements gratuits pour les enfants pendant les vacances de Noël"
    assert question.what_fr.startswith(expected)
    winter = ask(content, "vacances de fevrier pour les petits")
    assert winter.period == "hiver" and days(winter) == (date(2027, 2, 20), date(2027, 3, 7))
    during = ask(content, "quoi faire pendant les vacs", now=datetime(2026, 12, 28, 9, tzinfo=PARIS))
    assert during.period == "noel" and during.query.start == datetime(2026, 12, 28, 9, tzinfo=PARIS)


def test_christmas_market_is_not_also_the_weekly_market(content):
    question = ask(content, "c quand le marché de noel")
    assert question.query.categories == ("marche_noel",)
    assert question.query.start is None and question.what_fr == "les marchés de Noël"
    assert ask(content, "le marché c'est quel jour ?").query.categories == ("marche",)


def test_dates_and_ranges(content):
    assert days(ask(content, "quoi faire du 5 au 10 décembre")) == (date(2026, 12, 5), date(2026, 12, 10))
    assert days(ask(content, "feu d'artifice le 13 juillet")) == (date(2027, 7, 13), date(2027, 7, 13))
    assert ask(content, "feu d'artifice le 13 juillet").query.categories == ("fete",)
    assert days(ask(content, "y a un vide grenier dimanche ?")) == (date(2026, 12, 6), date(2026, 12, 6))
    assert days(ask(content, "les sorties en janvier")) == (date(2027, 1, 1), date(2027, 1, 31))


def test_des_is_an_article_not_a_start(content):
    question = ask(content, "des spectacles pour les enfants samedi")
    assert days(question) == (date(2026, 12, 5), date(2026, 12, 5))


@pytest.mark.parametrize(
    "text", ["", "🎉🎉🎉", "evenements", "a" * 50_000, "x " * 10_000, "hier", "le 31 février", "à 20h"]
)
def test_no_date_or_a_bad_one_means_the_next_events(content, text):
    question = ask(content, text)
    assert question.query.start is None and question.query.end is None
    assert not question.query.free_only and not question.query.children


def test_an_entity_adds_its_category(content):
    question = ask(content, "y a quoi", entities=["cinema", "not_a_category"])
    assert question.query.categories == ("cinema",) and question.what_fr == "les séances de cinéma"


def test_free_and_children_words(content):
    assert ask(content, "des trucs gratos avec les gosses").query.children
    assert ask(content, "des trucs gratos avec les gosses").query.free_only
    assert not ask(content, "concert").query.free_only
    assert ask(content, "que faire en famille").query.children


def test_times_without_a_day_are_not_a_window(content):
    question = ask(content, "spectacle à 15h")
    assert question.query.start is None
    assert question.query.categories == ("spectacle",)
