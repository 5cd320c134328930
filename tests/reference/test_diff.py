"""`riskengine reference diff OLD NEW`: facts added, removed, changed or ended, per table and
key, on tiny literal reference directories."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from riskengine.cli import EXIT_USAGE, app
from riskengine.reference.diff import DIFF_COLUMNS, diff_reference
from riskengine.reference.loader import load_reference

TABLES = {
    "production.csv": (
        "material,stage,country_iso3,year,quantity,unit,share,published,source\n"
        "gallium,refining,CHN,2023,750,t,,2024-01-31,USGS\n"
        "gallium,refining,JPN,2023,3,t,,2024-01-31,USGS\n"
    ),
    "policy_events.csv": (
        "event_id,country_iso3,measure,materials,target_country_iso3,announced,effective,"
        "ended,stages,scope,description,source,date_precision,superseded_by,confidence\n"
        "E1,CHN,export_licensing,gallium;germanium,,2023-07-03,2023-08-01,,,flow,licences,MOFCOM,"
        "day,,primary\n"
        "E2,IDN,export_ban,nickel_ore,,,2020-01-01,,,flow,ore ban,ESDM,day,,\n"
    ),
    "listed_entities.csv": (
        "list_name,listing_authority_iso3,entity_name,entity_country_iso3,listed_on,reason,source,"
        "aliases,parent_entity,relation,confidence,removed_on,removal_source\n"
        "UEL,CHN,Acme Aerospace Co.,USA,2025-01-02,arms sales,MOFCOM,,,,,,\n"
    ),
    "governance_wgi.csv": (
        "country_iso3,year,wgi_score,published,source\n"
        "CHN,2023,-0.5,2024-09-30,WGI\n"
        "JPN,2023,1.3,2024-09-30,WGI\n"
    ),
    "importer_breakdowns.csv": (
        "importer_iso3,material,commodity,period,origin_iso3,quantity,unit,share,published,"
        "basis,source\n"
        "JPN,rare_earths,rare_earths,2025-01,CHN,1000,t,0.7,2025-02-27,customs,Asia Daily\n"
    ),
}


pytestmark = pytest.mark.usefixtures("isolated_command")


def write_directory(directory: Path, replacements: dict[str, tuple[str, str]]) -> Path:
    """The tiny tables, with ``{file: (old text, new text)}`` replaced."""
    directory.mkdir()
    for name, text in TABLES.items():
        if name in replacements:
            old, new = replacements[name]
            assert old in text, old
            text = text.replace(old, new)
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def diff(tmp_path: Path, replacements: dict[str, tuple[str, str]]) -> pl.DataFrame:
    old = write_directory(tmp_path / "old", {})
    new = write_directory(tmp_path / "new", replacements)
    return diff_reference(load_reference(old), load_reference(new))


def rows(frame: pl.DataFrame) -> list[tuple[str, ...]]:
    return [tuple(row) for row in frame.iter_rows()]


def test_identical_directories_have_no_differences(tmp_path: Path) -> None:
    differences = diff(tmp_path, {})

    assert differences.columns == list(DIFF_COLUMNS)
    assert differences.is_empty()


def test_an_end_newly_set_is_reported_as_ended(tmp_path: Path) -> None:
    differences = diff(
        tmp_path, {"policy_events.csv": ("2023-08-01,,,flow", "2023-08-01,2025-11-07,,flow")}
    )

    assert rows(differences) == [("policy_events", "E1", "ended", "ended", "", "2025-11-07")]


def test_a_removal_newly_set_ends_a_listing(tmp_path: Path) -> None:
    differences = diff(
        tmp_path,
        {"listed_entities.csv": ("MOFCOM,,,,,,", "MOFCOM,,,,,2025-08-12,MOFCOM spokesperson")},
    )

    listing = "list_name=UEL, entity_name=Acme Aerospace Co."
    assert rows(differences) == [
        ("listed_entities", listing, "ended", "removed_on", "", "2025-08-12"),
        ("listed_entities", listing, "changed", "removal_source", "", "MOFCOM spokesperson"),
    ]


def test_a_changed_end_date_is_a_change_not_an_end(tmp_path: Path) -> None:
    old = write_directory(
        tmp_path / "old",
        {"policy_events.csv": ("2023-08-01,,,flow", "2023-08-01,2025-11-07,,flow")},
    )
    new = write_directory(
        tmp_path / "new",
        {"policy_events.csv": ("2023-08-01,,,flow", "2023-08-01,2025-12-01,,flow")},
    )

    differences = diff_reference(load_reference(old), load_reference(new))

    assert rows(differences) == [
        ("policy_events", "E1", "changed", "ended", "2025-11-07", "2025-12-01")
    ]


def test_added_removed_and_changed_rows_are_keyed_per_table(tmp_path: Path) -> None:
    differences = diff(
        tmp_path,
        {
            "production.csv": (
                "gallium,refining,JPN,2023,3,t,,2024-01-31,USGS\n",
                "gallium,refining,JPN,2023,4,t,,2024-01-31,USGS\n"
                "gallium,refining,KOR,2023,2,t,,2024-01-31,USGS\n",
            ),
            "listed_entities.csv": ("Acme Aerospace Co.", "Acme Avionics Co."),
        },
    )

    assert rows(differences) == [
        (
            "production",
            "material=gallium, stage=refining, country_iso3=JPN, year=2023, published=2024-01-31",
            "changed",
            "quantity",
            "3.0",
            "4.0",
        ),
        (
            "production",
            "material=gallium, stage=refining, country_iso3=KOR, year=2023, published=2024-01-31",
            "added",
            "",
            "",
            "",
        ),
        ("listed_entities", "list_name=UEL, entity_name=Acme Aerospace Co.", "removed", "", "", ""),
        ("listed_entities", "list_name=UEL, entity_name=Acme Avionics Co.", "added", "", "", ""),
    ]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["reference", "diff", *args])


def test_the_command_prints_the_table_and_writes_csv_and_json(tmp_path: Path) -> None:
    old = write_directory(tmp_path / "old", {})
    new = write_directory(
        tmp_path / "new", {"governance_wgi.csv": ("JPN,2023,1.3", "JPN,2023,1.2")}
    )

    printed = invoke(str(old), str(new))
    as_csv = invoke(str(old), str(new), "-o", str(tmp_path / "changes.csv"))
    as_json = invoke(str(old), str(new), "-o", str(tmp_path / "changes.json"))

    for result in (printed, as_csv, as_json):
        assert result.exit_code == 0, result.output
    assert "governance" in printed.stdout and "1 changed" in printed.stdout
    written = pl.read_csv(tmp_path / "changes.csv", infer_schema=False)
    assert written.columns == list(DIFF_COLUMNS)
    assert rows(written) == [
        ("governance", "country_iso3=JPN, year=2023", "changed", "wgi_score", "1.3", "1.2")
    ]
    records = json.loads((tmp_path / "changes.json").read_text(encoding="utf-8"))
    assert records[0]["field"] == "wgi_score" and records[0]["new"] == "1.2"


def test_an_invalid_directory_is_refused_with_exit_2(tmp_path: Path) -> None:
    old = write_directory(tmp_path / "old", {})
    new = write_directory(tmp_path / "new", {"governance_wgi.csv": ("JPN,2023,1.3", "JPN,2023,99")})

    result = invoke(str(old), str(new), "-o", str(tmp_path / "changes.csv"))

    assert result.exit_code == EXIT_USAGE, result.output
    assert "governance_wgi.csv:3: column wgi_score" in result.stderr
    assert not (tmp_path / "changes.csv").exists()
