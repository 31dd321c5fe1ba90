"""ops/bench.py's table, verdicts against issue 17's bars, long-session windows and process
roles, on hand-made figures (no training, no Rasa started)."""

from __future__ import annotations

import math
import os
from types import SimpleNamespace

import pytest

from ops import bench, servers


def figures(**changes: float) -> dict:
    """One configuration's figures, every bar of issue 17 met against `baseline()`."""
    result = {
        "intent_macro_f1": 0.965,
        "entity_micro_f1": 0.94,
        "train_s": 200.0,
        "train_peak_mb": 2500.0,
        "startup_s": 15.2,
        "rasa_startup_s": 14.7,
        "p50_no_action_ms": 40.0,
        "p95_no_action_ms": 80.0,
        "p50_action_ms": 70.0,
        "p95_action_ms": 120.0,
        "p50_concurrent20_ms": 900.0,
        "p95_concurrent20_ms": 1500.0,
        "concurrent20_errors": 0,
        "turn1_ms": 60.0,
        "turn100_ms": 75.0,
        "long_session_ratio": 1.25,
        "rasa_peak_mb": 1100.0,
        "rasa_rss_after_mb": 1090.0,
        "actions_peak_mb": 250.0,
        "serve_peak_mb": 1350.0,
    }
    result.update(changes)
    return result


def baseline() -> dict:
    return figures(
        intent_macro_f1=0.964,
        entity_micro_f1=0.936,
        p95_no_action_ms=95.0,
        p95_action_ms=135.0,
        p95_concurrent20_ms=2961.0,
        rasa_peak_mb=1300.0,
    )


def lines(results: dict) -> list[str]:
    return [bench.verdict_line(v) for v in bench.verdicts(results)]


def test_the_table_has_a_column_per_configuration_and_the_new_rows():
    text = bench.table({"project": figures(), "rasa-default": baseline()})
    rows = text.splitlines()
    assert rows[0] == "| measure | project | rasa-default |"
    assert rows[1] == "| --- | --- | --- |"
    assert "| Rasa peak memory (MB) | 1100 | 1300 |" in rows
    assert "| action server peak memory (MB) | 250 | 250 |" in rows
    assert "| Rasa memory after the latency runs (MB) | 1090 | 1090 |" in rows
    assert "| long session: turn 1 / turn 100 median (ms) | 60 / 75 | 60 / 75 |" in rows
    assert "| long session: turn 100 / turn 1 | 1.25 | 1.25 |" in rows
    assert "| Rasa start-up (s) | 15 | 15 |" in rows
    assert "| entity micro-F1 (held-out) | 0.940 | 0.936 |" in rows
    assert len(rows) == 2 + len(bench.ROWS)


def test_a_figure_not_measured_reads_n_a_in_the_table():
    result = figures()
    del result["train_s"], result["turn100_ms"]
    rows = bench.table({"project": result}).splitlines()
    assert "| training time (s) | n/a |" in rows
    assert "| long session: turn 1 / turn 100 median (ms) | n/a |" in rows


def test_every_bar_met_gives_one_ok_line_per_bar():
    found = lines({"project": figures(), "rasa-default": baseline()})
    assert found == [
        "startup_s: 15.2 (bar ≤ 20) OK",
        "rasa_peak_mb: 1100 (bar ≤ 1200) OK",
        "train_s: 200.0 (bar ≤ 240) OK",
        "long_session_ratio: 1.25 (bar ≤ 1.5) OK",
        "concurrent20_errors: 0 (bar = 0) OK",
        "rasa_peak_mb: 1100 (bar < rasa-default 1300) OK",
        "p95_no_action_ms: 80 (bar < rasa-default 95) OK",
        "p95_action_ms: 120 (bar < rasa-default 135) OK",
        "p95_concurrent20_ms: 1500 (bar < rasa-default 2961) OK",
        "intent_macro_f1: 0.965 (bar ≥ rasa-default 0.964) OK",
        "entity_micro_f1: 0.940 (bar ≥ rasa-default 0.936) OK",
    ]


def test_bars_missed_read_over():
    project = figures(
        startup_s=69.0,
        rasa_peak_mb=1250.0,
        train_s=436.0,
        long_session_ratio=1.6,
        concurrent20_errors=2,
        p95_no_action_ms=95.0,  # equal is not below
        p95_concurrent20_ms=float("nan"),  # no concurrent turn answered
        intent_macro_f1=0.964,  # equal is enough
        entity_micro_f1=0.914,
    )
    found = bench.verdicts({"project": project, "rasa-default": baseline()})
    outcome = {(v["name"], v["bar"].split()[0]): v["ok"] for v in found}
    assert outcome == {
        ("startup_s", "≤"): False,
        ("rasa_peak_mb", "≤"): False,
        ("train_s", "≤"): False,
        ("long_session_ratio", "≤"): False,
        ("concurrent20_errors", "="): False,
        ("rasa_peak_mb", "<"): True,
        ("p95_no_action_ms", "<"): False,
        ("p95_action_ms", "<"): True,
        ("p95_concurrent20_ms", "<"): False,
        ("intent_macro_f1", "≥"): True,
        ("entity_micro_f1", "≥"): False,
    }
    assert bench.verdict_line(found[0]) == "startup_s: 69.0 (bar ≤ 20) OVER"
    assert bench.verdict_line(found[8]) == "p95_concurrent20_ms: nan (bar < rasa-default 2961) OVER"


