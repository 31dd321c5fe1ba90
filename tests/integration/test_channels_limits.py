"""Safe to put on the internet: the size limits of the channels on the running assistant,
and the Rasa server's memory when a client sends a huge request."""

from __future__ import annotations

import json
import uuid

import psutil
import pytest

from channels.limits import (
    BODY_TOO_LARGE,
    MAX_BODY_BYTES,
    MAX_MESSAGE_CHARS,
    MESSAGE_TOO_LONG,
    METADATA_TOO_LARGE,
)
from tests.integration.test_server import post as http_post
from tests.integration.test_server import say

pytestmark = pytest.mark.integration


def rasa_rss(stack) -> int:
    """Resident memory of the Rasa server process (started after the action server)."""
    (rasa,) = [p for p in stack.processes if "--model" in p.args]
    return psutil.Process(rasa.pid).memory_info().rss


def rest(stack, body: bytes):
    """(status, the French message of a refusal, or the raw answer)."""
    status, response = http_post(f"{stack.url}/webhooks/rest/webhook", body)
    try:
        answer = json.loads(response)
    except ValueError:
        return status, response.decode("utf-8", "replace")
    return status, answer.get("message", response.decode()) if isinstance(answer, dict) else answer


def test_rest_body_over_the_limit_is_refused_before_it_is_read(stack):
    before = rasa_rss(stack)
    padding = "x" * (MAX_BODY_BYTES + 1)
    status, response = rest(stack, json.dumps({"sender": "x", "message": "Bonjour", "pad": padding}).encode())
    assert status == 413 and BODY_TOO_LARGE in response
    status, response = rest(stack, b'{"sender": "x", "message": "' + b"x" * 20_000_000 + b'"}')
    assert status == 413 and BODY_TOO_LARGE in response
    assert rasa_rss(stack) - before < 100 * 2**20
    assert say(stack, f"after-{uuid.uuid4()}", "Bonjour")


def test_rest_message_and_metadata_over_their_limits_get_a_french_413(stack):
    sender = f"limits-{uuid.uuid4()}"
    long = json.dumps({"sender": sender, "message": "a" * (MAX_MESSAGE_CHARS + 1)}).encode()
    status, response = rest(stack, long)
    assert status == 413 and MESSAGE_TOO_LONG in response
    heavy = json.dumps({"sender": sender, "message": "Bonjour", "metadata": {"blob": "x" * 5_000}}).encode()
    status, response = rest(stack, heavy)
    assert status == 413 and METADATA_TOO_LARGE in response
    light = json.dumps({"sender": sender, "message": "Bonjour", "metadata": {"lang": "fr"}}).encode()
    assert rest(stack, light)[0] == 200
