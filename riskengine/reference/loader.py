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
import io
import json
import shutil
import tempfile
import threading
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from riskengine import disk_cache
from riskengine.errors import ReferenceDataError
from riskengine.io.columns import require_columns
from riskengine.pandera_polars import SchemaErrors, pa
from riskengine.reference.contracts import (
    TABLE_SCHEMAS,
    WARNING_SCHEMAS,
    column_types,
    file_name,
    summary_date_columns,
    table_key,
)
from riskengine.reference.overlay import MANIFEST_FILE, is_overlay, read_manifest
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
    #: Each table's sha256 (of its file; of the shipped and the overlay file for an overlay).
    table_hashes: dict[str, str] = field(default_factory=dict)
    #: For an overlay, the directory of the data it sits on (the shipped data); else None.
    base_directory: str | None = None

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


@dataclass(frozen=True)
class ParsedTable:
    """A table read as text and typed, before its contract is checked.

    ``raw`` keeps each cell as written (stripped; blank is null), ``typed`` the cells parsed to
    the contract's types, ``locations`` where each row was read (``file:line``), and
    ``problems`` the cells that did not parse, by row.
    """

    raw: pl.DataFrame
    typed: pl.DataFrame
    locations: tuple[str, ...]
    problems: tuple[tuple[int, str], ...]
    unparsed: frozenset[tuple[int, str]]

    @property
    def height(self) -> int:
        return self.raw.height


def parse_text_frame(
    raw: pl.DataFrame, schema: pa.DataFrameSchema, locations: list[str]
) -> ParsedTable:
    """Type the text cells of ``raw`` (a frame with the contract's columns, all text)."""
    types = column_types(schema)
    # A cell that is blank once stripped is missing, like an empty one.
    raw = raw.select(list(types)).with_columns(
        pl.col(column).cast(pl.String).str.strip_chars().replace("", None) for column in types
    )
    typed = raw.select(_parsed(column, dtype) for column, dtype in types.items())
    problems: list[tuple[int, str]] = []
    unparsed_cells: set[tuple[int, str]] = set()
    for column, dtype in types.items():
        unparsed = raw[column].is_not_null() & typed[column].is_null()
        for row in unparsed.arg_true().to_list():
            unparsed_cells.add((row, column))
            problems.append((row, f"column {column}: cannot read {raw[column][row]!r} as {dtype}"))
    return ParsedTable(raw, typed, tuple(locations), tuple(problems), frozenset(unparsed_cells))


def parse_table_file(path: Path, schema: pa.DataFrameSchema) -> ParsedTable:
    """Read one reference CSV as text and type it (the contract is not checked yet)."""
    if not path.is_file():
        raise ReferenceDataError(f"{path}: reference table is missing")
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.ComputeError, UnicodeDecodeError) as error:
        raise ReferenceDataError(f"{path}: cannot be read as UTF-8 CSV: {error}") from error
    require_columns(raw.columns, column_types(schema), source=str(path))
    lines = _record_lines(path)
    return parse_text_frame(raw, schema, [f"{path}:{line}" for line in lines])


def contract_problems(
    parsed: ParsedTable, schema: pa.DataFrameSchema, label: str
) -> list[tuple[int, str]]:
    """Every problem of the table by row: cells that did not parse, then broken rules.

    Raises
    ------
    ReferenceDataError
        For a failure of the whole table (not of a row), naming ``label``.
    """
    problems = list(parsed.problems)
    try:
        schema.validate(parsed.typed, lazy=True)
    except SchemaErrors as error:
        for failure in contract_failures(error):
            if failure.row is None:
                raise ReferenceDataError(f"{label}: {describe_failure(failure)}") from error
            if (failure.row, str(failure.column)) in parsed.unparsed:
                continue  # already reported as unreadable
            # pandera names the table (the schema) as the "column" of a rule over whole rows.
            if failure.column in (None, schema.name):
                problems.append((failure.row, _describe_row_failure(failure, parsed.typed, schema)))
                continue
            raw = parsed.raw
            written = raw[failure.column][failure.row] if failure.column in raw.columns else None
            problems.append((failure.row, describe_failure(failure, written)))
    return problems


def validated_table(parsed: ParsedTable, schema: pa.DataFrameSchema, label: str) -> pl.DataFrame:
    """The typed table once its contract holds; else every problem with its file and line."""
    problems = contract_problems(parsed, schema, label)
    if problems:
        problems.sort(key=lambda problem: problem[0])
        shown = [
            f"{parsed.locations[row]}: {text}" for row, text in problems[:MAX_REPORTED_PROBLEMS]
        ]
        more = len(problems) - len(shown)
        suffix = f"\n... and {more} more" if more else ""
        raise ReferenceDataError("invalid reference data:\n" + "\n".join(shown) + suffix)
    return parsed.typed


