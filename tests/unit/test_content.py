import inspect
import os
import re
import subprocess
import sys
from datetime import date, datetime, time
from enum import Enum
from pathlib import Path
from typing import Dict, List, Literal, Tuple

import pydantic.errors
import pytest
import yaml
from pydantic import AnyUrl, BaseModel, Extra, conint, conlist, constr, root_validator
from pydantic.error_wrappers import get_exc_type

from actions import CONTENT_FILES
from booking.config import (
    DEFAULT_BOOKING_FILE,
    DEFAULT_BULKY_BOOKING_FILE,
    load_booking_config,
    load_bulky_booking_config,
)
from core.content import (
    FALLBACK_FR,
    PYDANTIC_FR,
    ContentError,
    french_message,
    load_content_file,
    parse_content,
    yaml_line,
)
from core.territory import DEFAULT_TERRITORY_FILE, TerritoryConfigError, load_territory
from tracking.local import DEFAULT_TRACKING_FILE, load_tracking_file
from waste.config import DEFAULT_WASTE_FILE, load_waste_config
from waste.recycling import DEFAULT_RECYCLING_FILE, load_recycling_config
from waste.sorting import DEFAULT_SORTING_FILE, load_sorting_guide
from welfare.config import DEFAULT_WELFARE_FILE, load_welfare_config

ROOT = Path(__file__).resolve().parents[2]


def _pydantic_error_classes():
    base = (
        pydantic.errors.PydanticErrorMixin,
        pydantic.errors.PydanticTypeError,
        pydantic.errors.PydanticValueError,
    )
    for name, cls in inspect.getmembers(pydantic.errors, inspect.isclass):
        if (
            issubclass(cls, pydantic.errors.PydanticErrorMixin)
            and cls not in base
            and not name.startswith("_")
        ):
            yield cls


# Pydantic's English texts (the fixed start of every msg_template, and the classes with __str__).
ENGLISH = sorted(
    {
        template.split("{")[0].strip().lower()
        for cls in _pydantic_error_classes()
        if (template := getattr(cls, "msg_template", None)) and " " in template.split("{")[0].strip()
    }
    | {"unexpected value; permitted", "value is not a valid enumeration member", "field required"}
)


def assert_french(message: str) -> None:
    lowered = message.lower()
    found = [phrase for phrase in ENGLISH if phrase in lowered]
    assert not found, (found, message)


# ---- the table -------------------------------------------------------------------------------------


def test_every_pydantic_error_type_has_a_french_text():
    types = {get_exc_type(cls) for cls in _pydantic_error_classes()}
    assert len(types) > 80
    assert sorted(types - set(PYDANTIC_FR)) == []
    for text in PYDANTIC_FR.values():
        assert_french(text)


@pytest.mark.parametrize(
    "kind, ctx, expected",
    [
        ("value_error.missing", {}, "champ obligatoire manquant"),
        ("value_error.extra", {}, "champ inconnu (faute de frappe ?)"),
        ("type_error.integer", {}, "un nombre entier est attendu"),
        ("type_error.float", {}, "un nombre est attendu"),
        ("type_error.bool", {}, "true ou false est attendu"),
        ("type_error.str", {}, "un texte est attendu"),
        ("type_error.list", {}, "une liste est attendue"),
        ("type_error.dict", {}, "un dictionnaire (clé : valeur) est attendu"),
        ("type_error.none.not_allowed", {}, "une valeur est attendue"),
        ("value_error.number.not_gt", {"limit_value": 0}, "strictement supérieur à 0"),
        ("value_error.number.not_ge", {"limit_value": 1}, "supérieur ou égal à 1"),
        ("value_error.number.not_lt", {"limit_value": 2.5}, "strictement inférieur à 2,5"),
        ("value_error.number.not_le", {"limit_value": 10}, "inférieur ou égal à 10"),
        (
            "value_error.any_str.min_length",
            {"limit_value": 3},
            "texte trop court (3 caractère(s) au minimum)",
        ),
        ("value_error.any_str.max_length", {"limit_value": 80}, "texte trop long (80 caractères au maximum)"),
        ("value_error.date", {}, "date invalide (format attendu AAAA-MM-JJ"),
        ("value_error.datetime", {}, "date et heure invalides"),
        ("value_error.time", {}, "heure invalide (format attendu HH:MM"),
        ("value_error.email", {}, "adresse e-mail invalide"),
        (
            "value_error.const",
            {"given": "c", "permitted": ("a", "b")},
            "valeur « c » non autorisée (valeurs possibles : « a », « b »)",
        ),
        ("value_error.url.scheme", {}, "adresse web invalide"),
        ("value_error.url.scheme", {"allowed_schemes": {"https"}}, "doit commencer par « https »"),
        ("value_error.url.host", {}, "nom de domaine"),
        ("value_error.list.min_items", {"limit_value": 1}, "pas assez d'éléments (au moins 1)"),
        ("value_error.str.regex", {"pattern": "^[a-z]+$"}, "format invalide (modèle attendu : ^[a-z]+$)"),
        ("value_error.some_future_type", {}, FALLBACK_FR),
    ],
)
def test_french_text_of_an_error(kind, ctx, expected):
    message = french_message({"loc": ("x",), "msg": "English text", "type": kind, "ctx": ctx})
    assert expected in message
    assert "English" not in message


