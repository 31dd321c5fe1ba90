"""Booking engine under load: slot search, booking, cancellation and concurrency, SQLite and PostgreSQL.

For each database (a temporary SQLite file, a throwaway PostgreSQL database):

1. seed the demo sites (booking.seed), then widen them so that N appointments fit in the
   60-day window: every site gets STATIONS biometric stations and an extra opening on
   every Sunday (SUNDAY_HOURS);
2. baseline: the slot searches below on the EMPTY database;
3. fill: N appointments (15/30/45/60 minutes) drawn at random among the free station
   times of the window, bulk-inserted (appointments + one slot_claims row per 15-minute
   step + one application_claims row each), the same rows `engine.book` would write;
4. slot search p50/p95 on the full database (same queries as the baseline, both sites, like
   the chat): one random day and one random week with limit=5, and first_available;
5. sequential book then cancel p50/p95 on free slots;
6. concurrent booking of distinct free slots by 8 and 32 threads (bookings/s, latency), and
   50 threads on the same slot: exactly its free capacity must succeed (the exit code says so).

The clock is fixed (`now` = NOW, a Monday morning) so the run is reproducible (seeded).
Prints a Markdown table (measure | SQLite | PostgreSQL); p95 above the budgets are marked OVER.

    python -m ops.bench_booking [--appointments N] [--quick] [--skip-postgres] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import psycopg2
from sqlalchemy import func, select, text, update

from booking import engine
from booking.config import BookingConfig, load_booking_config
from booking.models import ApplicationClaim, Appointment, ExtraOpening, Site, SlotClaim
from booking.seed import prepare_database
from core.db import engine_for, session_scope

NOW = datetime(2030, 1, 7, 8, 0)  # a Monday morning; no public holiday in the 60 days that follow
STATIONS = 12
SUNDAY_HOURS = (dtime(9, 0), dtime(17, 0))
# Durations of the existing appointments (minutes, weight) and what they are for.
FILL_DURATIONS = ((15, 0.60), (30, 0.25), (45, 0.05), (60, 0.10))
FILL_KINDS = {15: ("CNI", 1), 30: ("CNI-PASSPORT", 1), 45: ("CNI", 3), 60: ("CNI-PASSPORT", 2)}
SEARCH_DURATIONS = (15, 15, 15, 30, 60)  # mostly one person, one document
SEED = 20300107
# The chat turn budget is 300 ms including Rasa: the engine gets half of it.
BUDGET_MS = {"search": 150.0, "booking": 150.0}
BUDGETED = {
    "search_day_empty_p95_ms": "search",
    "search_week_empty_p95_ms": "search",
    "first_available_empty_p95_ms": "search",
    "search_day_p95_ms": "search",
    "search_week_p95_ms": "search",
    "first_available_p95_ms": "search",
    "book_p95_ms": "booking",
    "cancel_p95_ms": "booking",
    "concurrent8_p95_ms": "booking",
    "concurrent32_p95_ms": "booking",
}
PG_HOST = os.environ.get("GRU_TEST_PG_HOST", "127.0.0.1")
CONTENTION_THREADS = 50


class Sizes:
    def __init__(self, quick: bool):
        self.search_calls = 20 if quick else 200
        self.sequential = 20 if quick else 200
        self.concurrent = {8: 24, 32: 64} if quick else {8: 1500, 32: 1500}  # at most, distinct slots
        self.concurrent_seconds = 5.0 if quick else 10.0  # and at most this long


def percentile(values: List[float], q: float) -> float:
    """Nearest-rank percentile, as in ops.bench."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(prefix: str, values: List[float]) -> Dict[str, float]:
    if not values:
        return {f"{prefix}_p50_ms": float("nan"), f"{prefix}_p95_ms": float("nan")}
    return {f"{prefix}_p50_ms": statistics.median(values), f"{prefix}_p95_ms": percentile(values, 95)}


def timed(call: Callable[[], object]) -> Tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def window_days(config: BookingConfig) -> List[date]:
    first = NOW.date()
    return [first + timedelta(days=k) for k in range(config.booking_window_days + 1)]


# ---- database set-up -------------------------------------------------------------------------------


