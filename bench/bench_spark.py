"""Benchmark ``riskengine score --engine spark`` (local mode) against ``riskengine score`` on a
generated sourcing list, and check that both write the same bytes.

    python -m bench.bench_spark [--rows 100000] [--partitions 2] [--model champion]
                                [--whole-input-cases 50]

The generated list (``bench.generate``) gets ``--whole-input-cases`` rows that repeat an
earlier pair and as many that give an earlier supplier id another country, appended at its
end, so that the checks that need the whole input have rows to refuse across partitions.

Needs pyspark (``pip install 'riskengine[spark]'``) and a model version registered with the
``first_pass`` parameter (``make train`` with this riskengine; ``RISKENGINE_HOME`` is
honoured); trains nothing itself. Runs each command once as its own process (the Spark run
includes starting the JVM and the Python workers, each of which loads the pyfunc), times the
whole process, and compares the two output files byte for byte (the Spark output is sorted by
input row before it is written). Prints a Markdown table and writes it to
``bench/results/spark.md``.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from bench.generate import DEFAULT_SEED, write_sourcing_csv

RESULTS_DIRECTORY = Path(__file__).resolve().parent / "results"
AS_OF = "2026-10-01"
BUYER_COUNTRY = "JP"
#: Reasons that only the whole input can give a row.
WHOLE_INPUT_REASONS = ("duplicate pair", "appears with several countries")


def timed_score(source: Path, output: Path, model: str, *options: str) -> float:
    """Run ``riskengine score`` as its own process; its wall time in seconds."""
    command = [
        sys.executable,
        "-m",
        "riskengine",
        "score",
        str(source),
        "-o",
        str(output),
        "--as-of",
        AS_OF,
        "--buyer-country",
        BUYER_COUNTRY,
        "--model",
        model,
        *options,
    ]
    print("$", " ".join(command), file=sys.stderr)
    started = time.perf_counter()
    with output.with_suffix(".log").open("wb") as log:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=log)
    return time.perf_counter() - started


def with_whole_input_cases(source: Path, cases: int, seed: int) -> None:
    """Append ``cases`` copies of earlier rows (duplicate pairs) and ``cases`` earlier rows
    with another supplier country (a supplier id with two countries) to ``source``: at the
    end of the file, so Spark's partitions hold them apart from the rows they repeat."""
    if cases == 0:
        return
    rows = pl.read_csv(source, infer_schema=False)
    picked = rows.filter(pl.col("supplier_id").is_not_null()).sample(2 * cases, seed=seed)
    repeated = picked.head(cases)
    moved = picked.tail(cases).with_columns(
        pl.when(pl.col("supplier_country") == "Germany")
        .then(pl.lit("France"))
        .otherwise(pl.lit("Germany"))
        .alias("supplier_country")
    )
    pl.concat([rows, repeated, moved]).write_csv(source)


def whole_input_refusals(source: Path, *, halves: bool) -> int:
    """Rows refused for a duplicate pair or a supplier id with several countries when the
    file is prepared whole, or (``halves``) as two round-robin halves each prepared as a file
    of its own: what partitions scored without the first pass would refuse."""
    from riskengine.sourcing import prepare_chunks

    rows = pl.read_csv(source, infer_schema=False)
    parts = [rows.gather_every(2), rows.gather_every(2, offset=1)] if halves else [rows]
    refused = 0
    for part in parts:
        _, prepared = prepare_chunks(
            [part], source=str(source), buyer_country=BUYER_COUNTRY, buyer_name=None
        )
        reasons = next(prepared).resolved["reason"]
        refused += reasons.str.contains("|".join(WHOLE_INPUT_REASONS)).sum()
    return refused


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--model", default="champion")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--whole-input-cases",
        type=int,
        default=50,
        help="Rows appended that repeat an earlier pair, and as many that give an earlier "
        "supplier id another country (the generator makes neither).",
    )
    arguments = parser.parse_args(argv)
    directory = RESULTS_DIRECTORY / "spark"
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"sourcing_{arguments.rows}.csv"
    cases = arguments.whole_input_cases
    write_sourcing_csv(source, arguments.rows - 2 * cases, arguments.seed)
    with_whole_input_cases(source, cases, arguments.seed)
    local_output, spark_output = directory / "local.csv", directory / "spark.csv"
    local = timed_score(source, local_output, arguments.model)
    spark = timed_score(
        source,
        spark_output,
        arguments.model,
        "--engine",
        "spark",
        "--partitions",
        str(arguments.partitions),
    )
    identical = local_output.read_bytes() == spark_output.read_bytes()
    scored = pl.read_csv(local_output, infer_schema=False)
    whole_input = scored.filter(
        pl.any_horizontal(pl.col("reason").str.contains(reason) for reason in WHOLE_INPUT_REASONS)
    ).height
    lost = whole_input_refusals(source, halves=True)
    table = "\n".join(
        [
            "| run | rows | wall (s) |",
            "|---|---:|---:|",
            f"| `riskengine score` | {scored.height:,} | {local:.2f} |",
            f"| `riskengine score --engine spark --partitions {arguments.partitions}` "
            f"| {scored.height:,} | {spark:.2f} |",
            "",
            f"Outputs byte-identical: {'yes' if identical else 'NO'}; rows rejected for a "
            f"duplicate pair or a supplier id with several countries: {whole_input:,} "
            f"(halves prepared without the first pass would refuse {lost:,}).",
            f"{datetime.now().isoformat(timespec='seconds')}, {platform.python_version()}, "
            f"{platform.machine()}, seed {arguments.seed}.",
        ]
    )
    print(table)
    (RESULTS_DIRECTORY / "spark.md").write_text(table + "\n", encoding="utf-8")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
