"""Content files: the YAML files content teams edit, read and validated with French messages.

Every content file (territory, booking sites, waste collection, recycling centres, sorting
guide, welfare, tracking demo) goes through `load_content_file`, so that a mistake is always
reported the same way, in French, with the file, the field and the line:

    Fichier invalide : territory/demo/territory.yml (territoire)
      - services.accueil.phone (ligne 14) : champ obligatoire manquant

A field is a dotted path (list items by their index, from 0); its line is the line of its key
or list item, or, for a missing key, the line of the block that should hold it. Messages of
the models' own validators (French already) are kept as they are; pydantic's English messages
are replaced through one table (`PYDANTIC_FR`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Sequence, Tuple, Type, TypeVar, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Extra, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)
Loc = Tuple[Union[str, int], ...]
# Checks run on a validated model, for rules that need the whole file: (field path, message).
Check = Callable[[ModelT], Iterable[Tuple[Loc, str]]]

NOT_A_FILE = "(dictionnaire)"  # the source named when a mapping is validated without a file


@dataclass(frozen=True)
class Problem:
    """One mistake: where (dotted path, "" for the whole file), its line when known, what."""

    where: str
    line: int | None
    message: str

    def __str__(self) -> str:
        if not self.where:
            return self.message
        at = f" (ligne {self.line})" if self.line else ""
        return f"{self.where}{at} : {self.message}"


class ContentError(Exception):
    """A content file is missing, unreadable or invalid; the French message says where."""

    def __init__(
        self,
        message: str,
        *,
        path: object = None,
        label: str | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        super().__init__(message)
        self.path = path
        self.label = label
        self.problems = list(problems)


# ---- pydantic's errors in French -------------------------------------------------------------

_DATE = "date invalide (format attendu AAAA-MM-JJ, par exemple 2026-12-25)"
_TEXT = "un texte est attendu"
_LIST = "une liste est attendue"
_DICT = "un dictionnaire (clé : valeur) est attendu"
_NUMBER = "un nombre est attendu (par exemple 12 ou 12.5)"
_BOOL = "true ou false est attendu"
_NOT_ALLOWED = "valeur non autorisée"
_EMPTY_ONLY = "ce champ doit rester vide"
_TOO_MANY = "trop d'éléments ({limit_value} au maximum)"
_TOO_FEW = "pas assez d'éléments (au moins {limit_value})"
_NO_DUPLICATE = "une liste sans doublon est attendue"
_CARD = "numéro de carte bancaire invalide"

# Every error type of pydantic 1.10 (pydantic/errors.py); {names} come from the error's ctx.
PYDANTIC_FR: Dict[str, str] = {
    "value_error.missing": "champ obligatoire manquant",
    "value_error.extra": "champ inconnu (faute de frappe ?)",
    # types
    "type_error.none.not_allowed": "une valeur est attendue (le champ est vide)",
    "type_error.none.allowed": _EMPTY_ONLY,
    "type_error.not_none": _EMPTY_ONLY,
    "type_error.str": _TEXT,
    "type_error.bytes": _TEXT,
    "type_error.integer": "un nombre entier est attendu",
    "type_error.float": _NUMBER,
    "type_error.decimal": _NUMBER,
    "type_error.bool": _BOOL,
    "value_error.strictbool": _BOOL,
    "type_error.list": _LIST,
    "type_error.tuple": _LIST,
    "type_error.set": _NO_DUPLICATE,
    "type_error.frozenset": _NO_DUPLICATE,
    "type_error.deque": _LIST,
    "type_error.sequence": _LIST,
    "type_error.iterable": _LIST,
    "type_error.dict": _DICT,
    "type_error.dataclass": _DICT,
    "type_error.hashable": "un texte ou un nombre est attendu",
    "type_error.arbitrary_type": "valeur d'un type inattendu",
    "type_error.subclass": "valeur d'un type inattendu",
    "type_error.class": "valeur d'un type inattendu",
    "type_error.callable": "valeur d'un type inattendu",
    "type_error.pyobject": "chemin d'import Python invalide",
    "type_error.json": "un texte JSON est attendu",
    "type_error.path": "un chemin de fichier est attendu",
    "type_error.uuid": "identifiant UUID invalide",
    "type_error.enum": "valeur non autorisée (valeurs possibles : {enum_values})",
    "type_error.enum_instance": _NOT_ALLOWED,
    "type_error.int_enum_instance": _NOT_ALLOWED,
    "value_error.const": "valeur « {given} » non autorisée (valeurs possibles : {permitted})",
    # numbers
    "value_error.number.not_gt": "le nombre doit être strictement supérieur à {limit_value}",
    "value_error.number.not_ge": "le nombre doit être supérieur ou égal à {limit_value}",
    "value_error.number.not_lt": "le nombre doit être strictement inférieur à {limit_value}",
    "value_error.number.not_le": "le nombre doit être inférieur ou égal à {limit_value}",
    "value_error.number.not_multiple": "le nombre doit être un multiple de {multiple_of}",
    "value_error.number.not_finite_number": "un nombre fini est attendu",
    "value_error.decimal.not_finite": "un nombre fini est attendu",
    "value_error.decimal.max_digits": "nombre trop long ({max_digits} chiffres au maximum)",
    "value_error.decimal.max_places": "trop de décimales ({decimal_places} au maximum)",
    "value_error.decimal.whole_digits": "trop de chiffres avant la virgule ({whole_digits} au maximum)",
    # texts and lists
    "value_error.any_str.min_length": "texte trop court ({limit_value} caractère(s) au minimum)",
    "value_error.any_str.max_length": "texte trop long ({limit_value} caractères au maximum)",
    "value_error.str.regex": "format invalide (modèle attendu : {pattern})",
    "value_error.regex_pattern": "expression régulière invalide",
    "value_error.list.min_items": _TOO_FEW,
    "value_error.list.max_items": _TOO_MANY,
    "value_error.list.unique_items": "la liste contient des doublons",
    "value_error.set.min_items": _TOO_FEW,
    "value_error.set.max_items": _TOO_MANY,
    "value_error.frozenset.min_items": _TOO_FEW,
    "value_error.frozenset.max_items": _TOO_MANY,
    "value_error.tuple.length": "{actual_length} élément(s) au lieu de {expected_length}",
    "value_error.discriminated_union.missing_discriminator": "le champ « {discriminator_key} » manque",
    "value_error.discriminated_union.invalid_discriminator": (
        "« {discriminator_key} » : valeur « {discriminator_value} » inconnue "
        "(valeurs possibles : {allowed_values})"
    ),
    # dates and times
    "value_error.date": _DATE,
    "type_error.date": _DATE,
    "value_error.date.not_in_the_past": "la date doit être passée",
    "value_error.date.not_in_the_future": "la date doit être à venir",
    "value_error.datetime": (
        "date et heure invalides (format attendu AAAA-MM-JJTHH:MM, par exemple 2026-12-25T08:30)"
    ),
    "value_error.time": "heure invalide (format attendu HH:MM, par exemple 08:30)",
    "value_error.duration": "durée invalide (format attendu HH:MM:SS ou un nombre de secondes)",
    # addresses, identifiers, files
    "value_error.email": "adresse e-mail invalide",
    "value_error.url": "adresse web invalide",
    "value_error.url.scheme": "adresse web invalide : elle doit commencer par https://",
    "value_error.url.host": "adresse web invalide : nom de domaine incorrect (par exemple https://www.exemple.fr)",
    "value_error.url.port": "adresse web invalide : le port ne peut pas dépasser 65535",
    "value_error.url.userinfo": "adresse web invalide : identifiant manquant (utilisateur@…)",
    "value_error.url.extra": "adresse web invalide : caractères en trop après l'adresse ({extra})",
    "value_error.color": "couleur invalide (par exemple #1f6feb)",
    "value_error.json": "texte JSON invalide",
    "value_error.uuid.version": "identifiant UUID de version {required_version} attendu",
    "value_error.ipv4address": "adresse IPv4 invalide",
    "value_error.ipv4interface": "interface IPv4 invalide",
    "value_error.ipv4network": "réseau IPv4 invalide",
    "value_error.ipv6address": "adresse IPv6 invalide",
    "value_error.ipv6interface": "interface IPv6 invalide",
    "value_error.ipv6network": "réseau IPv6 invalide",
    "value_error.ipvanyaddress": "adresse IP invalide",
    "value_error.ipvanyinterface": "interface IP invalide",
    "value_error.ipvanynetwork": "réseau IP invalide",
    "value_error.path.not_exists": "le chemin « {path} » n'existe pas",
    "value_error.path.not_a_file": "« {path} » n'est pas un fichier",
    "value_error.path.not_a_directory": "« {path} » n'est pas un dossier",
    "value_error.invalidbytesize": "taille invalide (par exemple 10MB)",
    "value_error.invalidbytesizeunit": "unité de taille « {unit} » inconnue",
    "value_error.payment_card_number.digits": _CARD,
    "value_error.payment_card_number.luhn_check": _CARD,
    "value_error.payment_card_number.invalid_length_for_brand": _CARD,
}
# Our validators raise ValueError / TypeError / assert with French text: kept as is.
_OWN_MESSAGES = ("value_error", "type_error", "assertion_error")
FALLBACK_FR = "valeur invalide pour ce champ"


def _show(value: object) -> str:
    """A ctx value for a French sentence: « a », « b » for several, 0,5 for a float."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(f"« {_show(v)} »" for v in value)
    if isinstance(value, Enum):
        return _show(value.value)
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


