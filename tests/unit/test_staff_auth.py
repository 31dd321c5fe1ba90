"""Agent accounts: Argon2 hashes, lockout per account and per address, sessions, CSRF, CLI."""

from datetime import datetime, timedelta

import pytest

from core.db import session_scope
from staff import auth, cli
from staff.models import Agent, StaffSession

NOW = datetime(2026, 12, 1, 9, 0)
PASSWORD = "correct horse battery"


@pytest.fixture
def agent_id(db_url):
    with session_scope(db_url, write=True) as s:
        agent = auth.create_agent(
            s,
            login="JDupont",
            display_name="Jeanne",
            password=PASSWORD,
            role="agent",
            services=["etat_civil"],
            now=NOW,
        )
        return agent.id


def sign_in(db_url, password=PASSWORD, address="203.0.113.7", now=NOW, login="jdupont"):
    with session_scope(db_url, write=True) as s:
        agent = auth.authenticate(s, login, password, address, now)
        return agent.id if agent else None


def test_hashes_are_salted_argon2id_and_verify():
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and first != second
    assert auth.verify_password(first, PASSWORD)
    assert not auth.verify_password(first, PASSWORD + "x")
    assert not auth.verify_password("not a hash", PASSWORD)


def test_short_passwords_are_refused():
    with pytest.raises(auth.WeakPassword):
        auth.hash_password("court")


def test_sign_in_with_the_right_password_only(db_url, agent_id):
    assert sign_in(db_url) == agent_id
    assert sign_in(db_url, password="wrong password!") is None
    assert sign_in(db_url, login="nobody") is None


def test_five_failures_lock_the_account_for_a_while(db_url, agent_id):
    for i in range(auth.MAX_FAILURES):
        assert (
            sign_in(
                db_url, password="wrong password!", address=f"198.51.100.{i}", now=NOW + timedelta(seconds=i)
            )
            is None
        )
    assert (
        sign_in(db_url, address="192.0.2.1", now=NOW + timedelta(minutes=1)) is None
    )  # even the right password, from another address
    assert (
        sign_in(db_url, address="192.0.2.1", now=NOW + auth.LOCK_DURATION + timedelta(minutes=1)) == agent_id
    )


def test_five_failures_from_one_address_lock_that_address(db_url, agent_id):
    for i in range(auth.MAX_FAILURES):
        assert (
            sign_in(db_url, login=f"guess{i}", password="wrong password!", now=NOW + timedelta(seconds=i))
            is None
        )
    assert sign_in(db_url, now=NOW + timedelta(minutes=1)) is None  # the right account, the locked address
    assert sign_in(db_url, address="192.0.2.9", now=NOW + timedelta(minutes=1)) == agent_id


def test_sessions_store_no_token_and_expire_when_idle(db_url, agent_id):
    with session_scope(db_url, write=True) as s:
        opened = auth.open_session(s, s.get(Agent, agent_id), NOW)
    with session_scope(db_url) as s:
        assert s.get(StaffSession, opened.token) is None  # only the digest is stored
    with session_scope(db_url, write=True) as s:
        agent, row = auth.current_session(s, opened.token, NOW + timedelta(minutes=10))
        assert agent.id == agent_id and auth.csrf_valid(row, opened.csrf_token)
        assert not auth.csrf_valid(row, "forged") and not auth.csrf_valid(row, None)
    with session_scope(db_url, write=True) as s:  # 10 minutes of use moved the idle limit
        assert auth.current_session(s, opened.token, NOW + timedelta(minutes=35)) is not None
    with session_scope(db_url, write=True) as s:
        assert auth.current_session(s, opened.token, NOW + timedelta(minutes=35) + auth.IDLE_TIMEOUT) is None
    with session_scope(db_url, write=True) as s:  # and it is gone
        assert auth.current_session(s, opened.token, NOW + timedelta(minutes=36)) is None


def test_sessions_end_at_sign_out_and_at_their_maximum_age(db_url, agent_id):
    with session_scope(db_url, write=True) as s:
        first = auth.open_session(s, s.get(Agent, agent_id), NOW)
        second = auth.open_session(s, s.get(Agent, agent_id), NOW)
    with session_scope(db_url, write=True) as s:
        auth.close_session(s, first.token)
    with session_scope(db_url, write=True) as s:
        assert auth.current_session(s, first.token, NOW) is None
        assert auth.current_session(s, second.token, NOW) is not None
    late = NOW
    while late < NOW + auth.MAX_AGE:  # kept busy, it still ends
        late += auth.IDLE_TIMEOUT / 2
        with session_scope(db_url, write=True) as s:
            found = auth.current_session(s, second.token, late)
    assert found is None


def test_agents_on_duty_per_service(db_url, agent_id):
    with session_scope(db_url, write=True) as s:
        auth.create_agent(
            s,
            login="stats",
            display_name="S",
            password=PASSWORD,
            role="statistiques",
            services=["etat_civil"],
            now=NOW,
        )
        for login in ("jdupont", "stats"):
            auth.open_session(s, s.query(Agent).filter_by(login=login).one(), NOW)
    with session_scope(db_url) as s:
        assert auth.agents_on_duty(s, "etat_civil", NOW + timedelta(minutes=1)) == 1
        assert auth.agents_on_duty(s, "ccas", NOW) == 0
        assert auth.agents_on_duty(s, "etat_civil", NOW + auth.ON_DUTY + timedelta(seconds=1)) == 0


def test_cli_asks_the_password_twice(db_url, monkeypatch, capsys):
    monkeypatch.setenv("GRU_DATABASE_URL", db_url)
    answers = iter([PASSWORD, PASSWORD + "!"])
    args = cli.argparse.Namespace(login="marie", name=None, service="etat_civil", role="agent")
    assert cli.add_agent(args, ask=lambda _: next(answers)) == 1
    assert "diffèrent" in capsys.readouterr().err
    answers = iter([PASSWORD, PASSWORD])
    assert cli.add_agent(args, ask=lambda _: next(answers)) == 0
    with session_scope(db_url) as s:
        agent = s.query(Agent).filter_by(login="marie").one()
        assert agent.service_list == ["etat_civil"] and PASSWORD not in agent.password_hash
    bad = cli.argparse.Namespace(login="x", name=None, service="piscine", role="agent")
    assert cli.add_agent(bad, ask=lambda _: PASSWORD) == 2
    assert "Service inconnu" in capsys.readouterr().err
