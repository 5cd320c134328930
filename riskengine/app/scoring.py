"""Scoring jobs: ``riskengine score`` and ``riskengine features``.

Each reads a user's file, calls the domain (:mod:`riskengine.sourcing`,
:mod:`riskengine.prediction`) and writes the result; nothing is written on error. Heavy modules
(scikit-learn, MLflow) are imported inside the functions that need them, so that the CLI starts
quickly.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from riskengine.app.requests import InputFile, ScoringRequest
from riskengine.config import Settings
from riskengine.io import EXCEL_CSV, ChunkedTable, CsvStyle, write_table_chunks
from riskengine.mapping import MaterialMapping
from riskengine.reference.loader import load_reference
from riskengine.schemas import (
    FORMULA_FREE_SCORE_COLUMNS,
    STATUS_BLOCKED,
    STATUS_SCORED,
    row_status,
)
from riskengine.scoring import check_as_of, score_prepared, with_mapping_fingerprint
from riskengine.sourcing import InputContext, PreparedPairs, prepare_chunks
from riskengine.sourcing.sites import SupplierSites

if TYPE_CHECKING:
    from riskengine.models.tracking import RegisteredModel

TOP_ROWS_KEPT = 10


@dataclass(frozen=True)
class ScoreOutcome:
    """What a scoring run produced, for the summary on stderr."""

    rows: int
    scored: int
    top: pl.DataFrame
    """The riskiest scored rows (at most :data:`TOP_ROWS_KEPT`), riskiest first."""
    model_version: str
    reference_fingerprint: str
    notes: tuple[str, ...] = ()
    mapping_sha256: str | None = None
    """Fingerprint of the mapping file applied, if any (also in the output's column)."""
    reasons: tuple[tuple[str, int], ...] = ()
    """Why rows were rejected: each kind of reason (:func:`reason_kind`) and its count, most
    frequent first."""
    csv_style: CsvStyle | None = None
    """How a CSV of this output is written (:func:`output_style`), so that the output can be
    written again as CSV, as ``score`` would have written it, from another format."""
    blocked: int = 0
    """Rows of blocked or debarred sources: kept, not scored, and not counted as rejected."""

    @property
    def rejected(self) -> int:
        return self.rows - self.scored - self.blocked


def reason_kind(reason: str) -> str:
    """A rejection reason without the values it quotes, so reasons of one kind count together:
    "unknown material 'Dy-Oxid'; closest known: ..." is "unknown material '…'"."""
    first = reason.split("; ", 1)[0]
    return re.sub(r"\d+", "N", re.sub(r"'[^']*'", "'…'", first)).strip()


class ReasonCounter:
    """Counts the kinds of reason of the rejected rows of an output, chunk by chunk."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def add(self, output: pl.DataFrame) -> None:
        """Count the reasons of ``output``'s rows that are not scored."""
        rejected = output.filter(pl.col("status") != STATUS_SCORED)["reason"]
        self._counts.update(reason_kind(reason or "no reason given") for reason in rejected)

    def counts(self) -> tuple[tuple[str, int], ...]:
        """Each kind and its count, most frequent first (ties by kind)."""
        return tuple(sorted(self._counts.items(), key=lambda item: (-item[1], item[0])))


#: How many kinds of reason the summary of a run that scored nothing names.
REASON_KINDS_SHOWN = 10


def nothing_scored_summary(rows: int, reasons: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    """Lines summing up why a run of ``rows`` rows scored none: each kind of reason with its
    count (at most :data:`REASON_KINDS_SHOWN`); nothing when the input had no rows."""
    if rows == 0:
        return ()
    shown = [f"  {count} x {kind}" for kind, count in reasons[:REASON_KINDS_SHOWN]]
    more = reasons[REASON_KINDS_SHOWN:]
    if more:
        shown.append(f"  {sum(count for _, count in more)} x {len(more)} other kinds of reason")
    return (f"no row of {rows} was scored; the reasons, counted:", *shown)


def prepare_input(
    request: ScoringRequest,
    chunk_bytes: int | None = None,
    mapping: MaterialMapping | None = None,
    table: ChunkedTable | None = None,
    first_resolved: Callable[[pl.DataFrame], object] | None = None,
) -> tuple[InputContext, Iterator[PreparedPairs], ChunkedTable]:
    """The one input path of ``score``, ``features`` and ``score-bom``: the file read as chunks
    (``chunk_bytes`` of input, :data:`riskengine.io.DEFAULT_CHUNK_BYTES` by default) and
    prepared chunk by chunk after a first pass gathers the :class:`InputContext`; the team's
    ``mapping`` is applied before the catalog resolves material texts, and the input's
    supplier-site export (:func:`load_supplier_sites`) gives the countries rows lack. The
    table read knows its delimiter and encoding once the first pass has read it
    (:func:`output_style`). A ``table`` the caller has started reading
    (:meth:`InputFile.start_reading`) is read on instead of opening the input again; it may
    not come with a ``chunk_bytes`` of its own. ``first_resolved`` hears the first chunk once
    resolved (:func:`~riskengine.sourcing.prepare_chunks`)."""
    sites = load_supplier_sites(request.input.supplier_sites)
    if table is None:
        table = request.input.chunks(chunk_bytes)
    elif table.path != request.input.path or chunk_bytes is not None:
        raise ValueError(
            f"the table read is {table.path!r} in its own chunks; the input is "
            f"{request.input.path!r} (give a table or a chunk size, not both)"
        )
    context, chunks = prepare_chunks(
        table,
        source=request.input.label,
        buyer_country=request.buyer_country,
        buyer_name=request.buyer_name,
        as_of=request.as_of,
        mapping=mapping,
        sites=sites,
        first_resolved=first_resolved,
    )
    return context, chunks, table


def load_supplier_sites(sites: InputFile | None) -> SupplierSites | None:
    """The ``--supplier-sites`` export (any format the readers accept) as a lookup, or None.

    Raises
    ------
    UserInputError
        When the file cannot be read, or lacks the supplier, supplier-site or country column
        (naming each).
    """
    if sites is None:
        return None
    return SupplierSites.from_table(sites.read_options.read(sites.path), source=sites.label)


def output_style(table: ChunkedTable, *, excel: bool) -> CsvStyle | None:
    """How a CSV output is written: for Excel in any locale (``--excel``, see
    :data:`riskengine.io.EXCEL_CSV`), else in the input's own delimiter and encoding, so a
    ``;``-separated cp1252 export gives a ``;``-separated cp1252 result; None (plain UTF-8
    with commas) for other inputs."""
    if excel:
        return EXCEL_CSV
    return CsvStyle.mirroring(table.read_delimiter, table.read_encoding)


def load_mapping_option(mapping_path: str | None) -> MaterialMapping | None:
    """The ``--mapping`` file, validated, or None."""
    if mapping_path is None:
        return None
    from riskengine.app.mapping import load_mapping

    return load_mapping(mapping_path)


def score_file(
    settings: Settings,
    request: ScoringRequest,
    *,
    chunk_bytes: int | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    table: ChunkedTable | None = None,
) -> ScoreOutcome:
    """Score every row of a sourcing list and write the result (nothing is written on error).

    A large CSV is read, scored and written one chunk at a time (``chunk_bytes`` of input,
    :data:`riskengine.io.DEFAULT_CHUNK_BYTES` by default), after a first pass that gathers
    what rows depend on across the whole file (duplicates, supplier countries, how shares
    read); the output is the same for any chunk size. ``on_stage`` hears the name of each
    stage as it starts and ``on_progress`` the rows scored so far and the total. A
    ``mapping_path`` (the team's reviewed ``riskengine map`` file) is applied before the
    catalog, and its SHA-256 is written in a ``mapping_sha256`` column. A CSV output is
    written as :func:`output_style` says (``excel`` for Excel in any locale). A ``table``
    already being read (:meth:`InputFile.start_reading`) is read on, and closed if the job
    stops before it takes the first chunk.
    """
    stage = on_stage or (lambda name: None)
    progress = on_progress or (lambda done, total: None)
    as_of = request.as_of
    # A table read ahead is let go if the job stops before taking its first chunk.
    with closing(table) if table is not None else nullcontext():
        date_notes = check_as_of(as_of)
        mapping = load_mapping_option(request.input.mapping_path)
        # Loaded on a thread of its own while the input's first pass runs, which spends most
        # of its time in polars, outside the interpreter lock. A loading error is raised only
        # after the input's own errors, as before; an input error or an interrupt does not
        # wait for the loading (from a remote MLflow store it may take a while) to end.
        loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskengine-load")
        try:
            reference_loaded = loader.submit(load_reference, settings.reference_dir)
            model_loaded = loader.submit(_load_scoring_model, settings, request.model_alias)
            stage(f"reading {request.input.path}")
            # Screening's name keys are pure Python: the first chunk's are worked out on the
            # loading thread, after the loading, while the rest of the first pass runs in
            # polars. Only the two name columns are held meanwhile, not the chunk.
            context, prepared_chunks, table = prepare_input(
                request,
                chunk_bytes,
                mapping,
                table,
                first_resolved=lambda chunk: loader.submit(
                    _warm_screening, chunk.select("supplier", "buyer")
                ),
            )
            stage("loading reference data and the model")
            reference = reference_loaded.result()
            model = model_loaded.result()
        finally:
            loader.shutdown(wait=False, cancel_futures=True)
    stage(f"scoring {context.rows:,} rows as of {as_of}")
    scored = 0
    blocked = 0
    done = 0
    riskiest: pl.DataFrame | None = None
    reasons = ReasonCounter()

    def scored_chunks() -> Iterator[pl.DataFrame]:
        nonlocal scored, blocked, done, riskiest
        progress(0, context.rows)
        for output in score_prepared(
            prepared_chunks, reference, model, as_of=as_of, mapping=mapping
        ):
            # Counted and ranked on the status and score columns: a filtered copy of every
            # column of a million-row chunk cost more than the counting.
            is_scored = pl.col("status") == STATUS_SCORED
            scored_now, blocked_now = output.select(
                is_scored.sum().alias("scored"),
                (pl.col("status") == STATUS_BLOCKED).sum().alias("blocked"),
            ).row(0)
            scored += scored_now
            blocked += blocked_now
            reasons.add(output)
            earlier = [] if riskiest is None else [riskiest]
            riskiest = top_rows(pl.concat([*earlier, top_rows(output, among=is_scored)]))
            done += output.height
            progress(done, context.rows)
            yield output
            # Written on a thread while the next chunk is scored: not held here meanwhile.
            del output

    write_notes: list[str] = []
    style = output_style(table, excel=request.output.excel)
    write_table_chunks(
        scored_chunks(),
        request.output.path,
        request.output.format,
        style=style,
        notes=write_notes,
        formula_free=FORMULA_FREE_SCORE_COLUMNS,
    )
    return ScoreOutcome(
        rows=context.rows,
        scored=scored,
        top=riskiest if riskiest is not None else pl.DataFrame(),
        model_version=model.version,
        reference_fingerprint=reference.fingerprint,
        notes=(*date_notes, *context.notes, *write_notes),
        mapping_sha256=mapping.sha256 if mapping else None,
        reasons=reasons.counts(),
        csv_style=style,
        blocked=blocked,
    )


def _warm_screening(names: pl.DataFrame) -> None:
    """Work out ahead the screening keys of the supplier and buyer names of a resolved chunk
    (:func:`~riskengine.names.matching.warm_query_keys`); scores do not depend on it, and a
    failure here is left for the scoring itself to meet and report."""
    from riskengine.names.matching import warm_query_keys

    warm_query_keys(names["supplier"].unique(maintain_order=True))
    warm_query_keys(names["buyer"].unique(maintain_order=True))


def _load_scoring_model(settings: Settings, alias: str) -> RegisteredModel:
    """The registered model, with the modules scoring it needs imported."""
    from riskengine.models.loading import load_model
    from riskengine.prediction import score_pairs  # noqa: F401  (imported ahead of use)

    return load_model(settings, alias)


def top_rows(frame: pl.DataFrame, among: pl.Expr | None = None) -> pl.DataFrame:
    """The riskiest rows of ``frame`` (at most :data:`TOP_ROWS_KEPT`), riskiest first; only
    those for which ``among`` holds, when given."""
    # The highest scores and, among equal scores, the earliest rows (input order, whatever
    # the chunk size): chosen on the scores and places alone, so that no other column of a
    # million-row chunk is copied, and a selection rather than a sort of every row.
    ranked = (
        frame.select(
            pl.int_range(pl.len(), dtype=pl.get_index_type()).alias("position"),
            pl.col("risk_score"),
            (among if among is not None else pl.lit(True)).alias("kept"),
        )
        .filter(pl.col("kept"))
        .top_k(TOP_ROWS_KEPT, by=["risk_score", "position"], reverse=[False, True])
        .sort(["risk_score", "position"], descending=[True, False], nulls_last=True)
    )
    top = frame[ranked["position"]]
    # A copy of the few rows: a slice would keep the whole chunk's buffers alive.
    return pl.DataFrame(top.rows(), schema=top.schema, orient="row")


#: How many stages :func:`features_file` announces (the progress bar).
FEATURES_STAGES = 3


def features_file(
    settings: Settings,
    request: ScoringRequest,
    *,
    chunk_bytes: int | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    """Write one row per input row: the input columns, status and reason, then every feature.

    Reads, builds and writes chunk by chunk as :func:`score_file` does (same input path, same
    memory behaviour; the output does not depend on the chunk size). Returns the number of rows
    written, the notes to show the user (a future as-of date, percentage shares) and, when no
    row is usable, the summary of the reasons (:func:`nothing_scored_summary`). A
    ``mapping_path`` is applied and fingerprinted, and a CSV written, as in
    :func:`score_file`.
    """
    from riskengine.features.builders import registry
    from riskengine.features.registry import PAIR_KEY
    from riskengine.features.runner import FeatureCache
    from riskengine.prediction import feature_table

    stage = on_stage or (lambda name: None)
    as_of = request.as_of
    date_notes = check_as_of(as_of)
    mapping = load_mapping_option(request.input.mapping_path)
    stage(f"reading {request.input.path}")
    context, prepared_chunks, table = prepare_input(request, chunk_bytes, mapping)
    reference = load_reference(settings.reference_dir)
    stage(f"building features for {context.rows:,} rows as of {as_of}")
    feature_columns = [spec.name for spec in registry()]
    reasons = ReasonCounter()
    scored = 0

    def feature_chunks() -> Iterator[pl.DataFrame]:
        nonlocal scored
        for output in _feature_chunks():
            reasons.add(output)
            scored += output.filter(pl.col("status") == STATUS_SCORED).height
            yield output

    def _feature_chunks() -> Iterator[pl.DataFrame]:
        built = FeatureCache()  # the chunks share the features of the keys they repeat
        for prepared in prepared_chunks:
            clashing = [
                name
                for name in [*feature_columns, "status", "reason", "as_of"]
                if name in prepared.raw.columns
            ]
            if clashing:
                from riskengine.errors import UserInputError

                raise UserInputError(
                    f"input already has column(s) {', '.join(clashing)}; rename them"
                )
            features = feature_table(prepared, reference, as_of=as_of, cache=built)
            joined = prepared.resolved.select(PAIR_KEY, "reason").join(
                features.select(PAIR_KEY, *feature_columns),
                on=PAIR_KEY,
                how="left",
                maintain_order="left",
            )
            yield with_mapping_fingerprint(
                pl.concat(
                    [
                        prepared.raw,
                        joined.select(
                            row_status(),
                            "reason",
                            pl.lit(as_of.isoformat()).alias("as_of"),
                            *feature_columns,
                        ),
                    ],
                    how="horizontal",
                ),
                mapping,
            )

    stage(f"writing {request.output.path}")
    write_notes: list[str] = []
    rows = write_table_chunks(
        feature_chunks(),
        request.output.path,
        request.output.format,
        style=output_style(table, excel=request.output.excel),
        notes=write_notes,
    )
    summary = nothing_scored_summary(rows, reasons.counts()) if scored == 0 else ()
    return rows, (*date_notes, *context.notes, *write_notes), summary
