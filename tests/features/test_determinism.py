"""The feature table is byte-identical across runs and polars thread counts (issue 14 item 7:
`material_hhi_wgi` and `decayed_restriction_severity` differed in the last digit)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from riskengine.features.common import ordered_sum

# Materials whose concentration and policy features sum several floats: rare-earth oxides with
# many producers and events, cobalt under quotas, sourcing shares split across countries.
SOURCING = """supplier,supplier_country,material,share
Baotou Trading,China,Dy2O3,0.8
Hanoi Materials,Viet Nam,dysprosium oxide,0.2
Inner Mongolia Oxide,China,NdPr oxide,0.6
Kuantan Separation,Malaysia,NdPr oxide,0.3
La Rochelle Terres,France,NdPr oxide,0.1
Katanga Cobalt,DR Congo,cobalt metal,0.7
Sudbury Nickel,Canada,cobalt metal,0.3
Jiangxi Tungsten,China,ammonium paratungstate,1.0
"""
REPOSITORY = Path(__file__).resolve().parents[2]


def features_bytes(tmp_path: Path, name: str, threads: str | None) -> bytes:
    """The `features` output of a child process, with ``POLARS_MAX_THREADS`` set or not."""
    source = tmp_path / "sourcing.csv"
    source.write_text(SOURCING, encoding="utf-8")
    output = tmp_path / f"{name}.csv"
    environment = {key: value for key, value in os.environ.items() if key != "POLARS_MAX_THREADS"}
    environment.update({"RISKENGINE_HOME": str(tmp_path), "PYTHONPATH": str(REPOSITORY)})
    environment.pop("RISKENGINE_REFERENCE_DIR", None)
    if threads is not None:
        environment["POLARS_MAX_THREADS"] = threads
    command = [sys.executable, "-m", "riskengine", "features", str(source), "-o", str(output)]
    completed = subprocess.run(
        [*command, "--as-of", "2026-12-06", "--buyer-country", "JP"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return output.read_bytes()


# Five child processes, each importing the stack and building features: a slow case.
@pytest.mark.slow
def test_features_are_byte_identical_across_runs_and_thread_counts(tmp_path: Path) -> None:
    single = features_bytes(tmp_path, "single", "1")
    several = features_bytes(tmp_path, "several", "3")
    default = features_bytes(tmp_path, "default", None)
    again = features_bytes(tmp_path, "again", None)

    assert several == single
    assert default == single
    assert again == single
    written = pl.read_csv(tmp_path / "single.csv")
    assert written["material_hhi_wgi"].is_not_null().all()
    assert (written["decayed_restriction_severity"] > 0).any()


@pytest.mark.parametrize(
    "values",
    [[1e16, 1.0, -1e16, 1.0], [1.0, 1.0, 1e16, -1e16], [-1e16, 1.0, 1e16, 1.0]],
)
def test_an_ordered_sum_does_not_depend_on_row_order(values: list[float]) -> None:
    frame = pl.DataFrame({"group": ["a"] * len(values), "value": values})

    summed = frame.group_by("group").agg(ordered_sum(pl.col("value")))["value"][0]

    # Ascending: -1e16 + 1 + 1 + 1e16, whatever order the rows came in.
    assert summed == ((-1e16 + 1.0) + 1.0) + 1e16


def test_an_ordered_sum_skips_nulls_and_is_zero_when_empty() -> None:
    frame = pl.DataFrame(
        {"group": ["a", "a", "b"], "value": [0.25, None, None]},
        schema={"group": pl.String, "value": pl.Float64},
    )

    summed = frame.group_by("group").agg(ordered_sum(pl.col("value"))).sort("group")

    assert summed["value"].to_list() == [0.25, 0.0]
