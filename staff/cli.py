"""Agent accounts from the command line (operators).

    python -m staff.cli add-agent --login jdupont --name "Jeanne Dupont" \
        --service etat_civil --role agent

The password is asked twice on the terminal (getpass), never taken from the command line
(it would stay in the shell history and in the process list).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Callable, List

from core.db import session_scope
from core.territory import load_territory
from staff.auth import WeakPassword, create_agent, utcnow
from staff.models import ROLES


def _read_password(ask: Callable[[str], str]) -> str | None:
    first = ask("Mot de passe (12 caractères au moins) : ")
    second = ask("Le même mot de passe, encore une fois : ")
    if first != second:
        print("Les deux mots de passe diffèrent : rien n'a été créé.", file=sys.stderr)
        return None
    return first


def add_agent(args: argparse.Namespace, ask: Callable[[str], str] = getpass.getpass) -> int:
    services = [s.strip() for s in args.service.split(",") if s.strip()]
    known = load_territory().services
    unknown = [s for s in services if s not in known]
    if unknown or not services:
        print(
            f"Service inconnu : {', '.join(unknown) or '(aucun)'}. "
            f"Services du territoire : {', '.join(known)}.",
            file=sys.stderr,
        )
        return 2
    password = _read_password(ask)
    if password is None:
        return 1
    try:
        with session_scope(write=True) as session:
            create_agent(
                session,
                login=args.login,
                display_name=args.name or args.login,
                password=password,
                role=args.role,
                services=services,
                now=utcnow(),
            )
    except (ValueError, WeakPassword) as exc:
        print(f"{exc} Rien n'a été créé.", file=sys.stderr)
        return 1
    print(f"Compte « {args.login.strip().lower()} » créé ({args.role}, {', '.join(services)}).")
    return 0


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff.cli", description="Comptes des agents.")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-agent", help="créer un compte d'agent (mot de passe demandé deux fois)")
    add.add_argument("--login", required=True, help="identifiant de connexion")
    add.add_argument("--name", help="nom affiché aux collègues")
    add.add_argument("--service", required=True, help="service(s) du territoire, séparés par des virgules")
    add.add_argument("--role", required=True, choices=ROLES)
    args = parser.parse_args(argv)
    return add_agent(args)


if __name__ == "__main__":
    raise SystemExit(main())
