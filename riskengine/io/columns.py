"""Column names: the canonical sourcing columns, their accepted aliases, and checks on headers.

Input columns match case-insensitively after turning spaces and hyphens into underscores;
common ERP names (SAP's among them) are accepted as aliases. :func:`require_columns` is the one
place a "missing column(s)" message is made.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar

from riskengine.errors import InputFileError, MissingColumnsError, UserInputError

#: Header names of a part number (SAP MATNR, Oracle Item, Korean, Japanese, Chinese).
PART_NUMBER_ALIASES: tuple[str, ...] = (
    "matnr",
    "item",
    "material_number",
    "materialnummer",
    "part_number",
    "자재",
    "品目",
    "物料",
)

#: Headers of a supplier site (Oracle "Supplier Site", VENDOR_SITE_CODE: a site code or name,
#: not a place). A sourcing list's site is looked up in a supplier-site export
#: (``--supplier-sites``) for its country, and named when the country is missing so the message
#: says what the file has instead.
SUPPLIER_SITE_HEADERS = ("supplier_site", "vendor_site", "supplier_site_code", "vendor_site_code")

SOURCING_ALIASES: dict[str, tuple[str, ...]] = {
    # The material text. ERP exports name it by the field (SAP MAKTX/TXZ01, Oracle "Item
    # Description") or by its label in the user's language (SAP GUI in German, Korean,
    # Japanese, Chinese; French and Spanish ALV layouts).
    "material": (
        "material",
        "material_name",
        "material_description",
        "maktx",
        "txz01",
        "item_description",
        "materialkurztext",
        "kurztext",
        "description_de_l'article",
        "désignation",
        "texto_breve_de_material",
        "descripción_de_material",
        "자재내역",
        "品目テキスト",
        "物料描述",
        # Part numbers: used as the material only when no text column is present (below).
        *PART_NUMBER_ALIASES,
    ),
    "supplier": (
        "supplier",
        "supplier_name",
        "vendor",
        "vendor_name",
        "name1",
        "name_1",
        "lieferantenname",
        "fournisseur",
        "proveedor",
        "공급업체명",
        "仕入先名",
        "供应商名称",
        # SAP labels LIFNR "Lieferant" / 공급업체 / 仕入先 / 供应商: a number in SAP, a name in
        # many hand-made lists; a name column wins when both are present (fallbacks below).
        "lieferant",
        "공급업체",
        "仕入先",
        "供应商",
    ),
    "supplier_country": (
        "supplier_country",
        "vendor_country",
        "country",
        "country_of_supplier",
        "land1",
        "land",
        "lieferantenland",
        "pays",
        "país",
        "pais",
        "국가",
        "国",
        "国家",
    ),
    "supplier_id": ("supplier_id", "vendor_id", "vendor_number", "lifnr", "supplier_number"),
    "buyer_country": ("buyer_country", "destination_country", "plant_country", "플랜트_국가"),
    "buyer": ("buyer", "buyer_name", "customer", "purchaser"),
    # Oracle ASL "Allocation %", SAP quota "Anteil %", and the Asian labels for a ratio.
    "share": (
        "share",
        "supply_share",
        "quota_share",
        "allocation_%",
        "allocation",
        "anteil_%",
        "anteil",
        "quote_%",
        "part_%",
        "porcentaje",
        "비율",
        "비율(%)",
        "비율_(%)",
        "比率",
        "比例",
    ),
    # No volume column is listed: nothing reads one yet, so `volume` and `annual_quantity`
    # side by side are kept as input columns instead of being refused as two names for one.
    # SAP source lists (EORD) call the validity period VDATU to BDATU.
    "valid_from": ("valid_from", "vdatu", "valid_since", "effective_from"),
    "valid_to": ("valid_to", "bdatu", "valid_until", "effective_to"),
    # The plant a material is bought for (SAP WERKS, Oracle "Ship-To Org"): each plant has
    # its own supplier mix.
    "plant": (
        "plant",
        "werks",
        "plant_id",
        "werk",
        "ship_to_org",
        "ship_to_organization",
        "usine",
        "planta",
        "플랜트",
        "プラント",
        "工厂",
    ),
    # Whether the source may be used: Oracle ASL Status (Approved, Debarred...), SAP EORD
    # NOTKZ ("blocked source of supply", X when blocked).
    "source_status": (
        "source_status",
        "asl_status",
        "notkz",
        "sperrkennzeichen",
        "gesperrt",
        "blocked",
    ),
    # Oracle ASL "Supplier Site": read only to look the site's country up (--supplier-sites).
    "supplier_site": SUPPLIER_SITE_HEADERS,
}
SOURCING_REQUIRED = ("material", "supplier", "supplier_country")
#: A supplier-site export (``--supplier-sites``): Oracle's Supplier Sites export or an extract
#: of AP_SUPPLIER_SITES_ALL with its supplier's name (AP_SUPPLIERS.VENDOR_NAME); the site's
#: COUNTRY is a territory code there. Its own names, so ``--columns`` (the sourcing list's)
#: does not apply to it.
SUPPLIER_SITES_ALIASES: dict[str, tuple[str, ...]] = {
    "supplier": ("supplier", "supplier_name", "vendor_name", "vendor"),
    "supplier_site": (*SUPPLIER_SITE_HEADERS, "site_code", "site"),
    "country": ("country", "site_country", "country_code", "supplier_country"),
}
SUPPLIER_SITES_REQUIRED = ("supplier", "supplier_site", "country")
#: A column read only when the required one it stands in for is absent: the supplier-site
#: address gives the supplier country (its last line) to a list without a country column, as
#: Oracle's approved-supplier list has. Kept out of :data:`SOURCING_ALIASES`, so an address
#: beside a country column is never a second country.
STAND_IN_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "supplier_country": (
        "supplier_address",
        (
            "supplier_address",
            "supplier_site_address",
            "vendor_address",
            "vendor_site_address",
            "site_address",
            "address",
        ),
    ),
}
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

#: The columns of a bill of materials (SAP CS12/STPO names among them), as for a sourcing list.
BOM_ALIASES: dict[str, tuple[str, ...]] = {
    "parent": (
        "parent",
        "parent_material",
        "parent_material_id",
        "parent_part",
        "assembly",
        "header_material",
        "matnr",
    ),
    "component": (
        "component",
        "component_material",
        "component_material_id",
        "component_part",
        "child",
        "idnrk",
    ),
    "quantity": ("quantity", "component_quantity", "component_qty", "qty", "menge"),
    "base_quantity": ("base_quantity", "base_qty", "bmeng"),
    "scrap_percent": ("scrap_percent", "scrap_pct", "component_scrap", "scrap", "ausch"),
    "item_category": ("item_category", "postp"),
    # Which plant the BOM is for (SAP STKO/MAST WERKS): its lines use that plant's sourcing.
    "plant": ("plant", "werks", "plant_id"),
    # Value of one unit of the component (a price, SAP NETPR); gives the value at risk.
    "unit_value": ("unit_value", "price", "unit_price", "netpr"),
    # What the quantity counts (SAP MEINS): converted to kilograms or pieces at the leaves.
    "unit": UNIT_OF_MEASURE_ALIASES,
}
BOM_REQUIRED = ("parent", "component", "quantity")
#: Aliases used only when no other alias of the same column is present. SAP exports carry the
#: material number (MATNR) next to its description (MAKTX/TXZ01); the catalog resolves names,
#: so the description is read and MATNR is kept as an input column.
SOURCING_FALLBACK_ALIASES: dict[str, tuple[str, ...]] = {
    "material": PART_NUMBER_ALIASES,
    "supplier": ("lieferant", "공급업체", "仕入先", "供应商"),
    "valid_from": ("valid_since", "effective_from"),
    "valid_to": ("valid_until", "effective_to"),
}


#: SAP's German field label of MATNR is "Material": beside "Materialkurztext" (MAKTX) it is the
#: material number, read as if it were headed "Materialnummer", not a clean material column.
_NUMBER_LABELS = {"material": "materialkurztext"}
_NUMBER_LABELS_READ_AS = "materialnummer"


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff")).casefold()


def nameable_columns() -> tuple[str, ...]:
    """The canonical column names ``--columns`` may name: a sourcing list's, a BOM's, and the
    part number and description ``riskengine map`` reads."""
    stand_ins = [stand_in for stand_in, _ in STAND_IN_COLUMNS.values()]
    return (*SOURCING_ALIASES, *stand_ins, *BOM_ALIASES, "part_number", "description")


#: Headers the user named with ``--columns`` (canonical name -> the input's header), for the
#: command being run; set with :func:`named_columns`.
_NAMED_COLUMNS: ContextVar[dict[str, str] | None] = ContextVar("named_columns", default=None)


@contextlib.contextmanager
def named_columns(named: dict[str, str] | None) -> Iterator[None]:
    """Within the block, :func:`resolve_columns` takes each canonical column of ``named``
    from the header given, before any alias (``--columns material="Item Description"``)."""
    token = _NAMED_COLUMNS.set(dict(named) if named else None)
    try:
        yield
    finally:
        _NAMED_COLUMNS.reset(token)


def parse_named_columns(values: Iterable[str], known: Iterable[str]) -> dict[str, str]:
    """``name=header`` pairs (comma-separated or repeated; a header may be quoted) as a dict.

    Raises
    ------
    UserInputError
        A pair without ``=``, or a name that is not one of ``known``.
    """
    accepted = sorted(set(known))
    named: dict[str, str] = {}
    for value in values:
        # csv splits on commas outside quotes, so `material="Item, text"` keeps its comma.
        for pair in next(csv.reader([value], skipinitialspace=True)):
            if not pair.strip():
                continue
            name, equals, header = pair.partition("=")
            name = name.strip()
            if not equals or not header.strip():
                raise UserInputError(f"--columns {pair!r}: write name=HEADER, e.g. share=Anteil")
            if name not in accepted:
                raise UserInputError(
                    f"--columns: unknown column name {name!r}; known: {', '.join(accepted)}"
                )
            named[name] = header.strip().strip('"').strip("'")
    return named


def _named_headers(
    by_normalised: dict[str, str], aliases: dict[str, tuple[str, ...]], source: str
) -> dict[str, str]:
    named = _NAMED_COLUMNS.get() or {}
    found: dict[str, str] = {}
    for canonical, header in named.items():
        if canonical not in aliases:
            continue  # a name for another kind of table (a BOM's columns, say)
        column = by_normalised.get(_normalise_header(header))
        if column is None:
            raise UserInputError(
                f"{source}: --columns {canonical}={header!r}: no such column; the columns are "
                + ", ".join(repr(name) for name in by_normalised.values())
            )
        found[canonical] = column
    return found


def resolve_columns(
    columns: Sequence[str],
    *,
    source: str,
    aliases: dict[str, tuple[str, ...]] = SOURCING_ALIASES,
    required: Sequence[str] = SOURCING_REQUIRED,
    fallbacks: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, str]:
    """Map canonical column names to the input's own headers.

    Precedence: a header named with ``--columns`` (:func:`named_columns`), then the exact
    canonical name ("material" beside MAKTX: the team's clean column wins, see
    :func:`column_choice_notes`), then the aliases; an alias listed in ``fallbacks`` (by
    canonical name; :data:`SOURCING_FALLBACK_ALIASES` by default) is used only when no other
    alias of that column is present, so a part number (MATNR, Item) beside its description
    (MAKTX, Item Description) is a key, not a second material.

    Raises
    ------
    MissingColumnsError
        Listing every missing required column, the accepted aliases and close headers.
    UserInputError
        When two input columns claim the same canonical name.
    """
    mapping, _ = _resolve(columns, source, aliases, fallbacks)
    for name in required:
        if name in mapping or name not in STAND_IN_COLUMNS:
            continue
        stand_in, stand_in_aliases = STAND_IN_COLUMNS[name]
        found, _ = _resolve(columns, source, {stand_in: stand_in_aliases}, {})
        mapping.update(found)
    stand_ins = {name for name, (stand_in, _) in STAND_IN_COLUMNS.items() if stand_in in mapping}
    require_columns(
        [*mapping, *stand_ins],
        required,
        source=source,
        describe=lambda name: (
            f"{name!r} (accepted: {', '.join(aliases[name])}"
            + _closest_headers(name, columns)
            + ")"
            + _stand_in_hint(name, columns)
        ),
        qualifier="required ",
    )
    return mapping


def _stand_in_hint(name: str, columns: Sequence[str]) -> str:
    """For a missing supplier country: what the file has instead (a supplier site is a name,
    not a place) and the ways to give the country: the supplier-site export when the file
    names sites, a country column, or an address column."""
    if name not in STAND_IN_COLUMNS:
        return ""
    stand_in, stand_in_aliases = STAND_IN_COLUMNS[name]
    sites = [column for column in columns if _normalise_header(column) in SUPPLIER_SITE_HEADERS]
    site = (
        f"; the file names a supplier site ({', '.join(repr(site) for site in sites)}) but no "
        "country, and a site's name is not read as a place; give the supplier-site export "
        "(supplier, supplier site, country) with --supplier-sites FILE to look each site's "
        "country up"
        if sites
        else ""
    )
    return (
        f"{site}; {'or ' if sites else ''}add the site's country as a column and name it, e.g. "
        f'--columns {name}="Site Country", or give a supplier-site address column '
        f"(accepted: {', '.join(stand_in_aliases)}; or --columns {stand_in}=HEADER) whose last "
        "line names the country"
    )


def column_choice_notes(
    columns: Sequence[str],
    *,
    source: str,
    aliases: dict[str, tuple[str, ...]] = SOURCING_ALIASES,
    fallbacks: dict[str, tuple[str, ...]] | None = None,
) -> tuple[str, ...]:
    """Notes naming the columns :func:`resolve_columns` chose over others of the same meaning
    because they carry the exact canonical name."""
    _, notes = _resolve(columns, source, aliases, fallbacks)
    return tuple(notes)


def _resolve(
    columns: Sequence[str],
    source: str,
    aliases: dict[str, tuple[str, ...]],
    fallbacks: dict[str, tuple[str, ...]] | None,
) -> tuple[dict[str, str], list[str]]:
    by_normalised: dict[str, str] = {}
    for column in columns:
        normalised = _normalise_header(column)
        if normalised in by_normalised:
            raise UserInputError(
                f"{source}: columns {by_normalised[normalised]!r} and {column!r} are the same "
                "name; rename one"
            )
        by_normalised[normalised] = column
    for label, beside in _NUMBER_LABELS.items():
        if label in by_normalised and beside in by_normalised:
            by_normalised.setdefault(_NUMBER_LABELS_READ_AS, by_normalised.pop(label))
    if fallbacks is None:
        fallbacks = SOURCING_FALLBACK_ALIASES
    mapping = _named_headers(by_normalised, aliases, source)
    taken = set(mapping.values())
    notes: list[str] = []
    for canonical, accepted in aliases.items():
        if canonical in mapping:
            continue
        present = [alias for alias in accepted if by_normalised.get(alias, "") not in ("", *taken)]
        found = [by_normalised[alias] for alias in present]
        preferred = [
            by_normalised[alias] for alias in present if alias not in fallbacks.get(canonical, ())
        ]
        if len(found) > 1 and preferred:
            found = preferred
        if len(found) > 1 and canonical in present:
            exact = by_normalised[canonical]
            others = ", ".join(repr(name) for name in found if name != exact)
            notes.append(
                f"{source}: column {exact!r} is read as {canonical!r} (its exact name wins); "
                f"{others} kept as input column(s)"
            )
            found = [exact]
        if len(found) > 1:
            raise UserInputError(
                f"{source}: columns {', '.join(repr(name) for name in found)} all mean "
                f"{canonical!r}; keep one, or name it with --columns {canonical}=HEADER"
            )
        if found:
            mapping[canonical] = found[0]
    return mapping, notes


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
