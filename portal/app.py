"""The citizens' appointment pages (CNI / passeport), in French, accessible, without JavaScript.

    python -m portal   # GRU_PAGES_PORT (5200), GRU_PAGES_HOST (127.0.0.1); `make run` starts it

    GET  /rendez-vous?site=…&start=…       the slot a citizen chose on the national site (the hub's
                                           callback_url): re-checked, then surname, documents,
                                           pre-application numbers (checked with ANTS), people,
                                           optional e-mail / phone for reminders
    POST /rendez-vous                      books it, then 303 to the signed management link
    GET  /rendez-vous/nouveau              booking from scratch: site, document, people…
    GET  /rendez-vous/creneaux?site=…      …then the free slots of that site, then the form above
    GET  /rendez-vous/RDV-XXXXXX           the hub's management_url: reference + surname form, or
                                           with ?t=<signed link> (booking/links.py) the appointment
    GET  /rendez-vous/RDV-XXXXXX/annuler   the hub's cancel_url: the same, then « Annuler »
    GET  /rendez-vous/RDV-XXXXXX/deplacer  free slots of the same site (signed link only)

Why an aiohttp application of its own rather than a Rasa custom channel (channels/alerts.py):
the pages must live at the paths the hub already gives ANTS (booking/hub.py builds them, the
same functions route them here), the handlers are tested with a real server and client without
starting Rasa, and a page that waits for the database or ANTS never slows the chat. It listens
on its own port; in production the reverse proxy sends `/rendez-vous` and `/rendez-vous/*` of
GRU_PUBLIC_URL to it (README « Pages de rendez-vous »).

Security: a CSRF token on every POST form (double submit: a random cookie, SameSite=Lax, and the
same value in a hidden field, compared in constant time); POST-redirect-GET; request bodies over
16 KB refused (413); `Cache-Control: no-store` on every page; CSP without any script, no framing,
no referrer. A reference + surname check counts failed tries exactly as the chat does
(booking/attempts.py, per reference and per client): a lock answers 429. The surname never goes
in a URL; once checked, the citizen is sent on with a signed link. Logs: method, path, status,
duration (a path holds at most a booking reference, which is not personal data).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import re
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Tuple

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from booking import ants_sync, attempts, engine, links
from booking.ants import AntsClient, AntsError, AntsSettings, AntsUnavailable
from booking.config import BookingConfig, load_booking_config
from booking.connector import BookingBackend, BookingUnavailable, booking_backend
from booking.facts import load_national_facts
from booking.hub import PAGES_PATH, cancel_path, management_path
from core import clock
from core.http import public_url_problem
from core.territory import load_territory
from core.text import format_date_fr, format_time_fr

logger = logging.getLogger("portal")

HERE = Path(__file__).resolve().parent
DEFAULT_PORT = 5200
MAX_BODY = 16 * 1024
CSRF_COOKIE = "gru_csrf"
CHANNEL = "pages"  # Appointment.channel of what is booked here
DAYS_SHOWN = 3  # days of free slots per page, then « Plus tard »
SEARCH_DAYS = 14
REFERENCE = r"RDV-[A-Za-z0-9]{6}"
APPLICATION_ID = re.compile(r"^[A-Za-z0-9]{10}$")
NAME = re.compile(r"^[^\W\d_]+(?:[ '-][^\W\d_]+){0,5}$")
EMAIL = re.compile(r"^[^@\s<>]{1,64}@[^@\s<>]{1,180}\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^(?:\+33|0)[1-9]\d{8}$")
REASON_LABELS = {
    "cni": "carte d'identité",
    "passeport": "passeport",
    "les_deux": "carte d'identité et passeport",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

DB_KEY = web.AppKey("db_url", object)  # str | None: the booking database (None: GRU_DATABASE_URL)
AGENDA_KEY = web.AppKey("agenda", object)  # BookingBackend: the local engine or Publik Chrono
CONFIG_KEY = web.AppKey("config", BookingConfig)
ANTS_KEY = web.AppKey("ants", AntsSettings)
PUBLIC_KEY = web.AppKey("public_url", str)
TEMPLATES_KEY = web.AppKey("templates", Environment)
CLIENT_SECRET_KEY = web.AppKey("client_secret", bytes)


class PageError(Exception):
    """A French error page: status, title, message, and where to go next."""

    def __init__(self, status: int, title: str, message: str, links_: List[Tuple[str, str]] | None = None):
        super().__init__(title)
        self.status, self.title, self.message = status, title, message
        self.links = links_ or [(f"{PAGES_PATH}/nouveau", "Prendre un rendez-vous")]


# ---- small helpers ---------------------------------------------------------------------------


def when_fr(start: datetime) -> str:
    return f"{format_date_fr(start.date())} à {format_time_fr(start.time())}"


def client_id(request: web.Request) -> str:
    """A pseudonym of the client's address (the « conversation » of booking/attempts.py and the
    sender of the booking caps). Behind a local reverse proxy, its last X-Forwarded-For hop."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and peer in ("127.0.0.1", "::1"):
        peer = forwarded.split(",")[-1].strip()
    return hmac.new(request.app[CLIENT_SECRET_KEY], peer.encode(), hashlib.sha256).hexdigest()[:24]


