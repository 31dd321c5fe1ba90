"""The webchat's photo upload for a report (interface 2 of the widget): POST
/webhooks/uploads/photo, multipart field `file`, header `X-Gru-Session: <socketio session id>`.

Mounted by Rasa like any channel (credentials.yml); it answers no message. The photo is checked
by its content (JPEG, PNG or WebP only, 5 MB at most), re-encoded without its metadata (GPS EXIF
included) and stored under var/uploads/ with a random id, tied to the session that sent it
(reports/photos.py): only that conversation can attach it with `/share_photo{"upload_id": …}`.
Answers: 200 {"upload_id": "<32 hex>"}, or 4xx {"error": "<French sentence>"}. The request
rates of the channels apply (channels/rate.py: per session and per client address).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from channels import log_privacy
from channels.limits import MAX_SENDER_CHARS, TOO_MANY_MESSAGES
from channels.rate import ALLOW, ChannelRates, client_address
from channels.rest import PayloadTooLarge, read_body

log_privacy.install()
logger = logging.getLogger(__name__)

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around a 5 MB photo
SESSION_HEADER = "X-Gru-Session"
CHANNEL = "socketio"  # the conversation the photo belongs to: the webchat's

ERRORS = {
    "no_session": "Envoi impossible : la conversation n'est pas reconnue. Rechargez la page, puis réessayez.",
    "no_file": "Aucune photo reçue. Choisissez une image, puis réessayez.",
    "too_large": "Cette photo est trop lourde : 5 Mo au plus.",
    "not_an_image": "Ce fichier n'est pas une photo lisible. J'accepte les images JPEG, PNG et WebP.",
    "unsupported_type": "Ce format n'est pas accepté. J'accepte les images JPEG, PNG et WebP.",
    "too_many_pixels": "Cette image est trop grande. Envoyez une photo plus petite.",
    "empty": "Le fichier est vide. Choisissez une autre image.",
    "unavailable": (
        "L'envoi de photos est momentanément indisponible. Réessayez plus tard, ou passez cette étape."
    ),
}


def _error(reason: str, status: int) -> HTTPResponse:
    return response.json({"error": ERRORS[reason]}, status=status)


class UploadsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "uploads"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        from reports.photos import MAX_BYTES, PhotoRefused, store_photo

        uploads = Blueprint("uploads_webhook", __name__)
        rates = ChannelRates.from_env()

        @uploads.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @uploads.route("/photo", methods=["POST"], stream=True)  # read_body enforces the limit while reading
        async def photo(request: Request) -> HTTPResponse:
            session = request.headers.get(SESSION_HEADER, "")
            if not session.strip() or len(session) > MAX_SENDER_CHARS:
                return _error("no_session", 400)
            if await rates.check(session, client_address(request)) != ALLOW:
                return response.json({"error": TOO_MANY_MESSAGES}, status=429)
            try:
                await read_body(request, limit=MAX_BYTES + MULTIPART_OVERHEAD)
            except PayloadTooLarge:
                return _error("too_large", 413)
            try:
                upload = request.files.get("file") if request.files else None
            except Exception:  # noqa: BLE001 - a malformed multipart body is the client's
                upload = None
            if upload is None:
                return _error("no_file", 400)
            if len(upload.body) > MAX_BYTES:
                return _error("too_large", 413)
            try:
                upload_id = await asyncio.to_thread(store_photo, upload.body, CHANNEL, session)
            except PhotoRefused as refused:
                logger.info("webchat photo refused: %s", refused.reason)
                status = 413 if refused.reason == "too_large" else 415
                return _error(refused.reason, 400 if refused.reason == "empty" else status)
            except (SQLAlchemyError, OSError) as exc:
                logger.error("webchat photo not stored: %s", type(exc).__name__)
                return _error("unavailable", 503)
            logger.info("webchat photo stored")
            return response.json({"upload_id": upload_id})

        return uploads
