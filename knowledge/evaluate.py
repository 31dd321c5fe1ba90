"""Measures of the ranker: k-fold on the training phrasings (for tuning: the blind test sets
are never used for that), and top-1 on labelled questions.

    python -m knowledge.evaluate          # 5-fold top-1 / top-3 and the margin table
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np
from sklearn.model_selection import StratifiedKFold

from knowledge import ranker as ranking
from knowledge.content import KnowledgeBase, load_knowledge_base

MARGINS = (0.1, 0.2, 0.25, 0.3, 0.4, 0.5)


@dataclass(frozen=True)
class Fold:
    """One held-out phrasing: its best score, the margin to the second, right at 1 and at 3."""

    best: float
    margin: float
    top1: bool
    top3: bool


def cross_validate(base: KnowledgeBase, folds: int = 5, seed: int = 0) -> List[Fold]:
    """Each phrasing scored by a ranker trained without it (titles and answers always in)."""
    texts, keys = [], []
    for key, phrasings in base.phrasings.items():
        texts += phrasings
        keys += [key] * len(phrasings)
    texts_array, keys_array = np.array(texts, dtype=object), np.array(keys)
    # An entry with fewer phrasings than folds cannot be stratified: left in training only.
    counts = {key: keys.count(key) for key in set(keys)}
    usable = np.array([counts[key] >= folds for key in keys])
    results: List[Fold] = []
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, test in split.split(texts_array[usable], keys_array[usable]):
        extra = list(zip(texts_array[~usable], keys_array[~usable], strict=True))
        extra += list(zip(texts_array[usable][train], keys_array[usable][train], strict=True))
        model = ranking.Ranker(KnowledgeBase(base.entries, base.files, {}), extra=extra)
        for text, gold in zip(texts_array[usable][test], keys_array[usable][test], strict=True):
            ranked = model.rank(text, ranking.CHOICES)
            second = ranked[1].score if len(ranked) > 1 else ranked[0].score - 10
            got = [scored.key for scored in ranked]
            results.append(Fold(ranked[0].score, ranked[0].score - second, got[0] == gold, gold in got))
    return results


def summary(results: Sequence[Fold]) -> Dict[str, float]:
    n = len(results) or 1
    return {
        "n": len(results),
        "top1": sum(r.top1 for r in results) / n,
        "top3": sum(r.top3 for r in results) / n,
    }


def margin_table(results: Sequence[Fold], margins: Sequence[float] = MARGINS) -> List[Tuple[float, ...]]:
    """(margin, share answered directly, their top-1, top-3 of the others)."""
    rows = []
    for margin in margins:
        direct = [r for r in results if r.margin >= margin]
        unsure = [r for r in results if r.margin < margin]
        rows.append(
            (
                margin,
                len(direct) / max(len(results), 1),
                sum(r.top1 for r in direct) / max(len(direct), 1),
                sum(r.top3 for r in unsure) / max(len(unsure), 1),
            )
        )
    return rows


def top1(model: ranking.Ranker, labelled: Sequence[Tuple[str, str]]) -> float:
    """Share of (question, key) pairs whose best entry is the key."""
    right = sum(model.rank(text, 1)[0].key == key for text, key in labelled)
    return right / max(len(labelled), 1)


def main() -> int:
    base = load_knowledge_base()
    results = cross_validate(base)
    figures = summary(results)
    print(
        f"Ranker, 5-fold on {figures['n']} training phrasings of {len(base)} entries: "
        f"top-1 {figures['top1']:.3f}, top-3 {figures['top3']:.3f}"
    )
    print("margin  direct  direct top-1  unsure top-3")
    for margin, share, right, unsure in margin_table(results):
        print(f"{margin:6.2f}  {share:6.3f}  {right:12.3f}  {unsure:12.3f}")
    low = [r for r in results if r.best < ranking.MIN_SCORE]
    print(
        f"best score under {ranking.MIN_SCORE} (no answer): {len(low) / max(len(results), 1):.3f} "
        f"of the phrasings, {sum(r.top1 for r in low)} of them ranked right"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
