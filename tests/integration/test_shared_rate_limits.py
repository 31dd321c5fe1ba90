"""Rate limits shared by every Rasa process through Redis (GRU_LOCK_STORE_URL), against the
Redis at 127.0.0.1:6379 that CI starts: two processes' limiters count in one window, keys
hold no personal data, and a Redis that does not answer falls back to counting per process."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
import redis

from channels.rate import ALLOW, REFUSE, REFUSE_SILENTLY, ChannelRates, RedisRateLimiter

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("GRU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_two_processes_share_one_window_through_redis(monkeypatch):
    monkeypatch.setenv("GRU_LOCK_STORE_URL", REDIS_URL)
    monkeypatch.setenv("GRU_RATE_PER_SENDER", "5/60")
    replica_a, replica_b = ChannelRates.from_env(), ChannelRates.from_env()
    assert isinstance(replica_a.per_sender, RedisRateLimiter)
    sender = f"citizen-{uuid.uuid4()}"

    async def run():
        decisions = []
        for i in range(8):  # alternating replicas, as a load balancer would
            replica = replica_a if i % 2 == 0 else replica_b
            decisions.append(await replica.check(sender))
        other = await replica_b.check(f"someone-else-{uuid.uuid4()}")
        return decisions, other

    decisions, other = asyncio.run(run())
    assert decisions == [ALLOW] * 5 + [REFUSE, REFUSE_SILENTLY, REFUSE_SILENTLY]
    assert other == ALLOW
    # No sender id in Redis: only digests, expiring with the window.
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter("gru:rate:sender:*")]
    assert keys and not any(sender in k for k in keys)
    assert all(redis.Redis.from_url(REDIS_URL).pttl(k) > 0 for k in keys)


async def test_unreachable_redis_falls_back_to_counting_in_the_process():
    limiter = RedisRateLimiter("sender", 2, 60, url="redis://127.0.0.1:1/0", timeout=0.2)
    decisions = [await limiter.ahit("x") for _ in range(3)]
    assert decisions == [ALLOW, ALLOW, REFUSE]
