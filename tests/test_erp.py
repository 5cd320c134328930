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


# A Korean cell maker's source list as an SAP GUI "스프레드시트" download: a title row above the
# header, Korean field labels, vendor numbers as text with their leading zeros, shares in percent,
# two plants (오창 K100 in Korea, 브로츠와프 P200 in Poland) with the plant's country beside it.
# Each row's expected material is what the buyer would say the text is, decided from the text
# alone; the catalog has no foils, so copper and aluminium foil are the refined metal they are.
KOREAN_TITLE = "소스 목록 조회 (ME03) - 2026.02.28 기준"
KOREAN_HEADER = (
    "자재", "자재내역", "플랜트", "플랜트 국가", "공급업체", "공급업체명", "국가", "비율(%)"
)  # fmt: skip
# One row a line, cells split at "|".
KOREAN_ROWS = tuple(
    tuple(line.split("|"))
    for line in """\
40001001|황산니켈 NiSO4·6H2O 배터리급|K100|KR|0000300411|华友钴业 Huayou Cobalt|CN|60
40001001|황산니켈 NiSO4·6H2O 배터리급|K100|KR|0000300512|PT Halmahera Persada Lygend|ID|40
40001001|황산니켈 NiSO4·6H2O 배터리급|P200|PL|0000300411|华友钴业 Huayou Cobalt|CN|100
40001002|황산코발트 CoSO4·7H2O|K100|KR|0000300623|格林美 GEM Co., Ltd.|CN|70
40001002|황산코발트 CoSO4·7H2O|K100|KR|0000300734|住友金属鉱山 Sumitomo Metal Mining|JP|30
40001003|수산화리튬 LiOH·H2O battery grade|K100|KR|0000300845|天齐锂业 Tianqi Lithium|CN|50
40001003|수산화리튬 LiOH·H2O battery grade|K100|KR|0000300956|SQM Salar SpA|CL|50
40001003|수산화리튬 LiOH·H2O battery grade|P200|PL|0000300845|天齐锂业 Tianqi Lithium|CN|100
40001004|탄산리튬 Li2CO3 99.5% 배터리급|K100|KR|0000300956|SQM Salar SpA|CL|100
40001005|음극재 천연흑연 구형화 SG17|K100|KR|0000301067|贝特瑞 BTR New Material|CN|100
40001006|인조흑연 음극재 AG-15|K100|KR|0000301178|上海杉杉 Shanshan Technology|CN|60
40001006|인조흑연 음극재 AG-15|K100|KR|0000300125|포스코퓨처엠|KR|40
40001007|LiPF6 전해질염|K100|KR|0000301289|多氟多 DFD Chemical|CN|70
40001007|LiPF6 전해질염|K100|KR|0000301390|후성|KR|30
40001008|전해동박 8㎛|K100|KR|0000301401|SK넥실리스|KR|50
40001008|전해동박 8㎛|K100|KR|0000301512|롯데에너지머티리얼즈|KR|50
40001008|전해동박 8㎛|P200|PL|0000301401|SK넥실리스|KR|100
40001009|알루미늄박 양극집전체 12㎛|K100|KR|0000301623|동원시스템즈|KR|100
40001010|NCM811 전구체|K100|KR|0000301734|中伟 CNGR Advanced Material|CN|60
40001010|NCM811 전구체|K100|KR|0000301845|에코프로머티리얼즈|KR|40
40001011|망간 황산염 MnSO4·H2O 고순도|K100|KR|0000301956|Element 25 Ltd|AU|100
40001012|MHP 니켈 혼합수산화물|K100|KR|0000302067|PT Huayue Nickel Cobalt|ID|100
40001013|리튬 정광 스포듀민 SC6|K100|KR|0000302178|Pilbara Minerals Ltd|AU|100
40001014|니켈 매트 Ni 70%|K100|KR|0000302289|PT Vale Indonesia Tbk|ID|100
""".splitlines()
)
KOREAN_EXPECTED = {
    "40001001": "nickel_sulphate",
    "40001002": "cobalt_sulphate",
    "40001003": "lithium_hydroxide",
    "40001004": "lithium_carbonate",
    "40001005": "spherical_graphite",
    "40001006": "synthetic_graphite",
    "40001007": "lithium_hexafluorophosphate",
    "40001008": "copper_metal",
    "40001009": "aluminium_metal",
    "40001010": "cathode_precursor",
    "40001011": "manganese_sulphate",
    "40001012": "mixed_hydroxide_precipitate",
    "40001013": "spodumene_concentrate",
    "40001014": "nickel_matte",
}


def korean_source_list(path: Path) -> None:
    """Writes the Korean sample as Excel holds it: every cell text, as SAP's download does."""
    import xlsxwriter

    with xlsxwriter.Workbook(str(path)) as book:
        sheet = book.add_worksheet("Sheet1")
        sheet.write_string(0, 0, KOREAN_TITLE)
        for row, cells in enumerate((KOREAN_HEADER, *KOREAN_ROWS), start=1):
            for column, cell in enumerate(cells):
                sheet.write_string(row, column, cell)


def test_the_korean_sample_xlsx_is_scored_on_the_right_materials(
    trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `riskengine map` on the XLSX as delivered, its proposals accepted unchanged, then `score`.
    monkeypatch.setenv(HOME_ENV, str(trained_settings.home))
    monkeypatch.setenv(TRACKING_URI_ENV, trained_settings.tracking_uri)
    korean_source_list(tmp_path / "소스목록.xlsx")
    mapped = CliRunner().invoke(app, ["map", "소스목록.xlsx", "-o", "mapping.csv"])

    result = CliRunner().invoke(
        app,
        ["score", "소스목록.xlsx", "--mapping", "mapping.csv", "-o", "scores.csv",
         "--as-of", AS_OF, "--buyer-country", "KR"],
    )  # fmt: skip

    assert mapped.exit_code == 0, mapped.output
    assert result.exit_code == 0, result.output
    scores = read_table(str(tmp_path / "scores.csv"))
    assert scores.height == len(KOREAN_ROWS)
    scored = scores.filter(pl.col("status") == "scored")
    print(f"korean sample: {scored.height} of {scores.height} rows scored")
    wrong = scores.filter(
        pl.col("material_id").is_not_null()
        & (pl.col("material_id") != pl.col("자재").replace_strict(KOREAN_EXPECTED))
    )
    print(f"korean sample: wrong materials {wrong.select('자재내역', 'material_id').rows()}")
    assert scored.height / scores.height >= 0.9
    assert wrong.is_empty()
    # Plants keep their rows apart: one supplier at K100 and P200 is two records, and each
    # plant's shares are their own mix (K100's 60 + 40 and P200's 100 are not 200).
    assert "duplicate" not in result.stderr
    assert "sum to" not in result.stderr
    assert scores["플랜트"].to_list() == [row[2] for row in KOREAN_ROWS]
    assert scores["공급업체"].to_list() == [row[4] for row in KOREAN_ROWS]
    # Each plant's own country is the buyer country of its rows (Poland for P200).
    plant_countries = {"K100": "KOR", "P200": "POL"}
    assert scores["buyer_country_iso3"].to_list() == [
        plant_countries[row[2]] for row in KOREAN_ROWS
    ]
