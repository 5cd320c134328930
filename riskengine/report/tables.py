"""The report's tables and facts as plain data for the template (text, never HTML).

A cell is ``(text, css class)``; the template escapes the text. Cells that need markup (a band
badge, a list of drivers, a code span) are named fields the template renders itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from riskengine.bom.results import PRODUCT_PARTIAL
from riskengine.explain import country_name
from riskengine.report.common import (
    DRIVER_SEPARATOR,
    HEADLINE_METRICS,
    REQUIRED_SCORE_COLUMNS,
    TOP_PAIRS,
    TOP_PRODUCTS,
    ModelCard,
    cell_text,
    comparison,
    country_label,
    input_column,
    interval,
    material_name,
    metric,
    percent,
    require_columns,
    with_input_row,
)
from riskengine.schemas import (
    RISK_BANDS,
    SCORE_OUTPUT_COLUMNS,
    STATUS_BLOCKED,
    STATUS_REJECTED,
    STATUS_SCORED,
)

Cell = tuple[str, str]
"""(text, css class); an empty class means none."""
NUMBER = "number"


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[Cell]]


def top_pairs(scores: pl.DataFrame, limit: int = TOP_PAIRS) -> pl.DataFrame:
    """The riskiest scored rows, riskiest first (ties keep input order).

    Returns the rows as they are in ``scores`` with two columns in front: ``input_row`` (its
    1-based position in ``scores``) and ``pair_label`` (material, supplier and supplier country in
    words, as the report shows it). Use it to pick the pairs whose history the report charts.
    """
    require_columns(scores, REQUIRED_SCORE_COLUMNS, "scores")
    supplier_column = input_column(scores, "supplier")
    ranked = (
        with_input_row(scores)
        .filter(pl.col("status") == STATUS_SCORED)
        .sort(["risk_score", "input_row"], descending=[True, False], nulls_last=True)
        .head(limit)
    )
    suppliers = (
        ranked[supplier_column].cast(pl.String).to_list()
        if supplier_column
        else [None] * ranked.height
    )
    labels = [
        f"{material_name(material)} — {supplier or 'unnamed supplier'} "
        f"({country_name(country) if country else 'unknown country'})"
        for material, supplier, country in zip(
            ranked["material_id"].to_list(),
            suppliers,
            ranked["supplier_country_iso3"].to_list(),
            strict=True,
        )
    ]
    labelled = ranked.with_columns(pl.Series("pair_label", labels, dtype=pl.String))
    front = ["input_row", "pair_label"]
    return labelled.select(front + [name for name in labelled.columns if name not in front])


def header_facts(scores: pl.DataFrame, model_card: ModelCard) -> list[tuple[str, str]]:
    """(label, value) for the header's fact boxes: rows, statuses, bands, the model."""
    status = scores["status"]
    scored = scores.filter(status == STATUS_SCORED)
    rejected_count = int((status == STATUS_REJECTED).sum())
    blocked_count = int((status == STATUS_BLOCKED).sum())
    other_count = scores.height - scored.height - rejected_count - blocked_count
    as_of_values = (
        scores["as_of"].cast(pl.String).drop_nulls().unique().sort().to_list()
        if "as_of" in scores.columns
        else []
    )
    facts = [
        ("Scores as of", ", ".join(as_of_values) or model_card.as_of),
        ("Rows", f"{scores.height:,}"),
        ("Scored", f"{scored.height:,}"),
        ("Rejected", f"{rejected_count:,}"),
    ]
    if blocked_count:
        # Shown only when present, so a list without source statuses reads as before.
        facts.append(("Blocked sources", f"{blocked_count:,}"))
    if other_count:
        # The schema allows three statuses; a hand-edited file may not, and must reconcile.
        facts.append(("Other status", f"{other_count:,}"))
    bands = scored["risk_band"].cast(pl.String).to_list()
    facts += [
        (f"{band.capitalize()} band", f"{bands.count(band):,}") for band in reversed(RISK_BANDS)
    ]
    facts.append(("Model version", model_card.model_version))
    return facts


def top_pair_rows(scores: pl.DataFrame) -> list[dict[str, Any]]:
    """One dict per top pair, riskiest first, with the fields the top-pairs table shows."""
    supplier_column = input_column(scores, "supplier")
    rows = []
    for rank, row in enumerate(top_pairs(scores, TOP_PAIRS).iter_rows(named=True), start=1):
        rows.append(
            {
                "rank": rank,
                "material": material_name(row["material_id"]),
                "supplier": (row[supplier_column] if supplier_column else None) or None,
                "supplier_country": country_label(row["supplier_country_iso3"]),
                "buyer_country": country_label(row["buyer_country_iso3"]),
                "risk_score": percent(row["risk_score"]),
                "interval": interval(row),
                "restriction": str(row.get("restriction_state") or "").replace("_", " "),
                "band": row["risk_band"],
                "drivers": [
                    sentence
                    for sentence in (row["drivers"] or "").split(DRIVER_SEPARATOR)
                    if sentence.strip()
                ],
                "input_row": row["input_row"],
            }
        )
    return rows


