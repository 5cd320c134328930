"""The restriction state in force on a flow: known facts, deterministic, cited.

A score has two parts (see README, "What a score means"). This module is the first: which
restriction binds the flow at the as-of date, and how likely that regime is to restrict the
buyer's supply during the next 12 months. The second, the learnt hazard of a new or escalated
measure, is the model's. They combine as

    risk_score = 1 - (1 - state_score) * (1 - model_score)

so a flow under a regime in force can never score below that regime's ``state_score``, and the
hazard still ranks what is not yet in force.

The state scores are an explicit rule, not an estimate: the public data record which measures
are in force, not how many shipments they held up. A ban on the flow (to all destinations or
to the buyer's country), a buyer listed by the supplier's country, or a supplier listed by the
buyer's own country stop the flow outright (1.0). A licence requirement means every shipment
needs an approval that the exporting state may delay or refuse: in August 2023, the first month
of China's gallium and germanium licensing, China's customs recorded no exports of either
(Reuters, 2023-09-20). A quota or export tax caps or prices the flow, and a measure aimed at the
buyer's country or its military end users brings end-use checks on every shipment there. Each
is taken as at least an even chance of restricting supply within the year (0.5-0.6).
Announced measures count as their kind.
"""

from __future__ import annotations

import polars as pl

# Most severe first: the state of a flow is the first kind that applies.
STATE_SCORES: dict[str, float] = {
    "listed_buyer": 1.0,
    "listed_supplier": 1.0,
    "ban": 1.0,
    "aimed_at_buyer_country": 0.6,
    "quota_or_tax": 0.6,
    "licensing": 0.5,
    "announced_ban": 1.0,
    "announced_quota_or_tax": 0.6,
    "announced_licensing": 0.5,
    "none": 0.0,
}
# The lowest band a state allows: a regime in force is never "low" or "medium".
STATE_BAND_FLOORS: dict[str, str] = {
    "listed_buyer": "critical",
    "listed_supplier": "critical",
    "ban": "critical",
    "aimed_at_buyer_country": "high",
    "quota_or_tax": "high",
    "licensing": "high",
    "announced_ban": "high",
    "announced_quota_or_tax": "high",
    "announced_licensing": "high",
    "none": "low",
}
# The feature columns the state reads (absent ones count as "no such fact").
STATE_COLUMNS = (
    "buyer_listed",
    "supplier_listed_by_buyer_country",
    "flow_ban_in_force",
    "export_control_severity",
    "destination_measure_severity",
    "announced_measure_severity",
)
SEVERITY_KINDS = {3: "ban", 2: "quota_or_tax", 1: "licensing"}


def _flag(frame_columns: list[str], name: str) -> pl.Expr:
    if name not in frame_columns:
        return pl.lit(False)
    return pl.col(name).cast(pl.Boolean).fill_null(False)


def _severity(frame_columns: list[str], name: str) -> pl.Expr:
    if name not in frame_columns:
        return pl.lit(0)
    return pl.col(name).cast(pl.Int32).fill_null(0)


def restriction_state(frame_columns: list[str]) -> pl.Expr:
    """The state of each flow (a key of :data:`STATE_SCORES`) from its feature columns.

    Parameters
    ----------
    frame_columns : list[str]
        The columns of the frame the expression runs on; missing state columns count as
        "no such fact" (the public-events panel has no names, so no listings).
    """
    in_force = _severity(frame_columns, "export_control_severity")
    announced = _severity(frame_columns, "announced_measure_severity")
    state = pl.lit("none")
    for severity, kind in sorted(SEVERITY_KINDS.items()):
        state = pl.when(announced == severity).then(pl.lit(f"announced_{kind}")).otherwise(state)
    for severity, kind in sorted(SEVERITY_KINDS.items()):
        state = pl.when(in_force == severity).then(pl.lit(kind)).otherwise(state)
    # A measure aimed at the buyer's country (a licence requirement or ban for it alone, or a
    # ban on its military end users) reaches every buyer there through end-use checks; a ban
    # on the flow itself is caught by flow_ban_in_force below.
    state = (
        pl.when(_severity(frame_columns, "destination_measure_severity") > 0)
        .then(pl.lit("aimed_at_buyer_country"))
        .otherwise(state)
    )
    state = pl.when(_flag(frame_columns, "flow_ban_in_force")).then(pl.lit("ban")).otherwise(state)
    state = (
        pl.when(_flag(frame_columns, "supplier_listed_by_buyer_country"))
        .then(pl.lit("listed_supplier"))
        .otherwise(state)
    )
    state = (
        pl.when(_flag(frame_columns, "buyer_listed")).then(pl.lit("listed_buyer")).otherwise(state)
    )
    return state.alias("restriction_state")


def state_score(state: pl.Expr) -> pl.Expr:
    """The probability that the state's regime restricts supply within the horizon."""
    return state.replace_strict(STATE_SCORES, return_dtype=pl.Float64).alias("state_score")


def combine(state: pl.Expr, hazard: pl.Expr | pl.Series) -> pl.Expr:
    """``1 - (1 - state) * (1 - hazard)``: restricted by the regime in force or by a new one."""
    return 1.0 - (1.0 - state) * (1.0 - hazard)


def with_state(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``restriction_state`` and ``state_score`` columns added."""
    state = restriction_state(frame.columns)
    return frame.with_columns(state).with_columns(state_score(pl.col("restriction_state")))