def test_with_one_configuration_the_relative_bars_are_skipped():
    found = lines({"project": figures()})
    assert len(found) == len(bench.ABSOLUTE_BARS) + 1
    assert all(line.endswith(" OK") for line in found[:-1])
    assert found[-1] == "relative bars: skipped, only project ran (--only): no comparison with rasa-default"


def test_only_the_default_pipeline_gets_the_absolute_bars():
    found = bench.verdicts({"rasa-default": baseline()})
    assert [v["name"] for v in found][-1] == "relative bars"
    assert found[0] == {"name": "startup_s", "value": 15.2, "bar": "≤ 20", "ok": True}


def test_a_figure_not_measured_is_neither_ok_nor_over():
    project = figures()
    del project["train_s"]  # --model: training skipped
    reference = baseline()
    del reference["entity_micro_f1"]
    found = bench.verdicts({"project": project, "rasa-default": reference})
    by_name = {v["name"]: v for v in found}
    assert bench.verdict_line(by_name["train_s"]) == "train_s: n/a (bar ≤ 240) NOT MEASURED"
    assert by_name["entity_micro_f1"]["ok"] is None
    assert bench.verdict_line(by_name["entity_micro_f1"]).endswith("(bar ≥ rasa-default n/a) NOT MEASURED")


def test_long_session_windows_compare_the_first_and_the_last_whole_cycle():
    cycle = len(bench.SCRIPT)
    assert cycle == 8
    # Turn n (from 1) takes 100 + n ms in the first session, 200 + n in the second.
    sessions = [[base + n for n in range(1, 13 * cycle + 1)] for base in (100, 200)]
    windows = bench.long_session_windows(sessions)
    assert windows["long_session_turns"] == 104
    assert windows["long_sessions"] == 2
    # First cycle: 101..108 and 201..208, median (108 + 201) / 2; last: turns 97-104.
    assert windows["turn1_ms"] == pytest.approx(154.5)
    assert windows["turn100_ms"] == pytest.approx(250.5)
    assert windows["long_session_ratio"] == pytest.approx(250.5 / 154.5)


def test_long_session_windows_use_whole_cycles_only():
    cycle = len(bench.SCRIPT)
    # 4 cycles and 3 extra turns: the extra turns are not a cycle of their own.
    session = [10.0] * cycle + [20.0] * (2 * cycle) + [30.0] * cycle + [99.0] * 3
    windows = bench.long_session_windows([session])
    assert (windows["turn1_ms"], windows["turn100_ms"], windows["long_session_ratio"]) == (10.0, 30.0, 3.0)
    assert windows["long_session_turns"] == 4 * cycle
    with pytest.raises(ValueError):
        bench.long_session_windows([[10.0] * (2 * cycle - 1)])
    with pytest.raises(ValueError):
        bench.long_session_windows([])
    assert math.isnan(bench.long_session_windows([[0.0] * 2 * cycle])["long_session_ratio"])


def test_the_servers_are_told_apart_by_their_command_line():
    rasa = SimpleNamespace(args=servers.rasa_command("run", "--port", "15005"))
    actions = SimpleNamespace(args=servers.action_server_command(15055))
    hub = SimpleNamespace(args=[str(servers.BIN / "python"), "-m", "booking.hub"])
    assert [bench.role(p) for p in (actions, rasa, hub)] == ["actions", "rasa", "other"]


def test_peak_memory_keeps_the_total_and_each_group():
    memory = bench.PeakMemory([os.getpid()], {"me": [os.getpid()], "nobody": []})
    memory.sample()
    assert memory.peak_mb > 1
    assert memory.peaks_mb == {"me": memory.peak_mb, "nobody": 0.0}


def test_a_missing_model_is_refused_before_anything_starts(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--model", str(tmp_path / "none.tar.gz")])
    assert "no model at" in capsys.readouterr().err


def test_a_model_is_the_project_s_only(tmp_path, capsys):
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    with pytest.raises(SystemExit):
        bench.main(["--only", "rasa-default", "--model", str(model)])
    assert "--model is a model of the project configuration" in capsys.readouterr().err
