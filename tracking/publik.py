"""Publik w.c.s. back-office adapter for request / subsidy status (signed REST API).

Signature: Publik "signed URLs" (core/publik_signature.py, shared with the Chrono adapter of
booking/chrono.py); ``sign_query`` and ``check_signature`` are re-exported here.

Reference mapping (configuration-dependent in real deployments -- adapt ``reference_map`` /
``formdef_map`` to the w.c.s. instance):

* legacy w.c.s. numbers ``12-3456`` are w.c.s. ``display_id`` values ("<formdef id>-<form number>").
  The formdef id is looked up in ``formdef_map`` (formdef id -> slug); when it is not there every
  slug of ``forms`` is tried. ``GET /api/forms/<slug>/3456/`` is called and the answer is kept only
  if its ``display_id`` is exactly ``12-3456``.
* ``DEM-2026-004217`` / ``SUB-2026-0042``: the numeric tail is the w.c.s. form number
  (``004217`` -> ``4217``) and the prefix chooses the slugs to search via ``reference_map``
  (prefix -> slug or list of slugs). By default ``SUB`` searches the slugs of ``forms`` containing
  "subvention" and ``DEM`` the others. ``GET /api/forms/<slug>/4217/`` is called for each slug; the
  answer is kept only if its ``id`` is the number and its ``receipt_time`` is in the year of the
  reference (2026).

Among the kept answers, the first whose holder matches the second factor wins: ``user.email``, the
surname in ``user.name`` (last word, or everything after the first name: "Jean Le Gall" -> "Le Gall"),
``fields.email`` / ``fields.nom``. No match (or 404 everywhere) -> FileNotFound, whatever the cause.

Status -> stage: ``status_map`` (status id or lower-case status name -> stage) first, then keywords
of the status name (accents and case ignored): pièce/document/incomplet/complément/"attente" ->
waiting_document (but "en attente de décision/validation/avis/signature" -> in_progress);
refusé/rejeté/défavorable -> decided, "refusée"; accepté/validé/accordé/favorable -> decided,
"acceptée" (a subsidy with a ``fields.montant_accorde`` -> "accordée : 1 500 €"); décision -> decided;
en cours/instruction/traitement/examen/étude -> in_progress; nouveau/reçu/déposé/soumis/enregistré ->
received; ``endpoint: true`` or clos/terminé/archivé/classé/annulé/abandonné -> closed; otherwise
in_progress. A missing document is read from ``fields.piece_manquante`` / ``fields.document_manquant``.

Errors: 404 -> the next slug (finally FileNotFound); 401/403/other 4xx/5xx/timeout/connection
error/malformed JSON -> TrackingUnavailable. Privacy: one log line per call with the path with the
form number masked (``/api/forms/demande-creche/<id>/``), the HTTP status and the duration -- never
the reference, the e-mail or the name; exception messages follow the same rule.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp

from core.http import JsonClient, Rejected, Unavailable
from core.publik_signature import TIMESTAMP_FORMAT, check_signature, sign_query
from core.text import fold
from tracking.connector import (
    STAGES,
    FileNotFound,
    FileStatus,
    TrackingUnavailable,
    make_status,
    normalise_reference,
    reference_prefix,
    second_factor_matches,
)

__all__ = ["PublikWcsAdapter", "TIMESTAMP_FORMAT", "check_signature", "map_status", "sign_query"]

logger = logging.getLogger(__name__)

MISSING_DOCUMENT_FIELDS = ("piece_manquante", "document_manquant")
AMOUNT_FIELDS = ("montant_accorde",)
ASSOCIATION_FIELDS = ("nom_association", "association")

try:
    PARIS_TZ: Any = ZoneInfo("Europe/Paris")
except ZoneInfoNotFoundError:  # pragma: no cover - no tz database on the host
    PARIS_TZ = None


# --- status mapping --------------------------------------------------------------------------------


def _plain(text: str) -> str:
    return fold(text)


_WAITING_RE = re.compile(r"\b(pieces?|documents?|incomplet|complements?|attente)\b")
_WAITING_FOR_AGENT_RE = re.compile(
    r"\battente\b.*\b(decision|validation|avis|signature|commission|conseil)\b"
)
_REFUSED_RE = re.compile(r"\b(refus|refusee?s?|rejetee?s?|rejet|defavorable)\b")
_ACCEPTED_RE = re.compile(r"\b(acceptee?s?|acceptation|validee?s?|accordee?s?|accord|favorable)\b")
_DECISION_RE = re.compile(r"\b(decision|decide|decidee?s?)\b")
_IN_PROGRESS_RE = re.compile(r"\b(en cours|instruction|traitement|examen|etude)\b")
_RECEIVED_RE = re.compile(r"\b(nouveau|nouvelle|recue?s?|deposee?s?|soumise?s?|enregistree?s?)\b")
_CLOSED_RE = re.compile(
    r"\b(clos|close|cloturee?s?|terminee?s?|archivee?s?|classee?s?|annulee?s?|abandonnee?s?)\b"
)


def map_status(
    status_id: str, name: str, endpoint: bool, status_map: Mapping[str, str] | None = None
) -> tuple[str, str | None]:
    """(stage, decision) for a w.c.s. status; decision is 'accepted' / 'refused' / None."""
    plain = _plain(name)
    refused = bool(_REFUSED_RE.search(plain))
    accepted = not refused and bool(_ACCEPTED_RE.search(plain))
    decision = "refused" if refused else "accepted" if accepted else None
    overrides = {str(k).strip().casefold(): v for k, v in (status_map or {}).items()}
    for candidate in (str(status_id).strip().casefold(), (name or "").strip().casefold()):
        if candidate in overrides:
            return overrides[candidate], decision
    if _WAITING_RE.search(plain):
        if _WAITING_FOR_AGENT_RE.search(plain):
            return "in_progress", None
        return "waiting_document", None
    if decision is not None or _DECISION_RE.search(plain):
        return "decided", decision
    if _IN_PROGRESS_RE.search(plain):
        return "in_progress", None
    if _RECEIVED_RE.search(plain):
        return "received", None
    if endpoint or _CLOSED_RE.search(plain):
        return "closed", None
    return "in_progress", None


# --- answer parsing --------------------------------------------------------------------------------


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None and PARIS_TZ is not None:
        moment = moment.astimezone(PARIS_TZ)
    return moment.date()


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _first_text(fields: dict, keys: tuple[str, ...]) -> str | None:
    return next((_text(fields.get(k)) for k in keys if _text(fields.get(k))), None)


def _amount(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    if isinstance(value, str):
        cleaned = value.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace("€", "")
        try:
            number = float(cleaned.replace(",", "."))
        except ValueError:
            return None
        return number if number > 0 else None
    return None


def _surnames_from_name(name: str | None) -> list[str]:
    words = (name or "").split()
    if not words:
        return []
    candidates = [words[-1]]
    if len(words) > 2:
        candidates.append(" ".join(words[1:]))
    return candidates


class PublikWcsAdapter:
    """TrackingConnector over the Publik w.c.s. REST API (signed GET /api/forms/<slug>/<id>/)."""

    def __init__(
        self,
        base_url: str,
        orig: str,
        key: str,
        forms: list[str],
        timeout_s: float = 5.0,
        session: aiohttp.ClientSession | None = None,
        *,
        reference_map: Mapping[str, str | list[str]] | None = None,
        formdef_map: Mapping[str, str] | None = None,
        status_map: Mapping[str, str] | None = None,
        services: Mapping[str, str] | None = None,
        titles: Mapping[str, str] | None = None,
        subsidy_forms: list[str] | None = None,
    ) -> None:
        if not base_url or not orig or not key:
            raise ValueError("PublikWcsAdapter needs base_url, orig and key")
        if isinstance(forms, str):
            forms = [forms]
        self.forms = [slug.strip() for slug in forms if slug and slug.strip()]
        if not self.forms:
            raise ValueError("PublikWcsAdapter needs at least one form slug (GRU_PUBLIK_FORMS)")
        if not 0 < timeout_s < float("inf"):
            raise ValueError(f"Publik timeout must be a positive number of seconds; got {timeout_s!r}")
        for stage in (status_map or {}).values():
            if stage not in STAGES:
                raise ValueError(f"status_map: unknown stage {stage!r} (expected one of {', '.join(STAGES)})")
        self._base_url = base_url.rstrip("/")
        self._orig = orig
        self._key = key
        self.timeout_s = timeout_s
        self._http = JsonClient(
            "Publik",
            self._base_url,
            logger=logger,
            timeout_env="GRU_PUBLIK_TIMEOUT",
            timeout_default=5.0,
            timeout_s=timeout_s,
            session=session,
        )
        self.subsidy_forms = (
            list(subsidy_forms)
            if subsidy_forms is not None
            else [slug for slug in self.forms if "subvention" in slug]
        )
        if reference_map is None:
            others = [slug for slug in self.forms if slug not in self.subsidy_forms]
            reference_map = {"SUB": self.subsidy_forms or self.forms, "DEM": others or self.forms}
        self.reference_map = {
            prefix.upper(): [slugs] if isinstance(slugs, str) else list(slugs)
            for prefix, slugs in reference_map.items()
        }
        self.formdef_map = {str(k): v for k, v in (formdef_map or {}).items()}
        self.status_map = dict(status_map or {})
        self.services = dict(services or {})
        self.titles = dict(titles or {})

    def __repr__(self) -> str:  # never the key
        return f"PublikWcsAdapter(base_url={self._base_url!r}, orig={self._orig!r}, forms={self.forms!r})"

    async def __aenter__(self) -> PublikWcsAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Nothing to release: the session is the process's (core.http.close_all) or the caller's."""

    async def _get_form(self, slug: str, number: str) -> dict | None:
        """GET /api/forms/<slug>/<number>/: the decoded answer, None on 404. Logs without the number."""
        path = f"/api/forms/{quote(slug, safe='')}/{number}/"
        shown = f"/api/forms/{slug}/<id>/"
        try:
            async with self._http.call(
                "GET", path, query=sign_query("", self._key, self._orig), pass_statuses=(404,), log_path=shown
            ) as reply:
                if reply.status == 404:
                    return None
                return self._form_of(shown, reply.data)
        except Unavailable as exc:
            if exc.kind == "timeout":
                raise TrackingUnavailable(
                    f"Publik GET {shown}: no answer within {self.timeout_s:g} s"
                ) from None
            if exc.kind == "invalid_json":
                raise TrackingUnavailable(f"Publik GET {shown}: malformed JSON answer") from None
            raise TrackingUnavailable(f"Publik GET {shown}: {exc}") from None
        except Rejected as exc:
            raise TrackingUnavailable(f"Publik GET {shown}: HTTP {exc.status}") from None

    @staticmethod
    def _form_of(shown: str, data: Any) -> dict:
        if not isinstance(data, dict):
            raise TrackingUnavailable(f"Publik GET {shown}: malformed answer (not an object)")
        if isinstance(data.get("err"), int) and data["err"]:
            raise TrackingUnavailable(f"Publik GET {shown}: error answer")
        # Some w.c.s. versions wrap the form in {"data": {...}}.
        if "workflow" not in data and isinstance(data.get("data"), dict):
            data = data["data"]
        return data

    def _candidates(self, reference: str) -> tuple[str, list[str]]:
        """(form number, slugs to search) for a canonical reference."""
        prefix = reference_prefix(reference)
        if prefix is None:
            formdef_id, number = reference.split("-", 1)
            slug = self.formdef_map.get(formdef_id)
            return str(int(number)), [slug] if slug else list(self.forms)
        number = str(int(reference.rsplit("-", 1)[1]))
        return number, list(self.reference_map.get(prefix, []))

    @staticmethod
    def _is_same_file(reference: str, number: str, data: dict) -> bool:
        if reference_prefix(reference) is None:
            return str(data.get("display_id", "")).strip() == reference
        if str(data.get("id", "")).strip() != number:
            return False
        received = _parse_date(data.get("receipt_time"))
        if received is None:
            raise TrackingUnavailable("Publik: malformed answer (receipt_time)")
        return str(received.year) == reference.split("-")[1]

    @staticmethod
    def _holder_matches(data: dict, second_factor: str) -> bool:
        user = data.get("user") if isinstance(data.get("user"), dict) else {}
        fields = data.get("fields") if isinstance(data.get("fields"), dict) else {}
        emails = [_text(user.get("email")), _text(fields.get("email"))]
        surnames = _surnames_from_name(_text(user.get("name"))) + [_text(fields.get("nom"))]
        return second_factor_matches(second_factor, emails, surnames)

    def _to_status(self, reference: str, slug: str, data: dict) -> FileStatus:
        workflow = data.get("workflow")
        status = workflow.get("status") if isinstance(workflow, dict) else None
        if not isinstance(status, dict) or not _text(status.get("name")):
            raise TrackingUnavailable("Publik: malformed answer (workflow.status)")
        fields = data.get("fields") if isinstance(data.get("fields"), dict) else {}
        stage, decision = map_status(
            str(status.get("id", "")), status["name"], status.get("endpoint") is True, self.status_map
        )
        prefix = reference_prefix(reference)
        is_subsidy = prefix == "SUB" or (prefix is None and slug in self.subsidy_forms)
        kind = "subsidy" if is_subsidy else "request"
        last_change = _parse_date(data.get("last_update_time"))
        if last_change is None:
            evolution = data.get("evolution")
            if isinstance(evolution, list) and evolution and isinstance(evolution[-1], dict):
                last_change = _parse_date(evolution[-1].get("time"))
        last_change = last_change or _parse_date(data.get("receipt_time"))
        if last_change is None:
            raise TrackingUnavailable("Publik: malformed answer (no date)")
        amount = None
        if kind == "subsidy":
            amount = next((a for a in (_amount(fields.get(k)) for k in AMOUNT_FIELDS) if a is not None), None)
        missing = _first_text(fields, MISSING_DOCUMENT_FIELDS)
        return make_status(
            reference=reference,
            kind=kind,
            title=self._title(slug, kind, data, fields),
            stage=stage,
            last_change=last_change,
            service=self.services.get(slug),
            decision=decision,
            amount=amount,
            missing_document=missing,
        )

    def _title(self, slug: str, kind: str, data: dict, fields: dict) -> str:
        if kind == "subsidy":
            association = _first_text(fields, ASSOCIATION_FIELDS)
            if association:
                return f"Subvention — {association}"
        if slug in self.titles:
            return self.titles[slug]
        display_name = _text(data.get("display_name"))
        if display_name:
            return display_name.split(" #", 1)[0].strip()
        return slug.replace("-", " ").replace("_", " ").capitalize()

    async def lookup(self, reference: str, second_factor: str) -> FileStatus:
        canonical = normalise_reference(reference)
        if canonical is None or not isinstance(second_factor, str) or not second_factor.strip():
            raise FileNotFound()
        number, slugs = self._candidates(canonical)
        for slug in slugs:
            data = await self._get_form(slug, number)
            if data is None or not self._is_same_file(canonical, number, data):
                continue
            if self._holder_matches(data, second_factor):
                return self._to_status(canonical, slug, data)
        raise FileNotFound()
