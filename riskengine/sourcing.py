"""Prepare a sourcing list for scoring: resolve materials, countries and shares; give every
unusable row its reason. Pure functions of frames; reading happens in :mod:`riskengine.io`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from riskengine.catalog import load_catalog, normalise_country
from riskengine.errors import CountryError, UnknownMaterialError, UserInputError
from riskengine.features.registry import PAIR_KEY
from riskengine.io.cells import (
    excel_error_message,
    is_excel_error,
    parse_date,
    parse_share,
)
from riskengine.io.columns import column_choice_notes, resolve_columns
from riskengine.mapping import PART_NUMBER_ALIASES, MaterialMapping
from riskengine.names import canonical_names
from riskengine.schemas import validate_prepared_chunk


@dataclass(frozen=True)
class PreparedPairs:
    """The input with canonical columns resolved; ``reason`` is null for usable rows."""

    raw: pl.DataFrame
    resolved: pl.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def valid(self) -> pl.DataFrame:
        return self.resolved.filter(pl.col("reason").is_null())


def _resolution(values: pl.Series, resolve: Callable[[str], str]) -> pl.DataFrame:
    """Resolve each distinct value once: value, resolved id or null, error or null.

    A spreadsheet error value ("#N/A") is not looked up: its reason is the error, not the
    closest known names; :func:`_excel_error_reasons` gives it.
    """
    distinct = values.drop_nulls().unique().sort()
    flagged = distinct.to_frame("value").select(is_excel_error(pl.col("value"))).to_series()
    errors = set(distinct.filter(flagged).to_list())
    rows: list[tuple[str, str | None, str | None]] = []
    for value in distinct.to_list():
        if value in errors:
            continue
        try:
            rows.append((value, resolve(value), None))
        except (UnknownMaterialError, CountryError) as error:
            rows.append((value, None, str(error)))
    return pl.DataFrame(
        rows, schema={"value": pl.String, "resolved": pl.String, "error": pl.String}, orient="row"
    )


#: Text columns whose spreadsheet error values refuse the row. Share and validity dates are
#: numbers and dates: their parsers name such cells themselves.
_TEXT_COLUMNS = (
    "material",
    "supplier",
    "supplier_country",
    "buyer_country",
    "buyer",
    "supplier_id",
)


def _excel_error_reasons(columns: dict[str, str]) -> pl.Expr:
    """Why a row's text cells cannot be read: each spreadsheet error value ("#N/A",
    "#REF!" ...) by its column, instead of a supplier called "#N/A" or an empty cell."""
    return (
        pl.concat_str(
            *(
                excel_error_message(pl.col(name), column=columns.get(name, name))
                for name in _TEXT_COLUMNS
            ),
            separator="; ",
            ignore_nulls=True,
        )
        .replace("", None)
        .alias("excel_error_reason")
    )


def _resolved_columns(column: str, resolution: pl.DataFrame, empty_reason: str) -> list[pl.Expr]:
    """Expressions mapping ``column`` to its resolved id and its reason (or null)."""
    ids = dict(zip(resolution["value"], resolution["resolved"], strict=True))
    errors = dict(zip(resolution["value"], resolution["error"], strict=True))
    source = pl.col(column)
    return [
        source.replace_strict(ids, default=None, return_dtype=pl.String).alias(f"{column}_id"),
        pl.when(source.is_null())
        .then(pl.lit(empty_reason))
        .otherwise(source.replace_strict(errors, default=None, return_dtype=pl.String))
        .alias(f"{column}_reason"),
    ]


MAX_ROWS_NAMED = 5
#: Memory for chunks kept between the two passes of :func:`prepare_chunks`.
KEPT_CHUNK_BYTES = 384 << 20
# Any fixed seed: pair hashes only need to agree within one run, across its chunks.
_PAIR_HASH_SEED = 20260301


def _row_list(rows: pl.Expr) -> pl.Expr:
    shown = rows.list.head(MAX_ROWS_NAMED).cast(pl.List(pl.String)).list.join(", ")
    more = pl.when(rows.list.len() > MAX_ROWS_NAMED).then(
        pl.format(" and {} more", rows.list.len() - MAX_ROWS_NAMED)
    )
    return pl.concat_str(shown, more, ignore_nulls=True)


def _supplier_key() -> pl.Expr:
    """The supplier id as ERP systems compare it: SAP pads numeric ids with leading zeros
    (ALPHA conversion) and exports may or may not carry them, so 0000001234 is 1234. Other
    ids are read as names are (:func:`riskengine.names.canonical_names`), so "ab-1" is "AB-1"
    and an id pasted with a zero-width space is the same id."""
    # An error value such as "#N/A" is no id: its row is refused, and it must not make other
    # rows' ids conflict.
    supplier_id = (
        pl.when(~is_excel_error(pl.col("supplier_id")))
        .then(pl.col("supplier_id"))
        .map_batches(canonical_names, return_dtype=pl.String)
    )
    unpadded = supplier_id.str.strip_chars_start("0")
    return (
        pl.when(supplier_id.str.contains(r"^[0-9]+$"))
        .then(pl.when(unpadded == "").then(pl.lit("0")).otherwise(unpadded))
        .otherwise(supplier_id)
        .alias("supplier_key")
    )


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
        pl.col("part_number_key").alias("identity_part_number"),
    ]


_IDENTITY_COLUMNS = [expression.meta.output_name() for expression in _pair_identity()]


@dataclass(frozen=True)
class InputContext:
    """Facts about the whole input that one row's outcome depends on.

    Computed once over every chunk of the input (:func:`prepare_chunks`), so that a row gets
    the same answer whether the file is read whole or in pieces of any size.
    """

    rows: int
    shares: pl.DataFrame
    """share (the stripped cell text), share_value, share_reason: each distinct cell once."""
    duplicate_reasons: pl.DataFrame
    """row_number, duplicate_reason: rows that repeat a pair, each naming all its copies."""
    conflict_reasons: pl.DataFrame
    """supplier_key, conflict_reason: supplier ids given with more than one country."""
    notes: tuple[str, ...] = ()


def _resolve_chunk(
    raw: pl.DataFrame,
    *,
    source: str,
    buyer_country: str | None,
    buyer_name: str | None,
    as_of: date | None,
    mapping: MaterialMapping | None = None,
) -> pl.DataFrame:
    """Canonical text columns of one chunk, with materials and countries resolved (through
    the team's ``mapping`` first, when one is given)."""
    columns = resolve_columns(raw.columns, source=source)
    text = raw.select(
        pl.col(name).cast(pl.String).str.strip_chars().replace("", None).alias(canonical)
        for canonical, name in columns.items()
    )
    for optional in ("buyer_country", "buyer", "share", "supplier_id", "plant", "source_status"):
        if optional not in text.columns:
            text = text.with_columns(pl.lit(None, dtype=pl.String).alias(optional))
    text = text.with_columns(
        pl.coalesce("buyer_country", pl.lit(buyer_country, dtype=pl.String)),
        pl.coalesce("buyer", pl.lit(buyer_name, dtype=pl.String)),
        *_validity_columns(text, columns, source, as_of),
        _part_numbers(raw, source).alias("part_number_key"),
    ).with_columns(
        _supplier_key(),
        _excel_error_reasons(columns),
        _blocked_reason(columns.get("source_status", "source_status")),
        # Names as identity compares them, once per chunk for every pass that needs them.
        pl.col("supplier")
        .map_batches(canonical_names, return_dtype=pl.String)
        .alias("supplier_canonical"),
        pl.col("buyer")
        .map_batches(canonical_names, return_dtype=pl.String)
        .alias("buyer_canonical"),
    )
    catalog = load_catalog()
    materials = _resolution(
        text["material"], lambda value: catalog.resolve_material(value).material_id
    )
    countries = _resolution(
        pl.concat([text["supplier_country"], text["buyer_country"]]), normalise_country
    )
    resolved = text.with_columns(
        *_resolved_columns("material", materials, "material is empty"),
        *_resolved_columns("supplier_country", countries, "supplier country is empty"),
        *_resolved_columns("buyer_country", countries, "buyer country is empty"),
        pl.when(pl.col("supplier").is_null())
        .then(pl.lit("supplier is empty"))
        .alias("supplier_reason"),
    )
    if mapping is None:
        return resolved
    return _apply_mapping(resolved, raw, mapping, source=source)


def _part_numbers(raw: pl.DataFrame, source: str) -> pl.Series:
    """Each row's part number (SAP MATNR, Oracle Item) as ERP systems compare it (leading
    zeros ignored), or null when the input has none."""
    part_columns = resolve_columns(
        raw.columns,
        source=source,
        aliases={"part_number": PART_NUMBER_ALIASES},
        required=(),
        fallbacks={},
    )
    if "part_number" not in part_columns:
        return pl.repeat(None, raw.height, dtype=pl.String, eager=True)
    written = raw[part_columns["part_number"]].cast(pl.String).str.strip_chars().replace("", None)
    # riskengine.mapping.part_number_key as one expression (no Python call per row).
    cleaned = pl.col("part").str.to_uppercase()
    unpadded = cleaned.str.strip_chars_start("0")
    return (
        written.to_frame("part")
        .select(
            pl.when(cleaned.str.contains(r"^[0-9]+$"))
            .then(pl.when(unpadded == "").then(pl.lit("0")).otherwise(unpadded))
            .otherwise(cleaned)
        )
        .to_series()
    )


#: Source statuses that mean the source may not be used: Oracle ASL "Debarred", SAP EORD
#: NOTKZ "X" (blocked source of supply), and the words of hand-made lists.
BLOCKED_STATUSES = frozenset({"debarred", "blocked", "x", "gesperrt", "disqualified"})


def _blocked_reason(header: str) -> pl.Expr:
    """Why a row is no supply: its source is debarred or blocked. The row is kept, flagged,
    and left out of the duplicate, supplier-country and share checks, like an expired one."""
    status = pl.col("source_status")
    blocked = status.str.strip_chars().str.to_lowercase().is_in(list(BLOCKED_STATUSES))
    return (
        pl.when(blocked.fill_null(False))
        .then(
            pl.format(
                "blocked source of supply ({} {}): kept for the record, not counted as supply",
                pl.lit(header),
                status,
            )
        )
        .alias("blocked_reason")
    )


def _apply_mapping(
    resolved: pl.DataFrame, raw: pl.DataFrame, mapping: MaterialMapping, *, source: str
) -> pl.DataFrame:
    """Material ids from the team's mapping, looked up by part number (SAP MATNR, Oracle
    Item) and then by the material text, replace the catalog's: an ``accepted`` or
    ``proposed`` row gives the id, a ``review`` row refuses the row naming the mapping's line,
    and a row the mapping does not know keeps the catalog's resolution."""
    part_columns = resolve_columns(
        raw.columns,
        source=source,
        aliases={"part_number": PART_NUMBER_ALIASES},
        required=(),
        fallbacks={},
    )
    part = (
        raw[part_columns["part_number"]].cast(pl.String).str.strip_chars().replace("", None)
        if "part_number" in part_columns
        else pl.repeat(None, raw.height, dtype=pl.String, eager=True)
    )
    keyed = resolved.with_columns(part.alias("mapping_part_number"))
    ids: dict[tuple[str | None, str | None], str | None] = {}
    reasons: dict[tuple[str | None, str | None], str | None] = {}
    for part_number, written in keyed.select("mapping_part_number", "material").unique().rows():
        entry = mapping.lookup(part_number, written)
        if entry is None:
            continue
        ids[(part_number, written)] = entry.material_id if entry.applied else None
        reasons[(part_number, written)] = (
            None if entry.applied else mapping.review_reason(entry, written or part_number or "")
        )
    if not ids:
        return keyed
    found = pl.DataFrame(
        {
            "mapping_part_number": [key[0] for key in ids],
            "material": [key[1] for key in ids],
            "mapped_id": list(ids.values()),
            "mapped_reason": [reasons[key] for key in ids],
            "mapped": [True] * len(ids),
        },
        schema={
            "mapping_part_number": pl.String,
            "material": pl.String,
            "mapped_id": pl.String,
            "mapped_reason": pl.String,
            "mapped": pl.Boolean,
        },
    )
    mapped = pl.col("mapped").fill_null(False)
    return (
        keyed.join(
            found,
            on=["mapping_part_number", "material"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .with_columns(
            pl.when(mapped)
            .then(pl.col("mapped_id"))
            .otherwise(pl.col("material_id"))
            .alias("material_id"),
            pl.when(mapped)
            .then(pl.col("mapped_reason"))
            .otherwise(pl.col("material_reason"))
            .alias("material_reason"),
        )
        .drop("mapped_id", "mapped_reason", "mapped")
    )


def _validity_columns(
    text: pl.DataFrame, columns: dict[str, str], source: str, as_of: date | None
) -> list[pl.Expr]:
    """The sourcing record's validity period (optional columns) and what is wrong with it:
    a cell that is not a date, an end before the start, or (given ``as_of``) a period that
    does not include that date, since such a record describes supply not, or no longer, in
    place."""
    if "valid_from" not in text.columns and "valid_to" not in text.columns:
        return [
            pl.lit(None, dtype=pl.Date).alias("valid_from_date"),
            pl.lit(None, dtype=pl.Date).alias("valid_to_date"),
            pl.lit(None, dtype=pl.String).alias("validity_reason"),
        ]
    parsed = {}
    for name in ("valid_from", "valid_to"):
        cells = text[name] if name in text.columns else pl.repeat(None, text.height, eager=True)
        parsed[name] = parse_date(cells, column=columns.get(name, name), source=source)
    (valid_from, from_error), (valid_to, to_error) = parsed["valid_from"], parsed["valid_to"]
    start, end = pl.lit(valid_from), pl.lit(valid_to)
    backwards = pl.when(end < start).then(
        pl.format("valid_to {} is before valid_from {}", end, start)
    )
    problems = [pl.lit(from_error), pl.lit(to_error), backwards]
    if as_of is not None:
        outside = ((start > as_of) | (end < as_of)).fill_null(False)
        in_order = (end >= start).fill_null(True)
        problems.append(
            pl.when(outside & in_order).then(
                pl.format(
                    "not in force on {}: valid {} to {}",
                    pl.lit(as_of.isoformat()),
                    start.cast(pl.String).fill_null("(open)"),
                    end.cast(pl.String).fill_null("(open)"),
                )
            )
        )
    return [
        start.alias("valid_from_date"),
        end.alias("valid_to_date"),
        pl.concat_str(*problems, separator="; ", ignore_nulls=True)
        .replace("", None)
        .alias("validity_reason"),
    ]


def _collect_context(
    resolved_chunks: Callable[[], Iterable[pl.DataFrame]],
    *,
    share_column: Callable[[], str],
    source: str,
) -> InputContext:
    """One pass over every chunk (two when some pair hashes repeat) for :class:`InputContext`."""
    hashes: list[pl.Series] = []
    supplier_countries: list[pl.DataFrame] = []
    share_counts: list[pl.DataFrame] = []
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
        share_counts.append(
            resolved.group_by(
                "share",
                pl.when(in_force).then(pl.col("material_id")).alias("group_material"),
                *_share_group(),
            ).agg(pl.len().alias("count"))
        )
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
    repeated = (
        pl.DataFrame(pl.concat(hashes) if hashes else pl.Series("pair_hash", [], pl.UInt64))
        .with_row_index("row_number", offset=1)
        .filter(pl.col("pair_hash").is_not_null() & (pl.len().over("pair_hash") > 1))["row_number"]
    )
    del hashes
    return InputContext(
        rows=rows,
        shares=share_table,
        duplicate_reasons=_duplicate_reasons(resolved_chunks, repeated),
        conflict_reasons=_conflict_reasons(supplier_countries),
        notes=(
            *((parsed.note,) if parsed.note else ()),
            *_share_sum_notes(share_groups, share_table, source=source),
        ),
    )


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
    for material_id, buyer_country, buyer, plant, part_number, total, rows in over.iter_rows():
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
    return tuple(notes)


def _duplicate_reasons(
    resolved_chunks: Callable[[], Iterable[pl.DataFrame]], candidates: pl.Series
) -> pl.DataFrame:
    """Rows that repeat the same pair are all refused, naming each other: keeping one would
    be a silent choice between them. ``candidates`` share a hash; the pairs are compared
    exactly here, so a hash collision cannot refuse a row."""
    schema = pl.Schema({"row_number": pl.UInt32, "duplicate_reason": pl.String})
    if candidates.is_empty():
        return pl.DataFrame(schema=schema)
    wanted = candidates.cast(pl.UInt32)
    rows: list[pl.DataFrame] = []
    offset = 1
    for resolved in resolved_chunks():
        rows.append(
            resolved.select(_pair_identity())
            .with_row_index("row_number", offset=offset)
            .filter(pl.col("row_number").is_in(wanted.implode()))
        )
        offset += resolved.height
    copies = pl.concat(rows)
    row_numbers = pl.col("row_number").implode().over(_IDENTITY_COLUMNS, mapping_strategy="join")
    return (
        copies.filter(pl.len().over(_IDENTITY_COLUMNS) > 1)
        .select(
            "row_number",
            pl.format("duplicate pair: data rows {} repeat it", _row_list(row_numbers)).alias(
                "duplicate_reason"
            ),
        )
        .cast(schema)
    )


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


def prepare_chunks(
    chunks: Iterable[pl.DataFrame],
    *,
    source: str,
    buyer_country: str | None,
    buyer_name: str | None,
    as_of: date | None = None,
    mapping: MaterialMapping | None = None,
) -> tuple[InputContext, Iterator[PreparedPairs]]:
    """Prepare an input given as chunks (re-iterable, in file order), one chunk at a time.

    A first pass over the chunks gathers the :class:`InputContext` (duplicates, conflicting
    supplier countries, how the share column reads); the returned iterator then prepares each
    chunk in turn. An input whose chunks fit in :data:`KEPT_CHUNK_BYTES` is read and resolved
    only once. A ``mapping`` (the team's reviewed ``riskengine map`` file) is applied to
    each row's part number and material text before the catalog resolves the text.

    Raises
    ------
    MissingColumnsError
        When a required column is absent (nothing is scored then).
    UserInputError
        When ``buyer_country`` given as an option is itself unknown or ambiguous.
    """
    if buyer_country is not None:
        try:
            normalise_country(buyer_country)
        except CountryError as error:
            raise UserInputError(f"--buyer-country: {error}") from error
    options = {
        "source": source,
        "buyer_country": buyer_country,
        "buyer_name": buyer_name,
        "as_of": as_of,
        "mapping": mapping,
    }
    resolved = _ResolvedChunks(chunks, options)
    # The share column's own name, for messages, is known once the first chunk is read.
    context = _collect_context(
        resolved.resolved, share_column=lambda: resolved.share_column, source=source
    )
    context = replace(context, notes=(*resolved.header_notes, *context.notes))

    def prepared() -> Iterator[PreparedPairs]:
        first_row = 1
        for raw, resolved_chunk in resolved.pairs():
            yield _finish(raw, resolved_chunk, context, first_row)
            first_row += raw.height

    return context, prepared()


class _ResolvedChunks:
    """The input's chunks with materials and countries resolved, for passes in file order.

    Chunks are kept from the first pass for the next ones while they fit in
    :data:`KEPT_CHUNK_BYTES`, so an input of a few chunks is read and resolved once; a larger
    one is read again instead (and no later pass tries to keep it).
    """

    def __init__(self, chunks: Iterable[pl.DataFrame], options: dict) -> None:
        self._chunks = chunks
        self._options = options
        self._kept: list[tuple[pl.DataFrame, pl.DataFrame]] = []
        self._all_kept = False
        self._may_keep = True
        self.share_column = "share"
        """The input's own name of the share column, known once a pass has begun."""
        self.header_notes: tuple[str, ...] = ()
        """Which of two columns of one meaning was read, known once a pass has begun."""

    def resolved(self) -> Iterator[pl.DataFrame]:
        """One pass: every chunk resolved."""
        if self._all_kept:
            yield from (resolved for _, resolved in self._kept)
            return
        keeping = self._may_keep
        kept_bytes = 0.0
        for index, raw in enumerate(self._chunks):
            resolved = _resolve_chunk(raw, **self._options)
            if index == 0:
                self.share_column = resolve_columns(
                    raw.columns, source=self._options["source"]
                ).get("share", "share")
                self.header_notes = column_choice_notes(raw.columns, source=self._options["source"])
            if keeping:
                kept_bytes += raw.estimated_size() + resolved.estimated_size()
                keeping = kept_bytes <= KEPT_CHUNK_BYTES
                if keeping:
                    self._kept.append((raw, resolved))
                else:
                    self._kept.clear()
                    self._may_keep = False
            yield resolved
        self._all_kept = keeping

    def pairs(self) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        """The last pass: each raw chunk with its resolved frame; kept chunks are let go as
        they are handed on."""
        if self._all_kept:
            while self._kept:
                yield self._kept.pop(0)
            return
        for raw in self._chunks:
            yield raw, _resolve_chunk(raw, **self._options)


def prepare_pairs(
    raw: pl.DataFrame,
    *,
    source: str,
    buyer_country: str | None,
    buyer_name: str | None,
    as_of: date | None = None,
) -> PreparedPairs:
    """Resolve materials and countries for every input row; unusable rows get a reason.

    The whole input in one frame; see :func:`prepare_chunks` for ``as_of`` (validity
    periods) and the errors raised.
    """
    _, prepared = prepare_chunks(
        [raw], source=source, buyer_country=buyer_country, buyer_name=buyer_name, as_of=as_of
    )
    return next(prepared)


def _finish(
    raw: pl.DataFrame, resolved: pl.DataFrame, context: InputContext, first_row: int
) -> PreparedPairs:
    resolved = (
        resolved.with_row_index("row_number", offset=first_row)
        .with_columns(pl.col("row_number").cast(pl.UInt32))
        .join(context.shares, on="share", how="left", maintain_order="left")
        .join(context.duplicate_reasons, on="row_number", how="left", maintain_order="left")
        .join(context.conflict_reasons, on="supplier_key", how="left", maintain_order="left")
    )
    bad_share = pl.col("share_reason").is_not_null()
    resolved = resolved.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(PAIR_KEY),
        pl.col("material_id"),
        pl.col("supplier_country_id").alias("supplier_country"),
        pl.col("buyer_country_id").alias("buyer_country"),
        pl.col("supplier").alias("supplier_name"),
        pl.col("buyer").alias("buyer_name"),
        pl.when(bad_share).then(None).otherwise(pl.col("share_value")).alias("share"),
        pl.col("valid_from_date").alias("valid_from"),
        pl.col("valid_to_date").alias("valid_to"),
        pl.concat_str(
            "material_reason",
            "supplier_country_reason",
            # A missing buyer country is allowed: destination measures then do not apply.
            pl.when(pl.col("buyer_country").is_not_null()).then(pl.col("buyer_country_reason")),
            "supplier_reason",
            "excel_error_reason",
            "share_reason",
            "validity_reason",
            "blocked_reason",
            "duplicate_reason",
            "conflict_reason",
            separator="; ",
            ignore_nulls=True,
        )
        .replace("", None)
        .alias("reason"),
    )
    return PreparedPairs(raw=raw, resolved=validate_prepared_chunk(resolved), notes=context.notes)
