"""core.dates: what citizens answer to « Quel jour vous conviendrait ? », resolved exactly."""

from datetime import date, datetime, time, timezone

import pytest

from core.dates import (
    PARIS,
    DateInPast,
    DateNotUnderstood,
    InvalidDate,
    When,
    describe_when_fr,
    normalize,
    parse_when,
)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


NOW = at(2026, 11, 29, 15, 30)  # Sunday afternoon; next Monday is 30 November
MONDAY_MORNING = at(2026, 11, 30, 9, 0)
END_OF_AUGUST = at(2026, 8, 31, 10, 0)  # Monday the 31st, September has 30 days
END_OF_JANUARY = at(2027, 1, 31, 10, 0)  # Sunday the 31st, February 2027 has 28 days
FRIDAY_EVENING = at(2026, 12, 4, 18, 0)  # after the 17:00 cutoff
NEW_YEARS_EVE = at(2026, 12, 31, 10, 0)  # Thursday

D = date
T = time
ANY_DAY = (D(2026, 11, 29), D(2027, 1, 28))  # today .. today + 60 days, from NOW


def day(d: date, time_from=None, time_to=None, preferred=None) -> When:
    """One named day."""
    return When(d, d, time_from, time_to, preferred, True)


def days(start: date, end: date, time_from=None, time_to=None, preferred=None) -> When:
    """A range of days, no specific one."""
    return When(start, end, time_from, time_to, preferred, False)


def any_day(time_from=None, time_to=None, preferred=None) -> When:
    return days(*ANY_DAY, time_from, time_to, preferred)


def check(cases):
    return pytest.mark.parametrize(("text", "expected"), cases, ids=[text or "<empty>" for text, _ in cases])


# --------------------------------------------------------------------------- from NOW (Sunday 15:30)

DAY_WORDS = [
    ("aujourd'hui", day(D(2026, 11, 29))),
    ("Aujourd’hui", day(D(2026, 11, 29))),
    ("auj", day(D(2026, 11, 29))),
    ("ajd", day(D(2026, 11, 29))),
    ("demain", day(D(2026, 11, 30))),
    ("dmain", day(D(2026, 11, 30))),
    ("DEMAIN !", day(D(2026, 11, 30))),
    ("après-demain", day(D(2026, 12, 1))),
    ("apres demain", day(D(2026, 12, 1))),
    ("dans trois jours", day(D(2026, 12, 2))),
]

WEEKDAYS = [
    ("lundi", day(D(2026, 11, 30))),
    ("mardi", day(D(2026, 12, 1))),
    ("ce mardi", day(D(2026, 12, 1))),
    ("Mardi prochain", day(D(2026, 12, 1))),
    ("mardi pro", day(D(2026, 12, 1))),
    ("mardi qui vient", day(D(2026, 12, 1))),
    ("mardi en huit", day(D(2026, 12, 8))),
    ("dimanche", day(D(2026, 11, 29))),  # today, before 17:00
    ("ce dimanche", day(D(2026, 11, 29))),
    ("dimanche prochain", day(D(2026, 12, 6))),  # strictly after today
    ("mercedi", day(D(2026, 12, 2))),  # typo
    ("vendredie", day(D(2026, 12, 4))),
    ("pour mardi svp", day(D(2026, 12, 1))),
    ("lundi 7", day(D(2026, 12, 7))),
    ("le mardi 15 décembre", day(D(2026, 12, 15))),
    ("sam 5 dec", day(D(2026, 12, 5))),
    ("mardi de la semaine prochaine", day(D(2026, 12, 1))),
    ("je peux pas lundi, mardi ça va", day(D(2026, 12, 1))),
]

