"""Render Rasa's endpoints and credentials files from environment variables.

Rasa's own `${VAR}` expansion fails when a variable is unset, so the optional parts
(PostgreSQL tracker store, Redis lock store, Facebook channel) are added here only
when configured, and the embedded defaults (SQLite, in-memory lock) apply otherwise.
Secrets never go in the repo: the rendered files live in `.run/`, ignored by git.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TRACKER_URL = "sqlite:///var/rasa.db"
DEFAULT_ACTION_URL = "http://localhost:5055/webhook"
# Rasa sends the shared secret of the action server (ops/action_server.py) in this header.
ACTION_SECRET_HEADER = "X-Gru-Action-Secret"
REST_CHANNEL = "channels.rest.GuardedRestInput"  # Rasa's REST channel with input checks
FACEBOOK_CHANNEL = "channels.facebook.GuardedFacebookInput"  # Messenger, same URL as Rasa's channel
CALENDAR_CHANNEL = "channels.calendar.CalendarInput"  # serves the waste calendar (.ics), no messages
ALERTS_CHANNEL = "channels.alerts.AlertsInput"  # crisis alerts: e-mail links, inbound SMS, broadcast
SOCKETIO_CHANNEL = "channels.socketio.GuardedSocketIOInput"  # Rasa's socketio, size limits, room fix
UPLOADS_CHANNEL = "channels.uploads.UploadsInput"  # the webchat's photo upload for a report, no messages
REMINDERS_CHANNEL = "channels.reminders.RemindersInput"  # the opt-out link of appointment reminders
METRICS_CHANNEL = "channels.metrics.MetricsInput"  # Prometheus figures of this replica, no messages
# Rasa's SQL tracker store that masks welfare details and erases a conversation on request.
TRACKER_STORE = "channels.tracker_store.RedactingSQLTrackerStore"
FACEBOOK_VARS = ("FACEBOOK_VERIFY_TOKEN", "FACEBOOK_APP_SECRET", "FACEBOOK_PAGE_ACCESS_TOKEN")


class ConfigError(ValueError):
    """An environment variable has a value that cannot be used."""


def tracker_store_config(url: str) -> Dict[str, Any]:
    """`sqlite:///path` or `postgresql://user:pass@host:port/db[?login_db=postgres]` -> SQL tracker store.

    `login_db` (optional) is the database Rasa first connects to in order to create `db`
    when it does not exist yet; leave it out when the DBA creates the database.
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise ConfigError("GRU_TRACKER_STORE_URL : chemin SQLite manquant (sqlite:///var/rasa.db)")
        return {"type": TRACKER_STORE, "dialect": "sqlite", "db": path}
    if parts.scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
        database = parts.path.lstrip("/")
        if not parts.hostname or not database:
            raise ConfigError(
                "GRU_TRACKER_STORE_URL : hôte ou base manquant (postgresql://user:pass@host:5432/db)"
            )
        config: Dict[str, Any] = {
            "type": TRACKER_STORE,
            "dialect": "postgresql",
            "url": parts.hostname,
            "port": parts.port or 5432,
            "db": database,
        }
        if parts.username:
            config["username"] = unquote(parts.username)
        if parts.password:
            config["password"] = unquote(parts.password)
        login_db = parse_qs(parts.query).get("login_db")
        if login_db:
            config["login_db"] = login_db[0]
        return config
    raise ConfigError(f"GRU_TRACKER_STORE_URL : schéma « {parts.scheme} » non géré (sqlite ou postgresql)")


def lock_store_config(url: str | None) -> Dict[str, Any] | None:
    """`redis://[:password@]host[:port][/db]` -> Rasa Redis lock store; None = in memory."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigError(f"GRU_LOCK_STORE_URL : schéma « {parts.scheme} » non géré (redis://hôte:6379/0)")
    if not parts.hostname:
        raise ConfigError("GRU_LOCK_STORE_URL : hôte manquant")
    db = parts.path.lstrip("/") or "0"
    if not db.isdigit():
        raise ConfigError("GRU_LOCK_STORE_URL : le numéro de base Redis doit être un entier")
    config: Dict[str, Any] = {
        "type": "redis",
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(db),
        "key_prefix": "gru",
        "use_ssl": parts.scheme == "rediss",
    }
    if parts.password:
        config["password"] = unquote(parts.password)
    return config


def endpoints(env: Mapping[str, str]) -> Dict[str, Any]:
    secret = env.get("GRU_ACTION_SECRET")
    if not secret:
        raise ConfigError("GRU_ACTION_SECRET : secret partagé avec le serveur d'actions manquant")
    config: Dict[str, Any] = {
        "action_endpoint": {
            "url": env.get("GRU_ACTION_SERVER_URL") or DEFAULT_ACTION_URL,
            "headers": {ACTION_SECRET_HEADER: secret},
        },
        "tracker_store": tracker_store_config(env.get("GRU_TRACKER_STORE_URL") or DEFAULT_TRACKER_URL),
    }
    lock = lock_store_config(env.get("GRU_LOCK_STORE_URL"))
    if lock:
        config["lock_store"] = lock
    return config


def credentials(env: Mapping[str, str]) -> Dict[str, Any]:
    config: Dict[str, Any] = {
        REST_CHANNEL: None,
        CALENDAR_CHANNEL: None,
        ALERTS_CHANNEL: None,
        UPLOADS_CHANNEL: None,
        REMINDERS_CHANNEL: None,
        METRICS_CHANNEL: None,
        SOCKETIO_CHANNEL: {
            "user_message_evt": "user_uttered",
            "bot_message_evt": "bot_uttered",
            "session_persistence": True,
            "socketio_path": "/socket.io",
        },
    }
    present = [name for name in FACEBOOK_VARS if env.get(name)]
    if present and len(present) != len(FACEBOOK_VARS):
        missing = ", ".join(name for name in FACEBOOK_VARS if name not in present)
        raise ConfigError(f"Facebook Messenger : variables manquantes ({missing})")
    if present:
        config[FACEBOOK_CHANNEL] = {
            "verify": env["FACEBOOK_VERIFY_TOKEN"],
            "secret": env["FACEBOOK_APP_SECRET"],
            "page-access-token": env["FACEBOOK_PAGE_ACCESS_TOKEN"],
        }
    return config


def write(out_dir: Path, env: Mapping[str, str] | None = None) -> Dict[str, Path]:
    """Write endpoints.yml and credentials.yml into `out_dir` (mode 600: they may hold secrets)."""
    env = os.environ if env is None else env
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"endpoints": out_dir / "endpoints.yml", "credentials": out_dir / "credentials.yml"}
    for key, content in (("endpoints", endpoints(env)), ("credentials", credentials(env))):
        path = files[key]
        path.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True), encoding="utf-8")
        path.chmod(0o600)
    return files


if __name__ == "__main__":
    for name, path in write(ROOT / ".run").items():
        print(f"{name}: {path}")
