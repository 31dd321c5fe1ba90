"""`make bench`: this project's pipeline against Rasa's default pipeline, same data, same run.

For each configuration: training time and peak memory, NLU macro-F1 on the held-out
test set, server start-up time (both servers, and Rasa's own), REST turn latency p50/p95
(sequential, with and without a custom action, and 20 concurrent conversations), latency at
turn 1 and turn 100 of long sessions, and peak memory (Rasa alone, the action server alone,
both). Prints a Markdown table (pasted into the README) and one verdict line per performance
bar of issue 17 (absolute bars, and bars relative to Rasa's default pipeline of the same
run), and writes both to bench/results/latest.json.

    python -m ops.bench [--quick] [--only NAME] [--model PATH]
      --quick: fewer turns, for a smoke run
      --model: this project's trained model, to skip its training (no training figures)
"""

from __future__ import annotations

import argparse
import json
import operator
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
from typing import Any, Callable, Dict, List, Mapping, Sequence

import psutil

from ops import servers
from ops.check_nlu import entity_scores, intent_report
from ops.render import ROOT

BIN = Path(sys.executable).parent
PROJECT, BASELINE = "project", "rasa-default"
CONFIGS = {PROJECT: ROOT / "config.yml", BASELINE: ROOT / "bench" / "config_default.yml"}

# Turns answered by a response template (no custom action) and by a custom action.
NO_ACTION_TURNS = ["Bonjour", "merci beaucoup", "au revoir", "tu es un robot ?", "que savez-vous faire ?"]
ACTION_TURNS = ["horaires de la mairie", "je veux parler à quelqu'un", "horaires du ccas samedi"]
SCRIPT = NO_ACTION_TURNS + ACTION_TURNS
# Long sessions: 13 cycles of the 8-message script = 104 turns, so that turn 100 falls in the
# last cycle (turns 97-104), compared with the first (turns 1-8).
LONG_SESSION_CYCLES = 13

# The performance bars of issue 17. Absolute: (measure, comparison, bar).
ABSOLUTE_BARS = [
    ("startup_s", "≤", 20.0),
    ("rasa_peak_mb", "≤", 1200.0),
    ("train_s", "≤", 240.0),
    ("long_session_ratio", "≤", 1.5),
    ("concurrent20_errors", "=", 0),
]
# Relative to the BASELINE configuration of the same run: (measure, comparison).
RELATIVE_BARS = [
    ("rasa_peak_mb", "<"),
    ("p95_no_action_ms", "<"),
    ("p95_action_ms", "<"),
    ("p95_concurrent20_ms", "<"),
    ("intent_macro_f1", "≥"),
    ("entity_micro_f1", "≥"),
]
COMPARISONS: Dict[str, Callable[[Any, Any], bool]] = {
    "≤": operator.le,
    "<": operator.lt,
    "≥": operator.ge,
    "=": operator.eq,
}


def tree_rss(root: psutil.Process) -> int:
    """Resident bytes of a process and its descendants (0 for those gone meanwhile)."""
    try:
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in members:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


class PeakMemory:
    """Samples the RSS of process trees in the background: `peak_mb` is the highest total of
    the trees of `pids` seen at one sample, `peaks_mb[name]` the highest of each named group."""

    def __init__(self, pids: Sequence[int], groups: Mapping[str, Sequence[int]] | None = None):
        self.groups = {name: list(members) for name, members in (groups or {}).items()}
        self.pids = list(pids)
        every_pid = dict.fromkeys([*self.pids, *(pid for m in self.groups.values() for pid in m)])
        self.roots = {pid: psutil.Process(pid) for pid in every_pid}
        self.peak_mb = 0.0
        self.peaks_mb = {name: 0.0 for name in self.groups}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        rss = {pid: tree_rss(root) / 2**20 for pid, root in self.roots.items()}
        self.peak_mb = max(self.peak_mb, sum(rss[pid] for pid in self.pids))
        for name, members in self.groups.items():
            self.peaks_mb[name] = max(self.peaks_mb[name], sum(rss[pid] for pid in members))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
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
    return [turn(url, sender, message) for message in SCRIPT * rounds]


def long_session_windows(sessions: Sequence[Sequence[float]], cycle: int = len(SCRIPT)) -> Dict[str, float]:
    """Latency at the start and at the end of long sessions, from each session's per-turn
    latencies (ms, in order): `turn1_ms` is the median of every session's first cycle of the
    script, `turn100_ms` of every session's last complete cycle (turns 97-104 with 13 cycles).
    Whole cycles on both sides, so that both windows have the same mix of messages (a custom
    action costs more than a response template)."""
    if not sessions:
        raise ValueError("no session")
    cycles = min(len(latencies) for latencies in sessions) // cycle
    if cycles < 2:
        raise ValueError(f"long sessions need at least 2 cycles of {cycle} turns")
    first = [ms for latencies in sessions for ms in latencies[:cycle]]
    last = [ms for latencies in sessions for ms in latencies[(cycles - 1) * cycle : cycles * cycle]]
    turn1, turn100 = statistics.median(first), statistics.median(last)
    return {
        "turn1_ms": turn1,
        "turn100_ms": turn100,
        "long_session_ratio": turn100 / turn1 if turn1 > 0 else float("nan"),
        "long_session_turns": cycles * cycle,
        "long_sessions": len(sessions),
    }