def test_enum_lists_the_permitted_values():
    class Colour(Enum):
        RED = "rouge"
        GREEN = "vert"

    error = {"loc": ("c",), "msg": "x", "type": "type_error.enum", "ctx": {"enum_values": list(Colour)}}
    assert french_message(error) == "valeur non autorisée (valeurs possibles : « rouge », « vert »)"


@pytest.mark.parametrize("kind", ["value_error", "type_error", "assertion_error"])
def test_messages_of_our_validators_pass_through(kind):
    text = "numéro de téléphone « abc » invalide"
    assert french_message({"loc": ("phone",), "msg": text, "type": kind}) == text


# ---- real pydantic errors ----------------------------------------------------------------------------


class Kind(Enum):
    A = "a"
    B = "b"


class Inner(BaseModel):
    class Config:
        extra = Extra.forbid

    name: str
    count: int = 0


class Everything(BaseModel):
    class Config:
        extra = Extra.forbid

    text: str = "x"
    whole: int = 1
    number: float = 1.0
    flag: bool = True
    items: List[str] = []
    mapping: Dict[str, str] = {}
    day: date = date(2026, 1, 1)
    moment: datetime = datetime(2026, 1, 1)
    hour: time = time(8, 0)
    positive: conint(gt=0) = 1
    small: conint(le=10) = 1
    short: constr(max_length=5) = "x"
    long: constr(min_length=3) = "xxx"
    code: constr(regex=r"^[a-z]+$") = "x"
    choice: Literal["a", "b"] = "a"
    kind: Kind = Kind.A
    url: AnyUrl = "https://example.fr"
    some: conlist(int, min_items=1) = [1]
    pair: Tuple[int, int] = (1, 2)
    inner: Inner = Inner(name="x")
    inners: List[Inner] = []
    required: str | None = "x"


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("text", ["a"], "un texte est attendu"),
        ("whole", "douze", "un nombre entier est attendu"),
        ("number", "beaucoup", "un nombre est attendu"),
        ("flag", "peut-être", "true ou false est attendu"),
        ("items", "a", "une liste est attendue"),
        ("mapping", "a", "un dictionnaire (clé : valeur) est attendu"),
        ("day", "2026-02-30", "date invalide"),
        ("moment", "hier", "date et heure invalides"),
        ("hour", "midi", "heure invalide"),
        ("positive", 0, "strictement supérieur à 0"),
        ("small", 11, "inférieur ou égal à 10"),
        ("short", "abcdef", "texte trop long (5 caractères au maximum)"),
        ("long", "ab", "texte trop court (3 caractère(s) au minimum)"),
        ("code", "ABC", "format invalide"),
        ("choice", "c", "valeur « c » non autorisée (valeurs possibles : « a », « b »)"),
        ("kind", "z", "valeur non autorisée (valeurs possibles : « a », « b »)"),
        ("url", "pas une adresse", "adresse web invalide"),
        ("some", [], "pas assez d'éléments (au moins 1)"),
        ("pair", [1, 2, 3], "3 élément(s) au lieu de 2"),
        ("inner", {"name": "x", "colour": "vert"}, "champ inconnu (faute de frappe ?)"),
        ("inner", {}, "champ obligatoire manquant"),
        ("surprise", 1, "champ inconnu (faute de frappe ?)"),
    ],
)
def test_real_errors_are_in_french_and_name_the_field(field, value, expected):
    with pytest.raises(ContentError) as caught:
        parse_content({field: value}, Everything, "essai", "essai.yml")
    message = str(caught.value)
    assert message.startswith("Fichier invalide : essai.yml (essai)\n  - ")
    assert f"  - {field}" in message
    assert expected in message
    assert_french(message)


