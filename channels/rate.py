"""Request-rate limits per sender and per client address, shared by every channel.

A sliding window per key (the times of the last `limit` accepted messages):
- in memory in each Rasa process by default. Sanic runs the channels on one event loop and
  `hit` never awaits, so no lock is needed. Memory is bounded: keys are kept in the order
  of their last message, the stale ones (nothing within the window) are dropped as new
  messages come, and past `max_keys` the least recently seen key is forgotten;
- in Redis when GRU_LOCK_STORE_URL names one (the Redis that several Rasa processes need
  anyway for their conversation locks): every process then counts in the same window, so
  a script spreading its messages over the replicas gets no more. One Lua script per
  message (atomic: no two processes both take the last place); keys are SHA-256 digests of
  the sender id / address (no personal data in Redis) and expire with their window. If
  Redis does not answer within 0.5 s the process falls back to its own in-memory count
  (logged once a minute): a Redis outage never stops the assistant.
The reverse proxy's `limit_req` (SECURITY.md) stays the first line in production.

Limits come from the environment, as « messages/seconds »:
- GRU_RATE_PER_SENDER (default 20/60): per sender id (REST, socketio, Messenger PSID);
- GRU_RATE_PER_ADDRESS (default 60/60): per client address (REST, socketio; not
  Messenger, whose calls all come from Meta's servers). The address is Sanic's
  `remote_addr` (set only when SANIC_PROXIES_COUNT / SANIC_REAL_IP_HEADER /
  SANIC_FORWARDED_SECRET tell Sanic to trust the proxy's headers), else the peer's
  `ip`. Loopback peers are not limited per address: behind a local reverse proxy
  without those settings every citizen would share the proxy's address.
« off » or « 0 » disables a limit.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import os
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Tuple

logger = logging.getLogger(__name__)

DEFAULT_PER_SENDER = "20/60"
DEFAULT_PER_ADDRESS = "60/60"
MAX_KEYS = 10_000

# What a caller does with a message.
ALLOW = "allow"
REFUSE = "refuse"  # over the limit: answer with the refusal
REFUSE_SILENTLY = "refuse_silently"  # over the limit, already told within this window


def parse_rate(text: str | None, default: str) -> Tuple[int, float] | None:
    """« 20/60 » → (20, 60.0); « off » or « 0 » → None (no limit); unreadable → the default."""
    value = (text if text is not None and text.strip() else default).strip().lower()
    if value in ("off", "0", "none"):
        return None
    try:
        count, _, seconds = value.partition("/")
        limit, window = int(count), float(seconds or 60)
        if limit <= 0 or window <= 0:
            raise ValueError(value)
    except ValueError:
        logger.warning("Unreadable rate limit %r: %s used", text, default)
        return parse_rate(default, default)
    return limit, window


@dataclass
class _Key:
    hits: Deque[float]
    last: float
    told: float | None = None  # when the refusal was last sent


class RateLimiter:
    """At most `limit` messages per `window` seconds per key (sliding window)."""

    def __init__(
        self,
        limit: int,
        window: float,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.max_keys, self.clock = limit, window, max_keys, clock
        self.keys: OrderedDict[str, _Key] = OrderedDict()

    def __len__(self) -> int:
        return len(self.keys)

    def _evict(self, now: float) -> None:
        while self.keys:
            oldest = next(iter(self.keys.values()))
            if oldest.last > now - self.window:
                break
            self.keys.popitem(last=False)
        while len(self.keys) > self.max_keys:
            self.keys.popitem(last=False)

    def hit(self, key: str) -> str:
        """ALLOW (and count it), REFUSE, or REFUSE_SILENTLY when the refusal was already
        given within the window. Refused messages are not counted."""
        now = self.clock()
        self._evict(now)
        state = self.keys.get(key)
        if state is None:
            state = self.keys[key] = _Key(deque(maxlen=self.limit), now)
            self._evict(now)
        self.keys.move_to_end(key)
        state.last = now
        while state.hits and state.hits[0] <= now - self.window:
            state.hits.popleft()
        if len(state.hits) < self.limit:
            state.hits.append(now)
            return ALLOW
        if state.told is not None and state.told > now - self.window:
            return REFUSE_SILENTLY
        state.told = now
        return REFUSE


class RedisRateLimiter:
    """RateLimiter's contract, counted in Redis and shared by every process (module doc)."""

    # KEYS: the hits (sorted set scored by time), the « told » flag. ARGV: now, window,
    # limit, a unique member. Returns 0 allow, 1 refuse, 2 refuse silently.
    SCRIPT = """
local hits, told = KEYS[1], KEYS[2]
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl = math.ceil(window * 1000)
redis.call('ZREMRANGEBYSCORE', hits, '-inf', now - window)
if redis.call('ZCARD', hits) < limit then
  redis.call('ZADD', hits, now, ARGV[4])
  redis.call('PEXPIRE', hits, ttl)
  return 0
end
if redis.call('SET', told, '1', 'NX', 'PX', ttl) then return 1 end
return 2
"""
    DECISIONS = (ALLOW, REFUSE, REFUSE_SILENTLY)

    def __init__(self, name: str, limit: int, window: float, url: str, timeout: float = 0.5) -> None:
        self.name, self.limit, self.window, self.url, self.timeout = name, limit, window, url, timeout
        self.fallback = RateLimiter(limit, window)
        self._client = self._script = None
        self._counter = 0
        self._warned = -math.inf

    def _key(self, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]
        return f"gru:rate:{self.name}:{digest}"

    async def ahit(self, key: str) -> str:
        try:
            if self._client is None:  # created on the channel's event loop, at first use
                import redis.asyncio as redis_asyncio

                self._client = redis_asyncio.from_url(
                    self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
                )
                self._script = self._client.register_script(self.SCRIPT)
            self._counter += 1
            redis_key = self._key(key)
            result = await self._script(
                keys=[redis_key, redis_key + ":told"],
                args=[
                    time.time(),
                    self.window,
                    self.limit,
                    f"{time.time_ns()}-{os.getpid()}-{self._counter}",
                ],
            )
            return self.DECISIONS[int(result)]
        except Exception as exc:  # noqa: BLE001 - Redis down or slow: count in this process
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                logger.warning("Rate limits counted per process: Redis unavailable (%s)", type(exc).__name__)
            return self.fallback.hit(key)


