"""BOM explosion and roll-up: tiny literal BOMs against a hand-built scored sourcing list."""

from __future__ import annotations

import math
from random import Random

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from riskengine.bom.pipeline import score_bom
from riskengine.bom.reading import BOM_ALIASES, identifiers, parent_child_rows, product_from_title
from riskengine.bom.results import (
    LINE_SCHEMA,
    LINE_STATUSES,
    PROBLEM_KINDS,
    PRODUCT_SCHEMA,
    BomResult,
)
from riskengine.errors import MissingColumnsError, UserInputError

# (material_id, supplier, supplier country, risk_score, share, status)
SourcingRow = tuple[str, str, str, float | None, str | None, str]

SOURCING: list[SourcingRow] = [
    ("dysprosium_oxide", "Baotou Example Co.", "CHN", 0.18, "0.6", "scored"),
    ("dysprosium_oxide", "Kuantan Example Sdn Bhd", "MYS", 0.05, "0.3", "scored"),
    ("ndfeb_magnet", "Magnet Example KK", "JPN", 0.10, None, "scored"),
    ("cerium_oxide", "Cerium Example Co.", "CHN", 0.02, None, "scored"),
    ("gallium_metal", "Gallium Example A", "CHN", 0.30, "0.5", "scored"),
    ("gallium_metal", "Gallium Example B", "DEU", 0.01, "0.5", "scored"),
    ("germanium_metal", "Germanium Example", "???", None, None, "rejected"),
]


def scored_sourcing(rows: list[SourcingRow] = SOURCING) -> pl.DataFrame:
    """A frame shaped like ``score_pairs`` output (input columns, then the scores)."""
    return pl.DataFrame(
        {
            "material": [row[0] for row in rows],
            "supplier": [row[1] for row in rows],
            "supplier_country": [row[2] for row in rows],
            "share": [row[4] for row in rows],
            "material_id": [row[0] for row in rows],
            "supplier_country_iso3": [row[2] if row[5] == "scored" else None for row in rows],
            "risk_score": [row[3] for row in rows],
            "risk_band": ["medium" if row[3] is not None else None for row in rows],
            "model_score": [row[3] for row in rows],
            "drivers": [None for _ in rows],
            "status": [row[5] for row in rows],
            "reason": [None if row[5] == "scored" else "unknown country '???'" for row in rows],
            "model_version": ["test-1" for _ in rows],
            "as_of": ["2025-06-30" for _ in rows],
        },
        schema_overrides={
            "share": pl.String,
            "risk_score": pl.Float64,
            "model_score": pl.Float64,
            "drivers": pl.String,
            "supplier_country_iso3": pl.String,
            "risk_band": pl.String,
        },
    )


def bom_frame(rows: list[tuple], columns: tuple[str, ...] = ("parent", "component", "quantity")):
    return pl.DataFrame(
        [list(row) for row in rows], schema=dict.fromkeys(columns, pl.String), orient="row"
    )


def product(result: BomResult, name: str) -> dict:
    rows = result.products.filter(pl.col("product") == name).to_dicts()
    assert len(rows) == 1, f"{name} appears {len(rows)} times"
    return rows[0]


def kinds(result: BomResult) -> list[str]:
    return [problem.kind for problem in result.problems]


def material_risk(rows: list[SourcingRow], material_id: str) -> float:
    scored = [row for row in rows if row[0] == material_id and row[5] == "scored"]
    shares = [float(row[4]) for row in scored if row[4] is not None]
    if len(shares) == len(scored):
        return sum(float(row[4]) * row[3] for row in scored) / sum(shares)
    return sum(row[3] for row in scored) / len(scored)


# ----------------------------------------------------------------------- quantities


