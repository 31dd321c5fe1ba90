"""Crisis alerts broadcast benchmark: python -m ops.bench_alerts [--subscribers 10000]
(make bench-alerts).

N subscribers across channels (40 % Messenger with a notification_messages token, 30 %
e-mail, 20 % SMS, 10 % website) in a fresh SQLite application database; local fakes stand for
Meta's Graph API, an SMTP server (aiosmtpd) and a JSON SMS gateway, and count what each
recipient receives. One alert is broadcast, then broadcast again (re-run): every subscriber
must have received it exactly once. Time to deliver and peak Python memory (tracemalloc) are
printed against a baseline measured in the same run: the same number of subscribers on one
channel (SMS) only. The channels' throttles are raised for the run (--rate, messages per
second per channel): the fakes have no limit, a real provider has (territory/demo/alerts.yml).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Dict, Sequence

from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import insert

from alerts import broadcast
from alerts.config import load_alerts_config
from alerts.models import Subscription
from alerts.senders import JsonSmsSender, MessengerSender, SmtpSender, SmtpSettings
from booking.seed import migrate
from core.db import engine_for, session_scope
from core.http import close_all
from ops.servers import free_port

SHARES = {"messenger": 0.4, "email": 0.3, "sms": 0.2, "web": 0.1}


class Fakes:
    """Graph API + SMS gateway (aiohttp, own thread and loop) and SMTP (aiosmtpd): counters."""

    def __init__(self) -> None:
        self.graph: Counter = Counter()
        self.sms: Counter = Counter()
        self.mail: Counter = Counter()
        self.loop = asyncio.new_event_loop()
        self.http_port = free_port()
        self.smtp = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler
        for rcpt in envelope.rcpt_tos:
            self.mail[rcpt] += 1
        return "250 Message accepted"

    async def _graph(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.graph[body["recipient"]["notification_messages_token"]] += 1
        return web.json_response({"message_id": "m"})

    async def _sms(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.sms[body["to"]] += 1
        return web.json_response({"id": "s"})

    def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v19.0/me/messages", self._graph)
        app.router.add_post("/sms/messages", self._sms)
        runner = web.AppRunner(app, access_log=None)
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(runner.setup())
            self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.http_port).start())
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)
        self.smtp.start()

    def stop(self) -> None:
        self.smtp.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)

    def reset(self) -> None:
        self.graph.clear()
        self.sms.clear()
        self.mail.clear()


def populate(url: str, shares: Dict[str, float], n: int, prefix: str) -> Dict[str, int]:
    counts = {c: int(n * share) for c, share in shares.items()}
    counts[next(iter(shares))] += n - sum(counts.values())
    now = broadcast.local_now()
    rows = []
    for channel, count in counts.items():
        for i in range(count):
            address = {
                "messenger": f"{prefix}psid{i}",
                "email": f"{prefix}p{i}@exemple.fr",
                "sms": f"+336{prefix_digit(prefix)}{i:07d}",
                "web": f"rest:{prefix}{i}",
            }[channel]
            rows.append(
                dict(
                    channel=channel,
                    address=address,
                    origin=f"bench:{prefix}{channel}{i}",
                    topics="canicule",
                    sector=None,
                    status="active",
                    consent_at=now,
                    consent_version="bench",
                    token=f"{prefix}tok{i}" if channel == "messenger" else None,
                    token_frequency="DAILY" if channel == "messenger" else None,
                    created_at=now,
                )  # fmt: skip
            )
    with session_scope(url, write=True) as session:
        session.execute(insert(Subscription), rows)
    return counts


def prefix_digit(prefix: str) -> str:
    return "1" if prefix == "a" else "2"


async def run_once(url: str, fakes: Fakes, rate: float) -> Dict[str, float]:
    base = f"http://127.0.0.1:{fakes.http_port}"
    senders = {
        "messenger": MessengerSender(f"{base}/v19.0", "page-token", timeout_s=10),
        "sms": JsonSmsSender(f"{base}/sms", "token", "MAIRIE", timeout_s=10),
        "email": SmtpSender(SmtpSettings("127.0.0.1", fakes.smtp.port, starttls=False), workers=4),
    }
    rates = {"messenger": rate, "email": rate, "sms": rate}
    preview = await asyncio.to_thread(
        broadcast.preview, "canicule", [], "Canicule : buvez de l'eau.", url=url
    )
    await asyncio.to_thread(broadcast.confirm, preview.alert_id, url=url)
    tracemalloc.start()
    started = time.perf_counter()
    report = await broadcast.deliver(preview.alert_id, senders, rates=rates, url=url, concurrency=32)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rerun = await broadcast.deliver(preview.alert_id, senders, rates=rates, url=url, concurrency=32)
    for sender in senders.values():
        await sender.close()
    await close_all()
    return {
        "seconds": round(seconds, 2),
        "peak_mib": round(peak / 2**20, 1),
        "sent": report.total("sent"),
        "failed": report.total("failed"),
        "rerun_sent": rerun.total("sent"),
    }


def exactly_once(fakes: Fakes, counts: Dict[str, int]) -> bool:
    return (
        len(fakes.graph) == counts.get("messenger", 0)
        and len(fakes.mail) == counts.get("email", 0)
        and len(fakes.sms) == counts.get("sms", 0)
        and all(v == 1 for counter in (fakes.graph, fakes.mail, fakes.sms) for v in counter.values())
    )


def bench(n: int, rate: float, workdir: Path) -> Dict[str, object]:
    load_alerts_config()
    fakes = Fakes()
    fakes.start()
    results: Dict[str, object] = {"subscribers": n, "rate_per_channel": rate}
    try:
        for name, shares, prefix in (
            ("baseline_sms_only", {"sms": 1.0}, "a"),
            ("mixed_channels", SHARES, "b"),
        ):
            url = f"sqlite:///{workdir / (name + '.db')}"
            migrate(url)
            counts = populate(url, shares, n, prefix)
            fakes.reset()
            figures = asyncio.run(run_once(url, fakes, rate))
            received = {"messenger": sum(fakes.graph.values()), "email": sum(fakes.mail.values()),
                        "sms": sum(fakes.sms.values())}  # fmt: skip
            figures.update(
                channels=counts,
                received=received,
                exactly_once=exactly_once(fakes, counts) and figures["rerun_sent"] == figures["sent"],
                per_second=round(n / figures["seconds"], 1) if figures["seconds"] else None,
            )
            results[name] = figures
            engine_for(url).dispose()
    finally:
        fakes.stop()
    results["exactly_once"] = all(results[k]["exactly_once"] for k in ("baseline_sms_only", "mixed_channels"))
    return results


def table(results: Dict[str, object]) -> str:
    base, mixed = results["baseline_sms_only"], results["mixed_channels"]
    lines = [
        f"Diffusion d'une alerte à {results['subscribers']} abonnés "
        f"(débit par canal : {results['rate_per_channel']}/s)",
        "| run | seconds | messages/s | peak MiB | sent | failed | exactly once |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in (("baseline (SMS only)", base), ("mixed (40/30/20/10 %)", mixed)):
        lines.append(f"| {name} | {r['seconds']} | {r['per_second']} | {r['peak_mib']} | {r['sent']} | "
                     f"{r['failed']} | {'OK' if r['exactly_once'] else 'FAILED'} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.bench_alerts")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=2000.0, help="messages per second per channel")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = bench(args.subscribers, args.rate, Path(tmp))
    print(table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0 if results["exactly_once"] else 1


if __name__ == "__main__":
    sys.exit(main())
