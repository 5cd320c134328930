"""What labels a flow, which flows exist when, and the labels summary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from riskengine.models.panel import (
    PanelWindow,
    build_labels,
    flows_known_at,
    label_flows,
    panel_spine,
    summarise_labels,
)
from riskengine.reference.loader import ReferenceData

LISTED_SUBSIDIARY = "Mitsubishi Heavy Industries Aero Engines, Ltd."


def test_proposals_import_bans_and_technology_controls_never_label(
    reference: ReferenceData,
    make_spine: Callable[..., pl.DataFrame],
) -> None:
    # E148: the Philippine Senate's proposed raw-ore export ban (2025); E127/E129: Chinese
    # import bans on Myanmar rare earths; E013: rare-earth technology licensing (2025-10-09).
    spine = make_spine(
        [
            ("nickel_ore", "PHL", "JPN", None, None),
            ("rare_earth_concentrate", "MMR", "JPN", None, None),
            ("lanthanum_oxide", "CHN", "JPN", None, None),
        ]
    )
    for as_of in (date(2024, 6, 1), date(2025, 1, 1), date(2025, 6, 1)):
        labels = label_flows(spine, reference, as_of=as_of, horizon_months=12)
        assert labels.to_list() == [0, 0, 0]


def test_a_measure_disrupts_from_the_later_of_its_effective_and_announcement_dates(
    reference: ReferenceData,
    make_spine: Callable[..., pl.DataFrame],
) -> None:
    """Zimbabwe's platinum export tax took effect 2015-01-01 but was announced 2015-01-09."""
    spine = make_spine([("platinum_metal", "ZWE", "JPN", None, None)])
    horizon_ends_on_effective_day = label_flows(
        spine, reference, as_of=date(2014, 1, 1), horizon_months=12
    )
    horizon_includes_announcement = label_flows(
        spine, reference, as_of=date(2014, 2, 1), horizon_months=12
    )
    assert horizon_ends_on_effective_day.to_list() == [0]
    assert horizon_includes_announcement.to_list() == [1]


@pytest.mark.parametrize(
    ("horizon_months", "expected"),
    [(3, [0, 0]), (12, [1, 0]), (24, [1, 1])],
)
def test_the_horizon_is_a_parameter(
    reference: ReferenceData,
    horizon_months: int,
    expected: list[int],
    make_spine: Callable[..., pl.DataFrame],
) -> None:
    # Dysprosium oxide from China: licensing from 2025-04-04 (E010). As of 2024-06-01 it is
    # 10 months away; as of 2023-06-01, 22 months.
    spine = make_spine([("dysprosium_oxide", "CHN", "JPN", None, None)])
    labels = [
        label_flows(spine, reference, as_of=as_of, horizon_months=horizon_months)[0]
        for as_of in (date(2024, 6, 1), date(2023, 6, 1))
    ]
    assert labels == expected


def test_a_listing_labels_controlled_materials_to_the_listed_buyer_only(
    reference: ReferenceData,
    make_spine: Callable[..., pl.DataFrame],
) -> None:
    """China listed MHI Aero Engines on 2026-02-24; dysprosium oxide was under licensing then,
    lanthanum oxide under no Chinese export measure."""
    spine = make_spine(
        [
            ("dysprosium_oxide", "CHN", "JPN", None, LISTED_SUBSIDIARY),
            ("dysprosium_oxide", "CHN", "JPN", None, "Mitsubishi Heavy Industries, Ltd."),
            ("lanthanum_oxide", "CHN", "JPN", None, LISTED_SUBSIDIARY),
            ("dysprosium_oxide", "CHN", "JPN", None, None),
        ]
    )
    before = label_flows(spine, reference, as_of=date(2026, 1, 10), horizon_months=12)
    after = label_flows(spine, reference, as_of=date(2026, 3, 1), horizon_months=12)
    # By 2026-01-10 the licensing (2025-04-04) and its de facto halt for Japanese buyers
    # (E436, 2026-01-06) are past; only the listing lies ahead.
    assert before.to_list() == [1, 0, 0, 0]
    assert after.to_list() == [0, 0, 0, 0]


def test_a_flow_known_only_through_a_later_event_joins_the_panel_when_it_is_known(
    reference: ReferenceData,
) -> None:
    """Guinea's bauxite output is first published on 2023-01-31 (USGS MCS 2023); its first
    bauxite measure, the junta's domestic-processing demand of 2022-04-08 (E349), is earlier."""
    spine = panel_spine(reference, ("JPN",))
    guinea = spine.filter(
        (pl.col("supplier_country") == "GIN") & (pl.col("material_id") == "bauxite")
    )
    assert guinea["known_from"].to_list() == [date(2022, 4, 8)]
    producers = spine.filter(pl.col("supplier_country") == "CHN")
    # Producers join from the publication of their production figure, never before.
    assert producers["known_from"].null_count() == 0

    def has_guinea(as_of: date) -> bool:
        flows = flows_known_at(spine, as_of)
        return flows.filter(pl.col("supplier_country") == "GIN").height > 0

    assert not has_guinea(date(2022, 4, 7))
    assert has_guinea(date(2022, 4, 8))


def test_labels_summary_counts_rows_and_positives_per_year_and_country(
    reference: ReferenceData,
) -> None:
    window = PanelWindow(start=date(2022, 1, 1), end=date(2023, 12, 1), horizon_months=12)
    labels = build_labels(reference, window, ("JPN",))
    summary = summarise_labels(labels)
    years = summary.filter(pl.col("dimension") == "year")
    countries = summary.filter(pl.col("dimension") == "supplier_country")
    overall = summary.filter(pl.col("dimension") == "all").row(0, named=True)
    assert years["value"].to_list() == ["2022", "2023"]
    for part in (years, countries):
        assert part["rows"].sum() == overall["rows"] == labels.height
        assert part["positives"].sum() == overall["positives"] == labels["label"].sum()
    # Gallium and germanium licensing (E003) labels Chinese flows from mid-2022.
    china = countries.filter(pl.col("value") == "CHN").row(0, named=True)
    assert "E003" in china["events"].split(";")
    assert china["positives"] > 0
    assert (summary["positive_rate"] == summary["positives"] / summary["rows"]).all()


def test_labels_summary_service_needs_no_model_store(tmp_path: Path) -> None:
    from riskengine.app.registry import labels_summary
    from riskengine.app.training import PanelOptions
    from riskengine.config import load_settings

    settings = load_settings(home=tmp_path, tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    summary = labels_summary(
        settings,
        horizon_months=6,
        today=date(2026, 3, 1),
        options=PanelOptions(buyer_countries=("JPN",), start=date(2024, 1, 1)),
    )
    assert set(summary["dimension"]) == {"year", "supplier_country", "all"}
    assert summary.filter(pl.col("dimension") == "year")["value"].to_list() == ["2024", "2025"]
    assert not (tmp_path / "mlflow.db").exists()
