"""``riskengine reference import``: formats told by content, records validated by the reference
contracts, an overlay merged on top of the shipped data, idempotence and the fingerprint.

The sample files under ``tests/data/reference_import/`` are written in each real format (the
headers and properties of OpenSanctions, trade.gov and Global Trade Alert exports) with a few
made-up records each, some of them bad on purpose.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from riskengine.cli import EXIT_USAGE, app
from riskengine.config import REFERENCE_DIR_ENV, load_settings
from riskengine.errors import InputFileError, ReferenceDataError
from riskengine.features.runner import build_features
from riskengine.reference.importers import (
    CSL,
    FTM,
    GTA,
    OWN_EVENTS,
    OWN_LISTINGS,
    TARGETS_SIMPLE,
    parse_import,
)
from riskengine.reference.importing import ImportOutcome, import_records
from riskengine.reference.loader import load_reference, shipped_reference_dir
from riskengine.reference.overlay import MANIFEST_FILE

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "reference_import"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("isolated_command")


def run_import(path: Path, overlay: Path) -> ImportOutcome:
    data = path.read_bytes()
    parsed = parse_import(data.decode("utf-8"), str(path))
    return import_records(parsed, overlay, str(path), hashlib.sha256(data).hexdigest(), NOW)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def reasons(outcome: ImportOutcome) -> dict[str, str]:
    return dict(outcome.rejected)


def overlay_files(overlay: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(overlay.iterdir())}


# ------------------------------------------------------------------------- formats, by content


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("entities.ftm.json", FTM),
        ("targets.simple.csv", TARGETS_SIMPLE),
        ("consolidated.csv", CSL),
        ("gta_interventions.csv", GTA),
        ("policy_events.csv", OWN_EVENTS),
        ("listed_entities.csv", OWN_LISTINGS),
    ],
)
def test_the_format_is_told_by_the_content_not_the_name(
    sample: str, expected: str, tmp_path: Path
) -> None:
    renamed = tmp_path / "download.txt"
    shutil.copyfile(SAMPLES / sample, renamed)

    assert parse_import(renamed.read_text(encoding="utf-8"), str(renamed)).format == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,c\n1,2,3\n", "not a format riskengine can import"),
        ('[{"id": "x"}]', "JSON array"),
        ('{"id": "x"}\n{"also": "no schema"}\n', "no FollowTheMoney entity"),
        (
            "Intervention ID,Implementing Jurisdiction,Intervention Type\n1,Chile,Export ban\n",
            "affected products",
        ),
    ],
)
def test_an_unusable_file_is_an_error_naming_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        parse_import(text, "file.csv")


# ------------------------------------------------------------------- records and their reasons


def test_opensanctions_entities_become_listings_with_dates_and_reasons(tmp_path: Path) -> None:
    outcome = run_import(SAMPLES / "entities.ftm.json", tmp_path / "overlay")

    assert outcome.format == FTM
    assert outcome.added == [
        (
            "listed_entities",
            "list_name=us_trade_csl (OpenSanctions), "
            "entity_name=Zhonghe Sample Rare Metals Co., Ltd.",
        ),
        (
            "listed_entities",
            "list_name=us_ofac_sdn (OpenSanctions), entity_name=Sample Gallium Works",
        ),
    ]
    assert outcome.supporting == 2  # the Sanction and the Address
    rejected = reasons(outcome)
    assert "not JSON" in rejected["line 10"]
    assert "a person" in rejected["line 4 (id NK-sample-person)"]
    assert "listing country" in rejected["line 5 (id NK-sample-eu), dataset eu_fsf"]
    assert "not a target" in rejected["line 6 (id NK-sample-owner)"]
    assert "Vessel" in rejected["line 8 (id NK-sample-vessel)"]
    # The contract's own rule (a name that is only a legal form), not a rule of the importer.
    assert "only a legal form" in rejected["line 7 (id NK-sample-legal-form), dataset us_ofac_sdn"]

    listings = load_reference(tmp_path / "overlay").listed_entities
    zhonghe = listings.filter(pl.col("entity_name").str.starts_with("Zhonghe")).row(0, named=True)
    # The listing date, programme and reason come from the Sanction entity that names it.
    assert zhonghe["listed_on"] == date(2024, 5, 2)
    assert zhonghe["listing_authority_iso3"] == "USA"
    assert zhonghe["entity_country_iso3"] == "CHN"
    assert "Entity List" in zhonghe["reason"]
    assert "https://www.opensanctions.org/entities/NK-sample-zhonghe/" in zhonghe["source"]
    assert zhonghe["aliases"] == "Zhonghe Sample RM"
    assert zhonghe["confidence"] == "secondary"  # an aggregator of official lists
    gallium = listings.filter(pl.col("entity_name") == "Sample Gallium Works").row(0, named=True)
    assert gallium["listed_on"] == date(2023, 8, 1)  # createdAt "2023-08", given to the month
    assert "to the month" in gallium["reason"]


def test_nested_opensanctions_entities_carry_their_sanctions_inside(tmp_path: Path) -> None:
    # targets.nested.json: the Sanction entities sit in the target's properties.sanctions.
    nested = {
        "id": "NK-sample-nested",
        "caption": "Sample Nested Antimony Co.",
        "schema": "Company",
        "properties": {
            "name": ["Sample Nested Antimony Co."],
            "jurisdiction": ["cn"],
            "sanctions": [
                {
                    "id": "sample-nested-sanction",
                    "schema": "Sanction",
                    "properties": {
                        "entity": ["NK-sample-nested"],
                        "program": ["Sample programme"],
                        "startDate": ["2021-06-03"],
                        "country": ["us"],
                    },
                }
            ],
        },
        "datasets": ["us_ofac_sdn"],
        "first_seen": "2021-06-10T00:00:00",
        "target": True,
    }
    source = tmp_path / "targets.nested.json"
    source.write_text(json.dumps(nested) + "\n", encoding="utf-8")

    outcome = run_import(source, tmp_path / "overlay")

    assert outcome.added == [
        (
            "listed_entities",
            "list_name=us_ofac_sdn (OpenSanctions), entity_name=Sample Nested Antimony Co.",
        )
    ]
    row = load_reference(tmp_path / "overlay").listed_entities.row(-1, named=True)
    assert (row["listed_on"], row["entity_country_iso3"]) == (date(2021, 6, 3), "CHN")
    assert row["reason"].startswith("Sample programme")


def test_targets_simple_gives_one_listing_per_dataset_title(tmp_path: Path) -> None:
    outcome = run_import(SAMPLES / "targets.simple.csv", tmp_path / "overlay")

    assert [key for _, key in outcome.added] == [
        "list_name=US OFAC Specially Designated Nationals (SDN) List, "
        "entity_name=Baotou Sample Magnet Materials Co.",
        "list_name=US OFAC Specially Designated Nationals (SDN) List, "
        "entity_name=Sample Tungsten Trading LLC",
    ]
    rejected = reasons(outcome)
    assert (
        "listing country"
        in rejected["row 3 (id NK-sample-two-lists), dataset 'EU Financial Sanctions Files (FSF)'"]
    )
    assert "a person" in rejected["row 4 (id NK-sample-person2)"]
    listings = load_reference(tmp_path / "overlay").listed_entities
    baotou = listings.filter(pl.col("entity_name").str.starts_with("Baotou Sample")).row(
        0, named=True
    )
    assert baotou["listed_on"] == date(2024, 9, 16)  # the date in the sanctions cell
    assert baotou["aliases"] == "Baotou Sample Magnets"
    tungsten = listings.filter(pl.col("entity_name") == "Sample Tungsten Trading LLC").row(
        0, named=True
    )
    assert tungsten["listed_on"] == date(2023, 2, 24)  # first_seen: no date in sanctions
    assert "first saw" in tungsten["reason"]


@pytest.mark.parametrize(
    ("end_dates", "removed_on"),
    [((["2025-08-12"], ["2025-09-01"]), date(2025, 9, 1)), ((["2025-08-12"], []), None)],
)
def test_opensanctions_end_dates_become_a_removal_only_when_every_sanction_ended(
    tmp_path: Path, end_dates: tuple[list[str], list[str]], removed_on: date | None
) -> None:
    lines = [
        {
            "id": "NK-ended",
            "caption": "Ended Sample Magnet Works",
            "schema": "Company",
            "properties": {"name": ["Ended Sample Magnet Works"], "country": ["cn"]},
            "datasets": ["us_trade_csl"],
            "target": True,
        },
        *(
            {
                "id": f"sanction-{index}",
                "schema": "Sanction",
                "properties": {
                    "entity": ["NK-ended"],
                    "country": ["us"],
                    "startDate": ["2024-05-02"],
                    "endDate": ends,
                },
                "datasets": ["us_trade_csl"],
                "target": False,
            }
            for index, ends in enumerate(end_dates)
        ),
    ]
    path = tmp_path / "ended.ftm.json"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")

    run_import(path, tmp_path / "overlay")

    listing = (
        load_reference(tmp_path / "overlay")
        .listed_entities.filter(pl.col("entity_name") == "Ended Sample Magnet Works")
        .row(0, named=True)
    )
    assert listing["listed_on"] == date(2024, 5, 2)
    assert listing["removed_on"] == removed_on


def test_the_screening_list_adds_entities_and_changes_a_shipped_row(tmp_path: Path) -> None:
    outcome = run_import(SAMPLES / "consolidated.csv", tmp_path / "overlay")

    entity_list = "US BIS Entity List (EAR Supp. No. 4 to Part 744)"
    assert outcome.added == [
        (
            "listed_entities",
            f"list_name={entity_list}, entity_name=Sample Ganzhou Rare Earth Separation Co.",
        ),
        (
            "listed_entities",
            "list_name=Denied Persons List (DPL) - Bureau of Industry and Security, "
            "entity_name=SAMPLE EXPIRED EXPORTS LTD",
        ),
    ]
    # The same Entity List entry as a shipped row: its key, new reason and source; the
    # screening list names no parent, so the imported row has none (the shipped row links the
    # institute to CASC).
    assert outcome.changed == [
        (
            "listed_entities",
            f"list_name={entity_list}, entity_name=CASC 9th Academy 772 Research Institute",
            ("reason", "source", "parent_entity", "relation"),
        )
    ]
    rejected = reasons(outcome)
    assert "a person" in rejected["row 4 (_id sample0003)"]
    assert "no start_date" in rejected["row 5 (_id sample0004)"]
    # An ended listing keeps its dates: screening before the end still finds it.
    expired = (
        load_reference(tmp_path / "overlay")
        .listed_entities.filter(pl.col("entity_name") == "SAMPLE EXPIRED EXPORTS LTD")
        .row(0, named=True)
    )
    assert (expired["listed_on"], expired["removed_on"]) == (date(2015, 3, 1), date(2020, 3, 1))
    assert "sample0005, end_date" in expired["removal_source"]
    ganzhou = (
        load_reference(tmp_path / "overlay")
        .listed_entities.filter(pl.col("entity_name").str.starts_with("Sample Ganzhou"))
        .row(0, named=True)
    )
    assert ganzhou["entity_country_iso3"] == "CHN"  # the country code ending the address
    assert ganzhou["listed_on"] == date(2024, 10, 1)
    assert ganzhou["aliases"] == "Sample Ganzhou RE"
    assert ganzhou["confidence"] == "primary"  # the US government's own list


def test_trade_alert_export_measures_become_events_on_catalog_materials(tmp_path: Path) -> None:
    outcome = run_import(SAMPLES / "gta_interventions.csv", tmp_path / "overlay")

    assert outcome.added == [("policy_events", "GTA-990001"), ("policy_events", "GTA-990002")]
    rejected = reasons(outcome)
    assert "not an export measure" in rejected["intervention 990003 (row 5)"]
    assert "no catalog material has the HS codes 010121" in rejected["intervention 990004 (row 6)"]
    assert "unknown country 'European Union'" in rejected["intervention 990005 (row 7)"]
    # The contract's date-order rule.
    assert "ends ('2025-03-01') before it takes effect" in rejected["intervention 990006 (row 8)"]

    events = load_reference(tmp_path / "overlay").policy_events
    ban = events.filter(pl.col("event_id") == "GTA-990001").row(0, named=True)
    assert ban["country_iso3"] == "CHL"
    assert ban["measure"] == "export_ban"
    assert ban["materials"] == "copper"
    assert ban["stages"] == "ore_concentrate"
    assert ban["announced"] == date(2025, 5, 1)
    assert ban["effective"] == date(2025, 6, 1)
    assert ban["scope"] == "flow"
    assert ban["confidence"] == "secondary"
    # One intervention exported as two rows (one per affected jurisdiction) is one event.
    assert "China, Japan" in ban["description"]
    assert ban["target_country_iso3"] is None
    relaxation = events.filter(pl.col("event_id") == "GTA-990002").row(0, named=True)
    assert relaxation["measure"] == "export_tax"
    assert relaxation["scope"] == "relaxation"  # GTA evaluation Green
    assert relaxation["materials"] == "tin"
    assert relaxation["stages"] == "ore_concentrate;metal_alloy"


def test_own_events_and_listings_are_checked_by_the_same_contracts(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    events = run_import(SAMPLES / "policy_events.csv", overlay)
    listings = run_import(SAMPLES / "listed_entities.csv", overlay)

    assert events.added == [("policy_events", "TEAM-001")]
    assert "is not one of" in reasons(events)["row 3 (TEAM-002)"]
    assert "misspelt id" in reasons(events)["row 4 (TEAM-003)"]
    assert listings.added == [
        ("listed_entities", "list_name=Team watch list, entity_name=Sample Watch Trading Co.")
    ]
    assert "after today" in reasons(listings)["row 3 (Sample Future Listing Co.)"]


def test_a_team_listing_joins_a_shipped_family_and_an_unknown_parent_is_rejected(
    tmp_path: Path,
) -> None:
    # All the listing columns this time (the sample file leaves the optional ones out).
    source = tmp_path / "listed_entities.csv"
    source.write_text(
        "list_name,listing_authority_iso3,entity_name,entity_country_iso3,listed_on,reason,"
        "source,aliases,parent_entity,relation,confidence\n"
        "Team watch list,JPN,Sample TechInsights Branch,CAN,2025-04-01,sample,Team note,"
        "TI Sample Branch,TechInsights Inc.,subsidiary,secondary\n"
        "Team watch list,JPN,Sample Orphan Co.,CAN,2025-04-01,sample,Team note,,"
        "No Such Parent Corp.,subsidiary,\n",
        encoding="utf-8",
    )

    outcome = run_import(source, tmp_path / "overlay")

    assert [key for _, key in outcome.added] == [
        "list_name=Team watch list, entity_name=Sample TechInsights Branch"
    ]
    # The rule looks across rows: the parent is found among the shipped listings.
    assert "is not an entity_name of the table" in reasons(outcome)["row 3 (Sample Orphan Co.)"]


def test_a_key_twice_in_one_file_imports_the_first(tmp_path: Path) -> None:
    source = tmp_path / "policy_events.csv"
    lines = (SAMPLES / "policy_events.csv").read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join([lines[0], lines[1], lines[1].replace("2025-07-01", "2025-08-01")]))

    outcome = run_import(source, tmp_path / "overlay")

    assert outcome.added == [("policy_events", "TEAM-001")]
    assert outcome.rejected == [
        ("row 3 (TEAM-001)", "the same key as row 2 (TEAM-001): not imported")
    ]


# ------------------------------------------------------------- idempotence, changes, manifest


def test_importing_a_file_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    first = run_import(SAMPLES / "gta_interventions.csv", overlay)
    files = overlay_files(overlay)

    second = run_import(SAMPLES / "gta_interventions.csv", overlay)

    assert first.added and not second.added and not second.changed
    assert second.unchanged == len(first.added)
    assert second.rejected == first.rejected
    assert overlay_files(overlay) == files  # tables and manifest byte for byte
    assert second.fingerprint_after == second.fingerprint_before == first.fingerprint_after


def test_every_sample_imported_again_changes_nothing(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    samples = sorted(SAMPLES.iterdir())
    first = [run_import(sample, overlay) for sample in samples]
    files = overlay_files(overlay)

    again = [run_import(sample, overlay) for sample in samples]

    assert all(not outcome.added and not outcome.changed for outcome in again)
    assert [outcome.rejected for outcome in again] == [outcome.rejected for outcome in first]
    assert overlay_files(overlay) == files


def test_reference_diff_lists_what_an_overlay_adds_and_changes(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    run_import(SAMPLES / "consolidated.csv", overlay)
    run_import(SAMPLES / "gta_interventions.csv", overlay)

    result = invoke("reference", "diff", str(shipped_reference_dir()), str(overlay), "-o", "d.csv")

    assert result.exit_code == 0, result.output
    changes = pl.read_csv(tmp_path / "d.csv", infer_schema=False)
    assert changes.filter(pl.col("change") == "added")["key"].to_list() == [
        "GTA-990001",
        "GTA-990002",
        "list_name=Denied Persons List (DPL) - Bureau of Industry and Security, "
        "entity_name=SAMPLE EXPIRED EXPORTS LTD",
        "list_name=US BIS Entity List (EAR Supp. No. 4 to Part 744), "
        "entity_name=Sample Ganzhou Rare Earth Separation Co.",
    ]
    # The screening list's row for CASC 9th Academy 772 names no parent: the import drops the
    # shipped row's link to CASC along with the new reason and source.
    assert set(changes.filter(pl.col("change") == "changed")["field"]) == {
        "reason",
        "source",
        "parent_entity",
        "relation",
    }
    assert changes.filter(pl.col("change") == "removed").is_empty()


def test_a_changed_record_is_reported_with_its_fields_and_replaces_the_row(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    run_import(SAMPLES / "policy_events.csv", overlay)
    edited = tmp_path / "policy_events.csv"
    edited.write_text(
        (SAMPLES / "policy_events.csv")
        .read_text(encoding="utf-8")
        .replace(",,ore_concentrate,flow,", ",2026-01-31,ore_concentrate,flow,"),
        encoding="utf-8",
    )

    outcome = run_import(edited, overlay)

    assert outcome.changed == [("policy_events", "TEAM-001", ("ended",))]
    assert outcome.fingerprint_after != outcome.fingerprint_before
    overlay_rows = pl.read_csv(overlay / "policy_events.csv", infer_schema=False)
    assert overlay_rows["event_id"].to_list() == ["TEAM-001"]  # replaced in place, not doubled
    assert overlay_rows["ended"].to_list() == ["2026-01-31"]


def test_the_manifest_records_each_import_with_file_hash_and_time(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    run_import(SAMPLES / "consolidated.csv", overlay)

    manifest = json.loads((overlay / MANIFEST_FILE).read_text(encoding="utf-8"))
    (entry,) = manifest["imports"]
    assert entry["file"].endswith("consolidated.csv")
    assert (
        entry["sha256"] == hashlib.sha256((SAMPLES / "consolidated.csv").read_bytes()).hexdigest()
    )
    assert entry["imported_at"] == "2026-12-01T12:00:00+00:00"
    assert entry["format"] == CSL
    assert (entry["added"], entry["changed"], entry["rejected"]) == (2, 1, 2)
    assert entry["tables_written"] == ["listed_entities.csv"]
    assert sorted(path.name for path in overlay.iterdir()) == [
        "listed_entities.csv",
        MANIFEST_FILE,
    ]


def test_a_full_reference_directory_is_not_an_import_target(tmp_path: Path) -> None:
    full = tmp_path / "full"
    shutil.copytree(shipped_reference_dir(), full)

    with pytest.raises(ReferenceDataError, match="a full reference directory"):
        run_import(SAMPLES / "policy_events.csv", full)


# --------------------------------------------------------------- the overlay and the fingerprint


def test_the_overlay_sits_on_the_shipped_data_and_changes_the_fingerprint(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    shipped = load_reference()
    run_import(SAMPLES / "consolidated.csv", overlay)
    run_import(SAMPLES / "gta_interventions.csv", overlay)

    merged = load_reference(overlay)

    assert merged.fingerprint != shipped.fingerprint
    assert merged.base_directory == str(shipped_reference_dir())
    assert merged.policy_events.height == shipped.policy_events.height + 2
    # Two added (one of them ended in 2020), one replaced.
    assert merged.listed_entities.height == shipped.listed_entities.height + 2
    assert merged.production.equals(shipped.production)
    casc = merged.listed_entities.filter(
        pl.col("entity_name") == "CASC 9th Academy 772 Research Institute"
    )
    assert casc.height == 1
    assert "Consolidated Screening List" in casc["source"][0]
    # The replaced row keeps its place among the shipped rows.
    position = shipped.listed_entities["entity_name"].to_list().index(casc["entity_name"][0])
    assert merged.listed_entities["entity_name"][position] == casc["entity_name"][0]


def test_a_full_directory_keeps_its_fingerprint(tmp_path: Path) -> None:
    full = tmp_path / "full"
    shutil.copytree(shipped_reference_dir(), full)

    assert load_reference(full).fingerprint == load_reference().fingerprint


def test_a_directory_of_some_tables_without_a_manifest_points_to_import(tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copyfile(SAMPLES / "policy_events.csv", partial / "policy_events.csv")

    with pytest.raises(ReferenceDataError, match=r"reference table is missing.*reference import"):
        load_reference(partial)


def test_a_bad_row_written_into_an_overlay_is_reported_with_its_file_and_line(
    tmp_path: Path,
) -> None:
    overlay = tmp_path / "overlay"
    run_import(SAMPLES / "listed_entities.csv", overlay)
    table = overlay / "listed_entities.csv"
    table.write_text(
        table.read_text(encoding="utf-8").replace("2025-04-01", "2025-13-01"), encoding="utf-8"
    )

    with pytest.raises(ReferenceDataError, match=rf"{table}:2: column listed_on"):
        load_reference(overlay)


# -------------------------------------------------------------- scoring side: --reference-dir


def test_features_on_the_merged_reference_see_an_imported_ban(tmp_path: Path, make_spine) -> None:
    overlay = tmp_path / "overlay"
    run_import(SAMPLES / "gta_interventions.csv", overlay)
    spine = make_spine([("copper_concentrate", "CHL", "JPN", None, None)])

    shipped = build_features(spine, load_reference(), as_of=date(2025, 12, 1))
    merged = build_features(spine, load_reference(overlay), as_of=date(2025, 12, 1))
    before_it = build_features(spine, load_reference(overlay), as_of=date(2025, 4, 1))

    assert shipped["flow_ban_in_force"].to_list() == [False]
    assert merged["flow_ban_in_force"].to_list() == [True]
    assert before_it["flow_ban_in_force"].to_list() == [False]  # not known before its dates


def test_the_environment_variable_points_the_settings_at_an_overlay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overlay = tmp_path / "overlay"
    outcome = run_import(SAMPLES / "gta_interventions.csv", overlay)
    monkeypatch.setenv(REFERENCE_DIR_ENV, str(overlay))

    reference = load_reference(load_settings().reference_dir)

    assert reference.fingerprint == outcome.fingerprint_after


def test_the_command_imports_prints_and_check_accepts_the_overlay(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"

    result = invoke(
        "reference", "import", str(SAMPLES / "gta_interventions.csv"), "--into", str(overlay)
    )

    assert result.exit_code == 0, result.output
    assert "Global Trade Alert intervention export" in result.stdout
    assert "added     policy_events: GTA-990001" in result.stdout
    assert "rejected  intervention 990003 (row 5): intervention type" in result.stdout
    assert "2 added, 0 changed, 0 unchanged, 4 rejected" in result.stdout
    fingerprint = load_reference(overlay).fingerprint
    assert f"-> {fingerprint}" in result.stdout
    check = invoke("reference", "check", "--reference-dir", str(overlay))
    assert check.exit_code == 0, check.output
    assert f"fingerprint {fingerprint}" in check.stdout
    assert "overlay on" in check.stdout


def test_the_features_command_sees_the_ban_through_reference_dir(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    run_import(SAMPLES / "gta_interventions.csv", overlay)
    (tmp_path / "in.csv").write_text(
        "material,supplier,supplier_country,buyer_country\n"
        "copper concentrate,Sample Copper SA,Chile,Japan\n",
        encoding="utf-8",
    )

    result = invoke(
        "features",
        "in.csv",
        "-o",
        "out.csv",
        "--as-of",
        "2025-12-01",
        "--reference-dir",
        str(overlay),
    )

    assert result.exit_code == 0, result.output
    assert pl.read_csv(tmp_path / "out.csv")["flow_ban_in_force"].to_list() == [True]


def test_other_trade_alert_column_names_are_read_alike(tmp_path: Path) -> None:
    # The names of GTA's own spreadsheet export (Date announced, Instrument type, Affected
    # product, GTA entry URL), without affected jurisdictions.
    source = tmp_path / "gta_entries.csv"
    source.write_text(
        "State Act ID,Intervention ID,Implementing jurisdiction,GTA evaluation,Title,"
        "MAST chapter,Instrument group,Instrument type,Implementation level,Currently in force,"
        "Date announced,Date implemented,Date removed,Affected sector,Affected product,"
        "GTA entry URL\n"
        "880010,990010,Indonesia,Red,Sample record: bauxite export ban,P,Export measures,"
        "Export ban,National,Yes,2025-01-10,2025-06-10,,,260600,"
        "https://example.org/sample/gta/880010\n",
        encoding="utf-8",
    )

    outcome = run_import(source, tmp_path / "overlay")

    assert outcome.added == [("policy_events", "GTA-990010")]
    event = load_reference(tmp_path / "overlay").policy_events.row(-1, named=True)
    assert (event["country_iso3"], event["measure"], event["materials"]) == (
        "IDN",
        "export_ban",
        "bauxite",
    )
    assert event["source"].endswith("https://example.org/sample/gta/880010")


def test_the_command_exits_2_when_nothing_can_be_imported(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    lines = (SAMPLES / "targets.simple.csv").read_text(encoding="utf-8").splitlines()
    people.write_text("\n".join([lines[0], lines[3]]) + "\n", encoding="utf-8")

    result = invoke("reference", "import", str(people), "--into", str(tmp_path / "overlay"))

    assert result.exit_code == EXIT_USAGE, result.output
    assert "a person" in result.stdout
    assert "nothing imported" in result.stderr
    assert not (tmp_path / "overlay").exists()  # no overlay for an import that imports nothing


def test_the_command_exits_2_on_an_unusable_file(tmp_path: Path) -> None:
    (tmp_path / "other.csv").write_text("a,b\n1,2\n", encoding="utf-8")

    result = invoke("reference", "import", "other.csv", "--into", str(tmp_path / "overlay"))

    assert result.exit_code == EXIT_USAGE, result.output
    assert result.stderr.startswith("error: other.csv: not a format riskengine can import")
    assert not (tmp_path / "overlay").exists() or not any((tmp_path / "overlay").iterdir())