def test_quantities_multiply_down_every_path_with_base_quantity_and_scrap() -> None:
    bom = bom_frame(
        [
            ("Motor M-1", "Rotor R-200", "2", None, None),
            ("Rotor R-200", "NdFeB magnet", "5", "10", "10"),  # 5 per 10 rotors, 10 % scrap
            ("Rotor R-200", "Dysprosium oxide", "0,025", None, None),
            ("Motor M-1", "Dysprosium oxide", "0.01", None, None),
        ],
        ("parent", "component", "quantity", "base_quantity", "scrap_percent"),
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")

    quantities = dict(result.lines.select("path", "quantity_per_product_unit").iter_rows())
    assert quantities == pytest.approx(
        {
            "Motor M-1 > Rotor R-200 > NdFeB magnet": 2 * 5 / 10 * 1.1,
            "Motor M-1 > Rotor R-200 > Dysprosium oxide": 0.05,
            "Motor M-1 > Dysprosium oxide": 0.01,
        }
    )
    motor = product(result, "Motor M-1")
    assert motor["status"] == "scored"
    dysprosium = material_risk(SOURCING, "dysprosium_oxide")
    # One input per supplier country (China 0.18, Malaysia 0.05, Japan 0.10); dysprosium
    # counts once although two paths use it.
    assert motor["risk_score"] == pytest.approx(1 - (1 - 0.18) * (1 - 0.05) * (1 - 0.10))
    assert motor["max_pair_risk"] == pytest.approx(0.18)
    assert motor["driving_material"] == "Dysprosium oxide"
    assert motor["driving_supplier"] == "Baotou Example Co."
    assert motor["exposure"] == pytest.approx(1.1 * 0.10 + 0.06 * dysprosium)
    assert "Dysprosium oxide from Baotou Example Co. (China): pair risk 0.18" in motor["drivers"]
    assert "0.06 per product unit via Rotor R-200 and 1 other path" in motor["drivers"]


def test_contributions_sum_to_the_product_risk_and_exposures_to_its_exposure() -> None:
    bom = bom_frame(
        [
            ("Drive", "Motor", "2"),
            ("Motor", "Dysprosium oxide", "0.1"),
            ("Motor", "Gallium metal", "0.2"),
            ("Drive", "Cerium oxide", "1"),
        ]
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")
    drive = product(result, "Drive")
    assert result.lines["contribution"].sum() == pytest.approx(drive["risk_score"])
    assert result.lines["exposure"].sum() == pytest.approx(drive["exposure"])
    shares = result.lines.group_by("material_id").agg(pl.col("share").sum())
    assert shares["share"].to_list() == pytest.approx([1.0] * 3)


def test_quantities_are_read_by_the_shared_number_parser() -> None:
    """Decimal commas, thousands separators and SAP's trailing minus, as `score` reads them;
    a "1,000" is one when another number of the export shows the comma is decimal."""
    bom = bom_frame(
        [
            ("Pump", "Gallium metal", "1,5", None),
            ("Fan", "Gallium metal", "1.234,5", None),
            ("Drive", "Gallium metal", "1,000", "0,5"),
            ("Valve", "Gallium metal", " 2 ", None),
            ("Seal", "Gallium metal", "100-", None),
        ],
        ("parent", "component", "quantity", "base_quantity"),
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")
    quantities = dict(
        result.lines.select("product", "quantity_per_product_unit").unique().iter_rows()
    )
    assert quantities == {"Pump": 1.5, "Fan": 1234.5, "Drive": 2.0, "Valve": 2.0, "Seal": None}
    assert "column 'quantity': '100-' is not a positive number" in result.problems[0].message


def test_a_quantity_0_line_is_reported_and_skipped_not_fatal() -> None:
    # Issue 13: one line parked at quantity 0 refused the whole product.
    bom = bom_frame(
        [("Motor", "Cerium oxide", "0"), ("Motor", "Gallium metal", "2")],
        ("parent", "component", "quantity"),
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")

    assert kinds(result) == ["zero_quantity"]
    assert "bom.csv row 1 (Motor > Cerium oxide): quantity 0" in result.problems[0].message
    assert product(result, "Motor")["status"] == "scored"
    assert "cerium_oxide" not in result.lines["material_id"].to_list()


def test_a_bom_keyed_by_part_number_links_to_the_sourcing_lists_part_numbers() -> None:
    # Issue 13: a CS12 BOM names components by SAP material number (IDNRK); the sourcing list
    # (EORD) carries MATNR beside the text, so the leaf is the row's material, not unknown.
    sourcing = scored_sourcing().with_columns(
        pl.Series("MATNR", ["000010004711", "10004711", "4720", "4730", "4740", "4740", None])
    )
    bom = bom_frame(
        [("000000000000200001", "10004711", "0.2"), ("000000000000200001", "4740", "1")],
        ("MATNR", "IDNRK", "MENGE"),
    )
    result = score_bom(bom, sourcing, source="cs12.csv")

    assert "unknown_leaf" not in kinds(result)
    assert product(result, "200001")["status"] == "scored"
    assert set(result.lines["material_id"].to_list()) == {"dysprosium_oxide", "gallium_metal"}


def test_an_indented_bom_is_read_as_parent_component_rows() -> None:
    # Oracle's indented bill: level 0 is the product, each row's parent the nearest row one
    # level up; CS12 writes the levels ".1", "..2".
    bom = bom_frame(
        [
            ("0", "Motor", "1"),
            (".1", "Rotor", "1"),
            ("..2", "Dysprosium oxide", "0.2"),
            (".1", "Gallium metal", "2"),
        ],
        ("Level", "Item", "Quantity"),
    )
    rows = parent_child_rows(bom, source="bom.csv")

    assert rows.select("parent", "component").rows() == [
        ("Motor", "Rotor"),
        ("Rotor", "Dysprosium oxide"),
        ("Motor", "Gallium metal"),
    ]
    result = score_bom(bom, scored_sourcing(), source="bom.csv")
    assert product(result, "Motor")["status"] == "scored"
    assert set(result.lines["material_id"].to_list()) == {"dysprosium_oxide", "gallium_metal"}


def test_an_indented_bom_without_its_product_row_is_refused() -> None:
    bom = bom_frame([(".1", "Rotor", "1"), ("..2", "Dysprosium oxide", "0.2")])
    bom.columns = ["Stufe", "Komponente", "Menge"]

    with pytest.raises(UserInputError, match="add the product as a row at level 0") as refusal:
        parent_child_rows(bom, source="cs12.csv")
    assert "--product NAME" in str(refusal.value)


def test_a_cs12_list_without_its_product_row_takes_the_product_it_is_given() -> None:
    bom = bom_frame(
        [(".1", "000000000020000010", "1"), ("..2", "Dysprosium oxide", "0.2"), (".1", "Ga", "2")]
    )
    bom.columns = ["Stufe", "Komponente", "Menge"]

    rows = parent_child_rows(bom, source="cs12.csv", product="000000000020000001")

    # Part numbers as the BOM's own rows are read: leading zeros dropped.
    assert rows.select("parent", "component").rows() == [
        ("20000001", "000000000020000010"),
        ("20000010", "Dysprosium oxide"),
        ("20000001", "Ga"),
    ]


@pytest.mark.parametrize(
    ("title", "product"),
    [
        (("Material 000000000020000001 Elektromotor EM-400", "Werk 1000"), "000000000020000001"),
        (("Multi-Level BOM", "Material: 100-200 Pump"), "100-200"),
        (("Materialnummer 4711",), "4711"),
        (("Stücklistenauflösung",), None),
        (("Material 1 A", "Material 2 B"), None),
    ],
)
def test_the_product_is_read_from_a_cs12_material_line(
    title: tuple[str, ...], product: str | None
) -> None:
    assert product_from_title(title) == product


def test_typed_parquet_like_columns_are_accepted() -> None:
    bom = pl.DataFrame(
        {"parent": ["Pump"], "component": ["Gallium metal"], "quantity": [1.5]},
    )
    result = score_bom(bom, scored_sourcing(), source="bom.parquet")
    assert product(result, "Pump")["status"] == "scored"
    assert result.lines["quantity_per_product_unit"].to_list() == [1.5, 1.5]


# --------------------------------------------------------------------- bad rows


@pytest.mark.parametrize(
    ("quantity", "base", "scrap", "words"),
    [
        # The shared number parser's wording, naming the column as the file calls it.
        ("-3", None, None, "column 'quantity': '-3' is not a positive number"),
        ("abc", None, None, "column 'quantity': 'abc' is not a number"),
        (None, None, None, "column 'quantity' is empty"),
        ("inf", None, None, "column 'quantity': 'inf' is not a finite number"),
        ("1", "0", None, "column 'base_quantity': '0' is not a positive number"),
        ("1", "x", None, "column 'base_quantity': 'x' is not a number"),
        ("1", None, "100", "column 'scrap_percent': '100' is not at least 0 and below 100"),
        ("1", None, "-5", "column 'scrap_percent': '-5' is not at least 0 and below 100"),
    ],
)
def test_unusable_numbers_refuse_only_the_products_using_the_row(
    quantity: str | None, base: str | None, scrap: str | None, words: str
) -> None:
    bom = bom_frame(
        [
            ("Motor", "Rotor", "1", None, None),
            ("Rotor", "Cerium oxide", quantity, base, scrap),
            ("Pump", "Gallium metal", "1", None, None),
        ],
        ("parent", "component", "quantity", "base_quantity", "scrap_percent"),
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")

    assert kinds(result) == ["bad_quantity"]
    assert words in result.problems[0].message
    assert "bom.csv row 2 (Rotor > Cerium oxide)" in result.problems[0].message
    motor = product(result, "Motor")
    assert motor["status"] == "refused"
    assert motor["risk_score"] is None
    assert "bom.csv row 2" in motor["reason"] and words in motor["reason"]
    assert product(result, "Pump")["status"] == "scored"
    line = result.lines.filter(pl.col("product") == "Motor").to_dicts()
    assert [row["status"] for row in line] == ["bad_quantity"]
    assert line[0]["quantity_per_product_unit"] is None


def test_rows_without_component_refuse_their_product_and_rows_without_parent_are_reported() -> None:
    bom = bom_frame(
        [("Motor", "", "1"), (None, "Cerium oxide", "1"), ("Pump", "Gallium metal", "1")]
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")
    assert kinds(result) == ["bad_line", "bad_line"]
    assert "component is empty" in result.problems[0].message
    assert "parent is empty; the row belongs to no product" in result.problems[1].message
    assert product(result, "Motor")["status"] == "refused"
    assert product(result, "Pump")["status"] == "scored"
    assert result.products.height == 2


def test_text_and_document_items_are_excluded_and_reported() -> None:
    bom = bom_frame(
        [
            ("Motor", "Cerium oxide", "1", "L"),
            ("Motor", "See drawing 42", "1", "t"),
            ("Motor", "DOC-7", "1", "D"),
            ("Manual", "Cover text", "1", "T"),
        ],
        ("parent", "component", "quantity", "item_category"),
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")
    assert kinds(result) == ["excluded_item"] * 3
    assert "text item (category T)" in result.problems[0].message
    assert "document item (category D)" in result.problems[1].message
    assert result.lines["material"].to_list() == ["Cerium oxide"]
    assert product(result, "Motor")["status"] == "scored"
    manual = product(result, "Manual")
    assert manual["status"] == "unscored"
    assert "only text or document items" in manual["reason"]


# ------------------------------------------------------------------------ cycles


def test_cycle_unknown_leaf_and_share_sum_leave_the_rest_scored_and_nothing_disappears() -> None:
    rows = [
        ("Motor M-1", "Rotor R-200", "2"),
        ("Rotor R-200", "Dysprosium oxide", "0.025"),
        ("Rotor R-200", "NdFeB magnet", "0.5"),
        ("Pump P-9", "Loop A", "1"),
        ("Loop A", "Loop B", "1"),
        ("Loop B", "Loop A", "1"),
        ("Loop B", "Cerium oxide", "1"),
        ("Pump P-9", "Gallium metal", "1"),
        ("Fan F-3", "Unobtanium", "2"),
        ("Fan F-3", "Cerium oxide", "1"),
        ("Island X", "Island Y", "1"),
        ("Island Y", "Island X", "1"),
    ]
    result = score_bom(bom_frame(rows), scored_sourcing(), source="bom.csv")

    # Every top-level product has exactly one row, in first-appearance order.
    assert result.products["product"].to_list() == ["Motor M-1", "Pump P-9", "Fan F-3"]
    # Fan F-3 has an unknown leaf: partial, not scored (was "scored").
    assert result.products["status"].to_list() == ["scored", "refused", "partial"]

    problems = {(problem.kind, problem.product, problem.path) for problem in result.problems}
    assert problems == {
        ("cycle", "Pump P-9", "Pump P-9 > Loop A > Loop B > Loop A"),
        ("cycle", None, "Island X > Island Y > Island X"),
        ("share_sum", None, None),
        ("unknown_leaf", "Fan F-3", "Fan F-3 > Unobtanium"),
    }
    share_problem = next(p for p in result.problems if p.kind == "share_sum")
    assert "Dysprosium oxide sum to 0.9" in share_problem.message
    unknown = next(p for p in result.problems if p.kind == "unknown_leaf")
    assert "'Unobtanium'" in unknown.message

    pump = product(result, "Pump P-9")
    assert "contains the cycle Loop A > Loop B > Loop A" in pump["reason"]
    fan = product(result, "Fan F-3")
    assert fan["risk_score"] == pytest.approx(0.02)
    assert "'Unobtanium' is not a known material" in fan["reason"]
    assert "risk_score covers the scored materials only" in fan["reason"]

    # Count reconciliation: every BOM row is on an exploded path or in a problem's path.
    covered = " | ".join([*result.lines["path"].to_list(), *(p.message for p in result.problems)])
    for parent, component, _ in rows:
        edge = f"{parent} > {component}"
        assert edge in covered, edge
    # Every path ends in exactly one line per supplier, or one line without a supplier.
    paths = result.lines.group_by("product", "path").agg(
        pl.len().alias("lines"), pl.col("supplier").null_count().alias("no_supplier")
    )
    for row in paths.iter_rows(named=True):
        assert row["no_supplier"] in (0, row["lines"])
        assert row["no_supplier"] <= 1
    assert set(result.lines["status"].unique()) <= set(LINE_STATUSES)
    assert set(kinds(result)) <= set(PROBLEM_KINDS)
    cycle_line = result.lines.filter(pl.col("status") == "cycle").to_dicts()
    assert [row["path"] for row in cycle_line] == ["Pump P-9 > Loop A"]
    assert "Loop A is on the cycle Loop A > Loop B > Loop A" in cycle_line[0]["reason"]
    refused_lines = result.lines.filter(
        (pl.col("product") == "Pump P-9") & (pl.col("status") == "scored")
    )
    assert refused_lines["contribution"].null_count() == refused_lines.height
    assert set(refused_lines["reason"]) == {"product refused"}


def test_a_self_loop_is_a_cycle() -> None:
    bom = bom_frame(
        [("Pump", "Seal kit", "1"), ("Seal kit", "Seal kit", "1"), ("Fan", "Cerium oxide", "1")]
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")
    assert [(p.kind, p.product, p.path) for p in result.problems] == [
        ("cycle", "Pump", "Pump > Seal kit > Seal kit")
    ]
    assert "the cycle Seal kit > Seal kit" in product(result, "Pump")["reason"]
    assert product(result, "Pump")["status"] == "refused"
    assert product(result, "Fan")["status"] == "scored"


def test_products_deeper_than_max_depth_are_refused() -> None:
    chain = [(f"Level {level}", f"Level {level + 1}", "1") for level in range(5)]
    bom = bom_frame([*chain, ("Level 5", "Cerium oxide", "1"), ("Fan", "Cerium oxide", "1")])
    shallow = score_bom(bom, scored_sourcing(), source="bom.csv", max_depth=6)
    assert product(shallow, "Level 0")["status"] == "scored"
    cut = score_bom(bom, scored_sourcing(), source="bom.csv", max_depth=3)
    assert kinds(cut) == ["too_deep"]
    assert cut.problems[0].path == "Level 0 > Level 1 > Level 2 > Level 3"
    assert product(cut, "Level 0")["status"] == "refused"
    assert "more than 3 levels deep" in product(cut, "Level 0")["reason"]
    assert product(cut, "Fan")["status"] == "scored"


# ---------------------------------------------------------------------- sourcing


def test_strict_mode_raises_when_shares_do_not_sum_to_one() -> None:
    bom = bom_frame([("Motor", "Dy2O3", "1")])
    with pytest.raises(UserInputError, match=r"Dysprosium oxide sum to 0\.9"):
        score_bom(bom, scored_sourcing(), source="bom.csv", strict=True)
    # Materials the BOM does not use are not checked.
    strict = score_bom(
        bom_frame([("Pump", "Gallium metal", "1")]), scored_sourcing(), source="b", strict=True
    )
    assert product(strict, "Pump")["status"] == "scored"


def test_missing_shares_split_what_the_given_ones_leave() -> None:
    rows: list[SourcingRow] = [
        ("gallium_metal", "A", "CHN", 0.4, "0.5", "scored"),
        ("gallium_metal", "B", "DEU", 0.1, None, "scored"),
        ("gallium_metal", "C", "JPN", 0.2, None, "scored"),
    ]
    result = score_bom(
        bom_frame([("Pump", "Gallium metal", "1")]), scored_sourcing(rows), source="b"
    )
    assert result.problems == ()
    shares = dict(result.lines.select("supplier", "share").iter_rows())
    assert shares == pytest.approx({"A": 0.5, "B": 0.25, "C": 0.25})
    # Three supplier countries, independent: 1 - (1 - 0.4)(1 - 0.1)(1 - 0.2) (was the
    # share-weighted 0.2 + 0.025 + 0.05, below the riskiest input 0.4).
    assert product(result, "Pump")["risk_score"] == pytest.approx(1 - 0.6 * 0.9 * 0.8)

    starved = [*rows[:2], ("gallium_metal", "C", "JPN", 0.2, "0.7", "scored")]
    result = score_bom(
        bom_frame([("Pump", "Gallium metal", "1")]), scored_sourcing(starved), source="b"
    )
    assert kinds(result) == ["share_sum"]
    assert "leaving nothing for the 1 without a share" in result.problems[0].message


def test_materials_without_a_scored_supplier_are_reported_and_left_out() -> None:
    bom = bom_frame(
        [
            ("Sensor", "Germanium metal", "1"),
            ("Sensor", "Cerium oxide", "1"),
            ("Probe", "Terbium oxide", "1"),
        ]
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")
    assert [(p.kind, p.product) for p in result.problems] == [
        ("no_sourcing", "Sensor"),
        ("no_sourcing", "Probe"),
    ]
    assert "all 1 sourcing row(s) of it were rejected" in result.problems[0].message
    assert "unknown country '???'" in result.problems[0].message
    assert "not in the sourcing list" in result.problems[1].message
    sensor = product(result, "Sensor")
    assert sensor["status"] == "partial"
    assert sensor["risk_score"] == pytest.approx(0.02)
    assert "Germanium metal has no scored supplier" in sensor["reason"]
    probe = product(result, "Probe")
    assert probe["status"] == "unscored"
    assert probe["risk_score"] is None
    assert "Terbium oxide has no scored supplier" in probe["reason"]


def test_a_blocked_source_is_no_supply_and_not_counted_as_rejected() -> None:
    blocked_reason = "blocked source of supply (NOTKZ X): kept for the record"
    rows: list[SourcingRow] = [
        *SOURCING,
        ("gallium_metal", "Gallium Example C", "RUS", None, "0.5", "blocked"),
        ("terbium_oxide", "Terbium Example", "CHN", None, "1", "blocked"),
    ]
    sourcing = scored_sourcing(rows).with_columns(
        pl.when(pl.col("status") == "blocked")
        .then(pl.lit(blocked_reason))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )
    bom = bom_frame([("Pump", "Gallium metal", "1"), ("Probe", "Terbium oxide", "1")])

    result = score_bom(bom, sourcing, source="bom.csv")

    # Gallium's two scored suppliers share 0.5 + 0.5: the blocked third is no part of the mix.
    without = score_bom(bom_frame([("Pump", "Gallium metal", "1")]), scored_sourcing(), source="b")
    assert product(result, "Pump")["risk_score"] == product(without, "Pump")["risk_score"]
    assert kinds(result) == ["no_sourcing"]
    message = result.problems[0].message
    assert "its 1 source(s) in the sourcing list are all blocked" in message
    assert "rejected" not in message
    assert product(result, "Probe")["status"] == "unscored"


# ------------------------------------------------------------------- input shapes


def test_sap_column_names_and_zero_padded_numbers_are_accepted() -> None:
    bom = pl.DataFrame(
        {
            "MATNR": ["000000000000004711", "4712", "4712"],
            "IDNRK": ["4712", "NdFeB magnet", "Text"],
            "MENGE": ["2,000", "0,025", "1"],
            "BMENG": ["1", "10", None],
            "AUSCH": ["0", "20", None],
            "POSTP": ["L", "L", "T"],
        }
    )
    result = score_bom(bom, scored_sourcing(), source="stpo.xlsx")
    assert result.products["product"].to_list() == ["4711"]
    assert kinds(result) == ["excluded_item"]
    line = result.lines.row(0, named=True)
    assert line["path"] == "4711 > 4712 > NdFeB magnet"
    assert line["quantity_per_product_unit"] == pytest.approx(2 * 0.025 / 10 * 1.2)
    assert {"matnr", "idnrk", "menge", "bmeng", "ausch", "postp"} <= {
        alias for aliases in BOM_ALIASES.values() for alias in aliases
    }


def test_missing_columns_are_named() -> None:
    with pytest.raises(MissingColumnsError, match="'quantity'"):
        score_bom(
            pl.DataFrame({"parent": ["A"], "component": ["B"]}), scored_sourcing(), source="b"
        )


def test_an_empty_bom_gives_empty_frames_with_the_full_schema() -> None:
    result = score_bom(bom_frame([]), scored_sourcing(), source="b")
    assert result.products.schema == pl.Schema(PRODUCT_SCHEMA)
    assert result.lines.schema == pl.Schema(LINE_SCHEMA)
    assert result.products.height == result.lines.height == 0
    assert result.problems == ()


# -------------------------------------------------------------------- properties

MATERIALS = {
    "dysprosium_oxide": "Dysprosium oxide",
    "ndfeb_magnet": "NdFeB magnet",
    "cerium_oxide": "Cerium oxide",
    "gallium_metal": "Gallium metal",
}


@st.composite
def boms_and_sourcing(draw: st.DrawFn) -> tuple[list[tuple[str, str, str]], list[SourcingRow]]:
    """A random acyclic BOM over a few assemblies and materials, and suppliers for it."""
    assemblies = [f"Assembly {index}" for index in range(draw(st.integers(1, 5)))]
    rows: list[tuple[str, str, str]] = []
    for index, assembly in enumerate(assemblies):
        # Components only point to later assemblies, so the BOM has no cycle.
        choices = [*assemblies[index + 1 :], *MATERIALS.values()]
        components = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=4))
        for component in components:
            quantity = draw(st.floats(0.001, 100, allow_nan=False, allow_infinity=False))
            # Four decimals: a lone "1.125" is refused as ambiguous (1.125 or 1,125?), which
            # the reading tests cover; this test is about the roll-up.
            rows.append((assembly, component, f"{quantity:.4f}"))
    sourcing: list[SourcingRow] = []
    for material_id in MATERIALS:
        count = draw(st.integers(1, 3))
        with_shares = draw(st.booleans())
        for supplier in range(count):
            risk = draw(st.floats(0, 1, allow_nan=False))
            share = draw(st.floats(0.05, 1)) if with_shares else None
            sourcing.append(
                (
                    material_id,
                    f"{material_id} supplier {supplier}",
                    "CHN",
                    risk,
                    None if share is None else repr(share),
                    "scored",
                )
            )
    return rows, sourcing


@pytest.mark.few_examples(10)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boms_and_sourcing())
def test_product_risk_is_never_below_its_riskiest_material_and_lies_in_0_1(
    case: tuple[list[tuple[str, str, str]], list[SourcingRow]],
) -> None:
    rows, sourcing = case
    result = score_bom(bom_frame(rows), scored_sourcing(sourcing), source="b")
    ids = {name: material_id for material_id, name in MATERIALS.items()}
    assert result.products.height >= 1
    for row in result.products.iter_rows(named=True):
        assert row["status"] == "scored"
        used = set(result.lines.filter(pl.col("product") == row["product"])["material"].to_list())
        riskiest = max(material_risk(sourcing, ids[name]) for name in used)
        assert 0.0 <= row["risk_score"] <= 1.0
        assert row["risk_score"] >= riskiest - 1e-12
        # Every supplier here is in China: one shock, so the riskiest input is the risk.
        assert row["risk_score"] == pytest.approx(row["max_pair_risk"], rel=1e-12)
        assert math.isclose(
            result.lines.filter(pl.col("product") == row["product"])["contribution"].sum(),
            row["risk_score"],
            rel_tol=1e-9,
            abs_tol=1e-12,
        )


@pytest.mark.few_examples(5)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boms_and_sourcing(), st.randoms(use_true_random=False))
def test_the_order_of_bom_rows_does_not_change_the_result(
    case: tuple[list[tuple[str, str, str]], list[SourcingRow]], random: Random
) -> None:
    rows, sourcing = case
    shuffled = list(rows)
    random.shuffle(shuffled)
    first = score_bom(bom_frame(rows), scored_sourcing(sourcing), source="b")
    second = score_bom(bom_frame(shuffled), scored_sourcing(sourcing), source="b")
    # Sums taken in another order may differ in the last bits, nothing more.
    assert_frame_equal(
        first.products.sort("product"), second.products.sort("product"), rel_tol=1e-12
    )
    keys = ["product", "path", "supplier", "quantity_per_product_unit"]
    assert_frame_equal(
        first.lines.sort(keys, nulls_last=True),
        second.lines.sort(keys, nulls_last=True),
        rel_tol=1e-12,
    )
    assert sorted(map(repr, first.problems)) == sorted(map(repr, second.problems))


@pytest.mark.parametrize(("first", "second"), [("80%", "20%"), ("80", "20"), ("0.8", "0.2")])
def test_shares_are_read_as_score_reads_them(first: str, second: str) -> None:
    """Percent signs and bare percentages give the same shares as `score` (was 0.5 / 0.5)."""
    rows: list[SourcingRow] = [
        ("gallium_metal", "A", "CHN", 0.4, first, "scored"),
        ("gallium_metal", "B", "DEU", 0.1, second, "scored"),
    ]
    result = score_bom(
        bom_frame([("Pump", "Gallium metal", "1")]),
        scored_sourcing(rows),
        source="b",
        strict=True,
    )
    assert result.problems == ()
    shares = dict(result.lines.select("supplier", "share").iter_rows())
    assert shares == pytest.approx({"A": 0.8, "B": 0.2})


def test_score_bom_passes_on_the_notes_score_gives(trained_settings, tmp_path) -> None:
    """Shares read as percentages and a future as-of date are said, as `score` says them."""
    from datetime import date

    from riskengine.app.bom import score_bom_file
    from riskengine.app.requests import BomRequest, InputFile, ScoringRequest

    (tmp_path / "bom.csv").write_text("parent,component,quantity\nPump,Gallium metal,1\n")
    (tmp_path / "sourcing.csv").write_text(
        "material,supplier,supplier_country,share\ngallium metal,A,CN,80\ngallium metal,B,DE,20\n"
    )
    outcome = score_bom_file(
        trained_settings,
        BomRequest(
            InputFile(str(tmp_path / "bom.csv")),
            ScoringRequest.from_paths(
                str(tmp_path / "sourcing.csv"),
                str(tmp_path / "products.csv"),
                date(2099, 1, 1),
                buyer_country="JP",
            ),
        ),
    )
    notes = " ".join(outcome.notes)
    assert "percent" in notes and "2099-01-01" in notes
    shares = dict(outcome.lines.select("supplier", "share").iter_rows())
    assert shares == pytest.approx({"A": 0.8, "B": 0.2})


def test_score_bom_reads_the_product_of_a_cs12_export_from_its_material_line(
    trained_settings, tmp_path
) -> None:
    from datetime import date

    from riskengine.app.bom import score_bom_file
    from riskengine.app.requests import BomRequest, InputFile, ScoringRequest

    cs12 = (
        "Material 000000000020000001 Elektromotor EM-400;;;\n"
        "Werk 1000 Verwendung 1 Alternative 01;;;\n"
        ";;;\n"
        "Stufe;Komponente;Objektkurztext;Menge\n"
        ".1;000000000020000010;Rotor;1\n"
        "..2;Gallium metal;Gallium 6N;0,2\n"
    )
    (tmp_path / "cs12.csv").write_bytes(cs12.encode("cp1252"))
    (tmp_path / "sourcing.csv").write_text("material,supplier,supplier_country\ngallium,A,CN\n")

    def products(product: str | None) -> pl.DataFrame:
        return score_bom_file(
            trained_settings,
            BomRequest(
                InputFile(str(tmp_path / "cs12.csv")),
                ScoringRequest.from_paths(
                    str(tmp_path / "sourcing.csv"),
                    str(tmp_path / "products.csv"),
                    date(2026, 3, 1),
                    buyer_country="DE",
                ),
                product=product,
            ),
        ).products

    read = products(None)
    assert read.select("product", "status").rows() == [("20000001", "scored")]
    assert products("EM-400")["product"].to_list() == ["EM-400"]


# ------------------------------------------------------- sourcing groups (defect 4)


def grouped_sourcing(rows: list[tuple[str, str, str, float, str, str, str]]) -> pl.DataFrame:
    """Scored sourcing rows ``(material_id, supplier, country, risk, share, buyer, plant)``."""
    frame = scored_sourcing([(m, s, c, r, share, "scored") for m, s, c, r, share, _, _ in rows])
    return frame.with_columns(
        pl.Series("buyer_country_iso3", [row[5] for row in rows]),
        pl.Series("WERKS", [row[6] for row in rows]),
    )


def test_shares_are_normalised_within_each_plant_and_lines_use_their_plant() -> None:
    """A material bought for two plants has two mixes that each sum to 1 (was: "sum to 2,
    not 1; normalised", both plants' suppliers pooled at half their share)."""
    sourcing = grouped_sourcing(
        [
            ("gallium_metal", "A", "CHN", 0.4, "1", "JPN", "1000"),
            ("gallium_metal", "B", "DEU", 0.1, "1", "JPN", "2000"),
        ]
    )
    bom = bom_frame(
        [
            ("Pump", "Gallium metal", "1", "1000"),
            ("Fan", "Gallium metal", "1", "2000"),
            ("Drive", "Gallium metal", "1", None),
        ],
        ("parent", "component", "quantity", "plant"),
    )
    result = score_bom(bom, sourcing, source="bom.csv", strict=True)
    assert result.problems == ()
    shares = {
        (product_name, supplier): share
        for product_name, supplier, share in result.lines.select(
            "product", "supplier", "share"
        ).iter_rows()
    }
    assert shares == pytest.approx(
        {("Pump", "A"): 1.0, ("Fan", "B"): 1.0, ("Drive", "A"): 0.5, ("Drive", "B"): 0.5}
    )
    assert product(result, "Pump")["risk_score"] == pytest.approx(0.4)
    assert product(result, "Fan")["risk_score"] == pytest.approx(0.1)
    drive = product(result, "Drive")
    assert drive["status"] == "scored"
    assert drive["risk_score"] == pytest.approx(1 - 0.6 * 0.9)
    assert "averaged over its sourcing groups" in drive["reason"]
    assert "the BOM names no plant" in drive["reason"]


def test_shares_are_normalised_within_each_buyer_country() -> None:
    sourcing = grouped_sourcing(
        [
            ("gallium_metal", "A", "CHN", 0.4, "0.8", "JPN", None),
            ("gallium_metal", "B", "VNM", 0.1, "0.2", "JPN", None),
            ("gallium_metal", "A", "CHN", 0.5, "0.8", "DEU", None),
            ("gallium_metal", "B", "VNM", 0.1, "0.2", "DEU", None),
        ]
    )
    result = score_bom(bom_frame([("Pump", "Gallium metal", "1")]), sourcing, source="b")
    assert result.problems == ()
    assert result.lines["share"].to_list() == pytest.approx([0.4, 0.1, 0.4, 0.1])
    pump = product(result, "Pump")
    # China's largest pair risk (0.5, for the German buyer) and Vietnam's 0.1.
    assert pump["risk_score"] == pytest.approx(1 - 0.5 * 0.9)
    assert "buyer country DEU; buyer country JPN" in pump["reason"]

    off = grouped_sourcing(
        [
            ("gallium_metal", "A", "CHN", 0.4, "0.8", "JPN", None),
            ("gallium_metal", "A", "CHN", 0.5, "0.5", "DEU", None),
        ]
    )
    result = score_bom(bom_frame([("Pump", "Gallium metal", "1")]), off, source="b")
    assert [problem.message for problem in result.problems] == [
        "shares of Gallium metal (buyer country JPN) sum to 0.8, not 1; normalised to sum to 1",
        "shares of Gallium metal (buyer country DEU) sum to 0.5, not 1; normalised to sum to 1",
    ]


# ------------------------------------------------------------- roll-up (defect 7)


def test_product_risk_is_at_least_its_riskiest_input_and_a_country_counts_once() -> None:
    """Was 1 - (1 - 0.155)(1 - 0.02) = 0.17, below the 0.30 of its riskiest input, and two
    Chinese inputs of 0.30 counted as independent (0.51)."""
    rows: list[SourcingRow] = [
        ("gallium_metal", "A", "CHN", 0.30, "0.5", "scored"),
        ("gallium_metal", "B", "DEU", 0.01, "0.5", "scored"),
        ("cerium_oxide", "C", "CHN", 0.02, None, "scored"),
        ("germanium_metal", "D", "CHN", 0.30, None, "scored"),
    ]
    bom = bom_frame(
        [
            ("Pump", "Gallium metal", "1"),
            ("Pump", "Cerium oxide", "1"),
            ("Fan", "Gallium metal", "1"),
            ("Fan", "Germanium metal", "1"),
        ]
    )
    result = score_bom(bom, scored_sourcing(rows), source="b")
    pump = product(result, "Pump")
    assert pump["max_pair_risk"] == pytest.approx(0.30)
    assert pump["risk_score"] == pytest.approx(1 - 0.70 * 0.99)
    assert pump["risk_score"] >= pump["max_pair_risk"]
    # One restriction by China hits gallium and germanium together: counted once.
    assert product(result, "Fan")["risk_score"] == pytest.approx(1 - 0.70 * 0.99)
    contributions = dict(
        result.lines.filter(pl.col("product") == "Pump")
        .select("supplier", "contribution")
        .iter_rows()
    )
    assert sum(contributions.values()) == pytest.approx(pump["risk_score"])
    # Cerium shares China's shock with gallium from A, which sets it: it adds nothing.
    assert contributions["C"] == 0.0
    assert contributions["A"] > contributions["B"] > 0.0
    assert "Gallium metal from A (China)" in pump["drivers"].split("; ")[0]
    assert "Cerium oxide from C (China)" in pump["drivers"].split("; ")[1]


def test_quantity_and_unit_value_size_the_loss_not_the_chance() -> None:
    """Exposure follows the quantity and value_at_risk the value (was: no value_at_risk)."""
    rows: list[SourcingRow] = [("gallium_metal", "A", "CHN", 0.30, None, "scored")]
    bom = bom_frame(
        [("Pump", "Gallium metal", "2", "50"), ("Fan", "Gallium metal", "1", "50")],
        ("parent", "component", "quantity", "unit_value"),
    )
    result = score_bom(bom, scored_sourcing(rows), source="b")
    pump, fan = product(result, "Pump"), product(result, "Fan")
    assert pump["risk_score"] == fan["risk_score"] == pytest.approx(0.30)
    assert pump["exposure"] == pytest.approx(2 * 0.30)
    assert fan["exposure"] == pytest.approx(0.30)
    assert pump["value_at_risk"] == pytest.approx(2 * 0.30 * 50)
    # A price in the sourcing list (SAP NETPR) is the supplier's own and comes first.
    priced = scored_sourcing(rows).with_columns(pl.Series("NETPR", ["80,5"]))
    result = score_bom(bom, priced, source="b")
    assert product(result, "Pump")["value_at_risk"] == pytest.approx(2 * 0.30 * 80.5)
    # Without any unit value the column is empty, not zero.
    plain = score_bom(
        bom_frame([("Pump", "Gallium metal", "2")]), scored_sourcing(rows), source="b"
    )
    assert product(plain, "Pump")["value_at_risk"] is None


def test_a_product_with_an_input_without_scored_supplier_is_partial() -> None:
    """Was "scored" although germanium, one of its two inputs, could not be scored."""
    bom = bom_frame([("Sensor", "Germanium metal", "1"), ("Sensor", "Cerium oxide", "1")])
    result = score_bom(bom, scored_sourcing(), source="bom.csv")
    sensor = product(result, "Sensor")
    assert sensor["status"] == "partial"
    assert sensor["risk_score"] == pytest.approx(0.02)
    assert "Germanium metal has no scored supplier" in sensor["reason"]
    assert [(p.kind, p.product) for p in result.problems] == [("no_sourcing", "Sensor")]


# ----------------------------------------------------------------------- units (issue 14)


def quantities_by_path(result: BomResult) -> dict[str, float]:
    return dict(result.lines.select("path", "quantity_per_product_unit").unique().iter_rows())


@pytest.mark.parametrize("header", ["unit", "UoM", "Base Unit of Measure", "MEINS"])
def test_mass_units_are_converted_to_kilograms_under_erp_unit_headers(header: str) -> None:
    bom = bom_frame(
        [
            ("Magnet A", "Dysprosium oxide", "1000", "G"),
            ("Magnet B", "Dysprosium oxide", "1", "kg"),
            ("Magnet C", "Dysprosium oxide", "0.001", "t"),
            ("Magnet D", "Dysprosium oxide", "2", "lb"),
            ("Magnet E", "Dysprosium oxide", "16", "oz"),
        ],
        ("parent", "component", "quantity", header),
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")

    quantities = quantities_by_path(result)
    assert quantities["Magnet A > Dysprosium oxide"] == pytest.approx(1.0)
    assert quantities["Magnet B > Dysprosium oxide"] == 1.0
    assert quantities["Magnet C > Dysprosium oxide"] == pytest.approx(1.0)
    assert quantities["Magnet D > Dysprosium oxide"] == pytest.approx(2 * 0.45359237)
    assert quantities["Magnet E > Dysprosium oxide"] == pytest.approx(0.45359237)
    assert product(result, "Magnet A")["exposure"] == pytest.approx(
        product(result, "Magnet B")["exposure"]
    )


def test_only_the_unit_of_the_row_naming_the_material_converts_its_quantity() -> None:
    # Two rotors per motor (pieces), each rotor's own BOM per one rotor: 500 g of the oxide.
    bom = bom_frame(
        [("Motor", "Rotor", "2", "PC"), ("Rotor", "Dysprosium oxide", "500", "g")],
        ("parent", "component", "quantity", "unit"),
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")

    assert quantities_by_path(result) == {"Motor > Rotor > Dysprosium oxide": pytest.approx(1.0)}


def test_a_unit_value_follows_its_quantity_into_kilograms() -> None:
    bom = bom_frame(
        [("Magnet", "Cerium oxide", "500", "g", "0.01")],
        ("parent", "component", "quantity", "unit", "unit_value"),
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")

    [line] = result.lines.to_dicts()
    assert line["quantity_per_product_unit"] == pytest.approx(0.5)
    assert line["unit_value"] == pytest.approx(10.0)  # 0.01 per gram is 10 per kilogram
    assert line["value_at_risk"] == pytest.approx(0.5 * 10.0 * 0.02)


def test_an_unknown_unit_refuses_the_products_using_the_row() -> None:
    bom = bom_frame(
        [("Motor", "Cerium oxide", "3", "bbl"), ("Pump", "Gallium metal", "1", "kg")],
        ("parent", "component", "quantity", "unit"),
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")

    assert kinds(result) == ["bad_quantity"]
    assert "column 'unit': 'bbl' is not a unit the roll-up converts" in result.problems[0].message
    assert product(result, "Motor")["status"] == "refused"
    assert product(result, "Pump")["status"] == "scored"


def test_a_material_counted_in_mass_and_in_pieces_is_refused_naming_the_rows() -> None:
    bom = bom_frame(
        [
            ("Motor", "Gallium metal", "5", "kg"),
            ("Sensor", "Gallium metal", "1", "pcs"),
            ("Pump", "Cerium oxide", "1", "kg"),
        ],
        ("parent", "component", "quantity", "unit"),
    )
    result = score_bom(bom, scored_sourcing(), source="bom.csv")

    assert kinds(result) == ["bad_quantity", "bad_quantity"]
    assert (
        "component 'Gallium metal' is counted in units that cannot be compared "
        "(mass on row(s) 1; pieces on row(s) 2)"
    ) in result.problems[0].message
    assert product(result, "Motor")["status"] == "refused"
    assert product(result, "Sensor")["status"] == "refused"
    assert product(result, "Pump")["status"] == "scored"


@pytest.mark.parametrize("quantity", ["1e308", "-1e308", "1e16"])
def test_a_quantity_out_of_range_refuses_the_products_using_the_row(quantity: str) -> None:
    bom = bom_frame([("Motor", "Cerium oxide", quantity), ("Pump", "Gallium metal", "1")])
    result = score_bom(bom, scored_sourcing(), source="bom.csv")

    assert kinds(result) == ["bad_quantity"]
    assert f"'{quantity}' is out of range" in result.problems[0].message
    assert product(result, "Motor")["status"] == "refused"
    assert product(result, "Pump")["status"] == "scored"


def test_a_roll_up_gives_the_same_bits_every_time() -> None:
    """Products with inputs from many countries: the product of (1 - risk) and the sums run
    in one order, so the same input always writes the same bytes."""
    countries = ["CHN", "MYS", "DEU", "JPN", "VNM", "FRA", "USA", "AUS", "KOR", "IND", "BRA"]
    generator = Random(7)
    rows: list[SourcingRow] = [
        (material, f"{material} supplier {country}", country, generator.random(), None, "scored")
        for material in ("dysprosium_oxide", "gallium_metal", "cerium_oxide")
        for country in countries
    ]
    bom = bom_frame(
        [(f"Product {index}", name, str(1 + index)) for index in range(12)
         for name in ("Dysprosium oxide", "Gallium metal", "Cerium oxide")]
    )  # fmt: skip
    written = {
        score_bom(bom, scored_sourcing(rows), source="bom.csv").products.write_csv()
        for _ in range(12)
    }
    assert len(written) == 1


def test_bom_part_names_lose_padding_zeros_as_part_numbers_do() -> None:
    names = identifiers(pl.Series(["000123", " 0042 ", "000", "0١٢", "00²", "A-01"]))

    assert names.to_list() == ["123", "42", "0", "0١٢", "00²", "A-01"]