def latency(url: str, rounds: int, long_sessions: int) -> Dict[str, float]:
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
    # Long sessions, one after the other (distinct senders): a turn without a reply raises.
    sessions = [conversation(url, LONG_SESSION_CYCLES) for _ in range(long_sessions)]
    return {
        "p50_no_action_ms": statistics.median(no_action),
        "p95_no_action_ms": percentile(no_action, 95),
        "p50_action_ms": statistics.median(action),
        "p95_action_ms": percentile(action, 95),
        "p50_concurrent20_ms": statistics.median(concurrent) if concurrent else float("nan"),
        "p95_concurrent20_ms": percentile(concurrent, 95) if concurrent else float("nan"),
        "concurrent20_errors": errors,
        **long_session_windows(sessions),
        "turns_measured": len(no_action) + len(action) + len(concurrent) + sum(map(len, sessions)),
    }


def role(proc: subprocess.Popen) -> str:
    """Which server a process of `servers.start_stack` is, from its command line: "rasa",
    "actions" or "other" (the ANTS hub, the appointment pages)."""
    args = [str(arg) for arg in proc.args]
    rasa = servers.rasa_command()
    if args[: len(rasa)] == rasa:
        return "rasa"
    if args[1:3] == ["-m", "ops.action_server"]:
        return "actions"
    return "other"


def serve(model: Path, rounds: int, long_sessions: int, work: Path, log: Path) -> Dict[str, float]:
    env = dict(os.environ, GRU_TRACKER_STORE_URL=f"sqlite:///{work / 'bench-tracker.db'}")
    env.pop("GRU_LOCK_STORE_URL", None)
    # One sender sends up to 104 messages in a row, far faster than a citizen: the per-sender
    # limit (channels/rate.py, 20 a minute by default) would answer 429. Raised out of reach
    # rather than "off", so that the limiter's check stays in the measured turns.
    env["GRU_RATE_PER_SENDER"] = env["GRU_RATE_PER_ADDRESS"] = "1000000/60"
    with open(log, "ab") as out:
        stack = servers.start_stack(
            rasa_port=15005, action_port=15055, model=model, env=env, run_dir=work / "run", log=out
        )
    try:
        groups: Dict[str, List[int]] = {"rasa": [], "actions": []}
        for proc in stack.processes:
            groups.setdefault(role(proc), []).append(proc.pid)
        if len(groups["rasa"]) != 1:
            raise RuntimeError(f"expected one Rasa process, found {len(groups['rasa'])}")
        rasa = psutil.Process(groups["rasa"][0])
        with PeakMemory([p.pid for p in stack.processes], groups) as memory:
            result = latency(stack.url, rounds, long_sessions)
            result["rasa_rss_after_mb"] = tree_rss(rasa) / 2**20
        result["startup_s"] = stack.startup_seconds
        # Rasa's own: from its start until its "/" answered (it loads the model before it binds
        # its port), polled every 0.5 s once the action server's health answered.
        result["rasa_startup_s"] = stack.rasa_startup_seconds
        # Sampled from the first measured turn on: the servers' start-up is not included.
        result["serve_peak_mb"] = memory.peak_mb
        result["rasa_peak_mb"] = memory.peaks_mb["rasa"]
        result["actions_peak_mb"] = memory.peaks_mb["actions"]
        return result
    finally:
        stack.stop()


def bench_config(
    name: str, config: Path, rounds: int, long_sessions: int, work: Path, model: Path | None = None
) -> Dict[str, float]:
    log = work / f"{name}.log"
    result: Dict[str, float] = {}
    if model is None:
        print(f"[{name}] training…", flush=True)
        result.update(train(config, work / name, log))
        model = work / name / "bench.tar.gz"
    else:
        print(f"[{name}] model given ({model}): training skipped", flush=True)
    print(f"[{name}] NLU evaluation…", flush=True)
    result.update(nlu_f1(model, work / f"{name}-nlu", log))
    print(f"[{name}] serving and measuring latency…", flush=True)
    result.update(serve(model, rounds, long_sessions, work, log))
    return result


