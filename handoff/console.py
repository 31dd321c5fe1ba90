"""The agent console: a small aiohttp app (`make run` serves it on GRU_CONSOLE_PORT, 8090).

Pages: /connexion (sign-in), / (the console), /deconnexion (POST). JSON API for the page's
script (plain JS, short polling every few seconds — no framework, no CDN):
  GET  /api/queue                          waiting and taken hand-offs of the agent's services
  POST /api/handoffs/<id>/take             take a waiting conversation
  GET  /api/handoffs/<id>/conversation     transcript of the current session and context
  POST /api/handoffs/<id>/reply            {"text"}: sent through Rasa on the citizen's channel
  POST /api/handoffs/<id>/close            {"reason"}: the assistant resumes the conversation
Every POST needs the session's CSRF token (form field `csrf` or header X-CSRF-Token).
A background task hands the conversations nobody took within GRU_HANDOFF_DELAY back to the
assistant, which offers the callback request. With GRU_HANDOFF=chatwoot, the agents answer in
Chatwoot instead (handoff/chatwoot.py): a second task forwards the citizens' messages there and
POST /chatwoot/webhook (signed by Chatwoot) brings the agents' replies and resolutions back.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

from aiohttp import web

from core.db import session_scope
from core.territory import load_territory
from core.topics import topic_label
from handoff import chatwoot, dashboard, queue
from handoff.agenda import Agenda
from handoff.rasa_api import RasaApi, RasaUnavailable
from handoff.transcript import context_slots, transcript
from staff import auth
from staff.models import ROLES, Agent

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
CHATWOOT_BRIDGE = web.AppKey("chatwoot_bridge", object)  # the bridge when GRU_HANDOFF=chatwoot, else None
SESSION_COOKIE = "gru_staff"
LOGIN_CSRF_COOKIE = "gru_login_csrf"
MAX_REPLY_CHARS = 2000
SWEEP_SECONDS = 15
CANNED_ANSWERS = (
    "Bonjour, je suis agent de la mairie. Je lis votre demande et je vous réponds dans un instant.",
    "Pouvez-vous me préciser votre demande en quelques mots ?",
    "Je vérifie votre dossier, merci de patienter quelques minutes.",
    "Vous trouverez toutes les informations sur le site de la commune.",
    "Cette démarche se fait au guichet de la mairie, aux heures d'ouverture.",
    "Je vous remercie. Avez-vous une autre question ?",
)
SUBJECT_BUTTONS = [{"title": "Voir les sujets", "payload": "/help"}]
CLOSED_TEXT = (
    "L'agent a terminé l'échange. L'assistant reprend la conversation : que puis-je faire pour vous ?"
)
NOT_TAKEN_TEXT = "Aucun agent n'a pu vous répondre à temps, désolé. L'assistant reprend la conversation."
# Who may open what: the console's pages and API, and where each role lands after sign-in.
CONSOLE_ROLES = ("agent", "admin")
HOME = {"agent": "/", "admin": "/", "statistiques": "/statistiques"}
FORBIDDEN = {CONSOLE_ROLES: "La console est réservée aux agents et aux administrateurs."}


def production() -> bool:
    return os.environ.get("GRU_ENV") == "production"


def client_address(request: web.Request) -> str | None:
    return request.remote


def _set_cookie(response: web.StreamResponse, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="Strict", secure=production(), path="/", max_age=max_age
    )


def _security_headers(response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"


@web.middleware
async def headers_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _security_headers(exc)
        raise
    _security_headers(response)
    return response


def page(title: str, body: str, status: int = 200) -> web.Response:
    text = f"""<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} — Console des agents</title>
<link rel="stylesheet" href="/static/console.css">
</head>
<body>
<a class="skip" href="#contenu">Aller au contenu</a>
{body}
</body>
</html>"""
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def sign_in_page(csrf: str, error: str | None = None, status: int = 200) -> web.Response:
    alert = f'<p class="error" role="alert" id="erreur">{html.escape(error)}</p>' if error else ""
    described = ' aria-describedby="erreur"' if error else ""
    body = f"""<main id="contenu" class="narrow">
<h1>Console des agents — connexion</h1>
{alert}
<form method="post" action="/connexion"{described}>
<input type="hidden" name="csrf" value="{html.escape(csrf)}">
<p><label for="login">Identifiant</label>
<input id="login" name="login" autocomplete="username" required maxlength="64"></p>
<p><label for="password">Mot de passe</label>
<input id="password" name="password" type="password" autocomplete="current-password"
 required maxlength="200"></p>
