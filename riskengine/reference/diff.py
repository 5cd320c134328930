"""What changed between two versions of the reference data, fact by fact.

Rows are matched by their table's key (:func:`riskengine.reference.contracts.table_key`), so a
new edition of a production figure is a new fact, and a corrected figure in the same edition is
a change. Each difference is one line: a row ``added`` or ``removed``, a field ``changed``, or
an event or listing ``ended`` (its ``ended`` or ``removed_on`` date newly set: a measure
lifted, suspended or superseded, an entity taken off a list: the fact monitoring most needs to
see).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from riskengine.reference.contracts import TABLE_SCHEMAS, table_key
from riskengine.reference.loader import ReferenceData

DIFF_COLUMNS = ("table", "key", "change", "field", "old", "new")
CHANGES = ("added", "removed", "changed", "ended")
#: The columns whose date, newly set, ends a fact: an event's end, a listing's removal.
END_FIELDS = ("ended", "removed_on")


def diff_reference(old: ReferenceData, new: ReferenceData) -> pl.DataFrame:
    """Every fact added, removed, changed or ended from ``old`` to ``new``.

    Returns
    -------
    pl.DataFrame
        Columns ``table, key, change, field, old, new`` (all text; ``field``, ``old`` and
        ``new`` are empty for whole rows), by table in contract order, then key, then field.
    """
    lines: list[dict[str, str]] = []
    for name, schema in TABLE_SCHEMAS.items():
        lines.extend(_table_diff(name, table_key(schema), old.table(name), new.table(name)))
    return pl.DataFrame(lines, schema=dict.fromkeys(DIFF_COLUMNS, pl.String))


def _table_diff(
    name: str, key: tuple[str, ...], old: pl.DataFrame, new: pl.DataFrame
) -> list[dict[str, str]]:
    old_rows = _rows_by_key(old, key)
    new_rows = _rows_by_key(new, key)
    fields = [column for column in new.columns if column not in key]
    lines = []
    for row_key in sorted(old_rows.keys() | new_rows.keys()):
        before, after = old_rows.get(row_key), new_rows.get(row_key)
        if before is None:
            lines.append(_line(name, row_key, "added"))
        elif after is None:
            lines.append(_line(name, row_key, "removed"))
        else:
            for field in fields:
                if before[field] == after[field]:
                    continue
                newly_ended = field in END_FIELDS and before[field] is None
                change = "ended" if newly_ended else "changed"
                lines.append(
                    _line(name, row_key, change, field, _text(before[field]), _text(after[field]))
                )
    return lines


def _rows_by_key(frame: pl.DataFrame, key: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Each row by its key written as ``column=value`` pairs (the value alone for one column)."""
    rows = {}
    for row in frame.iter_rows(named=True):
        if len(key) == 1:
            written = _text(row[key[0]])
        else:
            written = ", ".join(f"{column}={_text(row[column])}" for column in key)
        rows[written] = row
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _line(
    table: str, key: str, change: str, field: str = "", old: str = "", new: str = ""
) -> dict[str, str]:
    return {"table": table, "key": key, "change": change, "field": field, "old": old, "new": new}
