"""The agents' agenda of appointments (CNI / passeport, encombrants): pages of the agent console
(handoff/console.py), behind its sign-in — agents and administrators, not the statistics role.

    GET  /agenda                          the day view of today, first site of the agent
    GET  /agenda/jour?site=…&date=…       a day: openings or closure, appointments, attendance;
                                          &impression=1: the same for paper (no navigation, no form)
    GET  /agenda/semaine?site=…&date=…    the week (Monday to Sunday) of that day; &impression=1 too
    GET  /agenda/jour.csv?site=…&date=…   the day for a spreadsheet (booking/operations.py `day_csv`)
    POST /agenda/pointage                 present / absent / not marked (reference, presence)
    GET  /agenda/ouvrir, POST             extra openings (booking/operations.py `open_extra`)
    GET  /agenda/fermer, POST             a day's closure (`close_day`); refused while appointments
                                          are booked, unless « Fermer quand même »: they are then
                                          kept and listed with the citizens' contacts to warn them

Which sites an agent sees: a booking site belongs to the territory service that answers its
topic in territory.yml `topics` — `appointments` for the identity sites (CNI / passeport),
`waste` for the bulky-waste rounds — and an agent sees the sites of the services of their account
(`python -m staff.cli`); an administrator sees every site, and alone may close all sites at once.
Any other site or reference answers « introuvable ».

Plain HTML rendered on the server (Jinja2, autoescaped) with no script, under the console's
strict CSP; every form posts the session's CSRF token (checked by `Console.agent_of`) and every
change answers with a redirect (POST-redirect-GET); what the redirect says is a fixed French
sentence chosen by a code and numbers, never text taken from the URL. Logs carry references and
agent ids, never a name.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping
from urllib.parse import urlencode

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from multidict import MultiMapping
from sqlalchemy import select

from booking import ants_sync, engine, operations
from booking.ants import AntsSettings
from booking.models import Site
from booking.operations import AgendaError
from core.db import session_scope
from core.http import pages_url
from core.text import WEEKDAYS_FR, format_date_fr
from staff.models import Agent

if TYPE_CHECKING:  # the console imports this module: no import back at run time
    from handoff.console import Console

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The topic of territory.yml `topics` whose service works each kind of booking site.
SITE_TOPICS = {"identity": "appointments", "bulky_waste": "waste"}
REFERENCE = re.compile(r"^RDV-[A-Z0-9]{6}$")
PRESENCE = {"present": "honoured", "absent": "no_show", "a_venir": "booked"}
DONE_PRESENCE = {"honoured": "présent", "no_show": "absent", "booked": "non pointé"}
ALL_SITES = "tous"
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
CHANNEL_FR = {
    "socketio": "chat du site",
    "facebook": "Messenger",
    "pages": "page de rendez-vous",
    "rest": "chat (API)",
    "cmdline": "terminal",
}
REASON_LONG_FR = {
    "CNI": "carte d'identité",
    "PASSPORT": "passeport",
    "CNI-PASSPORT": "carte d'identité et passeport",
    "ENCOMBRANTS": "encombrants",
}
WEEKDAY_VALUES = {str(d) for d in range(7)}


@dataclass(frozen=True)
class SiteChoice:
    """A booking site as an agent sees it."""

    id: str
    name: str
    kind: str  # identity | bulky_waste
    service: str  # the territory service's key


@dataclass(frozen=True)
class DayState:
    """A site's day besides its appointments: openings, or why closed (and who is still booked)."""

    day: date
    closed: str | None
    openings: tuple[str, ...]
    booked: tuple[operations.Booked, ...]


class NotShown(Exception):
    """A page that cannot be shown: status, title, one French sentence."""

    def __init__(self, status: int, title: str, message: str):
        super().__init__(title)
        self.status, self.title, self.message = status, title, message


