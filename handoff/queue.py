"""The hand-off queue per service: join, place, expected wait, take, close (plain Python).

A conversation goes live only when the service is open (territory file) and at least one of
its agents has the console open (staff.auth.agents_on_duty): queueing a citizen nobody can
answer would only make them wait. Otherwise the citizen gets the service's contact and the
callback request.

The expected wait is the queue ahead of the citizen times the usual length of a
conversation with an agent (`GRU_HANDOFF_MINUTES`, 5 by default), shared between the agents
on duty, rounded up to whole minutes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from handoff.models import HandoffRequest
from staff.models import Agent

ACTIVE = ("waiting", "taken")
CLOSE_REASONS = {
    "answered": "Réponse apportée",
    "redirected": "Orienté vers un autre service",
    "callback": "Rappel prévu",
    "no_reply": "Sans réponse de l'usager",
    "citizen_left": "L'usager est revenu à l'assistant",
    "not_taken": "Aucun agent disponible à temps",
}


def minutes_per_conversation() -> float:
    return float(os.environ.get("GRU_HANDOFF_MINUTES", "5"))


def take_delay() -> timedelta:
    """How long a citizen waits before the callback request is offered instead."""
    return timedelta(seconds=int(os.environ.get("GRU_HANDOFF_DELAY", "300")))


@dataclass(frozen=True)
class Position:
    request_id: int
    place: int  # 1 = next
    wait_minutes: int


def active_for(session: Session, conversation_id: str) -> HandoffRequest | None:
    return (
        session.execute(
            select(HandoffRequest)
            .where(HandoffRequest.conversation_id == conversation_id, HandoffRequest.status.in_(ACTIVE))
            .order_by(HandoffRequest.id.desc())
        )
        .scalars()
        .first()
    )


def place_of(session: Session, request: HandoffRequest) -> int:
    ahead = session.execute(
        select(func.count(HandoffRequest.id)).where(
            HandoffRequest.service == request.service,
            HandoffRequest.status == "waiting",
            HandoffRequest.id < request.id,
        )
    ).scalar_one()
    return ahead + 1


def expected_wait(place: int, agents_on_duty: int, minutes: float | None = None) -> int:
    per = minutes_per_conversation() if minutes is None else minutes
    return max(1, math.ceil(place * per / max(1, agents_on_duty)))


def join(
    session: Session,
    *,
    conversation_id: str,
    channel: str,
    service: str,
    topic: str | None,
    agents_on_duty: int,
    now: datetime,
) -> Position:
    """Put the conversation in the service's queue (once: asking again keeps its place)."""
    request = active_for(session, conversation_id)
    if request is None:
        request = HandoffRequest(
            conversation_id=conversation_id,
            channel=channel,
            service=service,
            topic=topic,
            status="waiting",
            created_at=now,
        )
        session.add(request)
        session.flush()
    place = place_of(session, request) if request.status == "waiting" else 0
    return Position(request.id, place, expected_wait(place, agents_on_duty) if place else 0)


@dataclass(frozen=True)
class Waiting:
    id: int
    service: str
    topic: str | None
    channel: str
    status: str
    waited_minutes: int
    agent_id: int | None


def listing(session: Session, agent: Agent, now: datetime) -> list[Waiting]:
    """The active hand-offs the agent may see: their services' (all for an admin), oldest first."""
    rows = session.execute(
        select(HandoffRequest).where(HandoffRequest.status.in_(ACTIVE)).order_by(HandoffRequest.id)
    ).scalars()
    return [
        Waiting(
            r.id,
            r.service,
            r.topic,
            r.channel,
            r.status,
            int((now - r.created_at).total_seconds() // 60),
            r.agent_id,
        )
        for r in rows
        if agent.works_for(r.service)
    ]


def take(session: Session, request_id: int, agent: Agent, now: datetime) -> HandoffRequest | None:
    """The agent takes a waiting conversation; None if another agent was quicker or not theirs."""
    request = session.get(HandoffRequest, request_id)
    if request is None or not agent.works_for(request.service) or agent.role == "statistiques":
        return None
    # One UPDATE guarded by the state: two agents clicking at once cannot both get it.
    done = session.execute(
        update(HandoffRequest)
        .where(HandoffRequest.id == request_id, HandoffRequest.status == "waiting")
        .values(status="taken", agent_id=agent.id, taken_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return None
    session.refresh(request)
    return request


def taken_outside(session: Session, request_id: int, now: datetime) -> bool:
    """An agent of an external helpdesk (handoff/chatwoot.py) answered first: the hand-off is
    taken (no console agent holds it), so the sweep no longer hands it back unanswered."""
    done = session.execute(
        update(HandoffRequest)
        .where(HandoffRequest.id == request_id, HandoffRequest.status == "waiting")
        .values(status="taken", taken_at=now)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


def withdraw(session: Session, request_id: int) -> None:
    """Forget a hand-off that never reached an agent's tool (the helpdesk did not answer): the
    citizen gets the contact instead, as when nobody is on duty, and no row is left behind."""
    request = session.get(HandoffRequest, request_id)
    if request is not None and request.status == "waiting":
        session.delete(request)


def held_by(session: Session, request_id: int, agent: Agent) -> HandoffRequest | None:
    request = session.get(HandoffRequest, request_id)
    if request is None or request.status != "taken" or request.agent_id != agent.id:
        return None
    return request


def close(session: Session, request: HandoffRequest, reason: str, now: datetime) -> None:
    if reason not in CLOSE_REASONS:
        raise ValueError("unknown close reason")
    request.status = "closed"
    request.closed_at = now
    request.close_reason = reason


def recently_unanswered(session: Session, conversation_id: str, now: datetime) -> bool:
    """True when a hand-off of this conversation ended unanswered within the delay: asking
    again then gets the callback request rather than the same queue."""
    return (
        session.execute(
            select(HandoffRequest.id).where(
                HandoffRequest.conversation_id == conversation_id,
                HandoffRequest.close_reason == "not_taken",
                HandoffRequest.closed_at > now - take_delay(),
            )
        ).first()
        is not None
    )


def overdue(session: Session, now: datetime, delay: timedelta | None = None) -> list[HandoffRequest]:
    """Waiting hand-offs nobody took within the delay."""
    limit = now - (delay or take_delay())
    return list(
        session.execute(
            select(HandoffRequest).where(
                HandoffRequest.status == "waiting", HandoffRequest.created_at <= limit
            )
        ).scalars()
    )
