"""Shared fixtures: the shipped reference data and a tiny spine of real flows."""

from __future__ import annotations

import os

# Spinning OpenMP threads make scikit-learn many times slower on a busy machine (CI included);
# the policy only takes effect if set before scikit-learn is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import bisect
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import assume
from hypothesis import strategies as st

from riskengine.reference.loader import ReferenceData, load_reference


@pytest.fixture(scope="session")
def reference() -> ReferenceData:
    return load_reference()


def make_spine(rows: list[tuple[str, str, str | None, str | None, str | None]]) -> pl.DataFrame:
    """A spine from (material_id, supplier_country, buyer_country, supplier_name, buyer_name)."""
    return pl.DataFrame(
        {
            "pair_id": list(range(len(rows))),
            "material_id": [row[0] for row in rows],
            "supplier_country": [row[1] for row in rows],
            "buyer_country": [row[2] for row in rows],
            "supplier_name": [row[3] for row in rows],
            "buyer_name": [row[4] for row in rows],
        },
        schema_overrides={"pair_id": pl.UInt32},
    )


@pytest.fixture(scope="session")
def magnet_spine() -> pl.DataFrame:
    return make_spine(
        [
            ("dysprosium_oxide", "CHN", "JPN", "Baotou Example Co.", None),
            (
                "dysprosium_oxide",
                "CHN",
                "JPN",
                "Baotou Example Co.",
                "Mitsubishi Heavy Industries Aero Engines, Ltd.",
            ),
            (
                "dysprosium_oxide",
                "CHN",
                "JPN",
                "Baotou Example Co.",
                "Mitsubishi Heavy Industries, Ltd.",
            ),
            ("rare_earth_concentrate", "VNM", "JPN", "Hanoi Example JSC", None),
            ("dysprosium_oxide", "VNM", "JPN", "Hanoi Example JSC", None),
            ("ndpr_oxide", "MYS", "JPN", "Kuantan Example Sdn Bhd", None),
            ("ndpr_oxide", "CHN", "USA", "Example NdPr Co.", "Lockheed Martin Corp"),
            ("gallium_metal", "CHN", "USA", None, None),
            ("nickel_ore", "IDN", "KOR", None, None),
            ("cobalt_metal", "COD", None, None, None),
        ]
    )


@pytest.fixture(scope="session")
def trained_settings(tmp_path_factory: pytest.TempPathFactory):
    """A real training run into its own MLflow store (read-only for the tests that use it)."""
    from riskengine.app.training import train_public as train
    from riskengine.config import load_settings

    home = tmp_path_factory.mktemp("trained")
    settings = load_settings(home=home, tracking_uri=f"sqlite:///{home / 'models' / 'mlflow.db'}")
    outcome = train(settings)
    assert outcome.version == "1" and outcome.champion == "1"
    return settings


CALM_START = date(2011, 1, 1)
CALM_END = date(2026, 12, 31)


def fact_dates(reference: ReferenceData) -> list[date]:
    """Every date on which a dated fact appears, sorted: a policy event announced, taking effect
    or ending, an entity listed, a production, governance or import edition published."""
    columns = [
        reference.policy_events["announced"],
        reference.policy_events["effective"],
        reference.policy_events["ended"],
        reference.listed_entities["listed_on"],
        reference.production["published"],
        reference.governance["published"],
        reference.importer_breakdowns["published"],
    ]
    return sorted({day for column in columns for day in column.drop_nulls().to_list()})


@st.composite
def calm_periods(draw: st.DrawFn, facts: list[date]) -> tuple[date, date]:
    """``d1 < d2`` with no fact date in ``(d1, d2]``: d2 lies in the gap after d1."""
    d1 = draw(st.dates(min_value=CALM_START, max_value=CALM_END - timedelta(days=1)))
    index = bisect.bisect_right(facts, d1)
    gap_end = min(facts[index] - timedelta(days=1), CALM_END) if index < len(facts) else CALM_END
    # d1 the day before a fact has no gap after it.
    assume(gap_end > d1)
    d2 = draw(st.dates(min_value=d1 + timedelta(days=1), max_value=gap_end))
    return d1, d2
