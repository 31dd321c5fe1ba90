"""`make bench-load`: locust against the production shape, with 1 then 2 replicas, in one run.

For each size the shape (ops/production.py: nginx, N Rasa replicas, N action servers,
PostgreSQL, Redis) is started on databases of its own, locust runs headless on loopback
(bench/locust/locustfile.py: booking, waste by address, FAQ-like questions, welfare,
tracking, with think times) for a fixed time, and every process's CPU and memory is
sampled meanwhile (psutil). The failed requests are counted by kind (HTTP status, time-out,
connection refused or reset, no answer, not JSON: `error_kind`). Writes the figures to --out
(JSON) and two charts beside it; prints a summary table for the README. About 8 minutes on
2 cores; not part of `make test`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, List

import psutil

from ops import production, servers
from ops.servers import free_port

ROOT = servers.ROOT
LOCUSTFILE = ROOT / "bench" / "locust" / "locustfile.py"
PG = "postgresql://postgres@127.0.0.1:5432"
REDIS_DB = os.environ.get("GRU_LOAD_REDIS_DB", "12")


class Sampler(threading.Thread):
    """CPU (% of one core) and resident memory of each named process group, every `every` s."""

    def __init__(self, groups: Dict[str, int], every: float = 2.0):
        super().__init__(daemon=True)
        self.groups, self.every = groups, every
        self.samples: Dict[str, List[tuple]] = {name: [] for name in groups}
        self._halt = threading.Event()
        self._procs: Dict[int, psutil.Process] = {}

    def _members(self, pid: int) -> List[psutil.Process]:
        try:
            root = psutil.Process(pid)
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        # Keep the same Process objects so that cpu_percent measures since the last sample.
        return [self._procs.setdefault(p.pid, p) for p in members]

    def run(self) -> None:
        while not self._halt.wait(self.every):
            for name, pid in self.groups.items():
                cpu = rss = 0.0
                for proc in self._members(pid):
                    try:
                        cpu += proc.cpu_percent(None)
                        rss += proc.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
                self.samples[name].append((cpu, rss / 2**20))

    def stop(self) -> Dict[str, dict]:
        self._halt.set()
        self.join(5)
        summary = {}
        for name, values in self.samples.items():
            measured = values[1:]  # the first cpu_percent of a process is always 0
            if not measured:
                continue
            cpus = [c for c, _ in measured]
            summary[name] = {
                "cpu_mean_percent": round(sum(cpus) / len(cpus), 1),
                "cpu_max_percent": round(max(cpus), 1),
                "rss_peak_mb": round(max(r for _, r in measured), 1),
            }
        return summary


def _drop_databases(names: List[str]) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres", connect_timeout=5)
    conn.autocommit = True
    with conn.cursor() as cursor:
        for name in names:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# Kinds of failed requests, from the messages of bench/locust/locustfile.py (« HTTP 502 »,
# « no answer », « not JSON ») and the network exceptions it passes on as they are, which
# locust records as their repr (« ConnectionRefusedError(111, 'Connection refused') »,
# « RetriesExceeded(…, original=timed out) »; geventhttpclient reports a connection closed or
# reset before the answer as « HTTPConnectionClosed('connection closed.') », counted as reset).
# Checked in this order; anything else is « other ».
ERROR_KINDS = [
    ("no answer", re.compile(r"no answer", re.I)),
    ("not JSON", re.compile(r"not JSON", re.I)),
    ("timeout", re.compile(r"time[ d]?out|timed out", re.I)),
    ("connection refused", re.compile(r"refused|errno 111\b", re.I)),
    ("connection reset", re.compile(r"reset|broken ?pipe|connection ?closed|errno (104|32)\b", re.I)),
]
HTTP_STATUS = re.compile(r"^(?:CatchResponseError\(['\"])?HTTP (\d{3})\b")


def error_kind(message: str) -> str:
    """The kind of a failure as locust's failures.csv writes it: « HTTP 502 », « timeout »,
    « connection refused », « connection reset », « no answer », « not JSON » or « other »."""
    status = HTTP_STATUS.match(message.strip())
    if status:
        return f"HTTP {status.group(1)}"
    for kind, pattern in ERROR_KINDS:
        if pattern.search(message):
            return kind
    return "other"


def read_failures(prefix: Path) -> Dict[str, dict]:
    """locust's failures.csv, counted by `error_kind`: {kind: {"count", "example"}}, the most
    frequent kind first; {} without the file (no failure, or an older locust)."""
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return {}
    kinds: Dict[str, dict] = {}
    with open(path, encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows):
            kind = kinds.setdefault(error_kind(row["Error"]), {"count": 0, "example": row["Error"][:200]})
            kind["count"] += int(row["Occurrences"])
    return dict(sorted(kinds.items(), key=lambda item: (-item[1]["count"], item[0])))


def kinds_text(kinds: Dict[str, dict]) -> str:
    """« timeout 30, HTTP 502 4 », or « none »."""
    return ", ".join(f"{kind} {figures['count']}" for kind, figures in kinds.items()) or "none"


def read_stats(prefix: Path) -> dict:
    """locust's --csv files: the aggregated row, each step, and the per-second history."""
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8")))  # noqa: SIM115
    steps = {}
    total = {}
    for row in rows:
        figures = {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": round(float(row["Requests/s"]), 2),
            "p50_ms": _number(row["50%"]),
            "p95_ms": _number(row["95%"]),
            "p99_ms": _number(row["99%"]),
            "mean_ms": round(float(row["Average Response Time"]), 1),
        }
        if row["Name"] == "Aggregated":
            total = figures
        else:
            steps[row["Name"]] = figures
    history = [
        {"t": int(row["Timestamp"]), "rps": _number(row["Requests/s"]), "p95_ms": _number(row["95%"])}
        for row in csv.DictReader(open(f"{prefix}_stats_history.csv", encoding="utf-8"))  # noqa: SIM115
        if row["Name"] == "Aggregated"
    ]
    total["error_rate"] = round(total["failures"] / total["requests"], 4) if total.get("requests") else None
    return {"total": total, "steps": steps, "history": history, "error_kinds": read_failures(prefix)}


