"""GRU_PUBLIC_URL in production (GRU_ENV=production): every process that gives out links refuses to
start without an https, non-local address, with one French line saying what to set."""

from __future__ import annotations

import asyncio

import pytest

from booking import hub, reminders
from core.http import public_url_problem
from ops import production
from portal import app as portal

PRODUCTION = {"GRU_ENV": "production"}


def test_outside_production_anything_goes():
    assert public_url_problem({}) is None
    assert public_url_problem({"GRU_PUBLIC_URL": "http://localhost:5005"}) is None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "http://assistant.mairie.fr",
        "https://localhost",
        "https://127.0.0.1:8000",
        "http://[::1]:5200",
    ],
)
def test_production_needs_an_https_public_address(value):
    env = dict(PRODUCTION, **({} if value is None else {"GRU_PUBLIC_URL": value}))
    problem = public_url_problem(env)
    assert problem is not None and "\n" not in problem
    assert "GRU_PUBLIC_URL" in problem and "https://" in problem and "production" in problem


def test_production_with_its_public_address_is_fine():
    assert public_url_problem(dict(PRODUCTION, GRU_PUBLIC_URL="https://assistant.mairie.fr/")) is None


def _production_without_url(monkeypatch, value=None):
    monkeypatch.setenv("GRU_ENV", "production")
    if value is None:
        monkeypatch.delenv("GRU_PUBLIC_URL", raising=False)
    else:
        monkeypatch.setenv("GRU_PUBLIC_URL", value)


def _one_french_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("GRU_PUBLIC_URL")
    assert "indiquez l'adresse publique https" in err
    return err


def test_the_hub_refuses_to_start(monkeypatch, capsys):
    _production_without_url(monkeypatch)
    monkeypatch.setenv("GRU_HUB_TOKEN", "a-token-agreed-with-ants")
    assert hub.main() == 1
    _one_french_line(capsys)


def test_the_pages_refuse_to_start(monkeypatch, capsys):
    _production_without_url(monkeypatch, "http://localhost:5200")
    assert portal.main() == 1
    assert "« http://localhost:5200 »" in _one_french_line(capsys)


def test_the_reminders_refuse_to_run(monkeypatch, capsys):
    _production_without_url(monkeypatch)
    monkeypatch.setenv("GRU_SMTP_HOST", "smtp.example.fr")  # a channel: they would send otherwise
    assert asyncio.run(reminders._main()) == 1
    _one_french_line(capsys)


@pytest.mark.parametrize("command", ["up", "jobs"])
def test_the_production_shape_refuses_to_start(monkeypatch, capsys, command):
    _production_without_url(monkeypatch, "http://127.0.0.1:8000")
    assert production.main([command]) == 1
    _one_french_line(capsys)
