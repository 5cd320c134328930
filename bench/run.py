"""Benchmark riskengine on generated data against baselines measured in the same process.

    python -m bench.run [--rows N] [--only startup,process,scoring,features,bom,memory,process-big]

Needs a champion model in the store (``make train``); trains nothing itself. Prints a Markdown
table and writes it, with notes, to ``bench/results/latest.md``. See ``bench/README.md`` for
what each row measures.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench import measure
from bench.generate import (
    DEFAULT_SEED,
    GENERATOR_VERSION,
    generate_bom,
    generate_bom_sourcing,
    write_sourcing_csv,
)

STEPS = ("startup", "process", "scoring", "features", "bom", "memory", "process-big")
DEFAULT_AS_OF = date(2026, 10, 1)
BENCH_DIRECTORY = Path(__file__).resolve().parent
RESULTS_DIRECTORY = BENCH_DIRECTORY / "results"
DATA_DIRECTORY = RESULTS_DIRECTORY / "data"
FLOOR_TARGET = 1.5
PANDAS_TARGET = 3.0
BOM_TARGET_SECONDS = 10.0
MEMORY_TARGET_MIB = 4096.0
# Issue 16 item 6: whole `riskengine score` processes.
COLD_START_TARGET = 1.5
PROCESS_ROWS_TARGET = 6.0
PROCESS_BIG_TARGET = 45.0
PROCESS_BIG_MEMORY_MIB = 2048.0
EXIT_NO_CHAMPION = 2


@dataclass
class Row:
    """One line of the results table."""

    step: str
    rows: int | None
    wall: float | None
    baseline: float | None
    ratio: str
    peak_mib: float | None
    target: str
    met: str


@dataclass
class Bench:
    """Shared state of one benchmark run: settings, data, model, and what was measured."""

    arguments: argparse.Namespace
    settings: Any
    as_of: date
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        self.notes.append(text)
        log(f"  note: {text}")

    @property
    def runs(self) -> int:
        return self.arguments.runs

    @property
    def budget(self) -> float:
        return self.arguments.budget_seconds

    def reference(self) -> Any:
        if "reference" not in self.cache:
            from riskengine.reference.loader import load_reference

            self.cache["reference"] = load_reference(self.settings.reference_dir)
        return self.cache["reference"]

    def model(self) -> Any:
        if "model" not in self.cache:
            from riskengine.models.tracking import load_registered_model

            self.cache["model"] = load_registered_model(self.settings)
        return self.cache["model"]


def log(message: str) -> None:
    """Progress on stderr, with the time."""
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def sourcing_file(rows: int, seed: int) -> Path:
    """The generated sourcing CSV for ``rows`` and ``seed``, written once and reused."""
    path = DATA_DIRECTORY / f"sourcing_{rows}_seed{seed}_v{GENERATOR_VERSION}.csv"
    if not path.exists():
        log(f"generating {rows:,} sourcing rows into {path}")
        started = time.perf_counter()
        write_sourcing_csv(path, rows, seed)
        log(f"  generated in {time.perf_counter() - started:.1f} s")
    return path


def ratio_text(value: float | None, suffix: str) -> str:
    return "—" if value is None else f"{value:.2f}× {suffix}".strip()


def met_text(condition: bool | None) -> str:
    return "n/a" if condition is None else ("yes" if condition else "**no**")


def guarded(bench: Bench, step: str, action: Callable[[], None]) -> None:
    """Run one step; a failure becomes a table row and a note, and the next step runs."""
    log(f"step {step}")
    started = time.perf_counter()
    try:
        action()
    except Exception as error:  # reported; the next step still runs
        message = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
        bench.rows.append(Row(f"{step}: FAILED", None, None, None, "—", None, "—", "failed"))
        bench.note(f"{step} failed: {message}")
    finally:
        gc.collect()
        log(f"step {step} took {time.perf_counter() - started:.1f} s")


# ---------------------------------------------------------------------------------- start-up


IMPORT_CHECK = """
import json, sys, time
started = time.perf_counter()
import riskengine.cli
seconds = time.perf_counter() - started
loaded = set(sys.modules)
def has(name):
    return any(module == name or module.startswith(name + ".") for module in loaded)
print(json.dumps({"seconds": seconds, "mlflow": has("mlflow"), "sklearn": has("sklearn"),
                  "pandas": has("pandas"), "pandera": has("pandera")}))
