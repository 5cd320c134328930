"""Global Trade Alert intervention exports: export measures become ``policy_events`` rows,
their HS codes mapped to catalog materials."""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from riskengine.catalog import STAGES, load_catalog, normalise_country
from riskengine.errors import CountryError, InputFileError
from riskengine.reference.importers.common import (
    GTA,
    ISO_DATE,
    ParsedImport,
    Record,
    Row,
    cell_text,
    joined,
)

#: Global Trade Alert intervention types (its taxonomy) that riskengine records, by measure.
GTA_MEASURES = {
    "export ban": "export_ban",
    "export tax": "export_tax",
    "export quota": "export_quota",
    "export tariff quota": "export_quota",
    "export licensing requirement": "export_licensing",
    "export-related non-tariff measure, nes": "other",
    "local supply requirement for exports": "other",
    "export price benchmark": "other",
    "import ban": "import_ban",
}
#: GTA columns by role, under the names GTA's exports have used (compared lower-case, with
#: runs of punctuation and spaces as one space).
GTA_COLUMNS: dict[str, tuple[str, ...]] = {
    "intervention_id": ("intervention id",),
    "state_act_id": ("state act id",),
    "title": ("title", "state act title", "intervention title"),
    "announced": ("announcement date", "date announced"),
    "implemented": ("implementation date", "inception date", "date implemented"),
    "removed": ("removal date", "date removed"),
    "implementer": ("implementing jurisdiction", "implementing jurisdictions"),
    "affected": ("affected jurisdiction", "affected jurisdictions"),
    "type": ("intervention type", "gta intervention type", "instrument type"),
    "evaluation": ("gta evaluation",),
    "products": ("affected products", "affected product", "affected hs codes", "hs codes"),
    "url": ("intervention url", "gta entry url", "source url", "url"),
}
GTA_REQUIRED = ("intervention_id", "implementer", "type", "products")
GTA_URL = "https://www.globaltradealert.org/intervention/{}"
HS_CODE = re.compile(r"\d[\d.]{3,}")


def _hs_digits(cell: str | None) -> list[str]:
    """The HS codes of a cell as digits (an odd length lost its leading zero: restored)."""
    codes = []
    for found in HS_CODE.findall(cell or ""):
        digits = found.replace(".", "")
        if len(digits) % 2:
            digits = "0" + digits
        if digits not in codes:
            codes.append(digits)
    return codes


