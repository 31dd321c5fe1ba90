"""Personal data stays out of error logs, and the SQLite files are the operator's only."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import traceback
import warnings

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.db import create_engine
from ops import servers
from ops.render import ROOT

SURNAME = "Dupont-Martinez"
APPLICATION_ID = "AB12CD34EF"
SENDER = "citizen-5f1c2b"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_integrity_error_carries_no_bound_value(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'gru.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bookings (application_id TEXT UNIQUE, surname TEXT, sender TEXT)"))
        row = {"a": APPLICATION_ID, "s": SURNAME, "c": SENDER}
        insert = text("INSERT INTO bookings VALUES (:a, :s, :c)")
        conn.execute(insert, row)
        with pytest.raises(IntegrityError) as caught:
            conn.execute(insert, row)
    logged = str(caught.value) + "".join(traceback.format_exception(caught.value))
    assert "UNIQUE constraint failed" in logged
    for value in (SURNAME, APPLICATION_ID, SENDER):
        assert value not in logged
    engine.dispose()


def test_postgresql_engines_hide_parameters_too():
    pytest.importorskip("psycopg2")
    engine = create_engine("postgresql://gru:pw@127.0.0.1:1/gru")  # no connection is made
    assert engine.hide_parameters is True


def test_sqlite_file_and_its_new_folder_are_private(tmp_path):
    path = tmp_path / "var" / "gru.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # WAL mode: the -wal and -shm files appear
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        conn.execute(text("INSERT INTO t VALUES ('x')"))
        assert mode(path.parent) == 0o700
        for created in path.parent.iterdir():
            assert mode(created) == 0o600, created.name
    engine.dispose()


def test_an_existing_world_readable_sqlite_file_is_tightened(tmp_path):
    path = tmp_path / "gru.db"
    path.touch()
    path.chmod(0o644)
    create_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


def test_var_is_private_after_prepare(tmp_path):
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var").chmod(0o755)
    env = {"GRU_DATABASE_URL": f"sqlite:///{tmp_path / 'app' / 'gru.db'}", "PATH": "/usr/bin"}
    servers.prepare(5055, env, tmp_path / "run")
    assert mode(ROOT / "var") == 0o700
    assert mode(tmp_path / "app" / "gru.db") == 0o600


def test_children_start_with_a_private_umask(tmp_path, monkeypatch):
    started = []

    def fake_popen(command, **kwargs):
        started.append((command, kwargs))
        raise RuntimeError("not really")

    monkeypatch.setattr(servers.subprocess, "Popen", fake_popen)
    env = {"GRU_DATABASE_URL": f"sqlite:///{tmp_path / 'gru.db'}", "PATH": "/usr/bin"}
    with pytest.raises(RuntimeError, match="not really"):
        servers.start_stack(env=env, run_dir=tmp_path / "run")
    assert started and started[0][1]["umask"] == 0o077


def test_action_server_sets_a_private_umask(monkeypatch):
    from ops import action_server

    masks = []
    monkeypatch.setattr(action_server.os, "umask", masks.append)
    monkeypatch.delenv("GRU_ACTION_SECRET", raising=False)
    action_server.main(["--port", "1"])  # stops at the missing secret, after the umask
    assert masks == [0o077]


# Rasa logs with structlog; its default formatters print each frame's local variables
# (the tracker, the message, the sender id): Rich in a terminal, dict_tracebacks in JSON.
STRUCTLOG_PROBE = """
import logging, sys
import structlog
from rasa.utils.log_utils import configure_structlog
from ops.servers import quiet_structlog

configure_structlog(logging.INFO)
if sys.argv[1] == "quiet":
    quiet_structlog()

def handle(sender_id, message):
    surname = message.split()[-1]
    raise RuntimeError("the action failed")

try:
    handle("{sender}", "je suis {surname}")
except RuntimeError:
    structlog.get_logger().exception("rest.message.received.failure", text="je suis {surname}")
