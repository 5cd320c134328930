"""Preparing a sourcing list, whole or in chunks: a first pass gathers the
:class:`~riskengine.sourcing.context.InputContext`, the next prepares each chunk with it; a
part of the input scored elsewhere (a Spark partition) is prepared with the same context
(:func:`prepare_part`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from riskengine.catalog import normalise_country
from riskengine.errors import CountryError, UserInputError
from riskengine.features.registry import PAIR_KEY
from riskengine.io.columns import column_choice_notes
from riskengine.mapping import MaterialMapping
from riskengine.schemas import validate_prepared_chunk
from riskengine.sourcing.context import InputContext, collect_context, own_reasons
from riskengine.sourcing.resolution import resolve_chunk, sourcing_columns, supplier_key
from riskengine.sourcing.sites import SupplierSites


@dataclass(frozen=True)
class PreparedPairs:
    """The input with canonical columns resolved; ``reason`` is null for usable rows."""

    raw: pl.DataFrame
    resolved: pl.DataFrame
    notes: tuple[str, ...] = ()
    sourcing_mix: pl.DataFrame | None = None
    """The whole input's sourcing mix (:attr:`InputContext.sourcing_mix`), which the
    features of every chunk read; None when ``resolved`` is the whole input."""

    @property
    def valid(self) -> pl.DataFrame:
        return self.resolved.filter(pl.col("reason").is_null())


#: Memory for chunks kept between the two passes of :func:`prepare_chunks`.
KEPT_CHUNK_BYTES = 384 << 20


def prepare_chunks(
    chunks: Iterable[pl.DataFrame],
    *,
    source: str,
    buyer_country: str | None,
    buyer_name: str | None,
    as_of: date | None = None,
    mapping: MaterialMapping | None = None,
    sites: SupplierSites | None = None,
) -> tuple[InputContext, Iterator[PreparedPairs]]:
    """Prepare an input given as chunks (re-iterable, in file order), one chunk at a time.

    A first pass over the chunks gathers the :class:`InputContext` (duplicates, conflicting
    supplier countries, how the share column reads); the returned iterator then prepares each
    chunk in turn. An input whose chunks fit in :data:`KEPT_CHUNK_BYTES` is read and resolved
    only once. A ``mapping`` (the team's reviewed ``riskengine map`` file) is applied to
    each row's part number and material text before the catalog resolves the text. Given
    ``sites`` (a supplier-site export), a row without a supplier country takes its supplier
    site's, or is rejected naming the site and the export.

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
        "sites": sites,
    }
    resolved = _ResolvedChunks(chunks, options)
    # The share column's own name, for messages, is known once the first chunk is read.
    context = collect_context(
        resolved.resolved,
        resolved.resolved_rows,
        share_column=lambda: resolved.share_column,
        source=source,
    )
    context = replace(
        context,
        notes=(*resolved.header_notes, *context.notes),
        source=source,
        as_of=as_of,
        buyer_country=buyer_country,
        buyer_name=buyer_name,
        mapping_sha256=None if mapping is None else mapping.sha256,
    )

    def prepared() -> Iterator[PreparedPairs]:
        first_row = 1
        for raw, resolved_chunk in resolved.pairs():
            rows = pl.int_range(first_row, first_row + raw.height, dtype=pl.UInt32, eager=True)
            yield _finish(raw, resolved_chunk, context, rows)
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
            resolved = resolve_chunk(raw, **self._options)
            if index == 0:
                self.share_column = sourcing_columns(
                    raw.columns, source=self._options["source"], sites=self._options["sites"]
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

    def resolved_rows(self, wanted: pl.Series, suppliers: pl.Series) -> Iterator[pl.DataFrame]:
        """One pass over the rows numbered ``wanted`` (1 for the first data row) and the rows
        of the supplier keys ``suppliers`` only, each resolved with its ``row_number``. A row
        resolves alike alone or in any chunk, so the rows are picked before they are
        resolved: a pass for a few rows of a file too large to keep costs its reading, not
        the resolution of every row again."""
        wanted_rows = wanted.cast(pl.UInt32).implode()
        wanted_suppliers = suppliers.cast(pl.String).implode()
        chunks: Iterable[tuple[pl.DataFrame, pl.DataFrame | None]] = (
            self._kept if self._all_kept else ((raw, None) for raw in self._chunks)
        )
        first_row = 1
        for raw, kept in chunks:
            rows = pl.int_range(first_row, first_row + raw.height, dtype=pl.UInt32, eager=True)
            first_row += raw.height
            picked = rows.is_in(wanted_rows)
            if not suppliers.is_empty():
                keys = kept["supplier_key"] if kept is not None else self._supplier_keys(raw)
                picked = picked | keys.is_in(wanted_suppliers).fill_null(False)
            if not picked.any():
                continue
            part = (
                resolve_chunk(raw.filter(picked), **self._options)
                if kept is None
                else kept.filter(picked)
            )
            yield part.with_columns(rows.filter(picked).alias("row_number"))

    def _supplier_keys(self, raw: pl.DataFrame) -> pl.Series:
        """Each raw row's supplier key, as :func:`resolve_chunk` derives it."""
        column = sourcing_columns(
            raw.columns, source=self._options["source"], sites=self._options["sites"]
        ).get("supplier_id")
        if column is None:
            return pl.repeat(None, raw.height, dtype=pl.String, eager=True)
        return raw.select(
            pl.col(column).cast(pl.String).str.strip_chars().replace("", None).alias("supplier_id")
        ).select(supplier_key())["supplier_key"]

    def pairs(self) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        """The last pass: each raw chunk with its resolved frame; kept chunks are let go as
        they are handed on."""
        if self._all_kept:
            while self._kept:
                yield self._kept.pop(0)
            return
        for raw in self._chunks:
            yield raw, resolve_chunk(raw, **self._options)


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


def prepare_part(
    raw: pl.DataFrame,
    context: InputContext,
    row_numbers: pl.Series,
    *,
    mapping: MaterialMapping | None = None,
    sites: SupplierSites | None = None,
) -> PreparedPairs:
    """Prepare one part of an input whose first pass gathered ``context``: each row as the
    whole input's preparation (:func:`prepare_chunks`) prepares it, whatever the other parts.

    ``row_numbers`` are the part's rows' places in the whole input (1 for its first data
    row), which the context's duplicate pairs are named by; the rows are resolved with the
    context's date, defaults and source name. ``mapping`` and ``sites`` must be those the
    first pass was gathered with.

    Raises
    ------
    ValueError
        When ``row_numbers`` are not one distinct place in the input per row of ``raw``, or
        the mapping is not the first pass's.
    """
    given = None if mapping is None else mapping.sha256
    if given != context.mapping_sha256:
        raise ValueError(
            f"the first pass was gathered with mapping {context.mapping_sha256}, not {given}"
        )
    rows = row_numbers.cast(pl.UInt32, strict=False)
    if (
        rows.len() != raw.height
        or rows.null_count()
        or rows.n_unique() != rows.len()
        or not rows.is_between(1, context.rows).all()
    ):
        raise ValueError(
            f"row numbers: one distinct number from 1 to {context.rows} is needed per row of "
            f"the part ({raw.height} rows)"
        )
    resolved = resolve_chunk(
        raw,
        source=context.source,
        buyer_country=context.buyer_country,
        buyer_name=context.buyer_name,
        as_of=context.as_of,
        mapping=mapping,
        sites=sites,
    )
    return _finish(raw, resolved, context, rows)


def _finish(
    raw: pl.DataFrame, resolved: pl.DataFrame, context: InputContext, row_numbers: pl.Series
) -> PreparedPairs:
    """A resolved chunk or part with the whole input's answers (``context``) joined by the
    rows' places in the input: the one path of every row, read whole or in parts."""
    resolved = (
        resolved.with_columns(row_numbers.alias("row_number"))
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
        pl.col("plant"),
        pl.concat_str(
            *own_reasons(),
            "share_reason",
            "validity_reason",
            "duplicate_reason",
            "conflict_reason",
            separator="; ",
            ignore_nulls=True,
        )
        .replace("", None)
        .alias("reason"),
    )
    return PreparedPairs(
        raw=raw,
        resolved=validate_prepared_chunk(resolved),
        notes=context.notes,
        sourcing_mix=context.sourcing_mix,
    )
