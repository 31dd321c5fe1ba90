"""The ANTS availability hub in the production shape: with GRU_HUB_TOKEN set, ops/production.py
starts `python -m booking.hub` and nginx publishes it under /ants/ (deploy/nginx/site.conf.j2,
upstream gru_hub). The national site is played by this test, through real nginx: the address a
commune registers with ANTS is GRU_PUBLIC_URL/ants, and ANTS appends the hub's route names."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest

from booking import engine, hub
from booking.config import load_booking_config
from tests.production.conftest import HUB_TOKEN
from tests.unit.conftest import next_open_day

pytestmark = [pytest.mark.integration, pytest.mark.production_shape]

APPLICATION_ID = "ZQ3K7P2M9A"  # a pre-application number (10 letters/digits)


def call(url: str, token: str | None = HUB_TOKEN, method: str = "GET"):
    """What ANTS's client does: a GET with the editor's token header. Returns status, headers, JSON."""
    headers = {hub.AUTH_HEADER: token} if token is not None else {}
    request = urllib.request.Request(url, headers=headers, method=method)
    try:
        response = urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as error:  # 401, 403, 404: what nginx or the hub answered
        response = error
    with response:
        body = response.read().decode("utf-8")
        return response.status, response.headers, (json.loads(body) if body.startswith(("{", "[")) else body)


def test_ants_lists_our_meeting_points_with_the_token_only(hub_shape):
    base = f"{hub_shape.url}/ants"
    status, headers, points = call(f"{base}/getManagedMeetingPoints")
    assert status == 200, points
    expected = {site.id: site.name for site in load_booking_config().sites}  # the booking file's sites
    assert {point["id"]: point["name"] for point in points} == expected
    assert all(point["zip_code"] and point["city_name"] for point in points)
    # Nobody keeps the answer: slots change with every booking.
    assert headers["Cache-Control"] == "no-store"
    for token in (None, "", "pas-le-bon-jeton"):
        status, _, answer = call(f"{base}/getManagedMeetingPoints", token)
        assert status == 401 and answer == {"error": "unauthorized"}, token
    # The hub's routes are GET only, refused at nginx.
    status, _, _ = call(f"{base}/getManagedMeetingPoints", method="POST")
    assert status == 403
    status, _, answer = call(f"{base}/health", None)
    assert status == 200 and answer == {"status": "ok"}


def test_ants_gets_free_slots_whose_callbacks_lead_to_our_pages(hub_shape):
    day = next_open_day()
    query = urllib.parse.urlencode(
        {
            "meeting_point_ids": "villebrune-mairie",
            "start_date": day.isoformat(),
            "end_date": (day + timedelta(days=6)).isoformat(),
            "reason": "CNI",
            "documents_number": "1",
        }
    )
    status, _, slots = call(f"{hub_shape.url}/ants/availableTimeSlots?{query}")
    assert status == 200, slots
    mairie = slots["villebrune-mairie"]
    # The same free slots as the booking engine's, in ANTS's wall-clock-and-Z format.
    expected = engine.available_slots(
        ["villebrune-mairie"], day, day + timedelta(days=6), 15, url=hub_shape.app_db_url
    )
    assert [s["datetime"] for s in mairie] == [f"{slot.start:%Y-%m-%dT%H:%M}Z" for slot in expected]
    assert mairie, "no free slot on an open week"
    assert all(
        s["callback_url"].startswith(f"{hub_shape.url}/rendez-vous?site=villebrune-mairie&start=")
        for s in mairie
    )
    # The first callback, as the citizen opens it from the national site: our page, through nginx.
    with urllib.request.urlopen(mairie[0]["callback_url"], timeout=30) as page:
        assert page.status == 200 and "Confirmer votre rendez-vous" in page.read().decode("utf-8")
    status, _, answer = call(f"{hub_shape.url}/ants/availableTimeSlots?{query}", None)
    assert status == 401 and answer == {"error": "unauthorized"}


def test_ants_finds_an_appointment_by_pre_application_number(hub_shape):
    day = next_open_day(min_days_ahead=10)
    slot = engine.available_slots(["villebrune-mairie"], day, day, 15, url=hub_shape.app_db_url)[0]
    booked = engine.book(
        slot,
        reason="CNI",
        people=1,
        surname="Martin",
        channel="rest",
        sender_id="hub-test",
        application_ids=(APPLICATION_ID,),
        url=hub_shape.app_db_url,
    )
    status, _, found = call(f"{hub_shape.url}/ants/searchApplicationIds?application_ids={APPLICATION_ID}")
    assert status == 200, found
    [appointment] = found[APPLICATION_ID]
    assert appointment["datetime"] == f"{slot.start:%Y-%m-%dT%H:%M}Z"
    assert appointment["management_url"] == f"{hub_shape.url}/rendez-vous/{booked.reference}"
    assert appointment["cancel_url"] == f"{hub_shape.url}/rendez-vous/{booked.reference}/annuler"
    with urllib.request.urlopen(appointment["management_url"], timeout=30) as page:  # the pages, via nginx
        assert page.status == 200
    # nginx logs the path, never the query string: no pre-application number in its log.
    log = (hub_shape.settings.state_dir / "logs" / "nginx-access.log").read_text()
    assert '"GET /ants/searchApplicationIds" 200' in log and APPLICATION_ID not in log
    assert f"upstream=127.0.0.1:{hub_shape.settings.hub_ports[0]}" in log
    assert APPLICATION_ID not in (hub_shape.settings.state_dir / "logs" / "hub-1.log").read_text()


def test_the_hub_stops_with_the_shape(hub_shape):
    """Last of the module: `down` stops the hub with the rest (the fixture's own stop is then a no-op)."""
    assert hub_shape.alive()["hub-1"] and {"hub-1", "pages-1", "rasa-1", "jobs"} <= set(hub_shape.processes)
    hub_url = f"http://127.0.0.1:{hub_shape.settings.hub_ports[0]}/health"
    hub_shape.stop()
    assert not any(hub_shape.alive().values())
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(hub_url, timeout=5)
