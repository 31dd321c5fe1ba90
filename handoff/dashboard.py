"""The statistics pages of the agent console (same sign-in; roles « statistiques » and « admin »).

Pages (French, server-rendered, readable without JavaScript; RGAA: labelled fields, every
chart followed by its table, keyboard only, contrasts of the console):
  GET /statistiques                       the dashboard for a range of days (?debut=&fin=)
  GET /statistiques/questions             the unanswered questions, grouped
  GET /statistiques/export/<table>.csv    any table of the dashboard, or `questions`
JSON for the page's script (web/src/dashboard.js, bundled with Chart.js into
web/dist/dashboard.js and served at /bundles/dashboard.js — no CDN, no inline script):
  GET /api/statistiques                   the figures; polled every few seconds
  GET /api/statistiques/questions/phrases ?groupe=&intention=: a group as Rasa NLU YAML

The figures come from the statistics tables (analytics/), which the job fills every minute;
before answering, the dashboard reads what is new itself when its latest read is more than
INGEST_EVERY seconds old, so that the page follows the conversations within seconds.
Bookings and hand-offs are read from their own tables (booking/stats.py, handoff/stats.py).
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from datetime import date, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from statistics import mean
from typing import Any, Dict, List

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from analytics import unanswered
from analytics.export import csv_text
from analytics.figures import MAX_DAYS, Figures, Indicator, Table, conversation_figures, day_fr, days, merge
from analytics.ingest import ingest_once
from analytics.labels import ANALYTICS_TOPICS, KIND_LABELS
from booking.stats import REASON_LABELS, booking_counts
from core.content import ContentError
from core.db import session_scope
from core.topics import INTENT_LABELS
from handoff import console as console_page
from handoff.stats import handoff_counts
from knowledge.content import RETRIEVAL_INTENT, load_knowledge_base

logger = logging.getLogger(__name__)

ROLES = ("statistiques", "admin")
DEFAULT_DAYS = 30
INGEST_EVERY = 5.0  # seconds
INGEST_BATCHES = 4  # per refresh, at most (the job reads a larger backlog)
REFRESH_SECONDS = 10  # the page's polling (web/src/dashboard.js reads it from the page)
BUNDLE = Path(__file__).resolve().parent.parent / "web" / "dist" / "dashboard.js"
SHOWN_EXAMPLES = 8


class BadRange(ValueError):
    """A date range the dashboard refuses (French message)."""


def parse_range(query: Dict[str, str], today: date) -> tuple[date, date]:
    """?debut=AAAA-MM-JJ&fin=AAAA-MM-JJ (the last DEFAULT_DAYS days by default)."""
    try:
        end = date.fromisoformat(query["fin"]) if query.get("fin") else today
        start = (
            date.fromisoformat(query["debut"]) if query.get("debut") else end - timedelta(DEFAULT_DAYS - 1)
        )
    except ValueError:
        raise BadRange("Date invalide : utilisez le format JJ/MM/AAAA du calendrier.") from None
    if start > end:
        raise BadRange("La date de début est après la date de fin.")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRange(f"Période trop longue : {MAX_DAYS} jours au plus.")
    return start, end


@lru_cache(maxsize=1)
def intent_names() -> tuple[str, ...]:
    """What a group can be copied as: the assistant's intents and the knowledge base's entries."""
    intents = sorted(
        {*INTENT_LABELS, *ANALYTICS_TOPICS}
        - {"nlu_fallback", RETRIEVAL_INTENT, "rate_helpful", "rate_unhelpful"}
    )
    try:
        entries = sorted(f"{RETRIEVAL_INTENT}/{key}" for key in load_knowledge_base().entries)
    except ContentError as exc:  # the knowledge base is checked at start; here, offer the intents only
        logger.warning("knowledge base unreadable: %s", type(exc).__name__)
        entries = []
    return (*intents, *entries)


def _rate_text(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:.1f}".replace(".", ",")
    return f"{value}{' ' + unit if unit else ''}"


def booking_tables(start: date, end: date, db_url: str | None) -> tuple[List[Indicator], List[Table]]:
    counts = booking_counts(start, end, db_url)
    per_day = [
        [day_fr(day), *(counts.by_day.get(day, {}).get(k, 0) for k in ("made", "moved", "cancelled"))]
        for day in days(start, end)
    ]
    per_reason = [
        [
            REASON_LABELS.get(reason, reason),
            *(counts.by_reason.get(reason, {}).get(k, 0) for k in ("made", "moved", "cancelled")),
        ]
        for reason in REASON_LABELS
    ]
    made = sum(row[1] for row in per_day)
    tables = [
        Table(
            "rendez_vous",
            "Rendez-vous pris, déplacés et annulés par jour",
            ["Jour", "Pris", "Déplacés", "Annulés"],
            per_day,
            chart={"type": "bar", "labels": 0, "series": [1, 2, 3]},
            note="Tous canaux (conversation, pages de rendez-vous, agents). Un rendez-vous déplacé "
            "plusieurs fois compte une fois, le jour du dernier déplacement.",
        ),
        Table(
            "rendez_vous_motifs",
            "Rendez-vous par motif",
            ["Motif", "Pris", "Déplacés", "Annulés"],
            per_reason,
        ),
    ]
    return [Indicator("rendez_vous", "Rendez-vous pris", made)], tables


def handoff_tables(start: date, end: date, tz, db_url: str | None, services: Dict[str, str]) -> List[Table]:
    counts = handoff_counts(start, end, tz, db_url)

    def wait(values: List[float]) -> float | None:
        return round(mean(values), 1) if values else None

    per_day = [
        [
            day_fr(day),
            *(counts.by_day.get(day, {}).get(k, 0) for k in ("asked", "taken", "not_taken", "callbacks")),
            wait(counts.waits.get(day, [])),
        ]
        for day in days(start, end)
    ]
    per_service = [
        [
            services.get(service, service),
            *(counts.by_service[service].get(k, 0) for k in ("asked", "taken", "not_taken", "callbacks")),
            wait(counts.service_waits.get(service, [])),
        ]
        for service in sorted(counts.by_service, key=lambda s: -counts.by_service[s]["asked"])
    ]
    columns = ["Demandes d'agent", "Prises en charge", "Sans agent à temps", "Demandes de rappel",
               "Attente moyenne (min)"]  # fmt: skip
    return [
        Table(
            "agents",
            "Mises en relation avec un agent et demandes de rappel, par jour",
            ["Jour", *columns],
            per_day,
            chart={"type": "bar", "labels": 0, "series": [1, 2, 4]},
        ),
        Table("agents_services", "Mises en relation par service", ["Service", *columns], per_service),
    ]


class Dashboard:
    def __init__(self, console: console_page.Console, tracker_url: str | None = None) -> None:
        self.console = console
        self.tracker_url = tracker_url
        self._ingested = 0.0
        self._ingesting = asyncio.Lock()

    @property
    def tz(self):
        return self.console.territory.tz

    def today(self) -> date:
        return self.console.now().replace(tzinfo=timezone.utc).astimezone(self.tz).date()

    async def _signed_in(self, request: web.Request):
        return await self.console.agent_of(request, roles=ROLES)

    def _range(self, request: web.Request) -> tuple[date, date]:
        try:
            return parse_range(dict(request.query), self.today())
        except BadRange as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None

    # ---- figures ----

    async def refresh(self) -> None:
        """Read what is new in the conversation store, at most every INGEST_EVERY seconds."""
        async with self._ingesting:
            if time.monotonic() - self._ingested < INGEST_EVERY:
                return
            try:
                for _ in range(INGEST_BATCHES):
                    if not (await asyncio.to_thread(self._ingest_batch)).events:
                        break
            except (SQLAlchemyError, OSError) as exc:  # the figures already in the tables are shown
                logger.warning("statistics not refreshed: %s", type(exc).__name__)
            self._ingested = time.monotonic()

    def _ingest_batch(self):
        return ingest_once(tracker_url=self.tracker_url, db_url=self.console.db_url, tz=self.tz)

    def _figures(self, start: date, end: date) -> Figures:
        db_url = self.console.db_url
        now = self.console.now().replace(tzinfo=timezone.utc)
        with session_scope(db_url) as db:
            figures = conversation_figures(db, start, end, now)
        indicators, bookings = booking_tables(start, end, db_url)
        services = {key: service.name for key, service in self.console.territory.services.items()}
        return merge(figures, indicators, [*bookings, *handoff_tables(start, end, self.tz, db_url, services)])

    async def figures(self, start: date, end: date) -> Figures:
        await self.refresh()
        return await asyncio.to_thread(self._figures, start, end)

    def _questions(self, start: date, end: date):
        with session_scope(self.console.db_url) as db:
            found = unanswered.questions(db, start, end)
        groups, left_out = unanswered.group(found)
        return found, groups, left_out

    # ---- pages ----

    def _frame(self, agent, csrf: str, current: str, title: str, body: str) -> web.Response:
        links = [("/statistiques", "Tableau de bord"), ("/statistiques/questions", "Questions sans réponse")]
        if agent.role == "admin":
            links.append(("/", "Console des agents"))
        current_mark = ' aria-current="page"'
        items = "".join(
            f'<li><a href="{href}"{current_mark if href == current else ""}>{text}</a></li>'
            for href, text in links
        )
        header = f"""<header>