def exposure_tables(bom_products: pl.DataFrame) -> tuple[pl.DataFrame, int, Table]:
    """The products to chart (most exposed first, at most :data:`TOP_PRODUCTS`), how many
    could be charted, and the table of those that could not."""
    products = with_input_row(
        bom_products.with_columns(
            pl.col("risk_score").cast(pl.Float64, strict=False),
            pl.col("exposure").cast(pl.Float64, strict=False),
        )
    )
    # A partial product (some inputs had no scored supplier) has a score for the rest: it is
    # charted, and its label says so.
    has_score = pl.col("status").is_in([STATUS_SCORED, PRODUCT_PARTIAL]).fill_null(False)
    charted = has_score & pl.col("exposure").is_not_null()
    chartable = (
        products.filter(charted)
        .with_columns(
            pl.when(pl.col("status") == PRODUCT_PARTIAL)
            .then(pl.format("{} (partial)", pl.col("product").cast(pl.String)))
            .otherwise(pl.col("product").cast(pl.String))
            .alias("product")
        )
        .sort(["exposure", "input_row"], descending=[True, False])
    )
    not_charted = products.filter(~charted)
    reasons = (
        not_charted["reason"].cast(pl.String).to_list()
        if "reason" in not_charted.columns
        else [None] * not_charted.height
    )
    rows: list[list[Cell]] = [
        [
            (str(row), NUMBER),
            (cell_text(product), ""),
            (cell_text(status), ""),
            (reason or "no exposure recorded", ""),
        ]
        for row, product, status, reason in zip(
            not_charted["input_row"].to_list(),
            not_charted["product"].cast(pl.String).to_list(),
            not_charted["status"].cast(pl.String).to_list(),
            reasons,
            strict=True,
        )
    ]
    return (
        chartable.head(TOP_PRODUCTS),
        chartable.height,
        Table(["Row", "Product", "Status", "Reason"], rows),
    )


def model_card_tables(model_card: ModelCard) -> dict[str, Any]:
    """The model card's facts, validation, bands and metrics for the template."""
    validation = Table(
        [
            "Score",
            "Event-level AUC",
            "95% event-bootstrap CI",
            "Leave-one-event-out",
            "Median percentile",
        ],
        [
            [
                (cell_text(row.get("label") or row["score"]), ""),
                (metric(row["event_auc_6m"]), NUMBER),
                (f"{metric(row['ci_low'])}-{metric(row['ci_high'])}", NUMBER),
                (f"{metric(row['loeo_min'])}-{metric(row['loeo_max'])}", NUMBER),
                (percent(row["median_percentile"]), NUMBER),
            ]
            for row in model_card.validation
        ],
    )
    bands = [
        {
            "band": row["risk_band"],
            "cells": [
                (percent(row["coverage"]), NUMBER),
                (percent(row["observed_new_measure_rate"]), NUMBER),
                (percent(row["observed_restricted_rate"]), NUMBER),
            ],
        }
        for row in model_card.bands
    ]
    metrics = model_card.metrics
    shown: set[str] = set()
    metric_rows: list[list[Cell]] = []
    for label, suffix, higher_is_better in HEADLINE_METRICS:
        model_value = metrics.get(f"test_{suffix}")
        baseline_value = metrics.get(f"baseline_{suffix}")
        if model_value is None and baseline_value is None:
            continue
        shown.update({f"test_{suffix}", f"baseline_{suffix}"})
        metric_rows.append(
            [
                (f"{label} ({'higher' if higher_is_better else 'lower'} is better)", ""),
                (metric(model_value), NUMBER),
                (metric(baseline_value), NUMBER),
                (comparison(model_value, baseline_value, higher_is_better), ""),
            ]
        )
    others = sorted(name for name in metrics if name not in shown)
    return {
        "facts": [
            ("Model version", model_card.model_version),
            ("Training run", model_card.run_id),
            ("Trained on", model_card.trained_on),
            ("Reference data fingerprint", model_card.reference_fingerprint),
            ("Scores as of", model_card.as_of),
        ],
        "validation": validation if validation.rows else None,
        "bands": bands,
        "metrics": Table(["Metric", "Model", "Baseline", "Model vs baseline"], metric_rows)
        if metric_rows
        else None,
        "other_metrics": Table(
            ["Metric", "Value"], [[(name, ""), (metric(metrics[name]), NUMBER)] for name in others]
        )
        if others
        else None,
    }


def rejected_table(scores: pl.DataFrame) -> Table:
    """Every row that was not scored (rejected, or a blocked source), with the input as given,
    its status and why."""
    rejected = with_input_row(scores).filter(pl.col("status") != STATUS_SCORED)
    input_columns = [name for name in scores.columns if name not in SCORE_OUTPUT_COLUMNS]
    rows = [
        [(str(row["input_row"]), NUMBER)]
        + [(cell_text(row[name]), "") for name in input_columns]
        + [(cell_text(row["status"]), ""), (row["reason"] or "no reason recorded", "")]
        for row in rejected.select("input_row", *input_columns, "status", "reason").iter_rows(
            named=True
        )
    ]
    return Table(["Input row", *input_columns, "Status", "Reason"], rows)