DAYS_OF_MONTH = [
    ("le 3", day(D(2026, 12, 3))),  # the 3rd of November is past: December
    ("le 29", day(D(2026, 11, 29))),  # today
    ("le 30", day(D(2026, 11, 30))),
    ("le 31", day(D(2026, 12, 31))),  # November has no 31st
    ("le 1er", day(D(2026, 12, 1))),
    ("le premier", day(D(2026, 12, 1))),
    ("le deux", day(D(2026, 12, 2))),
    ("15", day(D(2026, 12, 15))),
    ("le 3 décembre", day(D(2026, 12, 3))),
    ("3 dec", day(D(2026, 12, 3))),
    ("1er décembre", day(D(2026, 12, 1))),
    ("03/12", day(D(2026, 12, 3))),
    ("3/12/2026", day(D(2026, 12, 3))),
    ("03-12-26", day(D(2026, 12, 3))),
    ("13.12.2026", day(D(2026, 12, 13))),
    ("15 janvier", day(D(2027, 1, 15))),
    ("15/01/2027", day(D(2027, 1, 15))),
    ("le 2 mars 2027", day(D(2027, 3, 2))),
    ("le 15 novembre", day(D(2027, 11, 15))),  # already past this year: next year
    ("janvier 15", day(D(2027, 1, 15))),
    ("2027-01-15", day(D(2027, 1, 15))),
    ("15janvier", day(D(2027, 1, 15))),  # dateparser fallback
    ("janv 15", day(D(2027, 1, 15))),  # dateparser fallback
    ("le 29 février", day(D(2028, 2, 29))),  # next leap year
    ("le 15 juin 2027", day(D(2027, 6, 15))),  # beyond the 60-day horizon: still parsed
]

RANGES = [
    ("cette semaine", days(D(2026, 11, 29), D(2026, 11, 29))),  # Sunday: the week ends today
    ("la semaine prochaine", days(D(2026, 11, 30), D(2026, 12, 6))),
    ("semaine pro", days(D(2026, 11, 30), D(2026, 12, 6))),
    ("dans 2 semaines", days(D(2026, 12, 13), D(2026, 12, 19))),
    ("dans deux semaines", days(D(2026, 12, 13), D(2026, 12, 19))),
    ("dans 15 jours", days(D(2026, 12, 14), D(2026, 12, 20))),
    ("d'ici 10 jours", days(D(2026, 11, 29), D(2026, 12, 9))),
    ("ce week-end", days(D(2026, 11, 29), D(2026, 11, 29))),
    ("le week-end prochain", days(D(2026, 12, 5), D(2026, 12, 6))),
    ("samedi ou dimanche", days(D(2026, 12, 5), D(2026, 12, 6))),
    ("lundi ou mardi", days(D(2026, 11, 30), D(2026, 12, 1))),
    ("le 3 ou le 4", days(D(2026, 12, 3), D(2026, 12, 4))),
    ("le mois prochain", days(D(2026, 12, 1), D(2026, 12, 31))),
    ("début janvier", days(D(2027, 1, 1), D(2027, 1, 10))),
    ("mi-janvier", days(D(2027, 1, 10), D(2027, 1, 20))),
    ("fin janvier", days(D(2027, 1, 20), D(2027, 1, 31))),
    ("fin du mois", days(D(2026, 11, 29), D(2026, 11, 30))),
    ("début du mois prochain", days(D(2026, 12, 1), D(2026, 12, 10))),
    ("en janvier", days(D(2027, 1, 1), D(2027, 1, 31))),
    ("du 10 au 15 décembre", days(D(2026, 12, 10), D(2026, 12, 15))),
    ("la semaine du 7 décembre", days(D(2026, 12, 7), D(2026, 12, 13))),
    ("avant le 15", days(D(2026, 11, 29), D(2026, 12, 14))),
    ("d'ici vendredi", days(D(2026, 11, 29), D(2026, 12, 4))),
    ("à partir de mardi", days(D(2026, 12, 1), D(2027, 1, 30))),
    ("au plus vite", any_day()),
    ("le plus tôt possible", any_day()),
    ("dès que possible", any_day()),
    ("n'importe quand", any_day()),
    ("peu importe", any_day()),
    ("quand vous voulez", any_day()),
    ("pas de préférence", any_day()),
    ("le premier créneau disponible", any_day()),
    ("n'importe quel jour sauf le lundi", any_day()),
]

