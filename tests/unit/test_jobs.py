"""The periodic jobs `make run` starts: due, one run at a time, only when enabled."""

from __future__ import annotations

import sys

from ops.jobs import PeriodicJob, default_jobs


def test_a_job_runs_when_due_once_at_a_time(tmp_path):
    marker = tmp_path / "ran"
    job = PeriodicJob(
        "t",
        [
            sys.executable,
            "-c",
            f"import pathlib,time; p=pathlib.Path({str(marker)!r}); "
            "p.write_text(p.read_text()+'x' if p.exists() else 'x'); time.sleep(0.5)",
        ],  # fmt: skip
        every_s=0.0,
        first_after_s=10.0,
    )
    job.start(now=0.0)
    assert not job.tick(now=5.0, env={})  # not due yet
    assert job.tick(now=10.0, env={})
    assert not job.tick(now=10.1, env={})  # the previous run is still going
    job.stop()
    assert marker.read_text() == "x"


def test_the_ants_outbox_runs_only_when_ants_is_configured():
    (job,) = [j for j in default_jobs({}) if j.name == "ants-outbox"]
    job.start(now=0.0)
    assert not job.tick(now=1e9, env={})
    assert job.enabled({"GRU_ANTS_API_URL": "http://x", "GRU_ANTS_API_TOKEN": "t"})


def test_the_purge_runs_once_a_day_whatever_the_configuration():
    (job,) = [j for j in default_jobs({}) if j.name == "purge"]
    assert job.command[1:] == ["-m", "ops.purge"] and job.every_s == 24 * 3600
    assert job.enabled({})


def test_the_attempts_secret_survives_a_restart(tmp_path):
    import stat

    from ops.servers import persistent_secret

    key = tmp_path / "var" / "attempts.key"
    first = persistent_secret(key)
    assert persistent_secret(key) == first and len(first) >= 32
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_the_reminders_job_runs_when_a_channel_is_configured():
    (job,) = [j for j in default_jobs({}) if j.name == "reminders"]
    assert job.command[-2:] == ["-m", "booking.reminders"] and job.every_s == 300
    assert not job.enabled({})
    assert job.enabled({"GRU_SMTP_HOST": "smtp.villebrune.fr"})
    assert job.enabled({"FACEBOOK_PAGE_ACCESS_TOKEN": "t"})
    assert not job.enabled({"GRU_SMS_URL": "https://sms.example"})  # no token: no SMS adapter
    assert not job.enabled({"GRU_SMTP_HOST": "smtp.villebrune.fr", "GRU_REMINDERS_HOURS": "off"})


def test_the_statistics_job_runs_every_minute_whatever_the_configuration():
    (job,) = [j for j in default_jobs({}) if j.name == "analytics"]
    assert job.command[-2:] == ["-m", "analytics.ingest"] and job.every_s == 60 and job.enabled({})


def test_processes_starting_together_share_one_secret(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    from core.signing import persistent_secret

    key = tmp_path / "var" / "analytics.key"
    with ProcessPoolExecutor(4) as pool:
        secrets = set(pool.map(persistent_secret, [key] * 8))
    assert secrets == {key.read_text(encoding="utf-8")}
    assert [p.name for p in key.parent.iterdir()] == [key.name]  # no draft left behind
