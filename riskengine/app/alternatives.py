"""The alternatives job: ``riskengine alternatives``: read a scores file (and a BOM), find and
score the other producing countries of each high or critical pair, write one row per pair and
candidate (nothing is written on error)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from riskengine.config import Settings
from riskengine.io import ReadOptions, check_outputs, write_table
from riskengine.reference.loader import load_reference

#: How many moves, and pairs without one, the summary names.
SUMMARY_ROWS = 10


@dataclass(frozen=True)
class AlternativesOutcome:
    """What ``riskengine alternatives`` found, for the summary on stderr."""

    table: pl.DataFrame
    scored_pairs: int
    flagged_pairs: int
    pairs_with_candidates: int
    left_out: dict[str, int]
    as_of: str
    model_version: str
    move: float
    with_bom: bool

    @property
    def summary(self) -> tuple[str, ...]:
        """Lines for the console: counts, what the constraints left out, the best moves."""
        lines = [
            f"{self.flagged_pairs} of {self.scored_pairs} scored pairs are high or critical; "
            f"{self.pairs_with_candidates} have candidate countries "
            f"({self.table.filter(pl.col('candidate_country_iso3').is_not_null()).height} rows); "
            f"as of {self.as_of}, model version {self.model_version}, moving {self.move:.0%} "
            "of a pair's volume"
        ]
        if self.left_out:
            lines.append(
                "left out by the constraints: "
                + ", ".join(f"{count} by {option}" for option, count in self.left_out.items())
            )
        found = self.table.filter(pl.col("candidate_country_iso3").is_not_null())
        if found.height:
            lines.append(f"best moves (of {found.height}):")
        for row in found.head(SUMMARY_ROWS).iter_rows(named=True):
            pair = f"{row['material'] or row['material_id']} from {row['supplier_country_iso3']}"
            improvement = (
                "n/a"
                if row["improvement"] is None
                else f"{row['improvement']:.1%} less expected supply lost"
            )
            if row.get("product_improvement") is not None:
                improvement += f" in {row['product']}"
            else:
                improvement += " of the material"
            lines.append(
                f"  {pair} -> {row['candidate_country']}: score {row['candidate_risk_score']:.3f} "
                f"({row['candidate_risk_band']}) against {row['pair_risk_score']:.3f}; "
                f"{improvement}"
            )
        without = self.table.filter(pl.col("candidate_country_iso3").is_null())
        for row in without.head(SUMMARY_ROWS).iter_rows(named=True):
            pair = f"{row['material'] or row['material_id']} from {row['supplier_country_iso3']}"
            lines.append(f"  {pair}: no alternative ({row['note']})")
        if without.height > SUMMARY_ROWS:
            lines.append(f"  and {without.height - SUMMARY_ROWS} more pairs without one")
        return tuple(lines)


def alternatives_file(
    settings: Settings,
    *,
    scores_path: str,
    output_path: str,
    bom_path: str | None = None,
    move: float | None = None,
    min_share: float | None = None,
    exclude: str | None = None,
    existing_only: bool = False,
    buyer_name: str | None = None,
    output_format: str | None = None,
    read_options: ReadOptions | None = None,
) -> AlternativesOutcome:
    """Write the alternatives of each high or critical pair of a scores file.

    The candidates are scored by the model version that scored the file, as of its as-of date,
    on the reference data of ``settings``. ``exclude`` is a comma-separated list of countries
    in any spelling ``score`` accepts. The output target is checked before any work; nothing is
    written when an input is unusable.
    """
    from riskengine.impact.alternatives import find_alternatives
    from riskengine.impact.alternatives_input import (
        DEFAULT_MIN_SHARE,
        DEFAULT_MOVE,
        Constraints,
        parse_countries,
        read_scores,
    )
    from riskengine.io import read_table
    from riskengine.models.loading import load_model

    constraints = Constraints(
        move=DEFAULT_MOVE if move is None else move,
        min_share=DEFAULT_MIN_SHARE if min_share is None else min_share,
        exclude=parse_countries(exclude, option="--exclude"),
        existing_only=existing_only,
    )
    check_outputs([output_path])
    source = "<stdin>" if scores_path == "-" else scores_path
    scores = read_scores(read_table(scores_path), source=source)
    bom = (read_options or ReadOptions()).read(bom_path) if bom_path else None
    reference = load_reference(settings.reference_dir)
    model = load_model(settings, scores.model_version)
    result = find_alternatives(
        scores,
        reference,
        model,
        constraints=constraints,
        buyer_name=buyer_name,
        bom=bom,
        bom_source=bom_path or "BOM",
    )
    write_table(result.table, output_path, output_format)
    return AlternativesOutcome(
        table=result.table,
        scored_pairs=result.scored_pairs,
        flagged_pairs=result.flagged_pairs,
        pairs_with_candidates=result.pairs_with_candidates,
        left_out=result.left_out,
        as_of=scores.as_of.isoformat(),
        model_version=scores.model_version,
        move=constraints.move,
        with_bom=bom is not None,
    )
