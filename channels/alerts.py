"""Crisis alerts over HTTP, mounted by Rasa like a channel (credentials.yml), so on the
assistant's own address: /webhooks/alerts/…  It answers no chat message.

- GET  /confirm?token=…       the e-mail double opt-in link (signed, expiring): a French page
- GET  /unsubscribe?token=…   the link of every alert e-mail: ends the subscription at once
- POST /sms                   inbound SMS from the gateway ({"from", "text"}, bearer
                              GRU_SMS_WEBHOOK_TOKEN): « STOP » ends that number's alerts
- POST /broadcast/preview     operators (bearer GRU_ALERTS_TOKEN): {topic, sectors, text, link,
                              hours} → 200 {preview_id, recipients, sample, confirmed_at}
                              (confirmed_at: the same alert is already active, see broadcast)
- POST /broadcast/confirm     {preview_id} → 202 {alert_id}: the alert is active and its
                              delivery runs in the background
- GET  /broadcast/<id>        the delivery report (sent / failed per channel)

Tokens are compared in constant time; without GRU_ALERTS_TOKEN the broadcast endpoints
answer 503 (never open by default). Blocking work (database) runs in threads.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
import os
from typing import Any, Awaitable, Callable, Dict, Set

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from alerts import broadcast
from alerts.config import load_alerts_config
from alerts.senders import senders_from_env
from alerts.signing import BadToken, ExpiredToken, read_token
from alerts.subscriptions import confirm_email, normalise_phone, stop, stop_by_id
from core.text import fold

logger = logging.getLogger(__name__)

MAX_BODY = 4096
STOP_WORDS = {"stop", "arret", "arreter", "stop alertes", "stop alerte"}


def bearer_ok(request: Request, variable: str) -> bool | None:
    """True/False for a right/wrong bearer token; None when the variable is not set."""
    expected = os.environ.get(variable) or ""
    if not expected:
        return None
    given = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def page(text: str, status: int = 200) -> HTTPResponse:
    body = (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Alertes</title></head><body><main><h1>Alertes de la commune</h1>"
        f"<p>{html.escape(text, quote=False)}</p></main></body></html>"
    )
    return response.html(body, status=status)


def _link_page(token: str, purpose: str, act: Callable[[int], bool]) -> Callable[[], HTTPResponse]:
    pages = load_alerts_config().pages

    def run() -> HTTPResponse:
        try:
            subscription_id = read_token(token, purpose)
        except ExpiredToken:
            return page(pages.expired, 410)
        except BadToken:
            return page(pages.invalid, 400)
        if not act(subscription_id):
            return page(pages.unknown, 404)
        return page(pages.confirmed if purpose == "confirm" else pages.unsubscribed)

    return run


def is_stop(text: str) -> bool:
    return fold(" ".join((text or "")[:40].split())).strip(" .!") in STOP_WORDS


class AlertsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "alerts"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("alerts_webhook", __name__)
        self.tasks: Set[asyncio.Task] = set()

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/confirm", methods=["GET"])
        async def confirm(request: Request) -> HTTPResponse:
            run = _link_page(request.args.get("token", ""), "confirm", confirm_email)
            return await asyncio.to_thread(run)

        @hook.route("/unsubscribe", methods=["GET"])
        async def unsubscribe(request: Request) -> HTTPResponse:
            run = _link_page(request.args.get("token", ""), "unsubscribe", stop_by_id)
            return await asyncio.to_thread(run)

        @hook.route("/sms", methods=["POST"])
        async def inbound_sms(request: Request) -> HTTPResponse:
            allowed = bearer_ok(request, "GRU_SMS_WEBHOOK_TOKEN")
            if not allowed:
                return response.json({"error": "unauthorized"}, status=401 if allowed is False else 503)
            body = _json(request)
            if body is None:
                return response.json({"error": "invalid payload"}, status=400)
            number = normalise_phone(str(body.get("from") or ""))
            if number and is_stop(str(body.get("text") or "")):
                stopped = await asyncio.to_thread(stop, "sms", number)
                logger.info(
                    "alerts: STOP received by SMS (%s)",
                    "subscription ended" if stopped else "no subscription",
                )
                return response.json({"stopped": stopped})
            return response.json({"stopped": False})

        @hook.route("/broadcast/preview", methods=["POST"])
        async def preview(request: Request) -> HTTPResponse:
            refused = _operator_refusal(request)
            if refused:
                return refused
            body = _json(request)
            if body is None:
                return response.json({"error": "Corps JSON invalide."}, status=400)
            sectors = body.get("sectors") or []
            if not isinstance(sectors, list) or not all(isinstance(s, str) for s in sectors):
                return response.json({"error": "« sectors » doit être une liste de secteurs."}, status=400)
            try:
                result = await asyncio.to_thread(
                    broadcast.preview, str(body.get("topic") or ""), sectors, str(body.get("text") or ""),
                    str(body.get("link") or "") or None,
                )  # fmt: skip
            except broadcast.BroadcastError as exc:
                return response.json({"error": str(exc)}, status=400)
            return response.json(
                {
                    "preview_id": result.alert_id,
                    "recipients": result.recipients,
                    "sample": result.samples,
                    # the same alert still active: its id, and only those it has not reached
                    "confirmed_at": result.confirmed_at.isoformat() if result.confirmed_at else None,
                }
            )

        @hook.route("/broadcast/confirm", methods=["POST"])
        async def confirm_broadcast(request: Request) -> HTTPResponse:
            refused = _operator_refusal(request)
            if refused:
                return refused
            body = _json(request) or {}
            alert_id = str(body.get("preview_id") or "")[:64]
            hours = body.get("hours")
            hours = hours if isinstance(hours, int) and 1 <= hours <= 24 * 30 else None
            try:
                count = await asyncio.to_thread(broadcast.confirm, alert_id, hours=hours)
            except broadcast.BroadcastError as exc:
                return response.json({"error": str(exc)}, status=404)
            self._run_later(_deliver(alert_id))
            return response.json({"alert_id": alert_id, "deliveries": count}, status=202)

        @hook.route("/broadcast/<alert_id>", methods=["GET"])
        async def report(request: Request, alert_id: str) -> HTTPResponse:
            refused = _operator_refusal(request)
            if refused:
                return refused
            result = await asyncio.to_thread(broadcast.report, alert_id[:64])
            return response.json({"alert_id": result.alert_id, "counts": result.counts})

        return hook

    def _run_later(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def _operator_refusal(request: Request) -> HTTPResponse | None:
    allowed = bearer_ok(request, "GRU_ALERTS_TOKEN")
    if allowed is None:
        return response.json(
            {"error": "Diffusion désactivée : GRU_ALERTS_TOKEN n'est pas défini."}, status=503
        )
    if not allowed:
        logger.warning("alerts broadcast refused: wrong or missing token")
        return response.json({"error": "Jeton d'accès invalide."}, status=401)
    return None


def _json(request: Request) -> Dict[str, Any] | None:
    if len(request.body or b"") > MAX_BODY:
        return None
    try:
        body = request.json
    except Exception:  # noqa: BLE001 - malformed JSON is refused, never a 500
        return None
    return body if isinstance(body, dict) else None


async def _deliver(alert_id: str) -> None:
    senders = senders_from_env()
    try:
        await broadcast.deliver(alert_id, senders)
    except Exception as exc:  # noqa: BLE001 - logged; the report shows what was sent
        logger.error("alerts: delivery of %s stopped: %s", alert_id, type(exc).__name__)
    finally:
        for sender in senders.values():
            await sender.close()
