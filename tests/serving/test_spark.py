"""Scoring with Spark in local mode through the registered pyfunc: the output of ``riskengine
score`` itself, byte for byte; refused plainly without pyspark or with a model that would
lose the whole-input checks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskengine.cli import app
from riskengine.config import HOME_ENV, TRACKING_URI_ENV, Settings
from riskengine.errors import UserInputError

#: Supplier id 0001 with CN and VN, rows 2 and 5 one pair, shares in percent (60, 40) and a 1
#: that the whole column reads as 1 %; Spark deals the rows to two partitions round-robin.
SPLIT_CSV = (
    "material,supplier,supplier_country,supplier_id,share\n"
    "Dy2O3,Baotou Co,CN,0001,60\n"
    "NdPr oxide,Kuantan Co,MY,0002,40\n"
    "gallium,Yunnan Co,CN,0003,\n"
    "Dy2O3,Baotou Co,VN,0001,\n"
    "NdPr oxide,Kuantan Co,MY,0002,\n"
    "gallium,Hanoi Co,VN,0004,1\n"
    "unobtainium,Nowhere Ltd,CN,0005,\n"
)


def _score(tmp_path: Path, name: str, *options: str) -> bytes:
    output = tmp_path / name
    result = CliRunner().invoke(
        app,
        [
            "score",
            str(tmp_path / "split.csv"),
            "-o",
            str(output),
            "--as-of",
            "2026-03-01",
            "--buyer-country",
            "JP",
            *options,
        ],
    )
    assert result.exit_code == 0, result.output
    return output.read_bytes()


@pytest.fixture(scope="session")
def pyspark_installed() -> None:
    """Skips at once when pyspark (the spark extra) is missing, before any model is trained."""
    pytest.importorskip("pyspark")


@pytest.mark.slow
def test_spark_local_mode_writes_the_bytes_score_writes(
    pyspark_installed: None,
    trained_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv(HOME_ENV, str(trained_settings.home))
    monkeypatch.setenv(TRACKING_URI_ENV, trained_settings.tracking_uri)
    (tmp_path / "split.csv").write_text(SPLIT_CSV, encoding="utf-8")

    local = _score(tmp_path, "local.csv")
    spark = _score(tmp_path, "spark.csv", "--engine", "spark", "--partitions", "2")

    assert spark == local
    assert local.count(b"supplier_id 0001 appears with several countries") == 2
    assert local.count(b"duplicate pair: data rows 2, 5 repeat it") == 2


def test_spark_without_pyspark_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A None entry makes `import pyspark` fail as if it were not installed; that is checked
    # before any model is looked for.
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    (tmp_path / "split.csv").write_text(SPLIT_CSV, encoding="utf-8")

    result = CliRunner().invoke(
        app,
        [
            "score",
            str(tmp_path / "split.csv"),
            "-o",
            str(tmp_path / "out.csv"),
            "--as-of",
            "2026-03-01",
            "--engine",
            "spark",
        ],
    )

    assert result.exit_code != 0
    assert "riskengine[spark]" in result.output
    assert not (tmp_path / "out.csv").exists()


def test_a_version_whose_pyfunc_takes_no_first_pass_is_refused(tmp_path: Path) -> None:
    from mlflow.models import Model, ModelSignature
    from mlflow.types.schema import ParamSchema, ParamSpec

    from riskengine.serving.spark import check_scorer_parameters

    older = ParamSchema([ParamSpec(name, "string", None) for name in ("as_of", "buyer_country")])
    Model(signature=ModelSignature(params=older)).save(str(tmp_path / "MLmodel"))

    with pytest.raises(UserInputError, match="takes no first_pass parameter"):
        check_scorer_parameters(tmp_path)


def test_a_partition_without_rows_gives_no_batch_and_loads_no_model() -> None:
    import pyarrow as pa

    from riskengine.serving.spark import score_batches

    schema = pa.schema([pa.field("material", pa.large_string())])
    empty = pa.RecordBatch.from_pylist([], schema=schema)

    # More partitions than rows: Spark hands some no batch at all, others an empty one.
    for batches in ([], [empty]):
        assert list(score_batches(iter(batches), "no model here", {}, "{}", schema)) == []
