"""Load, validate and fingerprint the reference data (the shipped set or a user's directory).

Every table is read with all columns as text first, so that a cell that does not parse can
be reported with its file, line and column instead of silently becoming null; the typed table
is then validated against its contract (:mod:`riskengine.reference.contracts`), and each
failure is reported with its file, line and column (or, for a rule over whole rows, the row's
key). The contracts' warning rules are applied only on request (:func:`reference_warnings`).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from riskengine.errors import ReferenceDataError
from riskengine.io.columns import require_columns
from riskengine.reference.contracts import (
    TABLE_SCHEMAS,
    WARNING_SCHEMAS,
    column_types,
    file_name,
    summary_date_columns,
    table_key,
)
from riskengine.schemas import ContractFailure, contract_failures, describe_failure

MAX_REPORTED_PROBLEMS = 12


@dataclass(frozen=True)
class ReferenceData:
    """The validated reference tables and a fingerprint of the files they came from."""

    directory: str
    production: pl.DataFrame
    policy_events: pl.DataFrame
    listed_entities: pl.DataFrame
    governance: pl.DataFrame
    importer_breakdowns: pl.DataFrame
    fingerprint: str

    def table(self, name: str) -> pl.DataFrame:
        """Return one table by its name in :data:`~riskengine.reference.contracts.TABLE_SCHEMAS`."""
        return getattr(self, name)


@dataclass(frozen=True)
class TableSummary:
    """One line of ``riskengine reference check``."""

    name: str
    file_name: str
    rows: int
    first_date: date | None
    last_date: date | None
    sha256: str


@dataclass(frozen=True)
class ReferenceWarning:
    """One warning rule of ``riskengine reference check`` and the rows that break it."""

    table: str
    file_name: str
    rule: str
    keys: tuple[str, ...]


# pandera's name for a schema-level ``unique`` failure.
_DUPLICATE_KEY_CHECK = "multiple_fields_uniqueness"


def shipped_reference_dir() -> Path:
    """The directory of the reference data shipped inside the package."""
    return Path(str(resources.files("riskengine.reference") / "data"))


def _read_table(path: Path, schema: pa.DataFrameSchema) -> pl.DataFrame:
    if not path.is_file():
        raise ReferenceDataError(f"{path}: reference table is missing")
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.ComputeError, UnicodeDecodeError) as error:
        raise ReferenceDataError(f"{path}: cannot be read as UTF-8 CSV: {error}") from error
    types = column_types(schema)
    require_columns(raw.columns, types, source=str(path))
    # A cell that is blank once stripped is missing, like an empty one.
    raw = raw.select(list(types)).with_columns(
        pl.col(column).str.strip_chars().replace("", None) for column in types
    )
    typed = raw.select(_parsed(column, dtype) for column, dtype in types.items())
    lines = _record_lines(path)
    problems: list[tuple[int, str]] = []
    unparsed_cells: set[tuple[int, str]] = set()
    for column, dtype in types.items():
        unparsed = raw[column].is_not_null() & typed[column].is_null()
        for row in unparsed.arg_true().to_list():
            unparsed_cells.add((row, column))
            problems.append((row, f"column {column}: cannot read {raw[column][row]!r} as {dtype}"))
    try:
        schema.validate(typed, lazy=True)
    except SchemaErrors as error:
        for failure in contract_failures(error):
            if failure.row is None:
                raise ReferenceDataError(f"{path}: {describe_failure(failure)}") from error
            if (failure.row, str(failure.column)) in unparsed_cells:
                continue  # already reported as unreadable
            # pandera names the table (the schema) as the "column" of a rule over whole rows.
            if failure.column in (None, schema.name):
                problems.append((failure.row, _describe_row_failure(failure, typed, schema)))
                continue
            written = raw[failure.column][failure.row] if failure.column in raw.columns else None
            problems.append((failure.row, describe_failure(failure, written)))
    if problems:
        problems.sort(key=lambda problem: problem[0])
        shown = [f"{path}:{lines[row]}: {text}" for row, text in problems[:MAX_REPORTED_PROBLEMS]]
        more = len(problems) - len(shown)
        suffix = f"\n... and {more} more" if more else ""
        raise ReferenceDataError("invalid reference data:\n" + "\n".join(shown) + suffix)
    return typed


def _describe_row_failure(
    failure: ContractFailure, typed: pl.DataFrame, schema: pa.DataFrameSchema
) -> str:
    """A rule over whole rows, naming the row by its key (the row may be too long to quote)."""
    key = table_key(schema)
    rule = failure.rule
    if rule == _DUPLICATE_KEY_CHECK:
        rule = f"duplicate key: another row has the same {', '.join(key)}"
    assert failure.row is not None
    return f"{row_key(typed, failure.row, key)}: {rule}"


def row_key(frame: pl.DataFrame, row: int, key: tuple[str, ...]) -> str:
    """A row's key as ``column=value`` pairs (the value alone for a one-column key)."""
    values = [frame[column][row] for column in key]
    if len(key) == 1:
        return str(values[0])
    return ", ".join(f"{column}={value}" for column, value in zip(key, values, strict=True))