def _materials_of_codes(codes: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(material ids, commodity tags, stages) the catalog gives for HS codes; a code matches
    a material whose code starts with it or that it starts with (heading vs subheading)."""
    catalog = load_catalog()
    materials = []
    for material_id in catalog.material_ids:
        material = catalog.material(material_id)
        own = [code.replace(".", "") for code in material.hs_codes]
        if any(code.startswith(mine) or mine.startswith(code) for code in codes for mine in own):
            materials.append(material)
    commodities = {commodity for material in materials for commodity in material.commodities}
    # A commodity under another one named is covered by it (policy tags apply down the tree).
    tags = sorted(
        commodity
        for commodity in commodities
        if not set(catalog.commodity_lineage(commodity)[1:]) & commodities
    )
    stages = [stage for stage in STAGES if any(m.stage == stage for m in materials)]
    return [material.material_id for material in materials], tags, stages


def _gta_date(text: str | None) -> tuple[str | None, bool]:
    """An ISO date from a GTA cell (``2024-03-05`` or ``2024-03-05 00:00:00``); ok flag."""
    text = cell_text(text)
    if text is None:
        return None, True
    match = ISO_DATE.match(text)
    return (match.group(0), True) if match else (None, False)


def parse_gta(frame: pl.DataFrame, label: str, normalised: dict[str, str]) -> ParsedImport:
    """Map a GTA export, one record per intervention, to ``policy_events`` records.

    Raises
    ------
    InputFileError
        When a column the mapping needs is missing (``normalised``: headers by
        :func:`normalise_header`).
    """
    found = {
        role: next((normalised[name] for name in names if name in normalised), None)
        for role, names in GTA_COLUMNS.items()
    }
    missing = [GTA_COLUMNS[role][0] for role in GTA_REQUIRED if found[role] is None]
    if missing or (found["announced"] is None and found["implemented"] is None):
        missing += [] if missing else ["announcement date or implementation date"]
        raise InputFileError(
            f"{label}: a Global Trade Alert export without the column(s) {', '.join(missing)} "
            "(HS codes are how riskengine finds the materials an intervention covers)"
        )
    rows_by_id: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for number, row in enumerate(frame.iter_rows(named=True), start=2):
        cells = {role: row[column] if column else None for role, column in found.items()}
        key = cell_text(cells["intervention_id"]) or f"(blank, row {number})"
        rows_by_id.setdefault(key, []).append((number, cells))
    records = [_gta_record(key, rows) for key, rows in rows_by_id.items()]
    return ParsedImport(GTA, tuple(records))


def _gta_record(intervention: str, rows: list[tuple[int, dict[str, Any]]]) -> Record:
    numbers = ", ".join(str(number) for number, _ in rows)
    where = f"intervention {intervention} (row {numbers})"
    first = rows[0][1]
    implementers = {cell_text(cells["implementer"]) for _, cells in rows} - {None}
    if len(implementers) != 1:
        return Record(
            where,
            reason="not one implementing jurisdiction: "
            + (", ".join(sorted(i for i in implementers if i)) or "none"),
        )
    implementer = implementers.pop()
    assert implementer is not None
    try:
        country = normalise_country(implementer)
    except CountryError as error:
        return Record(where, reason=f"implementing jurisdiction: {error}")
    kind = cell_text(first["type"]) or ""
    measure = GTA_MEASURES.get(kind.lower())
    if measure is None:
        return Record(
            where, reason=f"intervention type {kind!r} is not an export measure riskengine records"
        )
    dates = {}
    for role in ("announced", "implemented", "removed"):
        value, ok = _gta_date(first[role])
        if not ok:
            return Record(where, reason=f"cannot read the {role} date {first[role]!r} (YYYY-MM-DD)")
        dates[role] = value
    if not dates["announced"] and not dates["implemented"]:
        return Record(where, reason="neither an announcement nor an implementation date")
    codes = _hs_digits(" ".join(str(cells["products"] or "") for _, cells in rows))
    if not codes:
        return Record(where, reason="no HS code among the affected products")
    material_ids, tags, stages = _materials_of_codes(codes)
    if not tags:
        return Record(where, reason=f"no catalog material has the HS codes {', '.join(codes)}")
    evaluation = cell_text(first["evaluation"])
    affected = joined((cells["affected"] for _, cells in rows), ", ")
    title = cell_text(first["title"]) or kind
    description = joined(
        [
            title,
            f"GTA {kind}" + (f", {evaluation}" if evaluation else ""),
            f"HS {', '.join(codes)} -> catalog materials {', '.join(material_ids)}",
            f"affected jurisdictions: {affected}" if affected else None,
        ]
    )
    url = cell_text(first["url"]) or GTA_URL.format(intervention)
    state_act = cell_text(first["state_act_id"])
    source = joined(
        [
            f"Global Trade Alert intervention {intervention}"
            + (f" (state act {state_act})" if state_act else "")
            + f" '{title}'",
            url,
        ],
        " ",
    )
    row: Row = {
        "event_id": f"GTA-{intervention}",
        "country_iso3": country,
        "measure": measure,
        "materials": ";".join(tags),
        "target_country_iso3": None,
        "announced": dates["announced"],
        "effective": dates["implemented"],
        "ended": dates["removed"],
        "stages": ";".join(stages) if len(stages) < len(STAGES) else None,
        "scope": "relaxation" if (evaluation or "").lower() == "green" else "flow",
        "description": description,
        "source": source,
        "date_precision": "day",
        "superseded_by": None,
        "confidence": "secondary",
    }
    return Record(where, "policy_events", row)
