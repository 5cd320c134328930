"""Column names: the canonical sourcing columns, their accepted aliases, and checks on headers.

Input columns match case-insensitively after turning spaces and hyphens into underscores;
common ERP names (SAP's among them) are accepted as aliases. :func:`require_columns` is the one
place a "missing column(s)" message is made.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from riskengine.errors import InputFileError, MissingColumnsError, UserInputError

SOURCING_ALIASES: dict[str, tuple[str, ...]] = {
    "material": ("material", "material_name", "material_description", "maktx", "txz01", "matnr"),
    "supplier": ("supplier", "supplier_name", "vendor", "vendor_name", "name1"),
    "supplier_country": (
        "supplier_country",
        "vendor_country",
        "country",
        "country_of_supplier",
        "land1",
    ),
    "supplier_id": ("supplier_id", "vendor_id", "vendor_number", "lifnr"),
    "buyer_country": ("buyer_country", "destination_country", "plant_country"),
    "buyer": ("buyer", "buyer_name", "customer", "purchaser"),
    "share": ("share", "supply_share", "quota_share"),
    # No volume column is listed: nothing reads one yet, so `volume` and `annual_quantity`
    # side by side are kept as input columns instead of being refused as two names for one.
    # SAP source lists (EORD) call the validity period VDATU to BDATU.
    "valid_from": ("valid_from", "vdatu", "valid_since", "effective_from"),
    "valid_to": ("valid_to", "bdatu", "valid_until", "effective_to"),
    # The plant a material is bought for (SAP WERKS): each plant has its own supplier mix.
    "plant": ("plant", "werks", "plant_id"),
}
SOURCING_REQUIRED = ("material", "supplier", "supplier_country")
#: Headers of a quantity's unit of measure: SAP's MEINS ("Base Unit of Measure" on the
#: material, "Component unit of measure" on a BOM item) and the common ERP "UoM".
UNIT_OF_MEASURE_ALIASES = (
    "unit",
    "uom",
    "unit_of_measure",
    "base_unit_of_measure",
    "component_unit_of_measure",
    "component_unit",
    "meins",
)
#: Aliases used only when no other alias of the same column is present. SAP exports carry the
#: material number (MATNR) next to its description (MAKTX/TXZ01); the catalog resolves names,
#: so the description is read and MATNR is kept as an input column.
SOURCING_FALLBACK_ALIASES: dict[str, tuple[str, ...]] = {
    "material": ("matnr",),
    "valid_from": ("valid_since", "effective_from"),
    "valid_to": ("valid_until", "effective_to"),
}


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff")).casefold()


def resolve_columns(
    columns: Sequence[str],
    *,
    source: str,
    aliases: dict[str, tuple[str, ...]] = SOURCING_ALIASES,
    required: Sequence[str] = SOURCING_REQUIRED,
    fallbacks: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, str]:
    """Map canonical column names to the input's own headers.

    An alias listed in ``fallbacks`` (by canonical name; :data:`SOURCING_FALLBACK_ALIASES` by
    default) is used only when no other alias of that column is present.

    Raises
    ------
    MissingColumnsError
        Listing every missing required column, the accepted aliases and close headers.
    UserInputError
        When two input columns claim the same canonical name.
    """
    by_normalised: dict[str, str] = {}
    for column in columns:
        normalised = _normalise_header(column)
        if normalised in by_normalised:
            raise UserInputError(
                f"{source}: columns {by_normalised[normalised]!r} and {column!r} are the same "
                "name; rename one"
            )
        by_normalised[normalised] = column
    if fallbacks is None:
        fallbacks = SOURCING_FALLBACK_ALIASES
    mapping: dict[str, str] = {}
    for canonical, accepted in aliases.items():
        found = [by_normalised[alias] for alias in accepted if alias in by_normalised]
        preferred = [
            by_normalised[alias]
            for alias in accepted
            if alias in by_normalised and alias not in fallbacks.get(canonical, ())
        ]
        if len(found) > 1 and preferred:
            found = preferred
        if len(found) > 1:
            raise UserInputError(
                f"{source}: columns {', '.join(repr(name) for name in found)} all mean "
                f"{canonical!r}; keep one"
            )
        if found:
            mapping[canonical] = found[0]
    require_columns(
        mapping,
        required,
        source=source,
        describe=lambda name: (
            f"{name!r} (accepted: {', '.join(aliases[name])}"
            + _closest_headers(name, columns)
            + ")"
        ),
        qualifier="required ",
    )
    return mapping


def _closest_headers(name: str, columns: Sequence[str]) -> str:
    from rapidfuzz import process

    close = process.extract(name, list(columns), limit=2, score_cutoff=60)
    return f"; closest headers: {', '.join(repr(m[0]) for m in close)}" if close else ""


def require_columns(
    present: Iterable[str],
    required: Iterable[str],
    *,
    source: str,
    describe: Callable[[str], str] = str,
    qualifier: str = "",
    error: type[Exception] = MissingColumnsError,
) -> None:
    """Raise ``error`` naming every name of ``required`` not in ``present``, in order.

    The message is ``"{source}: missing {qualifier}column(s) {described names}"``; names are
    shown with ``describe`` and joined with ``"; "`` when described, ``", "`` otherwise.
    """
    have = set(present)
    missing = [name for name in required if name not in have]
    if not missing:
        return
    separator = ", " if describe is str else "; "
    plural = "s" if len(missing) > 1 else ""
    raise error(
        f"{source}: missing {qualifier}column{plural} "
        + separator.join(describe(name) for name in missing)
    )


def check_unique_names(label: str, names: list[str], positions: list[str]) -> None:
    where: dict[str, list[str]] = {}
    for name, position in zip(names, positions, strict=True):
        if name:
            where.setdefault(name, []).append(position)
    duplicates = {name: found for name, found in where.items() if len(found) > 1}
    if duplicates:
        described = "; ".join(
            f"{name!r} (columns {', '.join(found)})" for name, found in duplicates.items()
        )
        raise InputFileError(f"{label}: duplicate column names: {described}")
