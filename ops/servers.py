"""Start and stop the action server and the Rasa server as child processes.

Used by `make run` (python -m ops.run), by the integration tests and by the
benchmark, so all three start the assistant exactly the same way.

The children run with umask 077 (the SQLite files and logs they create are the
operator's only). The action server (ops/action_server.py) and Rasa share a secret,
GRU_ACTION_SECRET, drawn at random per start when the environment has none. Rasa is
started as `python -m ops.servers rasa …`: Rasa's CLI with log settings that keep
personal data out of its logs (see `quiet_structlog`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, Iterator, List, Mapping, Sequence
from urllib.parse import urlsplit

from core.signing import persistent_secret
from ops import render

logger = logging.getLogger(__name__)

ROOT = render.ROOT
BIN = Path(sys.executable).parent
PRIVATE_UMASK = 0o077
# The event keys Rasa's own log anonymizer covers (rasa.utils.log_utils._anonymizer, a
# hook only Rasa Pro fills): message texts, slots, entities, events. Masked here.
PERSONAL_LOG_KEYS = frozenset(
    {
        "text",
        "response_text",
        "user_text",
        "slot_values",
        "parse_data_text",
        "parse_data_entities",
        "prediction_events",
        "tracker_latest_message",
        "prefilled_slots",
        "message",
        "response",
        "slot_candidates",
        "rasa_event",
        "rasa_events",
        "tracker_states",
        "current_states",
        "old_states",
        "successes",
        "current_entity",
        "next_entity",
        "states",
        "entity",
        "token_text",
        "user_message",
        "json_message",
    }
)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files and folders created inside are readable by their owner only."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def _mask_personal(_logger: Any, _method: str, event_dict: Dict[str, Any]) -> Dict[str, Any]:
    for key in PERSONAL_LOG_KEYS & event_dict.keys():
        event_dict[key] = "***"
    return event_dict


def quiet_structlog() -> None:
    """Rasa's structlog output without local variables in tracebacks nor message texts.

    Rasa renders tracebacks with structlog's defaults, which print every frame's local
    variables (Rich in a terminal, dict_tracebacks in JSON): the tracker, the message,
    the sender id. Both formatters are switched to show_locals=False, and a first
    processor masks PERSONAL_LOG_KEYS (e.g. the REST channel logs the message text when
    handling it fails).
    """
    import structlog

    structlog.dev.rich_traceback.show_locals = False
    structlog.processors.dict_tracebacks.format_exception.show_locals = False
    processors = list(structlog.get_config()["processors"])
    if _mask_personal not in processors:
        structlog.configure(processors=[_mask_personal, *processors])


# Rasa warns when a `/intent{…}` message has entities it cannot read, quoting the whole message
# (rasa/shared/core/training_data/story_reader/yaml_story_reader.py): a forged payload such as
# `/inform{"surname": "Dupont"}` would put a surname in the log. The message is still handled,
# without those entities; only the warning goes (tests/integration/test_log_privacy.py).
QUOTING_WARNINGS = (r"Failed to parse arguments in line",)


def silence_quoting_warnings() -> None:
    """Drop the warnings of Rasa that quote a citizen's message."""
    for pattern in QUOTING_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern, category=UserWarning)


def run_rasa(argv: List[str]) -> None:
    """Rasa's command line (`rasa run …`), with `quiet_structlog` and without the warnings that
    quote messages, once Rasa has set up its logs and warnings (its own filters, added later,
    would take precedence)."""
    # TensorFlow 2.12's tf.lite imports JAX when it is installed (the tensorflow package
    # requires it; only tf.lite's converter would use it, never Rasa): profiled at 0.5 s and
    # about 100 MB of the Rasa process. A None entry in sys.modules makes `import jax` raise
    # ImportError, which tf.lite expects and handles.
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]
    import rasa.__main__ as rasa_cli

    configure = rasa_cli.configure_structlog

    def configure_quietly(*args: Any, **kwargs: Any) -> None:
        configure(*args, **kwargs)
        quiet_structlog()
        silence_quoting_warnings()

    rasa_cli.configure_structlog = configure_quietly
    sys.argv = ["rasa", *argv]
    rasa_cli.main()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of asking (for servers started by tests and benches)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> float:
    """Poll `url` until it answers 200; return the seconds it took. Fails fast if `proc` dies."""
    start = time.monotonic()
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.5)


