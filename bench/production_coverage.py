"""Which production dataset each catalog material uses, and whether it is at its own stage kind.

Run from the repository root::

    .venv/bin/python -m bench.production_coverage [REFERENCE_DIR] [--list]

Prints the count and share of catalog materials covered at their own stage kind (refining for
processed stages, mine for ore and concentrate), and with ``--list`` one line per material.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from riskengine.features.concentration import production_coverage
from riskengine.reference.loader import load_reference, shipped_reference_dir


def main(argv: list[str]) -> int:
    """Print the own-stage coverage of the reference directory given (default: the shipped one)."""
    arguments = [argument for argument in argv if not argument.startswith("--")]
    directory = Path(arguments[0]) if arguments else shipped_reference_dir()
    coverage = production_coverage(load_reference(directory).production.lazy())
    total = coverage.height
    own = coverage.filter(pl.col("own_stage")).height
    with_data = coverage.filter(pl.col("dataset").is_not_null()).height
    if "--list" in argv:
        for row in coverage.iter_rows(named=True):
            mark = "own" if row["own_stage"] else ("FALLBACK" if row["dataset"] else "NONE")
            basis = f"{row['dataset']}|{row['production_stage']}" if row["dataset"] else "-"
            print(f"{mark:8} {row['material_id']:32} {row['stage']:16} {basis}")
    print(f"materials: {total}; with production data: {with_data}")
    print(f"own stage kind: {own} of {total} ({own / total:.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
