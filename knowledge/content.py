"""The knowledge base's content files: entries (territory/demo/knowledge/*.yml) and the
citizens' phrasings that train the retrieval (territory/demo/knowledge/phrases/*.yml, Rasa NLU YAML).

An entry is what the content team writes for one question: the answer (plain French,
600 characters at most so that it fits a Messenger bubble), the service of the territory
file that handles it, where the démarche is done, the official page and the date it was
last checked. Every file of the folder is read and checked like the other content files
(core/content.py: French messages naming the file, the field and the line); a key used
twice, a service missing from the territory file or a phrasing block for an unknown key
stops the start with the same kind of report.

    base = load_knowledge_base()            # GRU_KNOWLEDGE_DIR, else territory/demo/knowledge
    base.entry("autre_casier_judiciaire").title
    base.phrasings["elections_inscription"]  # from knowledge/phrases/*.yml (GRU_KNOWLEDGE_PHRASINGS_DIR)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

from pydantic import root_validator, validator

from core.content import (
    KEY_PATTERN,
    ContentError,
    Problem,
    StrippedContentModel,
    _error,
    content_path,
    parse_content,
    read_content_file,
    yaml_line,
)
from core.territory import load_territory

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KNOWLEDGE_DIR = ROOT / "territory" / "demo" / "knowledge"
DEFAULT_PHRASINGS_DIR = ROOT / "territory" / "demo" / "knowledge" / "phrases"
KNOWLEDGE_LABEL = "base de connaissances"
PHRASINGS_LABEL = "phrases d'entraînement de la base de connaissances"

MAX_ANSWER_CHARS = 600  # one Messenger text bubble is 2,000; the whole answer stays readable
RETRIEVAL_INTENT = "faq"
_FAQ_INTENT = re.compile(r"^faq/([a-z][a-z0-9_]*)$")


class KnowledgeError(ContentError):
    """A knowledge file is missing, unreadable or invalid (French message: file, field, line)."""


class Where(str, Enum):
    mairie = "mairie"  # at the town hall (or one of the commune's services)
    en_ligne = "en_ligne"  # online, the commune's service helps
    autre_administration = "autre_administration"  # another administration does it


class Entry(StrippedContentModel):
    key: str
    title: str
    answer: str
    service: str | None
    where: Where
    administration: str | None = None
    official_url: str
    verified: date

    @validator("key")
    def _key(cls, value: str) -> str:
        if not KEY_PATTERN.match(value):
            raise ValueError(f"clé « {value} » invalide (minuscules, chiffres et _, d'abord une lettre)")
        return value

    @validator("title")
    def _title(cls, value: str) -> str:
        if not value:
            raise ValueError("le titre est vide")
        if len(value) > 80:
            raise ValueError(f"titre trop long ({len(value)} caractères, 80 au maximum : il sert de bouton)")
        return value

    @validator("answer")
    def _answer(cls, value: str) -> str:
        if not value:
            raise ValueError("la réponse est vide")
        if len(value) > MAX_ANSWER_CHARS:
            raise ValueError(
                f"réponse trop longue ({len(value)} caractères, {MAX_ANSWER_CHARS} au maximum "
                "pour tenir dans un message Messenger)"
            )
        return value

    @validator("official_url")
    def _url(cls, value: str) -> str:
        if not re.match(r"^https://[^\s/]+\.[^\s/]+(/\S*)?$", value):
            raise ValueError(f"adresse « {value} » invalide (une page web commençant par https://)")
        return value

    @root_validator(skip_on_failure=True)
    def _who(cls, values: dict) -> dict:
        where = values["where"]
        if where is Where.autre_administration and not values.get("administration"):
            raise ValueError(
                "administration : champ obligatoire pour une démarche d'une autre administration "
                "(par exemple « Caisse d'allocations familiales (CAF) »)"
            )
        if where is Where.mairie and not values.get("service"):
            raise ValueError("service : champ obligatoire pour une démarche faite en mairie")
        return values


class KnowledgeFile(StrippedContentModel):
    entries: List[Entry]

    @validator("entries")
    def _not_empty(cls, value: List[Entry]) -> List[Entry]:
        if not value:
            raise ValueError("la liste des entrées (entries) est vide")
        return value


@dataclass
class KnowledgeBase:
    """Every entry of the folder by key, the file each comes from, and the phrasings."""

    entries: Dict[str, Entry]
    files: Dict[str, Path] = field(default_factory=dict)
    phrasings: Dict[str, List[str]] = field(default_factory=dict)

    def entry(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def __len__(self) -> int:
        return len(self.entries)


# ---- checks across the files ---------------------------------------------------------------------


def _services_check(known: Iterable[str]):
    known = set(known)

    def check(model: KnowledgeFile) -> Iterable[Tuple[tuple, str]]:
        for index, entry in enumerate(model.entries):
            if entry.service is not None and entry.service not in known:
                yield (
                    ("entries", index, "service"),
                    f"service « {entry.service} » inconnu du fichier du territoire "
                    f"(services définis : {', '.join(sorted(known))})",
                )

    return check


def _knowledge_files(folder: Path, label: str) -> List[Path]:
    if not folder.is_dir():
        raise _error(KnowledgeError, "Dossier introuvable", folder, label)
    files = sorted(folder.glob("*.yml"))
    if not files:
        raise _error(KnowledgeError, "Dossier vide", folder, label, end=" : aucun fichier .yml")
    return files


def _read_entries(folder: Path) -> Tuple[Dict[str, Entry], Dict[str, Path]]:
    check = _services_check(load_territory().services)
    entries: Dict[str, Entry] = {}
    files: Dict[str, Path] = {}
    for path in _knowledge_files(folder, KNOWLEDGE_LABEL):
        raw, node = read_content_file(path, KNOWLEDGE_LABEL, error=KnowledgeError)
        model = parse_content(
            raw, KnowledgeFile, KNOWLEDGE_LABEL, path, node=node, error=KnowledgeError, check=check
        )
        problems = []
        for index, entry in enumerate(model.entries):
            if entry.key in entries:
                first = files[entry.key].name
                line = yaml_line(node, ("entries", index, "key"))
                problems.append(
                    Problem(f"entries.{index}.key", line, f"clé « {entry.key} » déjà utilisée dans {first}")
                )
                continue
            entries[entry.key] = entry
            files[entry.key] = path
        if problems:
            raise _error(KnowledgeError, "Fichier invalide", path, KNOWLEDGE_LABEL, problems)
    return entries, files


def _examples(text: object) -> List[str]:
    """The phrasings of a Rasa `examples: |` block (« - … » lines)."""
    if not isinstance(text, str):
        return []
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("- "):
            found.append(line[2:].strip())
    return [example for example in found if example]


def read_phrasings(folder: Path, known: Iterable[str]) -> Dict[str, List[str]]:
    """faq/<key> examples of every Rasa NLU file of `folder`; a key that is no entry is an error
    (its phrasings would train the retrieval towards an answer that does not exist)."""
    known = set(known)
    phrasings: Dict[str, List[str]] = {}
    if not folder.is_dir():  # no phrasings yet: the ranker learns from titles and answers
        return phrasings
    for path in sorted(folder.glob("*.yml")):
        raw, node = read_content_file(path, PHRASINGS_LABEL, error=KnowledgeError)
        blocks = raw.get("nlu") if isinstance(raw, dict) else None
        if not isinstance(blocks, list):
            end = " : une liste « nlu: » de blocs « - intent: faq/<clé> » est attendue"
            raise _error(KnowledgeError, "Fichier mal formé", path, PHRASINGS_LABEL, end=end)
        problems = []
        for index, block in enumerate(blocks):
            intent = block.get("intent") if isinstance(block, dict) else None
            if intent is None:
                continue  # synonyms, lookups, regexes: Rasa's business
            match = _FAQ_INTENT.match(str(intent))
            line = yaml_line(node, ("nlu", index, "intent"))
            if not match:
                problems.append(Problem(f"nlu.{index}.intent", line, f"« {intent} » : faq/<clé> attendu"))
            elif match[1] not in known:
                problems.append(
                    Problem(
                        f"nlu.{index}.intent",
                        line,
                        f"« {intent} » : aucune entrée « {match[1]} » dans la base de connaissances",
                    )
                )
            else:
                phrasings.setdefault(match[1], []).extend(_examples(block.get("examples")))
        if problems:
            raise _error(KnowledgeError, "Fichier invalide", path, PHRASINGS_LABEL, problems)
    return phrasings


# ---- loading -------------------------------------------------------------------------------------


def knowledge_dir() -> Path:
    return content_path("GRU_KNOWLEDGE_DIR", DEFAULT_KNOWLEDGE_DIR)


def phrasings_dir() -> Path:
    return content_path("GRU_KNOWLEDGE_PHRASINGS_DIR", DEFAULT_PHRASINGS_DIR)


@lru_cache(maxsize=4)
def _load(folder: Path, phrasings_folder: Path) -> KnowledgeBase:
    entries, files = _read_entries(folder)
    return KnowledgeBase(entries, files, read_phrasings(phrasings_folder, entries))


def load_knowledge_base(folder: Path | None = None, phrasings_folder: Path | None = None) -> KnowledgeBase:
    """Read and check every entry file of the folder and the phrasings (cached per folders)."""
    return _load(Path(folder or knowledge_dir()), Path(phrasings_folder or phrasings_dir()))