class _Context(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def french_message(error: dict) -> str:
    """The French text of one pydantic error (an item of ValidationError.errors())."""
    kind = error.get("type", "")
    if kind in _OWN_MESSAGES:
        return str(error.get("msg") or FALLBACK_FR)
    ctx = dict(error.get("ctx") or {})
    if kind == "value_error.url.scheme" and "allowed_schemes" in ctx:
        return f"adresse web invalide : elle doit commencer par {_show(sorted(ctx['allowed_schemes']))}"
    if kind == "value_error.url.host" and "tld" in str(error.get("msg", "")).lower():
        return "adresse web invalide : le nom de domaine doit finir par une extension (.fr, .com…)"
    template = PYDANTIC_FR.get(kind)
    if template is None:
        return FALLBACK_FR
    return template.format_map(_Context({key: _show(value) for key, value in ctx.items()}))


# ---- YAML lines --------------------------------------------------------------------------------


def _child(node: yaml.Node, part: object) -> Tuple[yaml.Node | None, yaml.Node] | None:
    """(key node, value node) of `part` in a mapping, (None, item) in a sequence."""
    if isinstance(node, yaml.MappingNode):
        for key, value in reversed(node.value):  # the last of duplicate keys wins, as when loading
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
    if isinstance(node, yaml.SequenceNode):
        try:
            index = int(str(part))
        except ValueError:
            return None
        if 0 <= index < len(node.value):
            return None, node.value[index]
    return None


def yaml_line(node: yaml.Node | None, loc: Iterable[object], exact: bool = False) -> int | None:
    """The line (from 1) of the key or list item at `loc`; when `loc` is not in the file (a
    missing key), the line of its nearest parent; None for the file itself. `exact`: None
    unless the whole `loc` is in the file."""
    line = None
    for part in loc:
        found = _child(node, part) if node is not None else None
        if found is None:
            return None if exact else line
        key, node = found
        line = (key or node).start_mark.line + 1
    return line


_PATH_FIRST = re.compile(r"^([A-Za-z_][\w-]*(?:\.[\w-]+)*) : (.+)$")


def _problems(exc: ValidationError, node: yaml.Node | None) -> List[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if part != "__root__")
        for message in french_message(error).splitlines() or [FALLBACK_FR]:
            problems.append(_problem(loc, message, node))
    return problems


def _problem(loc: Loc, message: str, node: yaml.Node | None) -> Problem:
    if not loc:  # a rule on the whole file: its message may start with the field it is about
        match = _PATH_FIRST.match(message)
        line = yaml_line(node, match[1].split("."), exact=True) if match else None
        if line:
            return Problem(match[1], line, match[2])
        return Problem("", None, message)
    return Problem(".".join(str(part) for part in loc), yaml_line(node, loc), message)


# ---- reading -----------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps dates as text: pydantic checks them and names the faulty field
    (PyYAML would fail on 2026-02-30 without saying where)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# PyYAML's problems, in French (the first one found in the parser's text is used).
_YAML_FR = (
    ("'\\t'", "tabulation interdite : indentez avec des espaces"),
    ("mapping values are not allowed", "« : » inattendu (mettez entre guillemets une valeur avec « : »)"),
    ("could not find expected ':'", "« : » manquant après une clé, ou guillemet non fermé"),
    ("expected <block end>", "indentation incohérente (les clés d'un même bloc doivent être alignées)"),
    ("did not find expected key", "indentation incohérente ou « - » mal placé"),
    ("did not find expected '-'", "élément de liste mal aligné (« - »)"),
    ("expected ',' or ']'", "liste entre crochets non fermée (« ] » manquant ?)"),
    ("expected ',' or '}'", "dictionnaire entre accolades non fermé (« } » manquant ?)"),
    ("unexpected end of stream", "fin de fichier inattendue (guillemet non fermé ?)"),
    ("undefined alias", "alias « * » non défini"),
    ("duplicate anchor", "ancre « & » définie deux fois"),
    ("another document", "un seul document est attendu (retirez les « --- » en trop)"),
    ("could not determine a constructor", "étiquette « ! » non autorisée"),
    ("unhashable key", "une liste ou un dictionnaire ne peut pas servir de clé"),
    ("unknown escape character", "caractère d'échappement « \\ » inconnu dans un texte entre guillemets"),
    ("found character", "caractère inattendu (mettez la valeur entre guillemets)"),
)


def _yaml_problem(exc: yaml.YAMLError) -> Problem:
    detail = str(getattr(exc, "problem", None) or exc).strip()
    french = next((fr for key, fr in _YAML_FR if key in detail), None)
    message = french or f"syntaxe YAML incorrecte ({detail})"
    mark, start = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    if start is not None and mark is not None and start.line != mark.line:
        message += f", bloc commencé ligne {start.line + 1}"
    if mark is None:
        return Problem("", None, message)
    return Problem(f"ligne {mark.line + 1}, colonne {mark.column + 1}", None, message)


def shown_path(path: object) -> str:
    """A path as content teams know it: relative to the current folder when inside it."""
    if isinstance(path, Path):
        try:
            return str(path.resolve().relative_to(Path.cwd()))
        except (ValueError, OSError):
            return str(path)
    return str(path)


MAX_SHOWN = 20  # problems listed in a message (a repeated mistake can make hundreds)


def _error(error: Type[ContentError], heading: str, path: object, label: str, problems=(), end=""):
    lines = [f"{heading} : {shown_path(path)} ({label}){end}"]
    lines += [f"  - {problem}" for problem in problems[:MAX_SHOWN]]
    if len(problems) > MAX_SHOWN:
        lines.append(f"  - … et {len(problems) - MAX_SHOWN} autre(s) erreur(s) du même fichier")
    return error("\n".join(lines), path=path, label=label, problems=problems)


def read_content_file(
    path: Path | str, label: str, *, error: Type[ContentError] = ContentError
) -> Tuple[object, yaml.Node | None]:
    """The YAML data of a content file and its node tree (for line numbers)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _error(error, "Fichier introuvable", path, label) from None
    except UnicodeDecodeError:
        raise _error(error, "Fichier illisible", path, label, end=" : enregistrez-le en UTF-8") from None
    except OSError:
        end = " : lecture impossible (est-ce un dossier ? les droits d'accès ?)"
        raise _error(error, "Fichier illisible", path, label, end=end) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    except yaml.YAMLError as exc:
        raise _error(error, "Fichier illisible (YAML)", path, label, [_yaml_problem(exc)]) from exc
    finally:
        loader.dispose()


def _kind_fr(raw: object) -> str:
    if raw is None:
        return "un fichier vide"
    if isinstance(raw, list):
        return "une liste"
    return "un texte" if isinstance(raw, str) else "une valeur seule"


def parse_content(
    raw: object,
    model: Type[ModelT],
    label: str,
    source: object = NOT_A_FILE,
    *,
    node: yaml.Node | None = None,
    error: Type[ContentError] = ContentError,
    check: Check | None = None,
) -> ModelT:
    """Validate already-read data; `source` names it, `node` (from read_content_file) gives the
    lines; `check` lists the problems of a valid model that only the whole file shows."""
    if not isinstance(raw, dict):
        end = f" : un dictionnaire est attendu (des lignes « clé : valeur »), pas {_kind_fr(raw)}"
        raise _error(error, "Fichier vide ou mal formé", source, label, end=end)
    try:
        result = model.parse_obj(raw)
    except ValidationError as exc:
        raise _error(error, "Fichier invalide", source, label, _problems(exc, node)) from exc
    problems = [_problem(tuple(loc), message, node) for loc, message in (check(result) if check else ())]
    if problems:
        raise _error(error, "Fichier invalide", source, label, problems)
    return result


def load_content_file(
    path: Path | str,
    model: Type[ModelT],
    label: str,
    *,
    error: Type[ContentError] = ContentError,
    check: Check | None = None,
) -> ModelT:
    """Read and validate a content file; raise `error` (a ContentError) with a French message
    naming the file, `label` (what the file is about), each faulty field and its line."""
    raw, node = read_content_file(path, label, error=error)
    return parse_content(raw, model, label, Path(path), node=node, error=error, check=check)


def content_path(variable: str, default: Path) -> Path:
    """The file named by the environment variable `variable`, else `default`."""
    return Path(os.environ.get(variable, "").strip() or default)


# ---- shared by the content files' models ------------------------------------------------------


class ContentModel(BaseModel):
    """Base of every content file's models: an unknown field is a typo to report, not to ignore."""

    class Config:
        extra = Extra.forbid
        arbitrary_types_allowed = True


class StrippedContentModel(ContentModel):
    """For files whose texts are compared with what citizens type: surrounding spaces dropped."""

    class Config:
        anystr_strip_whitespace = True


KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")  # identifiers: services, sectors, centres…
PHONE_PATTERN = re.compile(r"^[0-9 +().-]{4,20}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def checked_email(value: str) -> str:
    """A pydantic validator's body: an e-mail address, or a French error."""
    if not EMAIL_PATTERN.match(value):
        raise ValueError(f"adresse e-mail « {value} » invalide")
    return value


def checked_timezone(value: str) -> str:
    """A pydantic validator's body: an IANA time zone (Europe/Paris, Indian/Reunion…)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"fuseau horaire « {value} » inconnu") from exc
    return value