PARTS_OF_DAY = [
    ("le matin", any_day(T(0), T(12))),
    ("matinée", any_day(T(0), T(12))),
    ("plutôt le matin", any_day(T(0), T(12))),
    ("dans la matinee", any_day(T(0), T(12))),
    ("l'après-midi", any_day(T(12))),
    ("aprem", any_day(T(12))),
    ("aprèm", any_day(T(12))),
    ("apres midi", any_day(T(12))),
    ("a-m", any_day(T(12))),
    ("midi", any_day(T(11, 30), T(14))),
    ("entre midi et deux", any_day(T(11, 30), T(14))),
    ("pendant la pause déjeuner", any_day(T(11, 30), T(14))),
    ("en fin de journée", any_day(T(16))),
    ("en fin d'après-midi", any_day(T(16))),
    ("en soirée", any_day(T(17))),
    ("le soir", any_day(T(17))),
    ("tôt le matin", any_day(None, T(10))),
    ("à l'ouverture", any_day(None, T(10))),
    ("au plus vite le matin", any_day(T(0), T(12))),
]

TIMES = [
    ("à 10h", any_day(preferred=T(10))),
    ("10h30", any_day(preferred=T(10, 30))),
    ("10 h 30", any_day(preferred=T(10, 30))),
    ("10:30", any_day(preferred=T(10, 30))),
    ("vers 14h", any_day(preferred=T(14))),
    ("14h", any_day(preferred=T(14))),
    ("à midi", any_day(preferred=T(12))),
    ("vers 9h", any_day(preferred=T(9))),
    ("10 heures et demie", any_day(preferred=T(10, 30))),
    ("vers 11h moins le quart", any_day(preferred=T(10, 45))),
    ("à 2h", any_day(preferred=T(14))),  # hours 1..7 are afternoon hours
    ("à 8h", any_day(preferred=T(8))),
    ("à 2h de l'après-midi", any_day(preferred=T(14))),
    ("deux heures de l'après-midi", any_day(preferred=T(14))),
    ("après 15h", any_day(T(15))),
    ("à partir de 15h", any_day(T(15))),
    ("pas avant 10h", any_day(T(10))),
    ("avant 11h", any_day(None, T(11))),
    ("jusqu'à 15h", any_day(None, T(15))),
    ("entre 14h et 16h", any_day(T(14), T(16))),
    ("entre 2 et 4", any_day(T(14), T(16))),
    ("de 9h à 11h", any_day(T(9), T(11))),
    ("14-16h", any_day(T(14), T(16))),
]

COMBINATIONS = [
    ("demain après-midi", day(D(2026, 11, 30), T(12))),
    ("dmain aprem", day(D(2026, 11, 30), T(12))),
    ("demain matin à 7h", day(D(2026, 11, 30), T(0), T(12), T(7))),  # morning context: 7 h
    ("demain soir", day(D(2026, 11, 30), T(17))),
    ("ce soir", day(D(2026, 11, 29), T(17))),
    ("cet aprèm", day(D(2026, 11, 29), T(12))),
    ("ce vendredi à 10h", day(D(2026, 12, 4), preferred=T(10))),
    ("ce vendredi a 10h", day(D(2026, 12, 4), preferred=T(10))),
    ("mardi prochain vers 14h", day(D(2026, 12, 1), preferred=T(14))),
    ("mardi à 3h", day(D(2026, 12, 1), preferred=T(15))),
    ("jeudi matin", day(D(2026, 12, 3), T(0), T(12))),
    ("jeudi apres midi", day(D(2026, 12, 3), T(12))),
    ("samdi matin", day(D(2026, 12, 5), T(0), T(12))),
    ("mecredi aprem", day(D(2026, 12, 2), T(12))),
    ("l'après-midi vers 3h", any_day(T(12), None, T(15))),
    ("la semaine prochaine l'après-midi", days(D(2026, 11, 30), D(2026, 12, 6), T(12))),
    ("lundi ou mardi matin", days(D(2026, 11, 30), D(2026, 12, 1), T(0), T(12))),
    ("le 3 à 9h", day(D(2026, 12, 3), preferred=T(9))),
    ("le 3 a 9h", day(D(2026, 12, 3), preferred=T(9))),
    ("le 10 a 16", day(D(2026, 12, 10), preferred=T(16))),
    ("Jeudi 3 décembre à 14h30", day(D(2026, 12, 3), preferred=T(14, 30))),
    ("le 13/12 à 9h15", day(D(2026, 12, 13), preferred=T(9, 15))),
    ("demain entre 9h et 11h", day(D(2026, 11, 30), T(9), T(11))),
    ("l'après-midi après 15h", any_day(T(15))),
    ("mardi prochain en fin de matinée", day(D(2026, 12, 1), T(10), T(12))),
    ("demain à la première heure", day(D(2026, 11, 30), None, T(10))),
    ("dès que possible la semaine prochaine", days(D(2026, 11, 30), D(2026, 12, 6))),
    ("dans 2 heures", day(D(2026, 11, 29), preferred=T(17, 30))),
]


