"""The reviewed mapping file: lookups by part number and text, and the rules a file must meet."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.bom.sourcing import resolve_leaves
from riskengine.catalog import load_catalog
from riskengine.errors import UserInputError
from riskengine.mapping.file import MaterialMapping, parse_mapping, part_number_key
from riskengine.sourcing.part_numbers import without_padding_zeros


def _mapping(*rows: tuple[str, str, str, str, str]) -> MaterialMapping:
    return parse_mapping(
        [dict(zip(COLUMNS, row, strict=True)) for row in rows],
        columns=COLUMNS,
        source="mapping.csv",
        sha256="0" * 64,
        catalog=load_catalog(),
    )


COLUMNS = ("part_number", "description", "material_id", "status", "confidence")


def test_rows_are_found_by_part_number_without_leading_zeros_then_by_text() -> None:
    mapping = _mapping(
        ("000000000010004711", "Dysprosiumoxid", "dysprosium_oxide", "proposed", "0.95"),
        ("", "Kupferdraht blank", "copper_metal", "review", "0.61"),
    )
    by_part = mapping.lookup("10004711", "anything")
    assert by_part is not None and by_part.applied and by_part.material_id == "dysprosium_oxide"
    by_text = mapping.lookup(None, "KUPFERDRAHT  blank")
    assert by_text is not None and not by_text.applied
    assert mapping.lookup("999", "unknown") is None
    assert "mapping.csv line 3" in mapping.review_reason(by_text, "Kupferdraht blank")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [("1", "a", "unobtainium_oxide", "accepted", "")],
            "mapping.csv line 2: unknown material_id 'unobtainium_oxide'",
        ),
        (
            [
                ("1", "a", "dysprosium_oxide", "accepted", ""),
                ("0001", "b", "gallium_metal", "proposed", ""),
            ],
            "mapping.csv line 3: part_number '0001' repeats line 2",
        ),
        (
            [
                ("", "Dy oxide", "dysprosium_oxide", "accepted", ""),
                ("", "dy-oxide", "gallium_metal", "accepted", ""),
            ],
            "mapping.csv line 3: description 'dy-oxide' repeats line 2",
        ),
        ([("1", "a", "dysprosium_oxide", "maybe", "")], "status 'maybe' is not one of"),
        (
            [("1", "a", "", "accepted", "")],
            "mapping.csv line 2: status accepted needs a material_id",
        ),
    ],
)
def test_a_bad_mapping_names_the_file_and_line(
    rows: list[tuple[str, str, str, str, str]], message: str
) -> None:
    with pytest.raises(UserInputError, match=message):
        _mapping(*rows)


def test_a_mapping_without_its_columns_is_refused() -> None:
    with pytest.raises(UserInputError, match="material_id, status"):
        parse_mapping(
            [{"part_number": "1"}],
            columns=("part_number",),
            source="mapping.csv",
            sha256="",
            catalog=load_catalog(),
        )


def test_bom_leaves_take_the_mapping_before_the_catalog() -> None:
    mapping = _mapping(
        ("", "Dysprosiumoxid Dy2O3 99,5%", "dysprosium_oxide", "accepted", "0.95"),
        ("10004712", "", "terbium_oxide", "proposed", "0.95"),
        ("", "Kupferdraht blank", "copper_metal", "review", "0.61"),
    )
    material_of, unknown = resolve_leaves(
        ["Dysprosiumoxid Dy2O3 99,5%", "000010004712", "Kupferdraht blank", "gallium"], mapping
    )
    assert material_of == {
        "Dysprosiumoxid Dy2O3 99,5%": "dysprosium_oxide",
        "000010004712": "terbium_oxide",
        "gallium": "gallium_metal",
    }
    assert "left it for review" in unknown["Kupferdraht blank"]


@settings(max_examples=400, deadline=None)
@given(
    part=st.text(
        alphabet=st.sampled_from(["0", "1", "9", "٠", "١", "²", "１", "a", "B", "ß", "-", "/"]),
        max_size=8,
    )
)
def test_a_part_number_key_is_the_one_the_sourcing_list_is_looked_up_by(part: str) -> None:
    """The mapping file's keys and the sourcing list's per-row keys (one polars expression)
    agree, or a reviewed mapping would silently miss rows."""
    per_row = pl.select(without_padding_zeros(pl.lit(part).str.to_uppercase())).item()

    assert part_number_key(part) == per_row


@pytest.mark.parametrize(
    ("part", "key"), [("000123", "123"), ("000", "0"), ("0١٢", "0١٢"), ("00²", "00²")]
)
def test_only_ascii_digits_lose_their_padding_zeros(part: str, key: str) -> None:
    assert part_number_key(part) == key
