"""Bulky-waste reading in plain Python (waste/bulky.py) and the remembered address
(booking/memory.py), without Rasa."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from booking import memory
from booking.seed import prepare_database
from core.text import format_short_date_fr
from waste.bulky import pick_offered_day, refused_item
from waste.recycling import load_recycling_config

RECYCLING = load_recycling_config()


@pytest.mark.parametrize(
    "text, named, advice",
    [
        ("des gravats et un canapé", "gravats", None),
        ("un pot de PEINTURE", "peintures", None),
        ("Des Déchets Verts", "déchets verts", None),
        ("des branches", "branches", None),
        ("4 pneus", "pneus", None),
        ("trois sacs poubelle", "sacs poubelle", "dans le bac gris"),
        ("une bouteille de gaz", "bouteilles de gaz", "à rapporter au vendeur"),
        ("plaques d'amiante", "amiante", "à confier à une entreprise spécialisée"),
    ],
)
def test_refused_items_come_from_the_content_file(text, named, advice):
    refusal = refused_item(RECYCLING, text)
    assert refusal is not None and (refusal.named, refusal.advice) == (named, advice)


@pytest.mark.parametrize("text", ["un canapé et un matelas", "une armoire démontée", "un frigo", "un vélo"])
def test_accepted_items_pass(text):
    assert refused_item(RECYCLING, text) is None


def test_every_refused_material_of_the_file_is_refused():
    for material in RECYCLING.bulky_waste.refused:
        assert refused_item(RECYCLING, f"des {material.name}") is not None, material.name


OFFERED = [
    "encombrants-villebrune@2030-01-08T08:00",  # Tuesday
    "encombrants-villebrune@2030-01-10T08:00",  # Thursday
    "encombrants-villebrune@2030-01-15T08:00",  # Tuesday
]


@pytest.mark.parametrize(
    "text, index",
    [
        ("le premier", 0),
        ("2e", 1),
        ("le dernier", 2),
        ("jeudi", 1),
        ("mardi 15", 2),
        ("le 10 janvier", 1),
        ("mardi", None),  # two Tuesdays
        ("azerty", None),
        ("le 5e", None),
        ("", None),
    ],
)
def test_pick_offered_day(text, index):
    assert pick_offered_day(text, OFFERED) == (OFFERED[index] if index is not None else None)


def test_short_day_is_short():
    assert format_short_date_fr(date(2030, 1, 8)) == "mar. 8 janv."
    assert format_short_date_fr(date(2030, 5, 7)) == "mar. 7 mai"
    assert format_short_date_fr(date(2030, 9, 30)) == "lun. 30 sept."
    assert max(len(format_short_date_fr(date(2030, m, 28))) for m in range(1, 13)) <= 13


def test_remember_recall_forget(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'gru.db'}"
    monkeypatch.setenv("GRU_DATABASE_URL", url)
    prepare_database(url)
    assert memory.recall("rest", "a") is None and memory.forget("rest", "a") is False
    memory.remember("rest", "a", "Rue Pasteur", 3, "centre", now=datetime(2030, 1, 8, 9, 30, 12))
    memory.remember("rest", "a", "Avenue Jean Jaurès", 12, "gare")  # a new consent replaces the address
    memory.remember("facebook", "a", "Rue Pasteur", None, "centre")
    kept = memory.recall("rest", "a")
    assert (kept.street, kept.housenumber, kept.sector) == ("Avenue Jean Jaurès", 12, "gare")
    assert memory.forget("rest", "a") is True and memory.recall("rest", "a") is None
    assert memory.recall("facebook", "a").housenumber is None  # another channel's conversation stays
