"""The registered model's trees in Treelite's format, for scoring without scikit-learn.

A registered version carries, beside the skops file, ``tree_scorer/``: the gradient-boosted
trees as a Treelite checkpoint (``forest.treelite``, a binary format that is read, never
executed) and ``link.json``, how the trees' raw output becomes a probability: the logistic
function for a plain classifier, or the Platt sigmoid of a ``CalibratedClassifierCV``.

Importing scikit-learn and skops costs seconds per process (``bench/``), and scoring one row
paid it every time; Treelite and numpy cost a fraction of that. The conversion is checked when
the version is written: on probe rows drawn at and around every split threshold (missing
values included), the two must agree to :data:`AGREEMENT_TOLERANCE`, else no ``tree_scorer/``
is written and loading keeps to skops.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DIRECTORY = "tree_scorer"
FOREST_FILE = "forest.treelite"
LINK_FILE = "link.json"
LINK_FORMAT = "riskengine-tree-link/1"
# Sums of the same leaf values in another order differ by a few units in the last place.
AGREEMENT_TOLERANCE = 1e-12

logger = logging.getLogger("riskengine")


@dataclass(frozen=True)
class TreeScorer:
    """Predicts like the registered scikit-learn model: ``predict_proba`` on a feature matrix.

    ``link`` is ``{"kind": "logistic"}`` (``p = expit(raw)``) or
    ``{"kind": "platt", "a": ..., "b": ...}`` (``p = expit(-(a * raw + b))``, scikit-learn's
    ``_SigmoidCalibration``).
    """

    forest: Any
    link: dict[str, Any]

    def raw(self, matrix: Any) -> np.ndarray:
        """The sum of the trees and the baseline for each row (the classifier's decision
        function)."""
        import treelite.gtil

        rows = np.ascontiguousarray(np.asarray(matrix, dtype=np.float64))
        return np.asarray(treelite.gtil.predict(self.forest, rows, pred_margin=True)).reshape(-1)

    def check_columns(self, names: list[str]) -> None:
        """Refuse columns other than those the model was fit on, as scikit-learn does: the
        trees only know positions."""
        fitted = self.link.get("feature_names")
        if fitted is not None and list(names) != fitted:
            raise ValueError(f"the model was fit on the columns {fitted}, not {list(names)}")

    def predict_proba(self, matrix: Any) -> np.ndarray:
        """Probabilities of the negative and the positive class, one row per input row."""
        if hasattr(matrix, "columns"):
            self.check_columns(list(matrix.columns))
        raw = self.raw(matrix)
        if self.link["kind"] == "platt":
            positive = _expit(-(self.link["a"] * raw + self.link["b"]))
        else:
            positive = _expit(raw)
        return np.column_stack([1.0 - positive, positive])


def _expit(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def _parts(model: Any) -> tuple[Any, dict[str, Any]] | None:
    """The gradient-boosted classifier inside ``model`` and its link, or ``None`` for a model
    this module does not convert."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator

    if isinstance(model, HistGradientBoostingClassifier):
        return (model, {"kind": "logistic"}) if len(model.classes_) == 2 else None
    if not isinstance(model, CalibratedClassifierCV) or model.method != "sigmoid":
        return None
    if len(model.calibrated_classifiers_) != 1 or len(model.classes_) != 2:
        return None
    calibrated = model.calibrated_classifiers_[0]
    estimator = calibrated.estimator
    if isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    if not isinstance(estimator, HistGradientBoostingClassifier):
        return None
    (calibrator,) = calibrated.calibrators
    return estimator, {"kind": "platt", "a": float(calibrator.a_), "b": float(calibrator.b_)}


def probe_rows(classifier: Any, seed: int = 0) -> np.ndarray:
    """Rows that reach every split: each threshold, just below and above it, feature by
    feature, over random base rows in which a fifth of the other cells are missing."""
    generator = np.random.default_rng(seed)
    thresholds = [
        np.asarray(edges, dtype=np.float64) for edges in classifier._bin_mapper.bin_thresholds_
    ]
    rows = []
    for column, edges in enumerate(thresholds):
        for edge in edges:
            for value in (edge, np.nextafter(edge, -np.inf), np.nextafter(edge, np.inf)):
                row = np.array(
                    [
                        generator.choice(other)
                        if len(other) and generator.random() >= 0.2
                        else np.nan
                        for other in thresholds
                    ]
                )
                row[column] = value
                rows.append(row)
    return np.vstack(rows) if rows else np.full((1, len(thresholds)), np.nan)


def export(model: Any, directory: Path) -> bool:
    """Write ``directory/tree_scorer/`` for ``model`` if it converts faithfully; return
    whether it was written."""
    import treelite.sklearn

    parts = _parts(model)
    if parts is None:
        logger.info("tree scorer: %s is not converted; loading uses skops", type(model).__name__)
        return False
    classifier, link = parts
    if hasattr(model, "feature_names_in_"):
        link = {**link, "feature_names": [str(name) for name in model.feature_names_in_]}
    try:
        forest = treelite.sklearn.import_model(classifier)
        scorer = TreeScorer(forest, link)
        probe = probe_rows(classifier)
        named: Any = probe
        if "feature_names" in link:
            import pandas as pd

            # As scoring hands the model its inputs: a frame with the names it was fit on.
            named = pd.DataFrame(probe, columns=link["feature_names"])
        difference = float(np.max(np.abs(scorer.predict_proba(named) - model.predict_proba(named))))
    except Exception as error:  # Treelite raises its own types; the probe reads private state.
        logger.warning("tree scorer: not written (%s); loading uses skops", error)
        return False
    if not difference <= AGREEMENT_TOLERANCE:
        logger.warning(
            "tree scorer: Treelite differs from scikit-learn by %.3g on %d probe rows; "
            "loading uses skops",
            difference,
            len(probe),
        )
        return False
    target = directory / DIRECTORY
    target.mkdir(parents=True, exist_ok=True)
    forest.serialize(str(target / FOREST_FILE))
    document = {"format": LINK_FORMAT, "probe_rows": len(probe), "max_difference": difference}
    (target / LINK_FILE).write_text(json.dumps({**document, **link}, indent=2, sort_keys=True))
    return True


def present(model_directory: Path) -> bool:
    """Whether a version's directory carries a tree scorer."""
    return (model_directory / DIRECTORY / FOREST_FILE).is_file()


def from_bytes(forest_bytes: bytes, link_bytes: bytes) -> TreeScorer:
    """The scorer of a checkpoint and a link document whose bytes were already checked."""
    import treelite

    link = json.loads(link_bytes)
    if link.get("format") != LINK_FORMAT or link.get("kind") not in ("logistic", "platt"):
        raise ValueError(f"not a tree scorer link of format {LINK_FORMAT}")
    try:
        forest = treelite.Model.deserialize_bytes(forest_bytes)
    except Exception as error:  # Treelite's own error types
        raise ValueError(f"Treelite cannot read {FOREST_FILE}: {error}") from error
    return TreeScorer(forest, link)


def load(model_directory: Path) -> TreeScorer:
    """The tree scorer of a version's directory."""
    directory = model_directory / DIRECTORY
    return from_bytes((directory / FOREST_FILE).read_bytes(), (directory / LINK_FILE).read_bytes())
