"""The restriction state: which regime binds a flow, its score and its band floor."""

from __future__ import annotations

import polars as pl
import pytest

from riskengine.bands import risk_band
from riskengine.restriction_state import STATE_BAND_FLOORS, with_state


def _states(rows: dict[str, list]) -> list[str]:
    return with_state(pl.DataFrame(rows))["restriction_state"].to_list()


def test_the_most_severe_fact_sets_the_state() -> None:
    rows = {
        "export_control_severity": [0, 1, 2, 1, 0, 1, 0],
        "destination_measure_severity": [0, 0, 0, 3, 0, 0, 0],
        "flow_ban_in_force": [False, False, False, True, False, False, False],
        "announced_measure_severity": [0, 3, 0, 0, 1, 0, 0],
        "buyer_listed": [False, False, False, False, False, True, False],
        "supplier_listed_by_buyer_country": [False, False, False, False, False, False, True],
    }
    assert _states(rows) == [
        "none",
        "licensing",
        "quota_or_tax",
        "ban",
        "announced_licensing",
        "listed_buyer",
        "listed_supplier",
    ]


def test_missing_state_columns_mean_no_such_fact() -> None:
    frame = with_state(pl.DataFrame({"export_control_severity": [None, 1]}))
    assert frame["restriction_state"].to_list() == ["none", "licensing"]
    assert frame["state_score"].to_list() == [0.0, 0.5]


@pytest.mark.parametrize("state", sorted(STATE_BAND_FLOORS))
def test_a_regime_in_force_never_reads_low_whatever_the_hazard(state: str) -> None:
    cutoffs = {"medium": 0.3, "high": 0.6, "critical": 0.9}
    frame = pl.DataFrame({"score": [0.0], "state": [state]})
    floor = pl.col("state").replace_strict(STATE_BAND_FLOORS, return_dtype=pl.String)
    band = frame.select(risk_band(pl.col("score"), cutoffs, floor).alias("band"))["band"][0]
    assert band == STATE_BAND_FLOORS[state]
    if state != "none":
        assert band in ("high", "critical")
