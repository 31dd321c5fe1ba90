"""The logging filter that keeps citizens' words and identifiers out of the Rasa server's logs."""

import io
import json
import logging

import pytest

from channels import log_privacy
from channels.log_privacy import REDACTED, PrivacyFilter, describe_error, redact


@pytest.mark.parametrize(
    "line, secret",
    [
        # Rasa's REST channel on failure (structlog, JSON and console renderers)
        ('{"text": "je suis Jeanne Testeuse", "event": "rest.message.received.failure"}', "Jeanne"),
        ("rest.message.received.failure text='je suis Jeanne Testeuse'", "Jeanne"),
        ('{"sender_id": "citizen-42", "event": "x"}', "citizen-42"),
        ("{'text': 'ma mère ne peut plus vivre seule', 'intent': None}", "ma mère"),
        ("Received user message 'ma mère ne peut plus vivre seule' with intent 'x'", "ma mère"),
        ("Starting a new session for conversation ID 'citizen-42'.", "citizen-42"),
        ("contact: jeanne.testeuse@example.fr", "jeanne.testeuse@example.fr"),
        ("appelez le 06 12 34 56 78", "06 12 34 56 78"),
        ("appelez le 0612345678", "0612345678"),
        ("appelez le +33 6 12 34 56 78", "6 12 34 56 78"),
        ("booking RDV-AB12CD failed", "RDV-AB12CD"),
        ("suivi DEM-2024-00042", "DEM-2024-00042"),
        ("subvention SUB-7781", "SUB-7781"),
        ("ANTS status for Q7W8E9R2T4 timed out", "Q7W8E9R2T4"),
    ],
)
def test_personal_data_is_masked(line, secret):
    masked = redact(line)
    assert secret not in masked and REDACTED in masked


@pytest.mark.parametrize(
    "line",
    [
        "Rasa server is up and running.",
        "Starting Rasa server on http://0.0.0.0:5005",
        "connection closed after 12.5 s",  # ten-letter words stay
        "Loading model models/20240101-120000-brisk-pass.tar.gz",
    ],
)
def test_ordinary_lines_stay_readable(line):
    assert redact(line) == line


def test_json_lines_stay_json():
    line = json.dumps({"text": 'il a dit "bonjour"', "event": "x", "level": "error"})
    assert json.loads(redact(line)) == {"text": REDACTED, "event": "x", "level": "error"}


def _capture(logger_name: str, *args, exc_info=None) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate, old_propagate = False, logger.propagate
    try:
        logger.error(*args, exc_info=exc_info)
    finally:
        logger.removeHandler(handler)
        logger.propagate = old_propagate
    return stream.getvalue()


def test_installed_filter_masks_rasa_and_sanic_records_and_tracebacks():
    log_privacy.install()
    log_privacy.install()  # idempotent
    out = _capture("rasa.core.channels.rest", "failure text='%s'", "rdv pour jeanne@example.fr")
    assert "jeanne@example.fr" not in out and "rdv pour" not in out
    try:
        raise ValueError("bad phone 0612345678 for RDV-AB12CD")
    except ValueError as exc:
        out = _capture("sanic.error", "handler failed", exc_info=exc)
    assert "ValueError" in out and "0612345678" not in out and "RDV-AB12CD" not in out


def test_other_loggers_are_left_alone():
    record = logging.LogRecord("actions.booking", logging.INFO, __file__, 1, "ref RDV-AB12CD", (), None)
    assert PrivacyFilter().filter(record) and record.getMessage() == "ref RDV-AB12CD"


def test_describe_error_names_the_place_not_the_message():
    try:
        raise KeyError("jeanne@example.fr")
    except KeyError as exc:
        description = describe_error(exc)
    assert description.startswith("KeyError at test_channels_privacy.py:") and "jeanne" not in description
