"""The knowledge base's share of the NLU training data: a Rasa training data importer.

The knowledge base has about 170 entries with 12-18 phrasings each (2,700 in all,
territory/demo/knowledge/phrases/*.yml). The retrieval action's ranker (knowledge/ranker.py)
and the linear intent model (channels/linear_intents.py, which decides the intent) learn
from all of them; DIET sees a sample, which its entity training reads too. Given all 2,700
against about 50 examples per other intent, DIET pulled business questions
and small talk into `faq` (tests/nlu intent macro-F1 0.912, real users' blind set 0.872) and
trained in 22 minutes instead of 7. This importer gives DIET a fixed, evenly spread sample of
each entry's phrasings (PER_ENTRY), labelled `faq`, so the classes stay balanced and content
teams still edit one file per theme (no generated file to keep in sync).

Rasa-native: declared under `importers:` in config.yml next to RasaFileImporter (Rasa merges
them); `rasa train`, `rasa data validate` and `rasa test` all read the data through it, and
the model's fingerprint follows the sample (an edited phrasing retrains the model).
"""

from __future__ import annotations

from typing import Any, Dict, List, Union

from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.structures import StoryGraph
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.content import Where, load_knowledge_base

FAQ_INTENT = "faq"
PER_ENTRY = 2  # phrasings of each entry that DIET sees (170 entries -> 340 examples)
# Questions for other administrations (impôts, CAF, santé, emploi, justice…) are the ones DIET
# confused with the assistant's own topics (welfare guidance, identity documents: issue 12), so
# DIET sees twice as many of those entries' phrasings (58 entries -> 232 examples).
PER_ENTRY_ELSEWHERE = 4


def spread(phrasings: List[str], count: int) -> List[str]:
    """`count` phrasings evenly spread over the list (its first, middle and last for 3):
    deterministic, so the same files give the same model."""
    if len(phrasings) <= count:
        return list(phrasings)
    if count == 1:
        return [phrasings[0]]
    step = (len(phrasings) - 1) / (count - 1)
    return [phrasings[round(i * step)] for i in range(count)]


def faq_sample(per_entry: int = PER_ENTRY, per_entry_elsewhere: int = PER_ENTRY_ELSEWHERE) -> List[str]:
    base = load_knowledge_base()
    seen: set = set()
    sample = []
    for key in sorted(base.phrasings):
        entry = base.entries[key]
        count = per_entry_elsewhere if entry.where == Where.autre_administration else per_entry
        for text in spread(base.phrasings[key], count):
            if text not in seen:
                seen.add(text)
                sample.append(text)
    return sample


class KnowledgeImporter(TrainingDataImporter):
    """Adds the sampled knowledge phrasings as `faq` examples; nothing else."""

    def __init__(
        self,
        config_file: str | None = None,
        domain_path: str | None = None,
        training_data_paths: Union[List[str], str] | None = None,
        per_entry: int = PER_ENTRY,
        per_entry_elsewhere: int = PER_ENTRY_ELSEWHERE,
        **kwargs: Any,
    ) -> None:
        self.per_entry = int(per_entry)
        self.per_entry_elsewhere = int(per_entry_elsewhere)

    def get_domain(self) -> Domain:
        return Domain.empty()

    def get_stories(self, exclusion_percentage: int | None = None) -> StoryGraph:
        return StoryGraph([])

    def get_conversation_tests(self) -> StoryGraph:
        return StoryGraph([])

    def get_config(self) -> Dict:
        return {}

    def get_config_file_for_auto_config(self) -> str | None:
        return None

    def get_nlu_data(self, language: str | None = "en") -> TrainingData:
        examples = [
            Message(data={TEXT: text, INTENT: FAQ_INTENT})
            for text in faq_sample(self.per_entry, self.per_entry_elsewhere)
        ]
        return TrainingData(training_examples=examples)