async def in_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


def checklist(appt: engine.AppointmentView) -> List[str]:
    """What to bring, as the chat's confirmation says it (values from the national facts)."""
    facts = load_national_facts().values()
    items = [
        f"une photo d'identité de moins de {facts['photo_max_age']}, aux normes",
        f"un justificatif de domicile de moins de {facts['address_proof_max_age']}",
        "votre ancien titre (carte ou passeport), s'il y en a un",
    ]
    if appt.reason in ("PASSPORT", "CNI-PASSPORT"):
        items.append(
            f"un timbre fiscal pour le passeport : {facts['passport_adult_fee']} (adulte), "
            f"{facts['passport_teen_fee']} (15-17 ans), {facts['passport_child_fee']} (moins de 15 ans)"
        )
    items.append(
        "en cas de perte ou de vol : la déclaration (et un timbre fiscal de "
        f"{facts['cni_replacement_fee']} pour une carte d'identité)"
    )
    if appt.application_ids:
        items.append("le numéro ou le récapitulatif de votre pré-demande")
    else:
        items.append("arrivez 10 minutes en avance pour remplir le formulaire papier")
    items.append("pour un mineur : sa présence, et un parent avec sa propre pièce d'identité")
    return items


def service_phone() -> str:
    territory = load_territory()
    service = territory.services.get(territory.service_for(topic="appointments"))
    return service.phone if service else ""


def move_path(reference: str) -> str:
    return f"{management_path(reference)}/deplacer"


def signed_path(reference: str, page: str = "manage", **extra: str) -> str:
    """A page of one appointment with its signed link (the move page uses the manage link)."""
    path = {"manage": management_path, "cancel": cancel_path, "move": move_path}[page](reference)
    token = links.manage_token(reference, "cancel" if page == "cancel" else "manage")
    return f"{path}?" + "&".join([f"t={token}"] + [f"{k}={v}" for k, v in extra.items()])


# ---- rendering, CSRF, middlewares ------------------------------------------------------------


def csrf_token(request: web.Request) -> str:
    token = request.get("csrf")
    if token is None:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        token = cookie if re.fullmatch(r"[A-Za-z0-9_-]{32,64}", cookie) else secrets.token_urlsafe(32)
        request["csrf"] = token
    return token


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    env = request.app[TEMPLATES_KEY]
    context.setdefault("commune", load_territory().display_name)
    context.setdefault("phone", service_phone())
    body = env.get_template(template).render(csrf=csrf_token(request), **context)
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    # Secure when the page came over HTTPS, directly or through the TLS-terminating proxy.
    secure = request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"
    # Only the pages' own paths set the cookie, and only when the request did not bring it: a
    # page outside them (the browser's /favicon.ico → 404) never carries the cookie (its path
    # is /rendez-vous) and would otherwise replace it with a new token, expiring the open form.
    if request.path.startswith(PAGES_PATH) and request.cookies.get(CSRF_COOKIE) != csrf_token(request):
        response.set_cookie(
            CSRF_COOKIE, csrf_token(request), httponly=True, samesite="Lax", secure=secure, path=PAGES_PATH
        )
    return response


async def form_of(request: web.Request) -> Dict[str, str]:
    """The POSTed form, once its CSRF token matches the cookie's (else a French 403)."""
    data = await request.post()
    given = str(data.get("csrf", ""))
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise PageError(
            403,
            "Page expirée",
            "Cette page a expiré ou a été ouverte dans un autre onglet. Revenez en arrière, "
            "rechargez la page, puis envoyez à nouveau le formulaire.",
        )
    return {key: str(value)[:300] for key, value in data.items() if isinstance(value, str)}


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_ERRORS = {
    404: (
        "Page introuvable",
        "Cette page n'existe pas. Vérifiez l'adresse, ou prenez rendez-vous ci-dessous.",
    ),
    405: ("Action impossible", "Cette action n'est pas possible sur cette page."),
    413: ("Formulaire trop long", "Le formulaire envoyé est trop long. Raccourcissez vos réponses."),
}


