"""Create or upgrade the booking database, then copy the booking file's sites into it.

`python -m booking.seed` (run by `make run` and the test stack): idempotent.
Sites and weekly hours follow the file (a site removed from the file is made
inactive, never deleted: its appointments stay); configured closures are added;
agents' extra openings and closures are left alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import delete, select

from booking.config import BookingConfig, load_booking_config, load_bulky_booking_config
from booking.models import Closure, Site, WeeklySchedule
from core.db import database_url, engine_for, session_scope
from core.territory import TerritoryConfigError

ROOT = Path(__file__).resolve().parent.parent


def migrate(url: str | None = None, revision: str = "head") -> None:
    """alembic upgrade `revision` on `url` (default GRU_DATABASE_URL)."""
    url = url or database_url()
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "booking" / "migrations"))
    engine = engine_for(url)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # SQLite alters a table by copying it; with foreign keys on, dropping the old
            # copy would cascade-delete the rows that reference it (slot claims).
            _pragma(connection, "PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        finally:
            if sqlite:
                _pragma(connection, "PRAGMA foreign_keys=ON")


def _pragma(connection, statement: str) -> None:
    """Run a PRAGMA outside any transaction (SQLite ignores foreign_keys inside one)."""
    cursor = connection.connection.cursor()
    cursor.execute(statement)
    cursor.close()


def seed(config: BookingConfig, url: str | None = None) -> None:
    with session_scope(url, write=True) as session:
        # Only this service's sites: the identity and bulky-waste files are seeded separately.
        known = {
            site.id: site
            for site in session.execute(select(Site).where(Site.service == config.service)).scalars()
        }
        for site_config in config.sites:
            site = known.pop(site_config.id, None) or Site(id=site_config.id)
            for field in (
                "name",
                "address",
                "zip_code",
                "city",
                "latitude",
                "longitude",
                "stations",
                "phone",
                "website",
                "city_logo",
            ):
                setattr(site, field, getattr(site_config, field))
            site.active = True
            site.service = config.service
            session.add(site)
            session.flush()
            session.execute(delete(WeeklySchedule).where(WeeklySchedule.site_id == site.id))
            for weekday, day_name in enumerate(
                ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
            ):
                for interval in site_config.hours.get(day_name, []):
                    session.add(
                        WeeklySchedule(
                            site_id=site.id, weekday=weekday, start_time=interval.start, end_time=interval.end
                        )
                    )
        for retired in known.values():
            retired.active = False
        for closure in config.closures:
            for site_id in closure.sites or [None]:
                exists = session.execute(
                    select(Closure.id).where(
                        Closure.day == closure.date,
                        Closure.site_id.is_(None) if site_id is None else Closure.site_id == site_id,
                    )
                ).first()
                if not exists:
                    session.add(
                        Closure(site_id=site_id, day=closure.date, reason=closure.reason, source="config")
                    )


def prepare_database(url: str | None = None) -> None:
    migrate(url)
    seed(load_booking_config(), url)
    seed(load_bulky_booking_config(), url)


def main() -> int:
    try:
        prepare_database()
    except TerritoryConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("Base de rendez-vous prête.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
