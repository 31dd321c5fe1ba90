"""python -m ops.broadcast: the preview, the explicit confirmation (nothing sent without
« oui »), --yes for scripts, the report per channel, and operator mistakes in French."""

from __future__ import annotations

from alerts.subscriptions import subscribe
from core.db import session_scope
from ops import broadcast as cli


def setup(db_url, monkeypatch):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    for name in ("GRU_SMTP_HOST", "GRU_SMS_URL", "FACEBOOK_PAGE_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    subscribe(
        channel="web",
        address="rest:a",
        origin="rest:a",
        topics=["canicule"],
        sector=None,
        consent_version="v",
    )
    subscribe(channel="sms", address="+33612345678", origin="rest:b", topics=["canicule"], sector="nord",
              consent_version="v")  # fmt: skip


def deliveries(db_url) -> int:
    with session_scope(db_url) as session:
        return session.execute(
            __import__("sqlalchemy").text("SELECT count(*) FROM alert_deliveries")
        ).scalar()


def test_nothing_is_sent_without_oui(db_url, monkeypatch, capsys):
    setup(db_url, monkeypatch)
    code = cli.main(["--topic", "canicule", "--text", "Forte chaleur."], ask=lambda prompt: "non")
    out = capsys.readouterr().out
    assert code == 1 and "Destinataires : Messenger 0, E-mail 0, SMS 1, Site (prochaine visite) 1" in out
    assert "Envoi annulé" in out and deliveries(db_url) == 0


def test_yes_sends_and_reports_per_channel(db_url, monkeypatch, capsys):
    setup(db_url, monkeypatch)
    assert cli.main(["--topic", "canicule", "--sector", "nord", "--text", "Forte chaleur.", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Site (prochaine visite) : 1 envoyé(s), 0 en échec" in out
    assert "SMS : 0 envoyé(s), 1 en échec" in out  # no SMS gateway configured here


def test_operator_mistakes_are_explained(db_url, monkeypatch, capsys):
    setup(db_url, monkeypatch)
    assert cli.main(["--topic", "canicule", "--sector", "lune", "--text", "x", "--yes"]) == 2
    assert "Secteur « lune » inconnu" in capsys.readouterr().err
    assert cli.main(["--resume", "nope"]) == 2


def test_running_the_same_command_again_sends_nothing_twice(db_url, monkeypatch, capsys):
    setup(db_url, monkeypatch)
    command = ["--topic", "canicule", "--text", "Forte chaleur.", "--yes"]
    assert cli.main(command) == 0
    first = capsys.readouterr().out
    assert "déjà été confirmée" not in first and deliveries(db_url) == 2
    assert cli.main(command) == 0
    again = capsys.readouterr().out
    assert first.splitlines()[0] == again.splitlines()[0]  # « Aperçu de l'alerte <the same id> »
    assert "déjà été confirmée" in again
    assert "Destinataires : Messenger 0, E-mail 0, SMS 0, Site (prochaine visite) 0" in again
    assert deliveries(db_url) == 2  # no second row for anyone