def _parsed(column: str, dtype: pl.DataType) -> pl.Expr:
    """The text column read as ``dtype``; a cell that does not parse becomes null."""
    if dtype == pl.String():
        return pl.col(column)
    if dtype == pl.Date():
        return pl.col(column).str.to_date("%Y-%m-%d", strict=False)
    return pl.col(column).cast(dtype, strict=False)


def _record_lines(path: Path) -> pl.Series:
    """The file line on which each data record starts (quoted cells may span lines)."""
    starts = []
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        next(reader, None)
        previous_end = reader.line_num
        for _ in reader:
            starts.append(previous_end + 1)
            previous_end = reader.line_num
    return pl.Series("line", starts, dtype=pl.Int64)


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_reference(directory: Path | None = None) -> ReferenceData:
    """Load and validate every reference table.

    Parameters
    ----------
    directory
        A directory holding the reference CSVs; ``None`` means the data shipped in the package.

    Raises
    ------
    ReferenceDataError
        Naming the file, line and column of each problem found (up to a dozen).
    MissingColumnsError
        Naming the file and the columns a table lacks.
    """
    base = Path(directory) if directory is not None else shipped_reference_dir()
    if not base.is_dir():
        raise ReferenceDataError(f"{base}: reference directory does not exist")
    tables = {
        name: _read_table(base / file_name(schema), schema)
        for name, schema in TABLE_SCHEMAS.items()
    }
    digest = hashlib.sha256()
    for name in sorted(TABLE_SCHEMAS):
        digest.update(f"{name}:{_file_sha256(base / file_name(TABLE_SCHEMAS[name]))}\n".encode())
    return ReferenceData(directory=str(base), fingerprint=digest.hexdigest()[:16], **tables)


def summarise_reference(reference: ReferenceData) -> list[TableSummary]:
    """One summary per table: rows, the date range it spans and the file's hash."""
    summaries = []
    for name, schema in TABLE_SCHEMAS.items():
        frame = reference.table(name)
        dates = frame.select(summary_date_columns(schema)).unpivot()["value"].drop_nulls()
        first: date | None = dates.min() if len(dates) else None  # type: ignore[assignment]
        last: date | None = dates.max() if len(dates) else None  # type: ignore[assignment]
        summaries.append(
            TableSummary(
                name=name,
                file_name=file_name(schema),
                rows=frame.height,
                first_date=first,
                last_date=last,
                sha256=_file_sha256(Path(reference.directory) / file_name(schema))[:16],
            )
        )
    return summaries


def reference_warnings(reference: ReferenceData) -> list[ReferenceWarning]:
    """The warning rules each table breaks, with the keys of the rows that break them."""
    warnings = []
    for name, schema in WARNING_SCHEMAS.items():
        frame = reference.table(name)
        try:
            schema.validate(frame, lazy=True)
        except SchemaErrors as error:
            rows_by_rule: dict[str, list[int]] = {}
            for failure in contract_failures(error):
                if failure.row is None:
                    raise  # a table-level failure here is a bug in the warning rules
                rows_by_rule.setdefault(failure.rule, []).append(failure.row)
            key = table_key(schema)
            for rule, rows in rows_by_rule.items():
                keys = tuple(row_key(frame, row, key) for row in sorted(set(rows)))
                warnings.append(ReferenceWarning(name, file_name(schema), rule, keys))
    return warnings
