"""What changed between two runs of ``riskengine score``, pair by pair, and why.

Pairs are matched by the identity the scorer uses for duplicates (:mod:`riskengine.sourcing`):
the material (its catalog id once resolved), the supplier (its id when the row has one, else its
name as the one name normaliser reads it), the supplier and buyer countries, the buyer, the
plant and the part number. A pair whose band changed, whose score moved by more than the
threshold, or that was scored in one run and rejected in the other is listed with the causes
found for it (:mod:`riskengine.impact.diff_causes`); pairs only in one run are listed as added
or removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from riskengine.errors import UserInputError
from riskengine.impact.diff_causes import (
    KIND_INPUT,
    KIND_PAIR,
    NO_CAUSE_KIND,
    CauseContext,
    find_causes,
)
from riskengine.io.cells import parse_date, parse_decimal
from riskengine.io.columns import require_columns, resolve_columns
from riskengine.mapping import PART_NUMBER_ALIASES, part_number_key
from riskengine.names import canonical_names
from riskengine.reference.loader import ReferenceData
from riskengine.schemas import SCORE_OUTPUT_COLUMNS, SCORES_FILE_COLUMNS, STATUS_SCORED

# The scorer's own rule for supplier ids (SAP's leading zeros, the name normaliser), so that
# pairs are matched exactly as `score` finds duplicates.
from riskengine.sourcing.resolution import supplier_key

#: A score must move by more than this (in probability) to be listed when its band stays.
DEFAULT_THRESHOLD = 0.05
#: ``reference_fingerprint`` and ``mapping_sha256`` are optional in a scores file (older
#: outputs lack the first, the second is there only with ``--mapping``).
MAPPING_COLUMN = "mapping_sha256"
CAUSE_SEPARATOR = " | "
CHANGE_CHANGED = "changed"
CHANGE_ADDED = "added"
CHANGE_REMOVED = "removed"

DIFF_COLUMNS = (
    "change",
    "material",
    "supplier",
    "material_id",
    "supplier_country_iso3",
    "buyer_country_iso3",
    "old_as_of",
    "new_as_of",
    "old_risk_score",
    "new_risk_score",
    "delta",
    "old_risk_band",
    "new_risk_band",
    "old_status",
    "new_status",
    "causes",
    "cause_kinds",
    "cause_ids",
    "sources",
    "changed_features",
)
_KEY = (
    "key_material",
    "key_supplier",
    "key_supplier_country",
    "key_buyer_country",
    "key_buyer",
    "key_plant",
    "key_part_number",
    "key_occurrence",
)


@dataclass(frozen=True)
class ScoreRun:
    """One scores file, read and checked: its rows keyed, its run-wide provenance."""

    label: str
    rows: pl.DataFrame
    """Per row: the key columns, the canonical input texts, score, band, status and reason."""
    inputs: pl.DataFrame
    """The input columns as written, one row per row of :attr:`rows` (same order)."""
    as_of: date
    model_version: str
    reference_fingerprint: str | None
    mapping_sha256: str | None


@dataclass(frozen=True)
class ScoreDiff:
    """The pairs that changed, and counts for the summary."""

    changes: pl.DataFrame
    """One row per changed, added or removed pair (:data:`DIFF_COLUMNS`)."""
    compared: int
    """Pairs present in both runs."""
    band_changes: int
    score_moves: int
    status_changes: int
    added: int
    removed: int
    cause_counts: tuple[tuple[str, int], ...]
    """Each kind of cause and the number of changed pairs it explains, most frequent first."""
    notes: tuple[str, ...] = ()


def _single(frame: pl.DataFrame, column: str, label: str) -> str | None:
    values = frame[column].drop_nulls().unique().sort().to_list()
    if len(values) > 1:
        raise UserInputError(
            f"{label}: column {column!r} holds {len(values)} values "
            f"({', '.join(map(str, values))}); a diff compares two runs of riskengine score, "
            "each with one"
        )
    return str(values[0]) if values else None


def _first_error(errors: pl.Series) -> str | None:
    """The first message of ``errors`` with its data row (1-based, after the header)."""
    found = errors.to_frame("error").with_row_index("row").drop_nulls("error").head(1)
    if found.height == 0:
        return None
    row, error = found.row(0)
    return f"{error} (data row {row + 1})"


def read_score_run(frame: pl.DataFrame, *, label: str) -> ScoreRun:
    """Check a scores file's columns and values and key its rows.

    Raises
    ------
    UserInputError
        A missing column, an unreadable score or date (naming file, row and column), or
        several as-of dates or model versions in one file.
    """
    require_columns(frame.columns, SCORES_FILE_COLUMNS, source=label)
    text = frame.select(pl.all().cast(pl.String).str.strip_chars().replace("", None))
    scores, score_errors = parse_decimal(text["risk_score"], column="risk_score", source=label)
    as_of_values, date_errors = parse_date(text["as_of"], column="as_of", source=label)
    for errors in (score_errors, date_errors):
        problem = _first_error(errors)
        if problem:
            raise UserInputError(problem)
    out_of_range = scores.to_frame("score").with_row_index("row")
    out_of_range = out_of_range.filter((pl.col("score") < 0) | (pl.col("score") > 1)).head(1)
    if out_of_range.height:
        row, value = out_of_range.row(0)
        raise UserInputError(
            f"{label}: column 'risk_score': {value} is not a probability in [0, 1] "
            f"(data row {row + 1})"
        )
    as_of_text = _single(pl.DataFrame({"as_of": as_of_values}), "as_of", label)
    model_version = _single(text, "model_version", label)
    if as_of_text is None or model_version is None:
        raise UserInputError(f"{label}: no row gives its as_of date and model_version")
    fingerprint = (
        _single(text, "reference_fingerprint", label)
        if "reference_fingerprint" in text.columns
        else None
    )
    mapping = _single(text, MAPPING_COLUMN, label) if MAPPING_COLUMN in text.columns else None
    input_columns = [
        name for name in frame.columns if name not in (*SCORE_OUTPUT_COLUMNS, MAPPING_COLUMN)
    ]
    columns, part_header = _read_columns(input_columns, label)
    rows = _keyed(text, columns, part_header).with_columns(
        scores.alias("risk_score"),
        pl.Series("row_number", range(1, frame.height + 1), dtype=pl.UInt32),
    )
    # Only the cells the scorer reads can change a score: a volume column is left out.
    read = {*columns.values(), part_header}
    return ScoreRun(
        label=label,
        rows=rows,
        inputs=text.select(name for name in input_columns if name in read),
        as_of=date.fromisoformat(as_of_text),
        model_version=model_version,
        reference_fingerprint=fingerprint,
        mapping_sha256=mapping,
    )


def _read_columns(input_columns: list[str], label: str) -> tuple[dict[str, str], str | None]:
    """The input's headers by canonical name, as ``score`` read them, and the part number's
    header (None when there is none, or when it stood in for the material text)."""
    columns = resolve_columns(input_columns, source=label)
    parts = resolve_columns(
        input_columns,
        source=label,
        aliases={"part_number": PART_NUMBER_ALIASES},
        required=(),
        fallbacks={},
    )
    part_header = parts.get("part_number")
    return columns, part_header if part_header != columns.get("material") else None


def _keyed(text: pl.DataFrame, columns: dict[str, str], part_header: str | None) -> pl.DataFrame:
    """The rows with their pair key (see the module docstring) and canonical input texts."""

    def column(name: str) -> pl.Expr:
        header = columns.get(name)
        return pl.col(header) if header else pl.lit(None, dtype=pl.String)

    part_number = (
        pl.col(part_header).map_elements(part_number_key, return_dtype=pl.String)
        if part_header
        else pl.lit(None, dtype=pl.String)
    )
    keyed = text.with_columns(
        column("material").alias("material"),
        column("supplier").alias("supplier"),
        column("supplier_id").alias("supplier_id"),
        # A scores file records the buyer each row was screened as, --buyer included.
        pl.coalesce(
            column("buyer"),
            pl.col("screened_buyer") if "screened_buyer" in text.columns else pl.lit(None),
        ).alias("buyer"),
        column("share").alias("share"),
        column("supplier_country").alias("supplier_country"),
        column("buyer_country").alias("buyer_country"),
        column("plant").alias("plant"),
    ).with_columns(
        supplier_key(),
        pl.col("supplier").map_batches(canonical_names, return_dtype=pl.String).alias("canonical"),
        pl.col("buyer")
        .map_batches(canonical_names, return_dtype=pl.String)
        .alias("buyer_canonical"),
    )
    keyed = keyed.select(
        pl.coalesce("material_id", pl.col("material").str.to_lowercase()).alias("key_material"),
        pl.coalesce("supplier_key", "canonical").alias("key_supplier"),
        pl.coalesce("supplier_country_iso3", "supplier_country").alias("key_supplier_country"),
        pl.coalesce("buyer_country_iso3", "buyer_country").alias("key_buyer_country"),
        pl.col("buyer_canonical").alias("key_buyer"),
        pl.col("plant").alias("key_plant"),
        part_number.alias("key_part_number"),
        "material",
        "supplier",
        "buyer",
        "material_id",
        "supplier_country_iso3",
        "buyer_country_iso3",
        "risk_band",
        "status",
        pl.col("reason") if "reason" in text.columns else pl.lit(None, dtype=pl.String),
    )
    # Rows that repeat a key (duplicates the scorer rejected) are matched in file order.
    return keyed.with_columns(
        pl.int_range(pl.len(), dtype=pl.UInt32).over(list(_KEY[:-1])).alias("key_occurrence")
    )


def _matched(old: ScoreRun, new: ScoreRun) -> pl.DataFrame:
    """Every pair of either run: both sides' columns (``old_``/``new_`` prefixes) and
    ``change`` null for pairs in both runs, else added or removed."""
    keep = [name for name in old.rows.columns if name not in _KEY]
    sides = []
    for prefix, run in (("old_", old), ("new_", new)):
        inputs = (
            run.inputs.select(pl.struct(pl.all()).alias("inputs")) if run.inputs.width else None
        )
        frame = run.rows if inputs is None else pl.concat([run.rows, inputs], how="horizontal")
        sides.append(
            frame.rename({name: prefix + name for name in [*keep, "inputs"] if name in frame})
        )
    joined = sides[0].join(sides[1], on=list(_KEY), how="full", coalesce=True, nulls_equal=True)
    return joined.with_columns(
        pl.when(pl.col("old_row_number").is_null())
        .then(pl.lit(CHANGE_ADDED))
        .when(pl.col("new_row_number").is_null())
        .then(pl.lit(CHANGE_REMOVED))
        .alias("change")
    ).sort(pl.col("new_row_number").is_null(), "new_row_number", "old_row_number", nulls_last=True)


def diff_scores(
    old: ScoreRun,
    new: ScoreRun,
    *,
    old_reference: ReferenceData,
    new_reference: ReferenceData,
    threshold: float = DEFAULT_THRESHOLD,
    buyer_name: str | None = None,
) -> ScoreDiff:
    """The pairs whose band changed or whose score moved by more than ``threshold``, the
    pairs scored in one run and rejected in the other, and the pairs of one run only, each
    with its causes.

    Parameters
    ----------
    old, new
        The two runs (:func:`read_score_run`).
    old_reference, new_reference
        The reference data each run was scored with (the same object when unchanged); facts
        are read from them as known at each run's as-of date.
    threshold
        The smallest score move (exclusive) listed when the band stays.
    buyer_name
        The buyer the runs were scored for, for scores files written before the
        ``screened_buyer`` column and rows without a buyer; screening causes need it.
    """
    if not 0 <= threshold <= 1:
        raise UserInputError(f"--threshold {threshold} is not in [0, 1]")
    matched = _matched(old, new)
    both = matched.filter(pl.col("change").is_null())
    scored_both = (pl.col("old_status") == STATUS_SCORED) & (pl.col("new_status") == STATUS_SCORED)
    delta = pl.col("new_risk_score") - pl.col("old_risk_score")
    flagged = both.with_columns(
        delta.alias("delta"),
        (scored_both & (pl.col("old_risk_band") != pl.col("new_risk_band"))).alias("band_moved"),
        (scored_both & (delta.abs() > threshold)).alias("score_moved"),
        (pl.col("old_status") != pl.col("new_status")).alias("status_moved"),
    )
    changed = flagged.filter(pl.col("band_moved") | pl.col("score_moved") | pl.col("status_moved"))
    one_sided = matched.filter(pl.col("change").is_not_null())
    listed = pl.concat(
        [
            changed.with_columns(pl.lit(CHANGE_CHANGED).alias("change")).drop(
                "band_moved", "score_moved", "status_moved"
            ),
            one_sided.with_columns(pl.lit(None, dtype=pl.Float64).alias("delta")),
        ],
        how="diagonal_relaxed",
    ).sort(pl.col("new_row_number").is_null(), "new_row_number", "old_row_number")
    context = CauseContext(
        old_as_of=old.as_of,
        new_as_of=new.as_of,
        old_reference=old_reference,
        new_reference=new_reference,
        old_model=old.model_version,
        new_model=new.model_version,
        old_fingerprint=old.reference_fingerprint,
        new_fingerprint=new.reference_fingerprint,
        old_mapping=old.mapping_sha256,
        new_mapping=new.mapping_sha256,
        buyer_name=buyer_name,
        old_label=old.label,
        new_label=new.label,
    )
    causes = find_causes(listed, context)
    changes = _output(listed, causes, old, new)
    kinds = (
        changes.filter(pl.col("change") == CHANGE_CHANGED)["cause_kinds"]
        .str.split(CAUSE_SEPARATOR)
        .explode()
        .drop_nulls()
        .value_counts(sort=True)
        .sort(["count", "cause_kinds"], descending=[True, False])
    )
    return ScoreDiff(
        changes=changes,
        compared=both.height,
        band_changes=flagged.filter(pl.col("band_moved")).height,
        score_moves=flagged.filter(pl.col("score_moved")).height,
        status_changes=flagged.filter(pl.col("status_moved")).height,
        added=matched.filter(pl.col("change") == CHANGE_ADDED).height,
        removed=matched.filter(pl.col("change") == CHANGE_REMOVED).height,
        cause_counts=tuple((kind, count) for kind, count in kinds.iter_rows()),
        notes=_notes(old, new, old_reference, new_reference),
    )


def _output(
    listed: pl.DataFrame, causes: pl.DataFrame, old: ScoreRun, new: ScoreRun
) -> pl.DataFrame:
    """The diff's rows in :data:`DIFF_COLUMNS`: a pair's texts from the new run when it has
    them, else the old one's."""

    def either(name: str) -> pl.Expr:
        return pl.coalesce(f"new_{name}", f"old_{name}").alias(name)

    def joined(column: str) -> pl.Expr:
        return pl.col(column).list.join(CAUSE_SEPARATOR).replace("", None)

    return pl.concat([listed, causes], how="horizontal").select(
        "change",
        either("material"),
        either("supplier"),
        either("material_id"),
        either("supplier_country_iso3"),
        either("buyer_country_iso3"),
        pl.lit(old.as_of.isoformat()).alias("old_as_of"),
        pl.lit(new.as_of.isoformat()).alias("new_as_of"),
        pl.col("old_risk_score"),
        pl.col("new_risk_score"),
        pl.col("delta"),
        pl.col("old_risk_band"),
        pl.col("new_risk_band"),
        pl.col("old_status"),
        pl.col("new_status"),
        joined("cause_texts").alias("causes"),
        joined("cause_kinds").alias("cause_kinds"),
        joined("cause_ids").alias("cause_ids"),
        joined("cause_sources").alias("sources"),
        pl.col("changed_features").list.join(", ").replace("", None),
    )


def _notes(
    old: ScoreRun, new: ScoreRun, old_reference: ReferenceData, new_reference: ReferenceData
) -> tuple[str, ...]:
    """What the user should know about the facts the causes were read from."""
    notes = []
    for run, reference, option in (
        (old, old_reference, "--old-reference-dir"),
        (new, new_reference, "--reference-dir"),
    ):
        if run.reference_fingerprint is None:
            notes.append(
                f"{run.label} has no reference_fingerprint column (scored before it was "
                "written): reference data changes cannot be told for it"
            )
        elif run.reference_fingerprint != reference.fingerprint:
            notes.append(
                f"{run.label} was scored with reference data {run.reference_fingerprint}, not "
                f"the {reference.fingerprint} read here: give that directory with {option} "
                "for complete causes"
            )
    return tuple(notes)


__all__ = [
    "CAUSE_SEPARATOR",
    "CHANGE_ADDED",
    "CHANGE_CHANGED",
    "CHANGE_REMOVED",
    "DEFAULT_THRESHOLD",
    "DIFF_COLUMNS",
    "KIND_INPUT",
    "KIND_PAIR",
    "NO_CAUSE_KIND",
    "ScoreDiff",
    "ScoreRun",
    "diff_scores",
    "read_score_run",
]
