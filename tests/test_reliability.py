"""Bad input through the CLI: every row comes back scored or rejected with a reason, bad files
and options exit 2 with a message and no output, interrupted runs leave nothing behind.

The `features` command runs the same reading and resolution as `score` without needing a
trained model, so most cases go through it; the README's reliability table lists them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from riskengine.cli import EXIT_USAGE, app

AS_OF = "2026-03-01"


pytestmark = pytest.mark.usefixtures("isolated_command")


def features(tmp_path: Path, text: str, *extra: str, name: str = "in.csv") -> tuple[Result, Path]:
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    output = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["features", str(source), "-o", str(output), "--as-of", AS_OF, *extra]
    )
    return result, output


def read_output(output: Path) -> pl.DataFrame:
    return pl.read_csv(output, infer_schema=False)


def test_header_only_input_gives_an_empty_output(tmp_path: Path) -> None:
    result, output = features(tmp_path, "material,supplier,supplier_country\n")
    assert result.exit_code == 0, result.output
    assert read_output(output).height == 0


def test_duplicate_pairs_are_flagged_on_every_copy(tmp_path: Path) -> None:
    result, output = features(
        tmp_path,
        "material,supplier,supplier_country\nDy2O3,Acme,CN\ndysprosium oxide,Acme,China\n"
        "NdPr oxide,Acme,CN\n",
    )
    assert result.exit_code == 0, result.output
    table = read_output(output)
    assert table.height == 3
    assert table["status"].to_list() == ["rejected", "rejected", "scored"]
    assert "data rows 1, 2" in table["reason"][0]


def test_one_supplier_id_with_two_countries_is_flagged(tmp_path: Path) -> None:
    result, output = features(
        tmp_path,
        "supplier_id,material,supplier,supplier_country\n0001,Dy2O3,Acme,CN\n"
        "0001,NdPr oxide,Acme,VN\n0002,NdPr oxide,Other,MY\n",
    )
    assert result.exit_code == 0, result.output
    table = read_output(output)
    assert table["status"].to_list() == ["rejected", "rejected", "scored"]
    assert "several countries (CHN, VNM)" in table["reason"][0]
    # Identifiers keep their leading zeros.
    assert table["supplier_id"].to_list() == ["0001", "0001", "0002"]


@pytest.mark.parametrize(
    ("country", "status", "reason_part"),
    [
        ("Atlantis", "rejected", "unknown country 'Atlantis'"),
        ("Korea", "rejected", "KOR"),
        ("Congo", "rejected", "COD"),
        ("NA", "scored", None),
        ("Viet Nam", "scored", None),
    ],
)
def test_countries(tmp_path: Path, country: str, status: str, reason_part: str | None) -> None:
    result, output = features(
        tmp_path, f"material,supplier,supplier_country\nnickel ore,Acme,{country}\n"
    )
    assert result.exit_code == 0, result.output
    row = read_output(output).row(0, named=True)
    assert row["status"] == status
    if reason_part:
        assert reason_part in row["reason"]
    if country == "NA":
        assert row["supplier_country"] == "NA"  # kept as written, read as Namibia


@pytest.mark.parametrize(
    ("shares", "statuses"),
    [
        (("0.7", "0.3"), ["scored", "scored"]),
        (("70", "30"), ["scored", "scored"]),  # percentages, divided by 100 with a note
        (("-0.2", "0.3"), ["rejected", "scored"]),
        (("NaN", "0.3"), ["rejected", "scored"]),
        (("inf", "0.3"), ["rejected", "scored"]),
        (("0,7", "0,3"), ["scored", "scored"]),  # decimal commas
    ],
)
def test_shares(tmp_path: Path, shares: tuple[str, str], statuses: list[str]) -> None:
    first, second = (f'"{share}"' for share in shares)
    result, output = features(
        tmp_path,
        f"material,supplier,supplier_country,share\nNdPr oxide,A,CN,{first}\n"
        f"NdPr oxide,B,MY,{second}\n",
    )
    assert result.exit_code == 0, result.output
    table = read_output(output)
    assert table["status"].to_list() == statuses
    if shares == ("70", "30"):
        assert "read as percentages" in result.stderr
        assert float(table["buyer_sourcing_hhi"][0]) == pytest.approx(0.7**2 + 0.3**2)


def test_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    result, output = features(
        tmp_path,
        "material;supplier;supplier_country;share\nNdPr oxide;A;CN;0,6\nNdPr oxide;B;MY;0,4\n",
    )
    assert result.exit_code == 0, result.output
    # The output keeps the input's delimiter (issue 13 item 6).
    table = pl.read_csv(output, infer_schema=False, separator=";")
    assert table["status"].to_list() == ["scored", "scored"]
    assert float(table["buyer_sourcing_hhi"][0]) == pytest.approx(0.6**2 + 0.4**2)


def test_as_of_before_2010_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("material,supplier,supplier_country\nDy2O3,Acme,CN\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["features", str(source), "-o", "out.csv", "--as-of", "2009-12-31"]
    )
    assert result.exit_code == EXIT_USAGE
    assert "2010" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_interrupted_write_leaves_no_file_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import riskengine.io.writing

    def interrupted(frame: pl.DataFrame, kind: str, target, *first: bool) -> None:
        target.write(b"partial")
        raise KeyboardInterrupt

    # features writes chunk by chunk; a whole-table write goes through _serialise
    monkeypatch.setattr(riskengine.io.writing, "_serialise", interrupted)
    monkeypatch.setattr(riskengine.io.writing, "_serialise_chunk", interrupted)
    result, output = features(tmp_path, "material,supplier,supplier_country\nDy2O3,Acme,CN\n")
    assert result.exit_code == 130
    assert not output.exists()
    assert not list(tmp_path.glob(".out.csv.*"))


def test_formula_like_names_are_written_safely(tmp_path: Path) -> None:
    result, output = features(
        tmp_path,
        'material,supplier,supplier_country\nDy2O3,"=HYPERLINK(""http://x"")",CN\n'
        "NdPr oxide,@SUM(A1),MY\n",
    )
    assert result.exit_code == 0, result.output
    suppliers = read_output(output)["supplier"].to_list()
    assert suppliers == ['\'=HYPERLINK("http://x")', "'@SUM(A1)"]


def test_missing_output_directory_is_a_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("material,supplier,supplier_country\nDy2O3,Acme,CN\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["features", str(source), "-o", "missing/out.csv", "--as-of", AS_OF]
    )
    assert result.exit_code == EXIT_USAGE
    assert "missing" in result.stderr


def test_as_of_in_the_future_is_allowed_with_a_note(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("material,supplier,supplier_country\nDy2O3,Acme,CN\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["features", str(source), "-o", "out.csv", "--as-of", "2099-01-01"]
    )
    assert result.exit_code == 0, result.output
    assert "in the future" in result.stderr
    assert (tmp_path / "out.csv").exists()


def test_sourcing_validity_dates_are_checked_and_applied(tmp_path: Path) -> None:
    # SAP source-list names (VDATU/BDATU); the as-of date is 2026-03-01.
    result, output = features(
        tmp_path,
        "material,supplier,supplier_country,VDATU,BDATU\n"
        "Dy2O3,Open,CN,20240101,99991231\n"
        "Dy2O3,Backwards,CN,2026-06-01,2026-01-01\n"
        "Dy2O3,Expired,CN,01.01.2020,31.12.2024\n"
        "Dy2O3,Typo,CN,2025-02-30,\n"
        "Dy2O3,Undated,CN,,\n",
    )
    assert result.exit_code == 0, result.output
    table = read_output(output)
    assert table["status"].to_list() == ["scored", "rejected", "rejected", "rejected", "scored"]
    assert table["reason"][1] == "valid_to 2026-01-01 is before valid_from 2026-06-01"
    assert table["reason"][2] == "not in force on 2026-03-01: valid 2020-01-01 to 2024-12-31"
    assert "'2025-02-30' is not a date" in table["reason"][3]


def test_sap_leading_zeros_do_not_hide_a_supplier_id_conflict_or_a_duplicate(
    tmp_path: Path,
) -> None:
    # SAP pads numeric ids (ALPHA conversion); one export may carry the zeros, another not.
    result, output = features(
        tmp_path,
        "supplier_id,material,supplier,supplier_country\n0001234,Dy2O3,Acme,CN\n"
        "1234,NdPr oxide,Acme,VN\n0077,Dy2O3,Beta,CN\n77,Dy2O3,Beta,CN\nABC-1,Dy2O3,Gamma,CN\n",
    )
    assert result.exit_code == 0, result.output
    table = read_output(output)
    assert table["status"].to_list() == ["rejected"] * 4 + ["scored"]
    conflict = "supplier_id 0001234 / 1234 appears with several countries (CHN, VNM)"
    assert table["reason"][0] == table["reason"][1] == conflict
    assert table["reason"][2] == "duplicate pair: data rows 3, 4 repeat it"


def test_an_expired_source_list_record_does_not_make_the_current_one_a_duplicate(
    tmp_path: Path,
) -> None:
    # Source lists keep the old record next to the new one; only the one in force is scored.
    result, output = features(
        tmp_path,
        "supplier_id,material,supplier,supplier_country,VDATU,BDATU\n"
        "0001,Dy2O3,Acme,CN,20200101,20241231\n"
        "0001,Dy2O3,Acme,CN,20250101,00000000\n"
        "0002,Dy2O3,Beta,MY,2020-01-01T00:00:00Z,31.12.2024 00:00:00\n"
        "0002,Dy2O3,Beta,VN,2025-01-01 00:00:00+01:00,\n",
    )
    assert result.exit_code == 0, result.output
    table = read_output(output)
    assert table["status"].to_list() == ["rejected", "scored", "rejected", "scored"]
    assert table["reason"][0] == "not in force on 2026-03-01: valid 2020-01-01 to 2024-12-31"
    # Beta moved from Malaysia to Vietnam: the expired record does not contradict the current.
    assert table["reason"][2] == "not in force on 2026-03-01: valid 2020-01-01 to 2024-12-31"


@pytest.mark.parametrize(
    "buyer",
    ["T\u200bDK Corporation", "Sumitomo Heavy Indus\u00adtries, Ltd.", "SUB\u0410RU Corporation"],
)
def test_a_listed_buyer_written_with_invisible_or_look_alike_characters_is_still_listed(
    tmp_path: Path, buyer: str
) -> None:
    result, output = features(
        tmp_path,
        "material,supplier,supplier_country\nDy2O3,Acme,CN\n",
        "--buyer-country",
        "JP",
        "--buyer",
        buyer,
    )
    assert result.exit_code == 0, result.output
    row = read_output(output).row(0, named=True)
    assert row["buyer_listed"] == "true"
    assert float(row["buyer_listing_match_score"]) == 1.0


def test_spreadsheet_errors_and_shares_summing_to_300_percent_are_not_accepted_silently(
    tmp_path: Path,
) -> None:
    result, output = features(
        tmp_path,
        "material,supplier,supplier_country,share\n"
        "Dy2O3,#N/A,CN,100%\nDy2O3,B,VN,100%\nDy2O3,C,MY,100%\nDy2O3,D,CN,#DIV/0!\n",
        "--buyer-country",
        "JP",
    )
    assert result.exit_code == 0, result.output
    table = read_output(output)
    assert table["status"].to_list() == ["rejected", "scored", "scored", "rejected"]
    assert "column 'supplier': '#N/A' is a spreadsheet error value" in table["reason"][0]
    assert "column 'share': '#DIV/0!' is a spreadsheet error value" in table["reason"][3]
    assert "shares of Dysprosium oxide (buyer country JPN) sum to 3 (300%)" in result.stderr


def test_parquet_list_columns_are_a_usage_error_naming_the_column(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    pl.DataFrame(
        {"material": ["Dy2O3"], "supplier": ["Acme"], "supplier_country": ["CN"], "tags": [["a"]]}
    ).write_parquet(source)
    result = CliRunner().invoke(app, ["features", str(source), "-o", "out.csv", "--as-of", AS_OF])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "in.parquet: column 'tags' holds lists" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_a_huge_cell_is_echoed_cut_short(tmp_path: Path) -> None:
    huge = "X" * 1_100_000
    result, output = features(
        tmp_path, f"material,supplier,supplier_country\n{huge},Acme,CN\nDy2O3,Acme,{huge}\n"
    )
    assert result.exit_code == 0, result.output[:500]
    reasons = read_output(output)["reason"].to_list()
    assert all(len(reason) < 300 for reason in reasons)
    assert "(1,100,000 characters)" in reasons[0] and "(1,100,000 characters)" in reasons[1]


def test_a_gzip_input_gives_the_rows_of_the_plain_file(tmp_path: Path) -> None:
    import gzip

    text = "material,supplier,supplier_country\nDy2O3,Acme,CN\nunobtainium,Beta,VN\n"
    (tmp_path / "in.csv.gz").write_bytes(gzip.compress(text.encode()))
    result = CliRunner().invoke(
        app, ["features", "in.csv.gz", "-o", "from-gzip.csv", "--as-of", AS_OF]
    )
    assert result.exit_code == 0, result.output
    _, plain = features(tmp_path, text)
    columns = ["material", "supplier", "supplier_country", "status", "reason"]
    assert (
        read_output(tmp_path / "from-gzip.csv")
        .select(columns)
        .equals(read_output(plain).select(columns))
    )
