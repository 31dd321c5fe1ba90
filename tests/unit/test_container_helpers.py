"""The small entry points the containers use (deploy/docker, deploy/helm): gru.env read as systemd
reads it (ops/envfile.py), health checks (ops/healthcheck.py), the static pages of the web image
(ops/web.py --write-pages). Run as the containers run them: `python -m …` in a subprocess."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from aiohttp import web

from ops import envfile, healthcheck
from tests.conftest import ROOT, free_port
from tests.unit.local_server import serving


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_envfile_reads_the_example_file_as_systemd_does():
    text = (
        "# comment\n; other comment\n\n"
        "GRU_SMTP_FROM_NAME=Mairie de Villebrune\n"
        "GRU_A='quoted value'\n"
        'GRU_B="$HOME is not expanded"\n'
        "GRU_C=a=b=c\n"
    )
    assert envfile.parse(text) == {
        "GRU_SMTP_FROM_NAME": "Mairie de Villebrune",
        "GRU_A": "quoted value",
        "GRU_B": "$HOME is not expanded",
        "GRU_C": "a=b=c",
    }
    example = envfile.parse((ROOT / "deploy" / "gru.env.example").read_text(encoding="utf-8"))
    assert example["GRU_TRACKER_STORE_URL"].startswith("postgresql://")


def test_envfile_refuses_a_bad_line_without_printing_it():
    with pytest.raises(envfile.EnvFileError) as error:
        envfile.parse("GRU_OK=1\nmot-de-passe-secret sans égal\n")
    assert "ligne 2" in str(error.value) and "secret" not in str(error.value)


def test_envfile_runs_the_command_with_the_file_under_the_environment(tmp_path):
    conf = tmp_path / "gru.env"
    conf.write_text("GRU_FROM_FILE=fichier\nGRU_BOTH=fichier\n", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "GRU_BOTH": "environnement", "PYTHONPATH": str(ROOT)}
    code = "import os; print(os.environ['GRU_FROM_FILE'], os.environ['GRU_BOTH'])"
    done = run("ops.envfile", str(conf), sys.executable, "-c", code, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fichier", "environnement"]  # the chart's variables win


def test_envfile_missing_file_is_a_clear_error(tmp_path):
    done = run("ops.envfile", str(tmp_path / "absent.env"), "true")
    assert done.returncode == 2 and "absent.env" in done.stderr


async def test_healthcheck_follows_the_http_status():
    async def ok(_request):
        return web.json_response({"status": "ok"})

    async def down(_request):
        return web.Response(status=503)

    app = web.Application()
    app.router.add_get("/health", ok)
    app.router.add_get("/down", down)
    async with serving(app) as url:  # the check blocks (as in a container): in a thread here
        assert await asyncio.to_thread(healthcheck.http_ok, f"{url}/health", 2) == (True, "HTTP 200")
        assert await asyncio.to_thread(healthcheck.http_ok, f"{url}/down", 2) == (False, "HTTP 503")
    assert healthcheck.http_ok(f"http://127.0.0.1:{free_port()}/health", 2)[0] is False


def test_healthcheck_command_exit_codes(tmp_path):
    closed = run("ops.healthcheck", f"http://127.0.0.1:{free_port()}/health", "--timeout", "1")
    assert closed.returncode == 1
    database = tmp_path / "gru.db"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "GRU_DATABASE_URL": f"sqlite:///{database}"}
    assert run("ops.healthcheck", "--database", env=env).returncode == 0
    env["GRU_DATABASE_URL"] = f"postgresql://gru:mot-de-passe@127.0.0.1:{free_port()}/gru"
    down = run("ops.healthcheck", "--database", env=env)
    assert down.returncode == 1 and "mot-de-passe" not in down.stdout + down.stderr
    assert run("ops.healthcheck").returncode == 2  # neither a URL nor --database


def test_web_pages_are_written_for_the_nginx_image(tmp_path):
    done = run("ops.web", "--write-pages", str(tmp_path))
    assert done.returncode == 0, done.stderr
    privacy = (tmp_path / "confidentialite.html").read_text(encoding="utf-8")
    accessibility = (tmp_path / "accessibilite.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in privacy and "Villebrune" in accessibility
