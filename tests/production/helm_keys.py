"""The key paths of a Helm values file, to check ours against a chart's (test_deploy_containers).

`python -m tests.production.helm_keys CHART_VALUES.yaml > tests/fixtures/helm/<chart>-<version>.keys`
wrote the fixtures from the charts' own values.yaml (the source and commit are in each
fixture's header). One path per line: `a.b.c` a key, `a.b.*` a map the chart leaves open
(`{}` by default: annotations, resources…), `a.b[]` a list (its items are free).
"""

from __future__ import annotations

import sys
from typing import Any, Iterator

import yaml


def chart_paths(values: Any, prefix: str = "") -> Iterator[str]:
    """Every path of a chart's values.yaml, open maps and lists marked."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield path
            yield from chart_paths(value, path + ".")
        elif isinstance(value, dict):
            yield path + ".*"
        elif isinstance(value, list):
            yield path + "[]"
        else:
            yield path


def our_paths(values: Any, prefix: str = "") -> Iterator[str]:
    """The leaf paths of our values file (a list is a leaf: the chart copies it as is)."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from our_paths(value, path + ".")
        else:
            yield path


def unknown_paths(ours: Any, chart_keys: set[str]) -> list[str]:
    """Our paths that the chart does not have, nor leave open."""
    unknown = []
    for path in our_paths(ours):
        parts = path.split(".")
        prefixes = [".".join(parts[:i]) for i in range(1, len(parts))]
        if path in chart_keys or path + "[]" in chart_keys or path + ".*" in chart_keys:
            continue
        if any(p + ".*" in chart_keys for p in prefixes):
            continue
        unknown.append(path)
    return unknown


def read_keys(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        print("\n".join(sorted(set(chart_paths(yaml.safe_load(handle))))))