@web.middleware
async def pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """French error pages, security headers on every answer, one log line without query string."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except PageError as exc:
        response = render(request, "error.html", exc.status, error=exc)
    except BookingUnavailable as exc:  # Publik Chrono down (booking/connector.py)
        logger.warning("%s %s: booking agenda unavailable (%s)", request.method, request.path, exc.kind)
        error = PageError(
            503,
            "Agenda indisponible",
            "L'agenda des rendez-vous de la mairie ne répond pas pour le moment : rien n'a été réservé, "
            f"annulé ni déplacé. Réessayez dans quelques minutes, ou appelez le {service_phone()}.",
        )
        response = render(request, "error.html", 503, error=error)
    except web.HTTPRedirection as exc:  # POST-redirect-GET (a plain response: headers added below)
        response = web.Response(status=exc.status, headers={"Location": exc.location})
    except web.HTTPException as exc:
        title, message = HTTP_ERRORS.get(exc.status, ("Erreur", "La demande n'a pas pu être traitée."))
        response = render(request, "error.html", exc.status, error=PageError(exc.status, title, message))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the type only: database errors may quote personal values
        logger.error("%s %s: internal error (%s)", request.method, request.path, type(exc).__name__)
        error = PageError(
            500,
            "Service indisponible",
            "Le service de rendez-vous ne répond pas pour le moment. Réessayez dans quelques minutes "
            "ou appelez la mairie.",
        )
        response = render(request, "error.html", 500, error=error)
    for name, value in SECURITY_HEADERS.items():
        if name == "Cache-Control" and request.path.endswith(".css"):
            continue
        response.headers[name] = value
    logger.info(
        "%s %s %d %.0f ms",
        request.method,
        request.path,
        response.status,
        (time.perf_counter() - started) * 1000,
    )
    return response


# ---- slots -----------------------------------------------------------------------------------


def parse_start(raw: str) -> datetime | None:
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M")
    except (TypeError, ValueError):
        return None


def parse_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@dataclass(frozen=True)
class SlotDays:
    days: List[Tuple[date, List[engine.Slot]]]
    later: date | None  # the « Plus tard » page starts there, None when nothing is left


async def free_days(
    site_id: str, duration: int, after: date | None, config: BookingConfig, agenda: BookingBackend
) -> SlotDays:
    """The first DAYS_SHOWN days with free slots of one site, from `after` (today by default)."""
    now = engine.local_now(clock.now())
    horizon = now.date() + timedelta(days=config.booking_window_days)
    first = max(after or now.date(), now.date())
    days: Dict[date, List[engine.Slot]] = {}
    while first <= horizon and len(days) < DAYS_SHOWN:
        last = min(first + timedelta(days=SEARCH_DAYS - 1), horizon)
        for slot in await agenda.available_slots([site_id], first, last, duration, now=now, config=config):
            if slot.start.date() in days or len(days) < DAYS_SHOWN:
                days.setdefault(slot.start.date(), []).append(slot)
        first = last + timedelta(days=1)
    shown = sorted(days.items())
    later = shown[-1][0] + timedelta(days=1) if len(shown) == DAYS_SHOWN and shown[-1][0] < horizon else None
    return SlotDays([(day, slots) for day, slots in shown], later)


async def slot_is_free(slot: engine.Slot, config: BookingConfig, agenda: BookingBackend) -> bool:
    day = slot.start.date()
    found = await agenda.available_slots(
        [slot.site_id], day, day, slot.duration_minutes, now=clock.now(), config=config
    )
    return any(s.start == slot.start for s in found)


def booking_choice(query: Any, config: BookingConfig) -> Tuple[str | None, int]:
    """The document (cni | passeport | les_deux, or None) and the head count of a query."""
    motif = query.get("motif")
    motif = motif if motif in engine.DOCUMENT_REASON else None
    raw = str(query.get("personnes", "1"))
    people = int(raw) if raw.isdigit() and 1 <= int(raw) <= config.max_people else 1
    return motif, people


def site_or_404(config: BookingConfig, site_id: str | None):
    try:
        return config.site(site_id or "")
    except KeyError:
        raise PageError(404, "Lieu inconnu", "Ce lieu de rendez-vous n'existe pas ou plus.") from None


# ---- booking from scratch --------------------------------------------------------------------


async def choose(request: web.Request) -> web.Response:
    config = request.app[CONFIG_KEY]
    return render(
        request, "choose.html", sites=config.sites, reasons=REASON_LABELS, max_people=config.max_people
    )


async def slots_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG_KEY]
    site = site_or_404(config, request.query.get("site"))
    motif, people = booking_choice(request.query, config)
    motif = motif or "cni"
    duration = engine.duration_for(engine.DOCUMENT_REASON[motif], people, config)
    found = await free_days(
        site.id, duration, parse_day(request.query.get("apres")), config, request.app[AGENDA_KEY]
    )
    return render(
        request,
        "slots.html",
        title=f"Choisir un créneau — {site.name}",
        site=site,
        found=found,
        action=PAGES_PATH,
        method="get",
        hidden={"site": site.id, "motif": motif, "personnes": str(people)},
        later_query={"site": site.id, "motif": motif, "personnes": str(people)},
        back=(f"{PAGES_PATH}/nouveau", "Changer de lieu ou de démarche"),
        summary=f"{REASON_LABELS[motif].capitalize()}, {people_fr(people)}",
    )


def people_fr(count: int) -> str:
    return "1 personne" if count == 1 else f"{count} personnes"


async def find(request: web.Request) -> web.Response:
    """« J'ai déjà un rendez-vous » : the reference typed, then its reference + surname page."""
    typed = re.fullmatch(
        r"(?:RDV-?)?([A-Z0-9]{6})", "".join(request.query.get("reference", "").split()).upper()
    )
    if typed is None:
        raise PageError(
            404,
            "Référence non valable",
            "Une référence s'écrit RDV- suivi de 6 lettres ou chiffres, par exemple RDV-AB12CD.",
        )
    raise web.HTTPSeeOther(management_path(f"RDV-{typed.group(1)}"))


