"""Address -> street resolution: local fuzzy geocoder, and the Géoplateforme client against a real local
aiohttp server answering the published GeoJSON shape."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from core import http
from waste.geocoder import (
    DEFAULT_GEOPLATEFORME_URL,
    MIN_SCORE,
    AddressCandidate,
    Geocoder,
    GeocoderUnavailable,
    GeoplateformeGeocoder,
    LocalGeocoder,
    extract_address,
    geocoder_from_env,
    normalise_street,
)

POSTCODE = "45990"
CITY = "Villebrune"
CITYCODE = "45999"

STREETS = [
    "Rue Victor Hugo",
    "Avenue Jean Jaurès",
    "Impasse des Lilas",
    "Rue de la Gare",
    "Chemin des Vignes",
    "Boulevard de la République",
    "Allée des Tilleuls",
    "Rue Pasteur",
    "Rue du Moulin",
    "Route de Montval",
    "Place de la Mairie",
    "Rue des Écoles",
    "Avenue des Coteaux",
    "Rue de la Paix",
    "Allée de la Paix",
    "Rue Jean Moulin",
    "Rue Saint-Martin",
    "Avenue du Général de Gaulle",
    "Rue de l'Église",
    "Rue du Château",
    "Square des Peupliers",
    "Rue du 8 Mai 1945",
]


@pytest.fixture
def local() -> LocalGeocoder:
    return LocalGeocoder(STREETS, POSTCODE, CITY)


# --- text helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12 av jean jaures", "12 av jean jaures"),
        ("j'habite impasse des Lilas", "impasse des Lilas"),
        ("J’habite au 12, av. Jean Jaurès !", "12 av Jean Jaurès"),
        ("je suis au 3 r. du moulin", "3 r du moulin"),
        ("mon adresse c'est 7 allée des Tilleuls", "7 allée des Tilleuls"),
        ("c'est au 45 bd de la République.", "45 bd de la République"),
        ("Bonjour, j'habite dans la rue Victor Hugo, merci", "rue Victor Hugo"),
        ("jhabite 14 chemin des vignes svp", "14 chemin des vignes"),
        ("au 8 rue de l'Église", "8 rue de l'Église"),
        ("n°4 rue Saint-Martin", "n 4 rue Saint-Martin"),
        ("  rue   Pasteur  ?", "rue Pasteur"),
        ("", ""),
    ],
)
def test_extract_address(text, expected):
    assert extract_address(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12 Av. Jean-Jaurès", "12 avenue jean jaures"),
        ("3 r. du Moulin", "3 rue du moulin"),
        ("Rue de l’Église", "rue de l'eglise"),
        ("45 BD de la République", "45 boulevard de la republique"),
        ("bld / boul / avn / ave", "boulevard boulevard avenue avenue"),
        ("imp des Lilas", "impasse des lilas"),
        ("ch. des vignes", "chemin des vignes"),
        ("chem des vignes", "chemin des vignes"),
        ("rte de Montval", "route de montval"),
        ("pl. de la Mairie", "place de la mairie"),
        ("all des Tilleuls", "allee des tilleuls"),
        ("al. de la Paix", "allee de la paix"),
        ("st-martin", "saint martin"),
        ("ste anne", "sainte anne"),
        ("av du gal de gaulle", "avenue du general de gaulle"),
        ("gl leclerc", "general leclerc"),
        ("sq des Peupliers", "square des peupliers"),
        ("fg Saint-Jean", "faubourg saint jean"),
        ("chemin d'Orléans", "chemin d'orleans"),
    ],
)
def test_normalise_street(text, expected):
    assert normalise_street(text) == expected


# --- LocalGeocoder -------------------------------------------------------------------------------------

FOUND = [
    # abbreviations, no accents
    ("12 av jean jaures", "Avenue Jean Jaurès", 12),
    ("45 bd de la republique", "Boulevard de la République", 45),
    ("3 r. du moulin", "Rue du Moulin", 3),
    ("imp des lilas", "Impasse des Lilas", None),
    ("rte de montval", "Route de Montval", None),
    ("pl de la mairie", "Place de la Mairie", None),
    ("all. des tilleuls", "Allée des Tilleuls", None),
    ("sq des peupliers", "Square des Peupliers", None),
    ("st martin", "Rue Saint-Martin", None),
    ("5 rue st martin", "Rue Saint-Martin", 5),
    ("gal de gaulle", "Avenue du Général de Gaulle", None),
    ("18 av du gal de gaulle", "Avenue du Général de Gaulle", 18),
    ("av de gaulle", "Avenue du Général de Gaulle", None),
    ("2 rue de l'eglise", "Rue de l'Église", 2),
    ("rue des ecoles", "Rue des Écoles", None),
    ("rue du chateau", "Rue du Château", None),
    # full forms, no number, upper case
    ("rue victor hugo", "Rue Victor Hugo", None),
    ("chemin des vignes", "Chemin des Vignes", None),
    ("RUE PASTEUR", "Rue Pasteur", None),
    ("Rue Victor-Hugo", "Rue Victor Hugo", None),
    # sentences
    ("j'habite impasse des Lilas", "Impasse des Lilas", None),
    ("Bonjour, j'habite au 12, av. Jean Jaurès ! merci", "Avenue Jean Jaurès", 12),
    ("mon adresse c'est 7 allée des tilleuls", "Allée des Tilleuls", 7),
    ("c'est au 5 place de la mairie", "Place de la Mairie", 5),
    ("je suis au 9 rue de la gare", "Rue de la Gare", 9),
    # typos
    ("rue victor hugi", "Rue Victor Hugo", None),
    ("avenue jean jaure", "Avenue Jean Jaurès", None),
    ("12 rue pastuer", "Rue Pasteur", 12),
    ("avenue des cotaux", "Avenue des Coteaux", None),
    ("impase des lilas", "Impasse des Lilas", None),
    ("14 chemin des vigne", "Chemin des Vignes", 14),
    ("rue de l'ecole", "Rue des Écoles", None),
    # house number forms
    ("12bis rue pasteur", "Rue Pasteur", 12),
    ("12 bis rue pasteur", "Rue Pasteur", 12),
    ("12b rue pasteur", "Rue Pasteur", 12),
    ("12 B rue pasteur", "Rue Pasteur", 12),
    ("12 ter rue de la gare", "Rue de la Gare", 12),
    ("n°4 rue pasteur", "Rue Pasteur", 4),
    ("rue victor hugo 27", "Rue Victor Hugo", 27),
    ("12-14 rue pasteur", "Rue Pasteur", 12),
    # numbers that are part of the street name
    ("rue du 8 mai 1945", "Rue du 8 Mai 1945", None),
    ("6 rue du 8 mai 1945", "Rue du 8 Mai 1945", 6),
    # the name without its type, or with the wrong one
    ("victor hugo", "Rue Victor Hugo", None),
    ("republique", "Boulevard de la République", None),
    ("rue jean jaures", "Avenue Jean Jaurès", None),
    ("rue louis pasteur", "Rue Pasteur", None),
    # our own town is fine
    ("12 rue victor hugo 45990 villebrune", "Rue Victor Hugo", 12),
    ("chemin des vignes, Villebrune", "Chemin des Vignes", None),
    ("3 rue victor hugo à Villebrune", "Rue Victor Hugo", 3),
    # extra words that are not a town
    ("rue victor hugo bat b", "Rue Victor Hugo", None),
]


@pytest.mark.parametrize("text, street, number", FOUND, ids=[case[0] for case in FOUND])
async def test_local_finds_the_street(local, text, street, number):
    candidates = await local.search(text)
    assert candidates, text
    first = candidates[0]
    assert (first.street, first.housenumber) == (street, number)
    assert MIN_SCORE <= first.score <= 1.0
    assert (first.postcode, first.city) == (POSTCODE, CITY)


NOT_FOUND = [
    "rue de rivoli",
    "12 rue de Rivoli Paris",
    "12 rue Victor Hugo 75001 Paris",
    "12 rue victor hugo paris",
    "rue Victor Hugo, Orléans",
    "rue de la paix a lyon",
    "xyz",
    "rue",
    "12",
    "",
    "bonjour",
]


@pytest.mark.parametrize("text", NOT_FOUND)
async def test_local_unknown_street_or_other_town_gives_nothing(local, text):
    assert await local.search(text) == []


async def test_label_fields_and_house_suffix(local):
    (first, *_) = await local.search("12 av jean jaures")
    assert first == AddressCandidate(
        label="12 Avenue Jean Jaurès 45990 Villebrune",
        street="Avenue Jean Jaurès",
        housenumber=12,
        score=1.0,
        postcode="45990",
        city="Villebrune",
    )
    (bis, *_) = await local.search("12bis rue pasteur")
    assert bis.label == "12 bis Rue Pasteur 45990 Villebrune"
    (letter, *_) = await local.search("12b rue pasteur")
    assert letter.label == "12 B Rue Pasteur 45990 Villebrune"
    (no_number, *_) = await local.search("chemin des vignes")
    assert no_number.label == "Chemin des Vignes 45990 Villebrune"


async def test_street_type_matters_less_than_the_name(local):
    (right_type, *_) = await local.search("av jean jaures")
    (wrong_type, *_) = await local.search("rue jean jaures")
    assert right_type.street == wrong_type.street == "Avenue Jean Jaurès"
    assert MIN_SCORE <= wrong_type.score < right_type.score


async def test_typo_scores_below_exact(local):
    (exact, *_) = await local.search("rue victor hugo")
    (typo, *_) = await local.search("rue victor hugi")
    assert exact.score == 1.0
    assert MIN_SCORE <= typo.score < exact.score


async def test_same_name_two_types_gives_both_right_type_first(local):
    candidates = await local.search("rue de la paix")
    assert [c.street for c in candidates[:2]] == ["Rue de la Paix", "Allée de la Paix"]
    assert candidates[0].score > candidates[1].score >= MIN_SCORE
    candidates = await local.search("12 allee de la paix")
    assert [(c.street, c.housenumber) for c in candidates[:2]] == [
        ("Allée de la Paix", 12),
        ("Rue de la Paix", 12),
    ]


@pytest.mark.parametrize(
    "text, streets",
    [
        ("paix", {"Rue de la Paix", "Allée de la Paix"}),
        ("jean", {"Avenue Jean Jaurès", "Rue Jean Moulin"}),
    ],
)
async def test_ambiguous_name_gives_several_close_candidates(local, text, streets):
    candidates = await local.search(text)
    assert {c.street for c in candidates} == streets
    assert abs(candidates[0].score - candidates[1].score) < 0.05


async def test_candidates_sorted_above_threshold_and_limited(local):
    candidates = await local.search("moulin")
    assert [c.street for c in candidates] == ["Rue du Moulin", "Rue Jean Moulin"]
    scores = [c.score for c in candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(s >= MIN_SCORE for s in scores)
    assert [c.street for c in await local.search("moulin", limit=1)] == ["Rue du Moulin"]
    with pytest.raises(ValueError):
        await local.search("moulin", limit=0)


async def test_aliases_find_the_official_name():
    geocoder = LocalGeocoder(
        STREETS,
        POSTCODE,
        CITY,
        aliases={
            "Place de la Mairie": ["Place de l'Hôtel de Ville"],
            "Avenue du Général de Gaulle": ["Avenue Charles de Gaulle"],
        },
    )
    (first, *_) = await geocoder.search("2 place de l'hotel de ville")
    assert (first.street, first.housenumber) == ("Place de la Mairie", 2)
    (first, *_) = await geocoder.search("av charles de gaulle")
    assert first.street == "Avenue du Général de Gaulle"
    assert first.label == "Avenue du Général de Gaulle 45990 Villebrune"
    with pytest.raises(ValueError, match="not in the street list"):
        LocalGeocoder(STREETS, POSTCODE, CITY, aliases={"Rue Inconnue": ["rue x"]})


def test_local_configuration_errors():
    with pytest.raises(ValueError):
        LocalGeocoder(STREETS, "4599", CITY)
    with pytest.raises(ValueError):
        LocalGeocoder(STREETS, POSTCODE, " ")
    with pytest.raises(ValueError):
        LocalGeocoder(["Rue Pasteur", ""], POSTCODE, CITY)
    assert LocalGeocoder(["Rue Pasteur", "Rue  Pasteur"], POSTCODE, CITY).streets == ["Rue Pasteur"]


# --- GeoplateformeGeocoder against a local server ---------------------------------------------------------


def feature(
    kind: str,
    *,
    street: str | None = None,
    name: str | None = None,
    housenumber: str | None = None,
    score: float = 0.9,
    citycode: str = CITYCODE,
    postcode: str = POSTCODE,
    city: str = CITY,
) -> dict:
    """One feature of the published GeoJSON answer (addok / BAN properties)."""
    if kind == "housenumber":
        name = f"{housenumber} {street}"
        label = f"{name} {postcode} {city}"
    elif kind == "street":
        label = f"{name} {postcode} {city}"
    else:
        label = f"{name or city}"
    properties = {
        "label": label,
        "score": score,
        "id": f"{citycode}_0001",
        "name": name or city,
        "postcode": postcode,
        "citycode": citycode,
        "x": 619000.1,
        "y": 6752000.2,
        "city": city,
        "context": "45, Loiret, Centre-Val de Loire",
        "type": kind,
        "importance": 0.5,
    }
    if housenumber is not None:
        properties["housenumber"] = housenumber
    if street is not None:
        properties["street"] = street
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [1.9, 47.9]},
        "properties": properties,
    }


@dataclass
class FakeGeoplateforme:
    """Mimics GET /geocodage/search; records every request it receives."""

    features: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    mode: str = "normal"  # normal | slow | error500 | rate_limited | malformed | no_features
    delay_s: float = 5.0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""

    async def search(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path, "query": list(request.query.items())})
        if self.mode == "slow":
            try:
                await asyncio.wait_for(self.release.wait(), self.delay_s)
            except asyncio.TimeoutError:
                pass
        if self.mode == "error500":
            return web.Response(status=500, text="Internal Server Error")
        if self.mode == "rate_limited":
            return web.json_response({"code": 429, "message": "Too Many Requests"}, status=429)
        if self.mode == "malformed":
            return web.Response(
                status=200,
                text='{"type": "FeatureCollection", "features": [',
                content_type="application/json",
            )
        if self.mode == "no_features":
            return web.json_response({"type": "FeatureCollection", "features": "none"})
        q = request.query.get("q", "")
        return web.json_response(
            {
                "type": "FeatureCollection",
                "version": "draft",
                "features": self.features,
                "attribution": "BAN",
                "licence": "ETALAB-2.0",
                "query": q,
                "filters": {"citycode": request.query["citycode"]} if "citycode" in request.query else {},
                "limit": int(request.query.get("limit", "10")),
            }
        )


@pytest.fixture
async def api():
    fake = FakeGeoplateforme()
    app = web.Application()
    app.router.add_get("/geocodage/search", fake.search)
    # access_log=None: the server's own access log would contain the address (it is not the client's log).
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.base_url = f"http://127.0.0.1:{port}/geocodage"
    try:
        yield fake
    finally:
        fake.release.set()
        await runner.cleanup()


def make_api_geocoder(fake: FakeGeoplateforme, **kwargs) -> GeoplateformeGeocoder:
    kwargs.setdefault("citycode", CITYCODE)
    kwargs.setdefault("known_streets", STREETS)
    return GeoplateformeGeocoder(base_url=fake.base_url, **kwargs)


async def test_api_query_parameters(api):
    api.features = [feature("housenumber", street="Avenue Jean Jaurès", housenumber="12", score=0.97)]
    async with make_api_geocoder(api) as geocoder:
        candidates = await geocoder.search("j'habite au 12 av jean jaures", limit=3)
    (request,) = api.requests
    assert request["path"] == "/geocodage/search"
    assert request["query"] == [
        ("q", "12 av jean jaures"),
        ("limit", "3"),
        ("index", "address"),
        ("citycode", CITYCODE),
    ]
    assert candidates == [
        AddressCandidate(
            label="12 Avenue Jean Jaurès 45990 Villebrune",
            street="Avenue Jean Jaurès",
            housenumber=12,
            score=0.97,
            postcode="45990",
            city="Villebrune",
        )
    ]


async def test_api_without_citycode_sends_none_and_keeps_any_town(api):
    api.features = [
        feature(
            "housenumber",
            street="Rue de Rivoli",
            housenumber="12",
            citycode="75101",
            postcode="75001",
            city="Paris",
        )
    ]
    async with make_api_geocoder(api, citycode=None, known_streets=None) as geocoder:
        candidates = await geocoder.search("12 rue de rivoli")
    assert [key for key, _ in api.requests[0]["query"]] == ["q", "limit", "index"]
    assert [(c.street, c.housenumber, c.city) for c in candidates] == [("Rue de Rivoli", 12, "Paris")]


async def test_api_streets_mapped_to_official_names(api):
    api.features = [
        # BAN spelling without accents, abbreviated, suffixed number
        feature("housenumber", street="Avenue Jean Jaures", housenumber="12bis", score=0.93),
        feature("housenumber", street="Av du Gal de Gaulle", housenumber="4", score=0.8),
        # a street feature carries its name in `name`
        feature("street", name="Rue de l'Eglise", score=0.7),
    ]
    async with make_api_geocoder(api) as geocoder:
        candidates = await geocoder.search("12bis avenue jean jaures")
    assert [(c.street, c.housenumber) for c in candidates] == [
        ("Avenue Jean Jaurès", 12),
        ("Avenue du Général de Gaulle", 4),
        ("Rue de l'Église", None),
    ]
    assert candidates[0].label == "12bis Avenue Jean Jaurès 45990 Villebrune"
    assert candidates[2].label == "Rue de l'Église 45990 Villebrune"
    assert candidates[0].score == 0.93  # the same name once normalised: the API score is kept
    assert all(0 <= c.score <= 1 for c in candidates)


async def test_api_filters_other_towns_types_and_unknown_streets(api):
    api.features = [
        feature("municipality", name="Villebrune", score=0.99),
        feature("locality", name="Les Hauts de Villebrune", score=0.95),
        feature("housenumber", street="Rue Victor Hugo", housenumber="3", citycode="45234", city="Montval"),
        feature("housenumber", street="Rue des Acacias", housenumber="3"),  # not in the territory list
        feature("housenumber", street="Rue Victor Hugo", housenumber="3", score=0.85),
        feature("housenumber", street="Rue Victor Hugo", housenumber="3", score=0.6),  # duplicate
        {"type": "Feature", "geometry": None, "properties": "broken"},
        "not a feature",
    ]
    async with make_api_geocoder(api) as geocoder:
        candidates = await geocoder.search("3 rue victor hugo")
    assert [(c.street, c.housenumber, c.score, c.city) for c in candidates] == [
        ("Rue Victor Hugo", 3, 0.85, "Villebrune")
    ]


async def test_api_close_street_of_other_type_is_not_mapped(api):
    # "Rue des Vignes" is not "Chemin des Vignes": their sectors may differ, so it is dropped.
    api.features = [feature("street", name="Rue des Vignes", score=0.9)]
    async with make_api_geocoder(api) as geocoder:
        assert await geocoder.search("rue des vignes") == []


async def test_api_limit_applies_after_filtering(api):
    api.features = [
        feature("housenumber", street="Rue de la Paix", housenumber="1", score=0.9),
        feature("housenumber", street="Allée de la Paix", housenumber="1", score=0.8),
    ]
    async with make_api_geocoder(api) as geocoder:
        candidates = await geocoder.search("1 de la paix", limit=1)
    assert [c.street for c in candidates] == ["Rue de la Paix"]


async def test_api_text_too_short_makes_no_call(api):
    async with make_api_geocoder(api) as geocoder:
        assert await geocoder.search("j'habite au ") == []
        assert await geocoder.search("12") == []
    assert api.requests == []


@pytest.mark.parametrize(
    "mode, message",
    [
        ("rate_limited", "HTTP 429"),
        ("error500", "HTTP 500"),
        ("malformed", "malformed JSON"),
        ("no_features", "malformed answer"),
    ],
)
async def test_api_errors_are_unavailable(api, mode, message):
    api.mode = mode
    async with make_api_geocoder(api) as geocoder:
        with pytest.raises(GeocoderUnavailable, match=message):
            await geocoder.search("12 av jean jaures")


async def test_api_timeout_is_unavailable(api):
    api.mode = "slow"
    async with make_api_geocoder(api, timeout_s=0.3) as geocoder:
        started = time.perf_counter()
        with pytest.raises(GeocoderUnavailable, match="no answer within 0.3 s"):
            await geocoder.search("12 av jean jaures")
        assert time.perf_counter() - started < 2.0


async def test_api_connection_refused_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The socket is closed and never listened on: connecting is refused.
    async with GeoplateformeGeocoder(base_url=f"http://127.0.0.1:{port}/geocodage", timeout_s=2) as geocoder:
        with pytest.raises(GeocoderUnavailable) as excinfo:
            await geocoder.search("12 av jean jaures")
    assert excinfo.value.__cause__ is None
    assert "jean" not in str(excinfo.value).lower()


async def test_api_log_lines_carry_no_address(api, caplog):
    caplog.set_level(logging.DEBUG)
    # A four-digit house number: the log lines carry durations in ms (< 1000 here), and a short
    # number such as "17" once matched « in 17 ms ».
    api.features = [feature("housenumber", street="Impasse des Lilas", housenumber="9517")]
    async with make_api_geocoder(api, timeout_s=0.3) as geocoder:
        candidates = await geocoder.search("j'habite au 9517 impasse des lilas")
        assert [c.street for c in candidates] == ["Impasse des Lilas"]
        errors = []
        for mode in ("rate_limited", "error500", "malformed", "slow"):
            api.mode = mode
            with pytest.raises(GeocoderUnavailable) as excinfo:
                await geocoder.search("9517 impasse des lilas")
            errors.append(str(excinfo.value))
    ours = [r for r in caplog.records if r.name == "waste.geocoder"]
    assert len(ours) == 5  # one line per call
    assert "200" in ours[0].getMessage() and "1 result(s)" in ours[0].getMessage()
    assert ours[0].levelno == logging.INFO
    assert [r.levelno for r in ours[1:]] == [logging.WARNING] * 4
    assert "429" in ours[1].getMessage() and "500" in ours[2].getMessage()
    assert "timeout" in ours[4].getMessage()
    everything = ("\n".join(r.getMessage() for r in caplog.records) + caplog.text + "\n".join(errors)).lower()
    for secret in ("lilas", "impasse", "9517", "q=", "habite"):
        assert secret not in everything


async def test_api_session_passed_in_is_left_open(api):
    api.features = [feature("housenumber", street="Rue Pasteur", housenumber="1")]
    async with aiohttp.ClientSession() as session:
        geocoder = make_api_geocoder(api, session=session)
        assert [c.street for c in await geocoder.search("1 rue pasteur")] == ["Rue Pasteur"]
        await geocoder.close()
        assert not session.closed
    # Without a session, the process's shared one (core.http) is used: left open by close(),
    # closed by close_all() at shutdown.
    owned = make_api_geocoder(api)
    await owned.search("1 rue pasteur")
    shared = http.get_session()
    await owned.close()
    assert not shared.closed
    await http.close_all()
    assert shared.closed


def test_api_configuration_errors():
    with pytest.raises(ValueError):
        GeoplateformeGeocoder(base_url="data.geopf.fr/geocodage")
    with pytest.raises(ValueError):
        GeoplateformeGeocoder(timeout_s=0)
    with pytest.raises(ValueError):
        GeoplateformeGeocoder(citycode="4599")
    assert GeoplateformeGeocoder(citycode="2A004").citycode == "2A004"


def test_fixture_answers_the_published_shape():
    answer = feature("housenumber", street="Rue Pasteur", housenumber="8")
    assert json.loads(json.dumps(answer))["properties"]["type"] == "housenumber"
    assert set(answer["properties"]) >= {
        "label",
        "score",
        "housenumber",
        "street",
        "name",
        "postcode",
        "citycode",
    }


# --- geocoder_from_env ------------------------------------------------------------------------------------


def test_env_default_is_local():
    geocoder = geocoder_from_env(STREETS, POSTCODE, CITY, CITYCODE, env={})
    assert isinstance(geocoder, LocalGeocoder)
    assert isinstance(geocoder, Geocoder)
    assert isinstance(
        geocoder_from_env(STREETS, POSTCODE, CITY, CITYCODE, env={"GRU_GEOCODER": " Local "}), LocalGeocoder
    )


async def test_env_geoplateforme(api):
    api.features = [feature("housenumber", street="Rue Victor Hugo", housenumber="6")]
    env = {
        "GRU_GEOCODER": "geoplateforme",
        "GRU_GEOCODER_URL": api.base_url + "/",
        "GRU_GEOCODER_TIMEOUT": "1.5",
    }
    geocoder = geocoder_from_env(STREETS, POSTCODE, CITY, CITYCODE, env=env)
    assert isinstance(geocoder, GeoplateformeGeocoder)
    assert isinstance(geocoder, Geocoder)
    assert (geocoder.base_url, geocoder.citycode, geocoder.timeout_s) == (api.base_url, CITYCODE, 1.5)
    try:
        (first,) = await geocoder.search("6 r victor hugo")
    finally:
        await geocoder.close()
    assert (first.street, first.housenumber) == ("Rue Victor Hugo", 6)
    assert ("citycode", CITYCODE) in api.requests[0]["query"]


def test_env_geoplateforme_defaults():
    geocoder = geocoder_from_env(STREETS, POSTCODE, CITY, CITYCODE, env={"GRU_GEOCODER": "geoplateforme"})
    assert isinstance(geocoder, GeoplateformeGeocoder)
    assert (geocoder.base_url, geocoder.timeout_s) == (DEFAULT_GEOPLATEFORME_URL, 3.0)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"GRU_GEOCODER": "google"}, "GRU_GEOCODER must be"),
        ({"GRU_GEOCODER": "geoplateforme", "GRU_GEOCODER_TIMEOUT": "abc"}, "GRU_GEOCODER_TIMEOUT"),
        ({"GRU_GEOCODER": "geoplateforme", "GRU_GEOCODER_TIMEOUT": "0"}, "GRU_GEOCODER_TIMEOUT"),
        ({"GRU_GEOCODER": "geoplateforme", "GRU_GEOCODER_TIMEOUT": "-2"}, "GRU_GEOCODER_TIMEOUT"),
        ({"GRU_GEOCODER": "geoplateforme", "GRU_GEOCODER_URL": "ftp://x"}, "http"),
    ],
)
def test_env_errors(env, message):
    with pytest.raises(ValueError, match=message):
        geocoder_from_env(STREETS, POSTCODE, CITY, CITYCODE, env=env)
