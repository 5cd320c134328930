"""Benchmark ``riskengine stress`` on a generated BOM of 10,000 rows with the 5 shipped scenarios.

    python -m bench.bench_stress [--bom-rows 10000] [--runs 3]

Needs a champion model in the store (``make train``; ``RISKENGINE_HOME`` is honoured); trains
nothing itself. Times one in-process ``app.stress.stress_file`` call (read the BOM, sourcing
list, inventory and plan; load the reference data and the model; for each scenario score the
pairs before and after, explode the BOM twice and compute the shortages; write both outputs),
median of ``--runs``. Target: under 5 s. Prints a Markdown table and writes it to
``bench/results/stress.md``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from bench import measure
from bench.generate import DEFAULT_SEED, generate_bom, generate_bom_sourcing

RESULTS_DIRECTORY = Path(__file__).resolve().parent / "results"
TARGET_SECONDS = 5.0
EXIT_NO_CHAMPION = 2


def generated_inputs(bom_rows: int, seed: int, directory: Path) -> dict[str, object]:
    """Write a BOM of at least ``bom_rows`` rows, its sourcing list, an inventory and a plan."""
    lines = bom_rows * 10
    generated = generate_bom(lines, seed=seed)
    while generated.bom.height < bom_rows:
        lines = int(lines * 1.1)
        generated = generate_bom(lines, seed=seed)
    rng = np.random.default_rng([seed, 15])
    directory.mkdir(parents=True, exist_ok=True)
    generated.bom.write_csv(directory / "bom.csv")
    generate_bom_sourcing(generated.leaf_material_ids, seed).write_csv(directory / "sourcing.csv")
    materials = list(generated.leaf_texts)
    pl.DataFrame(
        {
            "material": materials,
            "days_of_cover": rng.integers(10, 120, len(materials)).astype(str),
            "lead_time_days": [
                str(days) if keep else None
                for days, keep in zip(
                    rng.integers(30, 180, len(materials)).tolist(),
                    (rng.random(len(materials)) < 0.3).tolist(),
                    strict=True,
                )
            ],
        }
    ).write_csv(directory / "inventory.csv")
    products = generated.bom.filter(~pl.col("parent").is_in(generated.bom["component"].implode()))[
        "parent"
    ].unique(maintain_order=True)
    pl.DataFrame(
        {
            "product": products,
            "units_per_day": rng.integers(10, 1000, products.len()).astype(str),
            "unit_value": rng.integers(50, 5000, products.len()).astype(str),
        }
    ).write_csv(directory / "plan.csv")
    return {
        "bom_rows": generated.bom.height,
        "products": generated.products,
        "paths": generated.exploded_lines,
        "materials": len(materials),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bom-rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    arguments = parser.parse_args(argv)

    from riskengine.app.requests import InputFile, OutputFile, StressRequest
    from riskengine.app.stress import stress_file
    from riskengine.config import load_settings
    from riskengine.errors import RiskEngineError
    from riskengine.impact.scenario import library_names
    from riskengine.models.tracking import load_registered_model

    settings = load_settings()
    started = time.perf_counter()
    try:
        model = load_registered_model(settings)
    except RiskEngineError as error:
        print(f"no usable champion model ({error}); run `make train` first", file=sys.stderr)
        return EXIT_NO_CHAMPION
    model_seconds = time.perf_counter() - started
    data = RESULTS_DIRECTORY / "data" / f"stress_{arguments.bom_rows}_seed{arguments.seed}"
    facts = generated_inputs(arguments.bom_rows, arguments.seed, data)
    scenarios = library_names()
    output = RESULTS_DIRECTORY / "stress_output.csv"
    pairs = RESULTS_DIRECTORY / "stress_pairs.csv"

    def run() -> pl.DataFrame:
        request = StressRequest(
            bom=InputFile(str(data / "bom.csv")),
            sourcing=InputFile(str(data / "sourcing.csv")),
            inventory=InputFile(str(data / "inventory.csv")),
            plan=InputFile(str(data / "plan.csv")),
            scenarios=tuple(scenarios),
            output=OutputFile(str(output)),
            pairs_path=str(pairs),
        )
        return stress_file(settings, request).products

    timing = measure.repeat(run, runs=arguments.runs, budget_seconds=300)
    products = timing.result
    short = products.filter(pl.col("status") == "short").group_by("scenario").len().sort("scenario")
    met = "yes" if timing.median < TARGET_SECONDS else "no"
    table = [
        "| step | BOM rows | products | paths | scenarios | wall s (median) | peak MiB | target "
        "| met? |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
        f"| `stress_file` | {facts['bom_rows']:,} | {facts['products']:,} | {facts['paths']:,} | "
        f"{len(scenarios)} | {timing.median:.2f} | {timing.peak_mib:,.0f} | "
        f"< {TARGET_SECONDS:.0f} s | {met} |",
    ]
    notes = [
        f"runs: {timing.describe()}; loading the champion (version {model.version}) alone took "
        f"{model_seconds:.2f} s before the runs (the call loads it again each run)",
        f"scenarios: {', '.join(scenarios)}; {facts['materials']} leaf materials; output "
        f"{products.height:,} product rows; short per scenario: "
        + ", ".join(f"{name} {count}" for name, count in short.iter_rows()),
        f"run {datetime.now().isoformat(timespec='minutes')} on {measure_host()}",
    ]
    text = "\n".join([*table, "", *(f"- {note}" for note in notes)]) + "\n"
    print(text)
    RESULTS_DIRECTORY.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIRECTORY / "stress.md").write_text(text, encoding="utf-8")
    return 0


def measure_host() -> str:
    """CPUs and load, to read the figure against."""
    import os

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}"


if __name__ == "__main__":
    sys.exit(main())
