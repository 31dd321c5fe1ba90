"""Demo back office: request / subsidy files read from a YAML file.

The file (territory/demo/tracking.yml by default, GRU_TRACKING_FILE to change it) lists files with
their reference, kind, title, holder (surname + e-mail: the accepted second factors), handling service
and a dated `history` of stages -- the current stage is the last entry. It is validated when the
adapter is created, with French messages naming the faulty field.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Dict, List

import yaml
from pydantic import BaseModel, Extra, ValidationError, root_validator, validator

from tracking.connector import (
    DECISIONS,
    KINDS,
    PREFIX_KIND,
    STAGES,
    FileNotFound,
    FileStatus,
    make_status,
    normalise_reference,
    reference_prefix,
    second_factor_matches,
)

DEFAULT_TRACKING_FILE = Path(__file__).resolve().parent.parent / "territory" / "demo" / "tracking.yml"

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_FRENCH_ERRORS = {
    "value_error.missing": "champ obligatoire manquant",
    "value_error.extra": "champ inconnu (vérifiez l'orthographe)",
    "type_error.none.not_allowed": "une valeur est attendue",
    "value_error.date": "date invalide (format attendu AAAA-MM-JJ, par exemple 2026-10-05)",
    "type_error.date": "date invalide (format attendu AAAA-MM-JJ, par exemple 2026-10-05)",
    "type_error.float": "un nombre est attendu",
    "type_error.dict": "un dictionnaire (clé : valeur) est attendu",
    "type_error.list": "une liste est attendue",
    "type_error.str": "un texte est attendu",
}


class TrackingConfigError(Exception):
    """The tracking file is missing or invalid; the message says where."""


class _Model(BaseModel):
    class Config:
        extra = Extra.forbid
        anystr_strip_whitespace = True


class Holder(_Model):
    surname: str
    email: str

    @validator("surname")
    def _surname(cls, value: str) -> str:
        if not value:
            raise ValueError("le nom ne peut pas être vide")
        return value

    @validator("email")
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"adresse e-mail « {value} » invalide")
        return value


class HistoryEntry(_Model):
    date: date
    stage: str
    note: str = ""

    @validator("stage")
    def _stage(cls, value: str) -> str:
        if value not in STAGES:
            raise ValueError(f"étape « {value} » inconnue (attendu : {', '.join(STAGES)})")
        return value


class TrackedFile(_Model):
    reference: str
    kind: str
    title: str
    holder: Holder
    service: str | None = None
    history: List[HistoryEntry]
    missing_document: str | None = None
    decision: str | None = None
    amount_granted: float | None = None
    next_step: str | None = None

    @validator("reference")
    def _reference(cls, value: str) -> str:
        canonical = normalise_reference(value)
        if canonical is None:
            raise ValueError(
                f"référence « {value} » invalide (attendu DEM-AAAA-NNNN, SUB-AAAA-NNNN ou 12-3456)"
            )
        if canonical != value:
            raise ValueError(f"écrivez la référence sous sa forme officielle : « {canonical} »")
        return value

    @validator("kind")
    def _kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"type « {value} » inconnu (attendu : {', '.join(KINDS)})")
        return value

    @validator("title")
    def _title(cls, value: str) -> str:
        if not value:
            raise ValueError("le titre ne peut pas être vide")
        return value

    @validator("service")
    def _service(cls, value: str | None) -> str | None:
        if value is not None and not _KEY.match(value):
            raise ValueError(f"clé de service « {value} » invalide (minuscules, chiffres et _)")
        return value

    @validator("history")
    def _history(cls, value: List[HistoryEntry]) -> List[HistoryEntry]:
        if not value:
            raise ValueError("l'historique doit contenir au moins une étape")
        if value[0].stage != "received":
            raise ValueError("l'historique commence par l'étape « received »")
        for previous, current in zip(value, value[1:], strict=False):
            if current.date < previous.date:
                raise ValueError(
                    f"les dates doivent être dans l'ordre ({current.date} vient après {previous.date})"
                )
        return value

    @validator("decision")
    def _decision(cls, value: str | None) -> str | None:
        if value is not None and value not in DECISIONS:
            raise ValueError(f"décision « {value} » inconnue (attendu : {', '.join(DECISIONS)})")
        return value

    @validator("amount_granted")
    def _amount(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("le montant accordé doit être positif")
        return value

    @root_validator(skip_on_failure=True)
    def _coherent(cls, values: dict) -> dict:
        reference, kind = values["reference"], values["kind"]
        stage = values["history"][-1].stage
        decision, amount = values.get("decision"), values.get("amount_granted")
        prefix = reference_prefix(reference)
        problems = []
        if prefix is not None and PREFIX_KIND[prefix] != kind:
            problems.append(f"une référence {prefix}- est de type « {PREFIX_KIND[prefix]} », pas « {kind} »")
        if stage == "waiting_document" and not values.get("missing_document"):
            problems.append("missing_document : indiquez le document manquant (étape waiting_document)")
        if stage != "waiting_document" and values.get("missing_document"):
            problems.append("missing_document : seulement quand l'étape actuelle est waiting_document")
        if stage == "decided" and decision is None:
            problems.append("decision : obligatoire quand l'étape actuelle est decided")
        if stage not in ("decided", "closed") and decision is not None:
            problems.append("decision : seulement quand l'étape actuelle est decided ou closed")
        if amount is not None and (kind != "subsidy" or decision != "accepted"):
            problems.append("amount_granted : seulement pour une subvention acceptée")
        if kind == "subsidy" and decision == "accepted" and amount is None:
            problems.append("amount_granted : indiquez le montant accordé")
        if problems:
            raise ValueError(f"dossier {reference} : " + " ; ".join(problems))
        return values


class TrackingFile(_Model):
    files: List[TrackedFile]

    @validator("files")
    def _unique(cls, value: List[TrackedFile]) -> List[TrackedFile]:
        seen = set()
        for item in value:
            if item.reference in seen:
                raise ValueError(f"la référence {item.reference} apparaît deux fois")
            seen.add(item.reference)
        return value


class _Loader(yaml.SafeLoader):
    """Keeps dates as text so that pydantic reports a wrong one with its field."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _format_error(exc: ValidationError, source: object) -> str:
    lines = [f"Fichier de suivi des dossiers invalide : {source}"]
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"] if part != "__root__")
        message = _FRENCH_ERRORS.get(error["type"], error["msg"])
        lines.append(f"  - {where} : {message}" if where else f"  - {message}")
    return "\n".join(lines)


