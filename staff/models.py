"""Staff tables (SQLAlchemy 1.4, 2.0-style) in the application database; migration
booking/migrations/versions/0010_staff.py creates them together with the hand-off tables.

- `staff_agents`: one row per agent account: login, shown name, Argon2id password hash
  (salted by the algorithm), role and the services the agent works for.
- `staff_sessions`: signed-in browsers. Only a SHA-256 digest of the cookie's token is
  stored, so a copy of the table opens no session; the CSRF token of the session;
  idle and absolute expiry.
- `staff_login_failures`: failed sign-ins, keyed by account or by a digest of the client
  address (no address kept), to lock both out for a while after repeated failures.

Times are naive UTC.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import declarative_base

from core.db import NAMING_CONVENTION

StaffBase = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

ROLES = ("agent", "statistiques", "admin")


class Agent(StaffBase):
    __tablename__ = "staff_agents"
    id = Column(Integer, primary_key=True)
    login = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(100), nullable=False)
    password_hash = Column(String(200), nullable=False)
    role = Column(String(20), nullable=False)
    services = Column(String(300), nullable=False)  # comma-separated service keys of the territory
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False)

    __table_args__ = (CheckConstraint("role IN ('agent', 'statistiques', 'admin')", name="role_known"),)

    @property
    def service_list(self) -> list[str]:
        return [s for s in (self.services or "").split(",") if s]

    def works_for(self, service: str) -> bool:
        return self.role == "admin" or service in self.service_list


class StaffSession(StaffBase):
    __tablename__ = "staff_sessions"
    id = Column(String(64), primary_key=True)  # SHA-256 hex digest of the cookie's token
    agent_id = Column(Integer, ForeignKey("staff_agents.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    last_seen = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)


class LoginFailure(StaffBase):
    __tablename__ = "staff_login_failures"
    id = Column(Integer, primary_key=True)
    key = Column(String(80), nullable=False, index=True)  # « account:<login> » or « ip:<digest> »
    at = Column(DateTime, nullable=False)
