"""Risk bands: alert tiers cut by the share of flows they cover, with the state's floors.

The cut-offs are not fixed probabilities. Training chooses them on out-of-fold scores of the
whole flow universe (every catalog material from every producer to each panel buyer country)
so that ``critical`` covers about 2% of flows and ``high`` plus ``critical`` about 10%; the
registered model carries them. A regime in force raises the band to its floor
(:data:`riskengine.restriction_state.STATE_BAND_FLOORS`), whatever the score.
"""

from __future__ import annotations

import numpy as np
import polars as pl

RISK_BANDS = ("low", "medium", "high", "critical")
# Share of the flow universe at or above each band (the alert tiers' target coverage).
BAND_COVERAGE: dict[str, float] = {"medium": 0.30, "high": 0.10, "critical": 0.02}
# Used only for a model registered without cut-offs (a team's own-history model).
DEFAULT_CUTOFFS: dict[str, float] = {"medium": 0.02, "high": 0.05, "critical": 0.10}


def coverage_cutoffs(scores: np.ndarray) -> dict[str, float]:
    """Cut-offs so that each band and those above it cover :data:`BAND_COVERAGE` of ``scores``.

    Ties at a cut-off all go to the higher band, so a band may cover more than its target
    when many flows share one score (every flow under a ban scores 1.0).
    """
    return {
        band: float(np.quantile(scores, 1.0 - share, method="higher"))
        for band, share in BAND_COVERAGE.items()
    }


def band_rank(band: pl.Expr) -> pl.Expr:
    """0 for low up to 3 for critical."""
    return band.replace_strict(
        {name: rank for rank, name in enumerate(RISK_BANDS)}, return_dtype=pl.Int8
    )


def risk_band(score: pl.Expr, cutoffs: dict[str, float], floor: pl.Expr | None = None) -> pl.Expr:
    """The band of ``score`` by ``cutoffs``, raised to ``floor`` (a band name) where given."""
    expression = pl.lit(RISK_BANDS[0])
    for band in RISK_BANDS[1:]:
        expression = pl.when(score >= cutoffs[band]).then(pl.lit(band)).otherwise(expression)
    if floor is None:
        return expression
    by_score = band_rank(expression)
    floored = pl.max_horizontal(by_score, band_rank(floor))
    return floored.replace_strict(dict(enumerate(RISK_BANDS)), return_dtype=pl.String)
