"""Which websites may open Rasa's socketio channel (its --cors): the page that serves the widget
by default (`make run`: the demo page; production: the origin of GRU_PUBLIC_URL), the
operator's list when set, and `*` only when the operator writes it (with a warning)."""

from __future__ import annotations

import logging

import pytest

from ops import servers, web
from ops.production import default_cors
from ops.render import ConfigError


def test_make_run_allows_the_demo_page_only(monkeypatch):
    monkeypatch.delenv("GRU_WEB_PORT", raising=False)
    port, _ = web.settings(5005)
    assert servers.cors_origins({}, web.page_origins(port)) == [
        "http://localhost:8080",
        "http://127.0.0.1:8080",
    ]
    assert servers.cors_origins({"GRU_CORS_ORIGINS": " "}, web.page_origins(9000)) == [
        "http://localhost:9000",
        "http://127.0.0.1:9000",
    ]


def test_production_allows_the_origin_of_the_public_url():
    assert default_cors({"GRU_PUBLIC_URL": "https://Assistant.example.fr/"}) == [
        "https://assistant.example.fr"
    ]
    assert default_cors({"GRU_PUBLIC_URL": "https://mairie.example.fr:8443/assistant"}) == [
        "https://mairie.example.fr:8443"
    ]
    assert default_cors({}) == ["http://localhost:5005"]  # core.http's default public URL


def test_the_operators_list_replaces_the_default():
    env = {
        "GRU_PUBLIC_URL": "https://assistant.example.fr",
        "GRU_CORS_ORIGINS": "https://www.example.fr/, https://www.example.fr https://agenda.example.fr",
    }
    assert default_cors(env) == ["https://www.example.fr", "https://agenda.example.fr"]


def test_a_wildcard_only_when_set_and_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="ops.servers"):
        assert servers.cors_origins({}, web.page_origins(8080)) != ["*"]
        assert not caplog.records
        assert default_cors({"GRU_CORS_ORIGINS": "*"}) == ["*"]
    assert "any website" in caplog.text


@pytest.mark.parametrize("value", ["www.example.fr", "ftp://example.fr", "https://"])
def test_a_value_that_is_no_origin_is_refused_in_french(value):
    with pytest.raises(ConfigError, match="n'est pas une origine"):
        default_cors({"GRU_CORS_ORIGINS": value})


def test_rasa_gets_one_argument_per_origin_and_none_without_origins():
    assert servers.cors_args(["http://localhost:8080", "http://127.0.0.1:8080"]) == [
        "--cors",
        "http://localhost:8080",
        "http://127.0.0.1:8080",
    ]
    assert servers.cors_args([]) == [] and servers.cors_args("") == []
