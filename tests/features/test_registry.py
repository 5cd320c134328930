"""The registry lists builders explicitly and rejects duplicates."""

from __future__ import annotations

import types
from datetime import date

import polars as pl
import pytest

from riskengine.features.builders import model_feature_names, registry
from riskengine.features.registry import collect_specs, feature


def _module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)

    @feature(family="policy", description="x", sources=(), dtype=pl.Int8)
    def same_name(spine: pl.LazyFrame, *, as_of: date) -> pl.LazyFrame:
        return spine

    same_name.__module__ = name
    module.same_name = same_name
    return module


def test_duplicate_feature_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="same_name"):
        collect_specs((_module("first"), _module("second")))


def test_every_family_has_features_and_names_are_unique() -> None:
    specs = registry()
    assert {spec.family for spec in specs} == {"concentration", "export_controls", "policy"}
    assert len({spec.name for spec in specs}) == len(specs)
    assert "material_hhi_wgi" in model_feature_names()
    # Evidence columns explain scores but are not model inputs.
    assert "export_control_event" not in model_feature_names()


def test_calendar_driven_features_are_evidence_not_model_inputs() -> None:
    """Trailing windows and time-since features move with the calendar alone; the model reads
    counts of measures in force or to date, which move only when a dated fact does."""
    names = {spec.name for spec in registry()}
    drifting = {
        "days_since_last_restriction",
        "supplier_country_new_restrictions_24m",
        "material_new_restrictions_24m",
        "production_data_age_years",
    }
    assert drifting <= names
    assert not drifting & set(model_feature_names())
    assert {
        "supplier_country_measures_in_force",
        "supplier_country_restrictions_to_date",
        "material_measures_in_force",
        "buyer_country_targeted_measures_in_force",
    } <= set(model_feature_names())