<nav aria-label="Menu principal"><ul>{items}</ul></nav>
<p class="who">{html.escape(agent.display_name)}</p>
<form method="post" action="/deconnexion"><input type="hidden" name="csrf" value="{html.escape(csrf)}">
<button type="submit">Se déconnecter</button></form>
</header>"""
        return console_page.page(title, header + body)

    @staticmethod
    def _period_form(action: str, start: date, end: date) -> str:
        return f"""<form method="get" action="{action}" class="periode">
<fieldset><legend>Période</legend>
<p><label for="debut">Du</label>
<input type="date" id="debut" name="debut" value="{start.isoformat()}" required></p>
<p><label for="fin">Au</label>
<input type="date" id="fin" name="fin" value="{end.isoformat()}" required></p>
<p><button type="submit">Afficher</button></p>
</fieldset></form>"""

    @staticmethod
    def _query(start: date, end: date) -> str:
        return f"debut={start.isoformat()}&amp;fin={end.isoformat()}"

    async def page(self, request: web.Request) -> web.Response:
        agent, csrf = await self._signed_in(request)
        start, end = self._range(request)
        figures = await self.figures(start, end)
        indicators = "".join(
            f"<div><dt>{html.escape(i.label)}</dt>"
            f'<dd data-indicateur="{i.key}">{_rate_text(i.value, i.unit)}</dd></div>'
            for i in figures.indicators
        )
        summary = "".join(f'<li><a href="#t-{t.key}">{html.escape(t.title)}</a></li>' for t in figures.tables)
        sections = "".join(self._table_section(t, start, end) for t in figures.tables)
        body = f"""<main id="contenu" data-debut="{start.isoformat()}" data-fin="{end.isoformat()}"
 data-actualisation="{REFRESH_SECONDS}">
