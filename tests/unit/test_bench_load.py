"""ops/loadtest.py's count of failed requests by kind, from locust's failures.csv (no locust run).

The messages are those a smoke run of bench/locust/locustfile.py wrote against a fake webhook
(an empty list, non-JSON, HTTP 502, a closed or reset connection, a late answer, a closed port).
"""

from __future__ import annotations

import pytest

from ops import loadtest


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("CatchResponseError('HTTP 502')", "HTTP 502"),
        ("CatchResponseError('HTTP 504')", "HTTP 504"),
        ("HTTP 429", "HTTP 429"),
        ("CatchResponseError('no answer')", "no answer"),
        ("CatchResponseError('not JSON')", "not JSON"),
        ("RetriesExceeded('http://127.0.0.1:8000/webhooks/rest/webhook', 0, original=timed out)", "timeout"),
        ("timeout('timed out')", "timeout"),
        ("Timeout(60.0)", "timeout"),
        ("ConnectionRefusedError(111, 'Connection refused')", "connection refused"),
        ("ConnectionResetError(104, 'Connection reset by peer')", "connection reset"),
        # geventhttpclient's word for a connection closed or reset before the answer.
        ("HTTPConnectionClosed('connection closed.')", "connection reset"),
        ("BrokenPipeError(32, 'Broken pipe')", "connection reset"),
        ("SSLError('wrong version number')", "other"),
    ],
)
def test_each_failure_message_has_its_kind(message, kind):
    assert loadtest.error_kind(message) == kind


def test_failures_are_counted_by_kind_over_every_step(tmp_path):
    (tmp_path / "run_failures.csv").write_text(
        "Method,Name,Error,Occurrences,First Seen,Last Seen\n"
        "POST,faq 1,CatchResponseError('HTTP 502'),3,2026-12-01T10:00:00Z,2026-12-01T10:01:00Z\n"
        "POST,booking 1: ask,CatchResponseError('HTTP 502'),2,2026-12-01T10:00:00Z,2026-12-01T10:01:00Z\n"
        "POST,faq 2,\"RetriesExceeded('http://127.0.0.1:8000/webhooks/rest/webhook', 0, "
        'original=timed out)",30,2026-12-01T10:00:00Z,2026-12-01T10:01:00Z\n'
        "POST,faq 3,CatchResponseError('no answer'),1,2026-12-01T10:00:00Z,2026-12-01T10:00:00Z\n",
        encoding="utf-8",
    )
    kinds = loadtest.read_failures(tmp_path / "run")
    assert list(kinds) == ["timeout", "HTTP 502", "no answer"]  # the most frequent first
    assert kinds["HTTP 502"] == {"count": 5, "example": "CatchResponseError('HTTP 502')"}
    assert kinds["timeout"]["count"] == 30
    assert loadtest.kinds_text(kinds) == "timeout 30, HTTP 502 5, no answer 1"


def test_no_failures_file_means_no_error_kinds(tmp_path):
    assert loadtest.read_failures(tmp_path / "run") == {}
    assert loadtest.kinds_text({}) == "none"
