"""A read-only "channel" that serves the waste-collection calendar as an iCalendar file.

Mounted by Rasa like any channel (credentials.yml), so the link given in the chat is on
the assistant's own address and port: GET /webhooks/calendar/ics?sector=…&street=…
It answers no messages. The street only titles the calendar; no personal data is kept.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


def calendar_file(sector: str, street: str, today: date) -> tuple[int, str]:
    """(HTTP status, body): the next months of collections for a sector."""
    from waste.calendar import ics_period, to_ics
    from waste.config import load_waste_config

    config = load_waste_config()
    if sector not in config.sectors:
        return 404, "Secteur inconnu."
    street = street if config.street(street) else config.city
    first, last = ics_period(config, today)
    return 200, to_ics(config, sector, street, first, last)


class CalendarInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "calendar"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        calendar = Blueprint("calendar_webhook", __name__)

        @calendar.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @calendar.route("/ics", methods=["GET"])
        async def ics(request: Request) -> HTTPResponse:
            today = datetime.now(ZoneInfo("Europe/Paris")).date()
            status, body = calendar_file(
                request.args.get("sector", ""), request.args.get("street", ""), today
            )
            if status != 200:
                return response.text(body, status=status)
            return response.text(
                body,
                content_type="text/calendar; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="collectes.ics"'},
            )

        return calendar
