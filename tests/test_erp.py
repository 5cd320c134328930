"""ERP exports as delivered, through the CLI (issue 13 items 3, 4, 6, 7): header names and
``--columns``, plants and part numbers as keys, blocked sources, output in the input's
locale, and the summary of a run that scores nothing. ``features`` runs the same reading and
resolution as ``score`` without a trained model."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from riskengine.app.scoring import nothing_scored_summary, reason_kind
from riskengine.cli import EXIT_USAGE, app
from riskengine.config import HOME_ENV, REFERENCE_DIR_ENV, TRACKING_URI_ENV, Settings
from riskengine.io import read_table

AS_OF = "2026-03-01"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    monkeypatch.delenv(REFERENCE_DIR_ENV, raising=False)
    monkeypatch.delenv(TRACKING_URI_ENV, raising=False)
    monkeypatch.chdir(tmp_path)


def features(tmp_path: Path, data: bytes, *extra: str, name: str = "in.csv") -> Result:
    (tmp_path / name).write_bytes(data)
    return CliRunner().invoke(
        app, ["features", name, "-o", "out.csv", "--as-of", AS_OF, "--buyer-country", "DE", *extra]
    )


def written(tmp_path: Path) -> pl.DataFrame:
    """The output as text cells, in whatever delimiter and encoding it was written."""
    return read_table(str(tmp_path / "out.csv"))


ORACLE_ASL = (
    "Item,Item Description,Supplier,Supplier Site,Allocation %,Ship-To Org,ASL Status,"
    "Site Country\n"
    "RM-20100,Dysprosium oxide,Shin-Etsu Chemical,Takefu Plant,60,M1,Approved,JP\n"
    "RM-20100,Dysprosium oxide,Baotou Steel RE,Baotou,40,M1,Approved,CN\n"
)


def test_columns_names_a_header_the_aliases_do_not_know(tmp_path: Path) -> None:
    result = features(tmp_path, ORACLE_ASL.encode(), "--columns", 'supplier_country="Site Country"')

    assert result.exit_code == 0, result.output
    table = written(tmp_path)
    assert table["status"].to_list() == ["scored", "scored"]
    assert table.columns[:8] == ORACLE_ASL.splitlines()[0].split(",")


def test_an_oracle_asl_with_a_site_but_no_country_says_what_is_missing(tmp_path: Path) -> None:
    asl = (Path(__file__).parent / "data" / "erp" / "oracle_asl_us.csv").read_bytes()

    result = features(tmp_path, asl)

    assert result.exit_code == EXIT_USAGE
    message = " ".join(result.stderr.split())
    assert "missing required column 'supplier_country'" in message
    assert "names a supplier site ('Supplier Site') but no country" in message
    assert "with --supplier-sites FILE to look each site's country up" in message
    assert '--columns supplier_country="Site Country"' in message
    assert "supplier-site address column (accepted: supplier_address" in message
    assert not (tmp_path / "out.csv").exists()


def test_an_oracle_asl_with_a_site_address_takes_the_country_from_its_last_line(
    tmp_path: Path,
) -> None:
    asl = (
        "Item,Item Description,Supplier,Supplier Site,Site Address,Allocation %,Ship-To Org\n"
        'RM-1,Dysprosium oxide,Shin-Etsu,Takefu,"2-1-5 Kitago, Echizen-shi, Fukui, Japan",60,M1\n'
        'RM-1,Dysprosium oxide,Baotou RE,Baotou,"Baotou, Inner Mongolia, P.R. China",40,M1\n'
        'RM-2,Terbium oxide,Starck,Newton,"45 Industrial Place, Newton, MA",100,M1\n'
    )

    result = features(tmp_path, asl.encode())

    assert result.exit_code == 0, result.output
    table = written(tmp_path)
    assert table["status"].to_list() == ["scored", "scored", "rejected"]
    assert "may be a state or province" in table["reason"][2]


SAMPLES = Path(__file__).resolve().parent / "data" / "erp"
ORACLE_SITES = str(SAMPLES / "oracle_supplier_sites_us.csv")


def test_the_oracle_sample_asl_with_its_supplier_sites_is_scored(
    trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tests/data/erp/oracle_supplier_sites_us.csv: an extract of AP_SUPPLIER_SITES_ALL with its
    # supplier's name, as delivered; the ASL as delivered, with the mapping `riskengine map`
    # proposes, accepted unchanged.
    monkeypatch.setenv(HOME_ENV, str(trained_settings.home))
    monkeypatch.setenv(TRACKING_URI_ENV, trained_settings.tracking_uri)
    asl = str(SAMPLES / "oracle_asl_us.csv")
    mapped = CliRunner().invoke(app, ["map", asl, "-o", "mapping.csv"])

    result = CliRunner().invoke(
        app,
        ["score", asl, "--mapping", "mapping.csv", "--supplier-sites", ORACLE_SITES,
         "-o", "scores.csv", "--as-of", AS_OF, "--buyer-country", "US"],
    )  # fmt: skip

    assert mapped.exit_code == 0, mapped.output
    assert result.exit_code == 0, result.output
    scores = read_table(str(tmp_path / "scores.csv"))
    assert scores.height == 35
    scored = scores.filter(pl.col("status") == "scored")
    assert scored.height / scores.height >= 0.9
    expected = read_table(str(SAMPLES / "expected_materials.csv")).filter(
        pl.col("file") == "oracle_asl_us.csv"
    )
    resolved = scores.filter(pl.col("material_id").is_not_null()).join(
        expected.select(pl.col("part_number").alias("Item"), pl.col("material_id").alias("right")),
        on="Item",
    )
    assert resolved.filter(pl.col("material_id") != pl.col("right")).is_empty()
    sites = {"Takefu Plant": "JPN", "Olen": "BEL", "Newton MA": "USA"}
    assert scores.select(
        (pl.col("Supplier Site").replace_strict(sites) == pl.col("supplier_country_iso3")).all()
    ).item()


def test_a_supplier_sites_file_without_a_country_column_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "sites.csv").write_text(
        "VENDOR_NAME,VENDOR_SITE_CODE,ADDRESS_LINE1\nShin-Etsu Chemical,Takefu Plant,2-1-5\n",
        encoding="utf-8",
    )
    asl = (SAMPLES / "oracle_asl_us.csv").read_bytes()

    result = features(tmp_path, asl, "--supplier-sites", "sites.csv")

    assert result.exit_code == EXIT_USAGE
    message = " ".join(result.stderr.split())
    assert "sites.csv: missing required column 'country' (accepted: country" in message
    assert not (tmp_path / "out.csv").exists()


def test_a_missing_supplier_sites_file_is_exit_2(tmp_path: Path) -> None:
    asl = (SAMPLES / "oracle_asl_us.csv").read_bytes()

    result = features(tmp_path, asl, "--supplier-sites", "nowhere.csv")

    assert result.exit_code == EXIT_USAGE
    assert "nowhere.csv" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_columns_with_an_unknown_name_is_exit_2(tmp_path: Path) -> None:
    result = features(tmp_path, ORACLE_ASL.encode(), "--columns", "country_of_site=Site Country")

    assert result.exit_code == EXIT_USAGE
    assert "unknown column name 'country_of_site'" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_a_title_line_and_german_sap_labels_are_read(tmp_path: Path) -> None:
    export = (
        "Bezugsquellenliste Werk 1000;;;;;\n"
        "Material;Materialkurztext;Lieferant;Land;Werk;Anteil %\n"
        "10004711;Dysprosiumoxid;Baotou Rare Earth;CN;1000;60\n"
        "10004711;Dysprosiumoxid;Kuantan Rare Earth;MY;1000;40\n"
    )

    result = features(tmp_path, export.encode("cp1252"))

    assert result.exit_code == 0, result.output
    assert written(tmp_path)["status"].to_list() == ["scored", "scored"]


def test_header_row_option_names_the_header(tmp_path: Path) -> None:
    export = "Report,ME03\nMATNR,MAKTX,NAME1,LAND1\n4711,Dy2O3,Baotou,CN\n"

    result = features(tmp_path, export.encode(), "--header-row", "2")

    assert result.exit_code == 0, result.output
    assert written(tmp_path).columns[:4] == ["MATNR", "MAKTX", "NAME1", "LAND1"]


# ------------------------------------------------------------------ ERP semantics (item 4)

SAP_EORD = (
    "MATNR;MAKTX;LIFNR;NAME1;LAND1;WERKS;NOTKZ;Anteil %\n"
    "000000000010004711;Dysprosiumoxid Dy2O3 99,5%;0000100231;Baotou Rare Earth;CN;1000;;60\n"
    "000000000010004711;Dysprosiumoxid Dy2O3 99,5%;0000100232;Kuantan Rare Earth;MY;1000;;40\n"
    "000000000010004711;Dysprosiumoxid Dy2O3 99,5%;0000100231;Baotou Rare Earth;CN;1100;;100\n"
    "000000000010004756;DYSPROSIUM OXID PULV 99,9%;0000100231;Baotou Rare Earth;CN;1000;;100\n"
    "000000000010004711;Dysprosiumoxid Dy2O3 99,5%;0000100233;Gesperrt GmbH;DE;1000;X;50\n"
)
MAPPING = (
    "part_number,description,material_id,status\n"
    "10004711,,dysprosium_oxide,accepted\n"
    "10004756,,dysprosium_oxide,accepted\n"
)


def test_plants_and_part_numbers_are_part_of_a_sourcing_records_key(tmp_path: Path) -> None:
    # The same supplier at plants 1000 and 1100, and for two part numbers of one catalog
    # material: four records, none a duplicate; shares pool per part number and plant.
    (tmp_path / "mapping.csv").write_text(MAPPING, encoding="utf-8")

    result = features(tmp_path, SAP_EORD.encode("cp1252"), "--mapping", "mapping.csv")

    assert result.exit_code == 0, result.output
    table = written(tmp_path)
    assert table["status"].to_list()[:4] == ["scored"] * 4
    assert "duplicate" not in result.stderr
    assert "sum to" not in result.stderr


def test_each_plant_has_its_own_sourcing_concentration(tmp_path: Path) -> None:
    export = (
        "MATNR;MAKTX;NAME1;LAND1;WERKS;Anteil %\n"
        "4711;Dysprosiumoxid;Baotou Rare Earth;CN;1000;100\n"
        "4711;Dysprosiumoxid;5N Plus GmbH;DE;1100;100\n"
    )

    result = features(tmp_path, export.encode("cp1252"))

    assert result.exit_code == 0, result.output
    table = written(tmp_path)
    assert table["single_source_country"].to_list() == ["true", "true"]
    assert [float(value) for value in table["buyer_sourcing_hhi"]] == [1.0, 1.0]


def test_a_blocked_source_is_kept_flagged_and_not_counted_as_supply(tmp_path: Path) -> None:
    (tmp_path / "mapping.csv").write_text(MAPPING, encoding="utf-8")

    result = features(tmp_path, SAP_EORD.encode("cp1252"), "--mapping", "mapping.csv")

    assert result.exit_code == 0, result.output
    blocked = written(tmp_path).row(4, named=True)
    assert blocked["NAME1"] == "Gesperrt GmbH"
    assert blocked["status"] == "blocked"
    assert blocked["reason"].startswith("blocked source of supply (NOTKZ X)")
    # 60 % + 40 % + the blocked 50 % would be 150 %: the blocked source is no supply.
    assert "sum to" not in result.stderr


def test_a_debarred_oracle_asl_source_is_flagged(tmp_path: Path) -> None:
    asl = ORACLE_ASL.replace("40,M1,Approved", "40,M1,Debarred")

    result = features(tmp_path, asl.encode(), "--columns", "supplier_country=Site Country")

    assert result.exit_code == 0, result.output
    table = written(tmp_path)
    assert table["status"].to_list() == ["scored", "blocked"]
    assert table["reason"][1].startswith("blocked source of supply (ASL Status Debarred)")


# ------------------------------------------------------------- output in the locale (item 6)


def test_a_semicolon_cp1252_input_gives_a_semicolon_cp1252_output(tmp_path: Path) -> None:
    export = "MATNR;MAKTX;NAME1;LAND1\n4711;Dysprosiumoxid;5N Plus Lübeck GmbH;DE\n"

    result = features(tmp_path, export.encode("cp1252"))

    assert result.exit_code == 0, result.output
    data = (tmp_path / "out.csv").read_bytes()
    assert data.startswith(b"MATNR;MAKTX;NAME1;LAND1;status;reason;")
    assert "5N Plus Lübeck GmbH".encode("cp1252") in data
    assert "Lübeck".encode() not in data


def test_excel_writes_utf8_with_a_byte_order_mark_and_tabs(tmp_path: Path) -> None:
    export = "MATNR;MAKTX;NAME1;LAND1\n4711;Dysprosiumoxid;Tallinna Metall OÜ;EE\n"

    result = features(tmp_path, export.encode("cp1252"), "--excel")

    assert result.exit_code == 0, result.output
    data = (tmp_path / "out.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfMATNR\tMAKTX\tNAME1\tLAND1\tstatus\t")
    assert "Tallinna Metall OÜ".encode() in data


def test_a_plain_utf8_comma_input_gives_the_same_bytes_as_before(tmp_path: Path) -> None:
    export = "material,supplier,supplier_country\nDy2O3,Tallinna Metall OÜ,EE\n"

    result = features(tmp_path, export.encode())

    assert result.exit_code == 0, result.output
    data = (tmp_path / "out.csv").read_bytes()
    assert data.startswith(b"material,supplier,supplier_country,status,")
    assert written(tmp_path).write_csv().encode() == data


# ------------------------------------------------------- a run that scores nothing (item 7)


def test_a_run_that_scores_no_row_ends_with_its_reasons_counted(tmp_path: Path) -> None:
    export = (
        "MATNR;MAKTX;NAME1;LAND1\n"
        "4711;Dysprosiumoxid Dy2O3 99,5%;Baotou;CN\n"
        "4712;Terbiumoxid Tb4O7;Baotou;CN\n"
        "4713;Neodymoxid;Nippon Denko;Korea\n"  # an ambiguous country
    )

    result = features(tmp_path, export.encode("cp1252"))

    assert result.exit_code == 0, result.output
    tail = result.stderr.strip().splitlines()[-3:]
    assert tail[0] == "no row of 3 was scored; the reasons, counted:"
    assert tail[1] == "  2 x unknown material '…'"
    assert tail[2].startswith("  1 x ")


def test_the_summary_of_reasons_counts_kinds_and_cuts_the_tail() -> None:
    reasons = tuple((f"kind {index}", 20 - index) for index in range(12))

    lines = nothing_scored_summary(50, reasons)

    assert lines[1] == "  20 x kind 0"
    assert lines[-1] == "  19 x 2 other kinds of reason"
    assert nothing_scored_summary(0, ()) == ()
    assert reason_kind("duplicate pair: data rows 1, 31 repeat it") == (
        "duplicate pair: data rows N, N repeat it"
    )


def test_score_that_scores_no_row_ends_with_its_reasons(
    trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV, str(trained_settings.home))
    monkeypatch.setenv(TRACKING_URI_ENV, trained_settings.tracking_uri)
    (tmp_path / "in.csv").write_text(
        "material,supplier,supplier_country\nKupferdraht blank,Acme,DE\n", encoding="utf-8"
    )

    result = CliRunner().invoke(
        app, ["score", "in.csv", "-o", "scores.csv", "--as-of", AS_OF, "--buyer-country", "DE"]
    )

    assert result.exit_code == 0, result.output
    assert "no row of 1 was scored; the reasons, counted:" in result.stderr
    assert "  1 x unknown material '…'" in result.stderr


def test_the_sap_sample_bom_keyed_by_part_number_rolls_up_with_no_unlinked_leaf(
    trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tests/data/erp/sap_stpo_bom_de.csv: an SE16 export of the motor BOMs (STPO items with
    # their MAST material, plant and alternative), components by material number (IDNRK),
    # a text item and a line parked at quantity 0; the sourcing list is the German EORD sample
    # with the mapping `riskengine map` proposes, accepted unchanged.
    monkeypatch.setenv(HOME_ENV, str(trained_settings.home))
    monkeypatch.setenv(TRACKING_URI_ENV, trained_settings.tracking_uri)
    samples = Path(__file__).resolve().parent / "data" / "erp"
    sourcing, bom = str(samples / "sap_eord_de.csv"), str(samples / "sap_stpo_bom_de.csv")
    mapped = CliRunner().invoke(app, ["map", sourcing, "-o", "mapping.csv"])

    result = CliRunner().invoke(
        app,
        ["score-bom", bom, "--sourcing", sourcing, "--mapping", "mapping.csv", "-o",
         "products.csv", "--lines", "lines.csv", "--as-of", AS_OF, "--buyer-country", "DE"],
    )  # fmt: skip

    assert mapped.exit_code == 0, mapped.output
    assert result.exit_code == 0, result.output
    assert "unknown_leaf" not in result.stderr
    # Written as the sourcing list is: ;-separated cp1252.
    products = read_table(str(tmp_path / "products.csv"), encoding="cp1252", delimiter=";")
    assert products["status"].to_list() == ["scored", "scored"]
    assert "zero_quantity" in result.stderr


def test_the_oracle_sample_indented_bom_rolls_up_with_no_unlinked_leaf(
    trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tests/data/erp/oracle_indented_bom_us.csv: Oracle's indented bill (Level, Item), leaves by
    # item number. The ASL sample names supplier sites, not countries; their countries come
    # from the supplier-site export.
    monkeypatch.setenv(HOME_ENV, str(trained_settings.home))
    monkeypatch.setenv(TRACKING_URI_ENV, trained_settings.tracking_uri)
    asl = str(SAMPLES / "oracle_asl_us.csv")
    mapped = CliRunner().invoke(app, ["map", asl, "-o", "mapping.csv"])

    result = CliRunner().invoke(
        app,
        ["score-bom", str(SAMPLES / "oracle_indented_bom_us.csv"), "--sourcing", asl,
         "--mapping", "mapping.csv", "--supplier-sites", ORACLE_SITES, "-o", "products.csv",
         "--as-of", AS_OF, "--buyer-country", "US"],
    )  # fmt: skip

    assert mapped.exit_code == 0, mapped.output
    assert result.exit_code == 0, result.output
    assert "unknown_leaf" not in result.stderr
    products = read_table(str(tmp_path / "products.csv"))
    assert products["product"].to_list() == ["FG-77001", "FG-77002"]
    assert products["status"].to_list() == ["scored", "scored"]
