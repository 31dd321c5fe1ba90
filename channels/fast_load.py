"""Rasa's DIETClassifier and TEDPolicy, loaded in seconds instead of half a minute.

Profiled at start-up (`python -m ops.profile_startup`, README « Benchmarks »): loading the
trained model took 30 s and 600 MB for DIET and 11 s for TED, most of the Rasa server's
start-up. Rasa 3.6's `RasaModel.load` builds the network's weights by running one training
step through Keras' `fit`, which traces and optimises the whole training graph (losses,
CRF, gradients) only to throw its result away: the trained weights are read right after.
Here that one step runs eagerly (no tracing: Rasa does the same with `run_eagerly`, which is
a training option), then the trained weights are read and the prediction function is traced
once, exactly as Rasa does. Measured on the same model: DIET 29.5 s → 5 s and +602 → +174 MB,
TED 11.3 s → 0.8 s; predictions are the same weights through the same prediction graph
(tests/unit/test_fast_load.py compares both loads' outputs).

The classes keep Rasa's names (`DIETClassifier`, `TEDPolicy`): the files in the model archive,
the entity reports of `rasa test nlu` (`DIETClassifier_report.json`) and the `extractor` of
every entity stay what they were. Rasa's recipe validator looks for its own classes, not
subclasses, and would warn at training that no entity extractor uses the entity examples and
the lookup tables: those two warnings are silenced below, only when this module is in use.
"""

from __future__ import annotations

import ctypes
import gc
import warnings
from typing import Any, Type

from rasa.core.policies.ted_policy import TED
from rasa.core.policies.ted_policy import TEDPolicy as RasaTEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIET
from rasa.nlu.classifiers.diet_classifier import DIETClassifier as RasaDIETClassifier
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

for _trained_here in ("entity examples", "lookup tables"):
    warnings.filterwarnings(
        "ignore",
        message=f"You have defined training data consisting of {_trained_here}",
        category=UserWarning,
    )


class EagerlyBuilt:
    """Mixin for Rasa's TensorFlow models: `RasaModel.load` with the weights built by one eager
    forward pass instead of a traced training step."""

    @classmethod
    def load(
        cls,
        model_file_name: str,
        model_data_example: RasaModelData,
        predict_data_example: RasaModelData | None = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> RasaModel:
        if finetune_mode:
            # Fine-tuning (`rasa train --finetune`) trains further with the optimizer it loads:
            # it keeps Rasa's own loading.
            return super().load(  # type: ignore[misc]
                model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
            )
        model = cls(*args, **kwargs)
        batch, _ = RasaBatchDataGenerator(model_data_example, batch_size=1)[0]
        # One forward pass of the training loss, eagerly: every layer creates its variables, the
        # label embeddings and the CRF included, as Rasa's one-example `fit` does, but without
        # gradients, optimizer state or a traced graph.
        model._training = True
        model.batch_loss(batch)
        model._training = None
        # The archive also holds Adam's state of the last epoch, which prediction never reads.
        model.load_weights(model_file_name).expect_partial()
        if predict_data_example:
            # Traces the prediction function once (dynamic shapes), as Rasa does.
            model.run_inference(predict_data_example)
        release_freed_memory()
        return model


def release_freed_memory() -> None:
    """Give the pages freed by the loading's temporaries back to the system (glibc keeps them
    in its heap otherwise, and they count in the process's memory)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


class FastLoadDIET(EagerlyBuilt, DIET):
    pass


class FastLoadTED(EagerlyBuilt, TED):
    pass


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=True,
)
class DIETClassifier(RasaDIETClassifier):
    """Rasa's DIETClassifier; only its loading differs (module docstring)."""

    @staticmethod
    def model_class() -> Type[RasaModel]:
        return FastLoadDIET


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True)
class TEDPolicy(RasaTEDPolicy):
    """Rasa's TEDPolicy; only its loading differs (module docstring)."""

    @staticmethod
    def model_class() -> Type[TED]:
        return FastLoadTED
