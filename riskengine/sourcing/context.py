"""Facts about the whole input that one row's outcome depends on: duplicate pairs, supplier ids
given with two countries, how the share column reads and whose shares sum above 1, and the
buyer's sourcing mix that the sourcing-concentration features read."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from riskengine.catalog import load_catalog
from riskengine.features.sourcing_mix import MIX_KEYS, SOURCING_MIX_SCHEMA, sourcing_mix
from riskengine.io.cells import parse_share

MAX_ROWS_NAMED = 5


# Any fixed seed: pair hashes only need to agree within one run, across its chunks.
_PAIR_HASH_SEED = 20260301


def _row_list(rows: pl.Expr) -> pl.Expr:
    shown = rows.list.head(MAX_ROWS_NAMED).cast(pl.List(pl.String)).list.join(", ")
    more = pl.when(rows.list.len() > MAX_ROWS_NAMED).then(
        pl.format(" and {} more", rows.list.len() - MAX_ROWS_NAMED)
    )
    return pl.concat_str(shown, more, ignore_nulls=True)


def _pair_identity() -> list[pl.Expr]:
    """What makes two rows the same pair: resolved ids where they exist, so "Dy2O3" from "CN"
    repeats "dysprosium oxide" from "China"; supplier and buyer names as the one name
    normaliser reads them, so "Acme", "ACME" and "Acme\u200b" are one supplier."""
    return [
        pl.coalesce("material_id", "material").alias("identity_material"),
        pl.col("supplier_canonical").alias("identity_supplier"),
        pl.coalesce("supplier_country_id", "supplier_country").alias("identity_supplier_country"),
        pl.coalesce("buyer_country_id", "buyer_country").alias("identity_buyer_country"),
        pl.col("buyer_canonical").alias("identity_buyer"),
        pl.col("supplier_key").alias("identity_supplier_id"),
        # ERP source lists are keyed by material number and plant (SAP EORD: MATNR, WERKS):
        # the same supplier at two plants, or for two part numbers of one catalog material,
        # is two sourcing records, not a repeat.
        pl.col("plant").alias("identity_plant"),
        # Oracle keys an approved-supplier list by supplier site too: one supplier's two
        # sites are two sources.
        pl.col("supplier_site_canonical").alias("identity_supplier_site"),
        pl.col("part_number_key").alias("identity_part_number"),
    ]


_IDENTITY_COLUMNS = [expression.meta.output_name() for expression in _pair_identity()]


@dataclass(frozen=True)
class InputContext:
    """Facts about the whole input that one row's outcome depends on.

    Computed once over every chunk of the input
    (:func:`~riskengine.sourcing.preparation.prepare_chunks`), so that a row gets the same
    answer whether the file is read whole or in pieces of any size.
    """

    rows: int
    shares: pl.DataFrame
    """share (the stripped cell text), share_value, share_reason: each distinct cell once."""
    duplicate_reasons: pl.DataFrame
    """row_number, duplicate_reason: rows that repeat a pair, each naming all its copies."""
    conflict_reasons: pl.DataFrame
    """supplier_key, conflict_reason: supplier ids given with more than one country."""
    sourcing_mix: pl.DataFrame
    """The usable rows' summed shares per material, plant and supplier country
    (:data:`~riskengine.features.sourcing_mix.SOURCING_MIX_SCHEMA`)."""
    notes: tuple[str, ...] = ()
    source: str = ""
    """The input's name in messages, which a part of it is then named by too."""
    as_of: date | None = None
    buyer_country: str | None = None
    buyer_name: str | None = None
    """The date and the defaults for rows without a buyer or buyer country that the rows were
    resolved with: a part of the input is resolved with the same."""
    mapping_sha256: str | None = None
    """The SHA-256 of the team's mapping applied, if any: a part needs the same mapping."""

    def to_json(self) -> str:
        """The context as JSON (:data:`FIRST_PASS_FORMAT`), to hand to the scorers of the
        input's parts (Spark's executors, the registered model's ``first_pass`` parameter).
        Floats are written as Python's shortest exact text, so :meth:`from_json` gives back
        the same values."""
        document: dict[str, Any] = {
            "format": FIRST_PASS_FORMAT,
            "rows": self.rows,
            "source": self.source,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "buyer_country": self.buyer_country,
            "buyer_name": self.buyer_name,
            "mapping_sha256": self.mapping_sha256,
            "notes": list(self.notes),
        }
        for name in _FRAME_SCHEMAS:
            document[name] = getattr(self, name).to_dict(as_series=False)
        return json.dumps(document, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> InputContext:
        """The context :meth:`to_json` wrote.

        Raises
        ------
        ValueError
            When ``text`` is not a first pass of this format.
        """
        try:
            document = json.loads(text)
            if document.get("format") != FIRST_PASS_FORMAT:
                raise ValueError(f"not a first pass of format {FIRST_PASS_FORMAT}")
            frames = {
                name: pl.DataFrame(document[name], schema=schema)
                for name, schema in _FRAME_SCHEMAS.items()
            }
            as_of = document["as_of"]
            return cls(
                rows=int(document["rows"]),
                notes=tuple(document["notes"]),
                source=str(document["source"]),
                as_of=None if as_of is None else date.fromisoformat(as_of),
                buyer_country=document["buyer_country"],
                buyer_name=document["buyer_name"],
                mapping_sha256=document["mapping_sha256"],
                **frames,
            )
        except (KeyError, TypeError, ValueError, AttributeError, pl.exceptions.PolarsError) as err:
            raise ValueError(f"not a readable first pass: {err}") from err


#: The format of :meth:`InputContext.to_json`.
FIRST_PASS_FORMAT = "riskengine-first-pass/1"

#: The frames of an :class:`InputContext`, with the types :meth:`InputContext.from_json`
#: reads them back with.
_FRAME_SCHEMAS: dict[str, pl.Schema] = {
    "shares": pl.Schema({"share": pl.String, "share_value": pl.Float64, "share_reason": pl.String}),
    "duplicate_reasons": pl.Schema({"row_number": pl.UInt32, "duplicate_reason": pl.String}),
    "conflict_reasons": pl.Schema({"supplier_key": pl.String, "conflict_reason": pl.String}),
    "sourcing_mix": SOURCING_MIX_SCHEMA,
}


def own_reasons() -> list[pl.Expr]:
    """A resolved row's reasons that its own cells give, in the order the row's reason names
    them; the share, validity, duplicate and conflict reasons follow them
    (:func:`~riskengine.sourcing.preparation.prepare_chunks`)."""
    return [
        # First, so that the row's status reads "blocked" (schemas.row_status) whatever
        # else is wrong with it.
        pl.col("blocked_reason"),
        pl.col("material_reason"),
        pl.col("supplier_country_reason"),
        # A missing buyer country is allowed: destination measures then do not apply.
        pl.when(pl.col("buyer_country").is_not_null()).then(pl.col("buyer_country_reason")),
        pl.col("supplier_reason"),
        pl.col("excel_error_reason"),
    ]


#: The first pass's counts of usable rows per place in the sourcing mix: the mix's keys and the
#: share cell as written (rows a conflicting supplier id makes unusable are taken out later).
_MIX_ROW_SCHEMA = pl.Schema(
    {
        "material_id": pl.String,
        "plant": pl.String,
        "supplier_country": pl.String,
        "share": pl.String,
        "rows": pl.UInt32,
    }
)
_MIX_ROW_COLUMNS = [name for name in _MIX_ROW_SCHEMA if name != "rows"]


def _mix_row_columns() -> list[pl.Expr]:
    """:data:`_MIX_ROW_COLUMNS` of a resolved chunk."""
    return [
        pl.col("material_id"),
        pl.col("plant"),
        pl.col("supplier_country_id").alias("supplier_country"),
        pl.col("share"),
    ]


def _mix_row_counts(rows: pl.DataFrame) -> pl.DataFrame:
    """Usable-alone rows counted per :data:`_MIX_ROW_COLUMNS`: per supplier country and share
    cell, not per supplier, so a chunk's counts are bounded by the catalog and the share
    cells rather than by its rows (counted per supplier, merging them took a 10M-row run's RSS
    from 2.3 to 3.4 GB)."""
    return (
        rows.filter(_usable_alone())
        .group_by(_mix_row_columns())
        .agg(pl.len().alias("rows"))
        .cast(_MIX_ROW_SCHEMA)
    )


#: How many chunks' counts the first pass holds before merging them (a merge costs a few
#: milliseconds, which inputs streamed in many small chunks would pay on every one).
_CHUNKS_MERGED = 4


def _merged_counts(frames: list[pl.DataFrame], count: str) -> pl.DataFrame:
    """``frames`` of counts (column ``count``) per the other columns, as one frame with each
    key once."""
    merged = pl.concat(frames)
    keys = [name for name in merged.columns if name != count]
    return merged.group_by(keys).agg(pl.col(count).sum())


def _usable_alone() -> pl.Expr:
    """The row is usable unless the whole input says otherwise (its share cell, a duplicate,
    a conflicting supplier id): exactly the rows the features of a chunk then see, less those."""
    return pl.all_horizontal(
        *(reason.is_null() for reason in own_reasons()), pl.col("validity_reason").is_null()
    )


def collect_context(
    resolved_chunks: Callable[[], Iterable[pl.DataFrame]],
    resolved_rows: Callable[[pl.Series, pl.Series], Iterable[pl.DataFrame]],
    *,
    share_column: Callable[[], str],
    source: str,
) -> InputContext:
    """One pass over every chunk for :class:`InputContext`, and a pass over the rows whose
    pair hashes repeat or whose supplier id has several countries (``resolved_rows(row
    numbers, supplier keys)``: those rows resolved, with their ``row_number``)."""
    hashes: list[pl.Series] = []
    supplier_countries: list[pl.DataFrame] = []
    share_counts: list[pl.DataFrame] = []
    mix_rows: list[pl.DataFrame] = []
    for resolved in resolved_chunks():
        # A record that is not in force (or has bad dates) neither repeats nor contradicts the
        # one that is: source lists keep expired records next to current ones.
        in_force = pl.col("validity_reason").is_null() & pl.col("blocked_reason").is_null()
        pair_hash = pl.struct(_pair_identity()).hash(_PAIR_HASH_SEED)
        hashes.append(
            resolved.select(pl.when(in_force).then(pair_hash)).to_series().alias("pair_hash")
        )
        supplier_countries.append(
            resolved.filter(pl.col("supplier_id").is_not_null() & in_force)
            .select(
                "supplier_key",
                "supplier_id",
                pl.coalesce("supplier_country_id", "supplier_country").alias("country"),
            )
            .unique()
        )
        mix_rows.append(_mix_row_counts(resolved))
        share_counts.append(
            resolved.group_by(
                "share",
                pl.when(in_force).then(pl.col("material_id")).alias("group_material"),
                *_share_group(),
            ).agg(pl.len().alias("count"))
        )
        if len(mix_rows) == _CHUNKS_MERGED:
            # Merged as they come: each chunk repeats most of the suppliers, groups and mixes
            # of the ones before, and 17 chunks' worth of them unmerged took 10M rows to 2.4 GB.
            supplier_countries = [pl.concat(supplier_countries).unique()]
            mix_rows = [_merged_counts(mix_rows, "rows")]
            share_counts = [_merged_counts(share_counts, "count")]
    rows = sum(series.len() for series in hashes)
    share_groups = pl.concat(share_counts)
    shares = (
        share_groups.group_by("share")
        .agg(pl.col("count").sum())
        .filter(pl.col("share").is_not_null())
        .sort("share")
    )
    parsed = parse_share(
        shares["share"], column=share_column(), source=source, counts=shares["count"]
    )
    share_table = pl.DataFrame(
        {"share": shares["share"], "share_value": parsed.values, "share_reason": parsed.errors},
        schema={"share": pl.String, "share_value": pl.Float64, "share_reason": pl.String},
    )
    repeated = repeated_rows(hashes)
    del hashes
    conflict_reasons = _conflict_reasons(supplier_countries)
    # A spreadsheet error in the supplier id column has no key: its rows are refused for the
    # error, and it conflicts with nothing.
    duplicate_reasons, refused_mix_rows = _refused_rows(
        resolved_rows, repeated, conflict_reasons["supplier_key"].drop_nulls()
    )
    return InputContext(
        rows=rows,
        shares=share_table,
        duplicate_reasons=duplicate_reasons,
        conflict_reasons=conflict_reasons,
        sourcing_mix=_sourcing_mix(mix_rows, refused_mix_rows, share_table=share_table),
        notes=(
            *((parsed.note,) if parsed.note else ()),
            *_share_sum_notes(share_groups, share_table, source=source),
        ),
    )


#: Rows whose pair hashes :func:`repeated_rows` compares at once, at most about.
ROWS_COMPARED_AT_ONCE = 1_000_000


def repeated_rows(hashes: list[pl.Series]) -> pl.Series:
    """The row numbers (1 for the first row) whose hash (null for a row not in force) some
    other row repeats, ascending; ``hashes`` are the chunks' in input order.

    Compared a part of the hashes at a time, split by the hash's value so that equal hashes
    meet in one part: comparing 10M at once took 971 MB over the hashes themselves, and this
    135 MB (a window count over all rows then; bench/README.md).
    """
    numbered = pl.DataFrame(
        pl.concat(hashes) if hashes else pl.Series("pair_hash", [], pl.UInt64)
    ).with_row_index("row_number", offset=1)
    parts = max(1, -(-numbered.height // ROWS_COMPARED_AT_ONCE))
    return pl.concat(
        [
            numbered.filter(pl.col("pair_hash") % parts == part).filter(
                pl.col("pair_hash").is_duplicated()
            )["row_number"]
            for part in range(parts)
        ]
    ).sort()


#: How many mixes whose shares sum above 1 are named one by one; the rest are counted in one
#: note (a generated million-row list had 4,469 of them, which buried the run's summary).
MAX_SHARE_SUM_NOTES = 10

#: How far above 1 a material's shares may sum before a note says so (rounded shares such as
#: three thirds written 0.34 sum to 1.02).
SHARE_SUM_TOLERANCE = 0.01


def _share_group() -> list[pl.Expr]:
    """Besides the material, what makes one supplier mix whose shares sum to at most 1: the
    buyer country, the buyer and the plant (a material bought for two plants has two mixes)."""
    return [
        pl.coalesce("buyer_country_id", "buyer_country").alias("group_buyer_country"),
        pl.col("buyer_canonical").alias("group_buyer"),
        pl.col("plant").alias("group_plant"),
        # Each part number has its own source list, so its shares are its own (two part
        # numbers of one catalog material at one plant are two mixes, not one of 200 %).
        pl.col("part_number_key").alias("group_part_number"),
    ]


def _share_sum_notes(
    share_groups: pl.DataFrame, share_table: pl.DataFrame, *, source: str
) -> tuple[str, ...]:
    """A note for each material whose shares, as read, sum to more than 1 (300 % when every
    supplier is given 100 %): the mix cannot be right, though each share alone is valid.

    As for ``score-bom``'s share check (:mod:`riskengine.bom.sourcing`), the rows are kept
    and the sum is named; a sum below 1 is not noted, since a sourcing list may give shares
    for some suppliers only.
    """
    keys = [
        "group_material",
        "group_buyer_country",
        "group_buyer",
        "group_plant",
        "group_part_number",
    ]
    # Each distinct share once per group, in a fixed order, so the float sum is the same
    # whatever chunks the input came in.
    over = (
        share_groups.filter(pl.col("group_material").is_not_null())
        .group_by(*keys, "share")
        .agg(pl.col("count").sum())
        .sort(*keys, "share", nulls_last=True)
        .join(share_table, on="share", how="inner", maintain_order="left")
        .filter(pl.col("share_reason").is_null() & pl.col("share_value").is_not_null())
        .group_by(keys, maintain_order=True)
        .agg(
            (pl.col("share_value") * pl.col("count")).sum().alias("total"),
            pl.col("count").sum().alias("rows"),
        )
        .filter(pl.col("total") > 1 + SHARE_SUM_TOLERANCE)
        .sort(keys, nulls_last=True)
    )
    catalog = load_catalog()
    notes = []
    shown = over.head(MAX_SHARE_SUM_NOTES)
    for material_id, buyer_country, buyer, plant, part_number, total, rows in shown.iter_rows():
        within = [
            f"part number {part_number}" if part_number else "",
            f"plant {plant}" if plant else "",
            f"buyer {buyer}" if buyer else "",
            f"buyer country {buyer_country}" if buyer_country else "",
        ]
        where = ", ".join(part for part in within if part)
        notes.append(
            f"{source}: shares of {catalog.material(material_id).display_name}"
            + (f" ({where})" if where else "")
            + f" sum to {total:.4g} ({total:.0%}) over {rows} row(s); a material's suppliers "
            "share at most 1 (100 %)"
        )
    more = over.height - shown.height
    if more:
        mixes = "mix" if more == 1 else "mixes"
        notes.append(
            f"{source}: and {more:,} more {mixes} (a material for one buyer, plant or part "
            "number) whose shares sum to more than 1 (100 %)"
        )
    return tuple(notes)


def _refused_rows(
    resolved_rows: Callable[[pl.Series, pl.Series], Iterable[pl.DataFrame]],
    candidates: pl.Series,
    conflicting_suppliers: pl.Series,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The duplicate pairs' reasons, and the mix rows the whole input refuses, from one pass
    over the rows concerned.

    Rows that repeat the same pair are all refused, naming each other: keeping one would be a
    silent choice between them. ``candidates`` share a hash; the pairs are compared exactly
    here, so a hash collision cannot refuse a row. A supplier id given with several countries
    (``conflicting_suppliers``, supplier keys) is refused on every row. The refused rows that
    would otherwise be usable are counted as the first pass counts the sourcing mix's rows,
    each row once (:func:`_sourcing_mix` takes them out again).
    """
    schema = pl.Schema({"row_number": pl.UInt32, "duplicate_reason": pl.String})
    if candidates.is_empty() and conflicting_suppliers.is_empty():
        return pl.DataFrame(schema=schema), pl.DataFrame(schema=_MIX_ROW_SCHEMA)
    candidate_rows = candidates.cast(pl.UInt32)
    parts = [
        resolved.with_columns(*_pair_identity())
        for resolved in resolved_rows(candidate_rows, conflicting_suppliers)
    ]
    if not parts:
        return pl.DataFrame(schema=schema), pl.DataFrame(schema=_MIX_ROW_SCHEMA)
    rows = pl.concat(parts)
    copies = rows.filter(pl.col("row_number").is_in(candidate_rows.implode())).filter(
        pl.len().over(_IDENTITY_COLUMNS) > 1
    )
    row_numbers = pl.col("row_number").implode().over(_IDENTITY_COLUMNS, mapping_strategy="join")
    reasons = copies.select(
        "row_number",
        pl.format("duplicate pair: data rows {} repeat it", _row_list(row_numbers)).alias(
            "duplicate_reason"
        ),
    ).cast(schema)
    refused = rows.filter(
        pl.col("row_number").is_in(copies["row_number"].implode())
        | pl.col("supplier_key").is_in(conflicting_suppliers.implode())
    )
    return reasons, _mix_row_counts(refused)


def _sourcing_mix(
    mix_rows: list[pl.DataFrame],
    refused_mix_rows: pl.DataFrame,
    *,
    share_table: pl.DataFrame,
) -> pl.DataFrame:
    """The mix of the rows a chunk's features see: rows usable alone, less those the whole
    input refuses (an unreadable share, a duplicate pair, a conflicting supplier id), with
    each share read as the whole column reads it (percentages, say). Counts, not sums, are
    taken out, so the mix is exact whatever chunks the input came in."""
    if not mix_rows:
        return pl.DataFrame(schema=SOURCING_MIX_SCHEMA)
    counted = (
        pl.concat(mix_rows)
        .group_by(_MIX_ROW_COLUMNS)
        .agg(pl.col("rows").sum().cast(pl.Int64))
        .join(
            refused_mix_rows.select(
                *_MIX_ROW_COLUMNS, pl.col("rows").cast(pl.Int64).alias("refused")
            ),
            on=_MIX_ROW_COLUMNS,
            how="left",
            nulls_equal=True,
        )
        .with_columns(pl.col("rows") - pl.col("refused").fill_null(0))
        .filter(pl.col("rows") > 0)
        .join(share_table, on="share", how="left")
        .filter(pl.col("share_reason").is_null())
    )
    return sourcing_mix(
        counted.lazy().select(
            *MIX_KEYS, pl.col("share_value").alias("share"), pl.col("rows").cast(pl.UInt64)
        )
    ).collect()


def _conflict_reasons(supplier_countries: list[pl.DataFrame]) -> pl.DataFrame:
    """One supplier id given with two different countries is refused on every row."""
    schema = pl.Schema({"supplier_key": pl.String, "conflict_reason": pl.String})
    if not supplier_countries:
        return pl.DataFrame(schema=schema)
    return (
        pl.concat(supplier_countries)
        .unique()
        .group_by("supplier_key")
        .agg(
            pl.col("country").n_unique().alias("countries"),
            pl.col("country").drop_nulls().unique().sort().alias("named"),
            pl.col("supplier_id").unique().sort().alias("written"),
        )
        .filter(pl.col("countries") > 1)
        .select(
            "supplier_key",
            pl.format(
                "supplier_id {} appears with several countries ({})",
                pl.col("written").list.join(" / "),
                pl.col("named").list.join(", "),
            ).alias("conflict_reason"),
        )
        .sort("supplier_key")
        .cast(schema)
    )
