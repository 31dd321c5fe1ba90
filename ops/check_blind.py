"""Gate of `make test` on the two blind test sets of tests/blind/ (see its README).

- tests/blind/real_users.yml: messages in the style of real users of public chatbots,
  labelled with top-level intents; floor on the share the trained model classifies right
  (an `nlu_fallback` is a miss).
- tests/blind/knowledge.yml: questions labelled `faq/<key>`, end to end: the model must say
  `faq`, then the knowledge ranker (knowledge/ranker.py) must put the key first.

The newest models/*.tar.gz is loaded once and parses every message in this process (the same
parse as Rasa's /model/parse endpoint), so the gate takes about a minute. Only figures and
counts are printed, never the questions: the sets stay blind (no tuning on them).

    python -m ops.check_blind [--model models/x.tar.gz] [--min-real-users 0.90] [--min-knowledge 0.90]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import structlog
import yaml

from knowledge.content import load_knowledge_base, phrasings_dir
from knowledge.ranker import Ranker
from ops.check_nlu import overlap, plain_text
from ops.render import ROOT

BLIND = ROOT / "tests" / "blind"
REAL_USERS = BLIND / "real_users.yml"
KNOWLEDGE = BLIND / "knowledge.yml"
FAQ = "faq"


def labelled(path: Path) -> List[Tuple[str, str]]:
    """(text, label) of every example of a Rasa NLU file (labels as written: faq/<key> kept)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs = []
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- ") and line[2:].strip():
                pairs.append((line[2:].strip(), str(block["intent"])))
    return pairs


def newest_model(models: Path) -> Path:
    found = sorted(models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit(f"Aucun modèle dans {models} : lancez d'abord `make train`.")
    return found[-1]


async def parse_all(model: Path, texts: Sequence[str]) -> List[str]:
    """The top intent the trained model gives each text."""
    from rasa.core.agent import Agent  # heavy: only when a model is actually parsed

    agent = Agent.load(str(model))
    intents = []
    for text in texts:
        parsed = await agent.parse_message(text)
        intents.append((parsed.get("intent") or {}).get("name") or "")
    return intents


def real_users_figures(pairs: Sequence[Tuple[str, str]], predicted: Sequence[str]) -> Tuple[float, Counter]:
    misses = Counter((gold, got) for (_, gold), got in zip(pairs, predicted, strict=True) if got != gold)
    return 1 - sum(misses.values()) / max(len(pairs), 1), misses


def knowledge_figures(
    pairs: Sequence[Tuple[str, str]], predicted: Sequence[str], ranker: Ranker
) -> Dict[str, float]:
    """End to end (faq then the right key), the ranker alone, and the share DIET sent to faq."""
    end_to_end = alone = to_faq = 0
    for (text, label), intent in zip(pairs, predicted, strict=True):
        key = label.split("/", 1)[1]
        right = ranker.rank(text, 1)[0].key == key
        alone += right
        to_faq += intent == FAQ
        end_to_end += right and intent == FAQ
    n = max(len(pairs), 1)
    return {"end_to_end": end_to_end / n, "ranker": alone / n, "faq": to_faq / n}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="modèle (défaut : le plus récent de models/)")
    parser.add_argument("--min-real-users", type=float, default=0.90)
    parser.add_argument("--min-knowledge", type=float, default=0.90)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Rasa's structured log prints every parsed text at debug level: the sets must stay blind.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    # Short messages (« oui », « bonjour ») and the quoted questions are in the training
    # data too: the figures are also given on the messages never seen in training.
    seen = set()
    for trained in (ROOT / "data", phrasings_dir()):
        seen |= overlap(trained, REAL_USERS) | overlap(trained, KNOWLEDGE)
    real, known = labelled(REAL_USERS), labelled(KNOWLEDGE)
    model = args.model or newest_model(ROOT / "models")
    predicted = asyncio.run(parse_all(model, [text for text, _ in real + known]))
    real_accuracy, misses = real_users_figures(real, predicted[: len(real)])
    base = load_knowledge_base()
    # A question whose entry is not in the base counts as a miss (the ranker cannot pick it).
    missing = {label.split("/", 1)[1] for _, label in known} - set(base.entries)
    ranker = Ranker(base)
    figures = knowledge_figures(known, predicted[len(real) :], ranker)
    unseen_real = [i for i, (text, _) in enumerate(real) if plain_text(text) not in seen]
    unseen_known = [i for i, (text, _) in enumerate(known) if plain_text(text) not in seen]
    unseen_accuracy, _ = real_users_figures(
        [real[i] for i in unseen_real], [predicted[i] for i in unseen_real]
    )
    unseen = knowledge_figures(
        [known[i] for i in unseen_known], [predicted[len(real) + i] for i in unseen_known], ranker
    )

    print(f"Modèle : {model.name}")
    print(
        f"Utilisateurs réels ({len(real)} messages) : intention juste {real_accuracy:.3f} "
        f"(seuil {args.min_real_users})"
    )
    print(f"    sans les {len(real) - len(unseen_real)} déjà vus à l'entraînement : {unseen_accuracy:.3f}")
    for (gold, got), count in misses.most_common(8):
        print(f"    {count:3d} × {gold} → {got}")
    print(
        f"Base de connaissances ({len(known)} questions, {len(base)} entrées) : bout en bout "
        f"{figures['end_to_end']:.3f} (seuil {args.min_knowledge}) ; classées faq {figures['faq']:.3f} ; "
        f"classeur seul {figures['ranker']:.3f}"
    )
    print(
        f"    sans les {len(known) - len(unseen_known)} déjà vues à l'entraînement : bout en bout "
        f"{unseen['end_to_end']:.3f} ; classeur seul {unseen['ranker']:.3f}"
    )
    if missing:
        print(f"    {len(missing)} entrée(s) du jeu aveugle absentes de la base (comptées fausses)")
    failed = False
    if real_accuracy < args.min_real_users:
        print("ÉCHEC : utilisateurs réels sous le seuil.")
        failed = True
    if figures["end_to_end"] < args.min_knowledge:
        print("ÉCHEC : base de connaissances sous le seuil.")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
