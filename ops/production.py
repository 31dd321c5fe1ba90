"""The production shape on one machine: 2 Rasa replicas, 2 action servers and the appointment
pages behind nginx.

    python -m ops.production up       # start everything, print the addresses, return
    python -m ops.production down     # stop everything `up` started
    python -m ops.production status   # which processes are alive
    python -m ops.production jobs     # the periodic jobs alone (what gru-jobs.service runs)
    python -m ops.production nginx-site --server-name assistant.example.fr  # the TLS site file
    # … --ants-hub: with the ANTS hub under /ants/ (the default when GRU_HUB_TOKEN is set)

What `up` starts, all on loopback (`make prod-up` / `make prod-down`):
- nginx (Debian's package) from deploy/nginx/local.conf.j2: REST and the other webhooks
  round robin over the Rasa replicas, socket.io sticky by client address, and an internal
  address that spreads Rasa's action calls over the action servers;
- GRU_PROD_RASA_REPLICAS Rasa processes (2) and GRU_PROD_ACTION_REPLICAS action servers (2),
  started in parallel (Rasa's start-up is CPU-bound, about a minute each);
- GRU_PROD_PAGES_REPLICAS appointment pages (1, `python -m portal` on GRU_PROD_PAGES_PORT 5200),
  behind nginx's /rendez-vous. They keep nothing per process (the CSRF token is a double-submit
  cookie, failed tries are rows of the database keyed by the shared GRU_ATTEMPTS_SECRET), so more
  can be added; one is enough for a commune's traffic;
- the ANTS availability hub (booking/hub.py, `python -m booking.hub` on GRU_PROD_HUB_PORT 5100),
  only when GRU_HUB_TOKEN is set, behind nginx's /ants/ (the address the commune registers with
  ANTS is GRU_PUBLIC_URL/ants). It keeps nothing per process but a 5-minute cache of Chrono's
  meeting types (booking/chrono.py): GRU_PROD_HUB_REPLICAS (1) could be raised, one is plenty;
- the periodic jobs (ops/jobs.py) in one process: one scheduler for the whole shape.
They share the PostgreSQL tracker store and application database (created when missing)
and the Redis lock store, which also holds the request-rate counters (channels/rate.py).
Processes run in their own session; their PIDs are kept in <state>/production.json so that
`down` stops exactly them. Logs: <state>/logs/.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping
from urllib.parse import urlsplit

from booking import hub
from core import http
from core.http import public_url
from ops import servers
from ops.render import ConfigError

ROOT = servers.ROOT
DEPLOY = ROOT / "deploy"
NGINX = os.environ.get("GRU_NGINX", "/usr/sbin/nginx")
STATE_FILE = "production.json"
# The ANTS hub's limit per address at nginx (its own zone): ANTS calls from a few addresses, once
# per citizen's search that covers our meeting points, and any answer but 200 marks the commune
# « down » on the national site; the limit only stops one address flooding (a token guesser).
HUB_RATE_PER_SECOND = 20
HUB_RATE_BURST = 100
DEFAULTS = {
    "GRU_PROD_DIR": str(ROOT / "var" / "production"),
    "GRU_PROXY_PORT": "8000",
    "GRU_PROD_ACTIONS_PROXY_PORT": "5054",
    "GRU_PROD_RASA_PORT": "5005",  # replicas on 5005, 5006, …
    "GRU_PROD_ACTION_PORT": "5055",  # action servers on 5055, 5056, …
    "GRU_PROD_RASA_REPLICAS": "2",
    "GRU_PROD_ACTION_REPLICAS": "2",
    "GRU_PROD_PAGES_PORT": "5200",  # pages on 5200, 5201, …
    "GRU_PROD_PAGES_REPLICAS": "1",
    "GRU_PROD_HUB_PORT": "5100",  # the ANTS hub on 5100, 5101, … (only with GRU_HUB_TOKEN)
    "GRU_PROD_HUB_REPLICAS": "1",
    "GRU_TRACKER_STORE_URL": "postgresql://postgres@127.0.0.1:5432/gru_tracker",
    "GRU_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/gru",
    "GRU_LOCK_STORE_URL": "redis://127.0.0.1:6379/0",
    # Sanic takes the client's address from nginx's X-Forwarded-For (rate limits per address).
    "SANIC_PROXIES_COUNT": "1",
}

# Secrets every process must share (a link signed by one replica is checked by another; the
# log pseudonyms match across processes). Drawn once into <state>/secrets/ when unset.
SHARED_SECRETS = (
    "GRU_ACTION_SECRET",
    "GRU_LINKS_SECRET",
    "GRU_ALERTS_SECRET",
    "GRU_LOG_SALT",
    "GRU_ANALYTICS_SECRET",
)


@dataclass
class Settings:
    state_dir: Path
    proxy_port: int
    actions_proxy_port: int
    rasa_ports: List[int]
    action_ports: List[int]
    pages_ports: List[int]
    env: Dict[str, str]
    model: Path
    hub_ports: List[int] = field(default_factory=list)  # empty: no ANTS hub (no GRU_HUB_TOKEN)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, model: Path | None = None, hub: bool | None = None
    ) -> Settings:
        """`hub`: serve the ANTS hub (None: when GRU_HUB_TOKEN is set, as booking/hub.py reads it)."""
        full = {**DEFAULTS, **dict(os.environ if env is None else env)}
        rasa_port, action_port = int(full["GRU_PROD_RASA_PORT"]), int(full["GRU_PROD_ACTION_PORT"])
        rasa_ports = full.get("GRU_PROD_RASA_PORTS") or ""
        action_ports = full.get("GRU_PROD_ACTION_PORTS") or ""
        pages_port, pages_ports = int(full["GRU_PROD_PAGES_PORT"]), full.get("GRU_PROD_PAGES_PORTS") or ""
        hub_port, hub_ports = int(full["GRU_PROD_HUB_PORT"]), full.get("GRU_PROD_HUB_PORTS") or ""
        hub_enabled = bool((full.get("GRU_HUB_TOKEN") or "").strip()) if hub is None else hub
        return cls(
            state_dir=Path(full["GRU_PROD_DIR"]),
            proxy_port=int(full["GRU_PROXY_PORT"]),
            actions_proxy_port=int(full["GRU_PROD_ACTIONS_PROXY_PORT"]),
            rasa_ports=[int(p) for p in rasa_ports.split(",") if p]
            or [rasa_port + i for i in range(int(full["GRU_PROD_RASA_REPLICAS"]))],
            action_ports=[int(p) for p in action_ports.split(",") if p]
            or [action_port + i for i in range(int(full["GRU_PROD_ACTION_REPLICAS"]))],
            pages_ports=[int(p) for p in pages_ports.split(",") if p]
            or [pages_port + i for i in range(int(full["GRU_PROD_PAGES_REPLICAS"]))],
            env=full,
            model=model or Path(full.get("GRU_MODEL") or ROOT / "models"),
            hub_ports=(
                [int(p) for p in hub_ports.split(",") if p]
                or [hub_port + i for i in range(int(full["GRU_PROD_HUB_REPLICAS"]))]
            )
            if hub_enabled
            else [],
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"


@dataclass
class Production:
    settings: Settings
    processes: Dict[str, int] = field(default_factory=dict)  # name -> pid (process group leader)
    startup_seconds: float = 0.0

    @property
    def url(self) -> str:
        return self.settings.url

    def replica_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_ports[index]}"

    def alive(self) -> Dict[str, bool]:
        return {name: _alive(pid) for name, pid in self.processes.items()}

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one process group (tests: a replica dying under load)."""
        try:
            os.killpg(self.processes[name], sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 20.0) -> None:
        """nginx first (no new requests), then every process group: SIGTERM, then SIGKILL."""
        _stop_nginx(self.settings.state_dir)
        for pid in self.processes.values():
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        for pid in self.processes.values():
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        (self.settings.state_dir / STATE_FILE).unlink(missing_ok=True)

    def save(self) -> None:
        state = {"processes": self.processes, "url": self.url, "rasa_ports": self.settings.rasa_ports}
        (self.settings.state_dir / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")


def _alive(pid: int) -> bool:
    try:
        finished, _status = os.waitpid(pid, os.WNOHANG)  # reaps our own children
        if finished:
            return False
    except ChildProcessError:
        pass  # not our child (`down` from another shell): ask the kernel
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def render_template(name: str, **values: object) -> str:
    """A template of deploy/nginx/ rendered with Jinja2 (undefined values are errors)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(DEPLOY / "nginx")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # nginx configuration, not HTML
    )
    return env.get_template(name).render(**values)


def nginx_values(settings: Settings) -> Dict[str, object]:
    return {
        "rasa_ports": settings.rasa_ports,
        "action_ports": settings.action_ports,
        "pages_ports": settings.pages_ports,
        "hub_ports": settings.hub_ports,
        "actions_port": settings.actions_proxy_port,
        "rate_per_second": int(settings.env.get("GRU_PROXY_RATE_PER_SECOND", "10")),
        "rate_burst": int(settings.env.get("GRU_PROXY_RATE_BURST", "40")),
        "hub_rate_per_second": HUB_RATE_PER_SECOND,
        "hub_rate_burst": HUB_RATE_BURST,
        # nginx waits a little longer than the hub's own budget on each route (so the hub's clean
        # 503 reaches ANTS) and less than ANTS waits (so ANTS gets nginx's 504, not a cut).
        "hub_read_timeouts_ms": {
            route: int(500 * (hub.BUDGET_S[route] + hub.ANTS_WAITS_S[route])) for route in hub.ANTS_WAITS_S
        },
    }


def render_local_nginx(settings: Settings) -> str:
    return render_template(
        "local.conf.j2",
        state_dir=settings.state_dir,
        user=None,
        tls=False,
        listen_port=settings.proxy_port,
        access_log=settings.state_dir / "logs" / "nginx-access.log",
        **nginx_values(settings),
    )


def render_site(settings: Settings, server_name: str, certificate: str, key: str) -> str:
    """The site file for /etc/nginx/sites-available (Debian's nginx), TLS at the proxy."""
    return render_template(
        "site.conf.j2",
        tls=True,
        server_name=server_name,
        ssl_certificate=certificate,
        ssl_certificate_key=key,
        access_log="/var/log/nginx/gru-assistant.access.log",
        **nginx_values(settings),
    )


def ensure_database(url: str) -> None:
    """CREATE DATABASE for a postgresql:// URL when it does not exist (trust or password auth)."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return
    name = parts.path.lstrip("/")
    conn = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
        connect_timeout=5,
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


def create_tracker_tables(endpoints_file: Path) -> None:
    """Rasa's tracker tables, created once here: replicas starting together would race on them."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    store = TrackerStore.create(read_endpoint_config(str(endpoints_file), "tracker_store"))
    store.engine.dispose()


def default_cors(env: Mapping[str, str]) -> List[str]:
    """Rasa's CORS origins: GRU_CORS_ORIGINS (the collectivité's website), else the origin of
    GRU_PUBLIC_URL (the assistant's own pages); `*` only when set so (servers.cors_origins)."""
    return servers.cors_origins(env, [public_url(env)])


def _say(message: str) -> None:
    print(message, flush=True)


def _stop_nginx(state_dir: Path) -> None:
    pid_file = state_dir / "nginx.pid"
    if not pid_file.exists():
        return
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGQUIT)  # graceful: finish the requests in flight
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGTERM)
    except (ValueError, ProcessLookupError):
        pass