def widen_sites(url: str, config: BookingConfig) -> Dict[str, object]:
    """STATIONS stations everywhere and an extra opening every Sunday of the window."""
    with session_scope(url, write=True) as session:
        session.execute(update(Site).where(Site.active).values(stations=STATIONS))
        site_ids = list(session.execute(select(Site.id).where(Site.active)).scalars())
        sundays = [day for day in window_days(config) if day.weekday() == 6]
        for site_id in site_ids:
            for day in sundays:
                session.add(
                    ExtraOpening(
                        site_id=site_id, day=day, start_time=SUNDAY_HOURS[0], end_time=SUNDAY_HOURS[1]
                    )
                )
    return {"sites": site_ids, "stations": STATIONS, "sunday_openings": len(sundays) * len(site_ids)}


def _on_grid(moment: datetime, step: int) -> datetime:
    late = -(moment.hour * 60 + moment.minute) % step
    return moment + timedelta(minutes=late)


def candidate_appointments(
    url: str, config: BookingConfig, rng: random.Random
) -> Tuple[List[Tuple[str, int, datetime, int]], int]:
    """Every station's open time cut into back-to-back appointments; and the window's station steps."""
    step = config.slot_step_minutes
    earliest = NOW + timedelta(minutes=config.min_notice_minutes)
    durations = [d for d, _ in FILL_DURATIONS]
    weights = [w for _, w in FILL_DURATIONS]
    found: List[Tuple[str, int, datetime, int]] = []
    capacity = 0
    with session_scope(url) as session:
        sites = session.execute(select(Site).where(Site.active).order_by(Site.id)).scalars().all()
        for site in sites:
            for day in window_days(config):
                for opening in engine.openings(session, site, day):
                    first = _on_grid(max(datetime.combine(day, opening.start), earliest), step)
                    end = datetime.combine(day, opening.end)
                    if first >= end:
                        continue
                    capacity += opening.stations * (int((end - first).total_seconds()) // 60 // step)
                    for station in range(1, opening.stations + 1):
                        start = first
                        while start + timedelta(minutes=step) <= end:
                            duration = rng.choices(durations, weights)[0]
                            while start + timedelta(minutes=duration) > end:
                                duration -= step
                            found.append((site.id, station, start, duration))
                            start += timedelta(minutes=duration)
    return found, capacity


def _reference(number: int) -> str:
    letters = []
    for _ in range(6):
        number, digit = divmod(number, len(engine.REFERENCE_ALPHABET))
        letters.append(engine.REFERENCE_ALPHABET[digit])
    return "RDV-" + "".join(reversed(letters))


def fill(url: str, config: BookingConfig, count: int, rng: random.Random) -> Dict[str, float]:
    """Bulk-insert `count` booked appointments at random free station times of the window."""
    started = time.perf_counter()
    candidates, capacity = candidate_appointments(url, config, rng)
    if count > len(candidates):
        raise SystemExit(f"only {len(candidates)} appointments fit in the window; lower --appointments")
    chosen = sorted(rng.sample(candidates, count), key=lambda c: (c[0], c[2], c[1]))
    step = config.slot_step_minutes
    appointments, claims, applications = [], [], []
    created = NOW - timedelta(days=20)
    for number, (site_id, station, start, duration) in enumerate(chosen, start=1):
        reason, people = FILL_KINDS[duration]
        application_id = f"F{number:09d}"
        appointments.append(
            {
                "id": number,
                "reference": _reference(number),
                "site_id": site_id,
                "station": station,
                "start": start,
                "duration_minutes": duration,
                "reason": reason,
                "people": people,
                "documents": duration // config.minutes_per_document,
                "application_ids": application_id,
                "surname": f"Habitant{number}",
                "email": None,
                "phone": None,
                "channel": ("rest", "ants", "agent")[number % 3],
                "sender_id": f"fill-{number}",
                "status": "booked",
                "needs_agent_check": False,
                "created_at": created,
                "updated_at": created,
                "cancelled_at": None,
            }
        )
        applications.append({"application_id": application_id, "appointment_id": number})
        claims.extend(
            {
                "site_id": site_id,
                "station": station,
                "slot_start": start + timedelta(minutes=k),
                "appointment_id": number,
            }
            for k in range(0, duration, step)
        )
    db = engine_for(url)
    with db.begin() as connection:
        for table, rows in (
            (Appointment.__table__, appointments),
            (SlotClaim.__table__, claims),
            (ApplicationClaim.__table__, applications),
        ):
            for k in range(0, len(rows), 5000):
                connection.execute(table.insert(), rows[k : k + 5000])
        if db.dialect.name == "postgresql":
            # Explicit ids: move the sequence on, or the engine's next booking reuses id 1.
            connection.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('appointments', 'id'),"
                    " (SELECT max(id) FROM appointments))"
                )
            )
    if db.dialect.name == "postgresql":
        with db.begin() as connection:
            connection.execute(text("ANALYZE"))  # what autovacuum does after such an insert
    return {
        "appointments": count,
        "slot_claims": len(claims),
        "capacity_steps": capacity,
        "fill_ratio": len(claims) / capacity,
        "fill_s": time.perf_counter() - started,
    }


