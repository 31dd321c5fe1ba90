"""The sample collectivité page with our chat widget, served by `make run`.

A small static server (standard library): `/` is web/public/index.html, `/widget.js`
the widget bundled at install by esbuild (web/dist/widget.js, no CDN at run time),
`/config.js` tells the page where Rasa's socketio channel is (GRU_SOCKET_URL, default
the local Rasa server). The page and Rasa are on different ports: Rasa runs with --cors.
`/confidentialite` is the privacy notice, written from territory/demo/privacy.yml (the
welcome message links to it); `/accessibilite` the accessibility statement (déclaration
d'accessibilité, RGAA 4.1) of the widget, a template filled with the territory's name.
"""

from __future__ import annotations

import html
import json
import os
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from core.privacy import PrivacyPolicy, load_privacy
from core.territory import Territory, load_territory

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "web" / "public"
WIDGET = ROOT / "web" / "dist" / "widget.js"


class PageHandler(SimpleHTTPRequestHandler):
    socket_url = "http://localhost:5005"

    def log_message(self, *args) -> None:  # no access log: nothing personal, nothing useful
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/config.js":
            # The page's widget configuration gets the socket URL of this deployment.
            socket = json.dumps(self.socket_url)
            return self._send(
                f"window.GRU_WIDGET = Object.assign(window.GRU_WIDGET || {{}}, {{socketUrl: {socket}}});",
                "text/javascript",
            )
        if path == "/widget.js":
            if not WIDGET.exists():
                return self.send_error(503, "the widget is not built: run make install")
            return self._send(WIDGET.read_bytes(), "text/javascript; charset=utf-8")
        if path in ("/accessibilite", "/accessibilite/"):
            return self._send(accessibility_page(load_territory()), "text/html; charset=utf-8")
        if path in ("/confidentialite", "/confidentialite/"):
            return self._send(privacy_page(load_privacy()), "text/html; charset=utf-8")
        if path in ("/", "/index.html"):
            return self._send((PUBLIC / "index.html").read_bytes(), "text/html; charset=utf-8")
        return self.send_error(404)

    def _send(self, body: str | bytes, content_type: str) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(data)