"""


def step_startup(bench: Bench) -> None:
    """``riskengine --help`` wall time (median of 5) and what ``import riskengine.cli`` loads."""
    script = Path(sys.executable).parent / "riskengine"
    command = [str(script)] if script.exists() else measure.python_command("-m", "riskengine")
    wall, all_runs = measure.median_command_seconds([*command, "--help"], runs=5)
    baseline, _ = measure.median_command_seconds(
        measure.python_command("-c", "import polars, typer"), runs=5
    )
    check = subprocess.run(
        measure.python_command("-c", IMPORT_CHECK), check=True, capture_output=True, text=True
    )
    imported = json.loads(check.stdout.strip().splitlines()[-1])
    heavy = [name for name in ("mlflow", "sklearn") if imported[name]]
    bench.rows.append(
        Row(
            "start-up: `riskengine --help` (vs `python -c 'import polars, typer'`)",
            None,
            wall,
            baseline,
            ratio_text(wall / baseline, ""),
            None,
            "no mlflow/sklearn at import",
            met_text(not heavy),
        )
    )
    bench.note(
        f"start-up: `riskengine --help` {', '.join(f'{value:.2f}' for value in all_runs)} s; "
        f"`import riskengine.cli` takes {imported['seconds']:.2f} s in-process and imports "
        f"mlflow: {'yes' if imported['mlflow'] else 'no'}, sklearn: "
        f"{'yes' if imported['sklearn'] else 'no'}, pandas: "
        f"{'yes' if imported['pandas'] else 'no'}, pandera: "
        f"{'yes' if imported['pandera'] else 'no'}"
    )


# -------------------------------------------------------------- whole `riskengine score` runs


def one_row_file() -> Path:
    """The first row of the shipped demo sourcing list, as its own CSV."""
    from importlib import resources

    lines = (resources.files("riskengine") / "demo" / "sourcing.csv").read_text().splitlines()
    path = DATA_DIRECTORY / "one_row.csv"
    path.write_text("\n".join(lines[:2]) + "\n")
    return path


def score_processes(
    bench: Bench, path: Path, name: str, runs: int
) -> tuple[list[float], list[float], float, bool]:
    """Run ``riskengine score`` on ``path`` as a whole process up to ``runs`` times: each run's
    wall and CPU (user + system) seconds, the largest peak RSS, and whether every run exited 0."""
    import resource

    script = Path(sys.executable).parent / "riskengine"
    command = [str(script)] if script.exists() else measure.python_command("-m", "riskengine")
    output = DATA_DIRECTORY / "outputs" / f"{name}.csv"
    output.parent.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "RISKENGINE_HOME": str(bench.settings.home)}
    walls: list[float] = []
    cpus: list[float] = []
    peak = 0.0
    succeeded = True
    for run in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        outcome = measure.run_child(
            [*command, "score", str(path), "-o", str(output), "--as-of", bench.as_of.isoformat()],
            log_directory=RESULTS_DIRECTORY / "logs",
            name=f"{name}_{run}",
            timeout_seconds=bench.arguments.big_timeout,
            memory_cap_mib=bench.arguments.memory_cap_gib * 1024,
            environment=environment,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(outcome.seconds)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        peak = max(peak, outcome.peak_mib)
        succeeded = succeeded and outcome.stopped is None and outcome.exit_code == 0
        if not succeeded or sum(walls) + outcome.seconds > bench.budget:
            break
    output.unlink(missing_ok=True)
    return walls, cpus, peak, succeeded


def process_row(
    bench: Bench, label: str, rows: int, path: Path, runs: int, target: float, memory: float | None
) -> None:
    """One table row and note for whole ``riskengine score`` processes on ``path``."""
    import statistics

    walls, cpus, peak, succeeded = score_processes(bench, path, f"process_{rows}", runs)
    wall = statistics.median(walls)
    met = succeeded and wall <= target and (memory is None or peak < memory)
    goal = f"≤ {target:g} s" + (f", peak < {memory:,.0f} MiB" if memory else "")
    bench.rows.append(
        Row(label, rows, wall, None, "—", peak, goal, met_text(met) if succeeded else "failed")
    )
    bench.note(
        f"{label}: wall {', '.join(f'{value:.2f}' for value in walls)} s, CPU (user + system) "
        f"{', '.join(f'{value:.2f}' for value in cpus)} s, peak RSS {peak:,.0f} MiB, load "
        f"average {os.getloadavg()[0]:.1f}" + ("" if succeeded else "; a run FAILED (see logs)")
    )


def step_process(bench: Bench) -> None:
    """A one-row ``riskengine score`` from a cold start, and one on ``--rows`` pairs, each a
    whole process (imports, model checks, reference loading, output) as a user runs it."""
    process_row(
        bench,
        "cold start: one-row `riskengine score` (whole process)",
        1,
        one_row_file(),
        max(bench.runs, 3),
        COLD_START_TARGET,
        None,
    )
    rows = bench.arguments.rows
    process_row(
        bench,
        "`riskengine score` CSV→CSV (whole process)",
        rows,
        sourcing_file(rows, bench.arguments.seed),
        bench.runs,
        PROCESS_ROWS_TARGET,
        None,
    )


def step_process_big(bench: Bench) -> None:
    """``riskengine score`` on the memory row's pairs (10 × ``--rows``), one whole process."""
    rows = bench.arguments.big_rows or 10 * bench.arguments.rows
    process_row(
        bench,
        "`riskengine score` CSV→CSV, big input (whole process)",
        rows,
        sourcing_file(rows, bench.arguments.seed),
        1,
        PROCESS_BIG_TARGET,
        PROCESS_BIG_MEMORY_MIB,
    )