"""


@pytest.mark.parametrize("quiet", ["quiet", "as-rasa-does"])
def test_rasa_json_logs_show_no_locals_nor_message_text(quiet):
    probe = STRUCTLOG_PROBE.format(sender=SENDER, surname=SURNAME)
    result = subprocess.run(
        [sys.executable, "-c", probe, quiet],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(line for line in result.stdout.splitlines() if "rest.message.received.failure" in line)
    record = json.loads(line)
    assert "the action failed" in json.dumps(record["exception"])  # the traceback is still there
    leaked = SURNAME in line or SENDER in line
    if quiet == "quiet":
        assert not leaked, line
    else:
        assert leaked  # what Rasa's own settings write


def test_rasa_console_tracebacks_show_no_locals():
    import structlog

    servers.quiet_structlog()

    def handle(sender_id):
        surname = SURNAME  # noqa: F841 - a local variable the traceback must not print
        raise RuntimeError("the action failed")

    try:
        handle(SENDER)
    except RuntimeError:
        rendered = structlog.dev.ConsoleRenderer(colors=False)(
            None, "error", {"event": "failure", "exc_info": sys.exc_info()}
        )
    assert "the action failed" in rendered
    assert SURNAME not in rendered and SENDER not in rendered


def test_the_rasa_launcher_makes_rasa_quiet(monkeypatch):
    import rasa.__main__ as rasa_cli

    calls = []
    monkeypatch.setattr(rasa_cli, "configure_structlog", lambda *a, **k: calls.append("configured"))
    monkeypatch.setattr(servers, "quiet_structlog", lambda: calls.append("quiet"))
    monkeypatch.setattr(rasa_cli, "main", lambda: rasa_cli.configure_structlog(logging.INFO))
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    servers.run_rasa(["run", "--port", "1"])
    assert calls == ["configured", "quiet"] and sys.argv == ["rasa", "run", "--port", "1"]
    assert servers.rasa_command("run")[1:5] == ["-m", "ops.servers", "rasa", "run"]


def test_a_forged_payload_is_not_quoted_in_rasas_warnings(monkeypatch):
    """Rasa's regex reader warns with the whole `/intent{…}` text when it cannot read the
    entities; the launcher drops that warning (the message itself is still understood)."""
    import rasa.__main__ as rasa_cli
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.training_data.message import Message
    from rasa.utils.common import _filter_warnings

    domain = Domain.load(str(ROOT / "domain"))
    forged = '/inform{"surname": "' + SURNAME + '", "evil_key": 1}'

    def parse():
        return YAMLStoryReader.unpack_regex_message(Message(data={"text": forged}), domain)

    with warnings.catch_warnings(record=True) as before:
        warnings.simplefilter("always")
        parse()
    assert any(SURNAME in str(w.message) for w in before)  # what Rasa does on its own

    def rasa_main():  # what Rasa's main does first: its warning filters, then structlog
        _filter_warnings(logging.INFO, warn_only_once=True)
        rasa_cli.configure_structlog(logging.INFO)

    monkeypatch.setattr(rasa_cli, "configure_structlog", lambda *a, **k: None)
    monkeypatch.setattr(servers, "quiet_structlog", lambda: None)
    monkeypatch.setattr(rasa_cli, "main", rasa_main)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    with warnings.catch_warnings(record=True) as after:
        warnings.simplefilter("always")
        servers.run_rasa(["run"])
        message = parse()
    assert [str(w.message) for w in after if SURNAME in str(w.message)] == []
    assert message.get("intent", {}).get("name") == "inform"


@pytest.fixture
def root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_action_servers_log_of_a_failure_has_no_locals(caplog, root_logging):
    from rasa_sdk import utils as sdk_utils

    sdk_utils.configure_colored_logging("INFO")  # what the action server installs
    log = logging.getLogger("ops.action_server")

    def run_action(sender_id):
        surname = SURNAME  # noqa: F841
        raise RuntimeError("the action failed")

    try:
        run_action(SENDER)
    except RuntimeError:
        log.exception("Action %s failed", "action_test")
    formatted = "\n".join(
        handler.format(record) for record in caplog.records for handler in root_logging.handlers
    )
    assert "the action failed" in formatted
    assert SURNAME not in formatted and SENDER not in formatted