@check(DAY_WORDS + WEEKDAYS + DAYS_OF_MONTH + RANGES + PARTS_OF_DAY + TIMES + COMBINATIONS)
def test_parse_when_from_sunday_afternoon(text, expected):
    assert parse_when(text, NOW) == expected


# --------------------------------------------------------------------------- other moments

OTHER_NOWS = [
    (MONDAY_MORNING, "lundi", day(D(2026, 11, 30))),
    (MONDAY_MORNING, "ce lundi", day(D(2026, 11, 30))),
    (MONDAY_MORNING, "lundi prochain", day(D(2026, 12, 7))),
    (MONDAY_MORNING, "mardi prochain", day(D(2026, 12, 1))),  # tomorrow (see module docstring)
    (MONDAY_MORNING, "mardi en huit", day(D(2026, 12, 8))),
    (MONDAY_MORNING, "cette semaine", days(D(2026, 11, 30), D(2026, 12, 6))),
    (MONDAY_MORNING, "la semaine prochaine", days(D(2026, 12, 7), D(2026, 12, 13))),
    (MONDAY_MORNING, "ce week-end", days(D(2026, 12, 5), D(2026, 12, 6))),
    (END_OF_AUGUST, "le 31", day(D(2026, 8, 31))),
    (END_OF_AUGUST, "le 30", day(D(2026, 9, 30))),
    (END_OF_AUGUST, "le 1er", day(D(2026, 9, 1))),
    (END_OF_AUGUST, "demain", day(D(2026, 9, 1))),
    (END_OF_AUGUST, "fin du mois", days(D(2026, 8, 31), D(2026, 8, 31))),
    (END_OF_AUGUST, "début du mois", days(D(2026, 9, 1), D(2026, 9, 10))),
    (END_OF_JANUARY, "le 30", day(D(2027, 3, 30))),  # no 30 February: March
    (END_OF_JANUARY, "le 28", day(D(2027, 2, 28))),
    (FRIDAY_EVENING, "vendredi", day(D(2026, 12, 11))),  # after 17:00: next week's
    (FRIDAY_EVENING, "ce vendredi", day(D(2026, 12, 11))),
    (FRIDAY_EVENING, "aujourd'hui", day(D(2026, 12, 4))),
    (FRIDAY_EVENING, "lundi ou mardi", days(D(2026, 12, 7), D(2026, 12, 8))),
    (NEW_YEARS_EVE, "demain", day(D(2027, 1, 1))),
    (NEW_YEARS_EVE, "le 3", day(D(2027, 1, 3))),
    (NEW_YEARS_EVE, "3 janvier", day(D(2027, 1, 3))),
    (NEW_YEARS_EVE, "le 15 décembre", day(D(2027, 12, 15))),
    (NEW_YEARS_EVE, "31/12", day(D(2026, 12, 31))),
    (NEW_YEARS_EVE, "la semaine prochaine", days(D(2027, 1, 4), D(2027, 1, 10))),
    (NEW_YEARS_EVE, "le mois prochain", days(D(2027, 1, 1), D(2027, 1, 31))),
    (NEW_YEARS_EVE, "cette semaine", days(D(2026, 12, 31), D(2027, 1, 3))),
    (NEW_YEARS_EVE, "du 28 décembre au 3 janvier", days(D(2026, 12, 31), D(2027, 1, 3))),
]


