"""Reference jobs: ``riskengine reference check``, ``reference diff``, ``reference import`` and
``screening-eval``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from riskengine.config import Settings
from riskengine.io import read_table, read_text, write_table
from riskengine.io.columns import require_columns
from riskengine.reference.diff import diff_reference
from riskengine.reference.importers import parse_import
from riskengine.reference.importing import ImportOutcome, import_records
from riskengine.reference.loader import (
    ReferenceData,
    ReferenceWarning,
    TableSummary,
    load_reference,
    reference_warnings,
    summarise_reference,
)


@dataclass(frozen=True)
class ReferenceCheck:
    """What ``riskengine reference check`` found in a valid reference directory."""

    reference: ReferenceData
    summaries: list[TableSummary]
    warnings: list[ReferenceWarning]


def check_reference(settings: Settings) -> ReferenceCheck:
    """Load and validate the reference data and the catalog its contracts check ids against
    (errors raise, whatever the disk cache holds); summarise each table; warnings."""
    from riskengine.catalog import check_shipped_catalog

    check_shipped_catalog()
    reference = load_reference(settings.reference_dir, trust_disk_cache=False)
    return ReferenceCheck(reference, summarise_reference(reference), reference_warnings(reference))


def compare_reference(
    old_directory: Path,
    new_directory: Path,
    output: str | None = None,
    output_format: str | None = None,
) -> pl.DataFrame:
    """Facts added, removed, changed or ended from one reference directory to another.

    Both directories are validated first (a key means one row only in valid data). With
    ``output``, the differences are also written there (CSV, JSON... by extension or format).
    """
    differences = diff_reference(load_reference(old_directory), load_reference(new_directory))
    if output is not None:
        write_table(differences, output, output_format)
    return differences


def evaluate_screening(settings: Settings, pairs_path: str) -> dict:
    """Precision and recall of name screening on labelled pairs, against every screened name."""
    from riskengine.features.export_controls import screened_entity_names
    from riskengine.names import evaluate_name_matching

    pairs = read_table(pairs_path)
    require_columns(pairs.columns, ("query", "listed_name", "is_same_entity"), source=pairs_path)
    reference = load_reference(settings.reference_dir)
    labelled = [
        (
            row["query"],
            row["listed_name"],
            str(row["is_same_entity"]).strip().lower() in {"true", "1", "yes"},
        )
        for row in pairs.iter_rows(named=True)
    ]
    listed_names = list(dict.fromkeys(screened_entity_names(reference.listed_entities)))
    result = evaluate_name_matching(labelled, listed_names)
    return {**result, "pairs": len(labelled)}


def import_reference(path: str, overlay: Path, encoding: str | None = None) -> ImportOutcome:
    """Import a list or event file into an overlay directory on top of the shipped data.

    The format is detected from the content (OpenSanctions FollowTheMoney JSON lines or
    targets.simple.csv, the US Consolidated Screening List, a Global Trade Alert export,
    riskengine's own events or listings); each record is validated against the reference
    contracts with the data it joins; accepted records are added or changed in the overlay.
    """
    text, data = read_text(path, encoding=encoding)
    parsed = parse_import(text, path)
    return import_records(
        parsed,
        overlay,
        source=path,
        sha256=hashlib.sha256(data).hexdigest(),
        now=datetime.now(UTC),
    )