# ---- confirming a slot (the hub's callback) --------------------------------------------------


def chosen_slot(values: Any, config: BookingConfig) -> Tuple[Any, datetime]:
    site = site_or_404(config, values.get("site"))
    start = parse_start(values.get("start", ""))
    if start is None:
        raise PageError(404, "Créneau inconnu", "Ce créneau n'existe pas. Choisissez un autre horaire.")
    return site, start


def slot_gone(site_id: str, motif: str | None, people: int) -> PageError:
    query = f"site={site_id}&motif={motif or 'cni'}&personnes={people}"
    return PageError(
        409,
        "Ce créneau n'est plus disponible",
        "Ce créneau vient d'être pris, n'est plus proposé, ou est trop court pour le nombre de "
        "personnes. Choisissez un autre horaire.",
        [
            (f"{PAGES_PATH}/creneaux?{query}", "Voir les autres créneaux"),
            (f"{PAGES_PATH}/nouveau", "Recommencer"),
        ],
    )


async def confirm_page(request: web.Request) -> web.Response:
    config = request.app[CONFIG_KEY]
    site, start = chosen_slot(request.query, config)
    motif, people = booking_choice(request.query, config)
    duration = engine.duration_for(engine.DOCUMENT_REASON[motif or "cni"], people, config)
    if not await slot_is_free(engine.Slot(site.id, start, duration), config, request.app[AGENDA_KEY]):
        raise slot_gone(site.id, motif, people)
    values = {"motif": motif or "", "personnes": str(people)}
    return render(request, "confirm.html", **confirm_context(config, site, start, values, []))


def confirm_context(
    config, site, start, values: Dict[str, str], errors: List[Tuple[str, str]]
) -> Dict[str, Any]:
    return dict(
        site=site,
        start=start,
        when=when_fr(start),
        start_key=f"{start:%Y-%m-%dT%H:%M}",
        reasons=REASON_LABELS,
        max_people=config.max_people,
        values=values,
        errors=errors,
        error_for=dict(errors),
    )


@dataclass
class BookingForm:
    motif: str
    people: int
    surname: str
    application_ids: List[str]
    email: str | None
    phone: str | None


