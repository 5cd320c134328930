"""The validation result as markdown tables (``riskengine backtest`` and the README show them)."""

from __future__ import annotations

from typing import Any


def _markdown_table(headers: list[str], aligns: str, rows: list[list[str]]) -> str:
    """A markdown table; ``aligns`` has one character per column, ``l`` or ``r``."""
    rule = "|".join("---:" if align == "r" else "---" for align in aligns)
    return "\n".join(
        [f"| {' | '.join(headers)} |", f"|{rule}|", *(f"| {' | '.join(row)} |" for row in rows)]
    )


def validation_markdown(result: Any) -> str:
    """The validation tables as markdown (the README and ``riskengine backtest`` show them)."""
    tables = [
        _markdown_table(
            [
                "score",
                "event AUC 6 m ahead",
                "95% event-bootstrap CI",
                "leave-one-event-out range",
                "median decision percentile",
            ],
            "lrrrr",
            [
                [
                    row["label"],
                    f"{row['event_auc_6m']:.3f}",
                    f"{row['ci_low']:.3f}-{row['ci_high']:.3f}",
                    f"{row['loeo_min']:.3f}-{row['loeo_max']:.3f}",
                    f"{row['median_percentile']:.0%}",
                ]
                for row in result.summary.iter_rows(named=True)
            ],
        ),
        _markdown_table(
            [
                "decision",
                "country",
                "measure",
                "target",
                "took effect",
                "flows",
                "percentile (median)",
                "AUC",
                "best band 6 m ahead",
            ],
            "lllllrrrl",
            [
                [
                    row["event_id"],
                    row["country"],
                    row["measure"],
                    row["target"] or "all",
                    str(row["took_effect"]),
                    str(row["flows"]),
                    f"{row['risk_score_percentile']:.0%}",
                    f"{row['risk_score_auc']:.3f}",
                    row["best_band"],
                ]
                for row in result.decisions.iter_rows(named=True)
            ],
        ),
        _markdown_table(
            [
                "year",
                "rows",
                "positives",
                "predicted rate",
                "observed rate",
                "predicted / observed",
            ],
            "lrrrrr",
            [
                [
                    str(row["fold_year"]),
                    f"{row['rows']:,}",
                    f"{row['positives']:,}",
                    f"{row['predicted']:.4f}",
                    f"{row['observed']:.4f}",
                    f"{row['predicted_over_observed']:.2f}",
                ]
                for row in result.years.iter_rows(named=True)
            ],
        ),
        _markdown_table(
            [
                "band",
                "flow-months",
                "coverage",
                "observed new-measure rate",
                "restricted rate",
                "decisions",
            ],
            "lrrrrr",
            [
                [
                    row["risk_band"],
                    f"{row['rows']:,}",
                    f"{row['coverage']:.1%}",
                    f"{row['observed_new_measure_rate']:.2%}",
                    f"{row['observed_restricted_rate']:.1%}",
                    str(row["decisions"]),
                ]
                for row in result.bands.iter_rows(named=True)
            ],
        ),
    ]
    return "\n\n".join(tables)
