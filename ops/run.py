"""`make run`: start the action server and Rasa, print where to talk, stop cleanly on Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from core.territory import TerritoryConfigError, load_territory
from ops import servers, web
from ops.jobs import Scheduler, default_jobs
from ops.render import ConfigError


class StartupProgress:
    """Prints the start-up phases while `servers.start_stack` waits (Rasa takes about a minute).

    Polls the same health URLs as start_stack, from a daemon thread, every second; prints a
    line when the action server answers, when Rasa answers, and every 15 s in between.
    """

    def __init__(self, action_port: int, rasa_port: int) -> None:
        self._stopped = threading.Event()
        self._started = time.monotonic()
        self._urls = [
            ("serveur d'actions prêt", f"http://127.0.0.1:{action_port}/health"),
            ("Rasa prêt (modèle chargé)", f"http://127.0.0.1:{rasa_port}/"),
        ]
        threading.Thread(target=self._run, name="startup-progress", daemon=True).start()

    def _answers(self, url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except (OSError, ValueError):
            return False

    def _run(self) -> None:
        last_line = 0.0
        while not self._stopped.wait(1.0) and self._urls:
            elapsed = time.monotonic() - self._started
            label, url = self._urls[0]
            if self._answers(url):
                self._urls.pop(0)
                print(f"  {label} ({elapsed:.0f} s)", flush=True)
                last_line = elapsed
            elif elapsed - last_line >= 15:
                what = "serveur d'actions" if len(self._urls) == 2 else "Rasa : chargement du modèle"
                print(f"  {what}… ({elapsed:.0f} s)", flush=True)
                last_line = elapsed

    def stop(self) -> None:
        self._stopped.set()


def main() -> int:
    # Every content file is checked before anything starts: a mistake is reported in
    # French (file, field, line) instead of a server that dies at start.
    print("Vérification des fichiers de contenu du territoire…", flush=True)
    from actions import check_all_content, content_report  # imports stop on an invalid file too

    results = check_all_content()
    if any(result.error is not None for result in results):
        print(content_report(results), file=sys.stderr)
        return 1
    territory = load_territory()
    rasa_port = int(os.environ.get("RASA_PORT", "5005"))
    action_port = int(os.environ.get("ACTION_PORT", "5055"))
    print(f"Démarrage de l'assistant de {territory.display_name} (environ une minute)…", flush=True)
    print("  base de rendez-vous préparée, puis serveur d'actions et Rasa lancés…", flush=True)
    progress = StartupProgress(action_port, rasa_port)
    pages_port = int(os.environ.get("GRU_PAGES_PORT", "5200"))
    # The appointment links of this process's jobs (reminders) point at the pages' own port
    # when GRU_PUBLIC_URL is unset (core.http.pages_url): there is no proxy under `make run`.
    os.environ.setdefault("GRU_PAGES_PORT", str(pages_port))
    # Rasa's HTTP API for the agent console only, closed by a token drawn per start.
    os.environ.setdefault("GRU_RASA_TOKEN", secrets.token_urlsafe(32))
    os.environ.setdefault("RASA_PORT", str(rasa_port))
    try:
        # The widget's page only (GRU_CORS_ORIGINS to allow others; `*` only when set).
        cors = servers.cors_origins(os.environ, web.page_origins(web.settings(rasa_port)[0]))
        stack = servers.start_stack(
            rasa_port=rasa_port, action_port=action_port, cors=cors, pages_port=pages_port
        )
    except ConfigError as exc:
        print(f"Configuration invalide : {exc}", file=sys.stderr)
        return 1
    except TerritoryConfigError as exc:  # the booking file, read when the database is prepared
        print(exc, file=sys.stderr)
        return 1
    except (RuntimeError, TimeoutError) as exc:
        print(f"Le démarrage a échoué : {exc}", file=sys.stderr)
        return 1
    finally:
        progress.stop()
    facebook = (
        " et Facebook Messenger (/webhooks/facebook/webhook)"
        if os.environ.get("FACEBOOK_VERIFY_TOKEN")
        else ""
    )
    web_port, socket_url = web.settings(rasa_port)
    try:
        page = web.serve(web_port, socket_url, host=os.environ.get("GRU_WEB_HOST", "127.0.0.1"))
    except OSError as exc:
        print(f"La page de démonstration ne démarre pas (port {web_port}) : {exc}", file=sys.stderr)
        page = None
    console_port = os.environ.get("GRU_CONSOLE_PORT", "8090")
    # The agent console (handoff/console.py): live hand-offs; accounts: python -m staff.cli add-agent.
    console = subprocess.Popen(
        [sys.executable, "-m", "handoff.console"],
        cwd=servers.ROOT,
        start_new_session=True,
        umask=servers.PRIVATE_UMASK,
    )
    stack.processes.append(console)
    body = '{"sender":"moi","message":"Bonjour"}'
    hub_port = os.environ.get("GRU_HUB_PORT", "5100") if os.environ.get("GRU_HUB_TOKEN") else None
    print(
        f"\nPrêt en {stack.startup_seconds:.0f} s.\n"
        f"  REST     : curl -s {stack.url}/webhooks/rest/webhook -d '{body}'\n"
        f"  site     : http://localhost:{web_port}/ (page de démonstration avec le widget)\n"
        f"  socketio : {stack.url} (widget du site){facebook}\n"
        f"  actions  : http://127.0.0.1:{action_port}/health\n"
        + f"  agents   : http://localhost:{console_port}/ (console des agents)\n"
        + f"  statistiques : http://localhost:{console_port}/statistiques (tableau de bord)\n"
        + (f"  hub ANTS : http://127.0.0.1:{hub_port}/getManagedMeetingPoints\n" if hub_port else "")
        + f"  rendez-vous : http://localhost:{pages_port}/rendez-vous/nouveau (pages ouvertes par l'ANTS)\n"
        + "Ctrl-C pour arrêter.",
        flush=True,
    )
    stopping = False

    def _stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    jobs = Scheduler(default_jobs())
    try:
        while not stopping:
            jobs.tick()
            for proc in stack.processes:
                if proc.poll() is not None:
                    print(
                        f"Un processus s'est arrêté (code {proc.returncode}) : arrêt de l'ensemble.",
                        file=sys.stderr,
                    )
                    stopping = True
            time.sleep(0.5)
    finally:
        print("\nArrêt en cours…", flush=True)
        jobs.stop()
        if page is not None:
            page.shutdown()
        stack.stop()
        print("Arrêté.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
