"""Prometheus metrics of the Rasa process: turn latency and failed turns per channel.

Our input channels (REST, socketio, Messenger) wrap the `on_new_message` Rasa gives their
blueprint with `timed()`: the time of one turn is measured where the citizen's message is
handed to Rasa (NLU, policies, actions, answers sent) and a turn whose handling raised
(or was cancelled on a timeout) counts as an error. Labels are the channel's name only:
no sender id, no text, nothing a citizen typed.

`MetricsInput`, registered in credentials.yml like the other channels, serves them in
Prometheus' text format at GET /webhooks/metrics/ (answers no message). Each Rasa replica
counts its own turns: Prometheus scrapes every replica on its own port; nginx refuses the
path to everyone (deploy/nginx/site.conf.j2), since through the proxy a scrape would land
on any replica.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

# One registry per process (not prometheus_client's global one, which tests and other
# modules may fill): the channels' figures and the process' CPU and memory.
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

# A turn takes 0.1–0.5 s for the NLU and the policies, seconds when an action calls a
# back-office, up to the lock wait (TICKET_LOCK_LIFETIME, 60 s) when a replica died mid-turn.
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)
CHANNELS = ("rest", "socketio", "facebook")

TURN_SECONDS = Histogram(
    "gru_turn_seconds",
    "Time from a citizen's message handed to Rasa to the end of the turn, per channel.",
    ["channel"],
    buckets=TURN_BUCKETS,
    registry=REGISTRY,
)
TURN_ERRORS = Counter(
    "gru_turn_errors",
    "Turns whose handling raised or timed out (the citizen got no full answer), per channel.",
    ["channel"],
    registry=REGISTRY,
)
for _channel in CHANNELS:  # every series exists from the start: rate() and alerts see a 0
    TURN_SECONDS.labels(_channel)
    TURN_ERRORS.labels(_channel)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def timed(channel: str, on_new_message: OnNewMessage) -> OnNewMessage:
    """`on_new_message` that records the turn's duration and its failure under `channel`."""
    histogram, errors = TURN_SECONDS.labels(channel), TURN_ERRORS.labels(channel)

    async def handler(message: UserMessage) -> Any:
        started = time.perf_counter()
        try:
            return await on_new_message(message)
        except BaseException:  # CancelledError too: the channel's timeout cut the turn
            errors.inc()
            raise
        finally:
            histogram.observe(time.perf_counter() - started)

    return handler


def exposition() -> bytes:
    return generate_latest(REGISTRY)


class MetricsInput(InputChannel):
    """GET /webhooks/metrics/: this replica's figures in Prometheus' text format."""

    @classmethod
    def name(cls) -> str:
        return "metrics"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        metrics = Blueprint("gru_metrics", __name__)

        @metrics.route("/", methods=["GET"])
        async def scrape(_: Request) -> HTTPResponse:
            return response.raw(exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        return metrics