# ----------------------------------------------------------------------------------- scoring


def prepared_pairs(bench: Bench) -> tuple[Any, Any]:
    """(prepared pairs, feature table) of the 1M-row input, built once with riskengine."""
    if "prepared" not in bench.cache:
        from riskengine.io import read_table
        from riskengine.prediction import feature_table
        from riskengine.sourcing import prepare_pairs

        path = sourcing_file(bench.arguments.rows, bench.arguments.seed)
        prepared = prepare_pairs(
            read_table(str(path)), source=str(path), buyer_country=None, buyer_name=None
        )
        bench.cache["prepared"] = prepared
        bench.cache["features"] = feature_table(prepared, bench.reference(), as_of=bench.as_of)
    return bench.cache["prepared"], bench.cache["features"]


def step_scoring(bench: Bench) -> None:
    """Rows 1 and 2: ``score_file`` against the read+predict+write floor and plain pandas."""
    from bench.pandas_baseline import missing_features, score_with_pandas
    from riskengine.app.requests import ScoringRequest
    from riskengine.app.scoring import score_file
    from riskengine.models.matrix import feature_matrix

    rows = bench.arguments.rows
    path = sourcing_file(rows, bench.arguments.seed)
    output_directory = DATA_DIRECTORY / "outputs"
    output_directory.mkdir(parents=True, exist_ok=True)
    model = bench.model()
    reference = bench.reference()

    log(f"  riskengine score_file on {rows:,} rows")
    engine = measure.repeat(
        lambda: score_file(
            bench.settings,
            ScoringRequest.from_paths(
                str(path), str(output_directory / "scores_riskengine.csv"), bench.as_of
            ),
        ),
        runs=bench.runs,
        budget_seconds=bench.budget,
    )
    engine.result = None
    engine_output = pl.read_csv(
        output_directory / "scores_riskengine.csv", infer_schema=False
    ).with_columns(pl.col("risk_score", "model_score").cast(pl.Float64))
    log(f"  riskengine: {engine.describe()}, peak {engine.peak_mib:,.0f} MiB")

    _, features = prepared_pairs(bench)
    matrix = feature_matrix(features, model.feature_names)
    pair_ids = features["pair_id"].to_numpy().astype(np.int64)
    distinct_inputs = features.select(model.feature_names).n_unique()
    floor_parts: list[tuple[float, float, float]] = []

    def floor() -> None:
        started = time.perf_counter()
        frame = pl.read_csv(path, infer_schema=False, null_values=[""])
        read = time.perf_counter()
        probability = model.model.predict_proba(matrix)[:, 1]
        predicted = time.perf_counter()
        scores = np.full(frame.height, np.nan)
        scores[pair_ids] = probability
        frame.with_columns(pl.Series("risk_score", scores)).write_csv(
            output_directory / "scores_floor.csv"
        )
        floor_parts.append((read - started, predicted - read, time.perf_counter() - predicted))

    log("  floor: polars read_csv + bare predict_proba + polars write_csv")
    floor_timing = measure.repeat(floor, runs=bench.runs, budget_seconds=bench.budget)
    read_part, predict_part, write_part = sorted(floor_parts, key=sum)[len(floor_parts) // 2]
    log(f"  floor: {floor_timing.describe()}")
    ratio = engine.median / floor_timing.median
    bench.rows.append(
        Row(
            "scoring CSV→CSV: `score_file` vs floor (read + bare `predict_proba` + write)",
            rows,
            engine.median,
            floor_timing.median,
            ratio_text(ratio, "floor"),
            engine.peak_mib,
            f"≤ {FLOOR_TARGET}× floor",
            met_text(ratio <= FLOOR_TARGET),
        )
    )
    bench.note(
        f"scoring: riskengine {engine.describe()}; floor {floor_timing.describe()}, median run "
        f"= read {read_part:.2f} s + predict_proba {predict_part:.2f} s "
        f"({matrix.shape[1]} features, {matrix.shape[0]:,} usable rows, {distinct_inputs:,} "
        f"distinct input vectors) + write {write_part:.2f} s"
    )
    stage_breakdown(bench, path, output_directory)

    log("  pandas baseline")
    missing = missing_features(model.feature_names)
    plain = measure.repeat(
        lambda: score_with_pandas(
            path,
            output_directory / "scores_pandas.csv",
            reference=reference,
            model=model.model,
            feature_names=model.feature_names,
            as_of=bench.as_of,
            calibration=model.calibration,
        ),
        runs=bench.runs,
        budget_seconds=bench.budget,
    )
    log(f"  pandas: {plain.describe()}, peak {plain.peak_mib:,.0f} MiB")
    speedup = plain.median / engine.median
    bench.rows.append(
        Row(
            "scoring CSV→CSV: `score_file` vs plain pandas",
            rows,
            engine.median,
            plain.median,
            ratio_text(speedup, "faster"),
            engine.peak_mib,
            f"≥ {PANDAS_TARGET}× faster",
            met_text(speedup >= PANDAS_TARGET),
        )
    )
    checked(bench, "score agreement", lambda: compare_scores(bench, engine_output, plain.result))
    bench.note(
        f"pandas scoring: {plain.describe()}, peak RSS {plain.peak_mib:,.0f} MiB "
        f"(riskengine {engine.peak_mib:,.0f} MiB; process held {engine.start_mib:,.0f} MiB "
        "before)"
        + (
            f"; model features the pandas baseline does not build (scored as NaN): "
            f"{', '.join(missing)}"
            if missing
            else ""
        )
    )
    plain.result = None
    for name in ("scores_floor.csv", "scores_pandas.csv", "scores_stages.csv"):
        (output_directory / name).unlink(missing_ok=True)


def checked(bench: Bench, name: str, check: Callable[[], None]) -> None:
    """Run a sanity check; its failure is a note, not a lost measurement."""
    try:
        check()
    except Exception as error:  # the measurements stand; the check's failure is reported
        bench.note(f"{name} check failed: {type(error).__name__}: {error}"[:400])


def compare_scores(bench: Bench, engine_output: pl.DataFrame, plain: Any) -> None:
    """Check the pandas baseline scored the same rows with the same model probabilities."""
    engine_scores = engine_output["model_score"].cast(pl.Float64).to_numpy()
    plain_scores = plain["model_score"].to_numpy(dtype=float)
    both = ~np.isnan(engine_scores) & ~np.isnan(plain_scores)
    difference = (
        float(np.max(np.abs(engine_scores[both] - plain_scores[both]))) if both.any() else 0.0
    )
    bench.note(
        f"agreement: riskengine scored {int((~np.isnan(engine_scores)).sum()):,} rows, pandas "
        f"{int((~np.isnan(plain_scores)).sum()):,}; max |model_score − pandas score| on rows "
        f"both scored = {difference:.2e}"
    )


def stage_breakdown(bench: Bench, path: Path, output_directory: Path) -> None:
    """One extra run of the scoring path split into its public steps (for the notes)."""
    from riskengine.io import read_table, write_table
    from riskengine.models.tracking import load_registered_model
    from riskengine.prediction import family_contributions, feature_table, score_pairs
    from riskengine.reference.loader import load_reference
    from riskengine.sourcing import prepare_pairs

    stages: list[tuple[str, float]] = []

    def timed(name: str, function: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        value = function()
        stages.append((name, time.perf_counter() - started))
        return value

    try:
        raw = timed("read_table", lambda: read_table(str(path)))
        prepared = timed(
            "prepare_pairs",
            lambda: prepare_pairs(raw, source=str(path), buyer_country=None, buyer_name=None),
        )
        reference = timed("load_reference", lambda: load_reference(bench.settings.reference_dir))
        model = timed("load_registered_model", lambda: load_registered_model(bench.settings))
        features = timed(
            "feature_table", lambda: feature_table(prepared, reference, as_of=bench.as_of)
        )
        timed(
            "family_contributions (model runs, once per family + 1)",
            lambda: family_contributions(features, model),
        )
        output = timed(
            "score_pairs (all of it: features again, predictions, drivers, checks)",
            lambda: score_pairs(prepared, reference, model, as_of=bench.as_of),
        )
        timed(
            "write_table (CSV)",
            lambda: write_table(output, str(output_directory / "scores_stages.csv")),
        )
    except Exception as error:  # the breakdown is informative only
        stages.append((f"stopped: {type(error).__name__}: {error}"[:200], float("nan")))
    bench.note(
        "scoring stages (one extra run, public functions): "
        + "; ".join(f"{name} {seconds:.2f} s" for name, seconds in stages)
    )


# ---------------------------------------------------------------------------------- features


def step_features(bench: Bench) -> None:
    """Row 3: ``build_features`` on a 1M-pair spine against the same joins in pandas."""
    from bench.pandas_baseline import missing_features, pandas_features
    from riskengine.features.builders import registry
    from riskengine.features.runner import build_features

    prepared, engine_features = prepared_pairs(bench)
    reference = bench.reference()
    model = bench.model()
    spine = prepared.valid.drop("reason")
    rows = spine.height
    pandas_spine = spine.select(
        "pair_id", "material_id", "supplier_country", "buyer_country"
    ).to_pandas()
    reproduced = [
        name for name in model.feature_names if name not in missing_features(model.feature_names)
    ]
    same_specs = [spec for spec in registry() if spec.name in reproduced]

    everything = measure.repeat(
        lambda: build_features(spine, reference, as_of=bench.as_of),
        runs=bench.runs,
        budget_seconds=bench.budget,
    )
    feature_count = len([name for name in everything.result.columns if name not in spine.columns])
    everything.result = None
    log(f"  build_features (all {feature_count}): {everything.describe()}")
    same = measure.repeat(
        lambda: build_features(spine, reference, as_of=bench.as_of, specs=same_specs),
        runs=bench.runs,
        budget_seconds=bench.budget,
    )
    same.result = None
    log(f"  build_features ({len(same_specs)} model features): {same.describe()}")
    plain = measure.repeat(
        lambda: pandas_features(pandas_spine, reference, bench.as_of),
        runs=bench.runs,
        budget_seconds=bench.budget,
    )
    log(f"  pandas features: {plain.describe()}")
    for label, timing in (
        (f"all {feature_count} registry features", everything),
        (f"the {len(same_specs)} model features pandas builds", same),
    ):
        speedup = plain.median / timing.median
        bench.rows.append(
            Row(
                f"features: `build_features` ({label}) vs pandas ({len(reproduced)} features)",
                rows,
                timing.median,
                plain.median,
                ratio_text(speedup, "faster"),
                timing.peak_mib,
                "> 1× (report)",
                met_text(speedup > 1),
            )
        )
    bench.note(
        f"features: build_features all {everything.describe()}, peak {everything.peak_mib:,.0f} "
        f"MiB; same {len(same_specs)} features {same.describe()}, peak {same.peak_mib:,.0f} MiB; "
        f"pandas {plain.describe()}, peak {plain.peak_mib:,.0f} MiB"
    )
    checked(
        bench,
        "feature agreement",
        lambda: compare_features(bench, engine_features, plain.result, reproduced),
    )


def compare_features(
    bench: Bench, engine_features: pl.DataFrame, plain: Any, names: Sequence[str]
) -> None:
    """Cells where the pandas baseline's features differ from riskengine's (same pair order)."""
    differing = []
    plain_by_pair = plain.set_index("pair_id")
    pair_ids = engine_features["pair_id"].to_numpy()
    for name in names:
        engine_values = engine_features[name].cast(pl.Float64).to_numpy()
        plain_values = plain_by_pair[name].reindex(pair_ids).to_numpy(dtype=float)
        same = np.isclose(engine_values, plain_values, rtol=0, atol=1e-9) | (
            np.isnan(engine_values) & np.isnan(plain_values)
        )
        if not same.all():
            differing.append(f"{name} ({int((~same).sum()):,} rows)")
    bench.note(
        f"agreement: pandas reproduces {len(names) - len(differing)} of {len(names)} features "
        "exactly" + (f"; differing: {', '.join(differing)}" if differing else "")
    )


# --------------------------------------------------------------------------------------- BOM


def step_bom(bench: Bench) -> None:
    """Row 4: explode a 5-level BOM of about 1M paths and roll risk up (``score_bom``)."""
    rows = bench.arguments.bom_lines
    if importlib.util.find_spec("riskengine.bom") is None:
        bench.rows.append(
            Row("BOM: 5-level explode + roll-up", rows, None, None, "—", None, "< 10 s", "skipped")
        )
        bench.note("BOM skipped: riskengine/bom.py does not exist yet")
        return
    import riskengine.bom as bom_module

    score_bom = getattr(bom_module, "score_bom", None)
    if score_bom is None:
        bench.rows.append(
            Row("BOM: 5-level explode + roll-up", rows, None, None, "—", None, "< 10 s", "skipped")
        )
        bench.note("BOM skipped: riskengine.bom has no score_bom yet")
        return
    from riskengine.io import read_table
    from riskengine.prediction import score_pairs
    from riskengine.sourcing import prepare_pairs

    generated = generate_bom(rows, seed=bench.arguments.seed)
    bom_path = DATA_DIRECTORY / f"bom_{rows}_seed{bench.arguments.seed}.csv"
    generated.bom.write_csv(bom_path)
    bom_frame = read_table(str(bom_path))
    sourcing = generate_bom_sourcing(generated.leaf_material_ids, bench.arguments.seed)
    prepared = prepare_pairs(sourcing, source="bom sourcing", buyer_country=None, buyer_name=None)
    scored = score_pairs(prepared, bench.reference(), bench.model(), as_of=bench.as_of)
    timing = measure.repeat(
        lambda: score_bom(bom_frame, scored, source=bom_path.name),
        runs=bench.runs,
        budget_seconds=bench.budget,
    )
    log(f"  score_bom: {timing.describe()}, peak {timing.peak_mib:,.0f} MiB")
    bench.rows.append(
        Row(
            "BOM: 5-level explode + roll-up (`score_bom`)",
            generated.exploded_lines,
            timing.median,
            None,
            "—",
            timing.peak_mib,
            f"< {BOM_TARGET_SECONDS:.0f} s",
            met_text(timing.median < BOM_TARGET_SECONDS),
        )
    )
    bench.note(
        f"BOM: {generated.bom.height:,} BOM rows, {generated.products:,} products, "
        f"{generated.levels} levels, {len(generated.leaf_material_ids)} leaf materials with "
        f"{scored.height} scored sourcing rows; {generated.exploded_lines:,} product-to-material "
        f"paths; score_bom {timing.describe()}; {describe_result(timing.result)}; peak RSS "
        f"{timing.peak_mib:,.0f} MiB (process held {timing.start_mib:,.0f} MiB before)"
    )
    timing.result = None


def describe_result(result: Any) -> str:
    """Frames and counts in whatever ``score_bom`` returned."""
    parts = []
    for name in ("products", "lines", "problems"):
        value = getattr(result, name, None)
        if isinstance(value, pl.DataFrame):
            statuses = ""
            if "status" in value.columns:
                counts = value["status"].value_counts(sort=True).iter_rows()
                statuses = " (" + ", ".join(f"{status} {count:,}" for status, count in counts) + ")"
            parts.append(f"{name}: {value.height:,} rows{statuses}")
        elif isinstance(value, tuple | list):
            parts.append(f"{name}: {len(value):,}")
    return "returned " + ("; ".join(parts) if parts else type(result).__name__)


# ------------------------------------------------------------------------------------ memory


def step_memory(bench: Bench) -> None:
    """Row 5: peak RSS of ``score_file`` on 10M pairs, in a child process."""
    rows = bench.arguments.big_rows or 10 * bench.arguments.rows
    path = sourcing_file(rows, bench.arguments.seed)
    output = DATA_DIRECTORY / "outputs" / f"scores_{rows}.csv"
    output.parent.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "RISKENGINE_HOME": str(bench.settings.home)}
    log(
        f"  child: score_file on {rows:,} rows (stops past {bench.arguments.memory_cap_gib} GiB "
        f"or {bench.arguments.big_timeout:.0f} s)"
    )
    outcome = measure.run_child(
        measure.python_command(
            "-m", "bench.score_child", str(path), str(output), "--as-of", bench.as_of.isoformat()
        ),
        log_directory=RESULTS_DIRECTORY / "logs",
        name=f"score_{rows}",
        timeout_seconds=bench.arguments.big_timeout,
        memory_cap_mib=bench.arguments.memory_cap_gib * 1024,
        environment=environment,
    )
    finished = outcome.stopped is None and outcome.exit_code == 0
    if finished:
        report = json.loads(outcome.stdout.strip().splitlines()[-1])
        wall = report["seconds"]
        met = met_text(outcome.peak_mib < MEMORY_TARGET_MIB)
        detail = (
            f"finished: score_file {wall:.1f} s ({outcome.seconds:.1f} s with start-up), "
            f"{report.get('scored') or 0:,} rows scored"
        )
    else:
        wall = None
        where = last_riskengine_frame(outcome.stderr)
        met = "**no** (stopped)" if outcome.stopped else "**no** (failed)"
        detail = (
            f"did NOT finish: {outcome.stopped or f'exit code {outcome.exit_code}'}"
            f"; last riskengine frame: {where}; peak RSS when it stopped "
            f"{outcome.peak_mib:,.0f} MiB"
        )
        if not outcome.stopped:
            detail += f"; stderr tail: {outcome.stderr.strip()[-300:]}"
    bench.rows.append(
        Row(
            "scoring CSV→CSV: `score_file` peak RSS (child process)",
            rows,
            wall,
            None,
            "—",
            outcome.peak_mib,
            f"< {MEMORY_TARGET_MIB:,.0f} MiB",
            met,
        )
    )
    bench.note(
        f"{rows:,} rows in a child process: {detail}; peak RSS (the child's own VmHWM) "
        f"{outcome.peak_mib:,.0f} MiB, getrusage(RUSAGE_CHILDREN).ru_maxrss (from the "
        f"parent's high-water mark up) {outcome.children_peak_mib:,.0f} MiB"
    )
    if finished:
        compare_chunk_sizes(bench, path, output, environment)
    output.unlink(missing_ok=True)


SMALL_CHUNK_BYTES = 32 << 20


def compare_chunk_sizes(
    bench: Bench, path: Path, output: Path, environment: dict[str, str]
) -> None:
    """Score the big file again in 32 MiB chunks; the output must be the same bytes."""
    rows = bench.arguments.big_rows or 10 * bench.arguments.rows
    small = output.with_name(f"scores_{rows}_small_chunks.csv")
    log(f"  child: the same {rows:,} rows in {SMALL_CHUNK_BYTES >> 20} MiB chunks")
    outcome = measure.run_child(
        measure.python_command(
            "-m", "bench.score_child", str(path), str(small), "--as-of", bench.as_of.isoformat()
        ),
        log_directory=RESULTS_DIRECTORY / "logs",
        name=f"score_{rows}_small_chunks",
        timeout_seconds=bench.arguments.big_timeout,
        memory_cap_mib=bench.arguments.memory_cap_gib * 1024,
        environment={**environment, "RISKENGINE_CHUNK_BYTES": str(SMALL_CHUNK_BYTES)},
    )
    finished = outcome.stopped is None and outcome.exit_code == 0
    same = finished and file_digest(small) == file_digest(output)
    small.unlink(missing_ok=True)
    bench.rows.append(
        Row(
            f"scoring CSV→CSV in {SMALL_CHUNK_BYTES >> 20} MiB chunks: same bytes as the default",
            rows,
            None,
            None,
            "—",
            outcome.peak_mib,
            "identical output",
            met_text(same),
        )
    )
    bench.note(
        f"{rows:,} rows in {SMALL_CHUNK_BYTES >> 20} MiB chunks: "
        + ("finished" if finished else f"did NOT finish ({outcome.stopped or outcome.exit_code})")
        + f"; output {'identical to' if same else 'DIFFERENT from'} the default chunk size's; "
        f"peak RSS {outcome.peak_mib:,.0f} MiB"
    )


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 24):
            digest.update(block)
    return digest.hexdigest()


