"""Shares per material from the scored sourcing list, within each sourcing group.

A sourcing group is one material bought for one buyer country and one plant (SAP ``WERKS``):
a material bought for two plants has two supplier mixes, each with shares that sum to 1, and
pooling them would double the shares and mix the plants' risks. Shares are normalised and
checked within each group. A BOM line uses the groups of its own plant when the BOM names
one the sourcing list has; otherwise it uses every group of the material, each weighing
equally, and the product's reason says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import polars as pl

from riskengine.bom.results import BomProblem, display_name
from riskengine.catalog import load_catalog
from riskengine.errors import UnknownMaterialError, UserInputError
from riskengine.io.cells import parse_decimal, parse_share
from riskengine.io.columns import SOURCING_ALIASES, resolve_columns
from riskengine.mapping import PART_NUMBER_ALIASES, MaterialMapping, part_number_key
from riskengine.schemas import STATUS_BLOCKED, STATUS_SCORED

SCORED_SOURCING = "scored sourcing list"
SHARE_TOLERANCE = 0.01
#: Columns of the scored sourcing list that the roll-up reads (canonical name → aliases).
SCORED_SOURCING_ALIASES: dict[str, tuple[str, ...]] = {
    "material_id": ("material_id",),
    "supplier": SOURCING_ALIASES["supplier"],
    "supplier_country_iso3": ("supplier_country_iso3",),
    "buyer_country_iso3": ("buyer_country_iso3",),
    "plant": SOURCING_ALIASES["plant"],
    "risk_score": ("risk_score",),
    "status": ("status",),
    "reason": ("reason",),
    "share": SOURCING_ALIASES["share"],
    # Price of one unit of the material (SAP EINE/EKPO NETPR); gives value at risk.
    "unit_value": ("unit_value", "price", "unit_price", "netpr"),
}
SCORED_SOURCING_REQUIRED = (
    "material_id",
    "supplier",
    "supplier_country_iso3",
    "risk_score",
    "status",
)
GROUP_KEYS = ("buyer_country_iso3", "plant")


class Sourcing(NamedTuple):
    """The scored suppliers of the materials a BOM needs, shares summing to 1 per group.

    ``suppliers``: ``material_id, buyer_country_iso3, plant, entry, supplier,
    supplier_country_iso3, share, pair_risk, unit_value``. ``missing``: why a material has
    no scored supplier at all.
    """

    suppliers: pl.DataFrame
    problems: tuple[BomProblem, ...]
    missing: Mapping[str, str]


def sourcing_part_numbers(scored_sourcing: pl.DataFrame) -> dict[str, str]:
    """Material id of each part number (SAP MATNR, Oracle Item) of the scored sourcing list,
    as :func:`riskengine.mapping.part_number_key` compares them, so a BOM keyed by part
    number (IDNRK, Component) links to the rows that buy it. A part number whose rows
    resolved to different materials links to none."""
    columns = resolve_columns(
        scored_sourcing.columns,
        source=SCORED_SOURCING,
        aliases={"part_number": PART_NUMBER_ALIASES, "material_id": ("material_id",)},
        required=(),
        fallbacks={},
    )
    if "part_number" not in columns or "material_id" not in columns:
        return {}
    pairs = (
        scored_sourcing.select(
            pl.col(columns["part_number"]).cast(pl.String).str.strip_chars().alias("part"),
            pl.col("material_id"),
        )
        .drop_nulls()
        .filter(pl.col("part") != "")
        .unique()
    )
    found: dict[str, set[str]] = {}
    for part, material_id in pairs.iter_rows():
        found.setdefault(part_number_key(part), set()).add(material_id)
    return {part: next(iter(ids)) for part, ids in found.items() if len(ids) == 1}


def resolve_leaves(
    names: Sequence[str],
    mapping: MaterialMapping | None = None,
    part_numbers: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Catalog material id of each leaf name, and why each unknown leaf is unknown.

    With the team's ``mapping``, a leaf named by a part number or text the mapping holds
    takes its material (``accepted`` and ``proposed`` rows) or is left out naming the row
    (``review``), before anything else is asked; then a leaf named by a part number of the
    sourcing list (``part_numbers``, :func:`sourcing_part_numbers`) takes that row's
    material; then the catalog resolves the name.
    """
    catalog = load_catalog()
    material_of: dict[str, str] = {}
    unknown: dict[str, str] = {}
    for name in sorted(names):
        entry = mapping.lookup(None, name) if mapping is not None else None
        linked = part_numbers.get(part_number_key(name)) if part_numbers else None
        if entry is None and linked is not None:
            material_of[name] = linked
            continue
        if entry is not None and mapping is not None:
            if entry.applied and entry.material_id is not None:
                material_of[name] = entry.material_id
            else:
                unknown[name] = mapping.review_reason(entry, name)
            continue
        try:
            material_of[name] = catalog.resolve_material(name).material_id
        except UnknownMaterialError as error:
            unknown[name] = str(error)
    return material_of, unknown


