"""ops/loadtest.py's reading of locust's CSV files and its process sampler (no Rasa, no locust run)."""

from __future__ import annotations

import os
import subprocess
import sys

from ops import loadtest

HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
HISTORY = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,"
    "99.9%,99.99%,100%,Total Request Count,Total Failure Count"
)


def test_locust_csv_gives_totals_steps_error_rate_and_history(tmp_path):
    prefix = tmp_path / "run"
    (tmp_path / "run_stats.csv").write_text(
        "\n".join(
            [
                HEADER,
                "POST,faq 1,90,0,120,150.5,20,900,300,1.5,0,120,130,140,150,200,310,400,500,800,900,900",
                "POST,booking 1: ask,10,1,200,220.0,30,950,300,0.2,0,"
                "200,210,220,230,300,420,600,700,950,950,950",
                ",Aggregated,100,1,130,157.4,20,950,300,1.7,0.02,130,140,150,160,210,330,450,520,900,950,950",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "run_stats_history.csv").write_text(
        f"{HISTORY}\n1700000000,10,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0\n"
        "1700000001,20,,Aggregated,1.7,0,130,140,150,160,210,330,450,520,900,950,950,100,1\n",
        encoding="utf-8",
    )
    stats = loadtest.read_stats(prefix)
    assert stats["total"] == {
        "requests": 100,
        "failures": 1,
        "rps": 1.7,
        "p50_ms": 130.0,
        "p95_ms": 330.0,
        "p99_ms": 520.0,
        "mean_ms": 157.4,
        "error_rate": 0.01,
    }
    assert set(stats["steps"]) == {"faq 1", "booking 1: ask"}
    assert stats["steps"]["booking 1: ask"]["failures"] == 1
    assert stats["history"] == [
        {"t": 1700000000, "rps": 0.0, "p95_ms": None},
        {"t": 1700000001, "rps": 1.7, "p95_ms": 330.0},
    ]


def test_the_sampler_measures_a_process_group_with_its_children():
    busy = (
        "import subprocess, sys; c = subprocess.Popen([sys.executable, '-c', 'while True: pass']); c.wait()"
    )
    proc = subprocess.Popen([sys.executable, "-c", busy], start_new_session=True)
    try:
        sampler = loadtest.Sampler({"busy": proc.pid}, every=0.3)
        sampler.start()
        while len(sampler.samples["busy"]) < 4:
            sampler._halt.wait(0.1)
        summary = sampler.stop()
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
    assert summary["busy"]["cpu_max_percent"] > 0  # the spinning child is counted with its parent
    assert summary["busy"]["rss_peak_mb"] > 5