@dataclass
class Stack:
    rasa_port: int
    action_port: int
    processes: List[subprocess.Popen] = field(default_factory=list)
    startup_seconds: float = 0.0
    # From Rasa's start until its "/" answered (`make bench`); startup_seconds covers both servers.
    rasa_startup_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM every process group, then SIGKILL what is left."""
        for proc in self.processes:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for proc in self.processes:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()


def prepare(
    action_port: int, env: Mapping[str, str] | None = None, run_dir: Path | None = None
) -> tuple[Dict[str, str], Dict[str, Path]]:
    """The child processes' environment, and Rasa's config files rendered from it."""
    full_env: Dict[str, str] = dict(os.environ if env is None else env)
    full_env.setdefault("GRU_ACTION_SERVER_URL", f"http://127.0.0.1:{action_port}/webhook")
    if not full_env.get("GRU_ACTION_SECRET"):
        # Rasa gets it in .run/endpoints.yml, the action server in its environment.
        full_env["GRU_ACTION_SECRET"] = secrets.token_urlsafe(32)
    if not full_env.get("GRU_ATTEMPTS_SECRET"):
        # Keys the hashes of the failed-attempts table: kept across restarts so that a lock
        # survives them (a per-process secret would give a script new tries at each restart).
        full_env["GRU_ATTEMPTS_SECRET"] = persistent_secret(ROOT / "var" / "attempts.key")
    if not full_env.get("GRU_LINKS_SECRET"):
        # Signs the appointment links (booking/links.py): the pages check links that the action
        # server made, and links sent before a restart keep working.
        full_env["GRU_LINKS_SECRET"] = persistent_secret(ROOT / "var" / "links.key")
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    full_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # The Rasa server imports channels/ and the action server actions/ from the repo.
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), full_env.get("PYTHONPATH")) if p)
    with private_umask():
        files = render.write(run_dir or ROOT / ".run", full_env)
        var = ROOT / "var"
        var.mkdir(mode=0o700, exist_ok=True)
        var.chmod(0o700)  # also when an older version created it world-readable
        # The booking database: created or migrated, then the booking file's sites copied in.
        from booking.seed import prepare_database

        prepare_database(full_env.get("GRU_DATABASE_URL") or None)
    check_booking_backend(full_env)
    return full_env, files


def check_booking_backend(env: Mapping[str, str]) -> None:
    """The agenda of the appointments (booking/connector.py) is configured: a clear error at start,
    not at the first citizen's booking."""
    from booking.connector import booking_backend

    try:
        booking_backend(env=env)
    except ValueError as exc:
        raise render.ConfigError(f"agenda des rendez-vous (GRU_BOOKING_BACKEND) : {exc}") from None


def action_server_command(action_port: int) -> List[str]:
    """The action server closed by GRU_ACTION_SECRET, on GRU_ACTION_HOST (127.0.0.1 by default)."""
    return [
        str(BIN / "python"),
        "-m",
        "ops.action_server",
        "--actions",
        "actions",
        "--port",
        str(action_port),
    ]


def rasa_api_args(env: Mapping[str, str]) -> List[str]:
    """Rasa's HTTP API, for the agent console (handoff/console.py), only with a token:
    GRU_RASA_TOKEN (`make run` draws one per start)."""
    token = env.get("GRU_RASA_TOKEN")
    return ["--enable-api", "--auth-token", token] if token else []


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, as a browser sends it in its Origin header (no path,
    no trailing slash); ConfigError when the URL has no scheme or host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise render.ConfigError(f"GRU_CORS_ORIGINS : « {url} » n'est pas une origine (https://site.fr)")
    return f"{parts.scheme}://{parts.netloc}".lower()


