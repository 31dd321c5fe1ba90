"""The agent console's client of Rasa's HTTP API (token auth, `--enable-api`).

Every write goes through Rasa so that the transcript in the tracker store stays complete:
- the agent's reply is a `bot` event appended with `execute_side_effects=true` and
  `output_channel=latest`: Rasa stores it and sends it on the citizen's own channel
  (socketio room of the session, Messenger Send API; REST has no way to push, the citizen
  reads it in the tracker); on Messenger it carries a custom payload that
  channels/facebook.py sends with the HUMAN_AGENT tag;
- closing appends `resume` (ConversationResumed) and a bot message the same way;
- a conversation nobody took in time is resumed, told so, and `human_handoff` is triggered
  (POST …/trigger_intent): the assistant gives the contact and offers the callback request.
Reads: GET /conversations/<id>/tracker (the current session only).
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, List
from urllib.parse import quote

import aiohttp

HUMAN_AGENT_KEY = "gru_human_agent"  # the key channels/facebook.py looks for
TIMEOUT = aiohttp.ClientTimeout(total=float(os.environ.get("GRU_RASA_TIMEOUT", "10")))


class RasaUnavailable(Exception):
    pass


class RasaApi:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session: aiohttp.ClientSession | None = None

    @classmethod
    def from_env(cls) -> RasaApi:
        port = os.environ.get("RASA_PORT", "5005")
        url = os.environ.get("GRU_RASA_URL") or f"http://127.0.0.1:{port}"
        return cls(url, os.environ.get("GRU_RASA_TOKEN", ""))

    def _url(self, conversation_id: str, tail: str) -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/{tail}"

    async def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=TIMEOUT)
        params = {"token": self.token, **kwargs.pop("params", {})}
        try:
            async with self.session.request(method, url, params=params, **kwargs) as response:
                if response.status >= 400:
                    raise RasaUnavailable(f"rasa answered {response.status}")
                return await response.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(type(exc).__name__) from exc

    async def tracker(self, conversation_id: str) -> Dict[str, Any]:
        return await self._request("GET", self._url(conversation_id, "tracker"))

    async def append(self, conversation_id: str, events: List[Dict[str, Any]]) -> Dict[str, Any]:
        return await self._request(
            "POST",
            self._url(conversation_id, "tracker/events"),
            params={"execute_side_effects": "true", "output_channel": "latest", "include_events": "NONE"},
            json=events,
        )

    async def say(self, conversation_id: str, channel: str, text: str, agent_name: str, **extra: Any) -> None:
        await self.append(conversation_id, [bot_event(channel, text, agent_name, **extra)])

    async def close_and_resume(self, conversation_id: str, channel: str, text: str, **extra: Any) -> None:
        await self.append(
            conversation_id,
            [{"event": "resume", "timestamp": time.time()}, bot_event(channel, text, None, **extra)],
        )

    async def trigger_intent(self, conversation_id: str, intent: str) -> Dict[str, Any]:
        """Rasa runs the intent's rule as if the citizen had asked (the tracker shows it as an
        « EXTERNAL: » user message, which the transcript leaves out)."""
        return await self._request(
            "POST",
            self._url(conversation_id, "trigger_intent"),
            params={"output_channel": "latest", "include_events": "NONE"},
            json={"name": intent, "entities": {}},
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


def bot_event(
    channel: str, text: str, agent_name: str | None, buttons: List[Dict[str, str]] | None = None
) -> Dict[str, Any]:
    """A bot message for the tracker; on Messenger, an agent's reply also carries the custom
    payload that channels/facebook.py sends alone, with the HUMAN_AGENT tag."""
    data: Dict[str, Any] = {}
    if buttons:
        data["buttons"] = buttons
    if channel == "facebook" and agent_name is not None:
        data["custom"] = {HUMAN_AGENT_KEY: text}
    return {
        "event": "bot",
        "text": text,
        "data": data,
        "metadata": {"handoff_agent": agent_name} if agent_name else {"handoff": True},
        "timestamp": time.time(),
    }
