"""Concentration features against hand-computed values on tiny literal tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import polars as pl
import pytest

from riskengine.features.concentration import governance_scale
from riskengine.features.runner import build_features
from riskengine.features.sourcing_mix import SOURCING_MIX_SCHEMA
from riskengine.reference.loader import ReferenceData


def _production(rows: list[tuple], reference: ReferenceData) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "material": material,
                "stage": stage,
                "country_iso3": country,
                "year": year,
                "quantity": quantity,
                "unit": "t",
                "share": share,
                "published": published,
                "source": source,
            }
            for material, stage, country, year, quantity, share, published, source in rows
        ],
        schema=reference.production.schema,
    )


@pytest.fixture
def tiny_reference(reference: ReferenceData) -> ReferenceData:
    production = _production(
        [
            ("rare_earths_reo", "mine", "CHN", 2022, 60.0, None, date(2023, 1, 31), "Edition A"),
            ("rare_earths_reo", "mine", "USA", 2022, 30.0, None, date(2023, 1, 31), "Edition A"),
            ("rare_earths_reo", "mine", "ROW", 2022, 10.0, None, date(2023, 1, 31), "Edition A"),
            ("rare_earths_reo", "mine", "WLD", 2022, 100.0, None, date(2023, 1, 31), "Edition A"),
            # The same year revised by a later edition, and a newer year.
            ("rare_earths_reo", "mine", "CHN", 2022, 80.0, None, date(2024, 1, 31), "Edition B"),
            ("rare_earths_reo", "mine", "USA", 2022, 20.0, None, date(2024, 1, 31), "Edition B"),
            (
                "heavy_rare_earths_separated",
                "refining",
                "CHN",
                2025,
                None,
                0.99,
                date(2026, 2, 28),
                "Press",
            ),
            (
                "heavy_rare_earths_separated",
                "refining",
                "ROW",
                2025,
                None,
                0.01,
                date(2026, 2, 28),
                "Press",
            ),
        ],
        reference,
    )
    governance = pl.DataFrame(
        [
            {
                "country_iso3": "CHN",
                "year": 2023,
                "wgi_score": -0.5,
                "published": date(2024, 9, 30),
                "source": "test",
            }
        ],
        schema=reference.governance.schema,
    )
    return dataclasses.replace(reference, production=production, governance=governance)


def _features(
    reference: ReferenceData, as_of: date, make_spine: Callable[..., pl.DataFrame]
) -> pl.DataFrame:
    spine = make_spine(
        [
            ("rare_earth_concentrate", "CHN", "JPN", None, None),
            ("rare_earth_concentrate", "FRA", "JPN", None, None),
            ("dysprosium_oxide", "CHN", "JPN", None, None),
        ]
    )
    return build_features(spine, reference, as_of=as_of)


def test_nothing_is_known_before_the_first_edition(
    tiny_reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    features = _features(tiny_reference, date(2023, 1, 30), make_spine)
    assert features["material_hhi"].is_null().all()
    assert features["supplier_country_share"].is_null().all()


def test_hhi_and_shares_from_the_first_edition(
    tiny_reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    features = _features(tiny_reference, date(2023, 6, 1), make_spine)
    # Shares of the sum of country rows (WLD excluded): CHN 0.6, USA 0.3, ROW 0.1;
    # ROW counts as one producer: 0.36 + 0.09 + 0.01.
    assert features["material_hhi"].to_list() == pytest.approx([0.46, 0.46, 0.46])
    assert features["supplier_country_share"].to_list() == pytest.approx([0.6, 0.0, 0.6])
    assert features["top_producer_share"][0] == pytest.approx(0.6)
    assert features["production_data_age_years"][0] == 1
    # No governance known yet: every producer counts at the neutral 5.
    assert features["material_hhi_wgi"][0] == pytest.approx(0.46 * 5)


def test_a_later_edition_replaces_the_revised_year(
    tiny_reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    features = _features(tiny_reference, date(2024, 2, 1), make_spine)
    assert features["supplier_country_share"][0] == pytest.approx(0.8)
    assert features["material_hhi"][0] == pytest.approx(0.8**2 + 0.2**2)


def test_governance_weighting_uses_the_rescaled_wgi(
    tiny_reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    features = _features(tiny_reference, date(2025, 1, 1), make_spine)
    china_weight = (2.5 - (-0.5)) * 2  # 6.0 on the 0-10 scale, 10 the weakest
    assert features["material_hhi_wgi"][0] == pytest.approx(0.64 * china_weight + 0.04 * 5)
    assert features["supplier_country_governance"][0] == pytest.approx(china_weight)


def test_oxide_switches_to_separation_data_once_published(
    tiny_reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    before = _features(tiny_reference, date(2026, 2, 27), make_spine)
    after = _features(tiny_reference, date(2026, 2, 28), make_spine)
    assert before["production_basis"][2] == "rare_earths_reo|mine|2022"
    assert after["production_basis"][2] == "heavy_rare_earths_separated|refining|2025"
    assert after["supplier_country_share"][2] == pytest.approx(0.99)
    # Concentrate stays on mine data: separation shares say nothing about ore.
    assert after["production_basis"][0] == "rare_earths_reo|mine|2022"


def test_china_share_of_rare_earth_ore_in_the_shipped_data(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """USGS MCS 2026 (Feb 2026): China 270,000 t of the 2025 country total."""
    features = _features(reference, date(2026, 3, 1), make_spine)
    production = reference.production.filter(
        (pl.col("material") == "rare_earths_reo")
        & (pl.col("year") == 2025)
        & (pl.col("country_iso3") != "WLD")
    )
    china = production.filter(pl.col("country_iso3") == "CHN")["quantity"].item()
    assert features["supplier_country_share"][0] == pytest.approx(
        china / production["quantity"].sum()
    )
    assert features["production_basis"][0] == "rare_earths_reo|mine|2025"


@pytest.mark.parametrize(("wgi", "scaled"), [(2.5, 0.0), (-2.5, 10.0), (0.0, 5.0), (3.0, 0.0)])
def test_governance_scale(wgi: float, scaled: float) -> None:
    assert pl.select(governance_scale(pl.lit(wgi))).item() == pytest.approx(scaled)


def test_hhi_and_shares_stay_in_range(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    from riskengine.catalog import load_catalog

    catalog = load_catalog()
    spine = make_spine([(material, "CHN", "JPN", None, None) for material in catalog.material_ids])
    for as_of in (date(2014, 1, 1), date(2024, 1, 1), date(2026, 6, 1)):
        features = build_features(spine, reference, as_of=as_of).drop_nulls("material_hhi")
        assert features.height > 0
        assert features["material_hhi"].is_between(0, 1).all()
        assert features["supplier_country_share"].is_between(0, 1).all()
        assert (features["top_producer_share"] ** 2 <= features["material_hhi"] + 1e-12).all()
    # HHI lies in [1/n, 1] for the n producer rows behind it.
    rows_per_basis = (
        reference.production.filter(pl.col("country_iso3") != "WLD")
        .group_by("material", "stage", "year", "published")
        .len()
    )
    assert rows_per_basis["len"].min() >= 1


def test_hhi_is_at_least_one_over_the_number_of_producers(reference: ReferenceData) -> None:
    from riskengine.features.concentration import latest_country_shares
    from riskengine.features.runner import known_at

    for as_of in (date(2015, 1, 1), date(2024, 6, 1), date(2026, 6, 1)):
        shares = latest_country_shares(known_at(reference, as_of)["production"]).collect()
        summary = shares.group_by("dataset", "production_stage").agg(
            (pl.col("share") ** 2).sum().alias("hhi"), pl.len().alias("producers")
        )
        assert (summary["hhi"] >= 1 / summary["producers"] - 1e-9).all()
        assert (summary["hhi"] <= 1 + 1e-9).all()


def test_japan_january_2026_import_concentration(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """Japan's rare-earth imports, January 2026: 1,127 t China, 221 t Vietnam, 79 t France,
    1 t Malaysia, 50 t others, of 1,478 t (Japanese customs via Bloomberg)."""
    spine = make_spine(
        [
            ("dysprosium_oxide", "CHN", "JPN", None, None),
            ("ndpr_oxide", "VNM", "JPN", None, None),
            ("ndpr_oxide", "AUS", "JPN", None, None),
        ]
    )
    features = build_features(spine, reference, as_of=date(2026, 3, 1))
    total = 1127 + 221 + 79 + 1 + 50
    expected_hhi = sum((tonnes / total) ** 2 for tonnes in (1127, 221, 79, 1, 50))
    assert features["buyer_import_hhi"].to_list() == pytest.approx([expected_hhi] * 3)
    assert features["supplier_share_of_buyer_imports"].to_list() == pytest.approx(
        [1127 / total, 221 / total, 0.0]
    )
    before = build_features(spine, reference, as_of=date(2026, 2, 26))
    assert before["buyer_import_hhi"].is_null().all()


def test_buyer_sourcing_concentration_from_the_input_shares(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    spine = make_spine(
        [
            ("ndpr_oxide", "CHN", "JPN", "A", None),
            ("ndpr_oxide", "CHN", "JPN", "B", None),
            ("ndpr_oxide", "MYS", "JPN", "C", None),
            ("dysprosium_oxide", "CHN", "JPN", "A", None),
            ("gallium_metal", "CHN", "JPN", "D", None),
        ]
    ).with_columns(pl.Series("share", [0.4, 0.2, 0.4, 1.0, None]))
    features = build_features(spine, reference, as_of=date(2025, 1, 1))
    assert features["buyer_sourcing_hhi"].to_list() == pytest.approx([0.52, 0.52, 0.52, 1.0, None])
    assert features["single_source_country"].to_list() == [False, False, False, True, None]


def test_plants_do_not_pool_their_sourcing_concentration(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    # Dysprosium oxide from China at plant 1000 and from Germany at plant 1100: single-source at
    # each plant, not a two-country mix. Rows without a plant stay one group of their own.
    spine = make_spine(
        [
            ("dysprosium_oxide", "CHN", "DEU", "A", None),
            ("dysprosium_oxide", "DEU", "DEU", "B", None),
            ("ndpr_oxide", "CHN", "DEU", "A", None),
            ("ndpr_oxide", "MYS", "DEU", "C", None),
            ("ndpr_oxide", "CHN", "DEU", "A", None),
        ]
    ).with_columns(
        pl.Series("share", [1.0, 1.0, 0.5, 0.5, 1.0]),
        pl.Series("plant", ["1000", "1100", "1000", "1000", None]),
    )
    features = build_features(spine, reference, as_of=date(2025, 1, 1))
    assert features["single_source_country"].to_list() == [True, True, False, False, True]
    assert features["buyer_sourcing_hhi"].to_list() == pytest.approx([1.0, 1.0, 0.5, 0.5, 1.0])


def test_a_chunk_reads_the_whole_inputs_sourcing_mix(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    # One chunk holds only the Chinese supplier; the whole input also buys from Vietnam.
    chunk = make_spine([("dysprosium_oxide", "CHN", "JPN", "A", None)]).with_columns(
        pl.Series("share", [0.7])
    )
    whole = pl.DataFrame(
        {
            "material_id": ["dysprosium_oxide", "dysprosium_oxide"],
            "plant": [None, None],
            "supplier_country": ["CHN", "VNM"],
            "share": [0.7, 0.3],
            "share_missing": [False, False],
        },
        schema=SOURCING_MIX_SCHEMA,
    )
    alone = build_features(chunk, reference, as_of=date(2025, 1, 1))
    assert alone["single_source_country"].to_list() == [True]
    features = build_features(chunk, reference, as_of=date(2025, 1, 1), sourcing_mix=whole)
    assert features["single_source_country"].to_list() == [False]
    assert features["buyer_sourcing_hhi"].to_list() == pytest.approx([0.7**2 + 0.3**2])


def test_production_coverage_names_the_dataset_and_whether_it_is_the_own_stage(
    tiny_reference: ReferenceData,
) -> None:
    from riskengine.features.concentration import production_coverage

    coverage = production_coverage(tiny_reference.production.lazy())
    rows = {row["material_id"]: row for row in coverage.iter_rows(named=True)}
    assert coverage.height == len(rows)
    # Ore at its own stage kind (mine); an oxide on separation data (refining).
    assert rows["rare_earth_concentrate"]["dataset"] == "rare_earths_reo"
    assert rows["rare_earth_concentrate"]["own_stage"]
    assert rows["dysprosium_oxide"]["production_stage"] == "refining"
    assert rows["dysprosium_oxide"]["own_stage"]
    # A processed material on mine data falls back and is not covered at its own stage.
    assert rows["lanthanum_oxide"]["dataset"] == "rare_earths_reo"
    assert rows["lanthanum_oxide"]["own_stage_kind"] == "refining"
    assert not rows["lanthanum_oxide"]["own_stage"]
    # No dataset with rows at all.
    assert rows["gallium_metal"]["dataset"] is None
    assert not rows["gallium_metal"]["own_stage"]


def test_production_coverage_of_the_shipped_data(reference: ReferenceData) -> None:
    """Own-stage coverage measured by ``bench.production_coverage`` (issue 12 item 4)."""
    from riskengine.catalog import load_catalog
    from riskengine.features.concentration import production_coverage

    coverage = production_coverage(reference.production.lazy())
    assert coverage["material_id"].to_list() == list(load_catalog().material_ids)
    # 65 before the IEA refining series of issue 12's fifth pass, 78 before the EU CRM 2023
    # processing shares (sixth) and the ferroalloy and manganese-product shares (seventh), 102
    # before the EU zinc, tin and manganese processing shares (eighth); lower bound, not a pin.
    assert coverage["own_stage"].sum() >= 105
    assert coverage.filter(pl.col("material_id") == "lithium_hydroxide")["dataset"].item() == (
        "lithium"
    )
