"""The metrics paths are refused by nginx (deploy/nginx/site.conf.j2), whatever their spelling,
while the other paths still reach the replica. A real nginx (Debian's, `make nginx`) in front
of a local HTTP server standing for a Rasa replica; no Rasa started."""

from __future__ import annotations

import asyncio
import os
import subprocess

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from ops import production
from tests.conftest import free_port
from tests.unit.local_server import serving


@pytest.fixture
async def nginx_in_front(tmp_path):
    if not os.path.exists(production.NGINX):
        pytest.fail("nginx is missing: run `make nginx` (Debian's package) first")
    seen: list[str] = []

    async def replica(request):
        seen.append(request.path)
        return web.Response(text="replica")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", replica)
    async with serving(app) as replica_url:
        port = free_port()
        settings = production.Settings.from_env(
            {
                "GRU_PROD_DIR": str(tmp_path),
                "GRU_PROXY_PORT": str(port),
                "GRU_PROD_ACTIONS_PROXY_PORT": str(free_port()),
                "GRU_PROD_RASA_PORTS": replica_url.rsplit(":", 1)[1],
                "GRU_PROD_ACTION_PORTS": str(free_port()),
            }
        )
        (tmp_path / "logs").mkdir()
        (tmp_path / "nginx-tmp").mkdir(mode=0o711)
        tmp_path.chmod(0o711)  # nginx's workers reach their temp folders (as ops.production.up)
        conf = tmp_path / "nginx.conf"
        conf.write_text(production.render_local_nginx(settings), encoding="utf-8")
        command = [production.NGINX, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)]
        subprocess.run(command, check=True, capture_output=True)
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(50):
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/webhooks/rest/"):
                            break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.1)
                yield session, f"http://127.0.0.1:{port}", seen
        finally:
            production._stop_nginx(tmp_path)


@pytest.mark.parametrize(
    "path",
    ["/webhooks/metrics/", "/webhooks/metrics", "/metrics", "/webhooks//metrics/", "/WEBHOOKS/Metrics/"]
    + ["/webhooks/%6Detrics/", "/metrics?x=1"],
)
async def test_nginx_refuses_the_metrics_paths_to_everyone(nginx_in_front, path):
    session, url, seen = nginx_in_front
    async with session.get(URL(url + path, encoded=True), allow_redirects=False) as resp:  # sent as written
        assert resp.status == 403
    assert not [p for p in seen if "metrics" in p.lower()]  # the replica never saw it


async def test_nginx_still_passes_the_channels_on(nginx_in_front):
    session, url, seen = nginx_in_front
    for path in ("/webhooks/rest/", "/webhooks/metricsfoo/", "/webhooks/calendar/ics"):
        async with session.get(url + path) as resp:
            assert resp.status == 200 and await resp.text() == "replica"
    assert "/webhooks/calendar/ics" in seen
