"""The model's input matrix, shared by training and scoring (no scikit-learn import here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    import pandas as pd


def feature_matrix(frame: pl.DataFrame, feature_names: tuple[str, ...]) -> pd.DataFrame:
    """The named features as float64 (null becomes NaN) in a named frame, as the model was fit."""
    return _floats(frame, feature_names).to_pandas()


def feature_array(frame: pl.DataFrame, feature_names: tuple[str, ...]) -> np.ndarray:
    """The named features as a float64 array (null becomes NaN), one column per name in order.

    For predictors that read columns by position (the tree scorer); a scoring run then need
    not import pandas, 0.35 s of a one-row score's start-up.
    """
    return _floats(frame, feature_names).to_numpy(order="c")


def _floats(frame: pl.DataFrame, feature_names: tuple[str, ...]) -> pl.DataFrame:
    return frame.select(pl.col(name).cast(pl.Float64) for name in feature_names)
