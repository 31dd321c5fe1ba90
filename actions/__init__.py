"""Custom actions of the citizen assistant (rasa-sdk) and the plain-Python logic they use.

Importing the package first checks every content file (`check_all_content`): the action
modules load them at import, and a mistake in a file must stop the action server with the
French report (file, field, line) rather than a traceback. `python -m ops.check_content`
(make check-content) prints the same report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, List, NamedTuple, Sequence, Tuple

from alerts.config import ALERTS_LABEL, alerts_path, load_alerts_config
from booking.config import (
    BOOKING_LABEL,
    BULKY_BOOKING_LABEL,
    booking_path,
    bulky_booking_path,
    load_booking_config,
    load_bulky_booking_config,
)
from booking.facts import NATIONAL_FACTS_LABEL, facts_path, load_national_facts
from core.content import ContentError, shown_path
from core.privacy import PRIVACY_LABEL, load_privacy, privacy_path
from core.territory import TERRITORY_LABEL, load_territory, territory_path
from events.local import EVENTS_LABEL, events_path, load_events_file
from knowledge.content import KNOWLEDGE_LABEL, knowledge_dir, load_knowledge_base
from reports.config import REPORTS_LABEL, load_reports_config, reports_path
from tracking.local import TRACKING_LABEL, load_tracking_file, tracking_path
from transport.config import TRANSPORT_LABEL, load_transport_config, transport_path
from transport.feed import GTFS_LABEL, gtfs_path, load_feed
from waste.config import WASTE_LABEL, load_waste_config, waste_path
from waste.recycling import RECYCLING_LABEL, load_recycling_config, recycling_path
from waste.sorting import SORTING_LABEL, load_sorting_guide, sorting_guide_path
from welfare.config import WELFARE_LABEL, load_welfare_config, welfare_path

# (what the file is about, where it is: default or GRU_*_FILE, its loader)
CONTENT_FILES: Tuple[Tuple[str, Callable[[], Path], Callable[[Path], object]], ...] = (
    (TERRITORY_LABEL, territory_path, load_territory),
    (BOOKING_LABEL, booking_path, load_booking_config),
    (BULKY_BOOKING_LABEL, bulky_booking_path, load_bulky_booking_config),
    (WASTE_LABEL, waste_path, load_waste_config),
    (RECYCLING_LABEL, recycling_path, load_recycling_config),
    (SORTING_LABEL, sorting_guide_path, load_sorting_guide),
    (WELFARE_LABEL, welfare_path, load_welfare_config),
    (TRACKING_LABEL, tracking_path, load_tracking_file),
    (NATIONAL_FACTS_LABEL, facts_path, load_national_facts),
    (PRIVACY_LABEL, privacy_path, load_privacy),
    (ALERTS_LABEL, alerts_path, load_alerts_config),
    (REPORTS_LABEL, reports_path, load_reports_config),
    (EVENTS_LABEL, events_path, load_events_file),
    (GTFS_LABEL, gtfs_path, load_feed),
    (TRANSPORT_LABEL, transport_path, load_transport_config),
    (KNOWLEDGE_LABEL, knowledge_dir, load_knowledge_base),
)


class ContentCheck(NamedTuple):
    label: str
    path: Path
    error: ContentError | None  # None: the file is valid


def check_all_content() -> List[ContentCheck]:
    """Load every content file, each from the path its loader would use now."""
    results = []
    for label, path_of, load in CONTENT_FILES:
        path = path_of()
        try:
            load(path)
        except ContentError as exc:
            results.append(ContentCheck(label, path, exc))
        else:
            results.append(ContentCheck(label, path, None))
    return results


def content_report(results: Sequence[ContentCheck]) -> str:
    """One line per file (« ✓ chemin — sujet »), followed by the French errors of an invalid one."""
    lines = []
    for label, path, error in results:
        lines.append(f"{'✓' if error is None else '✗'} {shown_path(path)} — {label}")
        if error is not None:
            lines.extend(f"    {line}" for line in str(error).splitlines())
    invalid = sum(1 for result in results if result.error is not None)
    if invalid:
        lines.append(
            f"{invalid} fichier(s) de contenu à corriger sur {len(results)} ; "
            "vérifiez de nouveau avec : make check-content"
        )
    else:
        lines.append(f"Les {len(results)} fichiers de contenu sont valides.")
    return "\n".join(lines)


def _stop_on_invalid_content() -> None:
    results = check_all_content()
    if any(result.error is not None for result in results):
        print(content_report(results), file=sys.stderr)
        raise SystemExit(1)


_stop_on_invalid_content()