def privacy_page(policy: PrivacyPolicy) -> str:
    """The privacy notice: plain, accessible HTML in French (one heading per subject)."""

    def text(value: str) -> str:
        return html.escape(policy.fill(value))

    def items(values) -> str:
        return "\n".join(f"      <li>{text(value)}</li>" for value in values)

    notice, dpo = policy.notice, policy.dpo
    service = f"<br>{html.escape(dpo.service)}" if dpo.service else ""
    email = html.escape(dpo.email)
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{text(notice.title)}</title>
  <style>body {{ font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem;
  line-height: 1.5; color: #1b1b1b; }} a {{ color: #000091; }}</style>
</head>
<body>
  <main>
    <h1>{text(notice.title)}</h1>
    <h2>Qui est responsable de vos données ?</h2>
    <p>{text(notice.controller)}</p>
    <h2>Pourquoi nous les utilisons</h2>
    <p>{text(notice.purpose)}</p>
    <h2>Sur quelle base</h2>
    <p>{text(notice.legal_basis)}</p>
    <h2>Ce que nous gardons, et combien de temps</h2>
    <ul>
{items(notice.data)}
    </ul>
    <h2>Qui les reçoit</h2>
    <p>{text(notice.recipients)}</p>
    <h2>Vos droits</h2>
    <ul>
{items(notice.rights)}
    </ul>
    <h2>Délégué à la protection des données</h2>
    <address>{html.escape(dpo.name)}{service}<br>
      E-mail : <a href="mailto:{email}">{email}</a><br>
      Courrier : {html.escape(dpo.address)}</address>
    <h2>Réclamation</h2>
    <p>{text(notice.complaint)}</p>
    <p><a href="/">Retour à l'accueil</a></p>
  </main>
</body>
</html>
"""


def accessibility_page(territory: Territory) -> str:
    """The déclaration d'accessibilité of the chat widget (the model of the RGAA 4.1 statement):
    a template the collectivité completes once its audit is done (state, date, contact)."""
    name = html.escape(territory.display_name)
    service = territory.services.get(territory.default_service)
    contact = (
        f'<a href="mailto:{html.escape(service.email)}">{html.escape(service.email)}</a>, '
        f"{html.escape(service.phone)}, {html.escape(service.address)}"
        if service
        else html.escape(territory.website)
    )
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Déclaration d'accessibilité de l'assistant en ligne — {name}</title>
  <style>body {{ font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem;
  line-height: 1.5; color: #1b1b1b; }} a {{ color: #000091; }}</style>
</head>
<body>
  <main>
    <h1>Déclaration d'accessibilité</h1>
    <p>{name} s'engage à rendre ses services en ligne accessibles, conformément à l'article 47
    de la loi n° 2005-102 du 11 février 2005.</p>
    <p>Cette déclaration s'applique à l'assistant en ligne (la fenêtre de discussion) du site
    {html.escape(territory.website)}.</p>
    <h2>État de conformité</h2>
    <p>L'assistant en ligne est <strong>partiellement conforme</strong> au référentiel général
    d'amélioration de l'accessibilité (RGAA), version 4.1, en attendant un audit complet.</p>
    <h2>Résultats des tests</h2>
    <p>Chaque version est vérifiée automatiquement avec axe-core (aucune erreur, fenêtre fermée,
    ouverte et pendant une prise de rendez-vous) et par un parcours complet au clavier seul, sur
    ordinateur et sur mobile. Les critères vérifiés : navigation au clavier et focus visible,
    focus gardé dans la fenêtre ouverte puis rendu au bouton d'ouverture, annonce des nouveaux
    messages aux lecteurs d'écran, étiquettes des champs et des boutons, contrastes, zoom à
    200 %, animations réduites sur demande, langue française déclarée.</p>
    <h2>Contenus non accessibles</h2>
    <p>Aucun contenu non accessible connu à ce jour. Les photos que vous envoyez pour un
    signalement ne reçoivent pas de texte de remplacement.</p>
    <h2>Établissement de cette déclaration</h2>
    <p>Technologies utilisées : HTML, CSS, JavaScript. Tests : Chromium avec axe-core, clavier
    seul, affichage 360 × 640 et 390 × 844.</p>
    <h2>Retour d'information et contact</h2>
    <p>Si vous ne pouvez pas accéder à un contenu ou à un service, contactez-nous pour être
    orienté vers une alternative accessible : {contact}.</p>
    <h2>Voies de recours</h2>
    <p>Si vous nous avez signalé un défaut d'accessibilité qui vous empêche d'accéder à un
    contenu ou à un service et que vous n'avez pas obtenu de réponse satisfaisante, vous pouvez
    écrire au Défenseur des droits (<a href="https://formulaire.defenseurdesdroits.fr/">formulaire
    en ligne</a>), contacter son délégué dans votre région, ou écrire par courrier, gratuitement,
    sans affranchissement, à : Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07.</p>
    <p><a href="/">Retour à l'accueil</a></p>
  </main>
</body>
</html>
"""


def serve(port: int, socket_url: str, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Start the page server in a background thread; `.shutdown()` stops it."""
    handler = type("Handler", (PageHandler,), {"socket_url": socket_url})
    server = ThreadingHTTPServer((host, port), partial(handler, directory=str(PUBLIC)))
    threading.Thread(target=server.serve_forever, daemon=True, name="web-page").start()
    return server


def settings(rasa_port: int) -> tuple[int, str]:
    port = int(os.environ.get("GRU_WEB_PORT", "8080"))
    return port, os.environ.get("GRU_SOCKET_URL", f"http://localhost:{rasa_port}")


def write_pages(out_dir: Path) -> list[Path]:
    """The privacy notice and the accessibility statement as static files, for a web server that
    is not this one (the nginx image of deploy/docker, rendered at build from the territory)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = {
        "confidentialite.html": privacy_page(load_privacy()),
        "accessibilite.html": accessibility_page(load_territory()),
    }
    written = []
    for name, page in pages.items():
        (out_dir / name).write_text(page, encoding="utf-8")
        written.append(out_dir / name)
    return written


def page_origins(port: int) -> list[str]:
    """The origins of the demo page as a browser on this machine names them: the widget's
    socketio requests come from there (Rasa's default CORS list under `make run`)."""
    return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "--write-pages":
        raise SystemExit("usage : python -m ops.web --write-pages <dossier>")
    for path in write_pages(Path(sys.argv[2])):
        print(path)