def _group_words(buyer_country: str | None, plant: str | None) -> str:
    parts = [f"plant {plant}" if plant else "", f"buyer country {buyer_country or '?'}"]
    return ", ".join(part for part in parts if part)


def _read(scored_sourcing: pl.DataFrame, material_ids: Sequence[str]) -> pl.DataFrame:
    """The columns the roll-up reads, under their canonical names, for the needed materials."""
    columns = resolve_columns(
        scored_sourcing.columns,
        source=SCORED_SOURCING,
        aliases=SCORED_SOURCING_ALIASES,
        required=SCORED_SOURCING_REQUIRED,
        fallbacks={},
    )
    height = scored_sourcing.height

    def text(canonical: str) -> pl.Series:
        if canonical not in columns:
            return pl.Series(canonical, [None] * height, dtype=pl.String)
        values = scored_sourcing[columns[canonical]].cast(pl.String).str.strip_chars()
        return values.set(values == "", None).alias(canonical)

    def number(canonical: str, parse: str) -> pl.Series:
        if canonical not in columns:
            return pl.Series(canonical, [None] * height, dtype=pl.Float64)
        header = columns[canonical]
        if parse == "share":
            # The same parser and per-column percent decision as `score`: "80%" is 0.8, and
            # bare 80 / 20 in one column are percentages.
            values = parse_share(scored_sourcing[header], column=header, source=SCORED_SOURCING)
            return values.values.alias(canonical)
        return parse_decimal(scored_sourcing[header], column=header, source=SCORED_SOURCING)[
            0
        ].alias(canonical)

    frame = pl.DataFrame(
        [
            pl.int_range(height, dtype=pl.UInt32, eager=True).alias("entry"),
            text("material_id"),
            text("supplier"),
            text("supplier_country_iso3"),
            text("buyer_country_iso3"),
            text("plant"),
            scored_sourcing[columns["risk_score"]].cast(pl.Float64).alias("pair_risk"),
            (text("status") == STATUS_SCORED).alias("usable"),
            (text("status") == STATUS_BLOCKED).alias("blocked"),
            text("reason"),
            number("share", "share").alias("given_share"),
            number("unit_value", "decimal"),
        ]
    )
    return frame.filter(pl.col("material_id").is_in(pl.Series(material_ids).implode()))


def _share_problems(
    summary: pl.DataFrame, rejected_counts: Mapping[str, int], *, several_groups: set[str]
) -> list[BomProblem]:
    problems: list[BomProblem] = []
    for material_id, buyer, plant, count, given, given_sum, total in summary.iter_rows():
        starved = given < count and given_sum >= 1.0 - SHARE_TOLERANCE
        if abs(total - 1.0) <= SHARE_TOLERANCE and not starved:
            continue
        name = display_name(material_id)
        # Name the group only when the material has several, so one-group lists read as before.
        if material_id in several_groups:
            name += f" ({_group_words(buyer, plant)})"
        if given == count:
            message = f"shares of {name} sum to {given_sum:.4g}, not 1"
        else:
            message = (
                f"shares given for {given} of the {count} suppliers of {name} sum to "
                f"{given_sum:.4g}"
            )
            if starved:
                message += f", leaving nothing for the {count - given} without a share"
        message += "; split equally instead" if total <= 0 else "; normalised to sum to 1"
        if rejected_counts.get(material_id):
            message += f" ({rejected_counts[material_id]} rejected sourcing row(s) left out)"
        problems.append(BomProblem("share_sum", None, None, message))
    return problems


