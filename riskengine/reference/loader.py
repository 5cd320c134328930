"""Load, validate and fingerprint the reference data (the shipped set or a user's directory).

Every table is read with all columns as text first, so that a cell that does not parse can
be reported with its file, line and column instead of silently becoming null.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path

import polars as pl

from riskengine.errors import ReferenceDataError

PSEUDO_COUNTRY_CODES = frozenset({"ROW", "WLD", "XKX"})
RESTRICTIVE_MEASURES = ("export_licensing", "export_tax", "export_quota", "export_ban")
MEASURES = (*RESTRICTIVE_MEASURES, "entity_listing", "import_ban", "other")
EVENT_SCOPES = (
    "flow",
    "military_end_use",
    "listed_entities",
    "technology",
    "relaxation",
    "proposal",
    "statement",
    "non_state",
)
PRODUCTION_STAGES = ("mine", "refining")
MAX_REPORTED_PROBLEMS = 12


@dataclass(frozen=True)
class TableSpec:
    """What one reference table must look like."""

    file_name: str
    columns: dict[str, pl.DataType]
    required: tuple[str, ...]
    country_columns: tuple[str, ...] = ()
    allowed_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date_columns_for_summary: tuple[str, ...] = ()


TABLE_SPECS: dict[str, TableSpec] = {
    "production": TableSpec(
        file_name="production.csv",
        columns={
            "material": pl.String(),
            "stage": pl.String(),
            "country_iso3": pl.String(),
            "year": pl.Int32(),
            "quantity": pl.Float64(),
            "unit": pl.String(),
            "share": pl.Float64(),
            "published": pl.Date(),
            "source": pl.String(),
        },
        required=("material", "stage", "country_iso3", "year", "published", "source"),
        country_columns=("country_iso3",),
        allowed_values={"stage": PRODUCTION_STAGES},
        date_columns_for_summary=("published",),
    ),
    "policy_events": TableSpec(
        file_name="policy_events.csv",
        columns={
            "event_id": pl.String(),
            "country_iso3": pl.String(),
            "measure": pl.String(),
            "materials": pl.String(),
            "target_country_iso3": pl.String(),
            "announced": pl.Date(),
            "effective": pl.Date(),
            "ended": pl.Date(),
            "stages": pl.String(),
            "scope": pl.String(),
            "description": pl.String(),
            "source": pl.String(),
        },
        required=("event_id", "country_iso3", "measure", "materials", "scope", "source"),
        country_columns=("country_iso3", "target_country_iso3"),
        allowed_values={"measure": MEASURES, "scope": EVENT_SCOPES},
        date_columns_for_summary=("announced", "effective", "ended"),
    ),
    "listed_entities": TableSpec(
        file_name="listed_entities.csv",
        columns={
            "list_name": pl.String(),
            "listing_authority_iso3": pl.String(),
            "entity_name": pl.String(),
            "entity_country_iso3": pl.String(),
            "listed_on": pl.Date(),
            "reason": pl.String(),
            "source": pl.String(),
        },
        required=("list_name", "listing_authority_iso3", "entity_name", "listed_on", "source"),
        country_columns=("listing_authority_iso3", "entity_country_iso3"),
        date_columns_for_summary=("listed_on",),
    ),
    "governance": TableSpec(
        file_name="governance_wgi.csv",
        columns={
            "country_iso3": pl.String(),
            "year": pl.Int32(),
            "wgi_score": pl.Float64(),
            "published": pl.Date(),
            "source": pl.String(),
        },
        required=("country_iso3", "year", "wgi_score", "published", "source"),
        country_columns=("country_iso3",),
        date_columns_for_summary=("published",),
    ),
    "importer_breakdowns": TableSpec(
        file_name="importer_breakdowns.csv",
        columns={
            "importer_iso3": pl.String(),
            "material": pl.String(),
            "commodity": pl.String(),
            "period": pl.String(),
            "origin_iso3": pl.String(),
            "quantity": pl.Float64(),
            "unit": pl.String(),
            "share": pl.Float64(),
            "published": pl.Date(),
            "basis": pl.String(),
            "source": pl.String(),
        },
        required=("importer_iso3", "material", "period", "origin_iso3", "published", "source"),
        country_columns=("importer_iso3", "origin_iso3"),
        date_columns_for_summary=("published",),
    ),
}


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
        """Return one table by its name in :data:`TABLE_SPECS`."""
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


def shipped_reference_dir() -> Path:
    """The directory of the reference data shipped inside the package."""
    return Path(str(resources.files("riskengine.reference") / "data"))


def _valid_country_codes() -> frozenset[str]:
    import pycountry

    return frozenset(country.alpha_3 for country in pycountry.countries) | PSEUDO_COUNTRY_CODES


def _read_table(path: Path, spec: TableSpec) -> pl.DataFrame:
    if not path.is_file():
        raise ReferenceDataError(f"{path}: reference table is missing")
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.ComputeError, UnicodeDecodeError) as error:
        raise ReferenceDataError(f"{path}: cannot be read as UTF-8 CSV: {error}") from error
    missing = [column for column in spec.columns if column not in raw.columns]
    if missing:
        raise ReferenceDataError(f"{path}: missing columns {', '.join(missing)}")
    # A cell that is blank once stripped is missing, like an empty one.
    raw = raw.select(list(spec.columns)).with_columns(
        pl.col(column).str.strip_chars().replace("", None) for column in spec.columns
    )
    problems: list[str] = []
    typed_columns = []
    for column, dtype in spec.columns.items():
        if dtype == pl.String():
            typed_columns.append(pl.col(column))
        elif dtype == pl.Date():
            typed_columns.append(pl.col(column).str.to_date("%Y-%m-%d", strict=False))
        else:
            typed_columns.append(pl.col(column).cast(dtype, strict=False))
    typed = raw.select(typed_columns)
    lines = _record_lines(path)
    for column, dtype in spec.columns.items():
        if dtype == pl.String():
            continue
        unparsed = raw[column].is_not_null() & typed[column].is_null()
        for line, value in zip(lines.filter(unparsed), raw[column].filter(unparsed), strict=True):
            problems.append(f"{path}:{line}: column {column}: cannot read {value!r} as {dtype}")
    for column in spec.required:
        for line in lines.filter(raw[column].is_null()):
            problems.append(f"{path}:{line}: column {column}: value is required")
    country_codes = _valid_country_codes()
    for column in spec.country_columns:
        unknown = raw[column].is_not_null() & ~raw[column].is_in(list(country_codes))
        for line, value in zip(lines.filter(unknown), raw[column].filter(unknown), strict=True):
            problems.append(f"{path}:{line}: column {column}: unknown ISO 3166 alpha-3 {value!r}")
    for column, allowed in spec.allowed_values.items():
        bad = raw[column].is_not_null() & ~raw[column].is_in(list(allowed))
        for line, value in zip(lines.filter(bad), raw[column].filter(bad), strict=True):
            problems.append(
                f"{path}:{line}: column {column}: {value!r} is not one of {', '.join(allowed)}"
            )
    problems.extend(_table_rules(path, spec, typed, lines))
    if problems:
        shown = problems[:MAX_REPORTED_PROBLEMS]
        more = len(problems) - len(shown)
        suffix = f"\n... and {more} more" if more else ""
        raise ReferenceDataError("invalid reference data:\n" + "\n".join(shown) + suffix)
    return typed


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


def _table_rules(path: Path, spec: TableSpec, typed: pl.DataFrame, lines: pl.Series) -> list[str]:
    problems: list[str] = []
    if spec.file_name == TABLE_SPECS["policy_events"].file_name:
        ends_early = typed["ended"] < typed["effective"]
        for line in lines.filter(ends_early.fill_null(False)):
            problems.append(f"{path}:{line}: column ended: the measure ends before it takes effect")
        duplicated = typed["event_id"].is_duplicated()
        for line in lines.filter(duplicated):
            problems.append(f"{path}:{line}: column event_id: duplicated event id")
    if "share" in typed.columns:
        out_of_range = (typed["share"] < 0) | (typed["share"] > 1)
        for line in lines.filter(out_of_range.fill_null(False)):
            problems.append(f"{path}:{line}: column share: must lie in [0, 1]")
    if "quantity" in typed.columns:
        negative = (typed["quantity"] < 0).fill_null(False)
        for line in lines.filter(negative):
            problems.append(f"{path}:{line}: column quantity: must not be negative")
    return problems


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
    """
    base = Path(directory) if directory is not None else shipped_reference_dir()
    if not base.is_dir():
        raise ReferenceDataError(f"{base}: reference directory does not exist")
    tables = {name: _read_table(base / spec.file_name, spec) for name, spec in TABLE_SPECS.items()}
    digest = hashlib.sha256()
    for name in sorted(TABLE_SPECS):
        digest.update(f"{name}:{_file_sha256(base / TABLE_SPECS[name].file_name)}\n".encode())
    return ReferenceData(directory=str(base), fingerprint=digest.hexdigest()[:16], **tables)


def summarise_reference(reference: ReferenceData) -> list[TableSummary]:
    """One summary per table: rows, the date range it spans and the file's hash."""
    summaries = []
    for name, spec in TABLE_SPECS.items():
        frame = reference.table(name)
        dates = [frame[column] for column in spec.date_columns_for_summary]
        first = min(
            (series.min() for series in dates if series.null_count() < len(series)), default=None
        )
        last = max(
            (series.max() for series in dates if series.null_count() < len(series)), default=None
        )
        summaries.append(
            TableSummary(
                name=name,
                file_name=spec.file_name,
                rows=frame.height,
                first_date=first,
                last_date=last,
                sha256=_file_sha256(Path(reference.directory) / spec.file_name)[:16],
            )
        )
    return summaries
