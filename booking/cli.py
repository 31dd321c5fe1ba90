"""Ligne de commande des agents : rendez-vous du jour, ouvertures et fermetures, sites.

    python -m booking.cli jour [--date 2026-12-19] [--site villebrune-mairie] [--csv export.csv]
    python -m booking.cli ouvrir --site villebrune-mairie --du 2026-12-01 --au 2026-12-20 \\
        --heures 09:00-12:00 [--heures 14:00-17:00] [--jours sam,dim] [--postes 1]
    python -m booking.cli fermer --site villebrune-mairie|--tous --date 2026-12-19 --motif "inventaire" \\
        [--forcer]
    python -m booking.cli sites

Every command takes --db URL (default GRU_DATABASE_URL). Messages are in French:
agents read them. Exit codes: 0 done, 1 database missing/unreachable or closure
refused, 2 bad input (unknown site, bad date or hours) — never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable, List, Sequence

from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from booking import engine
from booking.config import load_booking_config
from booking.models import Appointment, Closure, ExtraOpening, Site, WeeklySchedule
from core.db import database_url, engine_for, session_scope
from core.holidays import holiday_name
from core.territory import TerritoryConfigError
from core.text import WEEKDAYS_FR, fold, format_date_fr

MISSING_DATABASE = "Base de rendez-vous absente : lancez `make run` ou `python -m booking.seed`."
REASON_FR = {"CNI": "CNI", "PASSPORT": "passeport", "CNI-PASSPORT": "les deux", "ENCOMBRANTS": "encombrants"}
STATUS_FR = {"booked": "réservé", "cancelled": "annulé", "honoured": "honoré", "no_show": "absent"}
DAY_ABBR = tuple(day[:3] for day in WEEKDAYS_FR)  # lun, mar, … as agents type them
CSV_HEADER = (
    "Site",
    "Date",
    "Heure",
    "Durée (min)",
    "Référence",
    "Motif",
    "Personnes",
    "Nom",
    "Statut",
    "À vérifier",
    "Adresse",
    "Objets",
)
MAX_OPEN_DAYS = 366
MAX_STATIONS = 20


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


def day_fr(day: date) -> str:
    return f"{format_date_fr(day)} {day.year}"


def hm(value: time | datetime) -> str:
    return f"{value:%H:%M}"


def _require_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():  # do not create an empty file by asking
            raise DatabaseMissing()
    if not inspect(engine_for(url)).has_table("sites"):
        raise DatabaseMissing()


def _site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        known = ", ".join(session.execute(select(Site.id).order_by(Site.id)).scalars())
        raise CliError(f"site inconnu « {site_id} » (sites : {known})")
    return site


def _closure(session: Session, site_id: str | None, day: date) -> str | None:
    """The recorded closure of `day` for `site_id` (None: the all-sites closure), or None."""
    where = (
        Closure.site_id.is_(None)
        if site_id is None
        else (Closure.site_id == site_id) | Closure.site_id.is_(None)
    )
    row = session.execute(select(Closure.reason, Closure.site_id).where(Closure.day == day, where)).first()
    if row is None:
        return None
    return f"{row[0]} (tous les sites)" if row[1] is None and site_id is not None else row[0]


def _closure_reason(session: Session, site_id: str, day: date) -> str | None:
    """Why `day` is closed for `site_id` (public holiday or closure), or None."""
    holiday = holiday_name(day)
    return f"jour férié ({holiday})" if holiday else _closure(session, site_id, day)


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> List[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _csv_cell(value: str) -> str:
    """Neutralise spreadsheet formulas in text typed by citizens (=, +, -, @)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# ---- jour ---------------------------------------------------------------------------------------


