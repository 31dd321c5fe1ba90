"""Broadcast a crisis alert: python -m ops.broadcast --topic canicule --text "…" [--sector nord]
[--link https://…] [--hours 24] [--yes]

Prints a preview (recipients per channel, the text as sent), asks for an explicit
confirmation (« oui »; --yes for scripts), activates the alert (shown at the welcome for its
validity) and delivers it through each subscriber's channel, then prints the report (sent /
failed per channel). Re-running with --resume <alert id>, or the same command again while
its alert is active, finishes an interrupted delivery without sending anything twice.
Adapters come from the environment (see README, « Alertes »).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Sequence

from sqlalchemy.exc import SQLAlchemyError

from alerts import broadcast
from alerts.config import TOPICS
from alerts.senders import senders_from_env
from core.content import ContentError


async def _deliver(alert_id: str) -> broadcast.Report:
    senders = senders_from_env()
    try:
        return await broadcast.deliver(alert_id, senders)
    finally:
        for sender in senders.values():
            await sender.close()


def main(argv: Sequence[str] | None = None, *, ask=input) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.broadcast", description="Diffuse une alerte à la population."
    )
    parser.add_argument("--topic", choices=TOPICS, help="sujet de l'alerte")
    parser.add_argument(
        "--sector",
        action="append",
        default=[],
        help="secteur concerné (plusieurs possibles ; aucun : toute la commune)",
    )
    parser.add_argument("--text", help="texte de l'alerte (600 caractères au plus)")
    parser.add_argument("--link", help="lien vers plus d'informations (https://…)")
    parser.add_argument("--hours", type=int, default=None, help="durée d'affichage sur le site, en heures")
    parser.add_argument("--yes", action="store_true", help="envoyer sans demander de confirmation")
    parser.add_argument("--resume", metavar="ALERT_ID", help="reprendre l'envoi interrompu d'une alerte")
    args = parser.parse_args(argv)
    try:
        if args.resume:
            alert_id = args.resume
        else:
            if not args.topic or not args.text:
                parser.error("--topic et --text sont obligatoires")
            preview = broadcast.preview(args.topic, args.sector, args.text, args.link)
            print(broadcast.preview_fr(preview))
            if not args.yes:
                answer = ask("Confirmer l'envoi ? Tapez « oui » pour envoyer : ").strip().lower()
                if answer not in ("oui", "o", "yes"):
                    print("Envoi annulé : rien n'a été envoyé.")
                    return 1
            broadcast.confirm(preview.alert_id, hours=args.hours)
            alert_id = preview.alert_id
        report = asyncio.run(_deliver(alert_id))
    except broadcast.BroadcastError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(
            f"Base de données injoignable ou incomplète ({type(exc).__name__}) : rien n'a été envoyé.",
            file=sys.stderr,
        )
        return 2
    print(broadcast.report_fr(report))
    return 0


if __name__ == "__main__":  # pragma: no cover - operators' entry point
    sys.exit(main())
