"""``riskengine score --engine spark``: the file scored by Spark in local mode through the
registered model's pyfunc (:mod:`riskengine.serving.spark`), written as ``score`` writes it.

pyspark and MLflow are imported inside the function, so the command line starts as fast
without them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import polars as pl

from riskengine.app.requests import ScoringRequest
from riskengine.app.scoring import ReasonCounter, ScoreOutcome, output_style, top_rows
from riskengine.config import Settings, chunk_bytes_setting
from riskengine.errors import UserInputError
from riskengine.io import write_table_chunks
from riskengine.reference.loader import load_reference
from riskengine.schemas import STATUS_BLOCKED, STATUS_SCORED
from riskengine.scoring import check_as_of
from riskengine.sourcing import prepare_chunks


def default_partitions() -> int:
    """The cores this process may use: Spark's local mode runs one partition per core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def score_file_with_spark(
    settings: Settings,
    request: ScoringRequest,
    *,
    partitions: int | None = None,
    chunk_bytes: int | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> ScoreOutcome:
    """Score every row of a sourcing list with Spark in local mode (``partitions`` cores and
    partitions; :func:`default_partitions` by default) and write the result as
    :func:`~riskengine.app.scoring.score_file` writes it: the same rows, columns and bytes.

    The first pass over the file (duplicates, supplier countries, how shares read, the
    sourcing mix) runs on the driver and is broadcast to the partitions; the registered
    version's files are checked as ``score`` checks them before Spark's workers load them as
    a pyfunc. The rows are scored with the reference snapshot the model carries; a note says
    so when the reference directory holds other data.

    Raises
    ------
    UserInputError
        When pyspark is missing, ``--mapping`` or ``--supplier-sites`` is given (the pyfunc
        takes neither), or the registered version takes no first pass (retrain).
    """
    from riskengine.models.tracking import download_verified_version
    from riskengine.serving import spark as spark_scoring
    from riskengine.serving.pyfunc import DESCRIPTION_FILE, SCORER_DIRECTORY, read_description

    spark_scoring.require_pyspark()
    if request.input.mapping_path is not None or request.input.supplier_sites is not None:
        raise UserInputError(
            "--engine spark scores through the registered model, which applies no --mapping "
            "or --supplier-sites; score without them, or with the default engine"
        )
    stage = on_stage or (lambda name: None)
    cores = partitions or default_partitions()
    as_of = request.as_of
    date_notes = check_as_of(as_of)
    stage(f"reading {request.input.path} (first pass)")
    table = request.input.read_options.chunks(
        request.input.path, chunk_bytes or chunk_bytes_setting()
    )
    first_pass, _ = prepare_chunks(
        table,
        source=request.input.label,
        buyer_country=request.buyer_country,
        buyer_name=request.buyer_name,
        as_of=as_of,
    )
    chunks = list(table)
    rows = pl.concat(chunks) if chunks else pl.DataFrame()
    del chunks
    with spark_scoring.temporary_work_directory() as directory:
        stage(f"checking model {request.model_alias}")
        version, model_directory = download_verified_version(
            settings, request.model_alias, directory
        )
        description = read_description(model_directory / SCORER_DIRECTORY / DESCRIPTION_FILE)
        reference_fingerprint = str(description["reference_fingerprint"])
        stage(f"scoring {first_pass.rows:,} rows as of {as_of} in {cores} Spark partitions")
        session = spark_scoring.local_session(cores, work_directory=directory)
        try:
            output = spark_scoring.score_with_spark(
                session, rows, first_pass, model_directory, partitions=cores
            )
        finally:
            session.stop()
    reference_notes: tuple[str, ...] = ()
    installed = load_reference(settings.reference_dir).fingerprint
    if installed != reference_fingerprint:
        reference_notes = (
            f"scored with the reference snapshot model version {version} carries "
            f"({reference_fingerprint}), not the reference directory's ({installed})",
        )
    stage(f"writing {request.output.path}")
    write_notes: list[str] = []
    style = output_style(table, excel=request.output.excel)
    write_table_chunks(
        [output], request.output.path, request.output.format, style=style, notes=write_notes
    )
    reasons = ReasonCounter()
    reasons.add(output)
    return ScoreOutcome(
        rows=output.height,
        scored=output.filter(pl.col("status") == STATUS_SCORED).height,
        top=top_rows(output.filter(pl.col("status") == STATUS_SCORED)),
        model_version=version,
        reference_fingerprint=reference_fingerprint,
        notes=(*date_notes, *first_pass.notes, *reference_notes, *write_notes),
        reasons=reasons.counts(),
        csv_style=style,
        blocked=output.filter(pl.col("status") == STATUS_BLOCKED).height,
    )
