"""The size limits every channel shares, and the socketio channel's handlers checked
without a running server (the socketio server's emit and enter_room are recorders)."""

import asyncio
import json
from unittest import mock

import pytest

from channels.limits import (
    MAX_MESSAGE_CHARS,
    MAX_METADATA_BYTES,
    MESSAGE_TOO_LONG,
    METADATA_TOO_LARGE,
    metadata_size,
    refusal,
)
from channels.socketio import GuardedSocketIOInput


def test_refusal_texts_are_french_and_shared():
    assert refusal("a" * MAX_MESSAGE_CHARS) is None
    assert refusal("a" * (MAX_MESSAGE_CHARS + 1)) == MESSAGE_TOO_LONG
    assert "20 000 caractères" in MESSAGE_TOO_LONG
    assert refusal("Bonjour", {"x": "é" * (MAX_METADATA_BYTES // 2)}) == METADATA_TOO_LARGE
    assert refusal("Bonjour", {"lang": "fr"}) is None
    assert metadata_size(json.dumps({"a": "b"})) == len('{"a": "b"}')


class Recorder:
    def __init__(self):
        self.messages = []

    async def __call__(self, message):
        self.messages.append(message)


def socketio_handlers(session_persistence=True):
    channel = GuardedSocketIOInput(session_persistence=session_persistence)
    on_new_message = Recorder()
    channel.blueprint(on_new_message)
    sio = channel.sio
    sio.emit = mock.AsyncMock()
    sio.enter_room = mock.AsyncMock()  # a coroutine, as from python-socketio 5.10
    handlers = sio.handlers["/"]
    return handlers, sio, on_new_message


def test_socketio_refuses_a_long_message_before_the_nlu():
    handlers, sio, on_new_message = socketio_handlers()
    asyncio.run(handlers["user_uttered"]("sid1", {"message": "a" * 200_000, "session_id": "s1"}))
    assert on_new_message.messages == []
    sio.emit.assert_awaited_once_with("bot_uttered", {"text": MESSAGE_TOO_LONG}, room="sid1", namespace=None)


@pytest.mark.parametrize("metadata", [{"blob": "x" * 5000}, json.dumps({"blob": "x" * 5000})])
def test_socketio_refuses_large_metadata(metadata):
    handlers, sio, on_new_message = socketio_handlers()
    asyncio.run(
        handlers["user_uttered"]("sid1", {"message": "Bonjour", "session_id": "s1", "metadata": metadata})
    )
    assert on_new_message.messages == []
    sio.emit.assert_awaited_once_with(
        "bot_uttered", {"text": METADATA_TOO_LARGE}, room="sid1", namespace=None
    )


def test_socketio_session_request_awaits_enter_room_and_passes_messages_on():
    handlers, sio, on_new_message = socketio_handlers()
    asyncio.run(handlers["session_request"]("sid1", {"session_id": "s1"}))
    sio.enter_room.assert_awaited_once_with("sid1", "s1", namespace=None)
    sio.emit.assert_awaited_once_with("session_confirm", "s1", room="sid1", namespace=None)
    asyncio.run(
        handlers["user_uttered"]("sid1", {"message": "Bonjour", "session_id": "s1", "metadata": '{"a": 1}'})
    )
    (message,) = on_new_message.messages
    assert (message.text, message.sender_id, message.metadata) == ("Bonjour", "s1", {"a": 1})


def test_socketio_replaces_an_unusable_session_id():
    handlers, sio, _ = socketio_handlers()
    asyncio.run(handlers["session_request"]("sid1", {"session_id": "x" * 10_000}))
    session_id = sio.enter_room.await_args.args[1]
    assert len(session_id) == 32
