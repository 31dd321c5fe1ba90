"""The one outbound JSON HTTP client of the assistant (ANTS, the Géoplateforme geocoder, Publik).

* One aiohttp ``ClientSession`` per process and running event loop, created on first use and shared
  by every :class:`JsonClient` (connections are kept alive and reused); :func:`close_all` closes it
  (tests, shutdown). A caller may still pass its own session, which is then left to its owner.
* A time budget per call, read from the environment by the caller (``GRU_ANTS_TIMEOUT``,
  ``GRU_GEOCODER_TIMEOUT``, ``GRU_PUBLIK_TIMEOUT`` -- see :func:`timeout_from_env`). It bounds the
  whole call, retries included, through aiohttp's ``ClientTimeout(total=...)``: a citizen never waits
  longer than that for one answer.
* Retries with exponential backoff (tenacity) for idempotent calls only: GET by default, any other
  method when the caller says ``idempotent=True``. Only quick failures are retried (connection error,
  HTTP 5xx, 429) and only while the time budget allows it.
* Errors are two exceptions the callers translate to their own: :class:`Unavailable` (timeout,
  connection error, 5xx, 429, invalid JSON) and :class:`Rejected` (any other 4xx, with its status and
  decoded body). Callers may list statuses they handle themselves (``pass_statuses``, e.g. Publik's
  404 meaning "not in this form").
* One log line per call for operators, on the caller's logger: service label, method, path WITHOUT
  the query string (or a masked path given by the caller), status, duration, attempts and an optional
  note from the caller (e.g. a result count). Never query values, bodies, ids, names or addresses;
  exception texts follow the same rule (the aiohttp exception, whose text may hold the URL, is not
  chained).

Plain Python, no Rasa.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
)
from yarl import URL

__all__ = [
    "Call",
    "HttpError",
    "JsonClient",
    "Rejected",
    "Unavailable",
    "close_all",
    "get_session",
    "pairs_from_env",
    "timeout_from_env",
]

DEFAULT_ATTEMPTS = 3  # idempotent calls: the first try and at most two retries
DEFAULT_BACKOFF_S = 0.1  # first wait between tries, then doubled (0.1 s, 0.2 s, ...)
MAX_BACKOFF_S = 2.0

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# --- errors -----------------------------------------------------------------------------------------


class HttpError(Exception):
    """Base class of the errors of :class:`JsonClient`."""


class Unavailable(HttpError):
    """The service cannot be used now.

    ``kind``: ``timeout`` | ``connection`` | ``server_error`` (5xx) | ``rate_limited`` (429) |
    ``invalid_json``. ``status`` is the HTTP status when there was one; ``detail`` the name of the
    underlying exception class for connection errors (never its text, which may hold the URL).
    """

    def __init__(self, kind: str, status: int | None = None, detail: str | None = None) -> None:
        self.kind = kind
        self.status = status
        self.detail = detail
        super().__init__(detail or (f"HTTP {status}" if status is not None else kind))

    @property
    def retryable(self) -> bool:
        return self.kind in ("connection", "server_error", "rate_limited")


class Rejected(HttpError):
    """The service answered with a 4xx other than 429: our request is refused. ``body`` is the decoded
    JSON answer when it was JSON, else the raw text (it may hold personal data: never log it)."""

    def __init__(self, status: int, body: Any = None) -> None:
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}")


# --- configuration ------------------------------------------------------------------------------------


DEFAULT_PUBLIC_URL = "http://localhost:5005"  # Rasa's own address under `make run`


def public_url(env: Mapping[str, str] = os.environ) -> str:
    """The deployment's public base URL (GRU_PUBLIC_URL), without a trailing slash: the links
    sent to citizens and to ANTS (pages, calendars, alerts, appointment management)."""
    return (env.get("GRU_PUBLIC_URL") or DEFAULT_PUBLIC_URL).strip().rstrip("/")


DEFAULT_PAGES_PORT = 5200  # portal/ (python -m portal), GRU_PAGES_PORT


def pages_url(env: Mapping[str, str] = os.environ) -> str:
    """The base of the appointment pages' links (`/rendez-vous…`, portal/): in the management links
    of the reminders and the pages, and in what the ANTS hub and the ANTS declarations give out.

    GRU_PUBLIC_URL when it is set: on a server the reverse proxy sends /rendez-vous to the pages.
    Unset (`make run`), the pages' own origin, http://localhost:$GRU_PAGES_PORT: the default public
    URL is Rasa's (5005), which does not serve the pages, and a laptop has no proxy. The links to
    Rasa's own routes (/webhooks/…) keep `public_url()`.
    """
    if (env.get("GRU_PUBLIC_URL") or "").strip():
        return public_url(env)
    port = (env.get("GRU_PAGES_PORT") or "").strip()
    return f"http://localhost:{port if port.isdigit() else DEFAULT_PAGES_PORT}"


def production(env: Mapping[str, str] = os.environ) -> bool:
    """Production mode: GRU_ENV=production (deploy/gru.env.example sets it; secure cookies, and the
    public address below is required)."""
    return (env.get("GRU_ENV") or "").strip().lower() == "production"


_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def public_url_problem(env: Mapping[str, str] = os.environ) -> str | None:
    """In production, the one French line saying what to set when GRU_PUBLIC_URL is missing, not
    https or local (links to the citizens and to ANTS would lead nowhere); None otherwise."""
    if not production(env):
        return None
    raw = (env.get("GRU_PUBLIC_URL") or "").strip()
    advice = "indiquez l'adresse publique https de l'assistant, par exemple GRU_PUBLIC_URL=https://assistant.mairie.fr"
    if not raw:
        return f"GRU_PUBLIC_URL manque en production (GRU_ENV=production) : {advice}."
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or host in _LOCAL_HOSTS or host.startswith("127."):
        return f"GRU_PUBLIC_URL « {raw} » ne convient pas en production (GRU_ENV=production) : {advice}."
    return None


def timeout_from_env(name: str, default: float, env: Mapping[str, str] = os.environ) -> float:
    """A positive number of seconds from ``env[name]`` (``default`` when unset or blank).

    ValueError (naming the variable, not echoing anything else) when it is not a positive number.
    """
    raw = (env.get(name) or "").strip()
    if not raw:
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds (e.g. {default:g}); got {raw!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be positive (seconds); got {raw!r}")
    return value


def pairs_from_env(name: str, example: str, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``env[name]`` read as comma-separated ``key=value`` pairs (empty when unset); ValueError
    naming the variable and showing `example` (« slug=service,slug=service ») otherwise."""
    raw = env.get(name) or ""
    pairs: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{name} must look like {example!r}; got {raw!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def _check_timeout(service: str, timeout_s: Any) -> float:
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)):
        raise ValueError(f"{service} timeout must be a number of seconds; got {timeout_s!r}")
    if not 0 < timeout_s < float("inf"):
        raise ValueError(f"{service} timeout must be a positive number of seconds; got {timeout_s!r}")
    return float(timeout_s)


