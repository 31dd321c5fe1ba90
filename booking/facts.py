"""National facts about identity documents (fees, pieces, delays, official pages), read
from one content file, territory/national_facts.yml, so that no amount is written twice.

Each fact has its value (as a citizen reads it: « 86 € », « 6 mois ») and the official page
it comes from; the file states when it was last checked (`verified_on`). The chat answers
receive the values as response variables ({passport_adult_fee}, …).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Dict

from pydantic import BaseModel, Extra, root_validator, validator

from core.content import content_path, load_content_file

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


NATIONAL_FACTS_LABEL = "faits nationaux (tarifs, délais, pages officielles)"


def facts_path() -> Path:
    return content_path("GRU_NATIONAL_FACTS_FILE", DEFAULT_FACTS_FILE)


@lru_cache(maxsize=4)
def load_national_facts(path: Path | None = None) -> NationalFacts:
    """The national facts (cached per path; GRU_NATIONAL_FACTS_FILE names another file)."""
    return load_content_file(path or facts_path(), NationalFacts, NATIONAL_FACTS_LABEL)
