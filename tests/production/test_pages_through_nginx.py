"""The citizens' appointment pages in the production shape: nginx sends /rendez-vous to the pages
process that ops/production.py starts (deploy/nginx/site.conf.j2, upstream gru_pages), and the
links they give out go through nginx again (GRU_PUBLIC_URL is the proxy's address there)."""

from __future__ import annotations

import html
import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from booking import engine, hub
from tests.unit.conftest import next_open_day

pytestmark = [pytest.mark.integration, pytest.mark.production_shape]

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect
    )


def fetch(opener, url: str, data: dict | None = None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        response = opener.open(url, body, timeout=30)
    except urllib.error.HTTPError as error:  # 303, 404: what the page answered
        response = error
    with response:
        return response.status, response.headers, html.unescape(response.read().decode("utf-8"))


def test_the_appointment_pages_answer_through_nginx(shape):
    status, headers, text = fetch(browser(), f"{shape.url}/rendez-vous/nouveau")
    assert status == 200 and "<h1>Prendre un rendez-vous</h1>" in text
    # The pages' own policy (their stylesheet allowed), not the server's default-src 'none' on top.
    assert headers.get_all("Content-Security-Policy") == [
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ]
    status, headers, _ = fetch(browser(), f"{shape.url}/rendez-vous/style.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    # A mangled link is the pages' French answer, not Rasa's 404.
    status, _, text = fetch(browser(), f"{shape.url}/rendez-vous/RDV-ZZZZZZ?t=faux")
    assert status == 400 and "Lien non valable" in text
    log = (shape.settings.state_dir / "logs" / "nginx-access.log").read_text()
    port = shape.settings.pages_ports[0]
    assert '"GET /rendez-vous/nouveau" 200' in log and f"upstream=127.0.0.1:{port}" in log


def test_a_slot_chosen_on_ants_is_booked_and_managed_through_nginx(shape):
    day = next_open_day()
    slot = engine.available_slots(["villebrune-mairie"], day, day, 15, url=shape.app_db_url)[0]
    callback = hub.callback_url(shape.url, slot.site_id, slot.start)  # what the hub gives ANTS
    opener = browser()
    status, _, text = fetch(opener, callback)
    assert status == 200 and "Confirmer votre rendez-vous" in text
    form = {"csrf": CSRF.search(text).group(1), "site": slot.site_id, "start": f"{slot.start:%Y-%m-%dT%H:%M}"}
    form.update(motif="cni", personnes="1", nom="Lefèvre", numeros="", papier="oui")
    status, headers, text = fetch(opener, f"{shape.url}/rendez-vous", form)
    assert status == 303, text
    signed = urllib.parse.urljoin(shape.url, headers["Location"])
    assert signed.startswith(f"{shape.url}/rendez-vous/RDV-"), signed
    status, _, text = fetch(opener, signed)
    reference = re.search(r"RDV-[A-Z0-9]{6}", signed).group(0)
    assert status == 200 and f"Votre rendez-vous {reference}" in text


def access_log_line(shape, needle: str, timeout: float = 10.0) -> str:
    """The access-log line with `needle`: nginx writes it once the answer is sent, so a client
    can read its answer before the line exists (seen under load): wait for it."""
    path = shape.settings.state_dir / "logs" / "nginx-access.log"
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in path.read_text().splitlines() if needle in line]
        if found or time.monotonic() > deadline:
            assert found, f"no access-log line with {needle}"
            return found[-1]
        time.sleep(0.1)


def test_without_a_hub_token_ants_paths_get_nginx_s_404_not_rasa(shape):
    """No GRU_HUB_TOKEN (the fixture removes it): no hub process, and /ants/ is closed at nginx."""
    assert not shape.settings.hub_ports and not any(name.startswith("hub") for name in shape.processes)
    status, _, _ = fetch(browser(), f"{shape.url}/ants/getManagedMeetingPoints")
    assert status == 404
    line = access_log_line(shape, '"GET /ants/getManagedMeetingPoints"')
    assert "upstream=-" in line  # answered by nginx itself, no replica reached