def read_booking_form(
    form: Dict[str, str], config: BookingConfig
) -> Tuple[BookingForm | None, List[Tuple[str, str]]]:
    """The booking form's answers, or the list of (field id, French message) to correct."""
    errors: List[Tuple[str, str]] = []
    motif = form.get("motif", "")
    if motif not in engine.DOCUMENT_REASON:
        errors.append(("motif-cni", "Choisissez la démarche : carte d'identité, passeport, ou les deux."))
    raw_people = form.get("personnes", "").strip()
    people = int(raw_people) if raw_people.isdigit() else 0
    if not 1 <= people <= config.max_people:
        errors.append(("personnes", f"Indiquez le nombre de personnes, de 1 à {config.max_people}."))
    surname = " ".join(form.get("nom", "").replace("’", "'").split()).strip(" -'")
    if not NAME.match(surname) or len(surname) > 60:
        errors.append(("nom", "Indiquez votre nom de famille, en lettres (par exemple : Martin, N'Diaye)."))
    ids: List[str] = []
    if form.get("papier") != "oui":
        tokens = [t.upper() for t in re.split(r"[^A-Za-z0-9]+", form.get("numeros", "")) if t]
        ids = list(dict.fromkeys(tokens))
        if not ids:
            errors.append(
                (
                    "numeros",
                    "Indiquez le numéro de pré-demande de chaque personne, ou cochez « dossier papier ».",
                )
            )
        elif any(not APPLICATION_ID.match(t) for t in ids):
            errors.append(
                (
                    "numeros",
                    "Un numéro de pré-demande compte 10 lettres ou chiffres (par exemple : AB12CD34EF).",
                )
            )
        elif 1 <= people <= config.max_people and len(ids) != people:
            errors.append(
                (
                    "numeros",
                    f"Indiquez un numéro de pré-demande par personne ({people_fr(people)}) : "
                    f"{len(ids)} numéro(s) reçu(s).",
                )
            )
    email = form.get("email", "").strip() or None
    if email and not EMAIL.match(email):
        errors.append(("email", "Cette adresse e-mail ne semble pas valide (exemple : nom@exemple.fr)."))
    phone = re.sub(r"[\s.-]", "", form.get("telephone", "")) or None
    if phone and not PHONE.match(phone):
        errors.append(
            ("telephone", "Ce numéro de téléphone ne semble pas valide (exemple : 06 12 34 56 78).")
        )
    if (email or phone) and form.get("rappels") != "oui":
        errors.append(
            (
                "rappels",
                "Cochez la case d'accord pour recevoir les rappels, ou laissez e-mail et téléphone vides.",
            )
        )
    if errors:
        return None, errors
    return BookingForm(motif, people, surname.upper(), ids, email, phone), []


async def check_applications(
    request: web.Request, ids: List[str], site_id: str
) -> Tuple[List[Tuple[str, str]], bool]:
    """The pre-application numbers checked as the chat checks them (ANTS /status, then the
    numbers already holding an appointment here, counted as failed tries): (errors, flag)."""
    keys = {a: attempts.keys_for("appointment", a, CHANNEL, client_id(request)) for a in ids}
    if await in_thread(
        attempts.is_locked, [k for pair in keys.values() for k in pair], url=request.app[DB_KEY]
    ):
        raise too_many_tries()
    errors: List[Tuple[str, str]] = []
    flag = False
    settings = request.app[ANTS_KEY]
    if settings.enabled:
        try:
            checks = await AntsClient(settings).check(ids, site_id)
        except AntsUnavailable:
            logger.warning("ANTS unavailable during a booking (policy %s)", settings.down_policy)
            if settings.down_policy != "flag":
                raise PageError(
                    503,
                    "Vérification impossible pour le moment",
                    "Le service national des pré-demandes (ANTS) ne répond pas : rien n'a été réservé. "
                    "Réessayez dans quelques minutes, ou appelez la mairie.",
                ) from None
            flag = True
        except AntsError:
            return [
                ("numeros", "Ces numéros de pré-demande n'ont pas pu être vérifiés. Vérifiez-les.")
            ], False
        else:
            for application_id, check in checks.items():
                if not check.bookable:
                    errors.append(
                        ("numeros", f"{application_id} : {check.reason_fr or 'numéro refusé par l’ANTS'}")
                    )
    local = await in_thread(request.app[AGENDA_KEY].appointments_for_applications, ids)
    for application_id, held in local.items():
        if held:
            if (
                await in_thread(attempts.record_failure, keys[application_id], url=request.app[DB_KEY])
            ).locked:
                raise too_many_tries()
            errors.append(
                ("numeros", f"{application_id} : ce numéro a déjà un rendez-vous. Gérez-le avec le lien "
                 "reçu, ou avec sa référence et votre nom.")
            )  # fmt: skip
    return errors, flag


