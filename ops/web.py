"""The sample collectivité page with the rasa-webchat widget, served by `make run`.

A small static server (standard library): `/` is web/public/index.html, `/webchat.js`
the widget installed from npm (web/node_modules/rasa-webchat, no CDN at run time),
`/config.js` tells the page where Rasa's socketio channel is (GRU_SOCKET_URL, default
the local Rasa server). The page and Rasa are on different ports: Rasa runs with --cors.
`/confidentialite` is the privacy notice, written from territory/demo/privacy.yml (the
welcome message links to it).
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

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "web" / "public"
WIDGET = ROOT / "web" / "node_modules" / "rasa-webchat" / "lib" / "index.js"


class PageHandler(SimpleHTTPRequestHandler):
    socket_url = "http://localhost:5005"

    def log_message(self, *args) -> None:  # no access log: nothing personal, nothing useful
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/config.js":
            return self._send(
                f"window.GRU_CONFIG = {json.dumps({'socketUrl': self.socket_url})};", "text/javascript"
            )
        if path == "/webchat.js":
            if not WIDGET.exists():
                return self.send_error(503, "rasa-webchat is not installed: run make install")
            return self._send(WIDGET.read_bytes(), "text/javascript")
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


def serve(port: int, socket_url: str, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Start the page server in a background thread; `.shutdown()` stops it."""
    handler = type("Handler", (PageHandler,), {"socket_url": socket_url})
    server = ThreadingHTTPServer((host, port), partial(handler, directory=str(PUBLIC)))
    threading.Thread(target=server.serve_forever, daemon=True, name="web-page").start()
    return server


def settings(rasa_port: int) -> tuple[int, str]:
    port = int(os.environ.get("GRU_WEB_PORT", "8080"))
    return port, os.environ.get("GRU_SOCKET_URL", f"http://localhost:{rasa_port}")
