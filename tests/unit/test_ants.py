"""ANTS anti-duplicate client against a real local aiohttp server speaking the published shapes."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web

from booking.ants import (
    AUTH_HEADER,
    AntsClient,
    AntsRejected,
    AntsSettings,
    AntsUnavailable,
    ApplicationCheck,
    describe_unavailable_fr,
    format_date_fr,
)

TOKEN = "test-token-123"
MEETING_POINT_ID = "75056-MAIRIE-01"
MEETING_POINT = "Mairie de Saint-Ouen & annexe"
PARIS = ZoneInfo("Europe/Paris")

VALIDATED = "ABCDE12345"
CONSUMED = "CONSUM0001"
DECLARED = "DECLAR0001"
UNKNOWN = "UNKNOW0001"
EXPIRED = "EXPIRE0001"
MISSING = "MISSIN0001"
VALIDATED_WITH_APPOINTMENT = "VALAPP0001"

ALL_IDS = [VALIDATED, CONSUMED, DECLARED, UNKNOWN, EXPIRED, MISSING, VALIDATED_WITH_APPOINTMENT]

EXISTING_APPOINTMENT = {
    "meeting_point": "Mairie de Lyon 3e",
    "appointment_date": "2026-12-19T10:00:00+01:00",
    "management_url": "https://rdv.lyon.fr/gerer/xyz",
}


@dataclass
class FakeAnts:
    """Mimics the ANTS coordination API; records every request it receives."""

    statuses: dict = field(
        default_factory=lambda: {
            VALIDATED: {"status": "validated", "appointments": []},
            CONSUMED: {"status": "consumed", "appointments": []},
            DECLARED: {"status": "declared", "appointments": [EXISTING_APPOINTMENT]},
            UNKNOWN: {"status": "unknown", "appointments": []},
            EXPIRED: {"status": "expired", "appointments": []},
            VALIDATED_WITH_APPOINTMENT: {
                "status": "validated",
                "appointments": [
                    {
                        "meeting_point": "Mairie annexe",
                        "appointment_date": "2026-03-01T08:30:00Z",
                        "management_url": "https://example.org/m",
                    }
                ],
            },
        }
    )
    requests: list = field(default_factory=list)
    mode: str = "normal"  # normal | slow | error500 | malformed | bad_request | success_false
    delay_s: float = 0.0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""

    async def _common(self, request: web.Request) -> web.Response | None:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": list(request.query.items()),
                "headers": dict(request.headers),
                "body": await request.read(),
            }
        )
        if request.headers.get(AUTH_HEADER) != TOKEN:
            return web.json_response({"detail": "Invalid token"}, status=401)
        if self.mode == "slow":
            try:
                await asyncio.wait_for(self.release.wait(), self.delay_s)
            except asyncio.TimeoutError:
                pass
        if self.mode == "error500":
            return web.Response(status=500, text="Internal Server Error")
        if self.mode == "malformed":
            return web.Response(status=200, text="{not json", content_type="application/json")
        if self.mode == "bad_request":
            return web.json_response({"detail": "missing parameter"}, status=422)
        return None

    async def status(self, request: web.Request) -> web.Response:
        early = await self._common(request)
        if early is not None:
            return early
        ids = request.query.getall("application_ids", [])
        return web.json_response({i: self.statuses[i] for i in ids if i in self.statuses})

    async def appointments(self, request: web.Request) -> web.Response:
        early = await self._common(request)
        if early is not None:
            return early
        return web.json_response({"success": self.mode != "success_false"})


@pytest.fixture
async def ants():
    fake = FakeAnts()
    app = web.Application()
    app.router.add_get("/api/status", fake.status)
    app.router.add_post("/api/appointments", fake.appointments)
    app.router.add_delete("/api/appointments", fake.appointments)
    # access_log=None: the server's own access log would contain the ids (it is not the client's log).
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.base_url = f"http://127.0.0.1:{port}/api"
    try:
        yield fake
    finally:
        fake.release.set()
        await runner.cleanup()


def make_client(fake: FakeAnts, *, token: str = TOKEN, timeout_s: float = 2.0) -> AntsClient:
    return AntsClient(AntsSettings(base_url=fake.base_url, token=token, timeout_s=timeout_s))


async def check_one(fake: FakeAnts, application_id: str) -> ApplicationCheck:
    async with make_client(fake) as client:
        result = await client.check([application_id], MEETING_POINT_ID)
    normalised = application_id.strip().upper()
    assert list(result) == [normalised]
    return result[normalised]


# --- check -----------------------------------------------------------------------------------------


async def test_validated_is_bookable(ants):
    check = await check_one(ants, VALIDATED)
    assert check == ApplicationCheck(
        application_id=VALIDATED, status="validated", appointments=[], bookable=True, reason_fr=None
    )
    (request,) = ants.requests
    assert request["method"] == "GET"
    assert request["path"] == "/api/status"
    assert request["query"] == [("application_ids", VALIDATED), ("meeting_point_id", MEETING_POINT_ID)]
    assert request["headers"][AUTH_HEADER] == TOKEN


async def test_lower_case_id_is_normalised(ants):
    check = await check_one(ants, "  abcde12345 ")
    assert check.bookable is True
    assert ants.requests[0]["query"][0] == ("application_ids", VALIDATED)


async def test_consumed_not_bookable(ants):
    check = await check_one(ants, CONSUMED)
    assert (check.status, check.bookable) == ("consumed", False)
    assert check.reason_fr == (
        f"Le numéro de pré-demande {CONSUMED} a déjà servi pour un titre. "
        "Il vous faut une nouvelle pré-demande sur ants.gouv.fr."
    )


async def test_declared_with_appointment_not_bookable(ants):
    check = await check_one(ants, DECLARED)
    assert (check.status, check.bookable) == ("declared", False)
    assert check.appointments == [EXISTING_APPOINTMENT]
    assert check.reason_fr == (
        "Ce numéro de pré-demande a déjà un rendez-vous le 19 décembre à 10 h à Mairie de Lyon 3e. "
        "Annulez-le d'abord, ou gardez-le."
    )


async def test_validated_with_other_appointment_not_bookable_paris_time(ants):
    check = await check_one(ants, VALIDATED_WITH_APPOINTMENT)
    assert (check.status, check.bookable) == ("validated", False)
    # "08:30:00Z" is the meeting point's wall-clock time, as ANTS writes and shows it.
    assert check.reason_fr == (
        "Ce numéro de pré-demande a déjà un rendez-vous le 1er mars à 8 h 30 à Mairie annexe. "
        "Annulez-le d'abord, ou gardez-le."
    )


async def test_unknown_not_bookable(ants):
    check = await check_one(ants, UNKNOWN)
    assert (check.status, check.bookable) == ("unknown", False)
    assert check.reason_fr == (
        "Ce numéro de pré-demande est inconnu de l'ANTS. Vérifiez-le sur votre récapitulatif de pré-demande."
    )


async def test_expired_not_bookable(ants):
    check = await check_one(ants, EXPIRED)
    assert (check.status, check.bookable) == ("expired", False)
    assert check.reason_fr == "Cette pré-demande a expiré. Refaites-en une sur ants.gouv.fr."


async def test_id_missing_from_answer_is_unknown(ants):
    check = await check_one(ants, MISSING)
    assert (check.status, check.bookable, check.appointments) == ("unknown", False, [])
    assert "inconnu de l'ANTS" in check.reason_fr


async def test_several_ids_in_one_call(ants):
    async with make_client(ants) as client:
        result = await client.check(ALL_IDS, MEETING_POINT_ID)
    assert len(ants.requests) == 1
    query = ants.requests[0]["query"]
    assert [v for k, v in query if k == "application_ids"] == ALL_IDS
    assert [v for k, v in query if k == "meeting_point_id"] == [MEETING_POINT_ID]
    assert list(result) == ALL_IDS
    assert {i: c.status for i, c in result.items()} == {
        VALIDATED: "validated",
        CONSUMED: "consumed",
        DECLARED: "declared",
        UNKNOWN: "unknown",
        EXPIRED: "expired",
        MISSING: "unknown",
        VALIDATED_WITH_APPOINTMENT: "validated",
    }
    assert [i for i, c in result.items() if c.bookable] == [VALIDATED]


async def test_invalid_id_rejected_before_any_call(ants):
    async with make_client(ants) as client:
        for bad in ["ABC", "ABCDE123456", "ABCDE-1234", ""]:
            with pytest.raises(ValueError):
                await client.check([bad], MEETING_POINT_ID)
        assert await client.check([], MEETING_POINT_ID) == {}
    assert ants.requests == []


# --- declare / delete ------------------------------------------------------------------------------


async def test_declare_sends_published_query_parameters(ants):
    when = datetime(2026, 12, 19, 10, 0, tzinfo=PARIS)
    async with make_client(ants) as client:
        await client.declare(VALIDATED, MEETING_POINT_ID, MEETING_POINT, when, "https://rdv.example.fr/m/42")
    (request,) = ants.requests
    assert (request["method"], request["path"]) == ("POST", "/api/appointments")
    assert request["headers"][AUTH_HEADER] == TOKEN
    assert request["body"] == b""
    assert request["query"] == [
        ("application_id", VALIDATED),
        ("meeting_point_id", MEETING_POINT_ID),
        ("meeting_point", MEETING_POINT),
        ("appointment_date", "2026-12-19T10:00Z"),
        ("management_url", "https://rdv.example.fr/m/42"),
    ]


async def test_delete_sends_published_query_parameters(ants):
    when = datetime(2026, 7, 3, 14, 15)  # naive -> Europe/Paris (summer time)
    async with make_client(ants) as client:
        await client.delete("abcde12345", MEETING_POINT_ID, MEETING_POINT, when)
    (request,) = ants.requests
    assert (request["method"], request["path"]) == ("DELETE", "/api/appointments")
    assert request["headers"][AUTH_HEADER] == TOKEN
    assert request["query"] == [
        ("application_id", VALIDATED),
        ("meeting_point_id", MEETING_POINT_ID),
        ("meeting_point", MEETING_POINT),
        ("appointment_date", "2026-07-03T14:15Z"),
    ]


async def test_success_false_and_4xx_are_rejections_not_outages(ants):
    when = datetime(2026, 12, 19, 10, 0, tzinfo=PARIS)
    async with make_client(ants) as client:
        ants.mode = "success_false"
        with pytest.raises(AntsRejected):
            await client.declare(VALIDATED, MEETING_POINT_ID, MEETING_POINT, when, "https://x.fr/m")
        ants.mode = "bad_request"
        with pytest.raises(AntsRejected):
            await client.delete(VALIDATED, MEETING_POINT_ID, MEETING_POINT, when)


# --- ANTS unavailable ------------------------------------------------------------------------------


async def test_wrong_token_is_unavailable(ants):
    async with make_client(ants, token="wrong") as client:
        with pytest.raises(AntsUnavailable):
            await client.check([VALIDATED], MEETING_POINT_ID)
    assert ants.requests[0]["headers"][AUTH_HEADER] == "wrong"


async def test_slow_server_times_out_fast(ants):
    ants.mode, ants.delay_s = "slow", 5.0
    async with make_client(ants, timeout_s=0.3) as client:
        started = time.perf_counter()
        with pytest.raises(AntsUnavailable):
            await client.check([VALIDATED], MEETING_POINT_ID)
        elapsed = time.perf_counter() - started
    assert 0.25 <= elapsed < 1.5


async def test_server_error_is_unavailable(ants):
    ants.mode = "error500"
    async with make_client(ants) as client:
        with pytest.raises(AntsUnavailable):
            await client.check([VALIDATED], MEETING_POINT_ID)
        with pytest.raises(AntsUnavailable):
            await client.declare(
                VALIDATED, MEETING_POINT_ID, MEETING_POINT, datetime(2026, 1, 5, 9, tzinfo=PARIS), "u"
            )


async def test_malformed_json_is_unavailable(ants):
    ants.mode = "malformed"
    async with make_client(ants) as client:
        with pytest.raises(AntsUnavailable):
            await client.check([VALIDATED], MEETING_POINT_ID)


async def test_connection_refused_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The socket is closed and never listened on: connecting is refused.
    settings = AntsSettings(base_url=f"http://127.0.0.1:{port}/api", token=TOKEN, timeout_s=2.0)
    async with AntsClient(settings) as client:
        started = time.perf_counter()
        with pytest.raises(AntsUnavailable):
            await client.check([VALIDATED], MEETING_POINT_ID)
    assert time.perf_counter() - started < 1.5


async def test_external_session_is_used_and_left_open(ants):
    async with aiohttp.ClientSession() as session:
        client = AntsClient(AntsSettings(base_url=ants.base_url, token=TOKEN), session=session)
        assert (await client.check([VALIDATED], MEETING_POINT_ID))[VALIDATED].bookable
        await client.close()
        assert not session.closed


# --- logging ---------------------------------------------------------------------------------------


async def test_log_lines_carry_no_application_id(ants, caplog):
    caplog.set_level(logging.DEBUG)
    when = datetime(2026, 12, 19, 10, 0, tzinfo=PARIS)
    async with make_client(ants) as client:
        await client.check(ALL_IDS, MEETING_POINT_ID)
        await client.declare(VALIDATED, MEETING_POINT_ID, MEETING_POINT, when, "https://x.fr/m")
        await client.delete(VALIDATED, MEETING_POINT_ID, MEETING_POINT, when)
        ants.mode = "error500"
        with pytest.raises(AntsUnavailable) as excinfo:
            await client.check([CONSUMED], MEETING_POINT_ID)
    ours = [r for r in caplog.records if r.name == "booking.ants"]
    assert len(ours) == 4  # one line per call
    messages = [r.getMessage() for r in ours]
    assert messages[0].startswith("ANTS GET /status -> 200 in ") and messages[0].endswith(" ms")
    assert messages[1].startswith("ANTS POST /appointments -> 200 in ")
    assert messages[2].startswith("ANTS DELETE /appointments -> 200 in ")
    assert messages[3].startswith("ANTS GET /status -> 500 in ")
    assert ours[3].levelno == logging.WARNING
    everything = "\n".join(r.getMessage() for r in caplog.records) + "\n" + caplog.text + str(excinfo.value)
    for application_id in ALL_IDS:
        assert application_id not in everything
        assert application_id.lower() not in everything
    assert TOKEN not in everything


# --- settings and texts ----------------------------------------------------------------------------


def test_settings_from_env():
    settings = AntsSettings.from_env(
        {
            "GRU_ANTS_API_URL": "https://api-coordination.rendezvouspasseport.ants.gouv.fr/api/",
            "GRU_ANTS_API_TOKEN": "secret",
            "GRU_ANTS_TIMEOUT": "2.5",
            "GRU_ANTS_DOWN_POLICY": "FLAG",
        }
    )
    assert settings.base_url == "https://api-coordination.rendezvouspasseport.ants.gouv.fr/api"
    assert (settings.token, settings.timeout_s, settings.down_policy) == ("secret", 2.5, "flag")
    assert settings.enabled
    assert "secret" not in repr(settings)


def test_settings_from_env_defaults_and_disabled():
    settings = AntsSettings.from_env({})
    assert settings == AntsSettings(base_url=None, token=None, timeout_s=5.0, down_policy="refuse")
    assert not settings.enabled
    assert not AntsSettings.from_env({"GRU_ANTS_API_URL": "https://x/api"}).enabled
    assert not AntsSettings.from_env({"GRU_ANTS_API_TOKEN": "t", "GRU_ANTS_API_URL": ""}).enabled
    with pytest.raises(ValueError):
        AntsClient(settings)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"GRU_ANTS_DOWN_POLICY": "maybe"}, "GRU_ANTS_DOWN_POLICY"),
        ({"GRU_ANTS_TIMEOUT": "five"}, "GRU_ANTS_TIMEOUT"),
        ({"GRU_ANTS_TIMEOUT": "0"}, "GRU_ANTS_TIMEOUT"),
    ],
)
def test_settings_from_env_invalid(env, needle):
    with pytest.raises(ValueError, match=needle):
        AntsSettings.from_env(env)


def test_invalid_policy_in_constructor():
    with pytest.raises(ValueError, match="refuse"):
        AntsSettings(base_url="https://x/api", token="t", down_policy="ignore")


def test_describe_unavailable_fr():
    refuse = describe_unavailable_fr("refuse")
    flag = describe_unavailable_fr("flag")
    assert "ne peux pas réserver" in refuse and "état civil" in refuse
    assert "réserve quand même" in flag and "agent" in flag
    assert refuse != flag


def test_format_date_fr():
    assert format_date_fr(datetime(2026, 12, 19, 10, 0, tzinfo=PARIS)) == "19 décembre à 10 h"
    assert format_date_fr(datetime.fromisoformat("2026-08-01T07:05:00+00:00")) == "1er août à 9 h 05"
