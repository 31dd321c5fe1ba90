"""Sign-in of agents: password hashes, lockout, sessions, CSRF tokens (plain Python).

- Passwords: Argon2id through argon2-cffi (the maintained binding of the reference
  implementation; random salt per hash, parameters in the hash so they can be raised later).
- Lockout: `MAX_FAILURES` failed sign-ins within `FAILURE_WINDOW` lock the account, and
  separately the client address, until `LOCK_DURATION` after the latest failure. A locked
  account answers the same as a wrong password, so the lock discloses nothing.
- Sessions: a random token in the cookie, its SHA-256 digest in the database; they end after
  `IDLE_TIMEOUT` without activity or `MAX_AGE` after sign-in, or at sign-out.
- CSRF: one random token per session (synchronizer token), sent back by every form and
  by the console's scripts in a header; compared in constant time.

Every function takes `now` (naive UTC) so that tests need no clock.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from staff.models import ROLES, Agent, LoginFailure, StaffSession

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=int(os.environ.get("GRU_STAFF_IDLE_MINUTES", "30")))
MAX_AGE = timedelta(hours=10)
# An agent counts as on duty while the console has polled within this delay.
ON_DUTY = timedelta(minutes=2)
MIN_PASSWORD_CHARS = 12

_hasher = PasswordHasher()
# Verified against when the login is unknown, so that the answer takes the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


# Wrong login or password, or locked: one message for all (nothing disclosed).
SIGN_IN_REFUSED = "Identifiant ou mot de passe incorrect, ou compte bloqué pour quelques minutes."


class WeakPassword(ValueError):
    pass


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(f"Le mot de passe doit compter au moins {MIN_PASSWORD_CHARS} caractères.")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _failure_keys(login: str, address: str | None) -> list[str]:
    keys = [f"account:{login.strip().lower()[:64]}"]
    if address:
        keys.append(f"ip:{digest(address)[:32]}")
    return keys


def locked_until(session: Session, key: str, now: datetime) -> datetime | None:
    """The end of the lock on `key` (an account or an address), or None when not locked."""
    recent = session.execute(
        select(func.count(LoginFailure.id), func.max(LoginFailure.at)).where(
            LoginFailure.key == key, LoginFailure.at > now - FAILURE_WINDOW
        )
    ).one()
    count, latest = recent
    if count >= MAX_FAILURES and latest is not None and latest + LOCK_DURATION > now:
        return latest + LOCK_DURATION
    return None


def create_agent(
    session: Session,
    *,
    login: str,
    display_name: str,
    password: str,
    role: str,
    services: list[str],
    now: datetime,
) -> Agent:
    if role not in ROLES:
        raise ValueError(f"Rôle inconnu : {role} (agent, statistiques ou admin).")
    login = login.strip().lower()
    if not login or len(login) > 64:
        raise ValueError("Identifiant vide ou trop long.")
    if session.execute(select(Agent.id).where(Agent.login == login)).first():
        raise ValueError("Cet identifiant existe déjà.")
    agent = Agent(
        login=login,
        display_name=display_name.strip()[:100] or login,
        password_hash=hash_password(password),
        role=role,
        services=",".join(services),
        active=True,
        created_at=now,
    )
    session.add(agent)
    session.flush()
    return agent


def authenticate(
    session: Session, login: str, password: str, address: str | None, now: datetime
) -> Agent | None:
    """The agent whose login and password these are; None otherwise (the failure is recorded:
    it returns rather than raises so that the caller's transaction keeps it)."""
    keys = _failure_keys(login, address)
    agent = session.execute(select(Agent).where(Agent.login == login.strip().lower())).scalar_one_or_none()
    locked = any(locked_until(session, key, now) for key in keys)
    valid = verify_password(agent.password_hash if agent else _DUMMY_HASH, password)
    if locked or not valid or agent is None or not agent.active:
        if not locked:  # a locked account is not locked for longer by more tries
            session.add_all([LoginFailure(key=key, at=now) for key in keys])
        return None
    session.execute(delete(LoginFailure).where(LoginFailure.key == keys[0]))
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
    return agent


@dataclass(frozen=True)
class OpenedSession:
    token: str  # goes into the cookie, never stored
    csrf_token: str


def open_session(session: Session, agent: Agent, now: datetime) -> OpenedSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id=digest(token),
            agent_id=agent.id,
            csrf_token=csrf,
            created_at=now,
            last_seen=now,
            expires_at=now + MAX_AGE,
        )
    )
    # Expired sessions of everyone are removed on the way.
    session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    return OpenedSession(token, csrf)


def current_session(session: Session, token: str | None, now: datetime) -> tuple[Agent, StaffSession] | None:
    """The agent and session of a cookie's token, refreshed; None when unknown or expired."""
    if not token or len(token) > 200:
        return None
    row = session.get(StaffSession, digest(token))
    if row is None:
        return None
    if row.expires_at <= now or row.last_seen + IDLE_TIMEOUT <= now:
        session.delete(row)
        return None
    agent = session.get(Agent, row.agent_id)
    if agent is None or not agent.active:
        return None
    row.last_seen = now
    return agent, row


def close_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(StaffSession).where(StaffSession.id == digest(token)))


def csrf_valid(staff_session: StaffSession, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(staff_session.csrf_token.encode(), str(given).encode())


def agents_on_duty(session: Session, service: str, now: datetime) -> int:
    """Agents of `service` (or admins) whose console is open right now."""
    rows = session.execute(
        select(Agent)
        .join(StaffSession, StaffSession.agent_id == Agent.id)
        .where(StaffSession.last_seen > now - ON_DUTY, StaffSession.expires_at > now, Agent.active.is_(True))
    ).scalars()
    return len({agent.id for agent in rows if agent.role != "statistiques" and agent.works_for(service)})