def run_size(replicas: int, users: int, spawn_rate: float, duration: int, work: Path) -> dict:
    run = uuid.uuid4().hex[:8]
    databases = [f"gru_load_tracker_{run}", f"gru_load_app_{run}"]
    env = dict(os.environ)
    env.update(
        GRU_PROD_DIR=str(work / f"shape-{replicas}"),
        GRU_PROXY_PORT=str(free_port()),
        GRU_PROD_ACTIONS_PROXY_PORT=str(free_port()),
        GRU_PROD_RASA_PORTS=",".join(str(free_port()) for _ in range(replicas)),
        GRU_PROD_ACTION_PORTS=",".join(str(free_port()) for _ in range(replicas)),
        GRU_TRACKER_STORE_URL=f"{PG}/{databases[0]}",
        GRU_DATABASE_URL=f"{PG}/{databases[1]}",
        GRU_LOCK_STORE_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
    )
    for name in ("GRU_HUB_TOKEN", "GRU_ANTS_API_URL", "GRU_ANTS_API_TOKEN", "FACEBOOK_VERIFY_TOKEN"):
        env.pop(name, None)
    print(f"\n== {replicas} réplique(s) : démarrage…", flush=True)
    shape = production.up(production.Settings.from_env(env))
    print(f"   prête en {shape.startup_seconds:.0f} s ; locust : {users} citoyens, {duration} s…", flush=True)
    groups = dict(shape.processes)
    groups.pop("jobs", None)
    nginx_pid = int((shape.settings.state_dir / "nginx.pid").read_text().strip())
    groups["nginx"] = nginx_pid
    prefix = work / f"locust-{replicas}"
    command = [
        str(servers.BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{duration}s",
        "--host",
        shape.url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    try:
        locust = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        sampler = Sampler({**groups, "locust": locust.pid})
        sampler.start()
        _out, err = locust.communicate(timeout=duration + 120)
        resources = sampler.stop()
        if locust.returncode != 0:
            raise RuntimeError(f"locust a échoué ({locust.returncode}) : {err.decode()[-2000:]}")
        stats = read_stats(prefix)
    finally:
        shape.stop()
        _drop_databases(databases)
    total = stats["total"]
    print(
        f"   {total['rps']} req/s, p50 {total['p50_ms']} ms, p95 {total['p95_ms']} ms, "
        f"p99 {total['p99_ms']} ms, erreurs {total['error_rate']:.2%} ({kinds_text(stats['error_kinds'])})",
        flush=True,
    )
    return {
        "replicas": replicas,
        "action_servers": replicas,
        "startup_s": round(shape.startup_seconds, 1),
        **stats,
        "processes": resources,
    }


def charts(result: dict, out: Path) -> List[Path]:
    """Latency/throughput over time and CPU/memory per process, PNG beside the JSON."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    fig, (ax_rps, ax_p95) = plt.subplots(1, 2, figsize=(11, 4))
    for size in result["runs"]:
        history = [h for h in size["history"] if h["rps"] is not None]
        if not history:
            continue
        t0 = history[0]["t"]
        label = f"{size['replicas']} réplique(s)"
        ax_rps.plot([h["t"] - t0 for h in history], [h["rps"] for h in history], label=label)
        ax_p95.plot([h["t"] - t0 for h in history], [h["p95_ms"] or 0 for h in history], label=label)
    ax_rps.set(title="Débit (requêtes/s)", xlabel="secondes")
    ax_p95.set(title="p95 glissant (ms)", xlabel="secondes")
    for axis in (ax_rps, ax_p95):
        axis.legend()
        axis.grid(alpha=0.3)
    fig.suptitle(f"Charge : {result['users']} citoyens simulés, {result['duration_s']} s par taille")
    fig.tight_layout()
    path = out.with_name(out.stem + "-timeline.png")
    fig.savefig(path, dpi=110)
    written.append(path)
    plt.close(fig)

    fig, (ax_cpu, ax_mem) = plt.subplots(1, 2, figsize=(11, 4))
    # One slot per process name over all sizes (rasa-2 exists only with 2 replicas): each size's
    # bars go to their process's slot, not to the n-th slot of its own list.
    names = sorted({name for size in result["runs"] for name in size["processes"]})
    for offset, size in enumerate(result["runs"]):
        present = [i for i, name in enumerate(names) if name in size["processes"]]
        xs = [i + offset * 0.4 for i in present]
        label = f"{size['replicas']} réplique(s)"
        processes = [size["processes"][names[i]] for i in present]
        ax_cpu.bar(xs, [p["cpu_mean_percent"] for p in processes], width=0.4, label=label)
        ax_mem.bar(xs, [p["rss_peak_mb"] for p in processes], width=0.4, label=label)
    for axis in (ax_cpu, ax_mem):
        axis.set_xticks([i + 0.2 for i in range(len(names))], names, rotation=30)
    ax_cpu.set(title="CPU moyen (% d'un cœur)")
    ax_mem.set(title="Mémoire résidente max (Mo)")
    for axis in (ax_cpu, ax_mem):
        axis.legend()
        axis.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    path = out.with_name(out.stem + "-resources.png")
    fig.savefig(path, dpi=110)
    written.append(path)
    plt.close(fig)
    return written


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Test de charge (locust) de la forme de production.")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "load.json")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--spawn-rate", type=float, default=5.0)
    parser.add_argument("--duration", type=int, default=120, help="secondes de charge par taille")
    parser.add_argument("--sizes", default="1,2", help="nombres de répliques, dans l'ordre")
    args = parser.parse_args(argv)
    started = time.monotonic()
    result: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "users": args.users,
        "spawn_rate": args.spawn_rate,
        "duration_s": args.duration,
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="gru-load-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            result["runs"].append(run_size(size, args.users, args.spawn_rate, args.duration, Path(tmp)))
    by_size = {run["replicas"]: run["total"] for run in result["runs"]}
    if 1 in by_size and 2 in by_size and by_size[1]["rps"]:
        result["scaling_ratio_rps"] = round(by_size[2]["rps"] / by_size[1]["rps"], 2)
    result["wall_s"] = round(time.monotonic() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    pictures = charts(result, args.out)
    print(f"\nRésultats : {args.out} ; graphiques : {', '.join(str(p) for p in pictures)}")
    print(
        "| replicas | req/s | p50 / p95 / p99 (ms) | errors | error kinds | Rasa CPU mean (%) "
        "| Rasa RSS peak (MB) |"
    )
    for run in result["runs"]:
        total = run["total"]
        rasa = {k: v for k, v in run["processes"].items() if k.startswith("rasa")}
        print(
            f"| {run['replicas']} | {total['rps']} | {total['p50_ms']:.0f} / {total['p95_ms']:.0f} / "
            f"{total['p99_ms']:.0f} | {total['error_rate']:.2%} | {kinds_text(run.get('error_kinds', {}))} | "
            f"{', '.join(str(v['cpu_mean_percent']) for v in rasa.values())} | "
            f"{', '.join(str(v['rss_peak_mb']) for v in rasa.values())} |"
        )
    if "scaling_ratio_rps" in result:
        print(f"Rapport de débit 2 répliques / 1 : {result['scaling_ratio_rps']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