<p><button type="submit">Se connecter</button></p>
</form>
</main>"""
    response = page("Connexion", body, status)
    _set_cookie(response, LOGIN_CSRF_COOKIE, csrf)
    return response


class Console:
    def __init__(
        self, rasa: RasaApi, db_url: str | None = None, now: Callable[[], datetime] = auth.utcnow
    ) -> None:
        self.rasa = rasa
        self.db_url = db_url
        self.now = now
        self.territory = load_territory()

    # ---- database helpers (blocking: run in threads) ----

    def _db(self, write: bool = False):
        return session_scope(self.db_url, write=write)

    async def _in_thread(self, work: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(work, *args)

    def _current(self, token: str | None) -> Dict[str, Any] | None:
        with self._db(write=True) as s:
            found = auth.current_session(s, token, self.now())
            if found is None:
                return None
            agent, row = found
            return {"agent": agent, "csrf": row.csrf_token}

    async def agent_of(
        self, request: web.Request, *, write: bool = False, roles: tuple[str, ...] = CONSOLE_ROLES
    ) -> tuple[Agent, str]:
        """The signed-in agent (and the session's CSRF token) if their role is one of `roles`;
        otherwise 401 (not signed in), a page of another role goes to the role's own page, 403."""
        found = await self._in_thread(self._current, request.cookies.get(SESSION_COOKIE))
        api = request.path.startswith("/api/")
        if found is None:
            if api:
                raise web.HTTPUnauthorized(text="Session expirée : reconnectez-vous.")
            raise web.HTTPSeeOther("/connexion")
        agent, csrf = found["agent"], found["csrf"]
        if agent.role not in roles:
            if request.method == "GET" and not api and HOME[agent.role] != request.path:
                raise web.HTTPSeeOther(HOME[agent.role])
            raise web.HTTPForbidden(text=FORBIDDEN.get(roles, "Accès refusé pour votre rôle."))
        if write:
            given = request.headers.get("X-CSRF-Token")
            if given is None and request.content_type == "application/x-www-form-urlencoded":
                given = (await request.post()).get("csrf")
            if not given or not secrets.compare_digest(str(given), csrf):
                raise web.HTTPForbidden(text="Jeton de sécurité invalide : rechargez la page.")
        return agent, csrf

    # ---- sign-in ----

    async def sign_in_form(self, request: web.Request) -> web.Response:
        return sign_in_page(secrets.token_urlsafe(32))

    async def sign_in(self, request: web.Request) -> web.Response:
        form = await request.post()
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        given = str(form.get("csrf", ""))
        if not cookie or not secrets.compare_digest(cookie, given):
            return sign_in_page(secrets.token_urlsafe(32), "Jeton de sécurité invalide : réessayez.", 403)
        login, password = str(form.get("login", ""))[:64], str(form.get("password", ""))[:200]

        def check() -> tuple[str, str] | None:
            with self._db(write=True) as s:
                agent = auth.authenticate(s, login, password, client_address(request), self.now())
                return (auth.open_session(s, agent, self.now()).token, agent.role) if agent else None

        signed_in = await self._in_thread(check)
        if signed_in is None:
            return sign_in_page(secrets.token_urlsafe(32), auth.SIGN_IN_REFUSED, 401)
        token, role = signed_in
        response = web.HTTPSeeOther(HOME[role])
        _set_cookie(response, SESSION_COOKIE, token)
        response.del_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    async def sign_out(self, request: web.Request) -> web.Response:
        await self.agent_of(request, write=True, roles=ROLES)
        token = request.cookies.get(SESSION_COOKIE)

        def close() -> None:
            with self._db(write=True) as s:
                auth.close_session(s, token)

        await self._in_thread(close)
        response = web.HTTPSeeOther("/connexion")
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    # ---- the console page ----

    async def index(self, request: web.Request) -> web.Response:
        agent, csrf = await self.agent_of(request)
        reasons = "".join(
            f'<option value="{key}">{html.escape(label)}</option>'
            for key, label in queue.CLOSE_REASONS.items()
            if key not in ("citizen_left", "not_taken")
        )
        canned = "".join(f"<option>{html.escape(text)}</option>" for text in CANNED_ANSWERS)
        services = ", ".join(
            self.territory.services[s].name for s in agent.service_list if s in self.territory.services
        )
        body = f"""<header>
<p class="who">{html.escape(agent.display_name)} — {html.escape(services or "tous les services")}</p>
<nav aria-label="Menu des agents"><a href="/agenda/jour">Agenda des rendez-vous</a></nav>
<form method="post" action="/deconnexion"><input type="hidden" name="csrf" value="{html.escape(csrf)}">
<button type="submit">Se déconnecter</button></form>
</header>
<main id="contenu" data-csrf="{html.escape(csrf)}">
<h1>Console des agents</h1>
<section aria-labelledby="titre-file">
<h2 id="titre-file">Conversations en attente</h2>
<p id="etat-file" role="status" aria-live="polite"></p>
<table id="file"><caption class="sr-only">File d'attente de vos services</caption>
<thead><tr><th scope="col">Sujet</th><th scope="col">Service</th><th scope="col">Canal</th>
<th scope="col">Attente</th><th scope="col">État</th><th scope="col">Action</th></tr></thead>
<tbody></tbody></table>
</section>
<section id="conversation" aria-labelledby="titre-conversation" hidden>
<h2 id="titre-conversation" tabindex="-1">Conversation</h2>
<dl id="contexte"></dl>
<ol id="transcription" aria-live="polite" aria-relevant="additions"></ol>
<form id="reponse">
<p><label for="modele">Réponses types</label>
<select id="modele"><option value="">— Choisir une réponse type —</option>{canned}</select></p>
<p><label for="texte">Votre réponse</label>
<textarea id="texte" rows="3" maxlength="{MAX_REPLY_CHARS}" required></textarea></p>
<p><button type="submit">Envoyer</button></p>
</form>
<form id="cloture">
<p><label for="motif">Motif de clôture</label>
<select id="motif" required>{reasons}</select>
<button type="submit">Clore la conversation</button></p>
</form>
<p id="message" role="status" aria-live="polite"></p>
</section>
</main>
<script src="/static/console.js"></script>"""
        return page("Console", body)

    # ---- JSON API ----

    async def queue_listing(self, request: web.Request) -> web.Response:
        agent, _ = await self.agent_of(request)

        def listing() -> List[Dict[str, Any]]:
            with self._db() as s:
                return [w.__dict__ for w in queue.listing(s, agent, self.now())]

        items = await self._in_thread(listing)
        for item in items:
            item["mine"] = item.pop("agent_id") == agent.id
            item["service_name"] = self._service_name(item["service"])
            item["topic_label"] = topic_label(item["topic"])
        return web.json_response({"items": items})

    def _service_name(self, key: str) -> str:
        service = self.territory.services.get(key)
        return service.name if service else key

    def _request_id(self, request: web.Request) -> int:
        try:
            return int(request.match_info["id"])
        except ValueError:
            raise web.HTTPNotFound(text="Conversation inconnue.") from None

    def _held(self, request_id: int, agent: Agent) -> Dict[str, Any] | None:
        with self._db() as s:
            held = queue.held_by(s, request_id, agent)
            return (
                None
                if held is None
                else {c: getattr(held, c) for c in ("conversation_id", "channel", "service", "topic")}
            )

    async def _held_or_404(self, request: web.Request, agent: Agent) -> Dict[str, Any]:
        held = await self._in_thread(self._held, self._request_id(request), agent)
        if held is None:
            raise web.HTTPNotFound(text="Cette conversation n'est pas (ou plus) la vôtre.")
        return held

    async def take(self, request: web.Request) -> web.Response:
        agent, _ = await self.agent_of(request, write=True)
        request_id = self._request_id(request)

        def take() -> Dict[str, Any] | None:
            with self._db(write=True) as s:
                taken = queue.take(s, request_id, agent, self.now())
                return (
                    None
                    if taken is None
                    else {
                        "conversation_id": taken.conversation_id,
                        "channel": taken.channel,
                        "service": taken.service,
                    }
                )

        taken = await self._in_thread(take)
        if taken is None:
            raise web.HTTPConflict(text="Cette conversation a déjà été prise ou n'est plus en attente.")
        service = self._service_name(taken["service"])
        greeting = (
            f"Bonjour, je suis {agent.display_name} ({service}). Je lis votre demande et je vous réponds."
        )
        await self._tell(taken["conversation_id"], taken["channel"], greeting, agent.display_name)
        logger.info("hand-off %d taken by agent %d", request_id, agent.id)
        return web.json_response({"ok": True})

    async def _tell(self, conversation_id: str, channel: str, text: str, agent_name: str) -> None:
        try:
            await self.rasa.say(conversation_id, channel, text, agent_name)
        except RasaUnavailable as exc:
            logger.error("agent message not delivered: %s", exc)
            raise web.HTTPBadGateway(
                text="L'assistant ne répond pas : message non envoyé, réessayez."
            ) from None

    async def conversation(self, request: web.Request) -> web.Response:
        agent, _ = await self.agent_of(request)
        held = await self._held_or_404(request, agent)
        try:
            tracker = await self.rasa.tracker(held["conversation_id"])
        except RasaUnavailable:
            raise web.HTTPBadGateway(text="L'assistant ne répond pas : transcription indisponible.") from None
        return web.json_response(
            {
                "topic": topic_label(held["topic"]),
                "service": self._service_name(held["service"]),
                "channel": held["channel"],
                "slots": context_slots(tracker),
                "transcript": transcript(tracker),
            }
        )

    async def reply(self, request: web.Request) -> web.Response:
        agent, _ = await self.agent_of(request, write=True)
        held = await self._held_or_404(request, agent)
        body = await _json(request)
        text = str(body.get("text") or "").strip()
        if not text:
            raise web.HTTPBadRequest(text="Écrivez une réponse avant de l'envoyer.")
        if len(text) > MAX_REPLY_CHARS:
            raise web.HTTPBadRequest(text=f"Réponse trop longue ({MAX_REPLY_CHARS} caractères au plus).")
        await self._tell(held["conversation_id"], held["channel"], text, agent.display_name)
        return web.json_response({"ok": True})

    async def close(self, request: web.Request) -> web.Response:
        agent, _ = await self.agent_of(request, write=True)
        request_id = self._request_id(request)
        body = await _json(request)
        reason = str(body.get("reason") or "")
        if reason not in queue.CLOSE_REASONS:
            raise web.HTTPBadRequest(text="Choisissez un motif de clôture.")
        held = await self._held_or_404(request, agent)
        try:
            await self.rasa.close_and_resume(
                held["conversation_id"], held["channel"], CLOSED_TEXT, buttons=SUBJECT_BUTTONS
            )
        except RasaUnavailable:
            raise web.HTTPBadGateway(
                text="L'assistant ne répond pas : la conversation reste ouverte, réessayez."
            ) from None

        def close() -> None:
            with self._db(write=True) as s:
                found = queue.held_by(s, request_id, agent)
                if found is not None:
                    queue.close(s, found, reason, self.now())

        await self._in_thread(close)
        logger.info("hand-off %d closed by agent %d: %s", request_id, agent.id, reason)
        return web.json_response({"ok": True})

    # ---- conversations nobody took in time ----

    async def sweep_once(self) -> int:
        def overdue() -> List[Dict[str, Any]]:
            with self._db(write=True) as s:
                found = queue.overdue(s, self.now())
                for request in found:
                    queue.close(s, request, "not_taken", self.now())
                return [
                    {"conversation_id": r.conversation_id, "channel": r.channel, "id": r.id} for r in found
                ]

        handed_back = await self._in_thread(overdue)
        for item in handed_back:
            try:
                await self.rasa.close_and_resume(item["conversation_id"], item["channel"], NOT_TAKEN_TEXT)
                # action_human_handoff sees the hand-off ended unanswered: the contact, and
                # « Souhaitez-vous qu'un agent vous recontacte ? » (the callback request).
                await self.rasa.trigger_intent(item["conversation_id"], "human_handoff")
            except RasaUnavailable as exc:
                logger.error("hand-off %d not handed back to the assistant: %s", item["id"], exc)
        return len(handed_back)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:  # noqa: BLE001 - logged; the next round tries again
                logger.exception("hand-off sweep failed")
            await asyncio.sleep(SWEEP_SECONDS)


async def _json(request: web.Request) -> Dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="Requête invalide : un objet JSON est attendu.") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="Requête invalide : un objet JSON est attendu.")
    return body


