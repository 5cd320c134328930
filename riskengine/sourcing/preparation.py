"""Preparing a sourcing list, whole or in chunks: a first pass gathers the
:class:`~riskengine.sourcing.context.InputContext`, the next prepares each chunk with it; a
part of the input scored elsewhere (a Spark partition) is prepared with the same context
(:func:`prepare_part`)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import TypeVar, cast

import polars as pl

from riskengine.catalog import normalise_country
from riskengine.errors import CountryError, UserInputError, interrupted, raise_if_interrupted
from riskengine.features.registry import PAIR_KEY
from riskengine.io.background import Pending, SerialThread
from riskengine.io.columns import column_choice_notes
from riskengine.io.writing import remove_left_by_killed_runs
from riskengine.mapping import MaterialMapping
from riskengine.schemas import validate_prepared_chunk
from riskengine.sourcing.context import InputContext, collect_context, own_reasons
from riskengine.sourcing.resolution import resolve_chunk, sourcing_columns, supplier_key
from riskengine.sourcing.sites import SupplierSites

T = TypeVar("T")


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
    first_resolved: Callable[[pl.DataFrame], object] | None = None,
) -> tuple[InputContext, Iterator[PreparedPairs]]:
    """Prepare an input given as chunks (re-iterable, in file order), one chunk at a time.

    A first pass over the chunks gathers the :class:`InputContext` (duplicates, conflicting
    supplier countries, how the share column reads); the returned iterator then prepares each
    chunk in turn. An input whose chunks fit in :data:`KEPT_CHUNK_BYTES` is read and resolved
    only once. A ``mapping`` (the team's reviewed ``riskengine map`` file) is applied to
    each row's part number and material text before the catalog resolves the text. Given
    ``sites`` (a supplier-site export), a row without a supplier country takes its supplier
    site's, or is rejected naming the site and the export. ``first_resolved`` is called once,
    on the calling thread, with the first chunk once it is resolved in the first pass, to
    start work that can run alongside the rest of it (hand that work to a thread; an error it
    raises stops the preparation).

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
    resolved = _ResolvedChunks(chunks, options, first_resolved)
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
    :data:`KEPT_CHUNK_BYTES`, so an input of a few chunks is read and resolved once. A larger
    one is spilled: the first pass writes each raw and resolved chunk to a temporary directory
    (:class:`_SpilledChunks`), which the later passes read instead of parsing and resolving the
    file again. When the spill cannot be written (no space left, say) the file is read again.
    """

    def __init__(
        self,
        chunks: Iterable[pl.DataFrame],
        options: dict,
        first_resolved: Callable[[pl.DataFrame], object] | None = None,
    ) -> None:
        self._chunks = chunks
        self._options = options
        self._first_resolved = first_resolved
        self._kept: list[tuple[pl.DataFrame, pl.DataFrame]] = []
        self._all_kept = False
        self._spilled: _SpilledChunks | None = None
        self._first_pass_done = False
        self.share_column = "share"
        """The input's own name of the share column, known once a pass has begun."""
        self.header_notes: tuple[str, ...] = ()
        """Which of two columns of one meaning was read, known once a pass has begun."""

    def resolved(self) -> Iterator[pl.DataFrame]:
        """One pass: every chunk resolved."""
        if self._all_kept:
            yield from (resolved for _, resolved in self._kept)
            return
        if self._spilled is not None:
            # The spill keeps only what the last pass reads of a resolved chunk.
            for raw in self._spilled.raw_chunks():
                yield resolve_chunk(raw, **self._options)
            return
        first_pass = not self._first_pass_done
        if first_pass:
            # A first pass left early (its consumer stopped) kept part of the chunks: they
            # would come twice.
            self._kept.clear()
        keeping = first_pass
        spill: _SpilledChunks | None = None
        kept_bytes = 0.0
        # The file's next chunk is read while this one is resolved. The spill is not read
        # ahead in the last pass: there a chunk more in memory raised a 10M run's peak from
        # 1,791,812 to 2,061,984 KB, too near 2 GiB, for about 4 s.
        finished = False
        first = True
        try:
            for raw in _read_ahead(self._chunks):  # no enumerate: its tuple would hold a chunk
                resolved = resolve_chunk(raw, **self._options)
                if first:
                    first = False
                    self.share_column = sourcing_columns(
                        raw.columns, source=self._options["source"], sites=self._options["sites"]
                    ).get("share", "share")
                    self.header_notes = column_choice_notes(
                        raw.columns, source=self._options["source"]
                    )
                    if first_pass and self._first_resolved is not None:
                        hand_on, self._first_resolved = self._first_resolved, None
                        hand_on(resolved)
                if keeping:
                    kept_bytes += raw.estimated_size() + resolved.estimated_size()
                    keeping = kept_bytes <= KEPT_CHUNK_BYTES
                    if keeping:
                        self._kept.append((raw, resolved))
                    else:
                        spill = _SpilledChunks.start(self._kept) if SPILL_CHUNKS else None
                        self._kept.clear()
                if spill is not None and not keeping:
                    spill = spill.add(raw, resolved)
                del raw  # the spill's writer holds it alone meanwhile
                yield resolved
            finished = True
        finally:
            if spill is not None and not finished:
                spill.abandon(interrupted=interrupted())
        if spill is not None:
            spill.stop_writing()
            spill = spill.written()
        self._first_pass_done = True
        self._all_kept = keeping
        self._spilled = spill

    def resolved_rows(self, wanted: pl.Series, suppliers: pl.Series) -> Iterator[pl.DataFrame]:
        """One pass over the rows numbered ``wanted`` (1 for the first data row) and the rows
        of the supplier keys ``suppliers`` only, each resolved with its ``row_number``. A row
        resolves alike alone or in any chunk, so the rows are picked before they are
        resolved: a pass for a few rows of a file too large to keep costs its reading, not
        the resolution of every row again."""
        wanted_rows = wanted.cast(pl.UInt32).implode()
        wanted_suppliers = suppliers.cast(pl.String).implode()
        # Each chunk, and whether it is resolved already (kept) or raw (read again or spilled:
        # the spill keeps only the columns the last pass reads of a resolved chunk).
        frames: Iterable[tuple[pl.DataFrame, bool]]
        if self._all_kept:
            frames = ((resolved, True) for _, resolved in self._kept)
        elif self._spilled is not None:
            frames = ((raw, False) for raw in self._spilled.raw_chunks())
        else:
            frames = ((raw, False) for raw in self._chunks)
        first_row = 1
        for frame, is_resolved in frames:
            rows = pl.int_range(first_row, first_row + frame.height, dtype=pl.UInt32, eager=True)
            first_row += frame.height
            picked = rows.is_in(wanted_rows)
            if not suppliers.is_empty():
                keys = frame["supplier_key"] if is_resolved else self._supplier_keys(frame)
                picked = picked | keys.is_in(wanted_suppliers).fill_null(False)
            if not picked.any():
                continue
            part = (
                frame.filter(picked)
                if is_resolved
                else resolve_chunk(frame.filter(picked), **self._options)
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
        """The last pass: each raw chunk with its resolved frame; kept chunks are let go, and
        spilled ones deleted, as they are handed on."""
        if self._all_kept:
            while self._kept:
                yield self._kept.pop(0)
            return
        if self._spilled is not None:
            spilled, self._spilled = self._spilled, None
            yield from spilled.chunks(consume=True)
            return
        for raw in self._chunks:
            yield raw, resolve_chunk(raw, **self._options)


def _read_ahead(chunks: Iterable[T]) -> Iterator[T]:
    """``chunks``, each after the first read on a thread while the one before is worked on:
    the reading (parsing, decompressing) spends its time in polars, outside the interpreter
    lock, and so runs on the second core alongside the work on the chunk before. One chunk more
    is in memory.

    The first chunk is read on the calling thread: an input read whole (standard input among
    them) has only that one, and a read there stays interruptible, as signals reach the main
    thread only. When the consumer stops on an error, the chunk being read is waited for and
    the source closed here (its file closed, a spill's files deleted) before the error reaches
    the user; on an interrupt nothing is waited for (the reading thread is a daemon).
    """
    iterator = iter(chunks)
    first = next(iterator, _DONE)
    if first is _DONE:
        return
    reader = SerialThread("riskengine-read")
    coming = reader.submit(lambda: next(iterator, _DONE))
    finished = False
    try:
        yield cast(T, first)
        del first  # no name here holds a chunk the consumer has done with
        while (chunk := coming.result()) is not _DONE:
            coming = reader.submit(lambda: next(iterator, _DONE))
            yield cast(T, chunk)
            del chunk
        finished = True
    finally:
        reader.stop()
        if not finished and not interrupted():
            coming.wait()
            close = getattr(iterator, "close", None)
            if close is not None:
                close()


_DONE = object()


#: How a spill directory is named in the temporary directory: the prefix, the process id, a
#: random part.
SPILL_PREFIX = "riskengine-chunks-"


def remove_stale_spills() -> int:
    """Delete the spill directories that killed runs left in the temporary directory; return
    how many. A run still going keeps its own: it writes or deletes a file every chunk
    (:func:`~riskengine.io.writing.remove_left_by_killed_runs`)."""
    pattern = re.compile(rf"{re.escape(SPILL_PREFIX)}([0-9]+)-.+")
    return remove_left_by_killed_runs(tempfile.gettempdir(), pattern, directories=True)


#: Whether chunks that do not fit in :data:`KEPT_CHUNK_BYTES` are spilled to a temporary
#: directory between passes (else the file is read and resolved again).
SPILL_CHUNKS = True


class _SpilledChunks:
    """Raw and resolved chunks written to Arrow IPC files (LZ4) in a temporary directory, in
    input order; of a resolved chunk, only the columns :func:`_finish` reads
    (:data:`FINISHED_COLUMNS`), a little over half of it.

    Reading a spilled chunk back costs a fraction of parsing and resolving its CSV again
    (measured on a million rows: 0.5 s against 1.8 s, before the resolved chunks were cut to
    :data:`FINISHED_COLUMNS`); the files take about the input's size on disk (in ``TMPDIR``;
    352 MB at most for a 334 MB list of 3M pairs) and are deleted by the last pass, or when
    the run stops (after the chunk being written, on an interrupt too); a killed run's are
    deleted by the next run that spills (:func:`remove_stale_spills`).
    """

    def __init__(self, directory: tempfile.TemporaryDirectory[str]) -> None:
        self._directory = directory
        self._count = 0
        # Chunks are written on a thread of their own while the next one is resolved: LZ4 and
        # the copy into the page cache run outside the interpreter lock, on the second core.
        self._writer = SerialThread("riskengine-spill")
        self._writing: Pending[None] | None = None

    @classmethod
    def start(cls, kept: list[tuple[pl.DataFrame, pl.DataFrame]]) -> _SpilledChunks | None:
        """A spill holding the chunks ``kept`` so far, or None when it cannot be written."""
        remove_stale_spills()
        try:
            directory = tempfile.TemporaryDirectory(
                prefix=f"{SPILL_PREFIX}{os.getpid()}-", ignore_cleanup_errors=True
            )
        except OSError:
            return None
        spill: _SpilledChunks | None = cls(directory)
        try:
            for raw, resolved in kept:
                if spill is None:
                    break
                spill = spill.add(raw, resolved)
        except BaseException:  # an interrupt while a write is waited for
            # None once a write failed: its thread has stopped and the directory is gone.
            if spill is not None:
                spill.abandon(interrupted=interrupted())
            raise
        return spill

    def _path(self, index: int, part: str) -> Path:
        return Path(self._directory.name) / f"{index:06d}-{part}.arrow"

    def add(self, raw: pl.DataFrame, resolved: pl.DataFrame) -> _SpilledChunks | None:
        """This spill with one more chunk being written, or None (the spill deleted) when an
        earlier chunk could not be written."""
        if self.written() is None:
            return None
        paths = (self._path(self._count, "raw"), self._path(self._count, "resolved"))
        slim = resolved.select(FINISHED_COLUMNS)
        self._writing = self._writer.submit(partial(_write_chunk, raw, slim, *paths))
        self._count += 1
        return self

    def written(self) -> _SpilledChunks | None:
        """This spill once every chunk added is written, or None (the spill deleted) when one
        could not be."""
        writing, self._writing = self._writing, None
        try:
            if writing is not None:
                writing.result()
        except OSError:
            self._writer.stop()
            self._directory.cleanup()
            return None
        return self

    def stop_writing(self) -> None:
        """No more chunks: let the writing thread end once the write under way has."""
        self._writer.stop()
        if self._writing is not None:
            self._writing.wait()

    def abandon(self, *, interrupted: bool) -> None:
        """Delete the spill, after the write under way so that no file lands in the deleted
        directory: the writing thread deletes it once that write has ended. Waited for unless
        ``interrupted``; an interrupt during the wait leaves the deletion to the thread all the
        same (waiting for the write first, the deletion was lost with the wait)."""
        deleted = self._writer.submit(self._directory.cleanup)
        self._writer.stop()
        if not interrupted:
            deleted.wait()

    def raw_chunks(self) -> Iterator[pl.DataFrame]:
        """Each raw chunk, in order."""
        for index in range(self._count):
            raise_if_interrupted()
            yield pl.read_ipc(self._path(index, "raw"))

    def chunks(self, *, consume: bool = False) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        """Each raw chunk with its resolved frame, in order; with ``consume``, each chunk's
        files are deleted once read and the directory after the last."""
        try:
            for index in range(self._count):
                raise_if_interrupted()
                raw = pl.read_ipc(self._path(index, "raw"))
                resolved = pl.read_ipc(self._path(index, "resolved"))
                if consume:
                    self._path(index, "raw").unlink()
                    self._path(index, "resolved").unlink()
                yield raw, resolved
        finally:
            if consume:
                self._directory.cleanup()


def _write_chunk(raw: pl.DataFrame, resolved: pl.DataFrame, raw_path: Path, path: Path) -> None:
    raw.write_ipc(raw_path, compression="lz4")
    resolved.write_ipc(path, compression="lz4")


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


#: The columns of a resolved chunk that :func:`_finish` reads.
FINISHED_COLUMNS = (
    "share",
    "supplier_key",
    "material_id",
    "supplier_country_id",
    "buyer_country_id",
    "supplier",
    "buyer",
    "valid_from_date",
    "valid_to_date",
    "plant",
    # own_reasons()
    "blocked_reason",
    "material_reason",
    "supplier_country_reason",
    "buyer_country",
    "buyer_country_reason",
    "supplier_reason",
    "excel_error_reason",
    "validity_reason",
)


def _finish(
    raw: pl.DataFrame, resolved: pl.DataFrame, context: InputContext, row_numbers: pl.Series
) -> PreparedPairs:
    """A resolved chunk or part with the whole input's answers (``context``) joined by the
    rows' places in the input: the one path of every row, read whole or in parts."""
    resolved = (
        resolved.select(FINISHED_COLUMNS)
        .with_columns(row_numbers.alias("row_number"))
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
