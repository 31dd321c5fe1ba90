"""Shared by the unit tests: the fixture territory files (tests/fixtures) in place of the demo,
a seeded SQLite booking database per test copied from one migrated once per session, and the
next open day for the tests that run on the real clock."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from booking import engine
from booking.config import load_booking_config, load_bulky_booking_config
from booking.seed import migrate, seed
from core.db import engine_for
from core.holidays import holiday_name
from core.territory import load_territory
from tests.conftest import FIXTURES
from waste.config import load_waste_config
from welfare.config import load_welfare_config

TERRITORY_FILE = FIXTURES / "territory.yml"
BOOKING_FILE = FIXTURES / "booking.yml"
BULKY_BOOKING_FILE = FIXTURES / "bulky_waste_booking.yml"
WASTE_FILE = FIXTURES / "waste.yml"
WEEKDAYS = frozenset({0, 1, 2, 3, 4})

# The loaders cache what they read without a path (the GRU_*_FILE variables are read once).
_CACHED_LOADERS = (load_territory, load_booking_config, load_waste_config, load_welfare_config)


def _clear_loader_caches() -> None:
    for loader in _CACHED_LOADERS:
        loader.cache_clear()


@pytest.fixture
def fixture_files(monkeypatch) -> None:
    """The loaders read tests/fixtures instead of territory/demo for the duration of the test."""
    monkeypatch.setenv("GRU_TERRITORY_FILE", str(TERRITORY_FILE))
    monkeypatch.setenv("GRU_BOOKING_FILE", str(BOOKING_FILE))
    monkeypatch.setenv("GRU_BULKY_BOOKING_FILE", str(BULKY_BOOKING_FILE))
    monkeypatch.setenv("GRU_WASTE_FILE", str(WASTE_FILE))
    _clear_loader_caches()
    yield
    _clear_loader_caches()


@pytest.fixture(scope="session")
def _booking_template(tmp_path_factory) -> Path:
    """One booking database migrated and seeded from the fixture files, once per session."""
    path = tmp_path_factory.mktemp("booking-template") / "template.db"
    url = f"sqlite:///{path}"
    migrate(url)
    seed(load_booking_config(BOOKING_FILE), url)
    seed(load_bulky_booking_config(BULKY_BOOKING_FILE), url)
    engine_for(url).dispose()
    return path


@pytest.fixture
def db_url(_booking_template, tmp_path, fixture_files) -> str:
    """A fresh booking database of this test's own (a copy of the session's seeded template),
    with the fixture files in place: what `booking.seed.prepare_database` gives, without
    running the Alembic migrations again."""
    path = tmp_path / "booking.db"
    with sqlite3.connect(_booking_template) as source, sqlite3.connect(path) as target:
        source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{path}"


def next_open_day(weekdays=WEEKDAYS, min_days_ahead: int = 3) -> date:
    """The first day of `weekdays` (0 = Monday) at least `min_days_ahead` days from today,
    neither a public holiday nor a closure of the booking file."""
    closed = {c.date for c in load_booking_config().closures}
    day = engine.local_now().date() + timedelta(days=min_days_ahead)
    while day.weekday() not in weekdays or holiday_name(day) or day in closed:
        day += timedelta(days=1)
    return day
