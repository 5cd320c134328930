"""riskengine's own ``policy_events.csv`` and ``listed_entities.csv``, so a team can record its
own events and listings; read as they are, checked later by the contracts."""

from __future__ import annotations

import polars as pl

from riskengine.io.columns import require_columns
from riskengine.reference.contracts import LISTED_ENTITIES, POLICY_EVENTS, column_types
from riskengine.reference.importers.common import (
    OWN_EVENTS,
    ParsedImport,
    Record,
    cell_text,
)


def parse_own(frame: pl.DataFrame, label: str, kind: str) -> ParsedImport:
    """Read riskengine's own ``policy_events`` (``kind`` :data:`OWN_EVENTS`) or
    ``listed_entities`` table as records, one per row."""
    schema = POLICY_EVENTS if kind == OWN_EVENTS else LISTED_ENTITIES
    table = "policy_events" if kind == OWN_EVENTS else "listed_entities"
    columns = list(column_types(schema))
    # Columns that may be blank may also be absent (a team's file written before they existed).
    required = [name for name in columns if not schema.columns[name].nullable]
    require_columns(frame.columns, required, source=label)
    frame = frame.with_columns(
        pl.lit(None, dtype=pl.String).alias(name) for name in columns if name not in frame.columns
    )
    records = []
    for number, row in enumerate(frame.select(columns).iter_rows(named=True), start=2):
        first = row[columns[0]] if kind == OWN_EVENTS else row["entity_name"]
        where = f"row {number} ({first})"
        records.append(Record(where, table, {name: cell_text(row[name]) for name in columns}))
    return ParsedImport(kind, tuple(records))
