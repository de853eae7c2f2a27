"""Comment classifier: normalization, features, training, evaluation and the served model.

``normalize`` is deliberately not re-exported: a package attribute of that name would shadow the
``classifier.normalize`` module for ``import classifier.normalize as ...``.
"""

from classifier.labels import LABELS
from classifier.model import (
    LabelThresholds,
    Manifest,
    Model,
    ModelLoadError,
    Span,
    default_model_path,
    load_model,
)

__all__ = [
    "LABELS",
    "LabelThresholds",
    "Manifest",
    "Model",
    "ModelLoadError",
    "Span",
    "default_model_path",
    "load_model",
]
