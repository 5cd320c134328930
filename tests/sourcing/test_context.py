"""What a row's outcome depends on across the whole input: duplicate pairs, supplier ids with
two countries, how the share column reads and shares that sum above 1."""

from __future__ import annotations

import polars as pl

from riskengine.sourcing.preparation import prepare_chunks, prepare_pairs


def _reasons(sourcing: pl.DataFrame) -> list[str | None]:
    prepared = prepare_pairs(sourcing, source="s.csv", buyer_country="JP", buyer_name=None)
    return prepared.resolved["reason"].to_list()


def test_duplicates_and_conflicts_are_named_across_chunks() -> None:
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "gallium", "dysprosium oxide", "gallium"],
            "supplier": ["Baotou Co", "Yunnan Co", "Baotou Co", "Yunnan Co"],
            "supplier_country": ["CN", "CN", "China", "VN"],
            "supplier_id": [None, "0007", None, "0007"],
        }
    )
    _, prepared = prepare_chunks(
        [sourcing.slice(0, 2), sourcing.slice(2, 2)],
        source="s.csv",
        buyer_country="JP",
        buyer_name=None,
    )
    reasons = pl.concat([piece.resolved for piece in prepared])["reason"].to_list()
    assert reasons[0] == reasons[2] == "duplicate pair: data rows 1, 3 repeat it"
    assert reasons[1] == reasons[3] == "supplier_id 0007 appears with several countries (CHN, VNM)"


def test_a_supplier_in_another_case_or_with_an_invisible_character_is_the_same_supplier() -> None:
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "Dy2O3", "Dy2O3", "Dy2O3"],
            "supplier": ["Acme", "ACME", "Acme\u200b", "Acme Trading"],
            "supplier_country": ["CN", "CN", "CN", "CN"],
        }
    )
    reasons = _reasons(sourcing)
    assert reasons[:3] == ["duplicate pair: data rows 1, 2, 3 repeat it"] * 3
    assert reasons[3] is None


def test_shares_summing_above_one_for_a_material_get_a_note_naming_it() -> None:
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "dysprosium oxide", "Dy2O3", "gallium", "gallium"],
            "supplier": ["A", "B", "C", "D", "E"],
            "supplier_country": ["CN", "VN", "MY", "CN", "DE"],
            "share": ["100", "100", "100", "50", "50"],
        }
    )
    prepared = prepare_pairs(sourcing, source="s.csv", buyer_country="JP", buyer_name=None)
    [percentages, over] = prepared.notes
    assert "read as percentages" in percentages
    assert over == (
        "s.csv: shares of Dysprosium oxide (buyer country JPN) sum to 3 (300%) over 3 row(s); "
        "a material's suppliers share at most 1 (100 %)"
    )
    assert prepared.resolved["reason"].null_count() == 5


def test_each_plant_has_its_own_supplier_mix() -> None:
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "Dy2O3", "Dy2O3"],
            "supplier": ["A", "B", "A"],
            "supplier_country": ["CN", "VN", "CN"],
            "share": ["0.5", "0.5", "1"],
            "WERKS": ["1000", "1000", "2000"],
        }
    )
    prepared = prepare_pairs(sourcing, source="s.csv", buyer_country="JP", buyer_name=None)
    assert prepared.notes == ()


def test_a_share_with_a_percent_sign_is_refused_citing_only_its_own_cell() -> None:
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "gallium"],
            "supplier": ["A", "B"],
            "supplier_country": ["CN", "CN"],
            "share": ["101%", "200"],
        }
    )
    first, second = _reasons(sourcing)
    assert first == "s.csv: column 'share': '101%' is above 100 %"
    assert second is not None and "'200' is above 1 (100 %)" in second
