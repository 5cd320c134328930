"""What a row's outcome depends on across the whole input: duplicate pairs, supplier ids with
two countries, how the share column reads and shares that sum above 1."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from riskengine.features.sourcing_mix import spine_sourcing_mix
from riskengine.sourcing.context import InputContext
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


def test_a_spreadsheet_error_as_supplier_id_in_two_countries_is_refused_for_the_error() -> None:
    # A VLOOKUP column gives "#N/A" for suppliers in any country: no key, so no conflict.
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "Dy2O3"],
            "supplier": ["A Co", "B Co"],
            "supplier_country": ["CN", "VN"],
            "share": ["50", "50"],
            "supplier_id": ["#N/A", "#N/A"],
        }
    )
    context, prepared = prepare_chunks(
        [sourcing], source="s.csv", buyer_country="JP", buyer_name=None, as_of=date(2026, 3, 1)
    )
    reasons = pl.concat([piece.resolved for piece in prepared])["reason"].to_list()
    assert all(reason is not None and "spreadsheet error" in reason for reason in reasons)
    assert context.sourcing_mix.is_empty()


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


@pytest.mark.parametrize("between_passes", ["kept", "spilled", "read again"])
def test_the_sourcing_mix_is_the_whole_inputs_usable_rows_whatever_the_chunks(
    keep_chunks: Callable[[str], None], between_passes: str
) -> None:
    # A large input is spilled, or read and resolved again, for the rows the whole input
    # refuses.
    keep_chunks(between_passes)
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "Dy2O3", "Dy2O3", "gallium", "gallium", "Dy2O3", "Dy2O3"],
            "supplier": ["A Co", "B Co", "C Co", "D Co", "D Co", "E Co", "F Co"],
            "supplier_country": ["CN", "VN", "MY", "CN", "CN", "AU", "China"],
            "share": ["50", "30", "90", "10", "10", "40", "20"],
            "supplier_id": [None, None, None, None, None, "0042", "42"],
            "valid_to": [None, None, "2020-12-31", None, None, None, None],
        }
    )
    mixes = []
    for size in (1, 2, 7):
        chunks = [sourcing.slice(start, size) for start in range(0, sourcing.height, size)]
        context, _ = prepare_chunks(
            chunks, source="s.csv", buyer_country="JP", buyer_name=None, as_of=date(2026, 3, 1)
        )
        mixes.append(context.sourcing_mix)
    for mix in mixes[1:]:
        assert_frame_equal(mix, mixes[0])
    # The same mix as the runner derives from the whole input's usable rows.
    whole = prepare_pairs(
        sourcing, source="s.csv", buyer_country="JP", buyer_name=None, as_of=date(2026, 3, 1)
    )
    assert_frame_equal(spine_sourcing_mix(whole.valid.lazy()).collect(), mixes[0])
    # Percentages read as such; the expired record, both copies of the duplicate pair and
    # the supplier id given with two countries are left out.
    assert mixes[0].select("material_id", "supplier_country", "share").rows() == [
        ("dysprosium_oxide", "CHN", 0.5),
        ("dysprosium_oxide", "VNM", 0.3),
    ]


def test_the_first_pass_reads_back_from_its_json_exactly() -> None:
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "gallium", "dysprosium oxide", "gallium", "gallium"],
            "supplier": ["Baotou Co", "Yunnan Co", "Baotou Co", "Yunnan Co", "Hanoi JSC"],
            "supplier_country": ["CN", "CN", "China", "VN", "VN"],
            "supplier_id": ["", "0002", "", "0002", "0003"],
            "share": ["0.1", "1/3", "0.1", "0.3", "0.30000000000000004"],
        }
    )
    context, _ = prepare_chunks(
        [sourcing], source="s.csv", buyer_country="JP", buyer_name="Kanto", as_of=date(2026, 3, 1)
    )

    back = InputContext.from_json(context.to_json())

    assert back.duplicate_reasons.height == 2 and back.conflict_reasons.height == 1
    for name in ("shares", "duplicate_reasons", "conflict_reasons", "sourcing_mix"):
        assert_frame_equal(getattr(back, name), getattr(context, name))
    assert (back.rows, back.notes, back.source, back.as_of) == (
        5,
        context.notes,
        "s.csv",
        date(2026, 3, 1),
    )
    assert (back.buyer_country, back.buyer_name, back.mapping_sha256) == ("JP", "Kanto", None)


def test_a_document_that_is_not_a_first_pass_is_refused() -> None:
    for text in ("[]", '{"format": "other"}', "{", '{"format": "riskengine-first-pass/1"}'):
        with pytest.raises(ValueError, match="not a readable first pass"):
            InputContext.from_json(text)


def test_past_ten_mixes_summing_above_one_the_rest_are_counted_in_one_note() -> None:
    buyers = [f"Buyer {index:02d} K.K." for index in range(12)]
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3"] * 24,
            "supplier": ["A Co", "B Co"] * 12,
            "supplier_country": ["CN", "VN"] * 12,
            "share": ["0.8"] * 24,
            "buyer": [buyer for buyer in buyers for _ in range(2)],
        }
    )
    prepared = prepare_pairs(sourcing, source="s.csv", buyer_country="JP", buyer_name=None)
    named = [note for note in prepared.notes if " sum to 1.6 " in note]
    assert len(named) == 10
    assert "buyer buyer 00 k.k." in named[0]
    assert prepared.notes[-1] == (
        "s.csv: and 2 more mixes (a material for one buyer, plant or part number) whose shares "
        "sum to more than 1 (100 %)"
    )


@given(
    hashes=st.lists(st.one_of(st.none(), st.integers(0, 6), st.integers(0, 2**64 - 1))),
    chunk_rows=st.integers(1, 5),
    rows_at_once=st.integers(1, 8),
)
@settings(max_examples=200, deadline=None)
def test_repeated_rows_are_those_whose_hash_another_row_repeats(
    hashes: list[int | None], chunk_rows: int, rows_at_once: int
) -> None:
    """Whatever the chunks and however many parts the hashes are compared in: the rows (from 1,
    ascending) whose non-null hash occurs more than once."""
    from riskengine.sourcing import context

    chunks = [
        pl.Series("pair_hash", hashes[start : start + chunk_rows], dtype=pl.UInt64)
        for start in range(0, len(hashes), chunk_rows)
    ]
    expected = [
        number
        for number, value in enumerate(hashes, start=1)
        if value is not None and hashes.count(value) > 1
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(context, "ROWS_COMPARED_AT_ONCE", rows_at_once)
        assert context.repeated_rows(chunks).to_list() == expected