def parse_tracking_file(raw: object, source: object = "(dictionnaire)") -> TrackingFile:
    if not isinstance(raw, dict):
        raise TrackingConfigError(f"Fichier de suivi des dossiers vide ou mal formé : {source}")
    try:
        return TrackingFile.parse_obj(raw)
    except ValidationError as exc:
        raise TrackingConfigError(_format_error(exc, source)) from exc


def load_tracking_file(path: Path | str | None = None) -> TrackingFile:
    path = Path(path or os.environ.get("GRU_TRACKING_FILE") or DEFAULT_TRACKING_FILE)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # a SafeLoader
    except FileNotFoundError as exc:
        raise TrackingConfigError(f"Fichier de suivi des dossiers introuvable : {path}") from exc
    except yaml.YAMLError as exc:
        raise TrackingConfigError(f"Fichier de suivi des dossiers illisible (YAML) : {path}\n{exc}") from exc
    return parse_tracking_file(raw, path)


def to_status(item: TrackedFile) -> FileStatus:
    current = item.history[-1]
    return make_status(
        reference=item.reference,
        kind=item.kind,
        title=item.title,
        stage=current.stage,
        last_change=current.date,
        service=item.service,
        decision=item.decision,
        amount=item.amount_granted,
        missing_document=item.missing_document,
        next_step_fr=item.next_step,
    )


class LocalTrackingAdapter:
    """TrackingConnector over the demo YAML file (loaded and validated once, at creation)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path or os.environ.get("GRU_TRACKING_FILE") or DEFAULT_TRACKING_FILE)
        self._files: Dict[str, TrackedFile] = {f.reference: f for f in load_tracking_file(self.path).files}

    @property
    def references(self) -> List[str]:
        return list(self._files)

    async def lookup(self, reference: str, second_factor: str) -> FileStatus:
        canonical = normalise_reference(reference)
        item = self._files.get(canonical) if canonical else None
        if item is None or not second_factor_matches(
            second_factor, [item.holder.email], [item.holder.surname]
        ):
            raise FileNotFound()
        return to_status(item)

    async def close(self) -> None:
        """Nothing to release (same interface as the HTTP adapters)."""
