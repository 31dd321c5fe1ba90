"""Ligne de commande des agents : rendez-vous du jour, ouvertures et fermetures, sites.

    python -m booking.cli jour [--date 2026-12-19] [--site villebrune-mairie] [--csv export.csv]
    python -m booking.cli ouvrir --site villebrune-mairie --du 2026-12-01 --au 2026-12-20 \\
        --heures 09:00-12:00 [--heures 14:00-17:00] [--jours sam,dim] [--postes 1]
    python -m booking.cli fermer --site villebrune-mairie|--tous --date 2026-12-19 --motif "inventaire" \\
        [--forcer]
    python -m booking.cli sites

Every command takes --db URL (default GRU_DATABASE_URL). Messages are in French:
agents read them. The rules of `ouvrir` and `fermer` are booking/operations.py's, shared with the
agents' agenda pages (handoff/agenda.py). Exit codes: 0 done, 1 database missing/unreachable or closure
refused, 2 bad input (unknown site, bad date or hours) — never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable, List, Sequence

from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from booking import engine
from booking.models import Closure, ExtraOpening, Site
from booking.operations import (
    MAX_STATIONS,
    REASON_FR,
    STATUS_FR,
    AgendaError,
    Booked,
    close_day,
    day_closed,
    day_csv,
    day_fr,
    hm,
    open_extra,
    site_or_error,
)
from core.db import database_url, engine_for, session_scope
from core.territory import TerritoryConfigError
from core.text import WEEKDAYS_FR, fold

DAY_ABBR = tuple(day[:3] for day in WEEKDAYS_FR)  # lun, mar, … as agents type them
MISSING_DATABASE = "Base de rendez-vous absente : lancez `make run` ou `python -m booking.seed`."


class CliError(Exception):
    """A problem the agent can fix (bad input): one French line, exit code 2 by default."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


class DatabaseMissing(Exception):
    pass


# ---- parsing of agents' input -----------------------------------------------------------------


def today() -> date:
    return engine.local_now().date()


def parse_day(text: str) -> date:
    """AAAA-MM-JJ or JJ/MM/AAAA (also « aujourd'hui », « demain »)."""
    raw = text.strip().lower()
    if raw in ("aujourd'hui", "aujourdhui", "auj"):
        return today()
    if raw == "demain":
        return today() + timedelta(days=1)
    for pattern, fmt in ((r"^\d{4}-\d{1,2}-\d{1,2}$", "%Y-%m-%d"), (r"^\d{1,2}/\d{1,2}/\d{4}$", "%d/%m/%Y")):
        if re.match(pattern, raw):
            try:
                return datetime.strptime(raw, fmt).date()
            except ValueError:
                break
    raise argparse.ArgumentTypeError(f"date invalide « {text} » (attendu AAAA-MM-JJ ou JJ/MM/AAAA)")


_CLOCK = r"(\d{1,2})(?:[:h](\d{2})?)?"
_HOURS = re.compile(rf"^{_CLOCK}\s*-\s*{_CLOCK}$")


def _clock(hour: str, minute: str | None, text: str) -> time:
    h, m = int(hour), int(minute or 0)
    if h > 23 or m > 59:
        raise argparse.ArgumentTypeError(f"heure invalide dans « {text} »")
    return time(h, m)


