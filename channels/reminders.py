"""The « no more reminders » link of every appointment reminder, mounted by Rasa like a channel
(credentials.yml), so on the assistant's own address: /webhooks/reminders/…  It answers no chat
message.

- GET  /stop?t=…   a French page that says what the link does, with one button
- POST /stop       (form field t) stops the reminders of that appointment, and says so

A GET changes nothing: mail scanners and link previews follow links, and must not opt anyone
out (the e-mail's List-Unsubscribe header points here too). The token is signed and expires two
days after the appointment (booking/reminders.py). Logs: the outcome, never the reference.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from booking.reminders import BadToken, ExpiredToken, reference_of_stop_token, stop_reminders

logger = logging.getLogger(__name__)

TITLE = "Rappels de rendez-vous"
INVALID = "Ce lien n'est pas valide. Vérifiez qu'il est complet, ou écrivez-nous depuis l'assistant du site."
EXPIRED = "Ce lien a expiré : le rendez-vous est passé, vous ne recevrez plus de rappel."
UNKNOWN = "Ce rendez-vous n'existe plus. Vous ne recevrez pas de rappel."


def page(paragraphs: list[str], status: int = 200, form: str = "") -> HTTPResponse:
    text = "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)
    body = (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{TITLE}</title></head><body><main><h1>{TITLE}</h1>{text}{form}</main></body></html>"
    )
    return response.html(body, status=status)


def _reference(token: str) -> str | HTTPResponse:
    try:
        return reference_of_stop_token(token)
    except ExpiredToken:
        return page([EXPIRED], 410)
    except BadToken:
        return page([INVALID], 400)


class RemindersInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "reminders"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("reminders_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/stop", methods=["GET"])
        async def ask(request: Request) -> HTTPResponse:
            token = request.args.get("t", "")
            reference = _reference(token)
            if isinstance(reference, HTTPResponse):
                return reference
            form = (
                '<form method="post" action="stop">'
                f'<input type="hidden" name="t" value="{html.escape(token)}">'
                '<button type="submit">Ne plus recevoir de rappel</button></form>'
            )
            return page(
                [
                    f"Vous ne recevrez plus de rappel pour le rendez-vous {reference}.",
                    "Le rendez-vous lui-même est maintenu. Confirmez avec le bouton ci-dessous.",
                ],
                form=form,
            )

        @hook.route("/stop", methods=["POST"])
        async def stop(request: Request) -> HTTPResponse:
            form = request.form or {}
            token = (form.get("t") or request.args.get("t") or "")[:300]
            reference = _reference(token)
            if isinstance(reference, HTTPResponse):
                return reference
            if not await asyncio.to_thread(stop_reminders, reference):
                logger.info("reminders: opt-out for an appointment that no longer exists")
                return page([UNKNOWN], 404)
            logger.info("reminders: opt-out recorded")
            return page(
                [
                    f"C'est noté : plus aucun rappel pour le rendez-vous {reference}.",
                    "Le rendez-vous est maintenu. Pour le déplacer ou l'annuler, "
                    "utilisez le lien du message.",
                ]
            )

        return hook
