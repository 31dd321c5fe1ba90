"""The production shape (ops/production.py) for the tests of this folder: 2 Rasa replicas and
2 action servers behind nginx, on databases and a Redis db of this run's own, started once
for the module (the replicas start in parallel, about 1.5 minutes on 2 cores)."""

from __future__ import annotations

import os
import shutil
import uuid

import psycopg2
import pytest

from ops import production
from tests.conftest import ROOT, free_port

PG_HOST = os.environ.get("GRU_TEST_PG_HOST", "127.0.0.1")
# Redis db of these tests (tests/integration use 5): locks and rate counters of this run only.
REDIS_DB = os.environ.get("GRU_TEST_PROD_REDIS_DB", "11")


def _drop(name: str) -> None:
    conn = psycopg2.connect(host=PG_HOST, user="postgres", dbname="postgres", connect_timeout=5)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def _start(tmp_path_factory, replicas: int = 2, **extra_env: str):
    """The shape on databases of its own (`replicas` Rasa and action servers), stopped after."""
    if not os.path.exists(production.NGINX):
        pytest.fail("nginx is missing: run `make nginx` (Debian's package) first")
    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train` first")
    run = uuid.uuid4().hex[:8]
    tracker_db, app_db = f"gru_prod_tracker_{run}", f"gru_prod_app_{run}"
    env = dict(os.environ)
    env.update(
        GRU_PROD_DIR=str(tmp_path_factory.mktemp("production")),
        GRU_PROXY_PORT=str(free_port()),
        GRU_PROD_ACTIONS_PROXY_PORT=str(free_port()),
        GRU_PROD_RASA_PORTS=",".join(str(free_port()) for _ in range(replicas)),
        GRU_PROD_ACTION_PORTS=",".join(str(free_port()) for _ in range(replicas)),
        GRU_PROD_PAGES_PORTS=str(free_port()),
        GRU_PROD_HUB_PORTS=str(free_port()),
        GRU_TRACKER_STORE_URL=f"postgresql://postgres@{PG_HOST}:5432/{tracker_db}",
        GRU_DATABASE_URL=f"postgresql://postgres@{PG_HOST}:5432/{app_db}",
        GRU_LOCK_STORE_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
        # A conversation whose replica died mid-turn waits for its lock to expire: 20 s here.
        TICKET_LOCK_LIFETIME="20",
    )
    for name in (
        "GRU_HUB_TOKEN",
        "GRU_ANTS_API_URL",
        "GRU_ANTS_API_TOKEN",
        "FACEBOOK_VERIFY_TOKEN",
        "GRU_PUBLIC_URL",
        "GRU_ENV",
        "GRU_BOOKING_BACKEND",
    ):
        env.pop(name, None)
    env.update(extra_env)
    settings = production.Settings.from_env(env)
    running = production.up(settings, quiet=True)
    running.app_db_url = env["GRU_DATABASE_URL"]
    running.tracker_db_url = env["GRU_TRACKER_STORE_URL"]
    yield running
    running.stop()
    for name in (tracker_db, app_db):
        _drop(name)
    if os.environ.get("GRU_KEEP_PROD_LOGS"):
        shutil.copytree(settings.state_dir / "logs", os.environ["GRU_KEEP_PROD_LOGS"], dirs_exist_ok=True)


@pytest.fixture(scope="module")
def shape(tmp_path_factory):
    """2 Rasa replicas and 2 action servers, the pages, no ANTS hub (no GRU_HUB_TOKEN)."""
    yield from _start(tmp_path_factory)


HUB_TOKEN = "jeton-de-test-ants-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def hub_shape(tmp_path_factory):
    """One Rasa replica and one action server (the hub needs no more), the pages, and the ANTS hub
    that GRU_HUB_TOKEN turns on."""
    yield from _start(tmp_path_factory, replicas=1, GRU_HUB_TOKEN=HUB_TOKEN)
