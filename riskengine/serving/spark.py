"""Scoring a sourcing list with Spark in local mode, through the registered model's pyfunc.

The recipe (``riskengine score --engine spark`` runs it; :func:`score_with_spark` for a
notebook that already holds a session):

1. A first pass over the whole input on the driver gathers what a row's outcome depends on
   across the input (:class:`~riskengine.sourcing.InputContext`: duplicate pairs, a supplier id
   with several countries, how the share column reads, the sourcing mix).
2. The first pass is broadcast as JSON; each partition is scored by the loaded pyfunc
   (``mlflow.pyfunc.load_model`` of the registered version's files) inside ``mapInArrow``,
   with the first pass as its ``first_pass`` parameter and each row's place in the input in
   :data:`~riskengine.serving.pyfunc.ROW_COLUMN`. A partition's rows then get the answers
   the whole input scored at once gives them, whatever rows share their partition.
3. The output is collected and sorted by input row.

pyspark is an optional extra (``pip install riskengine[spark]``), imported only here and only
when Spark scoring is asked for. Local mode only: the model's files and the input are read
from this machine's file system.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from riskengine.errors import UserInputError
from riskengine.schemas import SCORE_OUTPUT_COLUMNS
from riskengine.serving.pyfunc import FIRST_PASS, NUMBER_COLUMNS, PARAMETERS, ROW_COLUMN
from riskengine.sourcing import InputContext

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession

#: What to install when pyspark is missing.
SPARK_EXTRA = "pip install 'riskengine[spark]'"

# The pyfunc loaded once per Python worker (Spark reuses its workers across tasks), by path.
_LOADED: dict[str, Any] = {}


def require_pyspark() -> None:
    """Refuse Spark scoring, saying what to install, when pyspark is missing.

    Raises
    ------
    UserInputError
        When pyspark cannot be imported.
    """
    try:
        import pyspark  # noqa: F401
    except ImportError as error:
        raise UserInputError(
            f"--engine spark needs pyspark, an optional extra: {SPARK_EXTRA}"
        ) from error


def check_scorer_parameters(model_directory: Path) -> None:
    """Refuse a registered version whose pyfunc does not take a first pass.

    MLflow drops a parameter the model's signature does not name, with only a warning; a
    version registered before the ``first_pass`` parameter existed would score each partition
    alone and silently lose the checks that need the whole input.

    Raises
    ------
    UserInputError
        When the version's signature has no ``first_pass`` parameter.
    """
    from riskengine.models.tracking import scorer_parameters

    named = scorer_parameters(model_directory)
    if FIRST_PASS not in named:
        raise UserInputError(
            f"the model version in {model_directory} takes no {FIRST_PASS} parameter (it "
            f"takes {', '.join(sorted(named)) or 'none'}), so partitions scored through it "
            "would lose the checks that need the whole input; retrain (make retrain) to score "
            "with Spark"
        )


def local_session(partitions: int, *, work_directory: str) -> SparkSession:
    """A Spark session in local mode with ``partitions`` cores, its workers running this
    Python (so they import this riskengine), its warehouse and scratch space in
    ``work_directory``, no web UI."""
    from pyspark.sql import SparkSession

    # Spark starts its workers with `python3` unless told otherwise: another interpreter,
    # without riskengine, on many machines.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # Spark's own start-up lines (its log4j profile, native libraries) are not the user's
    # concern; errors still show.
    logging = Path(work_directory) / "log4j2.properties"
    logging.write_text(
        "rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n"
        "appender.console.type = Console\nappender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = spark: %p %c{1}: %m%n\n",
        encoding="utf-8",
    )
    session = (
        SparkSession.builder.master(f"local[{partitions}]")
        .appName("riskengine-score")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={logging.as_uri()}")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(Path(work_directory) / "warehouse"))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def output_arrow_schema(input_schema: pl.Schema) -> pa.Schema:
    """The schema of the partitions' output: :data:`ROW_COLUMN`, the input's columns, then
    the pyfunc's output columns (numbers as doubles, the rest text)."""
    import pyarrow as pa

    columns = pl.DataFrame(schema=input_schema).to_arrow().schema
    scores = [
        pa.field(name, pa.float64() if name in NUMBER_COLUMNS else pa.large_string())
        for name in SCORE_OUTPUT_COLUMNS
    ]
    return pa.schema([pa.field(ROW_COLUMN, pa.int64()), *columns, *scores])


