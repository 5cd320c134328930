"""Preparing a sourcing list whole or in chunks: every row gets the same answer."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.features.registry import PAIR_KEY
from riskengine.sourcing.preparation import prepare_chunks, prepare_pairs

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
