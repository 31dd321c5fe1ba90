"""Async client for the ANTS anti-duplicate API ("API de coordination des rendez-vous").

Town halls that book passport / national ID card appointments must, before booking, check the
citizen's pre-application number ("numéro de pré-demande") against the national API, then declare
the appointment after booking and delete the declaration after a cancellation.

Published shape (base URL e.g. ``https://api-coordination.rendezvouspasseport.ants.gouv.fr/api``,
header ``x-rdv-opt-auth-token``)::

    GET    /status?application_ids=X&application_ids=Y&meeting_point_id=Z
    POST   /appointments?application_id=..&meeting_point_id=..&meeting_point=..&appointment_date=..
                         &management_url=..
    DELETE /appointments?application_id=..&meeting_point_id=..&meeting_point=..&appointment_date=..

Times go both ways as ANTS's own client reads them (`ants_datetime`): the wall-clock time of the
meeting point followed by a literal Z, the format our hub serves too (README « ANTS client check »).

HTTP goes through :mod:`core.http` (one shared session per process, the GRU_ANTS_TIMEOUT budget per
call in the conversation, ANTS's own 15 s in the background outbox, retries for GET /status only).
Privacy: the operator log line written for each call carries the endpoint, the HTTP status and the
duration only -- never an application id, a token or any other personal data. Exception messages
follow the same rule (the underlying aiohttp exception, whose text may contain the full URL, is not
chained).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp

from core import clock
from core.http import JsonClient, Rejected, Unavailable, timeout_from_env
from core.text import format_date_fr as _format_day_fr
from core.text import format_time_fr

logger = logging.getLogger(__name__)

AUTH_HEADER = "x-rdv-opt-auth-token"
DOWN_POLICIES = ("refuse", "flag")
DEFAULT_TIMEOUT_S = 5.0  # a citizen waits in the chat or on the page: ANTS counts as down after it
# What ANTS's own client waits for this API (hubrdvmairie 3.4.1, services/search_meetings.py:24, 72):
# the budget of the background outbox (booking/ants_sync.py), where nobody waits.
ANTS_OWN_TIMEOUT_S = 15.0
ANTS_DATETIME = "%Y-%m-%dT%H:%MZ"
STATUSES = ("validated", "consumed", "declared", "unknown", "expired")
APPLICATION_ID_RE = re.compile(r"^[A-Za-z0-9]{10}$")

# HTTP statuses meaning "we cannot use the service right now" (as opposed to "our request was refused").
_UNAVAILABLE_STATUSES = frozenset({401, 403, 404, 408, 429})


def _paris_tz() -> tzinfo | None:
    try:
        return ZoneInfo("Europe/Paris")
    except ZoneInfoNotFoundError:  # pragma: no cover - no tz database on the host
        return None


PARIS_TZ = _paris_tz()


class AntsError(Exception):
    """Base class for ANTS client errors. ``kind`` names the failure for operators (no personal data)."""

    kind: str = "error"

    def __init__(self, message: str = "", kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class AntsUnavailable(AntsError):
    """ANTS cannot be used right now: timeout, connection error, 5xx, 401/403 (bad token), malformed JSON.

    The caller applies ``AntsSettings.down_policy`` (see :func:`describe_unavailable_fr`).
    """

    kind = "unavailable"


class AntsRejected(AntsError):
    """ANTS answered but refused the request (other 4xx, or ``{"success": false}``)."""

    kind = "rejected"


@dataclass(frozen=True)
class AntsSettings:
    base_url: str | None
    token: str | None = field(repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S
    down_policy: str = "refuse"  # "refuse" | "flag"

    def __post_init__(self) -> None:
        if self.down_policy not in DOWN_POLICIES:
            raise ValueError(
                f"ANTS down policy must be one of {', '.join(DOWN_POLICIES)}; got {self.down_policy!r}"
            )
        if not 0 < self.timeout_s < float("inf"):
            raise ValueError(f"ANTS timeout must be a positive number of seconds; got {self.timeout_s!r}")

    @property
    def enabled(self) -> bool:
        return bool(self.base_url) and bool(self.token)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AntsSettings:
        """Read GRU_ANTS_API_URL, GRU_ANTS_API_TOKEN, GRU_ANTS_TIMEOUT (s), GRU_ANTS_DOWN_POLICY."""
        base_url = (env.get("GRU_ANTS_API_URL") or "").strip().rstrip("/") or None
        token = (env.get("GRU_ANTS_API_TOKEN") or "").strip() or None
        timeout_s = timeout_from_env("GRU_ANTS_TIMEOUT", DEFAULT_TIMEOUT_S, env)
        policy = (env.get("GRU_ANTS_DOWN_POLICY") or "").strip().lower() or "refuse"
        if policy not in DOWN_POLICIES:
            raise ValueError(
                "GRU_ANTS_DOWN_POLICY must be 'refuse' (no booking while ANTS is down) or 'flag' "
                f"(book anyway, an agent checks later); got {env.get('GRU_ANTS_DOWN_POLICY')!r}"
            )
        return cls(base_url=base_url, token=token, timeout_s=timeout_s, down_policy=policy)


@dataclass(frozen=True)
class ApplicationCheck:
    application_id: str
    status: str  # validated|consumed|declared|unknown|expired
    appointments: list[dict]  # as returned by ANTS
    bookable: bool  # status == validated and no appointment elsewhere
    reason_fr: str | None  # why it is not bookable (polite French), None if bookable


def normalize_application_id(application_id: str) -> str:
    """Strip and upper-case a pre-application number; ValueError if it is not 10 letters/digits."""
    candidate = application_id.strip() if isinstance(application_id, str) else ""
    if not APPLICATION_ID_RE.match(candidate):
        # Deliberately does not echo the value (personal data).
        raise ValueError("an ANTS application id is exactly 10 letters or digits")
    return candidate.upper()


def describe_unavailable_fr(policy: str) -> str:
    """What the citizen is told when ANTS does not answer, depending on the down policy."""
    if policy == "flag":
        return (
            "Le service national de vérification des pré-demandes (ANTS) ne répond pas. "
            "Je réserve quand même votre créneau ; un agent vérifiera votre pré-demande "
            "et vous contactera en cas de problème."
        )
    return (
        "Le service national de vérification des pré-demandes (ANTS) ne répond pas pour le moment. "
        "Je ne peux pas réserver sans cette vérification. "
        "Réessayez dans quelques minutes, ou appelez le service état civil."
    )


def format_date_fr(moment: datetime) -> str:
    """'19 décembre à 10 h', '1er mars à 9 h 30' -- in Europe/Paris time."""
    if moment.tzinfo is not None and PARIS_TZ is not None:
        moment = moment.astimezone(PARIS_TZ)
    return f"{_format_day_fr(moment.date(), with_weekday=False)} à {format_time_fr(moment.time())}"


def ants_datetime(moment: datetime) -> str:
    """A moment as ANTS reads it: the territory's wall-clock time, to the minute, and a literal Z.

    Why not UTC: ANTS's client parses "%Y-%m-%dT%H:%MZ" into a naive time and shows it as is
    (hubrdvmairie 3.4.1, models/editor.py:311-330; « l'heure qui sera affichée est l'heure exacte
    que l'on trouve dans la réponse », controllers/routes/external.py:146), and compares the hub's
    times with the declared ones the same way (services/search_meetings.py:93-125). RDV Service
    Public sends its local times like this. A naive moment is taken as local already.
    """
    return clock.local(moment).strftime(ANTS_DATETIME)


def _parse_iso(value: Any) -> datetime | None:
    """An appointment time read from ANTS, naive when it is a wall-clock time (a Z, no offset or a
    zero offset: ANTS's convention, see `ants_datetime`); a real offset is kept."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    text = text[:-1] if text.endswith(("Z", "z")) else text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None and moment.utcoffset() == timedelta(0):
        moment = moment.replace(tzinfo=None)
    return moment


def _existing_appointment_reason(appointments: list[dict]) -> str:
    details = ""
    if appointments:
        first = appointments[0]
        moment = _parse_iso(first.get("appointment_date"))
        place = first.get("meeting_point")
        if moment is not None:
            details += f" le {format_date_fr(moment)}"
        if isinstance(place, str) and place.strip():
            details += f" à {place.strip()}"
    return f"Ce numéro de pré-demande a déjà un rendez-vous{details}. Annulez-le d'abord, ou gardez-le."


def _reason_fr(application_id: str, status: str, appointments: list[dict]) -> str | None:
    if status == "consumed":
        return (
            f"Le numéro de pré-demande {application_id} a déjà servi pour un titre. "
            "Il vous faut une nouvelle pré-demande sur ants.gouv.fr."
        )
    if status == "expired":
        return "Cette pré-demande a expiré. Refaites-en une sur ants.gouv.fr."
    if status == "unknown":
        return (
            "Ce numéro de pré-demande est inconnu de l'ANTS. "
            "Vérifiez-le sur votre récapitulatif de pré-demande."
        )
    if appointments or status == "declared":
        return _existing_appointment_reason(appointments)
    if status == "validated":
        return None
    return (
        "Je ne peux pas vérifier ce numéro de pré-demande pour le moment. "
        "Appelez le service état civil, qui pourra vous aider."
    )


def _build_check(application_id: str, entry: Any) -> ApplicationCheck:
    if entry is None:
        status, appointments = "unknown", []
    else:
        if not isinstance(entry, dict):
            raise AntsUnavailable("ANTS GET /status: malformed answer (entry is not an object)")
        raw_status = entry.get("status")
        raw_appointments = entry.get("appointments") or []
        if not isinstance(raw_status, str) or not isinstance(raw_appointments, list):
            raise AntsUnavailable("ANTS GET /status: malformed answer (status/appointments)")
        if not all(isinstance(item, dict) for item in raw_appointments):
            raise AntsUnavailable("ANTS GET /status: malformed answer (appointment is not an object)")
        status, appointments = raw_status.strip().lower(), raw_appointments
    bookable = status == "validated" and not appointments
    return ApplicationCheck(
        application_id=application_id,
        status=status,
        appointments=appointments,
        bookable=bookable,
        reason_fr=None if bookable else _reason_fr(application_id, status, appointments),
    )


def _require_text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value.strip()


class AntsClient:
    """Async ANTS client over :class:`core.http.JsonClient` (the process's shared session).

    Never blocks the event loop; one operator log line per HTTP call. GET /status is retried on quick
    failures within the time budget; POST/DELETE /appointments are not (see booking.ants_sync).
    """

    def __init__(self, settings: AntsSettings, session: aiohttp.ClientSession | None = None) -> None:
        if not settings.enabled:
            raise ValueError("AntsClient needs GRU_ANTS_API_URL and GRU_ANTS_API_TOKEN (settings.enabled)")
        self.settings = settings
        self._http = JsonClient(
            "ANTS",
            settings.base_url or "",
            logger=logger,
            timeout_env="GRU_ANTS_TIMEOUT",
            timeout_default=DEFAULT_TIMEOUT_S,
            timeout_s=settings.timeout_s,
            headers={AUTH_HEADER: settings.token or ""},
            session=session,
        )

    async def __aenter__(self) -> AntsClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Nothing to release: the session is the process's (core.http.close_all) or the caller's."""

    async def _call(self, method: str, endpoint: str, params: list[tuple[str, str]]) -> Any:
        """Perform one call and return the decoded JSON. Logs endpoint, status and duration only."""
        try:
            return (await self._http.request(method, endpoint, params=params)).data
        except Unavailable as exc:
            if exc.kind == "timeout":
                message = f"no answer within {self.settings.timeout_s:g} s"
            elif exc.kind == "invalid_json":
                message = "malformed JSON answer"
            else:
                message = str(exc)
            raise AntsUnavailable(f"ANTS {method} {endpoint}: {message}", exc.kind) from None
        except Rejected as exc:
            if exc.status in _UNAVAILABLE_STATUSES:
                raise AntsUnavailable(
                    f"ANTS {method} {endpoint}: HTTP {exc.status}", f"http_{exc.status}"
                ) from None
            raise AntsRejected(f"ANTS {method} {endpoint}: HTTP {exc.status}", f"http_{exc.status}") from None

    async def check(self, application_ids: list[str], meeting_point_id: str) -> dict[str, ApplicationCheck]:
        """Check pre-application numbers; result keyed by the normalised (upper-case) id.

        Raises ValueError for an id that is not 10 letters/digits (nothing is sent), AntsUnavailable
        when ANTS cannot be used, AntsRejected when it refuses the request.
        """
        if isinstance(application_ids, str):
            application_ids = [application_ids]
        ids = list(dict.fromkeys(normalize_application_id(a) for a in application_ids))
        meeting_point_id = _require_text("meeting_point_id", meeting_point_id)
        if not ids:
            return {}
        params = [("application_ids", a) for a in ids] + [("meeting_point_id", meeting_point_id)]
        data = await self._call("GET", "/status", params)
        if not isinstance(data, dict):
            raise AntsUnavailable("ANTS GET /status: malformed answer (not an object)")
        by_upper = {str(key).strip().upper(): value for key, value in data.items()}
        return {a: _build_check(a, by_upper.get(a)) for a in ids}

    async def declare(
        self,
        application_id: str,
        meeting_point_id: str,
        meeting_point: str,
        appointment_date: datetime,
        management_url: str,
    ) -> None:
        """Declare a booked appointment (after the booking is stored)."""
        params = [
            ("application_id", normalize_application_id(application_id)),
            ("meeting_point_id", _require_text("meeting_point_id", meeting_point_id)),
            ("meeting_point", _require_text("meeting_point", meeting_point)),
            ("appointment_date", ants_datetime(appointment_date)),
            ("management_url", _require_text("management_url", management_url)),
        ]
        self._expect_success("POST", await self._call("POST", "/appointments", params))

    async def delete(
        self,
        application_id: str,
        meeting_point_id: str,
        meeting_point: str,
        appointment_date: datetime,
    ) -> None:
        """Delete a declared appointment (after a cancellation)."""
        params = [
            ("application_id", normalize_application_id(application_id)),
            ("meeting_point_id", _require_text("meeting_point_id", meeting_point_id)),
            ("meeting_point", _require_text("meeting_point", meeting_point)),
            ("appointment_date", ants_datetime(appointment_date)),
        ]
        self._expect_success("DELETE", await self._call("DELETE", "/appointments", params))

    @staticmethod
    def _expect_success(method: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise AntsUnavailable(f"ANTS {method} /appointments: malformed answer (not an object)")
        if data.get("success") is not True:
            raise AntsRejected(f"ANTS {method} /appointments: success is not true")