def too_many_tries() -> PageError:
    return PageError(
        429,
        "Trop d'essais",
        "Trop d'essais ont échoué. Par sécurité, cette vérification est bloquée pour un moment. "
        "Réessayez plus tard, ou appelez la mairie.",
    )


async def book(request: web.Request) -> web.Response:
    config = request.app[CONFIG_KEY]
    form = await form_of(request)
    site, start = chosen_slot(form, config)
    answers, errors = read_booking_form(form, config)
    if answers is not None and answers.application_ids:
        errors, flag = await check_applications(request, answers.application_ids, site.id)
    else:
        flag = False
    if answers is None or errors:
        values = {k: v for k, v in form.items() if k != "csrf"}
        return render(request, "confirm.html", 400, **confirm_context(config, site, start, values, errors))
    reason = engine.DOCUMENT_REASON[answers.motif]
    slot = engine.Slot(site.id, start, engine.duration_for(reason, answers.people, config))
    try:
        appt = await request.app[AGENDA_KEY].book(
            slot,
            reason=reason,
            people=answers.people,
            surname=answers.surname,
            channel=CHANNEL,
            sender_id=client_id(request),
            application_ids=answers.application_ids,
            email=answers.email,
            phone=answers.phone,
            needs_agent_check=flag,
            now=clock.now(),
            config=config,
        )
    except (engine.SlotTaken, engine.SlotNotOffered):
        raise slot_gone(site.id, answers.motif, answers.people) from None
    except engine.ApplicationAlreadyBooked:
        values = {k: v for k, v in form.items() if k != "csrf"}
        errors = [("numeros", "Un de ces numéros de pré-demande a déjà un rendez-vous.")]
        return render(request, "confirm.html", 400, **confirm_context(config, site, start, values, errors))
    except engine.TooManyAppointments as exc:
        logger.info("booking refused: limit of active appointments per %s", exc.kind)
        raise PageError(
            429,
            "Trop de rendez-vous en cours",
            "Vous avez déjà le nombre maximum de rendez-vous en cours. Annulez-en un, ou appelez la mairie.",
        ) from None
    logger.info("appointment booked on the pages (%d documents)", appt.documents)
    if appt.application_ids:
        await ants_sync.declare_appointment(
            appt, request.app[ANTS_KEY], request.app[PUBLIC_KEY], url=request.app[DB_KEY]
        )
    raise web.HTTPSeeOther(signed_path(appt.reference, etat="confirme"))


# ---- managing an appointment -----------------------------------------------------------------


def token_reference(request: web.Request, purposes: Tuple[str, ...]) -> str:
    """The reference of the URL, once its signed link (?t=) is checked for one of `purposes`."""
    token = request.query.get("t", "")
    reference = request.match_info["ref"].upper()
    expired = False
    for purpose in purposes:
        try:
            if links.read_manage_token(token, purpose) == reference:
                return reference
        except links.ExpiredToken:
            expired = True
        except links.BadToken:
            continue
    if expired:
        raise PageError(
            410,
            "Lien expiré",
            "Ce lien a expiré. Retrouvez votre rendez-vous avec sa référence et votre nom.",
            [(management_path(reference), "Retrouver mon rendez-vous")],
        )
    raise PageError(
        400,
        "Lien non valable",
        "Ce lien n'est pas valable (il a peut-être été mal copié). Retrouvez votre rendez-vous avec "
        "sa référence et votre nom.",
        [(management_path(reference), "Retrouver mon rendez-vous")],
    )


async def live_appointment(request: web.Request, reference: str) -> engine.AppointmentView:
    try:
        return await in_thread(request.app[AGENDA_KEY].appointment_by_reference, reference)
    except engine.AppointmentNotFound:
        raise PageError(
            404,
            "Rendez-vous introuvable",
            "Ce rendez-vous n'est plus actif : il a été annulé, ou sa date est passée.",
        ) from None


def identify(request: web.Request, purpose: str, status: int = 200, error: str | None = None) -> web.Response:
    reference = request.match_info["ref"].upper()
    action = cancel_path(reference) if purpose == "cancel" else management_path(reference)
    return render(
        request, "identify.html", status, reference=reference, action=action, error=error, purpose=purpose
    )


