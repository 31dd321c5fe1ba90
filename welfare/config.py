"""Welfare configuration: the offices where aids are asked for, the aids' texts, the emergency lines.

A YAML file that content teams edit (territory/demo/welfare.yml by default, GRU_WELFARE_FILE
to change it), validated once at start with French messages naming the faulty field. The
CCAS may be `from_territory`: the `ccas` service of the territory file is then used, so that
its address and hours are written once. The eligibility rules live in `welfare.eligibility`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple, Union

from pydantic import validator

from core.content import NOT_A_FILE, ContentModel, content_path, load_content_file, parse_content
from core.territory import Service, Territory, TerritoryConfigError, load_territory

DEFAULT_WELFARE_FILE = Path(__file__).resolve().parent.parent / "territory" / "demo" / "welfare.yml"

# The aid keys are a contract with welfare.eligibility (and the assistant's `aid` values).
AIDS = ("apa", "aah", "pch", "pmi", "rsa", "ccas")
OFFICES = ("mdph", "autonomie", "pmi", "caf", "france_travail", "ccas")
FROM_TERRITORY = "from_territory"

_NUMBER = re.compile(r"^\d{2,6}$")
_URL = re.compile(r"^https://[^\s/]+\.[^\s]+$")


class WelfareConfigError(TerritoryConfigError):
    """The welfare file is missing or invalid; the message says where."""


def _text(value: str, field: str) -> str:
    value = " ".join(str(value).split())
    if not value:
        raise ValueError(f"« {field} » ne doit pas être vide")
    return value


class Offices(ContentModel):
    mdph: Service
    autonomie: Service
    pmi: List[Service]
    caf: Service
    france_travail: Service
    ccas: Union[Service, str]

    @validator("pmi", pre=True)
    def _pmi(cls, value: object) -> object:
        if not isinstance(value, list) or not value:
            raise ValueError("« pmi » doit être une liste d'au moins un centre de PMI")
        return value

    @validator("ccas", pre=True)
    def _ccas(cls, value: object) -> object:
        if isinstance(value, str):
            if value != FROM_TERRITORY:
                raise ValueError(
                    f"« ccas » : « {value} » invalide (écrivez {FROM_TERRITORY} ou décrivez le service)"
                )
            return value
        if isinstance(value, dict):
            return Service.parse_obj(value)  # nested errors keep their field (offices.ccas.phone)
        raise ValueError(f"« ccas » doit valoir {FROM_TERRITORY} ou décrire un service")


class Aid(ContentModel):
    name: str
    summary: str
    prepare: List[str]
    office: str
    link: str

    @validator("name", "summary")
    def _texts(cls, value: str, field: Any) -> str:
        return _text(value, field.name)

    @validator("prepare")
    def _prepare(cls, value: List[str]) -> List[str]:
        items = [" ".join(str(v).split()) for v in value]
        if not items or not all(items):
            raise ValueError("« prepare » doit lister au moins un document, sans ligne vide")
        return items

    @validator("office")
    def _office(cls, value: str) -> str:
        if value not in OFFICES:
            raise ValueError(f"« office » : « {value} » inconnu (attendu : {', '.join(OFFICES)})")
        return value

    @validator("link")
    def _link(cls, value: str) -> str:
        if not _URL.match(value):
            raise ValueError(f"« link » : « {value} » n'est pas une adresse https:// valide")
        return value


class EmergencyLine(ContentModel):
    number: str
    name: str
    when: str
    keywords: List[str]

    @validator("number", pre=True)
    def _number(cls, value: object) -> str:
        text = str(value).replace(" ", "")
        if not _NUMBER.match(text):
            raise ValueError(f"« number » : « {value} » invalide (2 à 6 chiffres, par exemple 3919)")
        return text

    @validator("name", "when")
    def _texts(cls, value: str, field: Any) -> str:
        return _text(value, field.name)

    @validator("keywords")
    def _keywords(cls, value: List[str]) -> List[str]:
        words = [" ".join(str(v).split()) for v in value]
        if not words or not all(w.strip("*") for w in words):
            raise ValueError("« keywords » doit lister au moins un mot-clé, sans mot-clé vide")
        return words

    def __hash__(self) -> int:
        return hash(self.number)


class WelfareConfig(ContentModel):
    department: str
    simulator: str = "https://www.mesdroitssociaux.gouv.fr"
    offices: Offices
    aids: Dict[str, Aid]
    emergency: List[EmergencyLine]

    @validator("simulator")
    def _simulator(cls, value: str) -> str:
        if not _URL.match(value):
            raise ValueError(f"« simulator » : « {value} » n'est pas une adresse https:// valide")
        return value

    @validator("aids")
    def _aids(cls, value: Dict[str, Aid]) -> Dict[str, Aid]:
        unknown = [key for key in value if key not in AIDS]
        if unknown:
            raise ValueError(f"aide « {unknown[0]} » inconnue (attendu : {', '.join(AIDS)})")
        missing = [key for key in AIDS if key not in value]
        if missing:
            raise ValueError(f"aide « {missing[0]} » manquante (les aides {', '.join(AIDS)} sont requises)")
        if value["pmi"].office != "pmi":
            raise ValueError("pmi.office doit valoir pmi (la liste des centres de PMI)")
        return value

    @validator("emergency")
    def _emergency(cls, value: List[EmergencyLine]) -> List[EmergencyLine]:
        if not value:
            raise ValueError("« emergency » doit lister au moins un numéro d'urgence")
        numbers = [line.number for line in value]
        if len(set(numbers)) != len(numbers):
            raise ValueError("« emergency » : un numéro apparaît deux fois")
        return value

    # ---- queries -----------------------------------------------------------------

    def offices_for(self, aid: str) -> List[Service]:
        """The office(s) where the aid is asked for (several for the PMI centres)."""
        value = getattr(self.offices, self.aids[aid].office)
        return list(value) if isinstance(value, list) else [value]

    @property
    def ccas(self) -> Service:
        return self.offices.ccas  # resolved at load: never the from_territory marker


WELFARE_LABEL = "aides sociales"


def _ccas_from(territory: Territory | None) -> Callable[[WelfareConfig], Iterator[Tuple[tuple, str]]]:
    """A check that puts the territory's `ccas` service (default: the configured territory file)
    in place of `ccas: from_territory`, or reports that the territory has none."""

    def check(config: WelfareConfig) -> Iterator[Tuple[tuple, str]]:
        if config.offices.ccas != FROM_TERRITORY:
            return
        services = (territory or load_territory()).services
        if "ccas" in services:
            config.offices.ccas = services["ccas"]
        else:
            yield ("offices", "ccas"), f"{FROM_TERRITORY}, mais le territoire n'a pas de service « ccas »"

    return check


def parse_welfare_config(
    raw: object, source: object = NOT_A_FILE, territory: Territory | None = None
) -> WelfareConfig:
    """Validate an already-read mapping; `ccas: from_territory` takes `territory`'s ccas service
    (default: the configured territory file)."""
    return parse_content(
        raw, WelfareConfig, WELFARE_LABEL, source, error=WelfareConfigError, check=_ccas_from(territory)
    )


def welfare_path() -> Path:
    return content_path("GRU_WELFARE_FILE", DEFAULT_WELFARE_FILE)


@lru_cache(maxsize=4)
def load_welfare_config(path: Path | None = None) -> WelfareConfig:
    """Load and validate the welfare file (cached per path)."""
    return load_content_file(
        path or welfare_path(), WelfareConfig, WELFARE_LABEL, error=WelfareConfigError, check=_ccas_from(None)
    )
