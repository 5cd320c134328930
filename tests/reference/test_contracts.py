"""The domain rules of the reference contracts: each defect that would break or distort scoring
makes `reference check` exit 2 naming file, line or key and rule, and scoring refuses the
directory too; facts no feature can use are warnings, listed with their ids."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from riskengine.catalog import PRODUCTION_STAGE_KINDS, load_catalog
from riskengine.cli import EXIT_USAGE, app
from riskengine.errors import ReferenceDataError
from riskengine.names import has_distinctive_word
from riskengine.reference.contracts import FAMILY_LINK_LIST
from riskengine.reference.loader import load_reference, shipped_reference_dir

pytestmark = pytest.mark.usefixtures("isolated_command")


@pytest.fixture
def reference_copy(tmp_path: Path) -> Path:
    target = tmp_path / "reference"
    shutil.copytree(shipped_reference_dir(), target)
    return target


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def record_line(path: Path, row_index: int) -> int:
    """The file line on which data row ``row_index`` (0-based) starts."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        previous_end = reader.line_num
        for index, _ in enumerate(reader):
            if index == row_index:
                return previous_end + 1
            previous_end = reader.line_num
    raise IndexError(row_index)


def edit(path: Path, row_index: int, **values: str) -> int:
    """Set cells of one data row; return the line it starts on."""
    rows = read_rows(path)
    rows[row_index].update(values)
    write_rows(path, rows)
    return record_line(path, row_index)


def first_row(path: Path, **wanted: str) -> int:
    for index, row in enumerate(read_rows(path)):
        if all(row[column] == value for column, value in wanted.items()):
            return index
    raise LookupError(wanted)


def check(directory: Path) -> Result:
    return CliRunner().invoke(app, ["reference", "check", "--reference-dir", str(directory)])


def assert_refused(directory: Path, *expected: str) -> None:
    """`reference check` exits 2 and loading for scoring raises, both naming ``expected``."""
    result = check(directory)
    assert result.exit_code == EXIT_USAGE, result.output
    for text in expected:
        assert text in result.stderr, result.stderr
    with pytest.raises(ReferenceDataError) as caught:
        load_reference(directory)
    for text in expected:
        assert text in str(caught.value)


def test_the_shipped_data_keeps_every_error_rule() -> None:
    assert check(shipped_reference_dir()).exit_code == 0


def test_every_shipped_event_is_dated_to_the_month_at_least() -> None:
    # Issue 12: a year-only date makes the features wait until 31 December; the shipped events
    # are dated from their sources to the month or the day ("in force by" where the start is not
    # known), so only an imported overlay may still bring a year.
    events = load_reference(shipped_reference_dir()).policy_events
    assert events.filter(pl.col("date_precision") == "year")["event_id"].to_list() == []


def test_every_production_dataset_the_catalog_names_has_shipped_rows_at_its_stage() -> None:
    # Issue 12 item 4: a dataset added to the catalog without rows would leave its materials on
    # their fallback silently; a dataset's rows must be at the stage kind the catalog names it for.
    catalog = load_catalog()
    named: set[tuple[str, str]] = set()
    for tag in catalog.known_tags():
        try:
            catalog.commodity_lineage(tag)
        except KeyError:
            continue  # a policy tag, not a commodity
        for kind in PRODUCTION_STAGE_KINDS:
            dataset = catalog.production_dataset(tag, kind)
            if dataset is not None:
                named.add((dataset, kind))
    production = load_reference(shipped_reference_dir()).production
    shipped = set(production.select("material", "stage").unique().iter_rows())
    assert named - shipped == set()
    assert ("tellurium", "refining") in named
    assert catalog.production_dataset(catalog.material("ilmenite").primary_commodity, "mine") == (
        "ilmenite"
    )


def test_a_duplicated_production_row_is_refused_on_both_lines(reference_copy: Path) -> None:
    path = reference_copy / "production.csv"
    rows = read_rows(path)
    write_rows(path, [*rows, rows[0]])

    assert_refused(
        reference_copy,
        "production.csv:2: material=antimony, stage=mine, country_iso3=AUS, year=2011",
        f"production.csv:{len(rows) + 2}: material=antimony",
        "duplicate key",
    )