async def manage_page(request: web.Request) -> web.Response:
    if "t" not in request.query:
        return identify(request, "manage")
    reference = token_reference(request, ("manage",))
    appt = await live_appointment(request, reference)
    return render(
        request,
        "appointment.html",
        appt=appt,
        when=when_fr(appt.start),
        reason=REASON_LABELS[next(k for k, v in engine.DOCUMENT_REASON.items() if v == appt.reason)],
        people=people_fr(appt.people),
        checklist=checklist(appt),
        state=request.query.get("etat"),
        link=request.app[PUBLIC_KEY] + signed_path(reference),
        move=signed_path(reference, "move"),
        cancel=signed_path(reference, "cancel"),
    )


async def check_surname(request: web.Request, purpose: str) -> web.Response:
    """POST of the reference + surname form: 303 to the signed page, or the form again."""
    form = await form_of(request)
    reference = request.match_info["ref"].upper()
    keys = attempts.keys_for("appointment", reference, CHANNEL, client_id(request))
    if await in_thread(attempts.is_locked, keys, url=request.app[DB_KEY]):  # before the database is asked
        raise too_many_tries()
    surname = form.get("nom", "").strip()
    try:
        await in_thread(request.app[AGENDA_KEY].get_appointment, reference, surname=surname or None)
    except engine.AppointmentNotFound:
        if (await in_thread(attempts.record_failure, keys, url=request.app[DB_KEY])).locked:
            logger.info("appointment check locked after failed tries")
            raise too_many_tries() from None
        # One answer for both cases: the reference alone never tells whether it exists.
        message = "La référence et le nom ne correspondent à aucun rendez-vous actif. Vérifiez-les."
        return identify(request, purpose, 400, message)
    raise web.HTTPSeeOther(signed_path(reference, purpose))


async def manage_post(request: web.Request) -> web.Response:
    return await check_surname(request, "manage")


async def cancel_page(request: web.Request) -> web.Response:
    if "t" not in request.query:
        return identify(request, "cancel")
    reference = token_reference(request, ("cancel", "manage"))
    if request.query.get("etat") == "annule":
        try:
            await in_thread(request.app[AGENDA_KEY].appointment_by_reference, reference)
        except engine.AppointmentNotFound:
            return render(request, "cancelled.html", reference=reference)
    appt = await live_appointment(request, reference)
    action = f"{cancel_path(reference)}?t={request.query['t']}"
    return render(
        request, "cancel.html", appt=appt, when=when_fr(appt.start), action=action, reference=reference,
        back=signed_path(reference),
    )  # fmt: skip


async def cancel_post(request: web.Request) -> web.Response:
    if "t" not in request.query:  # the reference + surname form
        return await check_surname(request, "cancel")
    await form_of(request)
    reference = token_reference(request, ("cancel", "manage"))
    appt = await live_appointment(request, reference)
    cancelled = await request.app[AGENDA_KEY].cancel(reference, surname=appt.surname, now=clock.now())
    await ants_sync.withdraw_appointment(cancelled, request.app[ANTS_KEY], url=request.app[DB_KEY])
    logger.info("appointment cancelled on the pages")
    raise web.HTTPSeeOther(signed_path(reference, "cancel", etat="annule"))


