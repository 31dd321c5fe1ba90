"""Where the Rasa server's time and memory go (README « Benchmarks », « Profiles »).

    python -m ops.profile startup [MODEL]        # imports, then each graph node's load: seconds and MB
    python -m ops.profile session [MODEL] [-n 13] # turn latency along one long session, and a
                                                  # cProfile of an early and of the last cycle

Both load the model in this process, as `rasa run` does (`session` also starts the action
server on a free port, with a throw-away SQLite tracker store). Figures are RSS of this
process (what `ps` and the bench show), read after each step.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, List

import psutil

from ops.bench import SCRIPT  # the same turns as `make bench`
from ops.render import ROOT
from ops.servers import free_port


class Marks:
    """Prints elapsed seconds and this process's RSS at each step."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.process = psutil.Process()

    def rss_mb(self) -> float:
        return self.process.memory_info().rss / 2**20

    def __call__(self, label: str) -> None:
        print(f"{time.perf_counter() - self.start:7.2f} s  {self.rss_mb():6.0f} MB  {label}", flush=True)


def newest_model() -> Path:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("aucun modèle dans models/ : lancez d'abord `make train`")
    return models[-1]


def time_each_node(marks: Marks) -> None:
    """Wrap Rasa's graph nodes' component loading to print each one's seconds and MB."""
    import rasa.engine.graph as graph

    load: Callable[..., Any] = graph.GraphNode._load_component

    def timed(node: Any, **kwargs: Any) -> Any:
        started, before = time.perf_counter(), marks.rss_mb()
        try:
            return load(node, **kwargs)
        finally:
            print(
                f"          node {node._node_name:<52} {time.perf_counter() - started:6.2f} s"
                f"  {marks.rss_mb() - before:+6.0f} MB",
                flush=True,
            )

    graph.GraphNode._load_component = timed  # profiling only: this process exits afterwards


def startup(model: Path) -> None:
    marks = Marks()
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]  # as ops/servers.run_rasa does
    marks("python")
    import tensorflow  # noqa: F401

    marks("import tensorflow")
    import spacy  # noqa: F401

    marks("import spacy")
    from rasa.core.agent import load_agent

    marks("import rasa.core.agent")
    time_each_node(marks)

    async def run() -> None:
        agent = await load_agent(model_path=str(model))
        marks("model loaded")
        await agent.parse_message("bonjour")
        marks("first message parsed")
        await agent.handle_text("bonjour", sender_id="profile")
        marks("first turn")

    asyncio.run(run())


def session(model: Path, cycles: int) -> None:
    from ops import servers

    with tempfile.TemporaryDirectory(prefix="gru-profile-") as tmp:
        work = Path(tmp)
        port = free_port()
        env = dict(os.environ, GRU_TRACKER_STORE_URL=f"sqlite:///{work / 'tracker.db'}")
        env.pop("GRU_LOCK_STORE_URL", None)
        full_env, files = servers.prepare(port, env, work)
        os.environ.update(full_env)
        with open(work / "actions.log", "wb") as log:
            action = subprocess.Popen(
                servers.action_server_command(port), env=full_env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            servers.wait_http(f"http://127.0.0.1:{port}/health", 120, action)
            asyncio.run(_session(model, Path(files["endpoints"]), cycles))
        finally:
            action.terminate()
            action.wait()


async def _session(model: Path, endpoints_file: Path, cycles: int) -> None:
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints

    agent = await load_agent(
        model_path=str(model), endpoints=AvailableEndpoints.read_endpoints(str(endpoints_file))
    )
    await agent.handle_text("Bonjour", sender_id="warm-up")
    early, late = cProfile.Profile(), cProfile.Profile()
    latencies: List[float] = []
    for cycle in range(cycles):
        profile = early if cycle == 1 else late if cycle == cycles - 1 else None
        for message in SCRIPT:
            started = time.perf_counter()
            if profile:
                profile.enable()
            await agent.handle_text(message, sender_id="profile-long")
            if profile:
                profile.disable()
            latencies.append((time.perf_counter() - started) * 1000)
    for cycle in range(cycles):
        window = latencies[cycle * len(SCRIPT) : (cycle + 1) * len(SCRIPT)]
        note = " (profiled)" if cycle in (1, cycles - 1) else ""
        print(
            f"cycle {cycle + 1:2d} (turns {cycle * 8 + 1:3d}-{cycle * 8 + 8:3d}):"
            f" median {statistics.median(window):6.1f} ms{note}"
        )
    tracker = await agent.tracker_store.retrieve("profile-long")
    print(f"events in the session: {len(tracker.events) if tracker else 0}")
    for title, profile in (("cycle 2", early), (f"cycle {cycles}", late)):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(30)
        print(f"\n===== cProfile, {title}\n{out.getvalue()}")


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["startup", "session"])
    parser.add_argument("model", nargs="?", type=Path, help="model archive (default: the newest in models/)")
    parser.add_argument(
        "-n", "--cycles", type=int, default=13, help="session: cycles of 8 turns (default 13)"
    )
    args = parser.parse_args(argv)
    model = args.model or newest_model()
    if args.what == "startup":
        startup(model)
    else:
        session(model, max(2, args.cycles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
