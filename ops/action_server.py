"""The action server, closed: `python -m ops.action_server --port 5055`.

rasa-sdk's own server (`rasa run actions`) listens on 0.0.0.0, answers any CORS
origin, runs any action for anyone who can reach it and, when an action raises,
sends the whole tracker (the citizen's messages and slots) back to Rasa, which
writes it to its ERROR log. This entry point builds the same Sanic app from
rasa-sdk's ActionExecutor, but:

- it listens on 127.0.0.1 unless GRU_ACTION_HOST says otherwise;
- every route but /health needs the shared secret GRU_ACTION_SECRET in the
  `X-Gru-Action-Secret` header (Rasa sends it: action_endpoint.headers), compared in
  constant time; otherwise 401 and no action runs;
- no CORS at all: browsers never talk to the action server;
- the request body is bounded (MAX_BODY_BYTES, also after deflate);
- error answers are short JSON without the request: an action that raises gives
  500 {"error": "action failed"}; a form's ActionExecutionRejection keeps rasa-sdk's
  400 {"error", "action_name"} that Rasa needs to hand the turn back to the policies;
- GET /metrics (no secret, like /health: the server listens on a private address) gives
  each action's latency and failures in Prometheus' text format, labelled by action name
  only (an unknown name counts as « unknown »: no label a caller can invent).
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import sys
import time
import types
import zlib
from typing import Any, Mapping, Union

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from rasa_sdk import utils as sdk_utils
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from ops.render import ACTION_SECRET_HEADER as SECRET_HEADER

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
MIN_SECRET_CHARS = 16
# What Rasa posts is the tracker of the current session plus the domain: measured
# 0.25 MB for 100 turns of 200-character messages and 0.73 MB for 300 turns (the
# domain alone is ~20 kB). 2 MB leaves a wide margin for real conversations; only a
# session flooded with 20 000-character messages (the REST limit) goes past it.
MAX_BODY_BYTES = 2 * 1024 * 1024
PUBLIC_PATHS = frozenset({"/health", "/metrics"})
# Most actions answer in milliseconds; those that call a back-office (ANTS, Publik, the
# geocoder) have budgets of 3-10 s (core/http.py).
ACTION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNKNOWN_ACTION = "unknown"


class ConfigError(ValueError):
    """The action server's environment cannot be used."""


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def _read_call(request: Request, max_bytes: int) -> Any:
    """The action call's JSON, inflated within the same bound when Rasa compresses it."""
    body = request.body or b""
    if request.headers.get("Content-Encoding") == "deflate":
        inflater = zlib.decompressobj()
        body = inflater.decompress(body, max_bytes + 1)
        if len(body) > max_bytes or inflater.unconsumed_tail:
            raise SanicException("too large", status_code=413)
    return json.loads(body)


class ActionMetrics:
    """Latency and failures per action, in a registry of this app (one per process in production)."""

    def __init__(self, action_names: list[str]) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.known = frozenset(action_names)
        self.seconds = Histogram(
            "gru_action_seconds",
            "Time to run one custom action, per action.",
            ["action"],
            buckets=ACTION_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "gru_action_errors",
            "Actions that raised (answered 500 to Rasa), per action.",
            ["action"],
            registry=self.registry,
        )
        for action in sorted(self.known | {UNKNOWN_ACTION}):  # every series from the start: a 0, not a gap
            self.seconds.labels(action)
            self.errors.labels(action)

    def label(self, name: str) -> str:
        return name if name in self.known else UNKNOWN_ACTION

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def create_app(
    secret: str,
    actions: Union[str, types.ModuleType] = "actions",
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    name: str = "gru_actions",
) -> Sanic:
    """rasa-sdk's action webhook behind a shared secret, with short error answers."""
    if len(secret) < MIN_SECRET_CHARS:
        raise ConfigError(f"GRU_ACTION_SECRET doit compter au moins {MIN_SECRET_CHARS} caractères.")
    expected = secret.encode("utf-8")
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = max_body_bytes
    app.config.FALLBACK_ERROR_FORMAT = "json"

    executor = ActionExecutor()
    executor.register_package(actions)
    metrics = ActionMetrics(list(executor.actions))

    @app.on_request
    async def require_secret(request: Request):
        if request.path in PUBLIC_PATHS:
            return None
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            return _error(401, "unauthorized")
        return None

    @app.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.post("/webhook")
    async def webhook(request: Request) -> HTTPResponse:
        try:
            action_call = _read_call(request, max_body_bytes)
        except (ValueError, zlib.error):
            return _error(400, "invalid body")
        if not isinstance(action_call, dict) or not isinstance(action_call.get("tracker"), dict):
            return _error(400, "invalid body")
        sdk_utils.check_version_compatibility(action_call.get("version"))
        name = str(action_call.get("next_action"))
        label = metrics.label(name)
        started = time.perf_counter()
        try:
            result = await executor.run(action_call)
        except ActionExecutionRejection as exc:
            # Rasa reads this 400 body to let the policies pick another action.
            return response.json({"error": exc.message, "action_name": exc.action_name}, status=400)
        except ActionNotFoundException:
            logger.error("Unknown action %s", name[:100])
            return response.json({"error": "action not found", "action_name": name[:100]}, status=404)
        except Exception:
            # The traceback goes to our log; neither the tracker nor the exception's
            # text goes back to Rasa, which would log it as is.
            logger.exception("Action %s failed", name[:100])
            metrics.errors.labels(label).inc()
            return _error(500, "action failed")
        finally:
            metrics.seconds.labels(label).observe(time.perf_counter() - started)
        return response.json(result)

    @app.get("/metrics")
    async def scrape(_request: Request) -> HTTPResponse:
        return response.raw(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.get("/actions")
    async def list_actions(_request: Request) -> HTTPResponse:
        return response.json([{"name": key} for key in executor.actions])

    @app.exception(SanicException)
    async def http_error(_request: Request, exc: SanicException) -> HTTPResponse:
        status = getattr(exc, "status_code", 500) or 500
        return _error(status, "request refused" if status < 500 else "server error")

    @app.exception(Exception)
    async def server_error(request: Request, exc: Exception) -> HTTPResponse:
        logger.error("Error while answering %s %s", request.method, request.path, exc_info=exc)
        return _error(500, "server error")

    return app


def settings(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(host, secret) from the environment; refuses to run open."""
    env = os.environ if env is None else env
    secret = env.get("GRU_ACTION_SECRET") or ""
    if not secret:
        raise ConfigError(
            "GRU_ACTION_SECRET n'est pas défini : le serveur d'actions refuse de démarrer sans secret "
            "partagé avec Rasa (make run en génère un à chaque démarrage)."
        )
    if len(secret) < MIN_SECRET_CHARS:
        raise ConfigError(f"GRU_ACTION_SECRET doit compter au moins {MIN_SECRET_CHARS} caractères.")
    return env.get("GRU_ACTION_HOST") or DEFAULT_HOST, secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serveur d'actions de l'assistant (fermé par un secret).")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTION_PORT", DEFAULT_PORT)))
    parser.add_argument("--actions", default="actions", help="package des actions (défaut : actions)")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    os.umask(0o077)  # the SQLite files the actions create are the operator's only
    try:
        host, secret = settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    sdk_utils.configure_colored_logging(args.log_level)
    sdk_utils.update_sanic_log_level()
    app = create_app(secret, args.actions)
    logger.info("Action server on http://%s:%s", host, args.port)
    app.run(host=host, port=args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