<h1>Statistiques de l'assistant</h1>
{self._period_form("/statistiques", start, end)}
<p id="maj">Du {day_fr(start)} au {day_fr(end)}. Chiffres mis à jour à
<span id="heure-maj">{self._clock()}</span>, actualisés toutes les {REFRESH_SECONDS} secondes.</p>
<section aria-labelledby="titre-indicateurs"><h2 id="titre-indicateurs">En bref</h2>
<dl class="indicateurs">{indicators}</dl></section>
<nav aria-labelledby="titre-sommaire" class="sommaire">
<h2 id="titre-sommaire">Tableaux</h2><ul>{summary}</ul></nav>
{sections}
</main>
<script src="/bundles/dashboard.js"></script>"""
        return self._frame(agent, csrf, "/statistiques", "Tableau de bord", body)

    def _clock(self) -> str:
        moment = self.console.now().replace(tzinfo=timezone.utc).astimezone(self.tz)
        return moment.strftime("%H:%M:%S")

    def _table_section(self, table: Table, start: date, end: date) -> str:
        key = html.escape(table.key)
        title = html.escape(table.title)
        chart = ""
        if table.chart:
            chart = (
                f'<div class="graphique"><canvas id="graphique-{key}" role="img" '
                f'aria-label="Graphique : {title}. Les mêmes chiffres sont dans le tableau qui suit.">'
                "Graphique : voir le tableau qui suit.</canvas></div>"
            )
        head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in table.columns)
        note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
        return f"""<section id="t-{key}" aria-labelledby="titre-{key}">
