"""The model's input matrix, shared by training and scoring (no scikit-learn import here)."""

from __future__ import annotations

import pandas as pd
import polars as pl


def feature_matrix(frame: pl.DataFrame, feature_names: tuple[str, ...]) -> pd.DataFrame:
    """The named features as float64 (null becomes NaN) in a named frame, as the model was fit."""
    return frame.select(pl.col(name).cast(pl.Float64) for name in feature_names).to_pandas()
