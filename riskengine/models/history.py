"""A team's own disruption history as a training panel.

Input: one record per pair and period, with columns ``material``, ``supplier``,
``supplier_country``, ``buyer_country`` (or a default buyer country), ``period`` (``YYYY-MM``
or ``YYYY-MM-DD``) and ``disrupted`` (1 when that pair's supply was late, short or cancelled in
the period, else 0); optional ``buyer`` and ``share``. Materials and countries resolve exactly
as when scoring (:func:`riskengine.sourcing.prepare_pairs`).

The model predicts a disruption within the horizon, so a record's label is 1 when the same
pair has a disrupted record in [period start, period start + horizon). A record is used only
when the history covers its whole horizon: the history runs to its last period plus one
period step (the smallest gap between recorded periods, in months). Its features are built as
of the period start, from what was known then.

Nothing is dropped silently: records that cannot be used come back with a reason, and records
whose horizon the history does not yet cover are counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import cast

import polars as pl

from riskengine.errors import UserInputError
from riskengine.features.builders import registry
from riskengine.features.registry import PAIR_KEY
from riskengine.features.runner import build_features
from riskengine.io.columns import resolve_columns
from riskengine.models.panel import PanelWindow, canonical_floats, months_after
from riskengine.reference.loader import ReferenceData
from riskengine.sourcing import prepare_pairs

HISTORY_ALIASES: dict[str, tuple[str, ...]] = {
    "period": ("period", "period_start", "month", "date"),
    "disrupted": ("disrupted", "disruption", "label"),
}
HISTORY_REQUIRED = ("period", "disrupted")
PAIR_COLUMNS = ("material_id", "supplier_name", "supplier_country", "buyer_country", "buyer_name")
PAIR_TEXT_COLUMNS = ("material", "supplier", "supplier_country", "buyer_country", "buyer")
TRUE_TEXT = frozenset({"1", "1.0", "true", "yes", "y"})
FALSE_TEXT = frozenset({"0", "0.0", "false", "no", "n"})
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class HistoryRecords:
    """Usable records (resolved pair, ``period`` date, ``disrupted``) and the rejected ones."""

    records: pl.DataFrame
    rejects: pl.DataFrame


@dataclass(frozen=True)
class HistoryPanel:
    """The training panel built from a history, and what was left out of it."""

    panel: pl.DataFrame
    window: PanelWindow
    rejects: pl.DataFrame
    unobserved_rows: int
    observed_until: date


def _parse_period(value: object) -> tuple[date | None, str | None]:
    if isinstance(value, date):
        return value, None
    text = str(value).strip() if value is not None else ""
    try:
        if _MONTH.match(text):
            return date(int(text[:4]), int(text[5:7]), 1), None
        if _DAY.match(text):
            return date.fromisoformat(text), None
    except ValueError:
        pass
    return None, f"period {text!r} is not YYYY-MM or YYYY-MM-DD"


def _parse_flag(value: object) -> tuple[int | None, str | None]:
    text = str(value).strip().casefold() if value is not None else ""
    if text in TRUE_TEXT:
        return 1, None
    if text in FALSE_TEXT:
        return 0, None
    return None, f"disrupted {text!r} is not 0 or 1"


def _resolve_pairs(frame: pl.DataFrame, *, source: str, buyer_country: str | None) -> pl.DataFrame:
    """Each record's resolved pair (``material_id``, countries, names) and any ``reason``.

    A history repeats every pair once per period, and :func:`prepare_pairs` refuses a sourcing
    list that repeats a pair, so each distinct pair is resolved once. Each gets its own
    ``supplier_id`` so that two spellings of one pair ("CN" and "China") are not refused as
    repeats of each other; they resolve to the same pair and count as one.
    """
    sourcing = resolve_columns(frame.columns, source=source)
    text = frame.select(
        pl.col(sourcing[name]).cast(pl.String).str.strip_chars().alias(name)
        if name in sourcing
        else pl.lit(None, dtype=pl.String).alias(name)
        for name in PAIR_TEXT_COLUMNS
    )
    distinct = text.unique(maintain_order=True).with_row_index("pair_index")
    prepared = prepare_pairs(
        distinct.with_columns(pl.format("history-pair-{}", "pair_index").alias("supplier_id")).drop(
            "pair_index"
        ),
        source=source,
        buyer_country=buyer_country,
        buyer_name=None,
    )
    pairs = pl.concat(
        [
            distinct.select("pair_index"),
            prepared.resolved.select(
                "material_id",
                "supplier_country",
                "buyer_country",
                "supplier_name",
                "buyer_name",
                "reason",
            ),
        ],
        how="horizontal",
    )
    return (
        text.join(
            distinct,
            on=list(PAIR_TEXT_COLUMNS),
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .select("pair_index")
        .join(pairs, on="pair_index", how="left", maintain_order="left")
        .select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias(PAIR_KEY),
            "material_id",
            "supplier_country",
            "buyer_country",
            "supplier_name",
            "buyer_name",
            "reason",
        )
    )


def read_history(
    frame: pl.DataFrame, *, source: str, buyer_country: str | None = None
) -> HistoryRecords:
    """Resolve and validate history records; every input row is a record or a reject.

    Raises
    ------
    MissingColumnsError
        When a required column is absent.
    """
    columns = resolve_columns(
        frame.columns, source=source, aliases=HISTORY_ALIASES, required=HISTORY_REQUIRED
    )
    resolved = _resolve_pairs(frame, source=source, buyer_country=buyer_country)
    periods = [_parse_period(value) for value in frame[columns["period"]].to_list()]
    flags = [_parse_flag(value) for value in frame[columns["disrupted"]].to_list()]
    resolved = resolved.with_columns(
        pl.Series("period", [period for period, _ in periods], dtype=pl.Date),
        pl.Series("disrupted", [flag for flag, _ in flags], dtype=pl.Int8),
        pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias("row"),
    )
    reasons = pl.DataFrame(
        [
            resolved["reason"],
            pl.Series([reason for _, reason in periods], dtype=pl.String),
            pl.Series([reason for _, reason in flags], dtype=pl.String),
            pl.Series(
                [
                    None if value else "buyer country is empty"
                    for value in resolved["buyer_country"]
                ],
                dtype=pl.String,
            ),
        ]
    ).select(pl.concat_str(pl.all(), separator="; ", ignore_nulls=True).alias("reason"))
    resolved = resolved.with_columns(reasons["reason"].replace("", None))
    pair = [
        pl.col("supplier_name").str.strip_chars().str.to_lowercase(),
        pl.col("buyer_name").str.strip_chars().str.to_lowercase(),
    ]
    duplicate_of = (
        resolved.filter(pl.col("reason").is_null())
        .with_columns(pair)
        .with_columns(pl.col("row").first().over([*PAIR_COLUMNS, "period"]).alias("first_row"))
        .filter(pl.col("row") != pl.col("first_row"))
        .select("row", "first_row")
    )
    resolved = resolved.join(
        duplicate_of, on="row", how="left", maintain_order="left"
    ).with_columns(
        pl.when(pl.col("first_row").is_not_null())
        .then(pl.format("duplicate of row {} (same pair and period)", "first_row"))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )
    rejected = resolved["reason"].is_not_null()
    rejects = pl.concat(
        [
            frame.filter(rejected),
            resolved.filter(rejected).select("row", "reason"),
        ],
        how="horizontal",
    )
    records = resolved.filter(~rejected).drop("reason", "first_row")
    return HistoryRecords(records=records, rejects=rejects)


def _month_number(day: pl.Expr) -> pl.Expr:
    return day.dt.year().cast(pl.Int64) * 12 + day.dt.month().cast(pl.Int64)


def period_step_months(records: pl.DataFrame) -> int:
    """The smallest gap between distinct recorded periods, in months (1 for one period)."""
    months = records.select(_month_number(pl.col("period")).unique().sort())["period"]
    gaps = months.diff().drop_nulls().filter(months.diff().drop_nulls() > 0)
    return int(cast(int, gaps.min())) if gaps.len() else 1


def label_history(records: pl.DataFrame, *, horizon_months: int) -> pl.DataFrame:
    """Each record with ``label`` (a disruption of the same pair within the horizon) and
    ``observed`` (the history covers the whole horizon)."""
    step = period_step_months(records)
    last = cast(date, records["period"].max())
    observed_until = months_after(date(last.year, last.month, 1), step)
    # Null buyer names must still match each other in the join below.
    keys = [
        pl.col(name).fill_null("").str.strip_chars().str.to_lowercase().alias(f"_{name}")
        for name in PAIR_COLUMNS
    ]
    key_names = [f"_{name}" for name in PAIR_COLUMNS]
    rows = records.with_columns(keys).sort("period")
    disruptions = (
        rows.filter(pl.col("disrupted") == 1)
        .select(*key_names, pl.col("period").alias("next_disruption"))
        .unique()
        .sort("next_disruption")
    )
    horizon_end = pl.col("period").dt.offset_by(f"{horizon_months}mo")
    return (
        rows.join_asof(
            disruptions,
            left_on="period",
            right_on="next_disruption",
            by=key_names,
            strategy="forward",
            check_sortedness=False,
        )
        .with_columns(
            (pl.col("next_disruption").is_not_null() & (pl.col("next_disruption") < horizon_end))
            .cast(pl.Int8)
            .alias("label"),
            (horizon_end <= observed_until).alias("observed"),
        )
        .drop(*key_names, "next_disruption")
        .sort("row")
    )


def history_panel(
    records: HistoryRecords, reference: ReferenceData, *, horizon_months: int
) -> HistoryPanel:
    """Point-in-time features for every observed record, with its label.

    Raises
    ------
    UserInputError
        When no record has its whole horizon inside the history.
    """
    if records.records.is_empty():
        raise UserInputError("the history has no usable records; see the rejected rows")
    labelled = label_history(records.records, horizon_months=horizon_months)
    observed = labelled.filter(pl.col("observed"))
    step = period_step_months(records.records)
    last = cast(date, records.records["period"].max())
    observed_until = months_after(date(last.year, last.month, 1), step)
    if observed.is_empty():
        raise UserInputError(
            f"the history runs from {records.records['period'].min()!s} to {observed_until}: no "
            f"record has {horizon_months} months of recorded history after it, so none can be "
            "labelled; give a longer history"
        )
    specs = [spec for spec in registry() if spec.model_input]
    frames = []
    for (period,), rows in observed.partition_by(
        "period", as_dict=True, maintain_order=True
    ).items():
        spine = rows.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias(PAIR_KEY))
        features = canonical_floats(build_features(spine, reference, as_of=period, specs=specs))
        frames.append(
            features.join(
                spine.select(PAIR_KEY, "row", "label"), on=PAIR_KEY, maintain_order="left"
            ).with_columns(pl.lit(period).alias("as_of"))
        )
    panel = pl.concat(frames).sort("as_of", "row")
    window = PanelWindow(
        start=cast(date, panel["as_of"].min()),
        end=cast(date, panel["as_of"].max()),
        horizon_months=horizon_months,
    )
    return HistoryPanel(
        panel=panel,
        window=window,
        rejects=records.rejects,
        unobserved_rows=labelled.height - observed.height,
        observed_until=observed_until,
    )