def test_none_is_not_allowed():
    with pytest.raises(ContentError, match="whole : une valeur est attendue"):
        parse_content({"whole": None}, Everything, "essai")


def test_not_a_mapping():
    with pytest.raises(ContentError, match="Fichier vide ou mal formé : .* pas une liste"):
        parse_content(["a"], Everything, "essai")


# ---- files and lines ---------------------------------------------------------------------------------

NESTED = """\
# a comment
title: Essai
inner:
  name: Premier
  count: beaucoup
inners:
  - name: a
  - name: b
    count: 2
  - count: 3
"""


class Doc(BaseModel):
    class Config:
        extra = Extra.forbid

    title: str
    inner: Inner
    inners: List[Inner]
    other: str = "x"

    @root_validator(skip_on_failure=True)
    def _whole(cls, values):
        if values["title"] == "Rien":
            raise ValueError("inners.1.name : « b » est réservé\nune règle sans champ")
        return values


def write(tmp_path: Path, text: str, name: str = "doc.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path, text: str, model=Doc):
    with pytest.raises(ContentError) as caught:
        load_content_file(write(tmp_path, text), model, "essai")
    return caught.value


def test_line_of_a_nested_field(tmp_path):
    error = problems(tmp_path, NESTED)
    assert "  - inner.count (ligne 5) : un nombre entier est attendu" in str(error)


def test_line_of_a_list_item_and_missing_key_points_at_the_parent(tmp_path):
    error = problems(tmp_path, NESTED)
    # inners.2 has no name: the line of the item (its first key, "count: 3")
    assert "  - inners.2.name (ligne 10) : champ obligatoire manquant" in str(error)
    assert [(p.where, p.line) for p in error.problems] == [("inner.count", 5), ("inners.2.name", 10)]


def test_line_of_a_missing_key_in_a_mapping(tmp_path):
    error = problems(tmp_path, NESTED.replace("  name: Premier\n", "  nom: Premier\n"))
    text = str(error)
    assert "  - inner.name (ligne 3) : champ obligatoire manquant" in text  # the line of "inner:"
    assert "  - inner.nom (ligne 4) : champ inconnu (faute de frappe ?)" in text


def test_missing_top_level_key_has_no_line(tmp_path):
    error = problems(tmp_path, "title: Essai\ninners: []\n")
    assert "  - inner : champ obligatoire manquant" in str(error)


def test_rule_on_the_whole_file_keeps_its_message_and_finds_its_line(tmp_path):
    text = NESTED.replace("title: Essai", "title: Rien").replace("count: beaucoup", "count: 1")
    text = text.replace("  - count: 3", "  - name: c")
    error = problems(tmp_path, text)
    assert "  - inners.1.name (ligne 8) : « b » est réservé" in str(error)
    assert "  - une règle sans champ" in str(error)


def test_yaml_line_helper():
    node = yaml.compose(NESTED)
    assert yaml_line(node, ("inners", 1, "count")) == 9
    assert yaml_line(node, ("inners", 1)) == 8
    assert yaml_line(node, ("inners", 7, "name")) == 6  # not in the file: the parent's line
    assert yaml_line(node, ("inners", 7), exact=True) is None
    assert yaml_line(node, ("absent",)) is None


def test_check_of_a_valid_model_gets_lines(tmp_path):
    def check(doc):
        yield ("inners", 1, "count"), "trop grand pour cet essai"

    text = NESTED.replace("count: beaucoup", "count: 1").replace("  - count: 3", "  - name: c")
    with pytest.raises(ContentError, match=r"inners\.1\.count \(ligne 9\) : trop grand pour cet essai"):
        load_content_file(write(tmp_path, text), Doc, "essai", check=check)


def test_dates_stay_text_so_a_wrong_one_names_its_field(tmp_path):
    class Dated(BaseModel):
        day: date

    assert load_content_file(write(tmp_path, "day: 2026-12-25\n"), Dated, "essai").day == date(2026, 12, 25)
    with pytest.raises(ContentError, match=r"day \(ligne 1\) : date invalide"):
        load_content_file(write(tmp_path, "day: 2026-02-30\n"), Dated, "essai")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a: [1, 2\nb: 3\n", r"ligne 2, colonne \d+ : liste entre crochets non fermée"),
        ("a:\n\t- 1\n", r"ligne 2, colonne 1 : tabulation interdite"),
        ("a: b: c\n", r"ligne 1, colonne \d+ : « : » inattendu"),
        ("a: 1\n  b: 2\n", r"ligne 2, colonne \d+ : « : » inattendu"),
        ('a: "ouvert\n', r"fin de fichier inattendue"),
        ("a: 1\n---\nb: 2\n", r"un seul document est attendu"),
        ("a: !!python/object:os.system x\n", r"étiquette « ! » non autorisée"),
    ],
)
def test_unreadable_yaml_gives_the_line_in_french(tmp_path, text, expected):
    with pytest.raises(ContentError) as caught:
        load_content_file(write(tmp_path, text), Doc, "essai")
    message = str(caught.value)
    assert message.startswith("Fichier illisible (YAML) : ")
    assert re.search(expected, message), message