def cmd_jour(args: argparse.Namespace, url: str) -> int:
    day = args.date or today()
    with session_scope(url) as session:
        if args.site:
            sites = [_site(session, args.site)]
        else:
            sites = list(session.execute(select(Site).where(Site.active).order_by(Site.id)).scalars())
        closed = {
            site.id: _closure_reason(session, site.id, day)
            or (None if engine.openings(session, site, day) else "pas de permanence ce jour-là")
            for site in sites
        }
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
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for v in views:
        writer.writerow(
            (
                v.site_name,
                f"{v.start:%d/%m/%Y}",
                hm(v.start),
                v.duration_minutes,
                v.reference,
                REASON_FR.get(v.reason, v.reason),
                v.people,
                _csv_cell(v.surname),
                STATUS_FR.get(v.status, v.status),
                "oui" if v.needs_agent_check else "non",
                _csv_cell(v.address or ""),
                _csv_cell(v.items or ""),
            )
        )
    data = ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel then reads UTF-8
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
    config = load_booking_config()
    step, per_document = config.slot_step_minutes, config.minutes_per_document
    intervals = sorted(set(args.heures))
    for start, end in intervals:
        label = f"{hm(start)}-{hm(end)}"
        if start.minute % step or end.minute % step:
            raise CliError(f"plage {label} : les heures doivent tomber sur la grille de {step} minutes")
        if _minutes(start, end) < per_document:
            raise CliError(f"plage {label} : trop courte (au moins {per_document} minutes)")
    for (s1, e1), (s2, e2) in zip(intervals, intervals[1:], strict=False):
        if s2 < e1:
            raise CliError(f"les plages {hm(s1)}-{hm(e1)} et {hm(s2)}-{hm(e2)} se chevauchent")
    first, last = args.du, args.au
    if last < first:
        raise CliError("--au est avant --du")
    if first < today():
        raise CliError(f"--du {first:%Y-%m-%d} est passé")
    if (last - first).days >= MAX_OPEN_DAYS:
        raise CliError(f"période trop longue (au plus {MAX_OPEN_DAYS} jours)")
    weekdays = args.jours or frozenset(range(7))

    opened_days, opened_ranges, slots = 0, 0, 0
    skipped: List[str] = []
    identical = 0
    overlaps: List[str] = []
    with session_scope(url, write=True) as session:
        site = _site(session, args.site)
        if not site.active:
            raise CliError(f"le site « {site.id} » est inactif (retiré du fichier de rendez-vous)")
        stations = args.postes or site.stations
        day = first
        while day <= last:
            if day.weekday() in weekdays:
                reason = _closure_reason(session, site.id, day)
                if reason:
                    skipped.append(f"{day_fr(day)} : {reason}")
                else:
                    existing = _existing_ranges(session, site.id, day)
                    added = 0
                    for start, end in intervals:
                        if (start, end) in existing:
                            identical += 1
                        elif any(s < end and start < e for s, e in existing):
                            hours = ", ".join(f"{hm(s)}-{hm(e)}" for s, e in sorted(existing))
                            overlaps.append(f"{day_fr(day)} {hm(start)}-{hm(end)} (déjà ouvert : {hours})")
                        else:
                            session.add(
                                ExtraOpening(
                                    site_id=site.id,
                                    day=day,
                                    start_time=start,
                                    end_time=end,
                                    stations=args.postes,
                                )
                            )
                            existing.add((start, end))
                            added += 1
                            slots += _minutes(start, end) // per_document * stations
                    opened_days += 1 if added else 0
                    opened_ranges += added
            day += timedelta(days=1)
        name = site.name

    period = f"du {day_fr(first)} au {day_fr(last)}" if last != first else f"le {day_fr(first)}"
    if opened_ranges:
        print(f"Ouvertures ajoutées — {name} ({args.site}), {period} :")
        print(
            f"  {opened_days} jour(s), {opened_ranges} plage(s), {slots} créneau(x) de {per_document} min "
            f"({stations} poste(s))."
        )
    else:
        print(f"Aucune ouverture ajoutée — {name} ({args.site}), {period}.")
    if identical:
        print(f"  {identical} plage(s) déjà ouverte(s) à l'identique, non dupliquée(s).")
    if skipped:
        print("Jours ignorés (fermés) :")
        for line in skipped:
            print(f"  - {line}")
    if overlaps:
        print("Plages non ajoutées (chevauchent des horaires existants) :")
        for line in overlaps:
            print(f"  - {line}")
    return 0


def _minutes(start: time, end: time) -> int:
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def _existing_ranges(session: Session, site_id: str, day: date) -> set[tuple[time, time]]:
    weekly = session.execute(
        select(WeeklySchedule.start_time, WeeklySchedule.end_time).where(
            WeeklySchedule.site_id == site_id, WeeklySchedule.weekday == day.weekday()
        )
    ).all()
    extra = session.execute(
        select(ExtraOpening.start_time, ExtraOpening.end_time).where(
            ExtraOpening.site_id == site_id, ExtraOpening.day == day
        )
    ).all()
    return {(s, e) for s, e in [*weekly, *extra]}


# ---- fermer -------------------------------------------------------------------------------------


def cmd_fermer(args: argparse.Namespace, url: str) -> int:
    day, motif = args.date, " ".join(args.motif.split())
    if not motif:
        raise CliError("--motif ne peut pas être vide")
    if len(motif) > 200:
        raise CliError("--motif trop long (200 caractères au plus)")
    if day < today():
        raise CliError(f"le {day:%Y-%m-%d} est passé")
    # One write transaction: the check and the closure are atomic with respect to other writers.
    with session_scope(url, write=True) as session:
        site = _site(session, args.site) if args.site else None
        where = "tous les sites" if site is None else f"{site.name} ({site.id})"
        already = _closure(session, site.id if site else None, day)
        if already:
            print(f"Déjà fermé le {day_fr(day)} — {where} : {already}. Rien à faire.")
            return 0
        live = session.execute(
            select(Appointment, Site)
            .join(Site, Site.id == Appointment.site_id)
            .where(
                Appointment.status == "booked",
                Appointment.start >= datetime.combine(day, time.min),
                Appointment.start < datetime.combine(day + timedelta(days=1), time.min),
                *([Appointment.site_id == site.id] if site else []),
            )
            .order_by(Appointment.start, Appointment.site_id)
        ).all()
        if live and not args.forcer:
            print(f"Fermeture refusée : {len(live)} rendez-vous le {day_fr(day)} — {where}.")
            _print_appointments(live)
            print("Déplacez ou annulez ces rendez-vous, ou relancez avec --forcer puis prévenez les usagers.")
            return 1
        session.add(Closure(site_id=site.id if site else None, day=day, reason=motif, source="agent"))
    print(f"Fermeture enregistrée le {day_fr(day)} — {where} : {motif}.")
    print("Plus aucun créneau n'est proposé ce jour-là.")
    if live:
        print(f"Attention : {len(live)} rendez-vous maintenu(s) ce jour-là — prévenez les usagers :")
        _print_appointments(live)
    return 0


def _print_appointments(rows: Sequence[tuple[Appointment, Site]]) -> None:
    table = [("Heure", "Site", "Référence", "Motif", "Pers.", "Nom", "Téléphone", "Courriel")]
    table += [
        (
            hm(a.start),
            s.id,
            a.reference,
            REASON_FR.get(a.reason, a.reason),
            str(a.people),
            a.surname,
            a.phone or "—",
            a.email or "—",
        )
        for a, s in rows
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
