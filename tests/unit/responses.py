"""Test helper: what a citizen reads from the messages an action sends, rendered from the
responses of domain/ exactly as Rasa fills them (values passed by the action)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Tuple

from tests.conftest import ROOT


@lru_cache(maxsize=1)
def responses() -> Dict[str, List[Dict[str, Any]]]:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain")).responses


def render(message: Dict[str, Any]) -> Tuple[str, List[Dict[str, str]]]:
    """(text, buttons) of one message collected by rasa-sdk's CollectingDispatcher."""
    from rasa.core.nlg.interpolator import interpolate, interpolate_text

    name = message.get("response")
    if not name:
        return message.get("text") or "", list(message.get("buttons") or [])
    assert name in responses(), f"no response {name} in domain/"
    template = responses()[name][0]
    values = {k: v for k, v in message.items() if k not in ("response", "buttons", "text")}
    text = interpolate_text(template.get("text") or "", values)
    assert "{" not in text, f"{name}: a value is missing in {text!r}"
    buttons = [interpolate(dict(b), values) for b in template.get("buttons") or []]
    return text, buttons + list(message.get("buttons") or [])


def said(messages: List[Dict[str, Any]]) -> str:
    """Every message's text, one paragraph each."""
    return "\n\n".join(render(m)[0] for m in messages if render(m)[0])


def buttons_of(messages: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    return [b for m in messages for b in render(m)[1]]
