"""Demo back office: request / subsidy files read from a YAML file.

The file (territory/demo/tracking.yml by default, GRU_TRACKING_FILE to change it) lists files with
their reference, kind, title, holder (surname + e-mail: the accepted second factors), handling service
and a dated `history` of stages -- the current stage is the last entry. It is validated when the
adapter is created, with French messages naming the faulty field.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Dict, List

from pydantic import root_validator, validator

from core.content import (
    KEY_PATTERN,
    NOT_A_FILE,
    ContentError,
    StrippedContentModel,
    checked_email,
    content_path,
    load_content_file,
    parse_content,
)
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


class TrackingConfigError(ContentError):
    """The tracking file is missing or invalid; the message says where."""


class Holder(StrippedContentModel):
    surname: str
    email: str

    @validator("surname")
    def _surname(cls, value: str) -> str:
        if not value:
            raise ValueError("le nom ne peut pas être vide")
        return value

    @validator("email")
    def _email(cls, value: str) -> str:
        return checked_email(value)


class HistoryEntry(StrippedContentModel):
    date: date
    stage: str
    note: str = ""

    @validator("stage")
    def _stage(cls, value: str) -> str:
        if value not in STAGES:
            raise ValueError(f"étape « {value} » inconnue (attendu : {', '.join(STAGES)})")
        return value


class TrackedFile(StrippedContentModel):
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
        if value is not None and not KEY_PATTERN.match(value):
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


class TrackingFile(StrippedContentModel):
    files: List[TrackedFile]

    @validator("files")
    def _unique(cls, value: List[TrackedFile]) -> List[TrackedFile]:
        seen = set()
        for item in value:
            if item.reference in seen:
                raise ValueError(f"la référence {item.reference} apparaît deux fois")
            seen.add(item.reference)
        return value


TRACKING_LABEL = "suivi des dossiers (démonstration)"


def tracking_path() -> Path:
    return content_path("GRU_TRACKING_FILE", DEFAULT_TRACKING_FILE)


def parse_tracking_file(raw: object, source: object = NOT_A_FILE) -> TrackingFile:
    return parse_content(raw, TrackingFile, TRACKING_LABEL, source, error=TrackingConfigError)


def load_tracking_file(path: Path | str | None = None) -> TrackingFile:
    return load_content_file(path or tracking_path(), TrackingFile, TRACKING_LABEL, error=TrackingConfigError)


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
        self.path = Path(path or tracking_path())
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
