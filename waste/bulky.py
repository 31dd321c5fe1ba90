"""Bulky-waste pick-ups (encombrants): reading what the citizen lists and the morning
they pick. Plain Python; the refused items come from the recycling content file
(territory/…/recycling_center.yml, `bulky_waste.refused`, names and notes), never from
a list in code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, List, Sequence, Tuple

from core.text import MONTHS_FR, ORDINALS_FR, WEEKDAYS_FR, fold_words
from waste.recycling import Material, RecyclingConfig


@dataclass(frozen=True)
class Refusal:
    named: str  # the content file's word for what the citizen listed (« gravats », « peintures »)
    advice: str | None  # where it goes when the déchetterie refuses it too (its note), else None


def _terms(material: Material) -> List[str]:
    """A material's name and the comma-separated words of its note (« béton, ciment »)."""
    notes = [part.strip() for part in (material.note or "").split(",")]
    return [material.name] + [part for part in notes if part]


def _pattern(term: str) -> re.Pattern:
    """« déchets verts » → matches « dechet vert », « dechets verts » (folded, plural-free)."""
    stems = [re.sub(r"[sx]$", "", word) or word for word in fold_words(term).split()]
    return re.compile(r"\b" + r"\w*\s+".join(map(re.escape, stems)) + r"\w*")


def _first_match(materials: Iterable[Material], text: str, with_notes: bool) -> Tuple[Material, str] | None:
    for material in materials:
        for term in _terms(material) if with_notes else [material.name]:
            if _pattern(term).search(text):
                return material, term
    return None


def refused_item(config: RecyclingConfig, text: str) -> Refusal | None:
    """The first item of `text` the bulky-waste collection does not take, if any.

    The pick-up refuses `bulky_waste.refused` (names, and the words of their notes) and
    anything the déchetterie refuses too; for the latter the déchetterie's note says where
    it goes instead (« à rapporter au vendeur »).
    """
    folded = fold_words(text)
    center_refused = config.center().refused
    found = _first_match(config.bulky_waste.refused, folded, with_notes=True)
    if found:
        material, term = found
        elsewhere = next((m for m in center_refused if fold_words(m.name) == fold_words(material.name)), None)
        return Refusal(term, elsewhere.note if elsewhere else None)
    found = _first_match(center_refused, folded, with_notes=False)
    if found:
        material, term = found
        return Refusal(term, material.note)
    return None


# ---- the morning the citizen picks -------------------------------------------------------------


def _day_of(key: str) -> date:
    """« encombrants-villebrune@2030-01-08T08:00 » → 2030-01-08."""
    return datetime.fromisoformat(key.split("@", 1)[1]).date()


def pick_offered_day(text: str, offered: Sequence[str]) -> str | None:
    """The offered pick-up a typed answer points at: « le premier », « le 2e », « le dernier »,
    « mardi », « le 8 », « mardi 8 janvier ». None when it points at none or at several."""
    words = fold_words(text).split()
    if not words or not offered:
        return None
    core = [w for w in words if w not in ("le", "la", "l", "date", "matin", "jour", "celui", "celle")]
    if len(core) == 1 and core[0] in ORDINALS_FR and ORDINALS_FR[core[0]] < len(offered):
        return offered[ORDINALS_FR[core[0]]]
    if core == ["dernier"] or core == ["derniere"]:
        return offered[-1]
    weekdays = {i for i, name in enumerate(WEEKDAYS_FR) if fold_words(name) in words}
    numbers = {int(w.rstrip("er")) for w in words if re.fullmatch(r"\d{1,2}(er)?", w)}
    months = {i + 1 for i, name in enumerate(MONTHS_FR) if fold_words(name) in words}
    if not (weekdays or numbers or months):
        return None
    matches = [
        key
        for key in offered
        if (not weekdays or _day_of(key).weekday() in weekdays)
        and (not numbers or _day_of(key).day in numbers)
        and (not months or _day_of(key).month in months)
    ]
    return matches[0] if len(matches) == 1 else None