def up(settings: Settings, timeout: float = 300.0, quiet: bool = False) -> Production:
    """Start the whole shape; return once nginx answers through a ready replica."""
    say = (lambda _m: None) if quiet else _say
    started = time.monotonic()
    if not Path(NGINX).exists():
        raise RuntimeError(f"nginx est absent ({NGINX}) : make nginx (apt-get install nginx)")
    if not any(settings.model.glob("*.tar.gz")) and not settings.model.is_file():
        raise RuntimeError(f"aucun modèle entraîné dans {settings.model} : make train")
    state = settings.state_dir
    (state / "logs").mkdir(parents=True, exist_ok=True)
    state.chmod(0o711)  # nginx's workers (nobody) reach their temp folders; the rest stays 0700
    (state / "logs").chmod(0o700)
    (state / "nginx-tmp").mkdir(mode=0o711, exist_ok=True)
    env = dict(settings.env)
    cors = default_cors(env)  # a wrong GRU_CORS_ORIGINS stops here, before anything starts
    for name in SHARED_SECRETS:
        if not env.get(name):  # one value for every replica, kept across restarts
            env[name] = servers.persistent_secret(state / "secrets" / name.lower())
    env["GRU_ACTION_SERVER_URL"] = f"http://127.0.0.1:{settings.actions_proxy_port}/webhook"
    # The links we give out go through nginx, as on a server (/rendez-vous to the pages).
    env.setdefault("GRU_PUBLIC_URL", settings.url)
    say("Production locale : bases PostgreSQL (suivi des conversations, application)…")
    for variable in ("GRU_TRACKER_STORE_URL", "GRU_DATABASE_URL"):
        ensure_database(env[variable])
    say("Production locale : migrations de la base d'application et fichiers de Rasa…")
    env, files = servers.prepare(settings.action_ports[0], env, run_dir=state / "run")
    production = Production(settings)
    popen = dict(cwd=ROOT, env=env, start_new_session=True, umask=servers.PRIVATE_UMASK)

    def spawn(name: str, command: List[str], **extra_env: str) -> subprocess.Popen:
        log = open(state / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        options = {**popen, "env": {**env, **extra_env}}
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **options)
        log.close()
        production.processes[name] = proc.pid
        production.save()
        return proc

    try:
        say(f"Production locale : {len(settings.action_ports)} serveurs d'actions…")
        actions = {
            f"actions-{i + 1}": spawn(f"actions-{i + 1}", servers.action_server_command(port))
            for i, port in enumerate(settings.action_ports)
        }
        create_tracker_tables(files["endpoints"])
        say(f"Production locale : {len(settings.rasa_ports)} répliques de Rasa (environ une minute)…")
        rasas = {
            f"rasa-{i + 1}": spawn(
                f"rasa-{i + 1}",
                servers.rasa_command(
                    "run",
                    "--port",
                    str(port),
                    *servers.cors_args(cors),
                    "--endpoints",
                    str(files["endpoints"]),
                    "--credentials",
                    str(files["credentials"]),
                    "--model",
                    str(settings.model),
                ),
            )
            for i, port in enumerate(settings.rasa_ports)
        }
        pages = {
            f"pages-{i + 1}": spawn(
                f"pages-{i + 1}",
                [str(servers.BIN / "python"), "-m", "portal"],
                GRU_PAGES_PORT=str(port),
                GRU_PAGES_HOST="127.0.0.1",
            )
            for i, port in enumerate(settings.pages_ports)
        }
        hubs = {
            f"hub-{i + 1}": spawn(
                f"hub-{i + 1}",
                [str(servers.BIN / "python"), "-m", "booking.hub"],
                GRU_HUB_PORT=str(port),
                GRU_HUB_HOST="127.0.0.1",  # published by nginx's /ants/ only
            )
            for i, port in enumerate(settings.hub_ports)
        }
        spawn("jobs", [str(servers.BIN / "python"), "-m", "ops.production", "jobs"])
        conf = state / "nginx.conf"
        conf.write_text(render_local_nginx(settings), encoding="utf-8")
        subprocess.run(
            [NGINX, "-q", "-t", "-p", str(state), "-e", str(state / "nginx-error.log"), "-c", str(conf)],
            check=True,
        )
        subprocess.run(
            [NGINX, "-p", str(state), "-e", str(state / "nginx-error.log"), "-c", str(conf)], check=True
        )
        for (name, proc), port in zip(actions.items(), settings.action_ports, strict=True):
            servers.wait_http(f"http://127.0.0.1:{port}/health", timeout, proc)
            say(f"  {name} prêt ({time.monotonic() - started:.0f} s)")
        for (name, proc), port in zip(pages.items(), settings.pages_ports, strict=True):
            servers.wait_http(f"http://127.0.0.1:{port}/health", timeout, proc)
            say(f"  {name} prêt ({time.monotonic() - started:.0f} s)")
        for (name, proc), port in zip(hubs.items(), settings.hub_ports, strict=True):
            servers.wait_http(f"http://127.0.0.1:{port}/health", timeout, proc)
            say(f"  {name} prêt ({time.monotonic() - started:.0f} s)")
        for (name, proc), port in zip(rasas.items(), settings.rasa_ports, strict=True):
            servers.wait_http(f"http://127.0.0.1:{port}/", timeout, proc)
            say(f"  {name} prêt ({time.monotonic() - started:.0f} s)")
        servers.wait_http(f"{settings.url}/", 30)
    except BaseException:
        production.stop()
        raise
    production.startup_seconds = time.monotonic() - started
    return production