# ---- measures --------------------------------------------------------------------------------------


def search_queries(config: BookingConfig, count: int, rng: random.Random) -> Dict[str, list]:
    days = window_days(config)
    return {
        "day": [(d, d, rng.choice(SEARCH_DURATIONS)) for d in (rng.choice(days) for _ in range(count))],
        "week": [
            (d, d + timedelta(days=6), rng.choice(SEARCH_DURATIONS))
            for d in (rng.choice(days[:-6]) for _ in range(count))
        ],
        "first": [rng.choice(SEARCH_DURATIONS) for _ in range(count)],
    }


def measure_search(
    url: str, config: BookingConfig, sites: List[str], queries: Dict[str, list], suffix: str
) -> Dict[str, float]:
    def search(first: date, last: date, duration: int):
        return engine.available_slots(sites, first, last, duration, now=NOW, limit=5, url=url, config=config)

    def first_free(duration: int):
        return engine.first_available(sites, duration, after=NOW.date(), now=NOW, url=url, config=config)

    for first, last, duration in queries["week"][:3]:  # warm-up: connections, compiled statements
        search(first, last, duration)
        first_free(duration)
    result: Dict[str, float] = {}
    result.update(summary(f"search_day{suffix}", [timed(lambda q=q: search(*q))[0] for q in queries["day"]]))
    result.update(
        summary(f"search_week{suffix}", [timed(lambda q=q: search(*q))[0] for q in queries["week"]])
    )
    result.update(
        summary(f"first_available{suffix}", [timed(lambda d=d: first_free(d))[0] for d in queries["first"]])
    )
    return result


def free_units(url: str, config: BookingConfig, sites: List[str], rng: random.Random) -> List[engine.Slot]:
    """Every free 15-minute slot repeated once per free station, shuffled."""
    horizon = NOW.date() + timedelta(days=config.booking_window_days)
    slots = engine.available_slots(sites, NOW.date(), horizon, 15, now=NOW, url=url, config=config)
    with session_scope(url) as session:
        stations = dict(session.execute(select(Site.id, Site.stations)).all())
        held = {
            (site_id, start): n
            for site_id, start, n in session.execute(
                select(SlotClaim.site_id, SlotClaim.slot_start, func.count()).group_by(
                    SlotClaim.site_id, SlotClaim.slot_start
                )
            ).all()
        }
    units = [s for s in slots for _ in range(stations[s.site_id] - held.get((s.site_id, s.start), 0))]
    rng.shuffle(units)
    return units


def _book(url: str, config: BookingConfig, slot: engine.Slot, tag: str) -> engine.AppointmentView:
    return engine.book(
        slot,
        reason="CNI",
        people=1,
        surname=f"Essai {tag}",
        channel="rest",
        sender_id=f"bench-{tag}",
        application_ids=[f"B{tag}"],
        now=NOW,
        url=url,
        config=config,
    )


def measure_book_cancel(url: str, config: BookingConfig, jobs: List[engine.Slot]) -> Dict[str, float]:
    booked: List[Tuple[str, str]] = []
    book_ms: List[float] = []
    for k, slot in enumerate(jobs):
        tag = f"S{k:08d}"
        elapsed, view = timed(lambda slot=slot, tag=tag: _book(url, config, slot, tag))
        book_ms.append(elapsed)
        booked.append((view.reference, f"Essai {tag}"))
    cancel_ms = [
        timed(lambda r=reference, s=surname: engine.cancel(r, surname=s, now=NOW, url=url))[0]
        for reference, surname in booked
    ]
    return {**summary("book", book_ms), **summary("cancel", cancel_ms), "sequential_bookings": len(book_ms)}