def cors_origins(env: Mapping[str, str], defaults: Sequence[str]) -> List[str]:
    """The origins allowed to open Rasa's socketio channel (its `--cors`).

    GRU_CORS_ORIGINS, comma- or space-separated, when the operator sets it; else `defaults`:
    the origins that actually serve the widget (`make run`: the demo page; production: the
    origin of GRU_PUBLIC_URL). `*` (any website may embed the chat and talk to it on a
    visitor's behalf) only when set explicitly, with a warning."""
    raw = (env.get("GRU_CORS_ORIGINS") or "").replace(",", " ").split()
    if not raw:
        return [origin_of(url) for url in defaults]
    if "*" in raw:
        logger.warning("GRU_CORS_ORIGINS is '*': any website may open the socketio channel")
        return ["*"]
    return list(dict.fromkeys(origin_of(url) for url in raw))


def cors_args(origins: str | Sequence[str]) -> List[str]:
    """Rasa's `--cors` arguments (one per origin); none at all: no CORS header, no other origin."""
    origins = origins.replace(",", " ").split() if isinstance(origins, str) else list(origins)
    return ["--cors", *origins] if origins else []


def rasa_command(*args: str) -> List[str]:
    """`rasa <args>` through `run_rasa`."""
    return [str(BIN / "python"), "-m", "ops.servers", "rasa", *args]


def start_stack(
    *,
    rasa_port: int = 5005,
    action_port: int = 5055,
    model: Path | None = None,
    env: Mapping[str, str] | None = None,
    run_dir: Path | None = None,
    cors: str | Sequence[str] = (),
    log: IO[bytes] | None = None,
    timeout: float = 240.0,
    pages_port: int | None = None,
) -> Stack:
    """Start the action server, then Rasa; return once both answer on HTTP. With `pages_port`,
    the citizens' appointment pages too (portal/, python -m portal)."""
    full_env, files = prepare(action_port, env, run_dir)
    if pages_port is not None:
        full_env["GRU_PAGES_PORT"] = str(pages_port)
    stack = Stack(rasa_port, action_port)
    started = time.monotonic()
    popen = dict(
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT if log else None,
        start_new_session=True,
        umask=PRIVATE_UMASK,
    )
    try:
        action = subprocess.Popen(action_server_command(action_port), **popen)
        stack.processes.append(action)
        rasa_cmd = rasa_command(
            "run",
            "--port",
            str(rasa_port),
            *cors_args(cors),
            "--endpoints",
            str(files["endpoints"]),
            "--credentials",
            str(files["credentials"]),
            "--model",
            str(model or ROOT / "models"),
            *rasa_api_args(full_env),
        )
        rasa_started = time.monotonic()
        rasa = subprocess.Popen(rasa_cmd, **popen)
        stack.processes.append(rasa)
        if full_env.get("GRU_HUB_TOKEN"):
            # The ANTS availability hub (booking/hub.py), only when ANTS has given a token.
            hub = subprocess.Popen([str(BIN / "python"), "-m", "booking.hub"], **popen)
            stack.processes.append(hub)
            wait_http(f"http://127.0.0.1:{full_env.get('GRU_HUB_PORT', '5100')}/health", timeout, hub)
        if pages_port is not None:
            pages = subprocess.Popen([str(BIN / "python"), "-m", "portal"], **popen)
            stack.processes.append(pages)
            wait_http(f"http://127.0.0.1:{pages_port}/health", timeout, pages)
        action_host = full_env.get("GRU_ACTION_HOST") or "127.0.0.1"
        if action_host in ("0.0.0.0", "::"):
            action_host = "127.0.0.1"
        wait_http(f"http://{action_host}:{action_port}/health", timeout, action)
        # Rasa loads the model before it binds its port: "/" answering means ready.
        wait_http(f"http://127.0.0.1:{rasa_port}/", timeout, rasa)
        stack.rasa_startup_seconds = time.monotonic() - rasa_started
    except BaseException:
        stack.stop()
        raise
    stack.startup_seconds = time.monotonic() - started
    return stack


if __name__ == "__main__":
    if sys.argv[1:2] != ["rasa"]:
        raise SystemExit("usage : python -m ops.servers rasa <arguments de rasa>")
    run_rasa(sys.argv[2:])
