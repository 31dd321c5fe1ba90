"""Request / subsidy status look-up ("suivi de démarche", "suivi de subvention"): the common API.

A citizen gives a reference number ("DEM-2026-004217", "SUB-2026-0042" or a legacy w.c.s. number
"12-3456") and a second factor: the e-mail address or the surname on the file. Back-office adapters
(`tracking.local` for the demo YAML file, `tracking.publik` for a Publik w.c.s. back office) implement
:class:`TrackingConnector` and answer with a :class:`FileStatus`.

Privacy rules shared by every adapter:

* an unknown reference and a wrong second factor raise the same :class:`FileNotFound` (with the same
  message), so that the assistant never discloses that a file exists;
* log lines and exception messages never contain the reference, the e-mail or the name.

`connector_from_env` picks the adapter: GRU_TRACKING=local (default, GRU_TRACKING_FILE) or publik
(GRU_PUBLIK_URL, GRU_PUBLIK_ORIG, GRU_PUBLIK_KEY, GRU_PUBLIK_TIMEOUT, GRU_PUBLIK_FORMS,
optional GRU_PUBLIK_SERVICES "slug=service,...").
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from core.http import pairs_from_env
from core.text import fold_key

KINDS = ("request", "subsidy", "report")
STAGES = ("received", "in_progress", "waiting_document", "decided", "closed")
STAGE_FR = {
    "received": "reçue",
    "in_progress": "en cours d'instruction",
    "waiting_document": "en attente d'un document de votre part",
    "decided": "décidée",
    "closed": "clôturée",
}
DECISIONS = ("accepted", "refused")
DECISION_FR = {"accepted": "acceptée", "refused": "refusée"}
# Reference prefix -> kind of file.
PREFIX_KIND = {"DEM": "request", "SUB": "subsidy", "SIG": "report"}
NOT_FOUND_MESSAGE = "aucun dossier ne correspond à ce numéro et à ces informations"


@dataclass(frozen=True)
class FileStatus:
    reference: str  # as shown to the citizen, e.g. "DEM-2026-004217" or "SUB-2026-0042"
    kind: str  # "request" | "subsidy"
    title: str  # "Demande de place en crèche", "Subvention — Association Les Amis du Parc"
    stage: str  # received | in_progress | waiting_document | decided | closed
    stage_fr: str  # plain French, see STAGE_FR
    decision_fr: str | None  # decided/closed: "acceptée" / "refusée" / "accordée : 1 500 €"
    last_change: date
    next_step_fr: str  # what happens next / what the citizen should do
    service: str | None  # territory service key handling the file (e.g. "urbanisme")


class TrackingError(Exception):
    """Base class of the tracking errors."""


class TrackingUnavailable(TrackingError):
    """The back office cannot be used right now: down, timeout, 5xx, 401/403, malformed answer."""


class FileNotFound(TrackingError):
    """Unknown reference OR wrong second factor -- deliberately the same error (existence not disclosed)."""

    def __init__(self, message: str = NOT_FOUND_MESSAGE) -> None:
        super().__init__(message)


@runtime_checkable
class TrackingConnector(Protocol):
    async def lookup(self, reference: str, second_factor: str) -> FileStatus:
        """Status of the file `reference` if `second_factor` (e-mail or surname) matches its holder."""
        ...


# --- references ------------------------------------------------------------------------------------

MAX_REFERENCE_INPUT = 80  # « référence : DEM-2026-004217 » is 30 characters: a longer text is no reference
_SEP = r"[\s\-_./]*"
_PREFIXED_RE = re.compile(rf"^(DEM|SUB|SIG){_SEP}(20\d\d){_SEP}(\d{{1,8}})$")
_LEGACY_RE = re.compile(r"^(\d{1,4})\s*[-\s]\s*(\d{1,8})$")
_LABEL_RE = re.compile(
    r"^(?:N\s*°|NO\.?|NUM[EÉ]RO|R[EÉ]F[EÉ]RENCE|R[EÉ]F\.?|DOSSIER|#)\s*:?\s*", re.IGNORECASE
)


def normalise_reference(text: str) -> str | None:
    """Canonical reference, or None when `text` does not look like one.

    "dem-2026-004217", "DEM 2026 004217", "DEM2026004217" -> "DEM-2026-004217"; digits are kept as
    given ("DEM-2026-4217" stays "DEM-2026-4217": the back office decides whether it exists).
    "sub-2026-0042" -> "SUB-2026-0042"; legacy w.c.s. numbers "12-3456" / "12 3456" -> "12-3456".
    A leading label ("n°", "référence", "dossier") and surrounding punctuation are ignored.
    """
    if not isinstance(text, str) or len(text) > MAX_REFERENCE_INPUT:
        return None
    candidate = text.strip().strip(".,;:!?«»\"'()[] ").strip()
    candidate = _LABEL_RE.sub("", candidate).strip()
    match = _PREFIXED_RE.match(candidate.upper())
    if match:
        return f"{match.group(1)}-{match.group(2)}-{match.group(3)}"
    match = _LEGACY_RE.match(candidate)
    if match:
        return f"{match.group(1)}-{match.group(2)}"
    return None


def reference_prefix(reference: str) -> str | None:
    """'DEM' / 'SUB' for a canonical prefixed reference, None for a legacy one."""
    head = reference.split("-", 1)[0]
    return head if head in PREFIX_KIND else None


# --- second factor ---------------------------------------------------------------------------------


def normalise_name(text: str) -> str:
    """Case-, accent-, space- and punctuation-insensitive form: "Le Gall" / "le-gall" -> "legall"."""
    return fold_key(text)


def normalise_email(text: str) -> str:
    return (text or "").strip().casefold()


def second_factor_matches(given: str, emails: Iterable[str | None], surnames: Iterable[str | None]) -> bool:
    """True when `given` is one of the e-mails (case-insensitive) or surnames (see normalise_name)."""
    if not isinstance(given, str):
        return False
    if "@" in given:
        wanted, candidates = normalise_email(given), [normalise_email(e) for e in emails if e]
    else:
        wanted, candidates = normalise_name(given), [normalise_name(s) for s in surnames if s]
    if not wanted:
        return False
    matched = False
    for candidate in candidates:  # no early exit: compare_digest on every candidate
        if candidate and hmac.compare_digest(candidate.encode(), wanted.encode()):
            matched = True
    return matched


# --- French texts ----------------------------------------------------------------------------------


def format_amount_fr(amount: float) -> str:
    """1500 -> '1 500 €', 1234.5 -> '1 234,50 €'."""
    if float(amount).is_integer():
        text = f"{int(amount):,}".replace(",", " ")
    else:
        text = f"{amount:,.2f}".replace(",", " ").replace(".", ",")
    return f"{text} €"


def decision_text_fr(decision: str | None, kind: str, amount: float | None = None) -> str | None:
    """'acceptée' / 'refusée' / for a subsidy granted with an amount: 'accordée : 1 500 €'."""
    if decision is None:
        return None
    if decision == "accepted" and kind == "subsidy" and amount is not None:
        return f"accordée : {format_amount_fr(amount)}"
    return DECISION_FR[decision]


def default_next_step_fr(
    stage: str, kind: str, decision: str | None = None, missing_document: str | None = None
) -> str:
    """What happens next / what the citizen should do, in one or two plain French sentences."""
    if stage == "received":
        return (
            "Votre dossier est bien enregistré. Un agent va le vérifier puis l'instruire : "
            "vous n'avez rien à faire pour le moment."
        )
    if stage == "in_progress":
        if kind == "subsidy":
            return (
                "Votre demande de subvention est étudiée ; elle sera présentée au conseil municipal, "
                "qui décide du montant. Vous serez informé par e-mail."
            )
        return "Un agent étudie votre dossier. Vous serez informé par e-mail dès qu'une décision sera prise."
    if stage == "waiting_document":
        what = (
            f"Il manque {missing_document.strip().rstrip('.')}."
            if missing_document
            else (
                "Il manque un document à votre dossier : le détail figure dans le message que vous avez reçu."
            )
        )
        return (
            f"{what} Déposez-le dans votre espace en ligne ou à l'accueil de la mairie : "
            "l'instruction reprendra dès sa réception."
        )
    if stage == "decided":
        if decision == "refused":
            return (
                "Le courrier de décision vous explique les motifs. Vous pouvez former un recours gracieux "
                "auprès du maire dans les deux mois suivant sa réception."
            )
        if decision == "accepted" and kind == "subsidy":
            return "La subvention sera versée sur le compte de l'association dans les prochaines semaines."
        if decision == "accepted":
            return "La décision vous a été envoyée par e-mail : suivez les indications qu'elle contient."
        return "La décision vous a été envoyée par e-mail ou par courrier."
    if stage == "closed":
        return (
            "Ce dossier est terminé : vous n'avez plus rien à faire. "
            "Pour une nouvelle demande, il faut faire une nouvelle démarche."
        )
    raise ValueError(f"unknown stage {stage!r}")


def make_status(
    *,
    reference: str,
    kind: str,
    title: str,
    stage: str,
    last_change: date,
    service: str | None,
    decision: str | None = None,
    amount: float | None = None,
    missing_document: str | None = None,
    next_step_fr: str | None = None,
) -> FileStatus:
    """Build a FileStatus with the French texts filled in (decision only shown when decided/closed)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if stage not in ("decided", "closed"):
        decision = None
    return FileStatus(
        reference=reference,
        kind=kind,
        title=title,
        stage=stage,
        stage_fr=STAGE_FR[stage],
        decision_fr=decision_text_fr(decision, kind, amount),
        last_change=last_change,
        next_step_fr=next_step_fr or default_next_step_fr(stage, kind, decision, missing_document),
        service=service,
    )


