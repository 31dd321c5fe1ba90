"""Run a command with the variables of gru.env: `python -m ops.envfile FILE COMMAND [ARG…]`.

What systemd's EnvironmentFile= does for the units of deploy/systemd, for containers whose
orchestrator can mount a file but not turn it into variables (the Helm charts of deploy/helm
take a list of single variables only). The file is deploy/gru.env.example's format, read the
way systemd reads it, not by a shell: `NAME=value` lines, `#` and `;` comments, blank lines,
one pair of surrounding quotes removed, no `$` expansion, so `GRU_SMTP_FROM_NAME=Mairie de
Villebrune` needs no quoting. A variable already in the environment (set by the chart) wins
over the file. Then the command replaces this process (exec): signals reach it directly.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Dict, Mapping

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class EnvFileError(ValueError):
    """A line of the file is not `NAME=value`."""


def parse(text: str) -> Dict[str, str]:
    values: Dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not NAME.fullmatch(name):
            # The line number only: the line itself may hold a secret.
            raise EnvFileError(f"ligne {number} : « NOM=valeur » attendu")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def merged(path: Path, env: Mapping[str, str]) -> Dict[str, str]:
    """The file's variables under the environment's (the environment wins)."""
    return {**parse(path.read_text(encoding="utf-8")), **env}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print("usage : python -m ops.envfile FICHIER COMMANDE [ARGUMENTS…]", file=sys.stderr)
        return 2
    try:
        env = merged(Path(args[0]), os.environ)
    except (OSError, EnvFileError) as exc:
        print(f"{args[0]} : {exc}", file=sys.stderr)
        return 2
    os.execvpe(args[1], args[1:], env)
    return 0  # not reached: exec replaced the process


if __name__ == "__main__":
    raise SystemExit(main())
