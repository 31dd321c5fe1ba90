import stat

import pytest

from ops.render import ConfigError, credentials, endpoints, lock_store_config, tracker_store_config, write


def test_defaults_are_embedded():
    config = endpoints({})
    assert config["tracker_store"] == {"type": "SQL", "dialect": "sqlite", "db": "var/rasa.db"}
    assert "lock_store" not in config
    assert config["action_endpoint"]["url"] == "http://localhost:5055/webhook"
    assert set(credentials({})) == {
        "channels.rest.GuardedRestInput",
        "channels.calendar.CalendarInput",
        "channels.socketio.GuardedSocketIOInput",
    }
    socketio = credentials({})["channels.socketio.GuardedSocketIOInput"]
    assert socketio["session_persistence"] is True and socketio["socketio_path"] == "/socket.io"


def test_postgresql_tracker_store():
    config = tracker_store_config("postgresql://gru:s%40cret@db.internal:6543/rasa?login_db=postgres")
    assert config == {
        "type": "SQL",
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
    files = write(tmp_path, {"GRU_LOCK_STORE_URL": "redis://localhost:6379/1"})
    for path in files.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "lock_store" in files["endpoints"].read_text()
