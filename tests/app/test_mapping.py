"""``riskengine map`` and ``--mapping``: proposals written for review, the reviewed file applied
before the catalog, its fingerprint in the output, and a bad file refused naming its line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from riskengine.app.mapping import map_file
from riskengine.app.requests import InputFile, OutputFile
from riskengine.cli import EXIT_USAGE, app
from riskengine.config import HOME_ENV, TRACKING_URI_ENV, Settings

ERP_SAMPLES = Path(__file__).resolve().parents[1] / "data" / "erp"
AS_OF = "2026-03-01"


pytestmark = pytest.mark.usefixtures("isolated_command")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


SAP_SOURCE_LIST = (
    "MATNR;MAKTX;LIFNR;NAME1;LAND1\n"
    "000000000010004711;Dysprosiumoxid Dy2O3 99,5%;0000100231;Baotou Example;CN\n"
    "000000000010004711;Dysprosiumoxid Dy2O3 99,5%;0000100232;Kuantan Example;MY\n"
    "000000000010004712;Kupferdraht blank 2,5mm;0000100233;Aurubis Example;DE\n"
    "000000000010004713;Dy2O3;0000100234;Example Metals;CN\n"
)


def test_map_proposes_one_row_per_part_number(tmp_path: Path) -> None:
    (tmp_path / "eord.csv").write_text(SAP_SOURCE_LIST, encoding="utf-8")

    outcome = map_file(InputFile("eord.csv"), OutputFile("mapping.csv"))

    mapping = pl.read_csv(tmp_path / "mapping.csv", infer_schema=False)
    assert mapping["part_number"].to_list() == [
        "000000000010004711",
        "000000000010004712",
        "000000000010004713",
    ]
    assert mapping["rows"].to_list() == ["2", "1", "1"]
    assert mapping["material_id"].to_list() == [
        "dysprosium_oxide",
        "copper_metal",
        "dysprosium_oxide",
    ]
    assert mapping["status"].to_list() == ["proposed", "review", "proposed"]
    assert mapping["content_share"][0] == "0.8713"
    assert mapping["stage"][0] == "oxide_compound"
    assert (outcome.keys, outcome.proposed) == (3, 2)


def test_map_reads_the_leaves_of_a_bom(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_text(
        "parent,component,quantity\n"
        "Motor,Rotor,1\n"
        "Rotor,NdFeB-Magnet N48SH,0.4\n"
        "Motor,Kupferlackdraht 0.5mm,1.2\n",
        encoding="utf-8",
    )

    map_file(InputFile("bom.csv"), OutputFile("mapping.csv"))

    mapping = pl.read_csv(tmp_path / "mapping.csv", infer_schema=False)
    assert mapping["description"].to_list() == ["NdFeB-Magnet N48SH", "Kupferlackdraht 0.5mm"]
    assert mapping["material_id"].to_list() == ["ndfeb_magnet", "enamelled_copper_wire"]


def test_features_applies_accepted_and_proposed_rows_but_not_review_rows(tmp_path: Path) -> None:
    (tmp_path / "eord.csv").write_text(SAP_SOURCE_LIST, encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(
        "part_number,description,material_id,status,confidence\n"
        '10004711,"Dysprosiumoxid Dy2O3 99,5%",dysprosium_oxide,proposed,0.95\n'
        '10004712,"Kupferdraht blank 2,5mm",copper_metal,review,0.61\n'
        "10004713,Dy2O3,terbium_oxide,accepted,\n",
        encoding="utf-8",
    )

    result = invoke(
        "features", "eord.csv", "-o", "out.csv", "--as-of", AS_OF, "--mapping", "mapping.csv"
    )

    assert result.exit_code == 0, result.output
    output = pl.read_csv(tmp_path / "out.csv", infer_schema=False, separator=";")  # as the input
    assert output["status"].to_list() == ["scored", "scored", "rejected", "scored"]
    assert "mapping (mapping.csv line 3) left it for review" in output["reason"][2]
    # The mapped material is the one the features describe: terbium oxide from China is
    # under export licensing, as dysprosium oxide is.
    assert output["export_control_severity"][0] is not None
    assert output["export_control_severity"][3] is not None
    expected = hashlib.sha256((tmp_path / "mapping.csv").read_bytes()).hexdigest()
    assert output["mapping_sha256"].to_list() == [expected] * 4


def test_the_mapping_overrides_the_catalog_by_part_number(tmp_path: Path) -> None:
    (tmp_path / "eord.csv").write_text(SAP_SOURCE_LIST, encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(
        "part_number,material_id,status\n10004713,terbium_oxide,accepted\n", encoding="utf-8"
    )

    result = invoke(
        "features", "eord.csv", "-o", "out.csv", "--as-of", AS_OF, "--mapping", "mapping.csv"
    )

    assert result.exit_code == 0, result.output
    output = pl.read_csv(tmp_path / "out.csv", infer_schema=False, separator=";")  # as the input
    # Rows the mapping does not hold resolve through the catalog as before.
    assert output["status"].to_list() == ["rejected", "rejected", "rejected", "scored"]
    assert "unknown material 'Dysprosiumoxid" in output["reason"][0]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("1,unobtainium_oxide,accepted\n", "mapping.csv line 2: unknown material_id"),
        (
            "1,dysprosium_oxide,accepted\n01,gallium_metal,proposed\n",
            "mapping.csv line 3: part_number '01' repeats line 2",
        ),
    ],
)
@pytest.mark.parametrize("command", ["features", "score"])
def test_a_bad_mapping_is_exit_2_naming_the_file_and_line(
    tmp_path: Path, rows: str, message: str, command: str
) -> None:
    (tmp_path / "eord.csv").write_text(SAP_SOURCE_LIST, encoding="utf-8")
    (tmp_path / "mapping.csv").write_text("part_number,material_id,status\n" + rows)

    result = invoke(
        command, "eord.csv", "-o", "out.csv", "--as-of", AS_OF, "--mapping", "mapping.csv"
    )

    assert result.exit_code == EXIT_USAGE, result.output
    assert message in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_score_bom_refuses_a_bad_mapping_before_reading_anything_else(tmp_path: Path) -> None:
    (tmp_path / "mapping.csv").write_text("part_number,material_id,status\n1,nope,accepted\n")

    result = invoke(
        "score-bom", "bom.csv", "--sourcing", "s.csv", "-o", "out.csv", "--as-of", AS_OF,
        "--mapping", "mapping.csv",
    )  # fmt: skip

    assert result.exit_code == EXIT_USAGE, result.output
    assert "mapping.csv line 2: unknown material_id 'nope'" in result.stderr


def test_the_map_command_writes_the_mapping_and_a_summary(tmp_path: Path) -> None:
    (tmp_path / "eord.csv").write_text(SAP_SOURCE_LIST, encoding="utf-8")

    result = invoke("map", "eord.csv", "-o", "mapping.csv")

    assert result.exit_code == 0, result.output
    assert "3 distinct part numbers/texts: 2 proposed, 1 for review" in result.stderr


def test_map_without_part_number_or_text_columns_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("supplier,supplier_country\nAcme,DE\n")

    result = invoke("map", "in.csv", "-o", "mapping.csv")

    assert result.exit_code == EXIT_USAGE
    assert "no part-number or description column" in result.stderr


def test_erp_sample_lists_resolve_after_accepting_the_proposals(tmp_path: Path) -> None:
    """The shipped SAP (German, Asian) and Oracle samples: at least 90 % of distinct texts are
    proposed on the right material, and no proposal is on a wrong one."""
    expected = pl.read_csv(ERP_SAMPLES / "expected_materials.csv", infer_schema=False)
    right = wrong = 0
    for name in expected["file"].unique(maintain_order=True):
        map_file(
            InputFile(str(ERP_SAMPLES / name)), OutputFile(str(tmp_path / f"{name}.mapping.csv"))
        )
        written = pl.read_csv(tmp_path / f"{name}.mapping.csv", infer_schema=False)
        joined = expected.filter(pl.col("file") == name).join(
            written, on="part_number", suffix="_proposed"
        )
        proposed = joined.filter(pl.col("status") == "proposed")
        hits = proposed.filter(pl.col("material_id") == pl.col("material_id_proposed")).height
        right += hits
        wrong += proposed.height - hits
    assert wrong == 0
    assert right / expected.height >= 0.9


def test_score_and_score_bom_apply_the_mapping_and_record_its_fingerprint(
    trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV, str(trained_settings.home))
    monkeypatch.setenv(TRACKING_URI_ENV, trained_settings.tracking_uri)
    (tmp_path / "eord.csv").write_text(SAP_SOURCE_LIST, encoding="utf-8")
    # The BOM names one leaf by its part number, the other by a text held for review.
    (tmp_path / "bom.csv").write_text(
        "parent,component,quantity\nMotor,000010004711,0.2\nMotor,Kupferdraht blank,1\n",
        encoding="utf-8",
    )
    (tmp_path / "mapping.csv").write_text(
        "part_number,description,material_id,status\n"
        "10004711,,dysprosium_oxide,accepted\n"
        ",Kupferdraht blank,copper_metal,review\n",
        encoding="utf-8",
    )
    fingerprint = hashlib.sha256((tmp_path / "mapping.csv").read_bytes()).hexdigest()

    scored = invoke(
        "score", "eord.csv", "-o", "scores.csv", "--as-of", AS_OF, "--buyer-country", "DE",
        "--mapping", "mapping.csv",
    )  # fmt: skip
    products = invoke(
        "score-bom", "bom.csv", "--sourcing", "eord.csv", "-o", "products.csv",
        "--lines", "lines.csv", "--as-of", AS_OF, "--buyer-country", "DE",
        "--mapping", "mapping.csv",
    )  # fmt: skip

    assert scored.exit_code == 0, scored.output
    assert f"mapping {fingerprint[:16]}" in scored.stderr
    scores = pl.read_csv(tmp_path / "scores.csv", infer_schema=False, separator=";")  # as the input
    assert scores["material_id"].to_list()[:2] == ["dysprosium_oxide"] * 2
    assert scores["status"].to_list() == ["scored", "scored", "rejected", "scored"]
    assert scores["mapping_sha256"].to_list() == [fingerprint] * 4
    assert products.exit_code == 0, products.output
    # score-bom writes in the sourcing list's delimiter and encoding, as score does.
    written = pl.read_csv(tmp_path / "products.csv", infer_schema=False, separator=";")
    assert written["mapping_sha256"].to_list() == [fingerprint]
    lines = pl.read_csv(tmp_path / "lines.csv", infer_schema=False, separator=";")
    assert "dysprosium_oxide" in lines["material_id"].to_list()
    assert "left it for review" in products.stderr
