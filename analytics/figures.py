"""The dashboard's figures, from the statistics tables, for a range of days (local calendar).

Every figure is a `Table`: a title, French column names and rows of plain values, so that
the same object gives the page's table, the chart drawn from it (the `chart` says which
columns), the JSON the page polls and the CSV export. Indicators are the few numbers shown
first. Rates are percentages rounded to one decimal; a rate with nothing to divide is None
(« — » on the page), never 0.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from statistics import mean, median
from typing import Any, Dict, Iterable, List, Sequence

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session as DbSession

from analytics.labels import (
    ANALYTICS_TOPIC_LABELS,
    CHANNEL_LABELS,
    FORM_LABELS,
    OUTCOME_LABELS,
    QUESTION_LABELS,
    label,
)
from analytics.models import AnalyticsForm, AnalyticsMessage, AnalyticsSession
from core.text import WEEKDAYS_FR
from core.topics import INTENT_LABELS

# A form still open in a conversation silent this long is counted as abandoned (Rasa starts a
# new session after an hour: session_config.session_expiration_time).
IDLE = timedelta(hours=1)
MAX_DAYS = 366
# Forms that are no démarche of the citizen: the rating has its own table (satisfaction).
NOT_A_PROCEDURE = ("satisfaction_form",)
TURN_BUCKETS = (
    (1, 1, "1 message"),
    (2, 2, "2 messages"),
    (3, 5, "3 à 5"),
    (6, 10, "6 à 10"),
    (11, None, "11 et plus"),
)


@dataclass
class Table:
    key: str  # the CSV file's name and the page's anchor
    title: str
    columns: List[str]
    rows: List[List[Any]]
    # {"type": "bar" | "line", "labels": column index, "series": [column indexes],
    #  "stacked": bool, "horizontal": bool}
    chart: Dict[str, Any] | None = None
    note: str | None = None

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class Indicator:
    key: str
    label: str
    value: Any
    unit: str = ""


@dataclass
class Figures:
    start: date
    end: date
    indicators: List[Indicator] = field(default_factory=list)
    tables: List[Table] = field(default_factory=list)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def indicator(self, key: str) -> Any:
        return next(i.value for i in self.indicators if i.key == key)


def rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def days(start: date, end: date) -> List[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def day_fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _in_range(column, start: date, end: date):
    return and_(column >= start, column <= end)


def conversations_by_day(db: DbSession, start: date, end: date) -> Table:
    counts: Dict[date, Counter] = defaultdict(Counter)
    channels: Counter = Counter()
    rows = db.execute(
        select(AnalyticsSession.day, AnalyticsSession.channel, func.count())
        .where(_in_range(AnalyticsSession.day, start, end))
        .group_by(AnalyticsSession.day, AnalyticsSession.channel)
    )
    for day, channel, count in rows:
        counts[day][channel] += count
        channels[channel] += count
    order = sorted(channels, key=lambda c: (list(CHANNEL_LABELS).index(c) if c in CHANNEL_LABELS else 99, c))
    columns = ["Jour", *(label(CHANNEL_LABELS, c) for c in order), "Total"]
    table_rows = [
        [day_fr(day), *(counts[day][c] for c in order), sum(counts[day].values())] for day in days(start, end)
    ]
    return Table(
        "conversations",
        "Conversations par jour et par canal",
        columns,
        table_rows,
        chart={"type": "bar", "labels": 0, "series": list(range(1, len(order) + 1)), "stacked": True},
        note="Une conversation est une session : une nouvelle commence après une heure de silence.",
    )


def turns_distribution(db: DbSession, start: date, end: date) -> tuple[Table, List[int]]:
    turns = list(
        db.execute(
            select(AnalyticsSession.turns).where(_in_range(AnalyticsSession.day, start, end))
        ).scalars()
    )
    total = len(turns)
    rows = []
    for low, high, name in TURN_BUCKETS:
        count = sum(1 for t in turns if t >= low and (high is None or t <= high))
        rows.append([name, count, rate(count, total)])
    table = Table(
        "messages_par_conversation",
        "Nombre de messages de l'usager par conversation",
        ["Messages par conversation", "Conversations", "Part (%)"],
        rows,
        chart={"type": "bar", "labels": 0, "series": [1]},
    )
    return table, turns


def topics(db: DbSession, start: date, end: date) -> Table:
    rows = db.execute(
        select(AnalyticsMessage.topic, func.count())
        .where(_in_range(AnalyticsMessage.day, start, end))
        .group_by(AnalyticsMessage.topic)
    ).all()
    total = sum(count for _, count in rows)
    ordered = sorted(rows, key=lambda r: (-r[1], r[0]))
    return Table(
        "sujets",
        "Sujets des messages",
        ["Sujet", "Messages", "Part (%)"],
        [[label(ANALYTICS_TOPIC_LABELS, topic), count, rate(count, total)] for topic, count in ordered],
        chart={"type": "bar", "labels": 0, "series": [1], "horizontal": True},
    )


def intents(db: DbSession, start: date, end: date, limit: int = 30) -> Table:
    rows = db.execute(
        select(AnalyticsMessage.intent, func.count())
        .where(_in_range(AnalyticsMessage.day, start, end))
        .group_by(AnalyticsMessage.intent)
    ).all()
    ordered = sorted(rows, key=lambda r: (-r[1], r[0]))[:limit]
    return Table(
        "intentions",
        f"Intentions reconnues (les {limit} plus fréquentes)",
        ["Intention", "Nom technique", "Messages"],
        [[INTENT_LABELS.get(intent, "—"), intent, count] for intent, count in ordered],
    )


def fallback_by_day(db: DbSession, start: date, end: date) -> Table:
    found = {
        day: (count, fallbacks or 0)
        for day, count, fallbacks in db.execute(
            select(
                AnalyticsMessage.day,
                func.count(),
                func.sum(case((AnalyticsMessage.fallback.is_(True), 1), else_=0)),
            )
            .where(_in_range(AnalyticsMessage.day, start, end))
            .group_by(AnalyticsMessage.day)
        )
    }
    rows = []
    for day in days(start, end):
        count, fallbacks = found.get(day, (0, 0))
        rows.append([day_fr(day), count, fallbacks, rate(fallbacks, count)])
    return Table(
        "non_compris",
        "Messages non compris par jour",
        ["Jour", "Messages", "Non compris", "Taux (%)"],
        rows,
        chart={"type": "line", "labels": 0, "series": [3]},
        note="Non compris : compréhension trop incertaine, ou dialogue incertain (aide proposée).",
    )


def _form_outcomes(db: DbSession, start: date, end: date, now: datetime):
    """(form, outcome, question) of the forms started in the range; `open` ones of a conversation
    silent for an hour become `abandoned`."""
    idle_before = now.astimezone(timezone.utc).replace(tzinfo=None) - IDLE
    rows = db.execute(
        select(AnalyticsForm.form, AnalyticsForm.outcome, AnalyticsForm.question, AnalyticsSession.ended_at)
        .join(AnalyticsSession, AnalyticsSession.id == AnalyticsForm.session_id)
        .where(_in_range(AnalyticsForm.day, start, end), AnalyticsForm.form.notin_(NOT_A_PROCEDURE))
    )
    for form, outcome, question, ended_at in rows:
        if outcome == "open" and ended_at < idle_before:
            outcome = "abandoned"
        yield form, outcome, question


FORM_COLUMNS = ("completed", "stopped", "handoff", "failed", "switched", "blocked", "abandoned", "open")


def forms(outcomes: Sequence[tuple]) -> Table:
    counts: Dict[str, Counter] = defaultdict(Counter)
    for form, outcome, _ in outcomes:
        counts[form][outcome] += 1
    rows = []
    for form in sorted(counts, key=lambda f: (-sum(counts[f].values()), f)):
        started = sum(counts[form].values())
        finished = started - counts[form]["open"]
        rows.append(
            [
                label(FORM_LABELS, form),
                started,
                *(counts[form][o] for o in FORM_COLUMNS),
                rate(counts[form]["completed"], finished),
            ]
        )
    return Table(
        "demarches",
        "Démarches commencées et comment elles se sont terminées",
        ["Démarche", "Commencées", *(OUTCOME_LABELS[o] for o in FORM_COLUMNS), "Taux d'achèvement (%)"],
        rows,
        chart={"type": "bar", "labels": 0, "series": [2, 3, 4, 5, 6, 8], "stacked": True, "horizontal": True},
        note="Taux d'achèvement : terminées sur démarches finies (celles en cours ne comptent pas).",
    )


ABANDON_COLUMNS = ("stopped", "failed", "abandoned", "handoff", "switched")


def abandonments(outcomes: Sequence[tuple]) -> Table:
    counts: Dict[tuple, Counter] = defaultdict(Counter)
    for form, outcome, question in outcomes:
        if outcome in ABANDON_COLUMNS:
            counts[(form, question)][outcome] += 1
    keys = sorted(counts, key=lambda k: (-sum(counts[k].values()), k[0], k[1] or ""))
    return Table(
        "abandons",
        "Où les démarches s'arrêtent : la question posée à ce moment",
        ["Démarche", "Question", *(OUTCOME_LABELS[o] for o in ABANDON_COLUMNS), "Total"],
        [
            [
                label(FORM_LABELS, form),
                label(QUESTION_LABELS, question) if question else "Avant la première question",
                *(counts[(form, question)][o] for o in ABANDON_COLUMNS),
                sum(counts[(form, question)].values()),
            ]
            for form, question in keys
        ],
    )


def satisfaction(db: DbSession, start: date, end: date) -> Table:
    counts: Dict[str, Counter] = defaultdict(Counter)
    rows = db.execute(
        select(AnalyticsSession.satisfaction_topic, AnalyticsSession.satisfaction, func.count())
        .where(_in_range(AnalyticsSession.day, start, end), AnalyticsSession.satisfaction_topic.isnot(None))
        .group_by(AnalyticsSession.satisfaction_topic, AnalyticsSession.satisfaction)
    )
    for topic, rating, count in rows:
        counts[topic]["asked"] += count
        if rating:
            counts[topic][rating] += count
    table_rows = []
    for topic in sorted(counts, key=lambda t: (-counts[t]["asked"], t)):
        c = counts[topic]
        answered = c["yes"] + c["no"]
        table_rows.append(
            [
                label(ANALYTICS_TOPIC_LABELS, topic),
                c["asked"],
                c["yes"],
                c["no"],
                rate(c["yes"], answered),
                rate(answered, c["asked"]),
            ]  # fmt: skip
        )
    return Table(
        "satisfaction",
        "Satisfaction : « Cette réponse vous a-t-elle aidé ? »",
        ["Sujet", "Question posée", "Oui", "Non", "Satisfaction (%)", "Taux de réponse (%)"],
        table_rows,
        chart={"type": "bar", "labels": 0, "series": [2, 3], "stacked": True, "horizontal": True},
    )


def busiest_hours(db: DbSession, start: date, end: date) -> tuple[Table, Table]:
    by_hour = dict(
        db.execute(
            select(AnalyticsMessage.hour, func.count())
            .where(_in_range(AnalyticsMessage.day, start, end))
            .group_by(AnalyticsMessage.hour)
        ).all()
    )
    by_weekday = dict(
        db.execute(
            select(AnalyticsMessage.weekday, func.count())
            .where(_in_range(AnalyticsMessage.day, start, end))
            .group_by(AnalyticsMessage.weekday)
        ).all()
    )
    hours = Table(
        "heures",
        "Messages par heure de la journée",
        ["Heure", "Messages"],
        [[f"{h} h – {h + 1} h", by_hour.get(h, 0)] for h in range(24)],
        chart={"type": "bar", "labels": 0, "series": [1]},
    )
    weekdays = Table(
        "jours_semaine",
        "Messages par jour de la semaine",
        ["Jour de la semaine", "Messages"],
        [[WEEKDAYS_FR[d].capitalize(), by_weekday.get(d, 0)] for d in range(7)],
        chart={"type": "bar", "labels": 0, "series": [1]},
    )
    return hours, weekdays


def conversation_figures(db: DbSession, start: date, end: date, now: datetime) -> Figures:
    """The figures that come from the conversations (the statistics tables)."""
    figures = Figures(start, end)
    by_day = conversations_by_day(db, start, end)
    turns_table, turns = turns_distribution(db, start, end)
    fallback_table = fallback_by_day(db, start, end)
    outcomes = list(_form_outcomes(db, start, end, now))
    forms_table = forms(outcomes)
    satisfaction_table = satisfaction(db, start, end)
    hours, weekdays = busiest_hours(db, start, end)
    messages = sum(row[1] for row in fallback_table.rows)
    fallbacks = sum(row[2] for row in fallback_table.rows)
    finished = [o for _, o, _ in outcomes if o != "open"]
    yes = sum(row[2] for row in satisfaction_table.rows)
    no = sum(row[3] for row in satisfaction_table.rows)
    figures.indicators = [
        Indicator("conversations", "Conversations", len(turns)),
        Indicator("messages", "Messages des usagers", messages),
        Indicator(
            "messages_moyenne",
            "Messages par conversation (moyenne)",
            round(mean(turns), 1) if turns else None,
        ),
        Indicator(
            "messages_mediane", "Messages par conversation (médiane)", median(turns) if turns else None
        ),
        Indicator("non_compris", "Messages non compris", rate(fallbacks, messages), "%"),
        Indicator("achevement", "Démarches terminées", rate(finished.count("completed"), len(finished)), "%"),
        Indicator("satisfaction", "Réponses jugées utiles", rate(yes, yes + no), "%"),
        Indicator("agents", "Conversations avec demande d'agent", _handoff_sessions(db, start, end)),
    ]
    figures.tables = [
        by_day,
        turns_table,
        topics(db, start, end),
        intents(db, start, end),
        fallback_table,
        forms_table,
        abandonments(outcomes),
        satisfaction_table,
        hours,
        weekdays,
    ]
    return figures


def _handoff_sessions(db: DbSession, start: date, end: date) -> int:
    return db.execute(
        select(func.count()).where(
            _in_range(AnalyticsSession.day, start, end), AnalyticsSession.handoff.is_(True)
        )
    ).scalar_one()


def merge(figures: Figures, indicators: Iterable[Indicator], tables: Iterable[Table]) -> Figures:
    """Figures of other sources (bookings, hand-offs) added to the conversations'."""
    figures.indicators.extend(indicators)
    figures.tables.extend(tables)
    return figures
