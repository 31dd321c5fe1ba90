"""Agents' command line for reports: `python -m reports.cli status SIG-2026-004217 in_progress`
(received → in_progress → closed): what the citizen then reads when following the report."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from booking.models import REPORT_STATUSES
from reports.store import set_status
from tracking.connector import normalise_reference

STATUS_FR = {"received": "reçu", "in_progress": "en cours de traitement", "closed": "traité"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reports.cli", description="Signalements : mise à jour de l'état."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    status = commands.add_parser("status", help="changer l'état d'un signalement")
    status.add_argument("reference", help="SIG-AAAA-NNNNNN")
    status.add_argument("status", choices=REPORT_STATUSES)
    args = parser.parse_args(argv)
    reference = normalise_reference(args.reference)
    if not reference or not reference.startswith("SIG-"):
        print("Référence invalide : attendu SIG-AAAA-NNNNNN.", file=sys.stderr)
        return 2
    if not set_status(reference, args.status):
        print(f"Aucun signalement {reference}.", file=sys.stderr)
        return 1
    print(f"Signalement {reference} : {STATUS_FR[args.status]}.")
    return 0


if __name__ == "__main__":  # pragma: no cover - agents' entry point
    sys.exit(main())
