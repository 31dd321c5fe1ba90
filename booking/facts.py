"""National facts about identity documents (fees, pieces, delays, official pages), read
from one content file, territory/national_facts.yml, so that no amount is written twice.

Each fact has its value (as a citizen reads it: « 86 € », « 6 mois ») and the official page
it comes from; the file states when it was last checked (`verified_on`). The chat answers
receive the values as response variables ({passport_adult_fee}, …).
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Dict, Type, TypeVar

import yaml
from pydantic import BaseModel, Extra, ValidationError, root_validator, validator

from core.territory import TerritoryConfigError

DEFAULT_FACTS_FILE = Path(__file__).resolve().parent.parent / "territory" / "national_facts.yml"

# The facts the answers use: a file without one of them is refused at start-up.
REQUIRED = (
    "passport_adult_fee",
    "passport_teen_fee",
    "passport_child_fee",
    "cni_replacement_fee",
    "photo_max_age",
    "address_proof_max_age",
    "minutes_per_document",
    "pickup_delay",
    "fingerprints_age",
    "cni_validity",
    "passport_adult_validity",
    "passport_minor_validity",
    "link_cni",
    "link_passport",
    "link_ants",
    "link_stamps",
)


class Fact(BaseModel):
    value: str
    source: str  # the official page the value comes from

    class Config:
        extra = Extra.forbid

    @validator("value", "source")
    def not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("ne doit pas être vide")
        return text.strip()

    @validator("source")
    def official_page(cls, url: str) -> str:
        if not url.startswith("https://"):
            raise ValueError("la source doit être une page https:// officielle")
        return url


class NationalFacts(BaseModel):
    verified_on: date  # « vérifié le »
    facts: Dict[str, Fact]

    class Config:
        extra = Extra.forbid

    @root_validator(skip_on_failure=True)
    def all_required(cls, values):
        missing = [name for name in REQUIRED if name not in values["facts"]]
        if missing:
            raise ValueError("faits manquants : " + ", ".join(missing))
        return values

    def values(self) -> Dict[str, str]:
        """{name: value}: the variables of the responses."""
        return {name: fact.value for name, fact in self.facts.items()}


Model = TypeVar("Model", bound=BaseModel)


def _read(path: Path, model: Type[Model], label: str) -> Model:
    """One YAML content file through its model; a French error naming the file otherwise."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TerritoryConfigError(f"Fichier {label} introuvable : {path}") from exc
    except yaml.YAMLError as exc:
        raise TerritoryConfigError(f"Fichier {label} illisible (YAML) : {path}\n{exc}") from exc
    if not isinstance(raw, dict):
        raise TerritoryConfigError(f"Fichier {label} invalide : {path} (un dictionnaire est attendu)")
    try:
        return model.parse_obj(raw)
    except ValidationError as exc:
        lines = [f"Fichier {label} invalide : {path}"]
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"] if part != "__root__") or "(racine)"
            lines.append(f"  - {where} : {error['msg']}")
        raise TerritoryConfigError("\n".join(lines)) from exc


def facts_path() -> Path:
    return Path(os.environ.get("GRU_NATIONAL_FACTS_FILE") or DEFAULT_FACTS_FILE)


@lru_cache(maxsize=4)
def load_national_facts(path: Path | None = None) -> NationalFacts:
    """The national facts (cached per path; GRU_NATIONAL_FACTS_FILE names another file)."""
    return _read(Path(path) if path else facts_path(), NationalFacts, "des faits nationaux")