def measure_throughput(
    url: str, config: BookingConfig, jobs: List[engine.Slot], threads: int, seconds: float
) -> Dict[str, object]:
    """`threads` workers book distinct free slots until none is left or `seconds` have passed."""
    lock = threading.Lock()
    queue = iter(enumerate(jobs))
    latencies: List[float] = []
    errors: Counter = Counter()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        while True:
            with lock:
                job = next(queue, None)
            if job is None or time.perf_counter() > deadline:
                return
            k, slot = job
            start = time.perf_counter()
            try:
                _book(url, config, slot, f"C{threads:02d}{k:06d}")
            except Exception as exc:  # noqa: BLE001 - every failure is counted, by kind
                errors[type(exc).__name__] += 1
                continue
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()
    wall = time.perf_counter() - started
    prefix = f"concurrent{threads}"
    return {
        f"{prefix}_bookings": len(latencies),
        f"{prefix}_per_s": len(latencies) / wall,
        f"{prefix}_s": wall,
        f"{prefix}_errors": sum(errors.values()),
        f"{prefix}_error_kinds": dict(errors),
        **summary(prefix, latencies),
    }


def held_at(url: str, slot: engine.Slot) -> Tuple[int, int]:
    """Claims on the slot's step, and distinct stations among them."""
    with session_scope(url) as session:
        stations = session.execute(
            select(SlotClaim.station).where(
                SlotClaim.site_id == slot.site_id, SlotClaim.slot_start == slot.start
            )
        ).scalars()
        stations = list(stations)
    return len(stations), len(set(stations))


def measure_contention(url: str, config: BookingConfig, slot: engine.Slot) -> Dict[str, object]:
    """CONTENTION_THREADS simultaneous bookings of one slot: exactly its free stations succeed."""
    with session_scope(url) as session:
        stations = session.get(Site, slot.site_id).stations
    capacity = stations - held_at(url, slot)[0]
    barrier = threading.Barrier(CONTENTION_THREADS)

    def attempt(k: int):
        barrier.wait()
        start = time.perf_counter()
        try:
            outcome: object = _book(url, config, slot, f"X{k:08d}")
        except Exception as exc:  # noqa: BLE001 - the kind of failure is checked below
            outcome = exc
        return start, time.perf_counter(), outcome

    with ThreadPoolExecutor(max_workers=CONTENTION_THREADS) as pool:
        results = list(pool.map(attempt, range(CONTENTION_THREADS)))
    outcomes = [r[2] for r in results]
    booked = sum(isinstance(o, engine.AppointmentView) for o in outcomes)
    taken = sum(isinstance(o, engine.SlotTaken) for o in outcomes)
    claims, distinct = held_at(url, slot)
    other = sorted({type(o).__name__ for o in outcomes if isinstance(o, Exception)} - {"SlotTaken"})
    ok = booked == capacity and taken == CONTENTION_THREADS - capacity and claims == distinct == stations
    return {
        "contention_threads": CONTENTION_THREADS,
        "contention_capacity": capacity,
        "contention_booked": booked,
        "contention_refused": taken,
        "contention_other_errors": other,
        "contention_resolve_ms": (max(r[1] for r in results) - min(r[0] for r in results)) * 1000,
        "contention_ok": ok,
    }


def claims_consistent(url: str, config: BookingConfig) -> bool:
    """Every live appointment holds exactly its steps; no step is held twice."""
    with session_scope(url) as session:
        claims = session.execute(select(func.count()).select_from(SlotClaim)).scalar_one()
        distinct = session.execute(
            select(func.count()).select_from(
                select(SlotClaim.site_id, SlotClaim.station, SlotClaim.slot_start).distinct().subquery()
            )
        ).scalar_one()
        steps = session.execute(
            select(func.coalesce(func.sum(Appointment.duration_minutes), 0)).where(
                Appointment.status == "booked"
            )
        ).scalar_one()
    return claims == distinct == steps // config.slot_step_minutes


def bench_database(name: str, url: str, count: int, sizes: Sizes) -> Dict[str, object]:
    config = load_booking_config()
    say = lambda message: print(f"[{name}] {message}", flush=True)  # noqa: E731
    prepare_database(url)
    result: Dict[str, object] = dict(widen_sites(url, config))
    sites = list(result["sites"])
    queries = search_queries(config, sizes.search_calls, random.Random(SEED))
    say(f"slot search on the empty database ({sizes.search_calls} calls each)…")
    result.update(measure_search(url, config, sites, queries, "_empty"))
    say(f"filling {count} appointments…")
    result.update(fill(url, config, count, random.Random(SEED)))
    say("slot search on the full database…")
    result.update(measure_search(url, config, sites, queries, ""))
    units = free_units(url, config, sites, random.Random(SEED))
    result["free_units"] = len(units)
    say(f"{sizes.sequential} sequential bookings, then their cancellations…")
    result.update(measure_book_cancel(url, config, units[: sizes.sequential]))  # cancelled: free again
    counts = Counter(units)
    target = max(counts, key=counts.get)  # the slot with the most free stations
    say(f"{CONTENTION_THREADS} threads booking the same slot…")
    result.update(measure_contention(url, config, target))
    rest = [u for u in units if u != target]
    for threads, most in sizes.concurrent.items():
        jobs, rest = rest[:most], rest[most:]
        say(f"{threads} threads booking up to {len(jobs)} distinct slots…")
        result.update(measure_throughput(url, config, jobs, threads, sizes.concurrent_seconds))
    result["claims_consistent"] = claims_consistent(url, config)
    return result


