"""School holidays held once, in the territory file, read by events and school transport."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.territory import DEFAULT_TERRITORY_FILE, TerritoryConfigError, load_territory


def territory(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_TERRITORY_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "territory.yml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_demo_zone_and_its_periods_in_date_order():
    holidays = load_territory().school_holidays
    assert holidays.zone == "B"
    ours = holidays.of_zone()
    assert [p.key for p in ours] == ["toussaint", "noel", "hiver", "printemps", "ascension", "ete"]
    assert [p.start for p in ours] == sorted(p.start for p in ours)
    assert holidays.on(date(2027, 2, 20)).name == "Vacances d'hiver"  # zone B's first day
    assert holidays.on(date(2027, 2, 15)) is None  # zones A and C only
    assert holidays.on(date(2027, 3, 8)) is None  # classes resume on Monday
    assert holidays.on(date(2027, 5, 7)).lower_name == "pont de l'Ascension"


def test_changing_one_letter_moves_the_territory_to_another_zone(tmp_path):
    path = territory(tmp_path, "  zone: B ", "  zone: C ")
    holidays = load_territory(path).school_holidays
    assert holidays.on(date(2027, 2, 15)).name == "Vacances d'hiver"
    assert holidays.on(date(2027, 3, 1)) is None


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("  zone: B ", "  zone: D ", "school_holidays.zone (ligne"),
        ("end: 2026-11-01", "end: 2026-10-01", "la fin des vacances précède leur début"),
        ("zones: [A, B, C], start: 2026-10-17", "zones: [A, E], start: 2026-10-17", "zone « E » inconnue"),
    ],
)
def test_mistakes_are_reported_in_french_with_the_line(tmp_path, old, new, expected):
    with pytest.raises(TerritoryConfigError) as error:
        load_territory(territory(tmp_path, old, new))
    assert expected in str(error.value)
    assert "ligne" in str(error.value)
