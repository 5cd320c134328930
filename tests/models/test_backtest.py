"""Rolling origins: what each fold may see, the metrics, and no leakage from after the origin."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import polars as pl
import pytest

from riskengine.models.backtest import BacktestPlan, markdown_table, plan_folds, run_backtest
from riskengine.models.panel import PanelWindow, build_panel, month_starts, months_after
from riskengine.models.training import ModelConfig, precision_at_top
from riskengine.reference.loader import ReferenceData

FAST = ModelConfig(max_iter=15, calibration_months=12)


def test_no_part_of_a_fold_reads_a_label_past_its_origin() -> None:
    window = PanelWindow(start=date(2011, 1, 1), end=date(2025, 2, 1), horizon_months=12)
    folds, skipped = plan_folds(window, BacktestPlan(), calibration_months=24)
    assert [fold.origin.year for fold in folds] == list(range(2015, 2025))
    assert "no months to fit on" in skipped[date(2014, 1, 1)]
    assert "not fully observed" in skipped[date(2025, 1, 1)]
    for fold in folds:
        assert months_after(fold.fit_end, 12) <= fold.calibration_start
        assert months_after(fold.calibration_end, 12) <= fold.origin
        assert fold.evaluation_end == date(fold.origin.year, 12, 1) <= window.end


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        # 20 rows, top 5% is one row: the best score is a positive.
        ([0.9] + [0.1] * 19, 1.0),
        # All tied: the expected precision of a random pick, the base rate.
        ([0.5] * 20, 0.25),
    ],
)
def test_precision_at_top_gives_ties_their_average(scores: list[float], expected: float) -> None:
    labels = np.array([1] + [0] * 15 + [1] * 4)
    assert precision_at_top(labels, np.array(scores)) == pytest.approx(expected)


def _synthetic_panel() -> pl.DataFrame:
    """Monthly rows 2011-2016 for 40 flows; the signal is the supplier's share."""
    generator = np.random.default_rng(7)
    frames = []
    for as_of in month_starts(date(2011, 1, 1), date(2016, 12, 1)):
        share = generator.uniform(0, 1, 40)
        frames.append(
            pl.DataFrame(
                {
                    "as_of": [as_of] * 40,
                    "supplier_country_share": share,
                    "material_hhi": generator.uniform(0.1, 1, 40),
                    "material_hhi_wgi": generator.uniform(0, 10, 40),
                    "label": (generator.uniform(0, 1, 40) < share**3 / 2).astype(np.int8),
                }
            )
        )
    return pl.concat(frames)


def test_backtest_reports_each_origin_and_pooled_for_the_model_and_both_baselines() -> None:
    panel = _synthetic_panel()
    window = PanelWindow(start=date(2011, 1, 1), end=date(2016, 12, 1), horizon_months=12)
    features = ("supplier_country_share", "material_hhi", "material_hhi_wgi")
    plan = BacktestPlan(first_year=2013, last_year=2017, importance_repeats=2)
    result = run_backtest(panel, features, window, FAST, plan, panel_fingerprint="synthetic")
    assert [fold.origin.year for fold in result.folds] == [2014, 2015, 2016]
    assert result.table["origin"].to_list() == ["2013", "2014", "2015", "2016", "2017", "pooled"]
    for name in (
        "backtest_roc_auc",
        "backtest_pr_auc",
        "backtest_brier",
        "backtest_precision_top5",
        "baseline_roc_auc",
        "baseline_pr_auc",
        "baseline_brier",
        "logistic_roc_auc",
        "logistic_pr_auc",
        "logistic_brier",
    ):
        assert 0.0 <= result.pooled[name] <= 1.0, name
    pooled_row = result.table.filter(pl.col("origin") == "pooled").row(0, named=True)
    assert pooled_row["evaluation_rows"] == 3 * 12 * 40
    # The share drives the label, so it is the most important feature and the model ranks well.
    assert result.importances["feature"][0] == "supplier_country_share"
    assert result.pooled["backtest_roc_auc"] > 0.7
    assert set(result.reliability) == {"model", "logistic", "EU index (logistic map)"}
    again = run_backtest(panel, features, window, FAST, plan, panel_fingerprint="synthetic")
    assert again.pooled == result.pooled
    assert again.folds_fingerprint == result.folds_fingerprint
    table = markdown_table(result.table)
    assert table.count("\n") == result.table.height + 1
    assert "| 2013 | skipped: no months to fit on" in table


def _known_by(reference: ReferenceData, origin: date) -> ReferenceData:
    """The reference as it stood on ``origin``: every event, listing and end date that became
    known later removed."""
    events = reference.policy_events.filter(
        pl.coalesce("announced", "effective") <= origin
    ).with_columns(pl.when(pl.col("ended") <= origin).then(pl.col("ended")).alias("ended"))
    listings = reference.listed_entities.filter(pl.col("listed_on") <= origin)
    return dataclasses.replace(reference, policy_events=events, listed_entities=listings)


@pytest.mark.parametrize("origin", [date(2016, 1, 1), date(2021, 1, 1), date(2024, 1, 1)])
def test_removing_every_event_after_an_origin_leaves_its_training_matrix_unchanged(
    reference: ReferenceData, origin: date
) -> None:
    window = PanelWindow(
        start=date(origin.year - 4, 1, 1), end=months_after(origin, 11), horizon_months=12
    )
    folds, _ = plan_folds(
        window, BacktestPlan(first_year=origin.year, last_year=origin.year), calibration_months=24
    )
    (fold,) = folds
    # Only the months the fold fits and calibrates on are built.
    window = dataclasses.replace(window, end=fold.calibration_end)
    truncated = _known_by(reference, origin)
    assert truncated.policy_events.height < reference.policy_events.height

    def training_matrix(source: ReferenceData) -> pl.DataFrame:
        panel = build_panel(source, window, ("JPN", "USA"))
        return (
            panel.filter(pl.col("as_of") <= fold.calibration_end)
            .drop("pair_id", "label_events")
            .sort("as_of", "material_id", "supplier_country", "buyer_country")
        )

    full = training_matrix(reference)
    assert full.height > 0 and full["label"].sum() > 0
    assert full.equals(training_matrix(truncated))
