"""The booking benchmark (python -m ops.bench_booking) in its quick SQLite form: it runs, writes
its figures, and the 50-bookings-on-one-slot invariant holds. Out of the unit suite (a few
seconds): `make test` runs it, `make test-fast` does not."""

from __future__ import annotations

import json
import math

from ops import bench_booking

LATENCIES = [
    "search_day_empty",
    "search_day",
    "search_week_empty",
    "search_week",
    "first_available_empty",
    "first_available",
    "book",
    "cancel",
    "concurrent8",
    "concurrent32",
]


def test_quick_run_writes_the_figures_and_the_contention_invariant_holds(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = bench_booking.main(["--quick", "--appointments", "300", "--skip-postgres", "--out", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["appointments"] == 300 and report["quick"] is True
    assert report["invariants_ok"] is True
    assert report["results"]["postgresql"] is None
    sqlite = report["results"]["sqlite"]
    assert sqlite["appointments"] == 300
    assert sqlite["slot_claims"] >= 300  # one row per 15-minute step
    assert 0 < sqlite["fill_ratio"] < 1
    for prefix in LATENCIES:
        p50, p95 = sqlite[f"{prefix}_p50_ms"], sqlite[f"{prefix}_p95_ms"]
        assert math.isfinite(p50) and 0 < p50 <= p95, prefix
    assert sqlite["sequential_bookings"] == 20
    for threads in (8, 32):
        assert sqlite[f"concurrent{threads}_bookings"] > 0
        assert sqlite[f"concurrent{threads}_errors"] == 0
    # 50 simultaneous bookings of one slot: exactly its free stations succeed, the rest are refused.
    assert sqlite["contention_ok"] is True
    assert sqlite["contention_threads"] == 50
    assert sqlite["contention_capacity"] >= 1
    assert sqlite["contention_booked"] == sqlite["contention_capacity"]
    assert sqlite["contention_refused"] == 50 - sqlite["contention_capacity"]
    assert sqlite["contention_other_errors"] == []
    assert sqlite["claims_consistent"] is True
    # Every budgeted p95 listed as over budget is indeed over it.
    for entry in report["over_budget"]:
        backend, key = entry.split(".")
        assert sqlite[key] > bench_booking.BUDGET_MS[bench_booking.BUDGETED[key]]
    printed = capsys.readouterr().out
    assert "| measure | SQLite | PostgreSQL |" in printed
    assert "contention: " in printed and "OK" in printed