# --- the shared session ---------------------------------------------------------------------------------

_sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}


def _abandon(session: aiohttp.ClientSession) -> None:
    """Drop a session whose event loop is closed (it can no longer be awaited): close its sockets."""
    connector = session.connector
    session.detach()
    if connector is not None:
        try:
            connector._close()  # the synchronous part of BaseConnector.close()
        except Exception:  # noqa: BLE001 - the loop is gone; nothing else can be done
            pass


def _forget_dead_loops() -> None:
    for loop in [loop for loop in _sessions if loop.is_closed()]:
        _abandon(_sessions.pop(loop))


def get_session() -> aiohttp.ClientSession:
    """The process's session for the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    _forget_dead_loops()
    session = _sessions.get(loop)
    if session is None or session.closed:
        # No session-wide timeout: each call brings its own budget.
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        _sessions[loop] = session
    return session


async def close_all() -> None:
    """Close the shared sessions (the one of the running loop is awaited; others are dropped)."""
    try:
        current = asyncio.get_running_loop()
    except RuntimeError:
        current = None
    for loop, session in list(_sessions.items()):
        del _sessions[loop]
        if loop is current:
            await session.close()
        elif loop.is_closed() or not loop.is_running():
            _abandon(session)
        else:  # another thread's running loop: let it close its own session
            asyncio.run_coroutine_threadsafe(session.close(), loop)


# --- calls ------------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One call: its HTTP status and decoded JSON answer (None for a ``pass_statuses`` status).

    ``note`` is appended to the operator log line; set it inside ``async with client.call(...)`` with
    counts or other non-personal facts only.
    """

    status: int
    data: Any
    attempts: int = 1
    note: str | None = field(default=None)


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Unavailable("invalid_json") from None


