"""One alert reaches each subscriber at most once even when two deliveries of it run at the
same time (an operator's re-run while the first still sends, a double click on « confirm »),
on SQLite and on the PostgreSQL at 127.0.0.1 (`db_url` in conftest.py). No assistant is
started: plain alerts code."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from alerts import broadcast
from alerts.subscriptions import subscribe

pytestmark = pytest.mark.integration

SUBSCRIBERS = 1000
RUNS = 6


class CountingSms:
    """A gateway that answers after a short pause, so that concurrent runs overlap."""

    channel = "sms"

    def __init__(self) -> None:
        self.received: Counter = Counter()

    async def send(self, message) -> None:
        await asyncio.sleep(0.001)
        self.received[message.address] += 1

    async def close(self) -> None:
        return None


def test_concurrent_deliveries_of_one_alert_send_once_each(db_url):
    for i in range(SUBSCRIBERS):
        subscribe(channel="sms", address=f"+336{i:08d}", origin=f"rest:s{i}", topics=["canicule"],
                  sector=None, consent_version="v1", url=db_url)  # fmt: skip
    preview = broadcast.preview("canicule", [], "Forte chaleur.", url=db_url)
    broadcast.confirm(preview.alert_id, url=db_url)
    sms = CountingSms()

    async def runs():
        return await asyncio.gather(
            *(
                broadcast.deliver(preview.alert_id, {"sms": sms}, rates={"sms": 1e6}, url=db_url, backoff_s=0)
                for _ in range(RUNS)
            )
        )

    reports = asyncio.run(runs())
    assert len(sms.received) == SUBSCRIBERS
    assert max(sms.received.values()) == 1, Counter(sms.received.values())
    final = broadcast.report(preview.alert_id, url=db_url).counts["sms"]
    assert final.get("sent", 0) + final.get("interrupted", 0) == SUBSCRIBERS
    assert final.get("sent", 0) == sum(sms.received.values())
    assert len(reports) == RUNS