def test_missing_empty_and_not_utf8_files(tmp_path):
    with pytest.raises(ContentError, match=r"^Fichier introuvable : .*absent\.yml \(essai\)$"):
        load_content_file(tmp_path / "absent.yml", Doc, "essai")
    with pytest.raises(ContentError, match="Fichier vide ou mal formé : .*pas un fichier vide"):
        load_content_file(write(tmp_path, "# rien\n"), Doc, "essai")
    with pytest.raises(ContentError, match="pas une liste"):
        load_content_file(write(tmp_path, "- a\n"), Doc, "essai")
    path = tmp_path / "latin1.yml"
    path.write_bytes("title: Évry\n".encode("latin-1"))
    with pytest.raises(ContentError, match="enregistrez-le en UTF-8"):
        load_content_file(path, Doc, "essai")
    with pytest.raises(ContentError, match="lecture impossible"):
        load_content_file(tmp_path, Doc, "essai")


def test_many_problems_are_cut(tmp_path):
    text = "title: t\ninner: {name: a}\ninners:\n" + "".join(f"  - nom: {i}\n" for i in range(30))
    error = problems(tmp_path, text)
    assert len(error.problems) == 60
    assert "… et 40 autre(s) erreur(s) du même fichier" in str(error)


def test_error_classes_keep_their_callers():
    from booking.config import BookingConfigError
    from tracking.local import TrackingConfigError
    from waste.sorting import SortingGuideError

    for error in (TerritoryConfigError, BookingConfigError, TrackingConfigError, SortingGuideError):
        assert issubclass(error, ContentError)


# ---- the demo files, broken -------------------------------------------------------------------------


def test_territory_without_the_reception_phone(tmp_path):
    raw = yaml.safe_load(DEFAULT_TERRITORY_FILE.read_text(encoding="utf-8"))
    del raw["services"]["accueil"]["phone"]
    text = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
    with pytest.raises(TerritoryConfigError) as caught:
        load_territory(write(tmp_path, text, "territory.yml"))
    line = text.splitlines().index("  accueil:") + 1
    assert f"  - services.accueil.phone (ligne {line}) : champ obligatoire manquant" in str(caught.value)
    assert_french(str(caught.value))


