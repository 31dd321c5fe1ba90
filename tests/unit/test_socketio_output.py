"""The website's socketio output: link buttons reach the widget with their url."""

from __future__ import annotations

from channels.socketio import WidgetOutput, quick_reply


class Recorder:
    def __init__(self) -> None:
        self.emitted: list = []

    async def emit(self, event, data, room=None):
        self.emitted.append((event, data, room))


async def test_a_link_button_keeps_its_url_and_the_answer_is_sent():
    sio = Recorder()
    buttons = [
        {
            "title": "Plus d'infos",
            "type": "web_url",
            "url": "https://www.service-public.fr/particuliers/vosdroits/F1426",
        },
        {"title": "Parler à un agent", "payload": "/human_handoff"},
    ]
    await WidgetOutput(sio, "bot_uttered").send_text_with_buttons(
        "room-1", "Première partie.\n\nSeconde.", buttons
    )
    assert [data["text"] for _, data, _ in sio.emitted] == ["Première partie.", "Seconde."]
    assert all(room == "room-1" and event == "bot_uttered" for event, _, room in sio.emitted)
    assert sio.emitted[0][1]["quick_replies"] == []
    assert sio.emitted[1][1]["quick_replies"] == [
        {
            "content_type": "text",
            "type": "web_url",
            "title": "Plus d'infos",
            "url": "https://www.service-public.fr/particuliers/vosdroits/F1426",
        },
        {"content_type": "text", "title": "Parler à un agent", "payload": "/human_handoff"},
    ]


def test_a_url_without_payload_is_a_link_and_a_payload_wins_otherwise():
    assert quick_reply({"title": "Calendrier", "url": "https://x.example/c.ics"})["type"] == "web_url"
    assert "url" not in quick_reply({"title": "Oui", "payload": "/affirm", "url": "https://x.example"})
