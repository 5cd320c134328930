"""Merging imported records into an overlay directory, validated like the shipped data.

Each mapped record (:mod:`riskengine.reference.importers`) is put on top of the data it would
join (the shipped tables with the overlay's current rows on top) and the merged table is
validated against its contract (:mod:`riskengine.reference.contracts`): a record breaking a
rule is rejected with the rule, the others go on. Records are matched by their table's key: a
key the data lacks is added, a key it has with other values is changed, the same values change
nothing. So importing one file twice changes nothing the second time: no table and no manifest
is written when nothing was added or changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from riskengine.errors import ReferenceDataError
from riskengine.io import write_text
from riskengine.reference.contracts import TABLE_SCHEMAS, column_types, file_name, table_key
from riskengine.reference.importers import FORMAT_TITLES, ParsedImport, Record
from riskengine.reference.loader import (
    ParsedTable,
    contract_problems,
    load_reference,
    merge_parsed,
    parse_table_file,
    parse_text_frame,
    shipped_reference_dir,
    text_keys,
)
from riskengine.reference.overlay import MANIFEST_FILE, is_overlay, read_manifest, write_manifest

#: Rounds of validation: rejecting a record can only remove failures, so this is a safeguard.
_MAX_ROUNDS = 5


@dataclass(frozen=True)
class ImportOutcome:
    """What one ``riskengine reference import`` added, changed and rejected."""

    format: str
    source: str
    sha256: str
    overlay: str
    added: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    supporting: int = 0
    fingerprint_before: str = ""
    fingerprint_after: str = ""

    @property
    def format_title(self) -> str:
        return FORMAT_TITLES.get(self.format, self.format)

    @property
    def imported(self) -> bool:
        """Whether any record is in the overlay now (added, changed or already there)."""
        return bool(self.added or self.changed or self.unchanged)


def check_overlay_target(directory: Path) -> None:
    """Check ``directory`` can take an import: an overlay, absent or empty.

    Raises
    ------
    ReferenceDataError
        For a file, a full reference directory or a directory with other files in it.
    """
    if is_overlay(directory):
        return
    if directory.exists() and not directory.is_dir():
        raise ReferenceDataError(f"{directory}: is a file, not an overlay directory")
    if directory.is_dir() and any(directory.iterdir()):
        full = all((directory / file_name(schema)).is_file() for schema in TABLE_SCHEMAS.values())
        what = "a full reference directory" if full else "not empty and holds no overlay"
        raise ReferenceDataError(
            f"{directory}: {what} ({MANIFEST_FILE} is missing); import into a new or empty "
            "directory, which becomes an overlay on the shipped data"
        )


def import_records(
    parsed: ParsedImport, overlay: Path, source: str, sha256: str, now: datetime
) -> ImportOutcome:
    """Validate ``parsed``'s records against the merged data and write the accepted ones.

    Parameters
    ----------
    parsed
        The records of the import file.
    overlay
        The overlay directory (see :func:`check_overlay_target`); created with the first
        import that imports something.
    source, sha256, now
        The file's name and hash and the time, for the manifest.
    """
    check_overlay_target(overlay)
    new_overlay = not is_overlay(overlay)
    before = load_reference(None if new_overlay else overlay).fingerprint
    rejected = [
        (record.label, record.reason or "") for record in parsed.records if record.table is None
    ]
    added: list[tuple[str, str]] = []
    changed: list[tuple[str, str, tuple[str, ...]]] = []
    unchanged = 0
    tables_to_write: dict[str, str] = {}
    tables = sorted({record.table for record in parsed.records if record.table is not None})
    for table in tables:
        records = [record for record in parsed.records if record.table == table]
        result = _import_table(table, records, overlay)
        added += [(table, key) for key in result.added]
        changed += [(table, key, fields) for key, fields in result.changed]
        unchanged += result.unchanged
        rejected += result.rejected
        if result.overlay_csv is not None:
            tables_to_write[file_name(TABLE_SCHEMAS[table])] = result.overlay_csv
    # Rejections in the order of the file, whether the mapping or a contract rejected them.
    position = {record.label: index for index, record in enumerate(parsed.records)}
    rejected.sort(key=lambda rejection: position.get(rejection[0], len(position)))
    after = before
    if added or changed or (new_overlay and unchanged):
        overlay.mkdir(parents=True, exist_ok=True)
        for name, text in tables_to_write.items():
            write_text(text, str(overlay / name))
        manifest = read_manifest(overlay)
        manifest["imports"].append(
            {
                "file": source,
                "sha256": sha256,
                "format": parsed.format,
                "imported_at": now.isoformat(timespec="seconds"),
                "added": len(added),
                "changed": len(changed),
                "unchanged": unchanged,
                "rejected": len(rejected),
                "tables_written": sorted(tables_to_write),
            }
        )
        write_manifest(overlay, manifest)
        after = load_reference(overlay).fingerprint
    return ImportOutcome(
        format=parsed.format,
        source=source,
        sha256=sha256,
        overlay=str(overlay),
        added=added,
        changed=changed,
        unchanged=unchanged,
        rejected=rejected,
        supporting=parsed.supporting,
        fingerprint_before=before,
        fingerprint_after=after,
    )


@dataclass
class _TableResult:
    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    overlay_csv: str | None = None


def _import_table(table: str, records: list[Record], overlay: Path) -> _TableResult:
    schema = TABLE_SCHEMAS[table]
    key = table_key(schema)
    columns = list(column_types(schema))
    shipped = parse_table_file(shipped_reference_dir() / file_name(schema), schema)
    overlay_path = overlay / file_name(schema)
    existing_overlay = parse_table_file(overlay_path, schema) if overlay_path.is_file() else None
    current = shipped if existing_overlay is None else merge_parsed(shipped, existing_overlay, key)
    result = _TableResult()

    raw = pl.DataFrame(
        [record.row for record in records], schema=dict.fromkeys(columns, pl.String), orient="row"
    )
    candidates = parse_text_frame(raw, schema, [record.label for record in records])
    keys = text_keys(candidates.raw, key)
    # A key given twice in the file: the first is imported, the others rejected.
    first_of_key: dict[tuple[str | None, ...], int] = {}
    kept: list[int] = []
    for index, row_key in enumerate(keys):
        first = first_of_key.setdefault(row_key, index)
        if first == index:
            kept.append(index)
        else:
            result.rejected.append(
                (records[index].label, f"the same key as {records[first].label}: not imported")
            )
    for _ in range(_MAX_ROUNDS):
        trial_candidates = _subset(candidates, kept)
        trial = merge_parsed(current, trial_candidates, key)
        problems = contract_problems(trial, schema, f"{table} with the imported rows")
        by_label = {label: index for index, label in enumerate(trial_candidates.locations)}
        failing: dict[int, list[str]] = {}
        for row, text in problems:
            location = trial.locations[row]
            if location not in by_label:
                raise ReferenceDataError(
                    f"the data the import sits on is invalid: {location}: {text}"
                )
            failing.setdefault(kept[by_label[location]], []).append(text)
        if not failing:
            break
        for index, texts in failing.items():
            result.rejected.append((records[index].label, "; ".join(dict.fromkeys(texts))))
        kept = [index for index in kept if index not in failing]
    else:  # pragma: no cover - rejecting records only removes failures
        raise ReferenceDataError(f"{table}: the imported rows did not settle")

    current_rows = dict(
        zip(text_keys(current.raw, key), current.raw.iter_rows(named=True), strict=True)
    )
    new_rows: dict[tuple[str | None, ...], dict[str, str | None]] = {}
    for index in kept:
        imported = candidates.raw.row(index, named=True)
        row_key = keys[index]
        written_key = _written_key(key, row_key)
        before = current_rows.get(row_key)
        if before is None:
            result.added.append(written_key)
        elif before == imported:
            result.unchanged += 1
            continue
        else:
            fields = tuple(column for column in columns if before[column] != imported[column])
            result.changed.append((written_key, fields))
        new_rows[row_key] = imported
    if new_rows:
        result.overlay_csv = _overlay_csv(existing_overlay, new_rows, key, columns)
    return result


def _subset(parsed: ParsedTable, rows: list[int]) -> ParsedTable:
    position = {old: new for new, old in enumerate(rows)}
    return ParsedTable(
        raw=parsed.raw[rows],
        typed=parsed.typed[rows],
        locations=tuple(parsed.locations[row] for row in rows),
        problems=tuple((position[row], text) for row, text in parsed.problems if row in position),
        unparsed=frozenset(
            (position[row], column) for row, column in parsed.unparsed if row in position
        ),
    )


def _written_key(key: tuple[str, ...], values: tuple[str | None, ...]) -> str:
    if len(key) == 1:
        return str(values[0])
    return ", ".join(f"{column}={value}" for column, value in zip(key, values, strict=True))


def _overlay_csv(
    existing: ParsedTable | None,
    new_rows: dict[tuple[str | None, ...], dict[str, str | None]],
    key: tuple[str, ...],
    columns: list[str],
) -> str:
    """The overlay table: its rows in their order (a changed one in its place), then new ones."""
    rows: list[dict[str, str | None]] = []
    placed = set()
    if existing is not None:
        for row_key, row in zip(
            text_keys(existing.raw, key), existing.raw.iter_rows(named=True), strict=True
        ):
            if row_key in new_rows:
                rows.append(new_rows[row_key])
                placed.add(row_key)
            else:
                rows.append(row)
    rows += [row for row_key, row in new_rows.items() if row_key not in placed]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")
    return frame.write_csv()