def last_riskengine_frame(stderr: str) -> str:
    """The innermost riskengine frame of a faulthandler dump (or "unknown")."""
    frames = re.findall(r'File "([^"]*riskengine/[^"]+)", line (\d+) in (\S+)', stderr)
    if not frames:
        return "unknown (no stack dump)"
    # faulthandler prints the innermost frame first.
    path, line, function = frames[0]
    return f"{path.split('riskengine/', 1)[1]}:{line} {function}"


# ------------------------------------------------------------------------------------ report


def format_table(rows: Sequence[Row]) -> str:
    """The results as a Markdown table."""

    def number(value: float | None, digits: int = 2) -> str:
        return "—" if value is None else f"{value:,.{digits}f}"

    lines = [
        "| step | rows | wall s | baseline s | ratio | peak MiB | target | met? |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.step} | {'—' if row.rows is None else f'{row.rows:,}'} | "
            f"{number(row.wall)} | {number(row.baseline)} | {row.ratio} | "
            f"{number(row.peak_mib, 0)} | {row.target} | {row.met} |"
        )
    return "\n".join(lines)


def environment_lines(bench: Bench, started: datetime) -> list[str]:
    """Versions, machine and repository state, for the report's header."""
    import mlflow
    import pandas
    import sklearn

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "status", "--porcelain", "riskengine"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    model = bench.cache.get("model")
    threads = ", ".join(
        f"{name}={os.environ[name]}"
        for name in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "POLARS_MAX_THREADS")
        if name in os.environ
    )
    return [
        f"- run {started:%Y-%m-%d %H:%M} UTC, as of {bench.as_of}, seed {bench.arguments.seed}, "
        f"median of up to {bench.runs} runs (fewer past {bench.budget:.0f} s per measurement)",
        f"- machine: {os.cpu_count()} CPUs, {platform.python_version()}, load average at start "
        f"{bench.cache['load_start']}, at end {os.getloadavg()[0]:.1f} (shared machine: noisy)",
        f"- polars {pl.__version__}, pandas {pandas.__version__}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, mlflow {mlflow.__version__}; thread settings: "
        f"{threads or 'defaults (no OMP_*/POLARS_MAX_THREADS set)'}",
        f"- riskengine at {commit} with {len(changed)} uncommitted paths under riskengine/; "
        f"model version {getattr(model, 'version', '?')} "
        f"({len(getattr(model, 'feature_names', ()))} features) from {bench.settings.tracking_uri}",
    ]


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="pairs for rows 1-3")
    parser.add_argument(
        "--only",
        default=",".join(STEPS),
        help=f"comma-separated steps among {', '.join(STEPS)} (default: all)",
    )
    parser.add_argument("--bom-lines", type=int, default=1_000_000, help="BOM exploded paths")
    parser.add_argument("--big-rows", type=int, default=None, help="pairs for the memory row")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--budget-seconds", type=float, default=420.0)
    parser.add_argument("--memory-cap-gib", type=float, default=8.0)
    parser.add_argument("--big-timeout", type=float, default=1500.0)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF)
    parser.add_argument("--output", type=Path, default=RESULTS_DIRECTORY / "latest.md")
    arguments = parser.parse_args(argv)
    steps = [step.strip() for step in arguments.only.split(",") if step.strip()]
    unknown = [step for step in steps if step not in STEPS]
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; choose among {', '.join(STEPS)}")
    arguments.steps = steps
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected steps, print the table and write it to ``bench/results/latest.md``."""
    arguments = parse_arguments(argv)
    started = datetime.now()
    from riskengine.config import load_settings
    from riskengine.models.tracking import champion_version

    settings = load_settings()
    if champion_version(settings) is None:
        print(
            f"no champion model in {settings.tracking_uri}; run `make train` first "
            "(the benchmark trains nothing itself)",
            file=sys.stderr,
        )
        return EXIT_NO_CHAMPION
    bench = Bench(arguments=arguments, settings=settings, as_of=arguments.as_of)
    try:
        bench.model()
    except Exception as error:  # e.g. a champion registered before integrity checks existed
        print(
            f"the champion model cannot be loaded: {type(error).__name__}: {error}\n"
            "fix the model store (e.g. `make train`) and run again",
            file=sys.stderr,
        )
        return EXIT_NO_CHAMPION
    bench.cache["load_start"] = f"{os.getloadavg()[0]:.1f}"
    DATA_DIRECTORY.mkdir(parents=True, exist_ok=True)
    steps: dict[str, Callable[[Bench], None]] = {
        "startup": step_startup,
        "process": step_process,
        "process-big": step_process_big,
        "scoring": step_scoring,
        "features": step_features,
        "bom": step_bom,
        "memory": step_memory,
    }
    for step in STEPS:
        if step in arguments.steps:
            if step == "memory":
                # The 1M frames are not needed any more; the child measures itself anyway.
                bench.cache.pop("prepared", None)
                bench.cache.pop("features", None)
            guarded(bench, step, lambda step=step: steps[step](bench))
    bench.model()
    table = format_table(bench.rows)
    report = "\n".join(
        [
            "# riskengine benchmark",
            "",
            *environment_lines(bench, started),
            "",
            table,
            "",
            "Notes:",
            "",
            *(f"- {note}" for note in bench.notes),
            "",
        ]
    )
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(report)
    print(report)
    log(f"wrote {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
