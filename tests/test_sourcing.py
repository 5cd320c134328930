"""Preparing a sourcing list: whole or in chunks, every row gets the same answer."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.features.registry import PAIR_KEY
from riskengine.sourcing import prepare_chunks, prepare_pairs

_MATERIALS = ["Dy2O3", "dysprosium oxide", "NdPr oxide", "gallium", "unobtainium", ""]

_COUNTRIES = ["CN", "China", "VN", "MY", "Atlantis", "Korea", ""]

_SHARES = ["0.5", "50", "70", "1", "0,25", "-1", "abc", "", "40%"]


@st.composite
def sourcing_lists(draw: st.DrawFn) -> pl.DataFrame:
    """Small sourcing lists full of repeats: duplicate pairs, ids with two countries, odd shares."""
    rows = draw(st.integers(min_value=1, max_value=25))
    pick = lambda values: draw(st.lists(st.sampled_from(values), min_size=rows, max_size=rows))  # noqa: E731
    return pl.DataFrame(
        {
            "material": pick(_MATERIALS),
            "supplier": pick(["Baotou Co", "Hanoi JSC", "Kuantan Sdn Bhd", ""]),
            "supplier_country": pick(_COUNTRIES),
            "supplier_id": pick(["0001", "0002", "0003", ""]),
            "share": pick(_SHARES),
        }
    )


@settings(max_examples=60, deadline=None)
@given(sourcing=sourcing_lists(), cuts=st.lists(st.integers(0, 25), max_size=4))
def test_preparing_in_chunks_gives_every_row_the_answer_it_gets_whole(
    sourcing: pl.DataFrame, cuts: list[int]
) -> None:
    whole = prepare_pairs(sourcing, source="s.csv", buyer_country="JP", buyer_name=None)
    bounds = sorted({0, sourcing.height, *(min(cut, sourcing.height) for cut in cuts)})
    chunks = [sourcing.slice(start, end - start) for start, end in pairwise(bounds)]
    context, prepared = prepare_chunks(chunks, source="s.csv", buyer_country="JP", buyer_name=None)
    pieces = [piece.resolved.drop(PAIR_KEY) for piece in prepared]
    assert context.rows == sourcing.height
    assert pl.concat(pieces).equals(whole.resolved.drop(PAIR_KEY))
    assert context.notes == whole.notes


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


def test_a_quoted_line_break_streams_across_chunks_as_the_file_prepared_whole(
    tmp_path: Path,
) -> None:
    from riskengine.io import ChunkedTable, read_table

    source = tmp_path / "notes.csv"
    source.write_text(
        'material,supplier,supplier_country,note\nDy2O3,Baotou Co,CN,"two\nlines"\n'
        "gallium,Yunnan Co,CN,plain\nDy2O3,Baotou Co,China,again\n",
        encoding="utf-8",
    )
    table = ChunkedTable(str(source), chunk_bytes=30)
    context, prepared = prepare_chunks(
        table, source="notes.csv", buyer_country="JP", buyer_name=None
    )
    pieces = [piece.resolved.drop(PAIR_KEY) for piece in prepared]
    whole = prepare_pairs(
        read_table(str(source)), source="notes.csv", buyer_country="JP", buyer_name=None
    )
    assert len(pieces) > 1  # streamed: no fallback to reading the file whole
    assert pl.concat(pieces).equals(whole.resolved.drop(PAIR_KEY))
    assert context.rows == 3
    assert pieces[0]["reason"][0] == "duplicate pair: data rows 1, 3 repeat it"


# --- silent acceptances (issue 14) ----------------------------------------------------------


def _reasons(sourcing: pl.DataFrame) -> list[str | None]:
    prepared = prepare_pairs(sourcing, source="s.csv", buyer_country="JP", buyer_name=None)
    return prepared.resolved["reason"].to_list()


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


def test_supplier_ids_are_compared_as_names_are() -> None:
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "gallium"],
            "supplier": ["Acme", "Acme"],
            "supplier_country": ["CN", "VN"],
            "supplier_id": ["AB-1", "ab-1\u200b"],
        }
    )
    reasons = _reasons(sourcing)
    assert all(
        reason and "appears with several countries (CHN, VNM)" in reason for reason in reasons
    )


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


@pytest.mark.parametrize(
    "error",
    ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"],
)
@pytest.mark.parametrize("column", ["material", "supplier", "supplier_country", "share"])
def test_a_spreadsheet_error_cell_refuses_its_row_naming_the_value(error: str, column: str) -> None:
    cells = {"material": "Dy2O3", "supplier": "Acme", "supplier_country": "CN", "share": "0.5"}
    sourcing = pl.DataFrame(
        {name: [error if name == column else cell] for name, cell in cells.items()}
    )
    [reason] = _reasons(sourcing)
    assert reason is not None
    assert f"column '{column}': '{error}' is a spreadsheet error value" in reason
    # Not a supplier called "#N/A", an empty cell or an unknown name with look-alikes.
    assert "is empty" not in reason and "closest" not in reason.lower()


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
