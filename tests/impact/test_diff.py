"""Diffing two score runs: pairs matched by their identity, each change with its causes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl
import pytest

from riskengine.errors import MissingColumnsError, UserInputError
from riskengine.impact.diff import (
    DEFAULT_THRESHOLD,
    DIFF_COLUMNS,
    ScoreDiff,
    diff_scores,
    read_score_run,
)
from riskengine.impact.diff_causes import _listing_row, split_relation
from riskengine.reference.loader import ReferenceData

Row = dict[str, Any]


def pair(**changes: Any) -> Row:
    """One row of a scores file: a Chinese dysprosium oxide supplier of a Japanese buyer."""
    row: Row = {
        "supplier_id": "0000100001",
        "supplier": "Baotou Example",
        "supplier_country": "China",
        "material": "Dy2O3",
        "share": "0.8",
        "material_id": "dysprosium_oxide",
        "supplier_country_iso3": "CHN",
        "buyer_country_iso3": "JPN",
        "risk_score": "0.20",
        "risk_band": "medium",
        "status": "scored",
        "reason": None,
    }
    return {**row, **changes}


def scores(
    rows: list[Row], as_of: str, reference: ReferenceData, **run: str | None
) -> pl.DataFrame:
    """A scores file as ``riskengine score`` writes it (all text, as read back from CSV)."""
    provenance = {
        "model_version": "1",
        "as_of": as_of,
        "reference_fingerprint": reference.fingerprint,
        **run,
    }
    return pl.DataFrame(
        [{**row, **provenance} for row in rows],
        schema=dict.fromkeys([*rows[0], *provenance], pl.String),
    )


def diff(
    old: pl.DataFrame, new: pl.DataFrame, reference: ReferenceData, **options: Any
) -> ScoreDiff:
    return diff_scores(
        read_score_run(old, label="old.csv"),
        read_score_run(new, label="new.csv"),
        old_reference=options.pop("old_reference", reference),
        new_reference=reference,
        **options,
    )


def only_change(result: ScoreDiff) -> Row:
    assert result.changes.height == 1, result.changes
    return result.changes.row(0, named=True)


def kinds(row: Row) -> list[str]:
    return row["cause_kinds"].split(" | ")


def test_licensing_that_took_effect_in_between_is_the_cause_with_its_source(
    reference: ReferenceData,
) -> None:
    result = diff(
        scores([pair()], "2025-03-01", reference),
        scores([pair(risk_score="0.62", risk_band="high")], "2025-06-01", reference),
        reference,
    )
    row = only_change(result)
    # The measure on this flow first; then China's other measures that ended in between (its
    # fertiliser quota and urea ban), which reach the pair only through the supplier country's
    # count of measures in force.
    first, *others = row["causes"].split(" | ")
    assert row["cause_ids"].split(" | ")[0] == "E010"
    assert first.startswith("E010 took effect 2025-04-04 (on this flow): export licensing")
    assert all("by the supplier's country" in cause for cause in others)
    assert "hklaw.com" in row["sources"]
    assert (row["old_risk_band"], row["new_risk_band"]) == ("medium", "high")
    assert row["delta"] == pytest.approx(0.42)
    assert "export_control_severity" in row["changed_features"]
    assert list(result.changes.columns) == list(DIFF_COLUMNS)
    assert (result.compared, result.band_changes, result.added, result.removed) == (1, 1, 0, 0)


def test_a_measure_that_ended_in_between_is_named_as_ended(reference: ReferenceData) -> None:
    antimony = pair(material="antimony", material_id="antimony_metal", risk_score="0.6")
    result = diff(
        scores([antimony], "2025-12-15", reference),
        scores([{**antimony, "risk_score": "0.4"}], "2026-01-15", reference),
        reference,
    )
    row = only_change(result)
    causes = dict(zip(row["cause_ids"].split(" | "), row["causes"].split(" | "), strict=True))
    assert causes["E379"].startswith("E379 ended 2026-01-01 (on this flow)")


def test_a_measure_announced_but_not_yet_in_force_is_named_as_announced(
    reference: ReferenceData,
) -> None:
    concentrate = pair(
        supplier_country="Viet Nam",
        supplier_country_iso3="VNM",
        material="rare earth concentrate",
        material_id="rare_earth_concentrate",
    )
    result = diff(
        scores([concentrate], "2025-12-01", reference),
        scores([{**concentrate, "risk_band": "high"}], "2025-12-20", reference),
        reference,
    )
    row = only_change(result)
    assert row["cause_ids"] == "E022"
    assert row["causes"].startswith("E022 announced 2025-12-11 (on this flow): export ban")


def test_a_new_listing_of_the_buyer_comes_before_the_events_with_its_source(
    reference: ReferenceData,
) -> None:
    listed = pair(buyer="Mitsubishi Heavy Industries Aero Engines, Ltd.")
    result = diff(
        scores([listed], "2026-02-01", reference),
        scores([{**listed, "risk_band": "critical", "risk_score": "1.0"}], "2026-03-01", reference),
        reference,
    )
    row = only_change(result)
    assert kinds(row)[0] == "listing"
    assert row["causes"].startswith(
        "buyer newly matches 'Mitsubishi Heavy Industries Aero Engines, Ltd.' on the CN MOFCOM "
        "Export Control List"
    )
    assert row["sources"].startswith("MOFCOM Announcement No. 11 [2026]")
    # China's listings of Japanese entities that day are events aimed at the buyer's country.
    assert "aimed at the buyer's country" in row["causes"]


def test_a_production_edition_published_in_between_is_a_cause(reference: ReferenceData) -> None:
    gallium = pair(material="gallium", material_id="gallium_metal", buyer_country_iso3="DEU")
    result = diff(
        scores([gallium], "2026-02-15", reference),
        scores([{**gallium, "risk_score": "0.5"}], "2026-03-15", reference),
        reference,
    )
    row = only_change(result)
    production = [
        cause for cause in row["causes"].split(" | ") if cause.startswith("new production edition")
    ]
    assert production == ["new production edition: gallium (refining) 2025, published 2026-02-28"]


def test_model_version_reference_data_mapping_and_input_changes_are_each_named(
    reference: ReferenceData,
) -> None:
    result = diff(
        scores([pair(annual_volume="12")], "2025-03-01", reference, reference_fingerprint="aaaa"),
        scores(
            [pair(share="0.6", risk_score="0.3", annual_volume="10")],
            "2025-03-01",
            reference,
            model_version="2",
            reference_fingerprint="bbbb",
            mapping_sha256="cccc",
        ),
        reference,
    )
    row = only_change(result)
    # The volume is kept in the output but read by nothing: its change is no cause.
    assert kinds(row) == ["input", "mapping", "reference", "model"]
    assert row["causes"] == (
        "input 'share' changed from 0.8 to 0.6 | material mapping changed from none to cccc | "
        "reference data changed from aaaa to bbbb | model version changed from 1 to 2"
    )
    assert row["sources"].startswith("old.csv row 1, new.csv row 1 | ")


def test_an_event_added_to_the_reference_data_is_named_with_the_fingerprint_change(
    reference: ReferenceData,
) -> None:
    without_e010 = replace(
        reference,
        policy_events=reference.policy_events.filter(pl.col("event_id") != "E010"),
        fingerprint="before-e010",
    )
    result = diff(
        scores([pair()], "2025-06-01", without_e010),
        scores([pair(risk_score="0.62", risk_band="high")], "2025-06-01", reference),
        reference,
        old_reference=without_e010,
    )
    row = only_change(result)
    assert kinds(row) == ["event", "reference"]
    assert row["causes"].startswith("E010 added in the reference data (on this flow)")
    assert row["cause_ids"] == f"E010 | {reference.fingerprint}"


def test_a_change_with_no_cause_says_so(reference: ReferenceData) -> None:
    french = pair(
        supplier="La Rochelle Example",
        supplier_id="0000100006",
        supplier_country="France",
        supplier_country_iso3="FRA",
        material="NdPr oxide",
        material_id="ndpr_oxide",
        risk_score="0.01",
        risk_band="low",
    )
    # No fact about NdPr oxide or France changed between these dates (the IEA's 2024 magnet
    # rare-earth shares were published before, on 2025-05-21).
    result = diff(
        scores([french], "2025-06-01", reference),
        scores([{**french, "risk_score": "0.2"}], "2025-09-01", reference),
        reference,
    )
    row = only_change(result)
    assert row["cause_kinds"] == "none"
    assert row["causes"].startswith("no cause found")
    assert row["cause_ids"] is None and row["sources"] is None


def test_small_moves_are_left_out_and_pairs_are_matched_by_identity(
    reference: ReferenceData,
) -> None:
    """The same supplier id without SAP's zeros and the same material written otherwise are
    one pair; a move within the threshold is not listed; a pair of one run only is."""
    old = scores(
        [pair(), pair(supplier_id="7", material="gallium", material_id="gallium_metal")],
        "2025-03-01",
        reference,
    )
    new = scores(
        [
            pair(supplier_id="100001", material="dysprosium oxide", risk_score="0.24"),
            pair(
                supplier_id="8", supplier="Other", material="gallium", material_id="gallium_metal"
            ),
        ],
        "2025-03-01",
        reference,
    )
    result = diff(old, new, reference, threshold=DEFAULT_THRESHOLD)
    assert result.changes["change"].to_list() == ["added", "removed"]
    assert result.changes["cause_kinds"].to_list() == ["pair", "pair"]
    assert (result.compared, result.score_moves, result.added, result.removed) == (1, 0, 1, 1)
    tighter = diff(old, new, reference, threshold=0.01)
    assert tighter.changes["change"].to_list() == ["changed", "added", "removed"]
    assert tighter.changes["causes"][0] == (
        "input 'supplier_id' changed from 0000100001 to 100001 | "
        "input 'material' changed from Dy2O3 to dysprosium oxide"
    )


def test_a_pair_rejected_in_the_new_run_is_listed_with_the_reason(
    reference: ReferenceData,
) -> None:
    rejected = pair(status="rejected", risk_score=None, risk_band=None, reason="blocked source")
    result = diff(
        scores([pair()], "2025-03-01", reference),
        scores([rejected], "2025-03-01", reference),
        reference,
    )
    row = only_change(result)
    assert row["causes"] == "rejected in the new run: blocked source"
    assert row["sources"] == "old.csv row 1, new.csv row 1"
    assert result.status_changes == 1


def test_a_source_blocked_in_the_new_run_reads_as_blocked_not_rejected(
    reference: ReferenceData,
) -> None:
    reason = "blocked source of supply (NOTKZ X): kept for the record, not counted as supply"
    blocked = pair(status="blocked", risk_score=None, risk_band=None, reason=reason)
    result = diff(
        scores([pair()], "2025-03-01", reference),
        scores([blocked], "2025-03-01", reference),
        reference,
    )
    assert only_change(result)["causes"] == f"blocked in the new run: {reason}"
    back = diff(
        scores([blocked], "2025-03-01", reference),
        scores([pair()], "2025-03-01", reference),
        reference,
    )
    assert only_change(back)["causes"] == f"scored in the new run, blocked in the old: {reason}"


def test_a_scores_file_without_a_score_column_names_the_file_and_column(
    reference: ReferenceData,
) -> None:
    with pytest.raises(MissingColumnsError, match=r"old\.csv: missing column risk_band"):
        read_score_run(scores([pair()], "2025-03-01", reference).drop("risk_band"), label="old.csv")


def test_an_unreadable_score_names_the_file_row_and_column(reference: ReferenceData) -> None:
    bad = scores([pair(), pair(supplier_id="2", risk_score="high")], "2025-03-01", reference)
    with pytest.raises(UserInputError, match=r"old\.csv.*risk_score.*'high'.*data row 2"):
        read_score_run(bad, label="old.csv")


def test_a_file_of_two_as_of_dates_is_refused(reference: ReferenceData) -> None:
    mixed = pl.concat(
        [
            scores([pair()], "2025-03-01", reference),
            scores([pair(supplier_id="2")], "2025-06-01", reference),
        ]
    )
    with pytest.raises(UserInputError, match="'as_of' holds 2 values"):
        read_score_run(mixed, label="old.csv")


@pytest.mark.parametrize(
    ("entity", "parts"),
    [
        (
            "Vexlar Optik (subsidiary of Vexlar Holdings)",
            ("Vexlar Optik", "subsidiary", "Vexlar Holdings"),
        ),
        (
            "Traffic USA (subsidiary of Communications Group (Limited))",
            ("Traffic USA", "subsidiary", "Communications Group (Limited)"),
        ),
        (
            "Optik (HK) (research institute of Academy of Sciences (CAS))",
            ("Optik (HK)", "research institute", "Academy of Sciences (CAS)"),
        ),
        ("Vexlar Holdings (VH)", None),
    ],
)
def test_a_family_match_splits_into_member_relation_and_parent_parentheses_and_all(
    entity: str, parts: tuple[str, str, str] | None
) -> None:
    assert split_relation(entity) == parts


def test_a_listing_through_a_parent_with_parentheses_finds_the_parents_row(
    reference: ReferenceData,
) -> None:
    """The cause of a family match carries the listed parent's id and source."""
    listings = pl.DataFrame(
        {
            "list_name": ["UEL"],
            "entity_name": ["Communications Group (Limited)"],
            "source": ["MOFCOM notice"],
        }
    )
    evidence = "Traffic USA (subsidiary of Communications Group (Limited))|UEL|2025-01-02"
    assert _listing_row(replace(reference, listed_entities=listings), evidence) == (
        "UEL: Communications Group (Limited)",
        "MOFCOM notice",
    )