def _rejected_body(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return body.decode("utf-8", errors="replace")


class JsonClient:
    """Outbound JSON calls to one service (``base_url``), labelled ``service`` in the logs.

    ``timeout_s`` overrides the environment; otherwise the budget is ``timeout_from_env(timeout_env,
    timeout_default)``. ``headers`` are sent with every call (tokens go there, never in the logs).
    """

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        logger: logging.Logger,
        timeout_env: str,
        timeout_default: float,
        timeout_s: float | None = None,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_s: float = DEFAULT_BACKOFF_S,
    ) -> None:
        self.service = service
        self.base_url = (base_url or "").rstrip("/")
        self.logger = logger
        self.timeout_env = timeout_env
        if timeout_s is None:
            timeout_s = timeout_from_env(timeout_env, timeout_default)
        self.timeout_s = _check_timeout(service, timeout_s)
        self.headers = {"Accept": "application/json", **(headers or {})}
        self.session = session  # None: the process's shared session
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.attempts = attempts
        self.backoff_s = backoff_s

    def __repr__(self) -> str:  # never the headers (tokens)
        return f"JsonClient(service={self.service!r}, base_url={self.base_url!r}, timeout_s={self.timeout_s})"

    async def request(self, method: str, path: str, **options: Any) -> Call:
        """One call, with the options of :meth:`call`; returns its :class:`Call`."""
        async with self.call(method, path, **options) as reply:
            return reply

    @asynccontextmanager
    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
        query: str | Callable[[], str] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        pass_statuses: Collection[int] = (),
        log_path: str | None = None,
    ) -> AsyncIterator[Call]:
        """Perform one call and yield its :class:`Call`; the log line is written when the block ends,
        so that an answer the caller finds malformed is logged as a failure, with the caller's note.

        ``path`` is appended to the base URL; ``params`` are url-encoded, or ``query`` is an already
        encoded query string (signed queries), or a function that makes one for each try (a signature
        with a nonce the receiver refuses to see twice). ``log_path`` replaces ``path`` in the log
        line (to mask an id in it). Statuses in ``pass_statuses`` are yielded (``data`` None) instead
        of raised. Raises :class:`Unavailable` or :class:`Rejected`.
        """
        method = method.upper()
        shown = log_path or path
        retry = method in _IDEMPOTENT_METHODS if idempotent is None else idempotent

        def url() -> URL:
            raw = query() if callable(query) else query
            return URL(f"{self.base_url}{path}" + (f"?{raw}" if raw else ""), encoded=bool(raw))

        started = time.monotonic()
        status: int | None = None
        attempts = 0
        outcome = "error"
        reply: Call | None = None
        try:
            reply = await self._perform(
                method, url, params, json_body, retry, frozenset(pass_statuses), started
            )
            status, attempts = reply.status, reply.attempts
            try:
                yield reply
            except asyncio.CancelledError:
                outcome = "cancelled"
                raise
            except BaseException:
                outcome = "invalid answer"
                raise
            outcome = "ok"
        except _Failed as failed:
            status, attempts = failed.error_status, failed.attempts
            exc = failed.error
            if isinstance(exc, Unavailable):
                outcome = exc.detail or exc.kind.replace("_", " ")
            else:
                outcome = "rejected"
            raise exc from None
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            elapsed_ms = (time.monotonic() - started) * 1000
            self._log(method, shown, status, outcome, elapsed_ms, attempts, reply, pass_statuses)

    def _log(
        self,
        method: str,
        shown: str,
        status: int | None,
        outcome: str,
        elapsed_ms: float,
        attempts: int,
        reply: Call | None,
        pass_statuses: Collection[int],
    ) -> None:
        if status is None:
            label = outcome
        elif outcome in ("ok", "server error", "rate limited", "rejected"):
            label = str(status)
        else:
            label = f"{status} {outcome}"
        line = f"{self.service} {method} {shown} -> {label} in {elapsed_ms:.0f} ms"
        if attempts > 1:
            line += f" ({attempts} attempts)"
        if reply is not None and reply.note and outcome == "ok":
            line += f", {reply.note}"
        failed = outcome != "ok" or status is None or (status >= 400 and status not in pass_statuses)
        self.logger.log(logging.WARNING if failed else logging.INFO, "%s", line)

    async def _perform(
        self,
        method: str,
        url: Callable[[], URL],
        params: Any,
        json_body: Any,
        retry: bool,
        pass_statuses: frozenset[int],
        started: float,
    ) -> Call:
        session = self.session if self.session is not None else get_session()
        deadline = started + self.timeout_s
        attempts = 0

        async def attempt() -> Call:
            nonlocal attempts
            attempts += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unavailable("timeout")
            try:
                async with session.request(
                    method,
                    url(),
                    params=params,
                    json=json_body,
                    headers=self.headers,
                    timeout=aiohttp.ClientTimeout(total=remaining),
                ) as response:
                    status = response.status
                    body = await response.read()
            except asyncio.TimeoutError:
                raise Unavailable("timeout") from None
            except aiohttp.ClientError as exc:
                raise Unavailable("connection", detail=type(exc).__name__) from None
            if status in pass_statuses:
                return Call(status=status, data=None, attempts=attempts)
            if status == 429:
                raise Unavailable("rate_limited", status=status)
            if status >= 500:
                raise Unavailable("server_error", status=status)
            if status >= 400:
                raise Rejected(status, _rejected_body(body))
            try:
                return Call(status=status, data=_decode(body), attempts=attempts)
            except Unavailable as exc:
                exc.status = status
                raise

        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, Unavailable) and exc.retryable),
            stop=stop_after_attempt(self.attempts if retry else 1) | stop_before_delay(self.timeout_s),
            wait=wait_exponential(multiplier=self.backoff_s, min=self.backoff_s, max=MAX_BACKOFF_S),
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except (Unavailable, Rejected) as exc:
            raise _Failed(exc, attempts) from None


class _Failed(Exception):
    """Internal: carries the final error and the number of attempts to the log line."""

    def __init__(self, error: Unavailable | Rejected, attempts: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.attempts = attempts

    @property
    def error_status(self) -> int | None:
        return self.error.status
