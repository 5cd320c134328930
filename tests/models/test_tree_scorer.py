"""The registered trees in Treelite's format: they predict as scikit-learn does, or are not
written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskengine.models import tree_scorer


def _training_rows() -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(1)
    matrix = generator.normal(size=(400, 3))
    matrix[generator.random(matrix.shape) < 0.15] = np.nan
    labels = (np.nan_to_num(matrix[:, 0]) + generator.normal(size=400) > 0.3).astype(int)
    return matrix, labels


def _booster() -> object:
    from sklearn.ensemble import HistGradientBoostingClassifier

    matrix, labels = _training_rows()
    return HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(matrix, labels)


def _calibrated() -> object:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    matrix, labels = _training_rows()
    return CalibratedClassifierCV(FrozenEstimator(_booster()), method="sigmoid").fit(matrix, labels)


@pytest.mark.parametrize("make", [_booster, _calibrated], ids=["logistic", "platt"])
def test_the_tree_scorer_predicts_what_scikit_learn_predicts(make, tmp_path: Path) -> None:
    model = make()
    assert tree_scorer.export(model, tmp_path)
    scorer = tree_scorer.load(tmp_path)
    rows = np.array([[0.1, -2.0, np.nan], [np.nan, np.nan, np.nan], [3.0, 0.5, -1.0]])
    expected = model.predict_proba(rows)  # type: ignore[attr-defined]
    np.testing.assert_allclose(scorer.predict_proba(rows), expected, rtol=0, atol=1e-12)
    assert scorer.link["kind"] == ("platt" if make is _calibrated else "logistic")


def test_the_probe_reaches_both_sides_of_every_threshold() -> None:
    booster = _booster()
    probe = tree_scorer.probe_rows(booster)
    for column, edges in enumerate(booster._bin_mapper.bin_thresholds_):  # type: ignore[attr-defined]
        values = probe[:, column]
        for edge in edges:
            assert (values == edge).any()
            assert (values < edge).any() and (values > edge).any()
    assert np.isnan(probe).any()


def test_a_model_it_does_not_convert_is_left_to_skops(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    matrix, labels = _training_rows()
    model = LogisticRegression().fit(np.nan_to_num(matrix), labels)
    assert not tree_scorer.export(model, tmp_path)
    assert not tree_scorer.present(tmp_path)


def test_a_link_document_of_another_format_is_refused(tmp_path: Path) -> None:
    assert tree_scorer.export(_booster(), tmp_path)
    forest = (tmp_path / tree_scorer.DIRECTORY / tree_scorer.FOREST_FILE).read_bytes()
    with pytest.raises(ValueError, match="not a tree scorer link"):
        tree_scorer.from_bytes(forest, b'{"format": "other", "kind": "logistic"}')