def _read_table(path: Path, schema: pa.DataFrameSchema) -> pl.DataFrame:
    return validated_table(parse_table_file(path, schema), schema, str(path))


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


def load_reference(
    directory: Path | None = None,
    *,
    overlay_base: Path | None = None,
    trust_disk_cache: bool = True,
) -> ReferenceData:
    """Load and validate every reference table.

    Parameters
    ----------
    directory
        A directory holding the five reference CSVs, or an overlay directory
        (:mod:`riskengine.reference.overlay`: only a team's own rows, read on top of the shipped
        data); ``None`` means the data shipped in the package.
    overlay_base
        The full directory an overlay sits on, when not the shipped data (a model's own copy
        of the tables it was trained with, :mod:`riskengine.serving.pyfunc`).
    trust_disk_cache
        Whether tables this code validated from the same bytes before (kept on disk, or
        loaded earlier by this process) may stand in for validating them again (``riskengine
        reference check`` always validates).

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
    if overlay_base is not None and not overlay_base.is_dir():
        raise ReferenceDataError(f"{overlay_base}: reference directory does not exist")
    key = _content_key(base, overlay_base)
    with _LOADED_LOCK:
        # Not trusting the disk cache, nor a load this process may have read from it.
        loaded = _LOADED.get(key) if trust_disk_cache else None
    if loaded is None:
        disk_key = _disk_key(key, shipped=directory is None)
        loaded = (
            _read_cached(disk_key, base, overlay_base)
            if disk_key is not None and trust_disk_cache
            else None
        )
        validated = loaded is None
        if loaded is None:
            loaded = _load_reference(base, overlay_base=overlay_base, shipped=directory is None)
        # Kept only if no file changed while it was read, so the key names what was loaded.
        if _content_key(base, overlay_base) == key:
            if validated and disk_key is not None:
                _write_cached(disk_key, loaded)
            with _LOADED_LOCK:
                while len(_LOADED) >= LOADED_LIMIT:
                    _LOADED.pop(next(iter(_LOADED)))
                _LOADED[key] = loaded
    # Each caller gets its own frames and hashes: polars frames can be changed in place.
    frames: dict[str, Any] = {name: loaded.table(name).clone() for name in TABLE_SCHEMAS}
    return replace(loaded, table_hashes=dict(loaded.table_hashes), **frames)


# Loading parses and validates every table, a quarter of a second on the shipped data; a
# long-running process (`riskengine serve`, the tests) reads the same files again and again.
# The key holds the bytes' SHA-256 of every file that can be read, so an edited file is always
# loaded anew.
_LOADED: dict[tuple[Any, ...], ReferenceData] = {}
_LOADED_LOCK = threading.Lock()
LOADED_LIMIT = 8


def _content_key(base: Path, overlay_base: Path | None) -> tuple[Any, ...]:
    """The directories and the SHA-256 of every file a load of ``base`` can read: the tables
    and an overlay's manifest, in ``base`` and in the directory an overlay sits on."""
    names = [*(file_name(schema) for schema in TABLE_SCHEMAS.values()), MANIFEST_FILE]
    files = tuple(
        (str(directory), name, _file_sha256(directory / name))
        for directory in (base, overlay_base or shipped_reference_dir())
        for name in names
        if (directory / name).is_file()
    )
    return (str(base), str(overlay_base) if overlay_base else None, files)


# A process that scores starts by loading the reference data, which took 0.39-0.54 s here
# (pandera's checks 0.25 s of it), on the way to a one-row score. The validated tables are kept
# on disk (riskengine.disk_cache), under a digest of the files' bytes and of the code that read
# and checked them: the next process reads them back in milliseconds, and an edited file, or
# other riskengine code or data (the catalog the contracts check ids against), another Python
# or other versions of the libraries validation uses, is read and validated anew.
_CACHE_KIND = "reference"


def _disk_key(key: tuple[Any, ...], *, shipped: bool) -> str | None:
    """The disk cache's name for the load of ``key`` (:func:`_content_key`): the files' names
    and bytes, by the role of their directory (the one given, the one an overlay sits on), not
    by its path, so that a copy of the same tables anywhere shares one entry."""
    given, _, files = key
    roles = [
        ("given" if directory == given else "beneath", name, sha256)
        for directory, name, sha256 in files
    ]
    return disk_cache.entry_key(_CACHE_KIND, f"shipped={shipped}\n{roles!r}")


