"""Periodic jobs that `make run` starts beside the servers (a cron for one machine).

Each job is a `python -m …` command run as a child process every few minutes, one run
at a time, so a slow or crashing job never touches the servers. In production the
same commands go in the system's cron or a systemd timer (see README, Operations).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, List, Mapping


@dataclass
class PeriodicJob:
    name: str
    command: List[str]
    every_s: float
    first_after_s: float = 60.0
    enabled: Callable[[Mapping[str, str]], bool] = lambda env: True
    _next: float = field(default=0.0, init=False)
    _proc: subprocess.Popen | None = field(default=None, init=False)

    def start(self, now: float) -> None:
        self._next = now + self.first_after_s

    def tick(self, now: float, env: Mapping[str, str]) -> bool:
        """Start a run when due and the previous one is over; True when one started."""
        if now < self._next or not self.enabled(env):
            return False
        if self._proc is not None and self._proc.poll() is None:
            return False
        self._proc = subprocess.Popen(self.command, env=dict(env))
        self._next = now + self.every_s
        return True

    def stop(self, timeout: float = 30.0) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.terminate()


DAY_S = 24 * 3600.0


def reminders_enabled(env: Mapping[str, str]) -> bool:
    """A reminder channel is configured and reminders are not switched off."""
    if (env.get("GRU_REMINDERS_HOURS") or "").strip().lower() in ("off", "0", "none", "aucun"):
        return False
    return bool(
        env.get("GRU_SMTP_HOST")
        or (env.get("GRU_SMS_URL") and env.get("GRU_SMS_TOKEN"))
        or env.get("FACEBOOK_PAGE_ACCESS_TOKEN")
    )


def default_jobs(env: Mapping[str, str] | None = None) -> List[PeriodicJob]:
    env = os.environ if env is None else env
    return [
        # ANTS declarations/withdrawals that failed are retried from the outbox.
        PeriodicJob(
            "ants-outbox",
            [sys.executable, "-m", "booking.ants_sync"],
            every_s=float(env.get("GRU_ANTS_OUTBOX_EVERY", "300")),
            enabled=lambda e: bool(e.get("GRU_ANTS_API_URL") and e.get("GRU_ANTS_API_TOKEN")),
        ),
        # Reports the back-office did not take yet are retried from their outbox (reports/forward.py).
        PeriodicJob(
            "reports-outbox",
            [sys.executable, "-m", "reports.forward"],
            every_s=float(env.get("GRU_REPORTS_OUTBOX_EVERY", "300")),
            enabled=lambda e: (e.get("GRU_REPORTS_FORWARD") or "none").strip().lower() != "none",
        ),
        # Appointment reminders (booking/reminders.py): e-mail, SMS, Messenger, each sent once.
        PeriodicJob(
            "reminders",
            [sys.executable, "-m", "booking.reminders"],
            every_s=float(env.get("GRU_REMINDERS_EVERY", "300")),
            enabled=reminders_enabled,
        ),
        # Statistics tables from the conversations (analytics/ingest.py): incremental, every minute.
        PeriodicJob(
            "analytics",
            [sys.executable, "-m", "analytics.ingest"],
            every_s=float(env.get("GRU_ANALYTICS_EVERY", "60")),
            first_after_s=30.0,
        ),
        # Retention limits of the privacy file (territory/demo/privacy.yml): once a day.
        PeriodicJob("purge", [sys.executable, "-m", "ops.purge"], every_s=DAY_S, first_after_s=300.0),
    ]


class Scheduler:
    def __init__(self, jobs: List[PeriodicJob], env: Mapping[str, str] | None = None):
        self.jobs = jobs
        self.env = dict(os.environ if env is None else env)
        now = time.monotonic()
        for job in jobs:
            job.start(now)

    def tick(self) -> None:
        now = time.monotonic()
        for job in self.jobs:
            job.tick(now, self.env)

    def stop(self) -> None:
        for job in self.jobs:
            job.stop()