def test_scoring_a_directory_with_a_duplicated_production_row_exits_2(
    reference_copy: Path, tmp_path: Path
) -> None:
    path = reference_copy / "production.csv"
    rows = read_rows(path)
    write_rows(path, [*rows, rows[0]])
    sourcing = tmp_path / "in.csv"
    sourcing.write_text("material,supplier,supplier_country\nDy2O3,Acme,CN\n", encoding="utf-8")

    output = tmp_path / "out.csv"
    arguments = ["features", str(sourcing), "-o", str(output), "--as-of", "2026-03-01"]
    result = CliRunner().invoke(app, [*arguments, "--reference-dir", str(reference_copy)])

    assert result.exit_code == EXIT_USAGE, result.output
    assert "production.csv:2:" in result.stderr and "duplicate key" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_a_duplicated_event_id_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "policy_events.csv"
    line = edit(path, 1, event_id="E001")

    assert_refused(
        reference_copy,
        "policy_events.csv:2: column event_id: 'E001' is duplicated",
        f"policy_events.csv:{line}: column event_id: 'E001' is duplicated",
    )


def test_a_misspelt_material_in_a_ban_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "policy_events.csv"
    line = edit(path, first_row(path, event_id="E001"), materials="rare_eaths")

    assert_refused(
        reference_copy,
        f"policy_events.csv:{line}: column materials: 'rare_eaths' is not a catalog tag",
    )


def test_a_misspelt_material_among_group_names_is_refused(reference_copy: Path) -> None:
    # E002 names "rare_earths;tungsten;molybdenum": group and commodity ids the features expand.
    path = reference_copy / "policy_events.csv"
    line = edit(path, first_row(path, event_id="E002"), materials="rare_earths; tungstn")

    assert_refused(reference_copy, f"policy_events.csv:{line}: column materials: 'rare_earths;")


def test_an_unknown_production_dataset_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "production.csv"
    line = edit(path, 0, material="antimonny")

    assert_refused(reference_copy, f"production.csv:{line}: column material: 'antimonny'")


def test_an_unknown_importer_commodity_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "importer_breakdowns.csv"
    line = edit(path, 0, commodity="rare_earth")

    assert_refused(reference_copy, f"importer_breakdowns.csv:{line}: column commodity")


def test_an_unknown_country_id_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "policy_events.csv"
    line = edit(path, 0, target_country_iso3="JAP")

    assert_refused(reference_copy, f"policy_events.csv:{line}: column target_country_iso3")


def test_a_production_year_after_its_publication_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "production.csv"
    line = edit(path, 0, year="2099", published="2020-01-31")

    assert_refused(
        reference_copy,
        f"production.csv:{line}: material=antimony, stage=mine, country_iso3=AUS, year=2099",
        "the data year is after the year the figures were published",
    )


def test_a_governance_year_after_its_publication_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "governance_wgi.csv"
    line = edit(path, 0, year="2099")

    assert_refused(reference_copy, f"governance_wgi.csv:{line}: country_iso3=ARG, year=2099")


def test_a_listing_dated_in_the_future_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "listed_entities.csv"
    line = edit(path, 0, listed_on="2999-01-01")

    assert_refused(
        reference_copy, f"listed_entities.csv:{line}: column listed_on: listed on '2999-01-01'"
    )


def test_an_event_ending_before_it_is_announced_is_refused(reference_copy: Path) -> None:
    # E197 was announced on 2022-03-12 and has no effective date.
    path = reference_copy / "policy_events.csv"
    line = edit(path, first_row(path, event_id="E197"), ended="2022-01-01")

    assert_refused(
        reference_copy,
        f"policy_events.csv:{line}: column ended: the measure ends ('2022-01-01') before it is "
        "announced",
    )


def test_production_shares_summing_over_one_are_refused(reference_copy: Path) -> None:
    path = reference_copy / "production.csv"
    rows = read_rows(path)
    index = next(i for i, row in enumerate(rows) if row["share"] and float(row["share"]) < 0.2)
    line = edit(path, index, share=str(float(rows[index]["share"]) + 0.8))

    assert_refused(
        reference_copy,
        f"production.csv:{line}: material={rows[index]['material']}",
        "shares of this material, stage, year and edition sum to more than 1.005",
    )