@pytest.mark.parametrize(
    ("now", "text", "expected"), OTHER_NOWS, ids=[f"{now:%d/%m %H:%M} {text}" for now, text, _ in OTHER_NOWS]
)
def test_parse_when_at_other_moments(now, text, expected):
    assert parse_when(text, now) == expected


# --------------------------------------------------------------------------- errors

INVALID = ["le 31 février", "30/02", "le 32", "le 0", "le 13/13", "31/04/2027", "25h", "à 10h75"]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_dates(text):
    with pytest.raises(InvalidDate):
        parse_when(text, NOW)


PAST = [
    ("hier", D(2026, 11, 28)),
    ("avant-hier", D(2026, 11, 27)),
    ("lundi dernier", D(2026, 11, 23)),
    ("la semaine dernière", D(2026, 11, 16)),
    ("le 3 janvier 2020", D(2020, 1, 3)),
    ("01/11/2026", D(2026, 11, 1)),
    ("lundi de cette semaine", D(2026, 11, 23)),
]


@pytest.mark.parametrize(("text", "past_day"), PAST, ids=[text for text, _ in PAST])
def test_days_in_the_past(text, past_day):
    with pytest.raises(DateInPast) as error:
        parse_when(text, NOW)
    assert error.value.day == past_day


NOT_UNDERSTOOD = [
    "",
    "   ",
    "je sais pas",
    "bonjour",
    "oui",
    "je voudrais un rendez-vous pour une carte d'identité",
    "pas le lundi",
    "06 12 34 56 78",
]


@pytest.mark.parametrize("text", NOT_UNDERSTOOD)
def test_not_understood(text):
    with pytest.raises(DateNotUnderstood):
        parse_when(text, NOW)


def test_errors_are_value_errors():
    assert issubclass(DateNotUnderstood, ValueError)
    assert issubclass(InvalidDate, ValueError)
    assert issubclass(DateInPast, ValueError)


# --------------------------------------------------------------------------- now, horizon, normalisation


def test_naive_now_is_paris_local_time():
    assert parse_when("demain", datetime(2026, 11, 29, 15, 30)) == day(D(2026, 11, 30))


def test_aware_now_is_converted_to_paris():
    # 23:30 UTC on the 29th is already 00:30 on the 30th in Paris
    now = datetime(2026, 11, 29, 23, 30, tzinfo=timezone.utc)
    assert parse_when("demain", now) == day(D(2026, 12, 1))


def test_horizon_days_bounds_open_answers():
    assert parse_when("le matin", NOW, horizon_days=14) == days(D(2026, 11, 29), D(2026, 12, 13), T(0), T(12))


def test_normalize():
    assert normalize("  Mardi PROCHAIN à 10h30 !! ") == "mardi prochain a 10h30"
    assert normalize("dmain aprèm") == "demain aprem"
    assert normalize("le 1er") == "le 1"
    assert normalize("03/12/26") == "03/12/26"


# --------------------------------------------------------------------------- describe_when_fr

DESCRIPTIONS = [
    ("mardi après-midi", "mardi 1er décembre après 12 h"),
    ("demain à 10h", "lundi 30 novembre à 10 h"),
    ("le 3 à 14h30", "jeudi 3 décembre à 14 h 30"),
    ("semaine du 7 décembre", "la semaine du 7 décembre"),
    ("la semaine prochaine le matin", "la semaine du 30 novembre, le matin"),
    ("au plus vite le matin", "dès que possible, le matin"),
    ("n'importe quand", "dès que possible"),
    ("du 10 au 15 décembre", "entre le jeudi 10 et le mardi 15 décembre"),
    ("lundi ou mardi", "entre le lundi 30 novembre et le mardi 1er décembre"),
    ("en janvier", "en janvier 2027"),
    ("15 janvier entre 14h et 16h", "vendredi 15 janvier 2027 entre 14 h et 16 h"),
    ("avant le 15", "d'ici le lundi 14 décembre"),
    ("avant 11h", "dès que possible, avant 11 h"),
]


@pytest.mark.parametrize(("text", "description"), DESCRIPTIONS, ids=[text for text, _ in DESCRIPTIONS])
def test_describe_when_fr(text, description):
    assert describe_when_fr(parse_when(text, NOW), NOW.date()) == description