# ---- databases ---------------------------------------------------------------------------------


def _admin():
    conn = psycopg2.connect(host=PG_HOST, user="postgres", dbname="postgres", connect_timeout=5)
    conn.autocommit = True
    return conn


def bench_sqlite(count: int, sizes: Sizes) -> Dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="gru-bench-booking-") as work:
        url = f"sqlite:///{Path(work) / 'booking.db'}"
        try:
            return bench_database("sqlite", url, count, sizes)
        finally:
            engine_for(url).dispose()


def bench_postgres(count: int, sizes: Sizes) -> Dict[str, object]:
    name = f"gru_bench_{uuid.uuid4().hex[:8]}"
    conn = _admin()
    with conn.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    url = f"postgresql://postgres@{PG_HOST}:5432/{name}"
    try:
        return bench_database("postgresql", url, count, sizes)
    finally:
        engine_for(url).dispose()
        conn = _admin()
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


# ---- report ----------------------------------------------------------------------------------------


def _pair(prefix: str) -> Tuple[str, str]:
    return (f"{prefix}_p50_ms", f"{prefix}_p95_ms")


def _ratio(prefix: str) -> Callable[[dict], str]:
    return lambda r: f"×{r[f'{prefix}_p95_ms'] / r[f'{prefix}_empty_p95_ms']:.1f}"


ROWS: List[Tuple[str, object]] = [
    ("appointments / slot_claims rows", ("appointments", "slot_claims")),
    ("station time booked", "fill_ratio"),
    ("fill (bulk insert) (s)", "fill_s"),
    ("one day, limit 5: p50 / p95 empty (ms)", _pair("search_day_empty")),
    ("one day, limit 5: p50 / p95 full (ms)", _pair("search_day")),
    ("one day: p95 full / empty", _ratio("search_day")),
    ("one week, limit 5: p50 / p95 empty (ms)", _pair("search_week_empty")),
    ("one week, limit 5: p50 / p95 full (ms)", _pair("search_week")),
    ("one week: p95 full / empty", _ratio("search_week")),
    ("first_available: p50 / p95 empty (ms)", _pair("first_available_empty")),
    ("first_available: p50 / p95 full (ms)", _pair("first_available")),
    ("first_available: p95 full / empty", _ratio("first_available")),
    ("book, sequential: p50 / p95 (ms)", _pair("book")),
    ("cancel, sequential: p50 / p95 (ms)", _pair("cancel")),
    (
        "8 threads: bookings/s (bookings, errors)",
        ("concurrent8_per_s", "concurrent8_bookings", "concurrent8_errors"),
    ),
    ("8 threads: book p50 / p95 (ms)", _pair("concurrent8")),
    (
        "32 threads: bookings/s (bookings, errors)",
        ("concurrent32_per_s", "concurrent32_bookings", "concurrent32_errors"),
    ),
    ("32 threads: book p50 / p95 (ms)", _pair("concurrent32")),
    ("50 threads, one slot: booked / free stations", ("contention_booked", "contention_capacity")),
    ("50 threads, one slot: all resolved in (ms)", "contention_resolve_ms"),
    ("claims consistent with appointments", "claims_consistent"),
]