async def _ahit(limiter: RateLimiter | RedisRateLimiter, key: str) -> str:
    return await limiter.ahit(key) if isinstance(limiter, RedisRateLimiter) else limiter.hit(key)


def _limiter(variable: str, default: str, name: str) -> RateLimiter | RedisRateLimiter | None:
    rate = parse_rate(os.environ.get(variable), default)
    if not rate:
        return None
    url = os.environ.get("GRU_LOCK_STORE_URL", "").strip()
    if url.startswith(("redis://", "rediss://")):
        return RedisRateLimiter(name, *rate, url=url)
    return RateLimiter(*rate)


class ChannelRates:
    """One channel's limiters, read from the environment when the channel starts."""

    def __init__(
        self,
        per_sender: RateLimiter | RedisRateLimiter | None,
        per_address: RateLimiter | RedisRateLimiter | None,
    ) -> None:
        self.per_sender, self.per_address = per_sender, per_address

    @classmethod
    def from_env(cls, by_address: bool = True) -> ChannelRates:
        return cls(
            _limiter("GRU_RATE_PER_SENDER", DEFAULT_PER_SENDER, "sender"),
            _limiter("GRU_RATE_PER_ADDRESS", DEFAULT_PER_ADDRESS, "address") if by_address else None,
        )

    async def check(self, sender: str | None, address: str | None = None) -> str:
        """The address is checked first: a script cycling sender ids is stopped there."""
        if self.per_address is not None and address and not is_loopback(address):
            decision = await _ahit(self.per_address, address)
            if decision != ALLOW:
                return decision
        if self.per_sender is not None and sender:
            return await _ahit(self.per_sender, sender)
        return ALLOW


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def client_address(request: Any) -> str | None:
    """The client's address as Sanic sees it (trusted proxy headers first), or None."""
    if request is None:
        return None
    try:
        return request.remote_addr or request.ip or None
    except Exception:  # noqa: BLE001 - no transport (tests, closed connection)
        return None