# --- configuration ---------------------------------------------------------------------------------


def connector_from_env(env: Mapping[str, str] = os.environ) -> TrackingConnector:
    """The connector chosen by GRU_TRACKING: local (default; GRU_TRACKING_FILE) or publik (GRU_PUBLIK_*)."""
    kind = (env.get("GRU_TRACKING") or "").strip().lower() or "local"
    if kind == "local":
        from tracking.local import LocalTrackingAdapter

        return LocalTrackingAdapter((env.get("GRU_TRACKING_FILE") or "").strip() or None)
    if kind != "publik":
        raise ValueError(f"GRU_TRACKING must be 'local' or 'publik'; got {env.get('GRU_TRACKING')!r}")

    from tracking.publik import PublikWcsAdapter

    values = {}
    for name in ("GRU_PUBLIK_URL", "GRU_PUBLIK_ORIG", "GRU_PUBLIK_KEY", "GRU_PUBLIK_FORMS"):
        values[name] = (env.get(name) or "").strip()
        if not values[name]:
            raise ValueError(f"GRU_TRACKING=publik needs {name}")
    forms = [slug.strip() for slug in values["GRU_PUBLIK_FORMS"].split(",") if slug.strip()]
    raw_timeout = (env.get("GRU_PUBLIK_TIMEOUT") or "").strip()
    timeout_s = 5.0
    if raw_timeout:
        try:
            timeout_s = float(raw_timeout)
        except ValueError:
            raise ValueError(
                f"GRU_PUBLIK_TIMEOUT must be a number of seconds (e.g. 5); got {raw_timeout!r}"
            ) from None
        if not 0 < timeout_s < float("inf"):
            raise ValueError(f"GRU_PUBLIK_TIMEOUT must be positive (seconds); got {raw_timeout!r}")
    services = pairs_from_env("GRU_PUBLIK_SERVICES", "slug=service,slug=service", env)
    return PublikWcsAdapter(
        values["GRU_PUBLIK_URL"],
        values["GRU_PUBLIK_ORIG"],
        values["GRU_PUBLIK_KEY"],
        forms,
        timeout_s=timeout_s,
        services=services,
    )