def day_label(day: date) -> str:
    return operations.day_fr(day)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_date(raw: str | None, default: date) -> date:
    if not raw:
        return default
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise NotShown(
            400, "Date invalide", "Date invalide : choisissez un jour dans le calendrier."
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise NotShown(400, "Date invalide", "Date hors de la période de l'agenda.")
    return day


def parse_clock(raw: str) -> time | None:
    """« HH:MM » of a time field, None when empty; ValueError otherwise."""
    text = raw.strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", text):
        raise ValueError(text)
    return time.fromisoformat(text).replace(second=0)


@dataclass
class OpeningForm:
    """What the extra-openings form asks, read and checked for its shape (the rules are
    booking/operations.py's): the values as typed, to show them again, and what is wrong."""

    values: Dict[str, Any]
    errors: List[str]
    first: date = date.min
    last: date = date.min
    ranges: List[tuple[time, time]] = field(default_factory=list)
    stations: int | None = None

    @classmethod
    def read(cls, form: MultiMapping[Any]) -> OpeningForm:
        fields = ("site", "du", "au", "debut1", "fin1", "debut2", "fin2", "postes")
        values: Dict[str, Any] = {k: str(form.get(k, ""))[:20] for k in fields}
        days = {str(d) for d in form.getall("jours", [])} & WEEKDAY_VALUES
        values["jours"] = sorted(int(d) for d in days)
        asked = cls(values, [])
        asked.first = _form_date(values["du"], "premier jour", asked.errors)
        asked.last = _form_date(values["au"], "dernier jour", asked.errors)
        for n in ("1", "2"):
            try:
                start, end = parse_clock(values[f"debut{n}"]), parse_clock(values[f"fin{n}"])
            except ValueError:
                asked.errors.append(f"Plage {n} : heure invalide (attendu HH:MM).")
                continue
            if (start is None) != (end is None):
                asked.errors.append(f"Plage {n} : indiquez le début et la fin.")
            elif start is not None and end is not None:
                asked.ranges.append((start, end))
        if not asked.ranges and not any(e.startswith("Plage") for e in asked.errors):
            asked.errors.append("Indiquez au moins une plage horaire.")
        postes = values["postes"].strip()
        if postes.isdigit():
            asked.stations = int(postes)
        elif postes:
            asked.errors.append(f"Nombre de postes invalide (entre 1 et {operations.MAX_STATIONS}).")
        if not values["jours"]:
            asked.errors.append("Cochez au moins un jour de la semaine.")
        return asked


class Agenda:
    """The agenda pages, on the console's sign-in, database and clock."""

    def __init__(self, console: Console, ants: AntsSettings | None = None, public: str | None = None):
        self.console = console
        self.ants = ants if ants is not None else AntsSettings.from_env()
        self.public_url = public or pages_url()  # the management link declared to ANTS
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(
            day=day_label,
            short_day=lambda d: format_date_fr(d),
            hm=operations.hm,
            status=lambda s: operations.STATUS_FR.get(s, s),
            reason=lambda r: REASON_LONG_FR.get(r, r),
            channel=lambda c: CHANNEL_FR.get(c, c),
            query=lambda values: urlencode({k: v for k, v in values.items() if v is not None}),
        )

    def routes(self) -> List[web.RouteDef]:
        return [
            web.get("/agenda", self.home),
            web.get("/agenda/jour", self.day_view),
            web.get("/agenda/semaine", self.week_view),
            web.get("/agenda/jour.csv", self.day_export),
            web.post("/agenda/pointage", self.attendance),
            web.get("/agenda/ouvrir", self.open_form),
            web.post("/agenda/ouvrir", self.open_submit),
            web.get("/agenda/fermer", self.close_form),
            web.post("/agenda/fermer", self.close_submit),
        ]

    # ---- helpers ----

    @property
    def db_url(self) -> str | None:
        return self.console.db_url

    def local_now(self) -> datetime:
        """The territory's wall-clock time, from the console's clock (naive UTC)."""
        return engine.local_now(self.console.now().replace(tzinfo=timezone.utc))

    def _sites_of(self, agent: Agent) -> List[SiteChoice]:
        territory = self.console.territory
        with session_scope(self.db_url) as session:
            # Identity sites first, the main one (most stations) before the annexes.
            order = (Site.service != "identity", Site.service, Site.stations.desc(), Site.name)
            rows = session.execute(select(Site).where(Site.active).order_by(*order)).scalars()
            sites = [
                SiteChoice(s.id, s.name, s.service, territory.service_for(topic=SITE_TOPICS.get(s.service)))
                for s in rows
            ]
        return [s for s in sites if agent.works_for(s.service)]

    async def _desk(self, request: web.Request, *, write: bool = False) -> Dict[str, Any]:
        """The signed-in agent, the session's CSRF token and the sites the agent sees."""
        agent, csrf = await self.console.agent_of(request, write=write)
        sites = await asyncio.to_thread(self._sites_of, agent)
        return {"agent": agent, "csrf": csrf, "sites": sites}

    def _site(self, desk: Mapping[str, Any], site_id: str | None) -> SiteChoice:
        sites: List[SiteChoice] = desk["sites"]
        if not sites:
            raise NotShown(
                404,
                "Aucun site",
                "Aucun site de rendez-vous ne relève de vos services. "
                "Demandez à un administrateur de vérifier votre compte.",
            )
        if not site_id:
            return sites[0]
        for site in sites:
            if site.id == site_id:
                return site
        raise NotShown(404, "Site introuvable", "Ce site est introuvable ou ne relève pas de vos services.")

    def render(self, request: web.Request, template: str, desk: Mapping[str, Any], status: int = 200,
               **values: Any) -> web.Response:  # fmt: skip
        agent: Agent = desk["agent"]
        territory = self.console.territory
        services = [territory.services[s].name for s in agent.service_list if s in territory.services]
        text = self.templates.get_template(template).render(
            agent_name=agent.display_name,
            agent_services=", ".join(services) or "tous les services",
            csrf=desk["csrf"],
            sites=desk["sites"],
            path=request.path,
            today=self.local_now().date(),
            **values,
        )
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")

    async def _page(self, request: web.Request, build: Callable[[Dict[str, Any]], Any],
                    *, write: bool = False) -> web.StreamResponse:  # fmt: skip
        desk = await self._desk(request, write=write)
        try:
            return await build(desk)
        except NotShown as exc:
            return self.render(request, "agenda/message.html", desk, exc.status, title=exc.title,
                               message=exc.message)  # fmt: skip

    def _day_state(self, site_id: str, day: date) -> DayState:
        with session_scope(self.db_url) as session:
            site = session.get(Site, site_id)
            closed = operations.day_closed(session, site, day)
            openings = tuple(
                f"{operations.hm(o.start)}–{operations.hm(o.end)} ({o.stations} poste(s))"
                for o in engine.openings(session, site, day)
            )
            booked = tuple(operations.booked_on(session, day, site_id)) if closed else ()
        return DayState(day, closed, openings, booked)

    def _days(self, site_id: str, first: date, count: int) -> List[Dict[str, Any]]:
        days = []
        for offset in range(count):
            day = first + timedelta(days=offset)
            views = engine.appointments_on(day, site_id, url=self.db_url)
            days.append(
                {
                    "state": self._day_state(site_id, day),
                    "views": views,
                    "counts": operations.attendance_counts(views),
                }
            )
        return days

    # ---- the day and the week ----

    async def home(self, request: web.Request) -> web.StreamResponse:
        await self.console.agent_of(request)
        raise web.HTTPSeeOther("/agenda/jour")

    async def day_view(self, request: web.Request) -> web.StreamResponse:
        return await self._page(request, lambda desk: self._day_page(request, desk))

    async def _day_page(self, request: web.Request, desk: Dict[str, Any], *, error: str | None = None,
                        status: int = 200, site_id: str | None = None,
                        day: date | None = None) -> web.Response:  # fmt: skip
        query = request.query
        site = self._site(desk, site_id or query.get("site"))
        now = self.local_now()
        day = day or parse_date(query.get("date"), now.date())
        (found,) = await asyncio.to_thread(self._days, site.id, day, 1)
        return self.render(
            request,
            "agenda/day.html",
            desk,
            status,
            site=site,
            day=day,
            now=now,
            links={
                **_pager("/agenda/jour", site.id, day, 1),
                "week": _url("/agenda/semaine", site=site.id, date=day),
                "print": _url("/agenda/jour", site=site.id, date=day, impression=1),
                "csv": _url("/agenda/jour.csv", site=site.id, date=day),
                "open": _url("/agenda/ouvrir", site=site.id, date=day),
                "close": _url("/agenda/fermer", site=site.id, date=day),
            },
            printing=query.get("impression") == "1",
            notice=self._notice(query),
            error=error,
            **found,
        )

    def _notice(self, query: Mapping[str, str]) -> str | None:
        """The sentence a redirect after a change asks for: a code and numbers, nothing else."""
        done = query.get("fait")
        reference = query.get("ref", "")
        if done in PRESENCE and REFERENCE.match(reference):
            return f"{reference} : {DONE_PRESENCE[PRESENCE[done]]}."
        if done == "ferme":
            return "Fermeture enregistrée : plus aucun créneau n'est proposé ce jour-là."
        if done == "deja_ferme":
            return "Ce jour était déjà fermé : rien à faire."
        if done == "ouvert":
            numbers = {
                k: _count(query.get(k))
                for k in ("plages", "creneaux", "identiques", "ignores", "chevauchements")
            }
            parts = [
                f"{numbers['plages']} plage(s) ajoutée(s), {numbers['creneaux']} créneau(x)"
                if numbers["plages"]
                else "Aucune ouverture ajoutée"
            ]
            if numbers["identiques"]:
                parts.append(f"{numbers['identiques']} plage(s) déjà ouverte(s) à l'identique")
            if numbers["ignores"]:
                parts.append(f"{numbers['ignores']} jour(s) ignoré(s) car fermé(s)")
            if numbers["chevauchements"]:
                parts.append(
                    f"{numbers['chevauchements']} plage(s) non ajoutée(s) : elles chevauchent des horaires"
                )
            return " ; ".join(parts) + "."
        return None

    async def week_view(self, request: web.Request) -> web.StreamResponse:
        async def build(desk: Dict[str, Any]) -> web.Response:
            query = request.query
            site = self._site(desk, query.get("site"))
            first = monday_of(parse_date(query.get("date"), self.local_now().date()))
            days = await asyncio.to_thread(self._days, site.id, first, 7)
            for found in days:
                found["link"] = _url("/agenda/jour", site=site.id, date=found["state"].day)
            return self.render(
                request,
                "agenda/week.html",
                desk,
                site=site,
                first=first,
                links={
                    **_pager("/agenda/semaine", site.id, first, 7),
                    "print": _url("/agenda/semaine", site=site.id, date=first, impression=1),
                    "open": _url("/agenda/ouvrir", site=site.id, date=first),
                },
                last=first + timedelta(days=6),
                days=days,
                printing=query.get("impression") == "1",
                notice=self._notice(query),
                total=operations.attendance_counts([v for d in days for v in d["views"]]),
            )

        return await self._page(request, build)

    async def day_export(self, request: web.Request) -> web.StreamResponse:
        async def build(desk: Dict[str, Any]) -> web.StreamResponse:
            site = self._site(desk, request.query.get("site"))
            day = parse_date(request.query.get("date"), self.local_now().date())
            views = await asyncio.to_thread(engine.appointments_on, day, site.id, url=self.db_url)
            return web.Response(
                body=operations.day_csv(views),
                content_type="text/csv",
                charset="utf-8",
                headers={
                    "Content-Disposition": f'attachment; filename="rendez-vous-{site.id}-{day:%Y-%m-%d}.csv"'
                },
            )

        return await self._page(request, build)

    # ---- attendance ----

    async def attendance(self, request: web.Request) -> web.StreamResponse:
        async def build(desk: Dict[str, Any]) -> web.StreamResponse:
            form = await request.post()
            site = self._site(desk, str(form.get("site", "")))
            day = parse_date(str(form.get("date", "")), self.local_now().date())
            reference = str(form.get("reference", "")).strip().upper()
            presence = str(form.get("presence", ""))
            if not REFERENCE.match(reference) or presence not in PRESENCE:
                return await self._day_page(request, desk, error="Pointage invalide : rechargez la page.",
                                            status=400, site_id=site.id, day=day)  # fmt: skip
            agent: Agent = desk["agent"]
            try:
                change = await asyncio.to_thread(
                    lambda: operations.mark_attendance(
                        reference,
                        PRESENCE[presence],
                        now=self.local_now(),
                        agent_id=agent.id,
                        site_ids=[site.id],
                        url=self.db_url,
                    )
                )
            except AgendaError as exc:
                return await self._day_page(request, desk, error=_sentence(str(exc)), status=409,
                                            site_id=site.id, day=day)  # fmt: skip
            # The site, never the reference: it names a citizen's appointment (issue 11).
            logger.info(
                "agenda: attendance marked %s at %s by agent %d", change.after, change.view.site_id, agent.id
            )
            await self._tell_ants(change)
            target = {
                "site": site.id,
                "date": day.isoformat(),
                "fait": presence,
                "ref": change.view.reference,
            }
            raise web.HTTPSeeOther(f"/agenda/jour?{urlencode(target)}#rdv-{change.view.reference}")

        return await self._page(request, build, write=True)

    async def _tell_ants(self, change: operations.AttendanceChange) -> None:
        """An absence frees the pre-application numbers at ANTS too (the outbox retries what fails);
        an absence undone declares them again."""
        if change.released:
            await ants_sync.withdraw_appointment(change.view, self.ants, url=self.db_url)
        elif change.reclaimed:
            await ants_sync.declare_appointment(change.view, self.ants, self.public_url, url=self.db_url)

    # ---- extra openings ----

    async def open_form(self, request: web.Request) -> web.StreamResponse:
        async def build(desk: Dict[str, Any]) -> web.Response:
            site = self._site(desk, request.query.get("site"))
            day = parse_date(request.query.get("date"), self.local_now().date())
            values = {"site": site.id, "du": day.isoformat(), "au": day.isoformat(), "jours": list(range(7))}
            return self.render(request, "agenda/open.html", desk, values=values, errors=[],
                               weekdays=WEEKDAYS_FR, max_stations=operations.MAX_STATIONS)  # fmt: skip

        return await self._page(request, build)

    async def open_submit(self, request: web.Request) -> web.StreamResponse:
        async def build(desk: Dict[str, Any]) -> web.StreamResponse:
            asked = OpeningForm.read(await request.post())
            values, errors = asked.values, asked.errors
            site = self._site(desk, values["site"])
            if not errors:
                try:
                    done = await asyncio.to_thread(
                        lambda: operations.open_extra(
                            site.id, asked.first, asked.last, asked.ranges, today=self.local_now().date(),
                            weekdays=values["jours"], stations=asked.stations, url=self.db_url,
                        )
                    )  # fmt: skip
                except AgendaError as exc:
                    errors.append(_sentence(str(exc)))
            if errors:
                return self.render(request, "agenda/open.html", desk, 400, values=values, errors=errors,
                                   weekdays=WEEKDAYS_FR, max_stations=operations.MAX_STATIONS)  # fmt: skip
            agent: Agent = desk["agent"]
            logger.info("agenda: %d extra range(s) opened at %s by agent %d", done.ranges, site.id, agent.id)
            target = {
                "site": site.id,
                "date": asked.first.isoformat(),
                "fait": "ouvert",
                "plages": done.ranges,
                "creneaux": done.slots,
                "identiques": done.identical,
                "ignores": len(done.skipped),
                "chevauchements": len(done.overlaps),
            }
            raise web.HTTPSeeOther(f"/agenda/semaine?{urlencode(target)}")

        return await self._page(request, build, write=True)

    # ---- closures ----

    async def close_form(self, request: web.Request) -> web.StreamResponse:
        async def build(desk: Dict[str, Any]) -> web.Response:
            site = self._site(desk, request.query.get("site"))
            day = parse_date(request.query.get("date"), self.local_now().date())
            values = {"site": site.id, "date": day.isoformat(), "motif": ""}
            return self.render(request, "agenda/close.html", desk, values=values, errors=[], refused=None,
                               all_sites=desk["agent"].role == "admin")  # fmt: skip

        return await self._page(request, build)

    async def close_submit(self, request: web.Request) -> web.StreamResponse:
        async def build(desk: Dict[str, Any]) -> web.StreamResponse:
            form = await request.post()
            agent: Agent = desk["agent"]
            all_sites = agent.role == "admin"
            values = {"site": str(form.get("site", ""))[:64], "date": str(form.get("date", ""))[:20],
                      "motif": str(form.get("motif", ""))[:operations.MAX_REASON_CHARS + 50]}  # fmt: skip
            everywhere = values["site"] == ALL_SITES and all_sites
            site = self._site(desk, None if everywhere else values["site"])
            errors: List[str] = []
            day = _form_date(values["date"], "jour", errors)
            done = None
            if not errors:
                try:
                    done = await asyncio.to_thread(
                        lambda: operations.close_day(
                            None if everywhere else site.id, day, values["motif"],
                            today=self.local_now().date(), force=form.get("forcer") == "1", url=self.db_url,
                        )
                    )  # fmt: skip
                except AgendaError as exc:
                    errors.append(_sentence(str(exc)))
            if done is None or (not done.recorded and not done.already):
                return self.render(request, "agenda/close.html", desk, 409 if done else 400, values=values,
                                   errors=errors, refused=done, all_sites=all_sites)  # fmt: skip
            if done.recorded:
                logger.info(
                    "agenda: %s closed on %s by agent %d (%d appointment(s) kept)",
                    done.site_id or ALL_SITES, day, agent.id, len(done.booked),
                )  # fmt: skip
            target = {
                "site": site.id,
                "date": day.isoformat(),
                "fait": "ferme" if done.recorded else "deja_ferme",
            }
            raise web.HTTPSeeOther(f"/agenda/jour?{urlencode(target)}")

        return await self._page(request, build, write=True)


def _url(path: str, **params: Any) -> str:
    """A link of the agenda: dates in ISO form, parameters in a fixed order."""
    return f"{path}?{urlencode({k: v.isoformat() if isinstance(v, date) else v for k, v in params.items()})}"


def _pager(path: str, site_id: str, day: date, days: int) -> Dict[str, str]:
    """Links to the period before, the current one and the one after."""
    return {
        "previous": _url(path, site=site_id, date=day - timedelta(days=days)),
        "today": _url(path, site=site_id),
        "next": _url(path, site=site_id, date=day + timedelta(days=days)),
    }


def _count(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) < 7 else 0


def _sentence(text: str) -> str:
    """An AgendaError's clause as a sentence: capital first, full stop."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def _form_date(raw: str, label: str, errors: List[str]) -> date:
    try:
        day = date.fromisoformat(raw.strip())
        if FIRST_DAY <= day <= LAST_DAY:
            return day
    except ValueError:
        pass
    errors.append(f"Date invalide pour le {label} : choisissez un jour dans le calendrier.")
    return date.min