<h2 id="titre-{key}">{title}</h2>
{chart}
<div class="defile" role="region" aria-labelledby="legende-{key}" tabindex="0">
<table id="tableau-{key}"><caption id="legende-{key}">{title} — tableau</caption>
<thead><tr>{head}</tr></thead><tbody>{self._rows(table)}</tbody></table></div>
{note}
<p><a href="/statistiques/export/{key}.csv?{self._query(start, end)}">Télécharger ce tableau (CSV)</a></p>
</section>"""

    @staticmethod
    def _rows(table: Table) -> str:
        if not table.rows:
            return f'<tr><td colspan="{len(table.columns)}">Aucune donnée sur cette période.</td></tr>'
        out = []
        for row in table.rows:
            cells = [f'<th scope="row">{html.escape(str(row[0]))}</th>']
            cells += [f"<td>{html.escape(_rate_text(v))}</td>" for v in row[1:]]
            out.append(f"<tr>{''.join(cells)}</tr>")
        return "".join(out)

    async def questions_page(self, request: web.Request) -> web.Response:
        agent, csrf = await self._signed_in(request)
        start, end = self._range(request)
        await self.refresh()
        found, groups, left_out = await asyncio.to_thread(self._questions, start, end)
        options = "".join(f'<option value="{html.escape(name)}"></option>' for name in intent_names())
        sections = "".join(self._group_section(g) for g in groups)
        more = (
            f"<p>{left_out} question(s) plus ancienne(s) ne sont pas regroupées : réduisez la période.</p>"
            if left_out
            else ""
        )
        body = f"""<main id="contenu" data-debut="{start.isoformat()}" data-fin="{end.isoformat()}">
<h1>Questions sans réponse</h1>
{self._period_form("/statistiques/questions", start, end)}
<p>Du {day_fr(start)} au {day_fr(end)} : {len(found)} question(s) non comprise(s), jugée(s) inutile(s) ou
commentée(s), en {len(groups)} groupe(s) de questions proches. Les e-mails, téléphones, références,
numéros, noms et adresses sont masqués.</p>
{more}
<p><a href="/statistiques/export/questions.csv?{self._query(start, end)}">
Télécharger toutes les questions (CSV)</a></p>
<datalist id="intentions">{options}</datalist>
{sections or "<p>Aucune question sans réponse sur cette période.</p>"}
</main>
<script src="/bundles/dashboard.js"></script>"""
        return self._frame(agent, csrf, "/statistiques/questions", "Questions sans réponse", body)

    @staticmethod
    def _group_section(group: unanswered.Group) -> str:
        n = group.number
        first = html.escape(group.examples[0][0])

        def item(text: str, times: int) -> str:
            repeated = f' <span class="fois">(× {times})</span>' if times > 1 else ""
            return f"<li>{html.escape(text)}{repeated}</li>"

        shown = "".join(item(t, c) for t, c in group.examples[:SHOWN_EXAMPLES])
        rest = group.examples[SHOWN_EXAMPLES:]
        others = "".join(item(t, c) for t, c in rest)
        hidden = (
            f"<details><summary>Voir les {len(rest)} autre(s)</summary><ul>{others}</ul></details>"
            if rest
            else ""
        )
        kinds = ", ".join(f"{KIND_LABELS.get(k, k).lower()} : {c}" for k, c in sorted(group.kinds.items()))
        hint = html.escape(group.intent_hint or "")
        hint_text = f" Intention la plus proche selon l'assistant : <code>{hint}</code>." if hint else ""
        return f"""<section class="groupe" aria-labelledby="groupe-{n}">