def _read_cached(disk_key: str, base: Path, overlay_base: Path | None) -> ReferenceData | None:
    """The load kept under ``disk_key``, or None when it is not there whole and trusted
    (every table file is checked against the SHA-256 written beside it; a damaged entry is
    thrown away, so that the next load keeps a good one)."""
    try:
        entry = disk_cache.cache_root(_CACHE_KIND) / disk_key
        if not entry.exists() or not disk_cache.trusted(entry, directory=True):
            return None
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        if meta["key"] != disk_key:
            raise ValueError(f"{entry}: holds the load {meta['key']!r}")
        tables: dict[str, Any] = {}
        for name in TABLE_SCHEMAS:
            data = (entry / f"{name}.arrow").read_bytes()
            if hashlib.sha256(data).hexdigest() != meta["sha256"][name]:
                raise ValueError(f"{entry}: {name} does not match its SHA-256")
            tables[name] = pl.read_ipc(io.BytesIO(data))
        loaded = ReferenceData(
            directory=str(base),
            fingerprint=meta["fingerprint"],
            table_hashes=dict(meta["table_hashes"]),
            base_directory=(
                str(overlay_base or shipped_reference_dir()) if meta["overlay"] else None
            ),
            **tables,
        )
    except OSError:
        return None  # gone meanwhile, or not readable: a miss
    except disk_cache.CACHE_ERRORS:
        _discard(disk_key)  # damaged: the next load keeps a good one
        return None
    disk_cache.touch(entry)
    return loaded


def _discard(disk_key: str) -> None:
    """Delete the entry ``disk_key`` if this user owns it, renamed first so that no reader
    meets half of it."""
    try:
        entry = disk_cache.cache_root(_CACHE_KIND) / disk_key
        if not entry.is_dir() or not disk_cache.trusted(entry, directory=True):
            return
        stale = Path(tempfile.mkdtemp(prefix=disk_cache.UNFINISHED_PREFIXES[1], dir=entry.parent))
    except disk_cache.CACHE_ERRORS:
        return
    try:
        entry.rename(stale / "entry")
    except OSError:
        pass  # deleted or replaced by another process meanwhile
    finally:
        shutil.rmtree(stale, ignore_errors=True)