def sourcing_shares(
    scored_sourcing: pl.DataFrame, material_ids: Sequence[str], *, strict: bool
) -> Sourcing:
    """Scored suppliers of each needed material, with shares that sum to 1 in each group.

    A missing share takes an equal part of what the given shares of its group leave, or an
    equal part of the whole when no supplier of the group has one.

    Raises
    ------
    MissingColumnsError
        When the scored sourcing list lacks a required column.
    UserInputError
        In ``strict`` mode, when the shares of a group do not sum to 1 (± 0.01).
    """
    sourcing = _read(scored_sourcing, material_ids)
    usable = pl.col("usable").fill_null(False) & pl.col("pair_risk").is_not_null()
    # A blocked or debarred source is no supply, and no rejected data either: it is left out
    # of the roll-up and of the counts of rejected rows.
    blocked = sourcing.filter(pl.col("blocked").fill_null(False))
    rejected = sourcing.filter(~usable & ~pl.col("blocked").fill_null(False))
    group = ["material_id", *GROUP_KEYS]
    suppliers = (
        sourcing.filter(usable)
        .with_columns(
            pl.len().over(group).alias("suppliers"),
            pl.col("given_share").count().over(group).alias("given"),
            pl.col("given_share").sum().over(group).alias("given_sum"),
        )
        .with_columns(
            pl.when(pl.col("given_share").is_not_null())
            .then(pl.col("given_share"))
            .when(pl.col("given") == 0)
            .then(1.0 / pl.col("suppliers"))
            .otherwise(
                (1.0 - pl.col("given_sum")).clip(lower_bound=0.0)
                / (pl.col("suppliers") - pl.col("given"))
            )
            .alias("filled_share")
        )
        .with_columns(pl.col("filled_share").sum().over(group).alias("share_total"))
        .with_columns(
            pl.when(pl.col("share_total") > 0)
            .then(pl.col("filled_share") / pl.col("share_total"))
            .otherwise(1.0 / pl.col("suppliers"))
            .alias("share")
        )
        .sort("material_id", "entry")
    )
    summary = (
        suppliers.group_by(group, maintain_order=True)
        .agg(
            pl.col("suppliers", "given", "given_sum", "share_total").first(), pl.col("entry").min()
        )
        .sort("material_id", "entry")
        .drop("entry")
    )
    several_groups = set(
        summary.group_by("material_id").len().filter(pl.col("len") > 1)["material_id"]
    )
    rejected_counts = dict(rejected.group_by("material_id").len().iter_rows())
    problems = _share_problems(summary, rejected_counts, several_groups=several_groups)
    if strict and problems:
        raise UserInputError(
            f"{SCORED_SOURCING}: supply shares do not sum to 1 (strict mode): "
            + "; ".join(problem.message for problem in problems)
        )

    covered = set(suppliers["material_id"].to_list())
    missing: dict[str, str] = {}
    for material_id in material_ids:
        if material_id in covered:
            continue
        rows = rejected.filter(pl.col("material_id") == material_id)
        blocked_rows = blocked.filter(pl.col("material_id") == material_id)
        if rows.height:
            first = next((reason for reason in rows["reason"].to_list() if reason), "no score")
            missing[material_id] = (
                f"all {rows.height} sourcing row(s) of it were rejected (first: {first})"
            )
        elif blocked_rows.height:
            missing[material_id] = (
                f"its {blocked_rows.height} source(s) in the sourcing list are all blocked "
                f"(first: {blocked_rows['reason'][0]})"
            )
        else:
            missing[material_id] = "it is not in the sourcing list"
    return Sourcing(
        suppliers=suppliers.select(
            *group,
            "entry",
            "supplier",
            "supplier_country_iso3",
            "share",
            "pair_risk",
            "unit_value",
        ),
        problems=tuple(problems),
        missing=missing,
    )


def sourcing_for_lines(sourcing: Sourcing, uses: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The suppliers each ``(material_id, plant)`` of ``uses`` draws on, shares weighted.

    A plant that has sourcing groups for the material uses those; a line without a plant, or
    with a plant the sourcing list does not name for the material, uses every group of the
    material. The groups used weigh equally, so the shares still sum to 1.

    Returns
    -------
    suppliers, averaged
        ``material_id, plant`` of ``uses`` joined to the suppliers with ``share`` weighted;
        and the ``material_id, plant, groups`` (number of groups, in words) averaged over
        more than one group.
    """
    groups = sourcing.suppliers.select("material_id", *GROUP_KEYS).unique(maintain_order=True)
    keys = uses.select("material_id", "plant").unique(maintain_order=True)
    own = keys.join(
        groups.rename({"plant": "group_plant"}),
        left_on=["material_id", "plant"],
        right_on=["material_id", "group_plant"],
        how="inner",
    ).with_columns(pl.col("plant").alias("group_plant"))
    pooled = keys.join(own, on=["material_id", "plant"], how="anti", nulls_equal=True).join(
        groups.rename({"plant": "group_plant"}), on="material_id", how="inner"
    )
    chosen = pl.concat([own, pooled], how="diagonal").with_columns(
        pl.len().over("material_id", "plant").alias("groups")
    )
    suppliers = chosen.join(
        sourcing.suppliers.rename({"plant": "group_plant"}),
        on=["material_id", "buyer_country_iso3", "group_plant"],
        how="inner",
        nulls_equal=True,
    ).with_columns(pl.col("share") / pl.col("groups"))
    averaged = (
        chosen.filter(pl.col("groups") > 1)
        .sort("buyer_country_iso3", "group_plant", nulls_last=True)
        .group_by("material_id", "plant", maintain_order=True)
        .agg(
            pl.concat_str(
                pl.when(pl.col("group_plant").is_not_null()).then(
                    pl.concat_str(pl.lit("plant "), "group_plant")
                ),
                pl.concat_str(
                    pl.lit("buyer country "), pl.col("buyer_country_iso3").fill_null("?")
                ),
                separator=", ",
                ignore_nulls=True,
            )
            .str.join("; ")
            .alias("groups")
        )
    )
    return suppliers.drop("group_plant", "groups"), averaged
