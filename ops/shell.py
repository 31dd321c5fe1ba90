"""`make shell`: the action server in the background, `rasa shell` in the foreground.

The action server is stopped however the shell ends (/stop, Ctrl-C, a closed terminal).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from ops import servers


def main() -> int:
    action_port = int(os.environ.get("ACTION_PORT", "5055"))
    env, files = servers.prepare(action_port)
    action = subprocess.Popen(
        servers.action_server_command(action_port), cwd=servers.ROOT, env=env, start_new_session=True
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
