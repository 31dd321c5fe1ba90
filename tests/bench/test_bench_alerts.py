"""The alerts broadcast benchmark (python -m ops.bench_alerts) on a few hundred subscribers:
every subscriber receives the alert exactly once, counted on the local fakes, and a re-run
sends nothing more. Out of the unit suite; `make bench-alerts` runs the 10,000 version."""

from __future__ import annotations

import json

from ops import bench_alerts


def test_every_subscriber_receives_the_alert_exactly_once(tmp_path, capsys):
    out = tmp_path / "alerts.json"
    assert bench_alerts.main(["--subscribers", "400", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["exactly_once"] is True
    mixed = report["mixed_channels"]
    assert mixed["channels"] == {"messenger": 160, "email": 120, "sms": 80, "web": 40}
    assert mixed["received"] == {"messenger": 160, "email": 120, "sms": 80}
    assert (mixed["sent"], mixed["failed"], mixed["rerun_sent"]) == (400, 0, 400)
    baseline = report["baseline_sms_only"]
    assert baseline["received"]["sms"] == 400 and baseline["sent"] == 400
    assert "| mixed (40/30/20/10 %) |" in capsys.readouterr().out