<h2 id="groupe-{n}">Groupe {n} : « {first} » — {group.count} question(s)</h2>
<p>{html.escape(kinds)}.{hint_text}</p>
<ul>{shown}</ul>{hidden}
<form class="copie" data-groupe="{n}">
<p><label for="intention-{n}">Copier comme phrases d'entraînement de l'intention (ou faq/entrée)</label>
<input id="intention-{n}" name="intention" list="intentions" value="{hint}" required maxlength="100"
 autocomplete="off" spellcheck="false">
<button type="submit">Copier en YAML NLU</button></p>
<p><label for="yaml-{n}">YAML NLU du groupe {n}</label>
<textarea id="yaml-{n}" rows="6" readonly></textarea></p>
<p id="etat-{n}" role="status" aria-live="polite"></p>
</form>
</section>"""

    # ---- JSON and CSV ----

    async def api(self, request: web.Request) -> web.Response:
        await self._signed_in(request)
        start, end = self._range(request)
        figures = await self.figures(start, end)
        return web.json_response(
            {
                "debut": start.isoformat(),
                "fin": end.isoformat(),
                "heure": self._clock(),
                "indicateurs": [
                    {
                        "cle": i.key,
                        "libelle": i.label,
                        "valeur": i.value,
                        "texte": _rate_text(i.value, i.unit),
                    }
                    for i in figures.indicators
                ],
                "tableaux": [t.as_dict() for t in figures.tables],
            }
        )

    async def phrasings(self, request: web.Request) -> web.Response:
        await self._signed_in(request)
        start, end = self._range(request)
        intent = str(request.query.get("intention") or "").strip()
        if intent not in intent_names():
            raise web.HTTPBadRequest(text="Intention inconnue : choisissez-en une dans la liste proposée.")
        try:
            number = int(request.query.get("groupe", ""))
        except ValueError:
            raise web.HTTPBadRequest(text="Groupe inconnu : rechargez la page.") from None
        _, groups, _ = await asyncio.to_thread(self._questions, start, end)
        found = next((g for g in groups if g.number == number), None)
        if found is None:
            raise web.HTTPNotFound(text="Ce groupe n'existe plus : rechargez la page.")
        return web.json_response({"yaml": unanswered.nlu_yaml(intent, [t for t, _ in found.examples])})

    async def export(self, request: web.Request) -> web.Response:
        await self._signed_in(request)
        start, end = self._range(request)
        key = request.match_info["key"]
        if key == "questions":
            found = await asyncio.to_thread(lambda: self._questions(start, end)[0])
            columns = ["Date", "Type", "Question (masquée)", "Intention la plus proche"]
            rows = [
                [
                    q.at.replace(tzinfo=timezone.utc).astimezone(self.tz).strftime("%d/%m/%Y %H:%M"),
                    KIND_LABELS.get(q.kind, q.kind),
                    q.text,
                    q.intent or "",
                ]  # fmt: skip
                for q in found
            ]
        else:
            figures = await self.figures(start, end)
            table = next((t for t in figures.tables if t.key == key), None)
            if table is None:
                raise web.HTTPNotFound(text="Tableau inconnu.")
            columns, rows = table.columns, table.rows
        name = f"statistiques-{key}-{start.isoformat()}-{end.isoformat()}.csv"
        return web.Response(
            text=csv_text(columns, rows),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def bundle(self, request: web.Request) -> web.StreamResponse:
        if not BUNDLE.exists():
            raise web.HTTPNotFound(text="Graphiques indisponibles : lancez « make install » (web/dist).")
        return web.FileResponse(BUNDLE, headers={"Content-Type": "text/javascript; charset=utf-8"})


def register(app: web.Application, console: console_page.Console) -> Dashboard:
    """Add the statistics routes to the console's app."""
    dashboard = Dashboard(console)
    app.add_routes(
        [
            web.get("/statistiques", dashboard.page),
            web.get("/statistiques/questions", dashboard.questions_page),
            web.get("/statistiques/export/{key}.csv", dashboard.export),
            web.get("/api/statistiques", dashboard.api),
            web.get("/api/statistiques/questions/phrases", dashboard.phrasings),
            web.get("/bundles/dashboard.js", dashboard.bundle),
        ]
    )
    return dashboard
