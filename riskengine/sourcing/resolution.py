"""One chunk of a sourcing list resolved row by row: canonical text columns, materials and
countries (through the team's mapping first), supplier keys, validity periods, blocked sources
and spreadsheet error values, each with its reason."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import polars as pl

from riskengine.catalog import load_catalog, normalise_country
from riskengine.errors import CountryError, MissingColumnsError, UnknownMaterialError, shorten
from riskengine.io.cells import excel_error_message, is_excel_error, parse_date
from riskengine.io.columns import SUPPLIER_SITE_HEADERS, resolve_columns
from riskengine.mapping import MaterialMapping
from riskengine.names import canonical_names
from riskengine.schemas import BLOCKED_REASON_PREFIX
from riskengine.sourcing.part_numbers import (
    apply_mapping,
    part_number_keys,
    without_padding_zeros,
)
from riskengine.sourcing.sites import SupplierSites


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


def supplier_key() -> pl.Expr:
    """The supplier id as ERP systems compare it: SAP pads numeric ids with leading zeros
    (ALPHA conversion) and exports may or may not carry them, so 0000001234 is 1234. Other
    ids are read as names are (:func:`riskengine.names.canonical_names`), so "ab-1" is "AB-1"
    and an id pasted with a zero-width space is the same id."""
    # An error value such as "#N/A" is no id: its row is refused, and it must not make other
    # rows' ids conflict.
    return (
        pl.when(~is_excel_error(pl.col("supplier_id")))
        .then(pl.col("supplier_id"))
        # One Python call: an expression naming the call's result three times makes three.
        .map_batches(_supplier_keys, return_dtype=pl.String)
        .alias("supplier_key")
    )


def _supplier_keys(supplier_ids: pl.Series) -> pl.Series:
    """:func:`supplier_key` of ids (spreadsheet errors already null)."""
    return (
        canonical_names(supplier_ids)
        .to_frame("canonical")
        .select(without_padding_zeros(pl.col("canonical")))
        .to_series()
        .alias(supplier_ids.name)
    )


def sourcing_columns(
    columns: list[str], *, source: str, sites: SupplierSites | None = None
) -> dict[str, str]:
    """The sourcing list's canonical columns (:func:`riskengine.io.columns.resolve_columns`).

    Given a supplier-site export, a list without a country column may name each row's
    supplier site instead: its country is looked up there
    (:meth:`~riskengine.sourcing.sites.SupplierSites.fill_countries`).

    Raises
    ------
    MissingColumnsError
        When a required column is absent; with ``sites``, when the list has neither a country
        nor a supplier-site column (nor an address).
    """
    if sites is None:
        return resolve_columns(columns, source=source)
    found = resolve_columns(columns, source=source, required=("material", "supplier"))
    if "supplier_country" in found or "supplier_site" in found:
        return found
    try:
        # An address column still gives the country; else the usual message, and why the
        # supplier-site export could not help.
        return resolve_columns(columns, source=source)
    except MissingColumnsError as error:
        raise MissingColumnsError(
            f"{error}; --supplier-sites {sites.source} needs a supplier-site column to look "
            f"up (accepted: {', '.join(SUPPLIER_SITE_HEADERS)})"
        ) from error


def resolve_chunk(
    raw: pl.DataFrame,
    *,
    source: str,
    buyer_country: str | None,
    buyer_name: str | None,
    as_of: date | None,
    mapping: MaterialMapping | None = None,
    sites: SupplierSites | None = None,
) -> pl.DataFrame:
    """Canonical text columns of one chunk, with materials and countries resolved (through
    the team's ``mapping`` first, when one is given; an empty supplier country from the
    row's supplier site in ``sites``, when given)."""
    columns = sourcing_columns(raw.columns, source=source, sites=sites)
    text = raw.select(
        pl.col(name).cast(pl.String).str.strip_chars().replace("", None).alias(canonical)
        for canonical, name in columns.items()
    )
    # A list that gives neither country nor site reads its address instead (sourcing_columns).
    from_sites = sites is not None and "supplier_site" in text.columns
    if sites is not None and from_sites:
        text = sites.fill_countries(text)
    for optional in (
        "buyer_country",
        "buyer",
        "share",
        "supplier_id",
        "plant",
        "source_status",
        "supplier_site",
    ):
        if optional not in text.columns:
            text = text.with_columns(pl.lit(None, dtype=pl.String).alias(optional))
    from_address = "supplier_country" not in text.columns
    if from_address:
        text = _address_countries(text)
    text = text.with_columns(
        pl.coalesce("buyer_country", pl.lit(buyer_country, dtype=pl.String)),
        pl.coalesce("buyer", pl.lit(buyer_name, dtype=pl.String)),
        *_validity_columns(text, columns, source, as_of),
        part_number_keys(raw, source).alias("part_number_key"),
    ).with_columns(
        supplier_key(),
        _excel_error_reasons(columns),
        _blocked_reason(columns.get("source_status", "source_status")),
        # Names as identity compares them, once per chunk for every pass that needs them.
        pl.col("supplier")
        .map_batches(canonical_names, return_dtype=pl.String)
        .alias("supplier_canonical"),
        pl.col("buyer")
        .map_batches(canonical_names, return_dtype=pl.String)
        .alias("buyer_canonical"),
        pl.col("supplier_site")
        .map_batches(canonical_names, return_dtype=pl.String)
        .alias("supplier_site_canonical"),
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
    if from_address:
        resolved = resolved.with_columns(
            _address_reason(columns["supplier_address"]).alias("supplier_country_reason")
        ).drop("address_reason", "address_shown")
    if from_sites:
        resolved = resolved.with_columns(_site_reason().alias("supplier_country_reason")).drop(
            "site_reason", "site_shown"
        )
    if mapping is None:
        return resolved
    return apply_mapping(resolved, raw, mapping, source=source)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def country_line(address: str) -> tuple[str | None, str | None]:
    """The part of a supplier-site address that should name the country, or why none does.

    The last line of a multi-line address, else the last comma-separated part. A two-letter
    code ending a one-line address ("Newton, MA") is refused rather than read: it may be a
    state or province (MA is Massachusetts, not Morocco). Nothing else is guessed: the text
    returned is resolved as any country cell is, and rejected when it is not a country.
    """
    lines = [line.strip() for line in _LINE_BREAK.split(address) if line.strip()]
    one_line = len(lines) <= 1
    if one_line:
        lines = [part.strip() for part in address.split(",") if part.strip()]
    if not lines:
        return None, "the address is empty"
    last = lines[-1]
    if one_line and len(lines) > 1 and len(last) == 2 and last.isalpha():
        return None, (
            f"the address ends in {last!r}, which may be a state or province, not a country "
            "code; put the country on a line of its own or give a country column"
        )
    return last, None


def _address_countries(text: pl.DataFrame) -> pl.DataFrame:
    """``supplier_country`` read from ``supplier_address`` (:func:`country_line`), with an
    ``address_reason`` where the address gives none and the address as a message shows it."""
    distinct = text["supplier_address"].drop_nulls().unique().sort().to_list()
    found = {address: country_line(address) for address in distinct}
    source = pl.col("supplier_address")
    return text.with_columns(
        source.replace_strict(
            {address: repr(shorten(" / ".join(_LINE_BREAK.split(address)))) for address in found},
            default=None,
            return_dtype=pl.String,
        ).alias("address_shown"),
        source.replace_strict(
            {address: line for address, (line, _) in found.items()},
            default=None,
            return_dtype=pl.String,
        ).alias("supplier_country"),
        source.replace_strict(
            {address: reason for address, (_, reason) in found.items()},
            default=None,
            return_dtype=pl.String,
        ).alias("address_reason"),
    )


def _address_reason(header: str) -> pl.Expr:
    """Why the country read from a row's address does not resolve, naming the column and the
    address (its lines joined with " / "), so the row is rejected with it and never guessed."""
    why = pl.coalesce("address_reason", "supplier_country_reason")
    shown = pl.col("address_shown")
    return (
        pl.when(pl.col("supplier_address").is_null())
        .then(pl.lit(f"no supplier country: {header} is empty"))
        .when(why.is_not_null())
        .then(pl.format("no supplier country: read from {} {}: {}", pl.lit(header), shown, why))
    )


def _site_reason() -> pl.Expr:
    """Why a row has no usable supplier country when its site was looked up: the site is not
    in the export, has no country or several there; or the country the export gives does
    not resolve, named with the site it came from."""
    reason = pl.col("supplier_country_reason")
    return pl.coalesce(
        "site_reason",
        pl.when(pl.col("site_shown").is_not_null() & reason.is_not_null()).then(
            pl.format("no supplier country: the country of {}: {}", pl.col("site_shown"), reason)
        ),
        reason,
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
                BLOCKED_REASON_PREFIX + " ({} {}): kept for the record, not counted as supply",
                pl.lit(header),
                status,
            )
        )
        .alias("blocked_reason")
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
