import stat

import pytest
import yaml

from ops.render import (
    ACTION_SECRET_HEADER,
    ROOT,
    TRACKER_STORE,
    ConfigError,
    credentials,
    endpoints,
    lock_store_config,
    tracker_store_config,
    write,
)

SECRET = {"GRU_ACTION_SECRET": "a-secret-of-the-tests-0123"}


def test_defaults_are_embedded():
    config = endpoints(SECRET)
    assert config["tracker_store"] == {"type": TRACKER_STORE, "dialect": "sqlite", "db": "var/rasa.db"}
    assert "lock_store" not in config
    assert config["action_endpoint"]["url"] == "http://localhost:5055/webhook"
    assert set(credentials({})) == {
        "channels.rest.GuardedRestInput",
        "channels.calendar.CalendarInput",
        "channels.alerts.AlertsInput",
        "channels.socketio.GuardedSocketIOInput",
        "channels.uploads.UploadsInput",
        "channels.reminders.RemindersInput",
        "channels.metrics.MetricsInput",
    }
    socketio = credentials({})["channels.socketio.GuardedSocketIOInput"]
    assert socketio["session_persistence"] is True and socketio["socketio_path"] == "/socket.io"


def test_postgresql_tracker_store():
    config = tracker_store_config("postgresql://gru:s%40cret@db.internal:6543/rasa?login_db=postgres")
    assert config == {
        "type": TRACKER_STORE,
        "dialect": "postgresql",
        "url": "db.internal",
        "port": 6543,
        "db": "rasa",
        "username": "gru",
        "password": "s@cret",
        "login_db": "postgres",
    }


def test_redis_lock_store():
    config = lock_store_config("redis://:pw@cache:6380/2")
    assert config["type"] == "redis" and config["url"] == "cache" and config["port"] == 6380
    assert config["db"] == 2 and config["password"] == "pw" and config["use_ssl"] is False
    assert lock_store_config(None) is None


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://x/y", "schéma « mysql »"),
        ("postgresql://host-only", "hôte ou base manquant"),
        ("sqlite://", "chemin SQLite manquant"),
    ],
)
def test_bad_tracker_urls(url, message):
    with pytest.raises(ConfigError, match=message):
        tracker_store_config(url)


@pytest.mark.parametrize("url", ["memcached://x", "redis:///0", "redis://host/abc"])
def test_bad_lock_urls(url):
    with pytest.raises(ConfigError):
        lock_store_config(url)


def test_facebook_only_when_fully_configured():
    env = {"FACEBOOK_VERIFY_TOKEN": "v", "FACEBOOK_APP_SECRET": "s", "FACEBOOK_PAGE_ACCESS_TOKEN": "t"}
    assert credentials(env)["channels.facebook.GuardedFacebookInput"] == {
        "verify": "v",
        "secret": "s",
        "page-access-token": "t",
    }
    with pytest.raises(ConfigError, match="FACEBOOK_PAGE_ACCESS_TOKEN"):
        credentials({"FACEBOOK_VERIFY_TOKEN": "v", "FACEBOOK_APP_SECRET": "s"})


def test_written_files_are_private(tmp_path):
    files = write(tmp_path, {"GRU_LOCK_STORE_URL": "redis://localhost:6379/1", **SECRET})
    for path in files.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "lock_store" in files["endpoints"].read_text()


def test_rasa_sends_the_action_server_secret_in_a_header(tmp_path):
    files = write(tmp_path, SECRET)
    action = yaml.safe_load(files["endpoints"].read_text())["action_endpoint"]
    assert action["headers"] == {ACTION_SECRET_HEADER: SECRET["GRU_ACTION_SECRET"]}
    assert "token" not in action  # a header, not a query parameter that access logs would keep


def test_no_action_endpoint_without_a_secret():
    with pytest.raises(ConfigError, match="GRU_ACTION_SECRET"):
        endpoints({})


def test_the_repo_endpoints_take_the_secret_from_the_environment():
    # Unquoted, so that Rasa expands ${…} and refuses to start when it is unset.
    text = (ROOT / "endpoints.yml").read_text(encoding="utf-8")
    assert f"{ACTION_SECRET_HEADER}: ${{GRU_ACTION_SECRET}}" in text


def test_each_start_draws_a_secret_shared_by_both_processes(tmp_path):
    from ops import servers

    env = {"GRU_DATABASE_URL": f"sqlite:///{tmp_path / 'gru.db'}", "PATH": "/usr/bin"}
    first, files = servers.prepare(5055, env, tmp_path / "run1")
    second, _ = servers.prepare(5055, env, tmp_path / "run2")
    secret = first["GRU_ACTION_SECRET"]
    assert len(secret) >= 32 and secret != second["GRU_ACTION_SECRET"]
    rendered = yaml.safe_load(files["endpoints"].read_text())
    assert rendered["action_endpoint"]["headers"] == {ACTION_SECRET_HEADER: secret}
    given, _ = servers.prepare(5055, {**env, **SECRET}, tmp_path / "run3")
    assert given["GRU_ACTION_SECRET"] == SECRET["GRU_ACTION_SECRET"]


def test_servers_start_the_closed_action_server():
    from ops import servers

    assert servers.action_server_command(5055)[1:3] == ["-m", "ops.action_server"]


def test_the_tracker_store_is_the_redacting_one_and_rasa_can_load_it():
    # Rasa falls back to an in-memory store, silently, when the class cannot be imported.
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.utils.common import class_from_module_path

    store = class_from_module_path(endpoints(SECRET)["tracker_store"]["type"])
    assert issubclass(store, SQLTrackerStore) and store.__name__ == "RedactingSQLTrackerStore"