def test_import_shares_summing_over_one_are_refused(reference_copy: Path) -> None:
    path = reference_copy / "importer_breakdowns.csv"
    line = edit(path, 0, share="0.95")

    assert_refused(
        reference_copy, f"importer_breakdowns.csv:{line}: importer_iso3=JPN", "sum to more than"
    )


def test_a_wgi_outside_the_world_bank_scale_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "governance_wgi.csv"
    line = edit(path, 0, wgi_score="99")

    assert_refused(
        reference_copy,
        f"governance_wgi.csv:{line}: column wgi_score: a WGI estimate lies in [-2.5, 2.5], "
        "not '99'",
    )


def test_an_entity_named_only_by_a_legal_form_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "listed_entities.csv"
    line = edit(path, 0, entity_name="Co., Ltd.")

    assert_refused(
        reference_copy,
        f"listed_entities.csv:{line}: column entity_name: 'Co., Ltd.' is only a legal form",
    )


@pytest.mark.parametrize(
    ("name", "distinctive"),
    [
        ("Co., Ltd.", False),
        ("The Company Inc.", False),
        ("Kabushiki Kaisha", False),
        ("Acme Co., Ltd.", True),
        ("AG Industries", True),
    ],
)
def test_a_distinctive_word_is_what_legal_forms_leave(name: str, distinctive: bool) -> None:
    assert has_distinctive_word(name) is distinctive


def test_warnings_list_counts_and_ids_and_exit_0(reference_copy: Path) -> None:
    path = reference_copy / "policy_events.csv"
    edit(path, first_row(path, event_id="E003"), announced="", effective="")
    edit(path, first_row(path, event_id="E111"), ended="")  # a 2011 quota left open

    result = check(reference_copy)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    undated = next(line for line in lines if "undated" in line)
    assert "1 rows: undated" in undated and "E003" in undated
    lacking = next(line for line in lines if "catalog lacks" in line)
    assert "E105" in lacking  # phosphate, phosphorus
    stale = next(line for line in lines if "quota with no end date" in line)
    assert "E111" in stale


def test_a_recent_quota_with_no_end_is_not_stale(reference_copy: Path) -> None:
    path = reference_copy / "policy_events.csv"
    recent = (date.today() - timedelta(days=30)).isoformat()
    edit(path, first_row(path, event_id="E111"), ended="")
    edit(path, first_row(path, event_id="E028"), announced=recent, effective=recent, ended="")

    result = check(reference_copy)

    assert result.exit_code == 0, result.output
    stale = next(line for line in result.stdout.splitlines() if "quota with no end" in line)
    assert "E111" in stale and "E028" not in stale


def test_a_warning_does_not_stop_loading(reference_copy: Path) -> None:
    path = reference_copy / "policy_events.csv"
    edit(path, first_row(path, event_id="E003"), announced="", effective="")

    result = check(reference_copy)

    assert result.exit_code == 0, result.output
    undated = next(line for line in result.stdout.splitlines() if "undated" in line)
    assert "E003" in undated
    assert load_reference(reference_copy).policy_events.height > 0


def test_a_listing_removed_before_it_starts_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "listed_entities.csv"
    row = first_row(path, entity_name="Novotech, Inc.")
    line = edit(path, row, removed_on="2025-04-09")

    assert_refused(
        reference_copy,
        f"listed_entities.csv:{line}: list_name=CN MOFCOM Export Control List (出口管制管控名单), "
        "entity_name=Novotech, Inc.: the listing is removed on or before the day it is listed",
    )


def test_a_removal_without_its_source_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "listed_entities.csv"
    line = edit(path, first_row(path, entity_name="Novotech, Inc."), removal_source="")

    assert_refused(
        reference_copy,
        f"listed_entities.csv:{line}: list_name=CN MOFCOM Export Control List (出口管制管控名单), "
        "entity_name=Novotech, Inc.: a removal date needs its removal_source",
    )


def test_a_family_link_row_tied_to_no_one_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "listed_entities.csv"
    line = edit(path, first_row(path, entity_name="Pratt & Whitney"), parent_entity="", relation="")

    assert_refused(
        reference_copy,
        f"listed_entities.csv:{line}: list_name={FAMILY_LINK_LIST}, entity_name=Pratt & Whitney: "
        "a family link row names no parent and is named as no one's parent",
    )