def parse_hours(text: str) -> tuple[time, time]:
    """« 09:00-12:00 » (also « 9h-12h », « 9h30-12h »)."""
    match = _HOURS.match(text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(
            f"plage horaire invalide « {text} » (attendu HH:MM-HH:MM, ex. 09:00-12:00)"
        )
    start = _clock(match.group(1), match.group(2), text)
    end = _clock(match.group(3), match.group(4), text)
    if end <= start:
        raise argparse.ArgumentTypeError(f"plage horaire « {text} » : la fin doit être après le début")
    return start, end


def _day_index(word: str, text: str) -> int:
    plain = "".join(c for c in fold(word) if c.isalpha())[:3]
    if plain not in DAY_ABBR:
        raise argparse.ArgumentTypeError(
            f"jour inconnu « {word.strip()} » dans « {text} » (attendu : {','.join(DAY_ABBR)})"
        )
    return DAY_ABBR.index(plain)


def parse_weekdays(text: str) -> frozenset[int]:
    """« lun,mar,sam », « lun-ven », « samedi,dimanche » → weekday numbers (0 = lundi)."""
    days: set[int] = set()
    for part in text.split(","):
        if not part.strip():
            continue
        first, sep, last = part.partition("-")
        if sep:
            a, b = _day_index(first, text), _day_index(last, text)
            if b < a:
                raise argparse.ArgumentTypeError(f"intervalle de jours à l'envers « {part.strip()} »")
            days.update(range(a, b + 1))
        else:
            days.add(_day_index(first, text))
    if not days:
        raise argparse.ArgumentTypeError("liste de jours vide")
    return frozenset(days)


def parse_stations(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_STATIONS:
        raise argparse.ArgumentTypeError(f"nombre de postes invalide « {text} » (entre 1 et {MAX_STATIONS})")
    return int(text)


# ---- argparse in French -------------------------------------------------------------------------

_ARGPARSE_FR: List[tuple[str, str]] = [
    (r"the following arguments are required: (.*)", r"arguments obligatoires manquants : \1"),
    (r"one of the arguments (.*) is required", r"l'une de ces options est obligatoire : \1"),
    (r"unrecognized arguments: (.*)", r"arguments inconnus : \1"),
    (r"ambiguous option: (.*) could match (.*)", r"option ambiguë : \1 (possibles : \2)"),
    (r"^argument (\S+): ", r"option \1 : "),
    (r"not allowed with argument (.*)", r"incompatible avec \1"),
    (r"expected one argument", r"une valeur est attendue"),
    (r"invalid choice: (.*) \(choose from (.*)\)", r"choix invalide : \1 (possibles : \2)"),
    (r"invalid (\S+) value: (.*)", r"valeur invalide : \2"),
]


class _FrenchFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix if prefix is not None else "utilisation : ")


class FrenchParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("add_help", False)
        kwargs.setdefault("formatter_class", _FrenchFormatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = "arguments"
        self._optionals.title = "options"
        self.add_argument(
            "-h", "--help", action="help", default=argparse.SUPPRESS, help="afficher cette aide"
        )

    def error(self, message: str):
        for pattern, replacement in _ARGPARSE_FR:
            message = re.sub(pattern, replacement, message)
        self.print_usage(sys.stderr)
        self.exit(2, f"Erreur : {message}\n")


def build_parser() -> FrenchParser:
    parser = FrenchParser(
        prog="python -m booking.cli",
        description="Rendez-vous carte d'identité et passeport : outil des agents (planning du jour, "
        "ouvertures supplémentaires, fermetures, sites).",
    )
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", metavar="URL", help="base de rendez-vous (par défaut : GRU_DATABASE_URL)")
    commands = parser.add_subparsers(dest="command", metavar="COMMANDE", title="commandes", required=True)

    jour = commands.add_parser(
        "jour",
        parents=[db],
        help="rendez-vous d'une journée, par site",
        description="Rendez-vous d'une journée, groupés par site (tous les statuts ; "
        "« à vérifier » : contrôle par un agent demandé).",
    )
    jour.add_argument(
        "--date", type=parse_day, metavar="AAAA-MM-JJ", help="jour voulu (par défaut : aujourd'hui)"
    )
    jour.add_argument("--site", metavar="ID", help="un seul site (identifiant, voir la commande « sites »)")
    jour.add_argument(
        "--csv", metavar="FICHIER", help="export CSV pour Excel (séparateur ;) ; « - » : à l'écran"
    )
    jour.set_defaults(handler=cmd_jour)

    ouvrir = commands.add_parser(
        "ouvrir",
        parents=[db],
        help="ouvrir des créneaux supplémentaires sur une période",
        description="Ajoute des plages d'ouverture exceptionnelles pour chaque jour de la période "
        "(jours fériés, jours fermés et plages déjà ouvertes ignorés).",
    )
    ouvrir.add_argument("--site", required=True, metavar="ID", help="identifiant du site")
    ouvrir.add_argument("--du", required=True, type=parse_day, metavar="AAAA-MM-JJ", help="premier jour")
    ouvrir.add_argument(
        "--au", required=True, type=parse_day, metavar="AAAA-MM-JJ", help="dernier jour (inclus)"
    )
    ouvrir.add_argument(
        "--heures",
        required=True,
        action="append",
        type=parse_hours,
        metavar="HH:MM-HH:MM",
        help="plage horaire, répétable (--heures 09:00-12:00 --heures 14:00-17:00)",
    )
    ouvrir.add_argument(
        "--jours",
        type=parse_weekdays,
        metavar="lun,mar,...",
        help="jours concernés (ex. sam,dim ou lun-ven ; par défaut : tous)",
    )
    ouvrir.add_argument(
        "--postes",
        type=parse_stations,
        metavar="N",
        help="postes biométriques ouverts (par défaut : ceux du site)",
    )
    ouvrir.set_defaults(handler=cmd_ouvrir)

    fermer = commands.add_parser(
        "fermer",
        parents=[db],
        help="fermer un site (ou tous) pour une journée",
        description="Enregistre une fermeture d'une journée. Refusée s'il reste des rendez-vous ce jour-là, "
        "sauf avec --forcer : ils sont alors listés pour prévenir les usagers.",
    )
    where = fermer.add_mutually_exclusive_group(required=True)
    where.add_argument("--site", metavar="ID", help="identifiant du site")
    where.add_argument("--tous", action="store_true", help="tous les sites")
    fermer.add_argument("--date", required=True, type=parse_day, metavar="AAAA-MM-JJ", help="jour fermé")
    fermer.add_argument("--motif", required=True, metavar="TEXTE", help="raison de la fermeture")
    fermer.add_argument("--forcer", action="store_true", help="fermer malgré les rendez-vous existants")
    fermer.set_defaults(handler=cmd_fermer)

    sites = commands.add_parser(
        "sites",
        parents=[db],
        help="sites, postes et horaires",
        description="Sites, postes, horaires hebdomadaires, ouvertures et fermetures à venir.",
    )
    sites.set_defaults(handler=cmd_sites)
    return parser


# ---- shared helpers ---------------------------------------------------------------------------


def _require_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():  # do not create an empty file by asking
            raise DatabaseMissing()
    if not inspect(engine_for(url)).has_table("sites"):
        raise DatabaseMissing()


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> List[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


# ---- jour ---------------------------------------------------------------------------------------


def cmd_jour(args: argparse.Namespace, url: str) -> int:
    day = args.date or today()
    with session_scope(url) as session:
        if args.site:
            sites = [site_or_error(session, args.site)]
        else:
            sites = list(session.execute(select(Site).where(Site.active).order_by(Site.id)).scalars())
        closed = {site.id: day_closed(session, site, day) for site in sites}
    views = engine.appointments_on(day, args.site, url=url)
    if args.csv:
        return _write_csv(views, day, args.csv)

    print(f"Rendez-vous du {day_fr(day)}")
    by_site = {site.id: site.name for site in sites}
    for view in views:  # an inactive site that still has appointments that day
        by_site.setdefault(view.site_id, view.site_name)
    for site_id, name in by_site.items():
        mine = [v for v in views if v.site_id == site_id]
        live = [v for v in mine if v.status != "cancelled"]
        checks = sum(1 for v in live if v.needs_agent_check)
        summary = f"{len(live)} rendez-vous" + (f", {checks} à vérifier" if checks else "")
        if len(mine) > len(live):
            summary += f", {len(mine) - len(live)} annulé(s)"
        print()
        print(f"{name} ({site_id}) — {summary}")
        if closed.get(site_id):
            print(f"  Fermé : {closed[site_id]}")
        if not mine:
            print("  Aucun rendez-vous.")
            continue
        rows = [("Heure", "Durée", "Référence", "Motif", "Pers.", "Nom", "Statut", "À vérifier")]
        rows += [
            (
                hm(v.start),
                f"{v.duration_minutes} min",
                v.reference,
                REASON_FR.get(v.reason, v.reason),
                str(v.people),
                v.surname,
                STATUS_FR.get(v.status, v.status),
                "oui" if v.needs_agent_check else "",
            )
            for v in mine
        ]
        pick_ups = {v.reference: v for v in mine if v.address or v.items}
        for line, view in zip(_table(rows), [None, *mine], strict=True):
            print(line)
            if view is not None and view.reference in pick_ups:
                print(f"      {_pick_up(view)}")
    return 0


def _pick_up(view: engine.AppointmentView) -> str:
    """Where and what a bulky-waste round picks up (under its row)."""
    parts = [
        f"Adresse : {view.address}" if view.address else "",
        f"Objets : {view.items}" if view.items else "",
    ]
    return " — ".join(part for part in parts if part)


def _write_csv(views: Sequence[engine.AppointmentView], day: date, target: str) -> int:
    data = day_csv(views)
    if target == "-":
        sys.stdout.flush()
        out = getattr(sys.stdout, "buffer", None)
        if out is not None:
            out.write(data)
            out.flush()
        else:  # pragma: no cover - a text-only stdout
            sys.stdout.write(data.decode("utf-8"))
        return 0
    try:
        Path(target).write_bytes(data)
    except OSError as exc:
        raise CliError(f"impossible d'écrire « {target} » : {exc.strerror or exc}", code=1) from None
    print(f"{len(views)} rendez-vous du {day_fr(day)} exportés dans {target}.")
    return 0


# ---- ouvrir -------------------------------------------------------------------------------------


def cmd_ouvrir(args: argparse.Namespace, url: str) -> int:
    done = open_extra(
        args.site, args.du, args.au, args.heures,
        today=today(), weekdays=args.jours, stations=args.postes, url=url,
    )  # fmt: skip
    first, last, where = done.first, done.last, f"{done.site_name} ({done.site_id})"
    period = f"du {day_fr(first)} au {day_fr(last)}" if last != first else f"le {day_fr(first)}"
    if done.ranges:
        print(f"Ouvertures ajoutées — {where}, {period} :")
        print(
            f"  {done.days} jour(s), {done.ranges} plage(s), {done.slots} créneau(x) de "
            f"{done.minutes_per_slot} min ({done.stations} poste(s))."
        )
    else:
        print(f"Aucune ouverture ajoutée — {where}, {period}.")
    if done.identical:
        print(f"  {done.identical} plage(s) déjà ouverte(s) à l'identique, non dupliquée(s).")
    if done.skipped:
        print("Jours ignorés (fermés) :")
        for day, reason in done.skipped:
            print(f"  - {day_fr(day)} : {reason}")
    if done.overlaps:
        print("Plages non ajoutées (chevauchent des horaires existants) :")
        for day, start, end, existing in done.overlaps:
            hours = ", ".join(f"{hm(s)}-{hm(e)}" for s, e in existing)
            print(f"  - {day_fr(day)} {hm(start)}-{hm(end)} (déjà ouvert : {hours})")
    return 0


# ---- fermer -------------------------------------------------------------------------------------


def cmd_fermer(args: argparse.Namespace, url: str) -> int:
    done = close_day(args.site, args.date, args.motif, today=today(), force=args.forcer, url=url)
    day, where = done.day, done.where
    if done.already:
        print(f"Déjà fermé le {day_fr(day)} — {where} : {done.already}. Rien à faire.")
        return 0
    if not done.recorded:
        print(f"Fermeture refusée : {len(done.booked)} rendez-vous le {day_fr(day)} — {where}.")
        _print_appointments(done.booked)
        print("Déplacez ou annulez ces rendez-vous, ou relancez avec --forcer puis prévenez les usagers.")
        return 1
    print(f"Fermeture enregistrée le {day_fr(day)} — {where} : {done.reason}.")
    print("Plus aucun créneau n'est proposé ce jour-là.")
    if done.booked:
        print(f"Attention : {len(done.booked)} rendez-vous maintenu(s) ce jour-là — prévenez les usagers :")
        _print_appointments(done.booked)
    return 0


def _print_appointments(rows: Sequence[Booked]) -> None:
    table = [("Heure", "Site", "Référence", "Motif", "Pers.", "Nom", "Téléphone", "Courriel")]
    table += [
        (
            hm(a.start),
            a.site_id,
            a.reference,
            REASON_FR.get(a.reason, a.reason),
            str(a.people),
            a.surname,
            a.phone or "—",
            a.email or "—",
        )
        for a in rows
    ]
    for line in _table(table):
        print(line)


# ---- sites --------------------------------------------------------------------------------------


def cmd_sites(args: argparse.Namespace, url: str) -> int:
    start = today()
    with session_scope(url) as session:
        sites = list(session.execute(select(Site).order_by(Site.active.desc(), Site.id)).scalars())
        for index, site in enumerate(sites):
            if index:
                print()
            print(f"{site.id} — {site.name}" + ("" if site.active else " (inactif)"))
            contact = f" · tél. {site.phone}" if site.phone else ""
            print(f"  {site.address}, {site.zip_code} {site.city}{contact}")
            print(f"  {site.stations} poste(s) biométrique(s)")
            hours = {d: [] for d in range(7)}
            for row in sorted(site.schedules, key=lambda r: (r.weekday, r.start_time)):
                hours[row.weekday].append(f"{hm(row.start_time)}-{hm(row.end_time)}")
            for weekday in range(7):
                print(f"  {WEEKDAYS_FR[weekday]:<9} {', '.join(hours[weekday]) or 'fermé'}")
            extras = session.execute(
                select(ExtraOpening)
                .where(ExtraOpening.site_id == site.id, ExtraOpening.day >= start)
                .order_by(ExtraOpening.day, ExtraOpening.start_time)
            ).scalars()
            _print_upcoming(
                "Ouvertures supplémentaires à venir",
                [
                    f"{day_fr(e.day)} {hm(e.start_time)}-{hm(e.end_time)}"
                    + (f" ({e.stations} poste(s))" if e.stations else "")
                    for e in extras
                ],
            )
            closures = session.execute(
                select(Closure)
                .where(Closure.day >= start, (Closure.site_id == site.id) | Closure.site_id.is_(None))
                .order_by(Closure.day)
            ).scalars()
            _print_upcoming(
                "Fermetures à venir",
                [
                    f"{day_fr(c.day)} : {c.reason}" + (" (tous les sites)" if c.site_id is None else "")
                    for c in closures
                ],
            )
    if not sites:
        print("Aucun site : vérifiez le fichier de rendez-vous puis lancez `python -m booking.seed`.")
    return 0


def _print_upcoming(title: str, lines: List[str], limit: int = 10) -> None:
    if not lines:
        return
    print(f"  {title} :")
    for line in lines[:limit]:
        print(f"    - {line}")
    if len(lines) > limit:
        print(f"    … et {len(lines) - limit} autre(s)")


# ---- entry point --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or bad arguments (2): argparse already printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    url = args.db or database_url()
    handler: Callable[[argparse.Namespace, str], int] = args.handler
    try:
        _require_database(url)
        return handler(args, url)
    except CliError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return exc.code
    except AgendaError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except DatabaseMissing:
        print(MISSING_DATABASE, file=sys.stderr)
        return 1
    except TerritoryConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"Base de rendez-vous injoignable ou invalide : {detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `... | head`: the reader left, nothing more to say
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