async def move_page(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    reference = token_reference(request, ("manage",))
    appt = await live_appointment(request, reference)
    config = request.app[CONFIG_KEY]
    site = site_or_404(config, appt.site_id)
    found = await free_days(
        site.id, appt.duration_minutes, parse_day(request.query.get("apres")), config, request.app[AGENDA_KEY]
    )
    token = request.query["t"]
    return render(
        request,
        "slots.html",
        status,
        title=f"Déplacer le rendez-vous {reference}",
        site=site,
        found=found,
        action=f"{move_path(reference)}?t={token}",
        method="post",
        hidden={},
        later_query={"t": token},
        back=(signed_path(reference), "Garder le rendez-vous actuel"),
        summary=f"Rendez-vous actuel : {when_fr(appt.start)}",
        error=error,
    )


async def move_get(request: web.Request) -> web.Response:
    return await move_page(request)


async def move_post(request: web.Request) -> web.Response:
    form = await form_of(request)
    reference = token_reference(request, ("manage",))
    before = await live_appointment(request, reference)
    start = parse_start(form.get("start", ""))
    if start is None:
        return await move_page(request, "Choisissez un créneau dans la liste.", 400)
    config = request.app[CONFIG_KEY]
    slot = engine.Slot(before.site_id, start, before.duration_minutes)
    try:
        after = await request.app[AGENDA_KEY].reschedule(
            reference, slot, surname=before.surname, now=clock.now(), config=config
        )
    except (engine.SlotTaken, engine.SlotNotOffered):
        return await move_page(request, "Ce créneau vient d'être pris. Choisissez-en un autre.", 409)
    if after.application_ids:
        settings, db = request.app[ANTS_KEY], request.app[DB_KEY]
        await ants_sync.withdraw_appointment(before, settings, url=db)
        await ants_sync.declare_appointment(after, settings, request.app[PUBLIC_KEY], url=db)
    logger.info("appointment moved on the pages")
    raise web.HTTPSeeOther(signed_path(reference, etat="deplace"))


# ---- the application -------------------------------------------------------------------------


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def stylesheet(_request: web.Request) -> web.Response:
    response = web.Response(
        body=(HERE / "static" / "style.css").read_bytes(), content_type="text/css", charset="utf-8"
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def create_app(
    url: str | None = None,
    *,
    public_url: str | None = None,
    ants: AntsSettings | None = None,
    config: BookingConfig | None = None,
    agenda: BookingBackend | None = None,
) -> web.Application:
    """The pages over the booking database `url` (None: GRU_DATABASE_URL) and the agenda the
    configuration chooses (booking/connector.py), unless `agenda` is given."""
    app = web.Application(middlewares=[pages], client_max_size=MAX_BODY)
    app[DB_KEY] = url
    app[CONFIG_KEY] = config or load_booking_config()
    app[AGENDA_KEY] = agenda or booking_backend(url, config=app[CONFIG_KEY])
    app[ANTS_KEY] = ants or AntsSettings.from_env()
    app[PUBLIC_KEY] = (public_url or links.pages_url()).rstrip("/")
    templates = Environment(
        loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True)
    )
    templates.filters.update(date_fr=format_date_fr, time_fr=format_time_fr)
    app[TEMPLATES_KEY] = templates
    secret = os.environ.get("GRU_ATTEMPTS_SECRET") or secrets.token_hex(32)
    app[CLIENT_SECRET_KEY] = secret.encode()
    ref = "{ref:" + REFERENCE + "}"
    app.router.add_get("/health", health)
    app.router.add_get(f"{PAGES_PATH}/style.css", stylesheet)
    app.router.add_get(f"{PAGES_PATH}/nouveau", choose)
    app.router.add_get(f"{PAGES_PATH}/creneaux", slots_page)
    app.router.add_get(f"{PAGES_PATH}/retrouver", find)
    app.router.add_get(PAGES_PATH, confirm_page)
    app.router.add_post(PAGES_PATH, book)
    app.router.add_get(f"{PAGES_PATH}/{ref}", manage_page)
    app.router.add_post(f"{PAGES_PATH}/{ref}", manage_post)
    app.router.add_get(f"{PAGES_PATH}/{ref}/annuler", cancel_page)
    app.router.add_post(f"{PAGES_PATH}/{ref}/annuler", cancel_post)
    app.router.add_get(f"{PAGES_PATH}/{ref}/deplacer", move_get)
    app.router.add_post(f"{PAGES_PATH}/{ref}/deplacer", move_post)
    return app


def main() -> int:
    problem = public_url_problem()
    if problem:  # the signed links these pages give out would lead nowhere
        print(problem, file=sys.stderr)
        return 1
    raw_port = (os.environ.get("GRU_PAGES_PORT") or str(DEFAULT_PORT)).strip()
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        print(
            f"GRU_PAGES_PORT invalide : « {raw_port} » (numéro de port attendu, ex. 5200).", file=sys.stderr
        )
        return 1
    host = (os.environ.get("GRU_PAGES_HOST") or "127.0.0.1").strip()
    try:
        app = create_app()
    except Exception as exc:  # configuration file unreadable: say it, no traceback
        print(f"Les pages de rendez-vous ne peuvent pas démarrer : {exc}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.info("appointment pages on %s:%s, public URL %s", host, raw_port, app[PUBLIC_KEY])
    # access_log=None: aiohttp's access log would print query strings (signed links).
    web.run_app(app, host=host, port=int(raw_port), access_log=None, print=None)
    return 0