def create_app(console: Console, sweep: bool = True) -> web.Application:
    app = web.Application(middlewares=[headers_middleware], client_max_size=64 * 1024)
    app.add_routes(
        [
            web.get("/connexion", console.sign_in_form),
            web.post("/connexion", console.sign_in),
            web.post("/deconnexion", console.sign_out),
            web.get("/", console.index),
            web.get("/api/queue", console.queue_listing),
            web.post("/api/handoffs/{id}/take", console.take),
            web.get("/api/handoffs/{id}/conversation", console.conversation),
            web.post("/api/handoffs/{id}/reply", console.reply),
            web.post("/api/handoffs/{id}/close", console.close),
            web.static("/static", STATIC),
        ]
    )
    bridge = chatwoot.ChatwootBridge.from_env(console) if chatwoot.enabled() else None
    if bridge is not None:
        app.add_routes(bridge.routes())  # Chatwoot's webhooks (signed; not a session route)
    app[CHATWOOT_BRIDGE] = bridge
    app.add_routes(Agenda(console).routes())  # the agents' agenda of appointments (handoff/agenda.py)
    dashboard.register(app, console)  # the statistics pages (handoff/dashboard.py)

    async def background(app: web.Application):
        tasks = [asyncio.create_task(console._sweep_forever())] if sweep else []
        if sweep and bridge is not None:
            tasks.append(asyncio.create_task(bridge.forward_forever()))
        yield
        for task in tasks:
            task.cancel()
        if bridge is not None:
            await bridge.client.close()
        await console.rasa.close()

    app.cleanup_ctx.append(background)
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    port = int(os.environ.get("GRU_CONSOLE_PORT", "8090"))
    host = os.environ.get("GRU_CONSOLE_HOST", "127.0.0.1")
    web.run_app(create_app(Console(RasaApi.from_env())), host=host, port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