def score_with_spark(
    spark: SparkSession,
    rows: pl.DataFrame,
    first_pass: InputContext,
    model_directory: Path,
    *,
    partitions: int,
) -> pl.DataFrame:
    """Score ``rows`` (the whole input, as :func:`~riskengine.sourcing.prepare_chunks`
    gathered ``first_pass`` over it) in ``partitions`` Spark partitions through the pyfunc in
    ``model_directory`` (a registered version's files, checked); the output sorted by input
    row, as ``riskengine score`` writes it.

    Rows are dealt to partitions round-robin, so each partition holds rows from all over the
    input: what a row's answer depends on elsewhere in the input comes from the broadcast
    first pass only.

    Raises
    ------
    UserInputError
        When the input has a column named :data:`ROW_COLUMN`, or the version takes no first
        pass (:func:`check_scorer_parameters`).
    """
    if ROW_COLUMN in rows.columns:
        raise UserInputError(f"{first_pass.source}: input already has a column {ROW_COLUMN}")
    check_scorer_parameters(model_directory)
    numbered = rows.with_row_index(ROW_COLUMN, offset=1).with_columns(
        pl.col(ROW_COLUMN).cast(pl.Int64)
    )
    schema = output_arrow_schema(rows.schema)
    broadcast = spark.sparkContext.broadcast(first_pass.to_json())
    parameters = {
        "as_of": None if first_pass.as_of is None else first_pass.as_of.isoformat(),
        "buyer_country": first_pass.buyer_country,
        "buyer": first_pass.buyer_name,
    }
    directory = str(model_directory)

    def score_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from score_batches(batches, directory, parameters, broadcast.value, schema)

    from pyspark.sql.pandas.types import from_arrow_schema

    frame: SparkFrame = spark.createDataFrame(numbered.to_arrow()).repartition(partitions)
    scored = frame.mapInArrow(score_partition, from_arrow_schema(schema))
    collected = pl.from_arrow(scored.toArrow())
    assert isinstance(collected, pl.DataFrame)
    # Back to the types `score` writes: the input's own, then numbers and text.
    types: dict[str, pl.DataType] = {
        **rows.schema,
        **{
            name: pl.Float64() if name in NUMBER_COLUMNS else pl.String()
            for name in SCORE_OUTPUT_COLUMNS
        },
    }
    return collected.sort(ROW_COLUMN).drop(ROW_COLUMN).cast(pl.Schema(types))


def score_batches(
    batches: Iterator[pa.RecordBatch],
    model_directory: str,
    parameters: dict[str, str | None],
    first_pass: str,
    schema: pa.Schema,
) -> Iterator[pa.RecordBatch]:
    """One partition, on a Spark worker: its batches scored at once by the loaded pyfunc with
    the broadcast ``first_pass`` (JSON), as Arrow batches of ``schema``."""
    import pyarrow as pa

    # A partition may hold no rows (more partitions than rows): then no batch at all comes.
    received = [batch for batch in batches if batch.num_rows]
    if not received:
        return
    table = pa.Table.from_batches(received)
    model = _LOADED.get(model_directory)
    if model is None:
        from riskengine.models.tracking import load_pyfunc

        model = _LOADED[model_directory] = load_pyfunc(model_directory)
    params = {name: parameters.get(name) for name in PARAMETERS}
    params[FIRST_PASS] = first_pass
    answer = model.predict(table.to_pandas(), params=params)
    yield from pa.Table.from_pandas(answer, schema=schema, preserve_index=False).to_batches()


def temporary_work_directory() -> tempfile.TemporaryDirectory[str]:
    """A directory for a local session's warehouse and scratch files, removed when done."""
    return tempfile.TemporaryDirectory(prefix="riskengine-spark-")