def _write_cached(disk_key: str, loaded: ReferenceData) -> None:
    """Keep a validated load in the disk cache (written whole in a directory only this user
    may write, then renamed into place); a cache that cannot be written is left alone, as
    loading works without it."""
    writing: Path | None = None
    try:
        if (disk_cache.cache_root(_CACHE_KIND) / disk_key).exists():
            return
        root = disk_cache.make_root(_CACHE_KIND)
        entry = root / disk_key
        writing = Path(tempfile.mkdtemp(prefix=disk_cache.UNFINISHED_PREFIXES[0], dir=root))
        hashes: dict[str, str] = {}
        for name in TABLE_SCHEMAS:
            buffer = io.BytesIO()
            loaded.table(name).write_ipc(buffer)
            data = buffer.getvalue()
            (writing / f"{name}.arrow").write_bytes(data)
            hashes[name] = hashlib.sha256(data).hexdigest()
        meta = {
            "key": disk_key,
            "fingerprint": loaded.fingerprint,
            "table_hashes": loaded.table_hashes,
            "overlay": loaded.base_directory is not None,
            "sha256": hashes,
        }
        (writing / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        writing.rename(entry)  # fails if another process kept the same load meanwhile
        disk_cache.forget_old_entries(root)
    except disk_cache.CACHE_ERRORS:
        pass
    finally:
        if writing is not None:
            shutil.rmtree(writing, ignore_errors=True)


def _load_reference(base: Path, *, overlay_base: Path | None, shipped: bool) -> ReferenceData:
    if not shipped and is_overlay(base):
        return _load_overlay(base, shipped=overlay_base or shipped_reference_dir())
    missing = [
        file_name(schema)
        for schema in TABLE_SCHEMAS.values()
        if not (base / file_name(schema)).is_file()
    ]
    if missing and len(missing) < len(TABLE_SCHEMAS):
        raise ReferenceDataError(
            f"{base / missing[0]}: reference table is missing ({', '.join(missing)} absent); a "
            f"directory of only some tables is an overlay on the shipped data when it holds "
            f"{MANIFEST_FILE}: create it with `riskengine reference import FILE --into DIR`"
        )
    tables: dict[str, Any] = {
        name: _read_table(base / file_name(schema), schema)
        for name, schema in TABLE_SCHEMAS.items()
    }
    hashes = {
        name: _file_sha256(base / file_name(schema)) for name, schema in TABLE_SCHEMAS.items()
    }
    return ReferenceData(
        directory=str(base),
        fingerprint=_fingerprint(hashes, {}),
        table_hashes=hashes,
        **tables,
    )


def _fingerprint(shipped: dict[str, str], overlay: dict[str, str]) -> str:
    """16 hex digits over the tables' hashes: those of a full directory, then the overlay's.

    A full directory's fingerprint is what it always was; an overlay's adds a line per table
    file the overlay holds, so it changes whenever an import changes a row.
    """
    digest = hashlib.sha256()
    for name in sorted(TABLE_SCHEMAS):
        digest.update(f"{name}:{shipped[name]}\n".encode())
    for name in sorted(overlay):
        digest.update(f"overlay {name}:{overlay[name]}\n".encode())
    return digest.hexdigest()[:16]


def _load_overlay(overlay: Path, *, shipped: Path) -> ReferenceData:
    """The ``shipped`` tables with the overlay's rows on top, validated as merged tables."""
    read_manifest(overlay)  # a manifest of another format is an error, not ignored
    tables: dict[str, Any] = {}
    shipped_hashes: dict[str, str] = {}
    overlay_hashes: dict[str, str] = {}
    table_hashes: dict[str, str] = {}
    for name, schema in TABLE_SCHEMAS.items():
        shipped_path = shipped / file_name(schema)
        overlay_path = overlay / file_name(schema)
        parsed = parse_table_file(shipped_path, schema)
        shipped_hashes[name] = table_hashes[name] = _file_sha256(shipped_path)
        label = str(shipped_path)
        if overlay_path.is_file():
            parsed = merge_parsed(parsed, parse_table_file(overlay_path, schema), table_key(schema))
            overlay_hashes[name] = _file_sha256(overlay_path)
            both = f"{shipped_hashes[name]}+{overlay_hashes[name]}"
            table_hashes[name] = hashlib.sha256(both.encode()).hexdigest()
            label = f"{shipped_path} with {overlay_path} on top"
        tables[name] = validated_table(parsed, schema, label)
    return ReferenceData(
        directory=str(overlay),
        fingerprint=_fingerprint(shipped_hashes, overlay_hashes),
        table_hashes=table_hashes,
        base_directory=str(shipped),
        **tables,
    )


def text_keys(raw: pl.DataFrame, key: tuple[str, ...]) -> list[tuple[str | None, ...]]:
    """Each row's key as written (stripped text), the way rows are matched across files."""
    return list(raw.select(key).iter_rows())


def merge_parsed(base: ParsedTable, top: ParsedTable, key: tuple[str, ...]) -> ParsedTable:
    """``top``'s rows on ``base``: a row with a key of ``base`` takes that row's place, the
    others follow in their order (a key repeated within ``top`` is kept twice, so the contract
    reports it)."""
    first_with_key: dict[tuple[str | None, ...], int] = {}
    for row, row_key in enumerate(text_keys(top.raw, key)):
        first_with_key.setdefault(row_key, row)
    order: list[int] = []
    placed: set[int] = set()
    for row, row_key in enumerate(text_keys(base.raw, key)):
        replacement = first_with_key.get(row_key)
        if replacement is None:
            order.append(row)
        else:
            order.append(base.height + replacement)
            placed.add(replacement)
    order.extend(base.height + row for row in range(top.height) if row not in placed)
    new_position = {old: new for new, old in enumerate(order)}
    locations = base.locations + top.locations
    problems = [(row, text) for row, text in base.problems] + [
        (base.height + row, text) for row, text in top.problems
    ]
    unparsed = {(row, column) for row, column in base.unparsed} | {
        (base.height + row, column) for row, column in top.unparsed
    }
    return ParsedTable(
        raw=pl.concat([base.raw, top.raw])[order],
        typed=pl.concat([base.typed, top.typed])[order],
        locations=tuple(locations[old] for old in order),
        problems=tuple((new_position[row], text) for row, text in problems if row in new_position),
        unparsed=frozenset(
            (new_position[row], column) for row, column in unparsed if row in new_position
        ),
    )


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
                sha256=reference.table_hashes[name][:16]
                if name in reference.table_hashes
                else _file_sha256(Path(reference.directory) / file_name(schema))[:16],
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