ROWS = [
    ("intent macro-F1 (held-out)", "intent_macro_f1", "{:.3f}"),
    ("entity micro-F1 (held-out)", "entity_micro_f1", "{:.3f}"),
    ("training time (s)", "train_s", "{:.0f}"),
    ("training peak memory (MB)", "train_peak_mb", "{:.0f}"),
    ("server start-up (s)", "startup_s", "{:.0f}"),
    ("Rasa start-up (s)", "rasa_startup_s", "{:.0f}"),
    ("REST p50 / p95, no custom action (ms)", ("p50_no_action_ms", "p95_no_action_ms"), "{:.0f} / {:.0f}"),
    ("REST p50 / p95, custom action (ms)", ("p50_action_ms", "p95_action_ms"), "{:.0f} / {:.0f}"),
    ("REST p50 / p95, 20 concurrent (ms)", ("p50_concurrent20_ms", "p95_concurrent20_ms"), "{:.0f} / {:.0f}"),
    ("errors under 20 concurrent", "concurrent20_errors", "{}"),
    ("long session: turn 1 / turn 100 median (ms)", ("turn1_ms", "turn100_ms"), "{:.0f} / {:.0f}"),
    ("long session: turn 100 / turn 1", "long_session_ratio", "{:.2f}"),
    ("Rasa peak memory (MB)", "rasa_peak_mb", "{:.0f}"),
    ("Rasa memory after the latency runs (MB)", "rasa_rss_after_mb", "{:.0f}"),
    ("action server peak memory (MB)", "actions_peak_mb", "{:.0f}"),
    ("servers peak memory (MB)", "serve_peak_mb", "{:.0f}"),
]


def table(results: Mapping[str, Mapping[str, float]]) -> str:
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


def figure(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if key.endswith("_f1"):
        return f"{value:.3f}"
    if key.endswith("_ratio"):
        return f"{value:.2f}"
    if key.endswith("_s"):
        return f"{value:.1f}"
    if isinstance(value, int):
        return str(value)
    return f"{value:.0f}"


def _verdict(key: str, value: Any, comparison: str, bar: Any, bar_text: str) -> Dict[str, Any]:
    # A NaN (e.g. no concurrent turn answered) compares False: OVER. A figure not measured
    # (e.g. training skipped with --model) is neither OK nor OVER.
    ok = None if value is None or bar is None else bool(COMPARISONS[comparison](value, bar))
    return {"name": key, "value": value, "bar": f"{comparison} {bar_text}", "ok": ok}


def verdicts(
    results: Mapping[str, Mapping[str, Any]], subject: str = PROJECT, baseline: str = BASELINE
) -> List[Dict[str, Any]]:
    """Issue 17's bars for `subject` (else the only configuration that ran): the absolute bars,
    then the bars relative to `baseline` of the same run, skipped when it did not run."""
    if subject not in results:
        subject = next(iter(results))
    measured = results[subject]
    found = [_verdict(key, measured.get(key), op, bar, f"{bar:g}") for key, op, bar in ABSOLUTE_BARS]
    if baseline not in results or baseline == subject:
        found.append(
            {
                "name": "relative bars",
                "skipped": f"only {subject} ran (--only): no comparison with {baseline}",
                "ok": None,
            }
        )
        return found
    reference = results[baseline]
    for key, comparison in RELATIVE_BARS:
        bar = reference.get(key)
        found.append(_verdict(key, measured.get(key), comparison, bar, f"{baseline} {figure(key, bar)}"))
    return found


def verdict_line(verdict: Mapping[str, Any]) -> str:
    """`name: value (bar …) OK|OVER`, NOT MEASURED when a figure is missing."""
    if "skipped" in verdict:
        return f"{verdict['name']}: skipped, {verdict['skipped']}"
    outcome = {True: "OK", False: "OVER", None: "NOT MEASURED"}[verdict["ok"]]
    return f"{verdict['name']}: {figure(verdict['name'], verdict['value'])} (bar {verdict['bar']}) {outcome}"


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer turns (smoke run)")
    parser.add_argument("--only", choices=sorted(CONFIGS), help="bench one configuration only")
    parser.add_argument(
        "--model", type=Path, help=f"trained model of the {PROJECT} configuration: its training is skipped"
    )
    args = parser.parse_args(argv)
    if args.model is not None and not args.model.is_file():
        parser.error(f"no model at {args.model}")
    if args.model is not None and args.only == BASELINE:
        parser.error(f"--model is a model of the {PROJECT} configuration")
    rounds = 4 if args.quick else 20
    # --quick: one long session instead of three, still 104 turns (about 10 s).
    long_sessions = 1 if args.quick else 3
    work = Path(tempfile.mkdtemp(prefix="gru-bench-"))
    results: Dict[str, Dict[str, float]] = {}
    for name, config in CONFIGS.items():
        if args.only and name != args.only:
            continue
        model = args.model.resolve() if args.model is not None and name == PROJECT else None
        results[name] = bench_config(name, config, rounds, long_sessions, work, model)
    print("\n" + table(results) + "\n")
    found = verdicts(results)
    for verdict in found:
        print(verdict_line(verdict))
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    run = {"date": time.strftime("%Y-%m-%d %H:%M"), "quick": args.quick, "model": str(args.model or "")}
    (out_dir / "latest.json").write_text(json.dumps({**results, "verdicts": found, "run": run}, indent=2))
    print(f"\nLogs: {work}; figures: {out_dir / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
