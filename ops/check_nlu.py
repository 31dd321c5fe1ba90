"""Quality gate on `rasa test nlu` results: intent macro-F1 (and entity F1) floors.

Also checks that the held-out test set really is held out: a test phrase that is
also a training example would inflate the score.

    python -m ops.check_nlu results/nlu --min-intent-f1 0.90 [--min-entity-f1 0.80]

The held-out set is every file of tests/nlu/: test_nlu.yml (first set, also used for
error analysis once) and test_nlu_fresh.yml (written blind, never looked at for tuning).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, Set

import yaml

from ops.render import ROOT

_ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")


def plain_text(example: str) -> str:
    """'rdv [passeport](document_type) !' -> 'rdv passeport !' (lower-cased, spaces collapsed)."""
    return " ".join(_ANNOTATION.sub(r"\1", example).lower().split())


def examples(files: Iterable[Path]) -> Dict[str, str]:
    """{plain text: intent} of every NLU example in `files`."""
    found: Dict[str, str] = {}
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []):
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    found[plain_text(line[2:])] = block["intent"]
    return found


def overlap(train_dir: Path, test_path: Path) -> Set[str]:
    """Test phrases (a file, or every file of a folder) that are also training phrases."""
    train = examples(sorted(train_dir.rglob("*.yml")))
    tests = sorted(test_path.rglob("*.yml")) if test_path.is_dir() else [test_path]
    return set(examples(tests)) & set(train)


def intent_report(results: Path) -> Dict[str, Any]:
    return json.loads((results / "intent_report.json").read_text())


def entity_scores(results: Path) -> Dict[str, float] | None:
    """Micro- and macro-F1 of the entity extractor's report (DIET here); None without one."""
    reports = sorted(results.glob("*Classifier_report.json")) + sorted(results.glob("*Extractor_report.json"))
    if not reports:
        return None
    entities = json.loads(reports[0].read_text())
    return {
        "micro": entities.get("micro avg", entities.get("weighted avg", {})).get("f1-score", 0.0),
        "macro": entities.get("macro avg", {}).get("f1-score", 0.0),
    }


def fallback_tradeoff(results: Path, thresholds=(0.3, 0.4, 0.45, 0.5, 0.6, 0.7)) -> list[str]:
    """For each FallbackClassifier threshold: right answers lost to a fallback vs wrong ones caught.

    Needs `rasa test nlu --successes` (intent_successes.json beside intent_errors.json).
    """
    successes_file, errors_file = results / "intent_successes.json", results / "intent_errors.json"
    if not successes_file.exists() or not errors_file.exists():
        return []
    right = [s["intent_prediction"]["confidence"] for s in json.loads(successes_file.read_text())]
    wrong = [e["intent_prediction"]["confidence"] for e in json.loads(errors_file.read_text())]
    lines = [f"fallback threshold trade-off ({len(right)} right, {len(wrong)} wrong predictions):"]
    for threshold in thresholds:
        lost = sum(c < threshold for c in right) / max(1, len(right))
        caught = sum(c < threshold for c in wrong) / max(1, len(wrong))
        lines.append(
            f"  {threshold:.2f}: {lost:6.1%} of right answers fall back, {caught:6.1%} of errors caught"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("--min-intent-f1", type=float, required=True)
    parser.add_argument("--min-entity-f1", type=float, default=None)
    parser.add_argument("--test-path", type=Path, default=ROOT / "tests" / "nlu")
    parser.add_argument("--train-dir", type=Path, default=ROOT / "data" / "nlu")
    args = parser.parse_args(argv)

    ok = True
    leaked = overlap(args.train_dir, args.test_path)
    if leaked:
        ok = False
        print(f"FAIL: {len(leaked)} test phrase(s) also in the training data:")
        for text in sorted(leaked)[:20]:
            print(f"  - {text}")

    intents = intent_report(args.results)
    intent_f1 = intents["macro avg"]["f1-score"]
    print(f"intent macro-F1 = {intent_f1:.4f} (floor {args.min_intent_f1})")
    weak = sorted(
        (name, v["f1-score"])
        for name, v in intents.items()
        if isinstance(v, dict)
        and "support" in v
        and name not in ("macro avg", "weighted avg", "micro avg")
        and v["f1-score"] < 0.9
    )
    for name, f1 in weak:
        print(f"  weak intent: {name} F1={f1:.2f}")
    if intent_f1 < args.min_intent_f1:
        ok = False
        print("FAIL: intent macro-F1 under the floor")

    for line in fallback_tradeoff(args.results):
        print(line)

    entities = entity_scores(args.results)
    if entities is not None:
        print(f"entity micro-F1 = {entities['micro']:.4f}, macro-F1 = {entities['macro']:.4f}")
    if args.min_entity_f1 is not None and (entities is None or entities["micro"] < args.min_entity_f1):
        ok = False
        print("FAIL: entity F1 under the floor (or no entity report)")
    print("NLU gate:", "passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
