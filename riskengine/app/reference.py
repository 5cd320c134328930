"""Reference jobs: ``riskengine reference check`` and ``riskengine screening-eval``."""

from __future__ import annotations

from riskengine.config import Settings
from riskengine.io import read_table
from riskengine.io.columns import require_columns
from riskengine.reference.loader import (
    ReferenceData,
    TableSummary,
    load_reference,
    summarise_reference,
)


def check_reference(settings: Settings) -> tuple[ReferenceData, list[TableSummary]]:
    """Load and validate the reference data; summarise each table."""
    reference = load_reference(settings.reference_dir)
    return reference, summarise_reference(reference)


def evaluate_screening(settings: Settings, pairs_path: str) -> dict:
    """Precision and recall of name screening on labelled pairs, against the whole list."""
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
    listed_names = reference.listed_entities["entity_name"].unique(maintain_order=True).to_list()
    result = evaluate_name_matching(labelled, listed_names)
    return {**result, "pairs": len(labelled)}
