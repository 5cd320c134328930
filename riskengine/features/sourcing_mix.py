"""The buyer's sourcing mix: per material, plant and supplier country, the input's summed share.

A set-level fact: one pair's sourcing concentration depends on every row of the input. So it is
gathered whole, in the first pass over the input
(:class:`~riskengine.sourcing.context.InputContext`), and handed to the builders that read it
(``buyer_sourcing_hhi``, ``single_source_country``) as the ``sourcing_mix`` source; a chunk's
own rows would give each chunk its partial mix. Given a spine alone, the runner derives it from
the spine (:func:`spine_sourcing_mix`), which is then the whole set.

The mix is summed from counts of each distinct share (:func:`share_counts`), which add up
exactly across chunks; so the float sums are the same whatever chunks the input came in.
"""

from __future__ import annotations

import polars as pl

from riskengine.features.common import ordered_sum

#: What one supplier mix is: a material bought for one plant. Plants do not pool: a material
#: from China at plant A and from Germany at plant B is single-source at each (rows without a
#: plant are one mix of their own, as the whole input was before plants were read).
SOURCING_GROUP = ("material_id", "plant")

#: The mix's keys: a supplier country within a :data:`SOURCING_GROUP`.
MIX_KEYS = (*SOURCING_GROUP, "supplier_country")

SOURCING_MIX_SCHEMA = pl.Schema(
    {
        "material_id": pl.String,
        "plant": pl.String,
        "supplier_country": pl.String,
        "share": pl.Float64,
        "share_missing": pl.Boolean,
    }
)
"""``share``: the country's summed share (nulls skipped); ``share_missing``: a row of the
country gives no share, which makes the whole group's concentration unknown."""


def share_counts(rows: pl.LazyFrame) -> pl.LazyFrame:
    """How many usable rows give each share, per :data:`MIX_KEYS` (``share`` read as a
    fraction, null where missing); counts of several chunks concatenated still make one
    input's counts."""
    return rows.group_by(*MIX_KEYS, "share").agg(pl.len().cast(pl.UInt64).alias("rows"))


def sourcing_mix(counts: pl.LazyFrame) -> pl.LazyFrame:
    """The mix (:data:`SOURCING_MIX_SCHEMA`) from :func:`share_counts` of one or more chunks."""
    merged = counts.group_by(*MIX_KEYS, "share").agg(pl.col("rows").sum())
    return (
        merged.group_by(MIX_KEYS)
        .agg(
            # Each distinct share once, times its count, added in ascending order: the same
            # sum however the rows were split.
            ordered_sum(pl.col("share") * pl.col("rows")).alias("share"),
            pl.col("share").is_null().any().alias("share_missing"),
        )
        .sort(MIX_KEYS, nulls_last=True)
        .cast(SOURCING_MIX_SCHEMA)
    )


def spine_sourcing_mix(spine: pl.LazyFrame) -> pl.LazyFrame:
    """The mix of a spine read as the whole input (every row of it usable)."""
    return sourcing_mix(share_counts(spine))
