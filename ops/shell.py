"""`make shell`: the action server in the background, `rasa shell` in the foreground.

The action server is stopped however the shell ends (/stop, Ctrl-C, a closed terminal).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from ops import render, servers


def main() -> int:
    action_port = int(os.environ.get("ACTION_PORT", "5055"))
    env = dict(os.environ, GRU_ACTION_SERVER_URL=f"http://127.0.0.1:{action_port}/webhook")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(servers.ROOT), env.get("PYTHONPATH")) if p)
    files = render.write(servers.ROOT / ".run", env)
    (servers.ROOT / "var").mkdir(exist_ok=True)
    action = subprocess.Popen(
        [str(servers.BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(action_port)],
        cwd=servers.ROOT,
        env=env,
        start_new_session=True,
    )
    stack = servers.Stack(rasa_port=0, action_port=action_port, processes=[action])
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(1))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        servers.wait_http(f"http://127.0.0.1:{action_port}/health", 120, action)
        shell = [str(servers.BIN / "rasa"), "shell", "--endpoints", str(files["endpoints"]), "-m", "models"]
        return subprocess.call(shell, cwd=servers.ROOT, env=env)
    except KeyboardInterrupt:
        return 130
    finally:
        stack.stop()


if __name__ == "__main__":
    raise SystemExit(main())
