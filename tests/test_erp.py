"""ERP exports as delivered, through the CLI (issue 13 items 3, 4, 6, 7): header names and
``--columns``, plants and part numbers as keys, blocked sources, output in the input's
locale, and the summary of a run that scores nothing. ``features`` runs the same reading and
resolution as ``score`` without a trained model."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from riskengine.cli import EXIT_USAGE, app
from riskengine.config import HOME_ENV, REFERENCE_DIR_ENV, TRACKING_URI_ENV

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
    return pl.read_csv(tmp_path / "out.csv", infer_schema=False, encoding="utf8-lossy")


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