def load_state(settings: Settings) -> Production | None:
    path = settings.state_dir / STATE_FILE
    if not path.exists():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    return Production(settings, processes={k: int(v) for k, v in state["processes"].items()})


def run_jobs() -> int:
    """The periodic jobs of ops/jobs.py, until SIGTERM (one such process per installation)."""
    from ops.jobs import Scheduler, default_jobs

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = Scheduler(default_jobs())
    while not stop.wait(1.0):
        scheduler.tick()
    scheduler.stop()
    return 0


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Forme de production locale (nginx, répliques).")
    parser.add_argument("command", choices=["up", "down", "status", "jobs", "nginx-site"])
    parser.add_argument("--server-name", default="assistant.example.fr")
    parser.add_argument("--certificate", default="/etc/ssl/gru/fullchain.pem")
    parser.add_argument("--certificate-key", default="/etc/ssl/gru/privkey.pem")
    parser.add_argument(
        "--ants-hub",
        action="store_true",
        help="nginx-site : publier le hub ANTS sous /ants/ (par défaut : si GRU_HUB_TOKEN est défini)",
    )
    args = parser.parse_args(argv)
    problem = http.public_url_problem() if args.command in ("up", "jobs") else None
    if problem:  # links to the citizens and to ANTS would lead nowhere
        print(problem, file=sys.stderr)
        return 1
    if args.command == "jobs":
        return run_jobs()
    settings = Settings.from_env(hub=True if args.ants_hub else None)
    if args.command == "nginx-site":
        print(render_site(settings, args.server_name, args.certificate, args.certificate_key), end="")
        return 0
    running = load_state(settings)
    if args.command == "status":
        if running is None:
            print("Arrêtée.")
            return 1
        for name, alive in running.alive().items():
            print(f"{name:10} {'en marche' if alive else 'arrêté'}")
        return 0
    if args.command == "down":
        if running is None:
            print("Rien à arrêter.")
            return 0
        print("Arrêt de la production locale…", flush=True)
        running.stop()
        print("Arrêtée.")
        return 0
    if running is not None and any(running.alive().values()):
        print("Déjà démarrée : python -m ops.production down d'abord.", file=sys.stderr)
        return 1
    try:
        production = up(settings)
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError, ConfigError) as exc:
        print(f"Le démarrage a échoué : {exc} (journaux : {settings.state_dir / 'logs'})", file=sys.stderr)
        return 1
    print(
        f"\nPrête en {production.startup_seconds:.0f} s, derrière nginx : {production.url}\n"
        f"  REST     : curl -s {production.url}/webhooks/rest/webhook "
        '-d \'{"sender":"moi","message":"Bonjour"}\'\n'
        f"  socketio : {production.url}/socket.io/ (widget du site)\n"
        f"  rendez-vous : {production.url}/rendez-vous/nouveau (pages ouvertes par l'ANTS)\n"
        + (
            f"  hub ANTS : {production.url}/ants (en-tête {hub.AUTH_HEADER})\n"
            if settings.hub_ports
            else "  hub ANTS : non démarré (GRU_HUB_TOKEN absent)\n"
        )
        + f"  répliques: {', '.join(f'127.0.0.1:{p}' for p in settings.rasa_ports)}\n"
        f"  journaux : {settings.state_dir / 'logs'}\n"
        "Arrêt : make prod-down",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
