"""`make bench`: this project's pipeline against Rasa's default pipeline, same data, same run.

For each configuration: training time and peak memory, NLU macro-F1 on the held-out
test set, server start-up time, REST turn latency p50/p95 (sequential, with and
without a custom action, and 20 concurrent conversations) and the servers' peak memory.
Prints a Markdown table (pasted into the README) and writes bench/results/latest.json.

    python -m ops.bench [--quick]   # --quick: fewer turns, for a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List

import psutil

from ops import servers
from ops.check_nlu import entity_scores, intent_report
from ops.render import ROOT

BIN = Path(sys.executable).parent
CONFIGS = {"project": ROOT / "config.yml", "rasa-default": ROOT / "bench" / "config_default.yml"}
TARGETS = {"p95_no_action_ms": 150.0, "p95_action_ms": 300.0, "train_s": 600.0, "startup_s": 60.0}

# Turns answered by a response template (no custom action) and by a custom action.
NO_ACTION_TURNS = ["Bonjour", "merci beaucoup", "au revoir", "tu es un robot ?", "que savez-vous faire ?"]
ACTION_TURNS = ["horaires de la mairie", "je veux parler à quelqu'un", "horaires du ccas samedi"]


class PeakMemory:
    """Samples the RSS of a process tree in the background; `peak_mb` is the maximum seen."""

    def __init__(self, pids: List[int]):
        self.roots = [psutil.Process(pid) for pid in pids]
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for root in self.roots:
                try:
                    for proc in [root, *root.children(recursive=True)]:
                        total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_logged(cmd: List[str], log: Path) -> subprocess.Popen:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", RASA_TELEMETRY_ENABLED="false")
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)


def train(config: Path, out: Path, log: Path) -> Dict[str, float]:
    start = time.monotonic()
    proc = run_logged(
        [
            str(BIN / "rasa"),
            "train",
            "--domain",
            str(ROOT / "domain"),
            "--config",
            str(config),
            "--out",
            str(out),
            "--fixed-model-name",
            "bench",
            "--force",
            "--num-threads",
            "2",
        ],
        log,
    )
    with PeakMemory([proc.pid]) as memory:
        code = proc.wait()
    if code != 0:
        raise RuntimeError(f"training with {config.name} failed: see {log}")
    return {"train_s": time.monotonic() - start, "train_peak_mb": memory.peak_mb}


def nlu_f1(model: Path, out: Path, log: Path) -> Dict[str, float]:
    proc = run_logged(
        [
            str(BIN / "rasa"),
            "test",
            "nlu",
            "--nlu",
            "tests/nlu",
            "--model",
            str(model),
            "--no-plot",
            "--out",
            str(out),
        ],
        log,
    )
    if proc.wait() != 0:
        raise RuntimeError(f"NLU evaluation failed: see {log}")
    result = {"intent_macro_f1": intent_report(out)["macro avg"]["f1-score"]}
    entities = entity_scores(out)
    if entities is not None:
        result["entity_micro_f1"] = entities["micro"]
    return result


def turn(url: str, sender: str, message: str) -> float:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        replies = json.loads(response.read())
    elapsed = (time.perf_counter() - start) * 1000
    if not replies:
        raise RuntimeError(f"no reply to {message!r}")
    return elapsed


def conversation(url: str, rounds: int) -> List[float]:
    sender = f"bench-{uuid.uuid4()}"
    script = (NO_ACTION_TURNS + ACTION_TURNS) * rounds
    return [turn(url, sender, message) for message in script]


def latency(url: str, rounds: int) -> Dict[str, float]:
    # Warm-up: first turns pay for lazy initialisation.
    conversation(url, 1)
    no_action: List[float] = []
    action: List[float] = []
    for _ in range(rounds):
        sender = f"bench-{uuid.uuid4()}"
        no_action += [turn(url, sender, m) for m in NO_ACTION_TURNS]
        action += [turn(url, sender, m) for m in ACTION_TURNS]
    errors = 0
    concurrent: List[float] = []
    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(conversation, url, max(1, rounds // 4)) for _ in range(20)]
        for future in futures:
            try:
                concurrent += future.result()
            except Exception:  # noqa: BLE001 - any failure counts as an error
                errors += 1
    return {
        "p50_no_action_ms": statistics.median(no_action),
        "p95_no_action_ms": percentile(no_action, 95),
        "p50_action_ms": statistics.median(action),
        "p95_action_ms": percentile(action, 95),
        "p50_concurrent20_ms": statistics.median(concurrent) if concurrent else float("nan"),
        "p95_concurrent20_ms": percentile(concurrent, 95) if concurrent else float("nan"),
        "concurrent20_errors": errors,
        "turns_measured": len(no_action) + len(action) + len(concurrent),
    }


def serve(model: Path, rounds: int, work: Path, log: Path) -> Dict[str, float]:
    env = dict(os.environ, GRU_TRACKER_STORE_URL=f"sqlite:///{work / 'bench-tracker.db'}")
    env.pop("GRU_LOCK_STORE_URL", None)
    with open(log, "ab") as out:
        stack = servers.start_stack(
            rasa_port=15005, action_port=15055, model=model, env=env, run_dir=work / "run", log=out
        )
    try:
        with PeakMemory([p.pid for p in stack.processes]) as memory:
            result = latency(stack.url, rounds)
        result["startup_s"] = stack.startup_seconds
        result["serve_peak_mb"] = memory.peak_mb
        return result
    finally:
        stack.stop()


def bench_config(name: str, config: Path, rounds: int, work: Path) -> Dict[str, float]:
    log = work / f"{name}.log"
    print(f"[{name}] training…", flush=True)
    result = train(config, work / name, log)
    model = work / name / "bench.tar.gz"
    print(f"[{name}] NLU evaluation…", flush=True)
    result.update(nlu_f1(model, work / f"{name}-nlu", log))
    print(f"[{name}] serving and measuring latency…", flush=True)
    result.update(serve(model, rounds, work, log))
    return result


ROWS = [
    ("intent macro-F1 (held-out)", "intent_macro_f1", "{:.3f}"),
    ("entity micro-F1 (held-out)", "entity_micro_f1", "{:.3f}"),
    ("training time (s)", "train_s", "{:.0f}"),
    ("training peak memory (MB)", "train_peak_mb", "{:.0f}"),
    ("server start-up (s)", "startup_s", "{:.0f}"),
    ("REST p50 / p95, no custom action (ms)", ("p50_no_action_ms", "p95_no_action_ms"), "{:.0f} / {:.0f}"),
    ("REST p50 / p95, custom action (ms)", ("p50_action_ms", "p95_action_ms"), "{:.0f} / {:.0f}"),
    ("REST p50 / p95, 20 concurrent (ms)", ("p50_concurrent20_ms", "p95_concurrent20_ms"), "{:.0f} / {:.0f}"),
    ("errors under 20 concurrent", "concurrent20_errors", "{}"),
    ("servers peak memory (MB)", "serve_peak_mb", "{:.0f}"),
]


def table(results: Dict[str, Dict[str, float]]) -> str:
    names = list(results)
    lines = ["| measure | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for label, keys, fmt in ROWS:
        keys = keys if isinstance(keys, tuple) else (keys,)
        cells = []
        for name in names:
            values = [results[name].get(k) for k in keys]
            cells.append("n/a" if any(v is None for v in values) else fmt.format(*values))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts(result: Dict[str, float]) -> List[str]:
    lines = []
    for key, target in TARGETS.items():
        value = result.get(key)
        if value is not None:
            lines.append(f"{key}: {value:.0f} (target ≤ {target:.0f}) {'OK' if value <= target else 'OVER'}")
    errors = result.get("concurrent20_errors")
    lines.append(f"concurrent20_errors: {errors} (target 0) {'OK' if errors == 0 else 'OVER'}")
    return lines


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer turns (smoke run)")
    parser.add_argument("--only", choices=sorted(CONFIGS), help="bench one configuration only")
    args = parser.parse_args(argv)
    rounds = 4 if args.quick else 20
    work = Path(tempfile.mkdtemp(prefix="gru-bench-"))
    results = {}
    for name, config in CONFIGS.items():
        if args.only and name != args.only:
            continue
        results[name] = bench_config(name, config, rounds, work)
    print("\n" + table(results) + "\n")
    for line in verdicts(results.get("project", next(iter(results.values())))):
        print(line)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(results, indent=2))
    print(f"\nLogs: {work}; figures: {out_dir / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
