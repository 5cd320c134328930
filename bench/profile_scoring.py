"""Profile the real scoring path (``score_file``, CSV to CSV) with cProfile and list hotspots.

    python -m bench.profile_scoring [--rows 100000] [--top 25]

A warm-up run on 1,000 rows first pays the imports and caches, so the profile shows the work
that grows with the input. Prints the functions with the most self time and the riskengine
functions with the most cumulative time, each with its share of the profiled wall time, and
saves the report and the raw profile to ``bench/results/profile_scoring_<rows>.txt`` and
``.prof`` (open the latter with ``python -m pstats`` or ``snakeviz``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bench.generate import DEFAULT_SEED
from bench.run import DATA_DIRECTORY, DEFAULT_AS_OF, RESULTS_DIRECTORY, sourcing_file

SITE_PACKAGES = "site-packages/"


def short_location(file_name: str, line: int, function: str) -> str:
    """``package/module.py:line(function)`` for a profile entry."""
    if file_name == "~":
        return function
    if SITE_PACKAGES in file_name:
        file_name = file_name.split(SITE_PACKAGES, 1)[1]
    elif "/riskengine/" in file_name:
        file_name = "riskengine/" + file_name.split("/riskengine/", 1)[1]
    elif "/lib/python" in file_name:
        file_name = "stdlib/" + file_name.split("/lib/python", 1)[1].split("/", 1)[-1]
    return f"{file_name}:{line}({function})"


def hotspot_lines(
    statistics: pstats.Stats, wall_seconds: float, *, top: int, key: str, only_riskengine: bool
) -> list[str]:
    """Rows of ``share  seconds  calls  location`` sorted by self (tottime) or cumulative time."""
    entries = []
    for (file_name, line, function), values in statistics.stats.items():  # type: ignore[attr-defined]
        _, calls, self_seconds, cumulative_seconds, _ = values
        if only_riskengine and "/riskengine/" not in file_name:
            continue
        seconds = self_seconds if key == "self" else cumulative_seconds
        entries.append((seconds, calls, short_location(file_name, line, function)))
    entries.sort(reverse=True)
    return [
        f"{seconds / wall_seconds:6.1%}  {seconds:8.2f} s  {calls:>10,}  {location}"
        for seconds, calls, location in entries[:top]
    ]


def per_feature_lines(path: Path, settings: object, as_of: date) -> list[str]:
    """Wall time of ``build_features`` with one builder at a time, slowest first.

    Builders run together in one ``collect_all`` in the real path (sharing work and threads),
    so these times do not add up to the whole; they show which builders are heavy.
    """
    from riskengine.features.builders import registry
    from riskengine.features.runner import build_features
    from riskengine.io import read_table
    from riskengine.reference.loader import load_reference
    from riskengine.sourcing import prepare_pairs

    reference = load_reference(settings.reference_dir)  # type: ignore[attr-defined]
    prepared = prepare_pairs(
        read_table(str(path)), source=str(path), buyer_country=None, buyer_name=None
    )
    spine = prepared.valid.drop("reason")
    timings = []
    for spec in registry():
        started = time.perf_counter()
        build_features(spine, reference, as_of=as_of, specs=[spec])
        timings.append((time.perf_counter() - started, spec.family, spec.name))
    started = time.perf_counter()
    build_features(spine, reference, as_of=as_of)
    together = time.perf_counter() - started
    timings.sort(reverse=True)
    return [
        f"all {len(timings)} builders together: {together:.2f} s; one at a time: "
        f"{sum(seconds for seconds, _, _ in timings):.2f} s in total",
        "",
        *(f"{seconds:8.2f} s  {family:16s} {name}" for seconds, family, name in timings),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Warm up, profile ``score_file`` on ``--rows`` generated rows and print the hotspots."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_scoring", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF)
    parser.add_argument(
        "--per-feature", action="store_true", help="also time each feature builder alone"
    )
    arguments = parser.parse_args(argv)

    from riskengine.app.requests import ScoringRequest
    from riskengine.app.scoring import score_file
    from riskengine.config import load_settings
    from riskengine.models.tracking import champion_version

    settings = load_settings()
    if champion_version(settings) is None:
        print("no champion model; run `make train` first", file=sys.stderr)
        return 2
    output = DATA_DIRECTORY / "outputs" / "scores_profile.csv"
    output.parent.mkdir(parents=True, exist_ok=True)

    def score(path: Path) -> None:
        score_file(settings, ScoringRequest.from_paths(str(path), str(output), arguments.as_of))

    score(sourcing_file(1_000, arguments.seed))
    path = sourcing_file(arguments.rows, arguments.seed)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(score, path)
    wall_seconds = time.perf_counter() - started
    output.unlink(missing_ok=True)
    profile_path = RESULTS_DIRECTORY / f"profile_scoring_{arguments.rows}.prof"
    profiler.dump_stats(profile_path)
    statistics = pstats.Stats(profiler, stream=io.StringIO())

    header = "share   seconds       calls  location"
    report = [
        f"# score_file on {arguments.rows:,} rows: {wall_seconds:.2f} s under cProfile",
        "",
        "## Self time (where the time is actually spent)",
        "",
        header,
        *hotspot_lines(
            statistics, wall_seconds, top=arguments.top, key="self", only_riskengine=False
        ),
        "",
        "## riskengine functions by cumulative time",
        "",
        header,
        *hotspot_lines(
            statistics, wall_seconds, top=arguments.top, key="cumulative", only_riskengine=True
        ),
        "",
        f"raw profile: {profile_path}",
    ]
    if arguments.per_feature:
        report += [
            "",
            f"## Feature builders on {arguments.rows:,} rows, one at a time",
            "",
            *per_feature_lines(path, settings, arguments.as_of),
        ]
    text = "\n".join(report)
    (RESULTS_DIRECTORY / f"profile_scoring_{arguments.rows}.txt").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