DEMO_FILES = [
    (DEFAULT_TERRITORY_FILE, load_territory),
    (DEFAULT_BOOKING_FILE, load_booking_config),
    (DEFAULT_BULKY_BOOKING_FILE, load_bulky_booking_config),
    (DEFAULT_WASTE_FILE, load_waste_config),
    (DEFAULT_RECYCLING_FILE, load_recycling_config),
    (DEFAULT_SORTING_FILE, load_sorting_guide),
    (DEFAULT_WELFARE_FILE, load_welfare_config),
    (DEFAULT_TRACKING_FILE, load_tracking_file),
]


def _wrong_type(value):
    if isinstance(value, bool):
        return "peut-être"
    if isinstance(value, (int, float)):
        return "beaucoup"
    if isinstance(value, (list, dict)):
        return "un texte"
    return ["une", "liste"]


def _first_mapping(value):
    """The first mapping below the root (a list item, or a value of a dict of dicts)."""
    children = value if isinstance(value, list) else list(value.values())
    for child in children:
        if isinstance(child, dict) and child:
            return child
        if isinstance(child, (dict, list)) and child:
            found = _first_mapping(child)
            if found is not None:
                return found
    return None


def _break_inside(raw: dict) -> dict:
    raw["surprise"] = True
    for value in raw.values():
        if isinstance(value, (dict, list)) and (inner := _first_mapping(value)) is not None:
            keys = list(inner)
            del inner[keys[0]]
            inner["champ_inconnu"] = 1
            if len(keys) > 1:
                inner[keys[1]] = _wrong_type(inner[keys[1]])
    return raw


def _break_types(raw: dict) -> dict:
    return {key: _wrong_type(value) for key, value in raw.items()}


@pytest.mark.parametrize("breaking", [_break_inside, _break_types])
@pytest.mark.parametrize("demo, load", DEMO_FILES, ids=[path.name for path, _ in DEMO_FILES])
def test_broken_demo_files_are_reported_in_french_only(tmp_path, demo, load, breaking):
    raw = breaking(yaml.safe_load(demo.read_text(encoding="utf-8")))
    path = write(tmp_path, yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), demo.name)
    with pytest.raises(ContentError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"Fichier invalide : {path} (")
    assert "(ligne " in message
    assert_french(message)


# ---- the command ----------------------------------------------------------------------------------------


def run(*args, **env):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_content_on_the_demo_files():
    done = run("-m", "ops.check_content")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "✓ territory/demo/waste.yml — collecte des déchets" in lines
    count = len(CONTENT_FILES)  # every registered file, whichever features are there
    assert len([line for line in lines if line.startswith("✓ ")]) == count
    assert lines[-1] == f"Les {count} fichiers de contenu sont valides."


def test_check_content_with_a_broken_file(tmp_path):
    broken = write(
        tmp_path,
        DEFAULT_WASTE_FILE.read_text(encoding="utf-8").replace("date: 2026-12-25", "date: 2026-02-30"),
        "waste.yml",
    )
    done = run("-m", "ops.check_content", GRU_WASTE_FILE=str(broken))
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert f"✗ {broken} — collecte des déchets" in output
    assert "holiday_rules.exceptions.0.date (ligne " in output
    assert "✓ territory/demo/territory.yml — territoire" in output
    assert "Traceback" not in output


def test_action_server_stops_with_the_french_report(tmp_path):
    raw = yaml.safe_load(DEFAULT_SORTING_FILE.read_text(encoding="utf-8"))
    raw["items"][0]["nom"] = raw["items"][0].pop("name")
    broken = write(tmp_path, yaml.safe_dump(raw, allow_unicode=True), "sorting_guide.yml")
    done = run("-c", "import actions.waste", GRU_SORTING_FILE=str(broken))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"✗ {broken} — guide du tri" in done.stderr
    assert "items.0.name (ligne " in done.stderr
