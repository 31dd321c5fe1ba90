"""The reports content file (territory/demo/reports.yml, GRU_REPORTS_FILE): the dangers answered
with the emergency numbers first, and the categories of problems with the service that handles
them, where they are forwarded (w.c.s. form slug, service e-mail) and the words that name them.

Plain Python: `match_danger` and `match_category` read a citizen's words (accents, case and
punctuation ignored, whole words only: « tag » is not found in « étage »).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterator, List, Tuple

from pydantic import conlist, constr, validator

from core.content import (
    KEY_PATTERN,
    ContentError,
    StrippedContentModel,
    checked_email,
    content_path,
    load_content_file,
)
from core.territory import load_territory
from core.text import fold

REPORTS_LABEL = "signalements"
DEFAULT_REPORTS_FILE = Path(__file__).resolve().parent.parent / "territory" / "demo" / "reports.yml"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,80}$"


class ReportsConfigError(ContentError):
    """The reports file is missing or invalid; the message says where."""


Keyword = constr(min_length=2, max_length=60)


def _folded_keywords(values: List[str]) -> List[str]:
    return [" ".join(fold(value).split()) for value in values]


class Danger(StrippedContentModel):
    key: constr(regex=KEY_PATTERN.pattern)
    label: constr(min_length=2, max_length=40)
    keywords: conlist(Keyword, min_items=1)
    advice: constr(min_length=20, max_length=600)

    _fold = validator("keywords", allow_reuse=True)(_folded_keywords)


class Category(StrippedContentModel):
    key: constr(regex=KEY_PATTERN.pattern)
    label: constr(min_length=2, max_length=20)
    service: constr(regex=KEY_PATTERN.pattern)
    wcs_slug: constr(regex=SLUG_PATTERN)
    email: str
    keywords: conlist(Keyword, min_items=1)

    _fold = validator("keywords", allow_reuse=True)(_folded_keywords)

    @validator("email")
    def _email(cls, value: str) -> str:
        return checked_email(value)


class ReportsConfig(StrippedContentModel):
    dangers: List[Danger]
    categories: conlist(Category, min_items=1, max_items=10)

    @validator("categories")
    def _unique(cls, values: List[Category]) -> List[Category]:
        keys = [c.key for c in values]
        if len(set(keys)) != len(keys):
            raise ValueError("deux catégories ont la même clé")
        return values

    def category(self, key: str | None) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)

    def danger(self, key: str | None) -> Danger | None:
        return next((d for d in self.dangers if d.key == key), None)


def _first_position(folded_text: str, keywords: List[str]) -> int | None:
    """Where the first of these words appears in the text (whole words only), or None."""
    positions = [
        match.start()
        for keyword in keywords
        for match in [re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", folded_text)]
        if match
    ]
    return min(positions) if positions else None


MAX_MATCH_INPUT = 2000  # a longer message is cut before matching: no regular expression on megabytes


def _folded(text: str) -> str:
    return " ".join(fold((text or "")[:MAX_MATCH_INPUT].replace("\u2019", "'")).split())


def match_danger(config: ReportsConfig, text: str) -> Danger | None:
    """The first danger whose words are in the text, or None."""
    folded = _folded(text)
    return next((d for d in config.dangers if _first_position(folded, d.keywords) is not None), None)


def match_category(config: ReportsConfig, text: str) -> Category | None:
    """The category the text names first (« le banc du parc » is the bench: mobilier urbain),
    or None when it names none."""
    folded = _folded(text)
    found = [(position, index) for index, c in enumerate(config.categories)
             if (position := _first_position(folded, c.keywords)) is not None]  # fmt: skip
    return config.categories[min(found)[1]] if found else None


def _services_known(config: ReportsConfig) -> Iterator[Tuple[tuple, str]]:
    services = load_territory().services
    for index, category in enumerate(config.categories):
        if category.service not in services:
            yield (
                ("categories", index, "service"),
                f"service « {category.service} » absent du fichier du territoire",
            )


def reports_path() -> Path:
    return content_path("GRU_REPORTS_FILE", DEFAULT_REPORTS_FILE)


@lru_cache(maxsize=4)
def load_reports_config(path: Path | None = None) -> ReportsConfig:
    """Load and validate the reports file (cached per path)."""
    return load_content_file(
        path or reports_path(), ReportsConfig, REPORTS_LABEL, error=ReportsConfigError, check=_services_known
    )