def _number(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if key == "fill_ratio":
        return f"{value:.0%}"
    if key.endswith("_ms") or key.endswith("_per_s"):
        text_value = f"{value:.1f}" if value < 10 else f"{value:.0f}"
        budget = BUDGETED.get(key)
        return text_value + (" OVER" if budget and value > BUDGET_MS[budget] else "")
    if key.endswith("_s"):
        return f"{value:.1f}"
    return str(value)


def _cell(result: Dict[str, object] | None, keys: object) -> str:
    if result is None:
        return "n/a"
    if callable(keys):
        return keys(result)
    keys = keys if isinstance(keys, tuple) else (keys,)
    values = [_number(k, result[k]) for k in keys]
    if len(values) == 3:
        return f"{values[0]} ({values[1]}, {values[2]})"
    return " / ".join(values)


def table(results: Dict[str, Dict[str, object] | None]) -> str:
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    lines = [
        "| measure | " + " | ".join(names[n] for n in results) + " |",
        "| --- |" + " --- |" * len(results),
    ]
    for label, keys in ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(results[n], keys) for n in results) + " |")
    return "\n".join(lines)


def verdicts(results: Dict[str, Dict[str, object] | None]) -> Tuple[List[str], List[str]]:
    lines, over = [], []
    for name, result in results.items():
        if result is None:
            continue
        for key, kind in BUDGETED.items():
            value = float(result[key])
            if value > BUDGET_MS[kind]:
                over.append(f"{name}.{key}")
                lines.append(f"{name} {key}: {value:.0f} ms (budget ≤ {BUDGET_MS[kind]:.0f}) OVER")
        for threads in (8, 32):
            kinds = result[f"concurrent{threads}_error_kinds"]
            if kinds:
                detail = ", ".join(f"{kind} × {n}" for kind, n in sorted(kinds.items()))
                lines.append(f"{name} {threads} threads: failed bookings: {detail}")
        held = result["contention_ok"]
        lines.append(
            f"{name} contention: {result['contention_booked']} of {CONTENTION_THREADS} booked for "
            f"{result['contention_capacity']} free stations {'OK' if held else 'FAILED'}"
        )
    return lines, over


def setup_note(count: int, result: Dict[str, object], config: BookingConfig) -> str:
    horizon = NOW.date() + timedelta(days=config.booking_window_days)
    return (
        f"Set-up: now = {NOW:%Y-%m-%d %H:%M} (fixed), window {NOW:%Y-%m-%d}..{horizon}; the demo sites "
        f"({', '.join(result['sites'])}) get {STATIONS} stations each and an extra opening every Sunday "
        f"{SUNDAY_HOURS[0]:%H:%M}-{SUNDAY_HOURS[1]:%H:%M} ({result['sunday_openings']} rows), so "
        f"{result['capacity_steps']} station-steps of 15 min are open; {count} appointments "
        f"(15/30/45/60 min, weights {'/'.join(str(w) for _, w in FILL_DURATIONS)}) "
        f"fill {result['fill_ratio']:.0%} of them. Searches: both sites, limit 5, durations drawn from "
        f"{SEARCH_DURATIONS}; the 'empty' "
        f"rows run the same queries before the fill. Bookings: 15-min slots, one application id each. "
        f"PostgreSQL is ANALYZEd after the bulk insert."
    )


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--appointments", type=int, default=10000, help="existing appointments (default 10000)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer calls and bookings (smoke run)")
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    sizes = Sizes(args.quick)
    started = time.perf_counter()
    if not args.skip_postgres:
        try:
            _admin().close()
        except psycopg2.OperationalError as exc:
            print(f"PostgreSQL unreachable at {PG_HOST}:5432 ({exc}); use --skip-postgres", file=sys.stderr)
            return 2
    results: Dict[str, Dict[str, object] | None] = {"sqlite": bench_sqlite(args.appointments, sizes)}
    results["postgresql"] = None if args.skip_postgres else bench_postgres(args.appointments, sizes)
    elapsed = time.perf_counter() - started
    print("\n" + setup_note(args.appointments, results["sqlite"], load_booking_config()) + "\n")
    print(table(results) + "\n")
    lines, over = verdicts(results)
    for line in lines:
        print(line)
    ok = all(r["contention_ok"] and r["claims_consistent"] for r in results.values() if r is not None)
    budgets = f"slot search p95 ≤ {BUDGET_MS['search']:.0f} ms, booking p95 ≤ {BUDGET_MS['booking']:.0f} ms"
    print(f"\nBudgets: {budgets}; {len(over)} p95 over budget.")
    print(f"Invariants {'held' if ok else 'FAILED'}; run time {elapsed:.0f} s.")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "now": NOW.isoformat(),
            "appointments": args.appointments,
            "quick": args.quick,
            "budgets_ms": BUDGET_MS,
            "over_budget": over,
            "invariants_ok": ok,
            "run_s": elapsed,
            "results": results,
        }
        args.out.write_text(json.dumps(report, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
