"""Reading the files ``riskengine reference import`` accepts, as rows of the reference tables.

The format is told from the content, not the file name:

- OpenSanctions FollowTheMoney entities, one JSON object per line (``entities.ftm.json``,
  ``targets.nested.json``): each object has ``id``, ``schema`` and ``properties`` (lists of
  values); ``datasets``, ``first_seen``, ``target`` beside them. Companies, organisations and
  legal entities that are targets become ``listed_entities`` rows, one per dataset they are
  listed in, their other names as ``aliases``; ``Sanction`` entities (flat: their ``entity``
  property names the target; nested: the target's ``properties.sanctions``) give the listing
  date, programme and reason.
- OpenSanctions ``targets.simple.csv`` (``id, schema, name, aliases, birth_date, countries,
  addresses, identifiers, sanctions, phones, emails, dataset, first_seen, last_seen,
  last_change``; list cells ``;``-separated): one ``listed_entities`` row per dataset title.
- The US Consolidated Screening List CSV (trade.gov: ``_id, source, entity_number, type,
  programs, name, ..., start_date, end_date, ..., source_list_url, alt_names, ...``): one
  ``listed_entities`` row per entity (not individuals, vessels or aircraft), ``alt_names`` as
  ``aliases``.
- A Global Trade Alert intervention export (columns such as ``Intervention ID``, ``State Act
  ID``, ``Announcement date``, ``Implementation date``, ``Removal date``, ``Implementing
  jurisdiction``, ``Affected jurisdiction``, ``Intervention type``, ``GTA evaluation``,
  ``Affected products``): export measures become ``policy_events`` rows; their HS codes are
  mapped to catalog materials.
- riskengine's own ``policy_events.csv`` and ``listed_entities.csv``, so a team can record its own.

A record that cannot be mapped is kept with the reason; the contracts
(:mod:`riskengine.reference.contracts`) are applied later, to all mapped rows at once
(:mod:`riskengine.reference.importing`), so no rule is written twice.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from riskengine.catalog import STAGES, load_catalog, normalise_country
from riskengine.errors import CountryError, InputFileError
from riskengine.io.columns import require_columns
from riskengine.io.delimited import read_delimited
from riskengine.reference.contracts import LISTED_ENTITIES, POLICY_EVENTS, column_types

Row = dict[str, str | None]

FTM = "opensanctions-ftm"
TARGETS_SIMPLE = "opensanctions-targets-simple"
CSL = "us-consolidated-screening-list"
GTA = "global-trade-alert"
OWN_EVENTS = "riskengine-policy-events"
OWN_LISTINGS = "riskengine-listed-entities"

FORMAT_TITLES = {
    FTM: "OpenSanctions FollowTheMoney entities (JSON lines)",
    TARGETS_SIMPLE: "OpenSanctions targets.simple.csv",
    CSL: "US Consolidated Screening List CSV",
    GTA: "Global Trade Alert intervention export",
    OWN_EVENTS: "riskengine policy_events.csv",
    OWN_LISTINGS: "riskengine listed_entities.csv",
}

#: FtM schemata that name a company or organisation (what riskengine screens).
LISTABLE_SCHEMATA = frozenset({"Company", "Organization", "LegalEntity", "PublicBody"})
#: FtM topics that make an entity a screening target (when the export gives no ``target``).
TARGET_TOPICS = frozenset(
    {
        "sanction",
        "sanction.linked",
        "sanction.counter",
        "export.control",
        "export.risk",
        "debarment",
    }
)
#: CSL record types that are not companies or organisations.
CSL_PERSONS_AND_ASSETS = frozenset({"individual", "vessel", "aircraft"})
#: CSL source lists that the shipped data already holds under another name: an imported row
#: then has the shipped row's key, so it replaces it instead of doubling it.
CSL_SHIPPED_LIST_NAMES = {
    "Entity List (EL) - Bureau of Industry and Security": (
        "US BIS Entity List (EAR Supp. No. 4 to Part 744)"
    ),
}
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
OPENSANCTIONS_URL = "https://www.opensanctions.org/entities/{}/"
#: OpenSanctions aggregates official lists (a database, so ``secondary`` in the contract's
#: terms); the Consolidated Screening List is the US government's own (``primary``).
OPENSANCTIONS_CONFIDENCE = "secondary"
#: FtM name properties that are other names of the entity (``weakAlias`` is, by FtM's own
#: description, not for matching).
FTM_OTHER_NAMES = ("alias", "previousName")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_HS_CODE = re.compile(r"\d[\d.]{3,}")
_MAX_TEXT = 400


@dataclass(frozen=True)
class Record:
    """One record of an import file: the row it maps to, or why it maps to none."""

    label: str
    table: str | None = None
    row: Row | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ParsedImport:
    """The records of one import file and its format (see :data:`FORMAT_TITLES`)."""

    format: str
    records: tuple[Record, ...]
    #: Entities read only to complete others (FtM ``Sanction``, ``Address``...).
    supporting: int = 0


def parse_import(text: str, label: str) -> ParsedImport:
    """Detect the format of ``text`` from its content and map every record.

    Raises
    ------
    InputFileError
        If the content is none of the formats (naming what was expected), or a CSV lacks a
        column its format needs.
    """
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("{"):
        return _parse_ftm(text, label)
    if head.startswith("["):
        raise InputFileError(
            f"{label}: a JSON array; OpenSanctions FollowTheMoney entities are read as JSON "
            "lines (one entity per line, as in entities.ftm.json)"
        )
    frame, _, _ = read_delimited(text, label, None, False)
    columns = set(frame.columns)
    normalised = {_normalise(column): column for column in frame.columns}
    if {"id", "schema", "name", "dataset", "sanctions", "first_seen"} <= columns:
        return _parse_targets_simple(frame)
    if {"source", "entity_number", "programs", "name", "start_date", "source_list_url"} <= columns:
        return _parse_csl(frame)
    if "intervention id" in normalised:
        return _parse_gta(frame, label, normalised)
    if "event_id" in columns:
        return _parse_own(frame, label, OWN_EVENTS)
    if {"list_name", "entity_name"} <= columns:
        return _parse_own(frame, label, OWN_LISTINGS)
    shown = ", ".join(frame.columns[:12]) + (", ..." if frame.width > 12 else "")
    raise InputFileError(
        f"{label}: not a format riskengine can import (its columns are {shown}); expected "
        + "; ".join(FORMAT_TITLES.values())
    )


# ------------------------------------------------------------------------------------ shared


def _normalise(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", name.lower()).strip()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _short(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3].rstrip() + "..."


def _joined(values: Iterable[str | None], separator: str = "; ") -> str | None:
    seen: list[str] = []
    for value in values:
        text = _text(value)
        if text and text not in seen:
            seen.append(text)
    return _short(separator.join(seen)) if seen else None


def _country(text: str | None) -> str | None:
    """The ISO alpha-3 code of ``text``, or None when it names no single country."""
    if not text:
        return None
    try:
        return normalise_country(text)
    except CountryError:
        return None


def _one_country(values: Iterable[str | None]) -> str | None:
    """The country when the values name exactly one; None for none or several."""
    codes = {code for code in (_country(value) for value in values) if code}
    return codes.pop() if len(codes) == 1 else None


def _day(text: str | None) -> tuple[str | None, str | None]:
    """An ISO date (a year or month given as its first day) and a note when it was partial."""
    match = _PARTIAL_DATE.match(text or "")
    if not match:
        return None, None
    year, month, day = match.groups()
    if day:
        return f"{year}-{month}-{day}", None
    if month:
        return f"{year}-{month}-01", "listing date given to the month"
    return f"{year}-01-01", "listing date given to the year"


def _listing_row(
    list_name: str,
    authority: str,
    name: str,
    country: str | None,
    listed_on: str,
    reason: str | None,
    source: str,
    aliases: Iterable[str],
    confidence: str,
) -> Row:
    other_names = [alias.replace(";", ",") for alias in aliases if alias.strip() != name]
    return {
        "list_name": list_name,
        "listing_authority_iso3": authority,
        "entity_name": name,
        "entity_country_iso3": country,
        "listed_on": listed_on,
        "reason": reason,
        "source": _short(source),
        "aliases": ";".join(dict.fromkeys(alias.strip() for alias in other_names)) or None,
        "parent_entity": None,
        "relation": None,
        "confidence": confidence,
    }


# ------------------------------------------------------------------------------ OpenSanctions


def _is_target(entity: dict[str, Any]) -> bool:
    if "target" in entity:
        return bool(entity["target"])
    topics = entity.get("properties", {}).get("topics", [])
    return bool(TARGET_TOPICS.intersection(topics))


def _values(properties: dict[str, Any], name: str) -> list[str]:
    values = properties.get(name) or []
    return [str(value) for value in values if isinstance(value, str | int | float)]


def _authority_of_dataset(dataset: str, sanctions: list[dict[str, Any]]) -> str | None:
    """The listing country: a sanction's ``country``, else the dataset name's prefix (us_...)."""
    for sanction in sanctions:
        code = _one_country(_values(sanction, "country"))
        if code:
            return code
    prefix = dataset.split("_", 1)[0]
    return _country(prefix.upper()) if len(prefix) == 2 else None


def _parse_ftm(text: str, label: str) -> ParsedImport:
    entities: list[tuple[int, dict[str, Any]]] = []
    records: list[Record] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            entity = json.loads(line)
        except json.JSONDecodeError as error:
            records.append(Record(where, reason=f"not JSON: {error.msg}"))
            continue
        if (
            not isinstance(entity, dict)
            or not isinstance(entity.get("schema"), str)
            or not isinstance(entity.get("properties"), dict)
        ):
            records.append(
                Record(where, reason="not a FollowTheMoney entity (no schema or properties)")
            )
            continue
        entities.append((number, entity))
    if not entities:
        raise InputFileError(
            f"{label}: no FollowTheMoney entity (a JSON object with schema and properties) "
            "on any line"
        )
    sanctions: dict[str, list[dict[str, Any]]] = {}
    for _, entity in entities:
        properties = entity["properties"]
        if entity["schema"] == "Sanction":
            for target in _values(properties, "entity"):
                sanctions.setdefault(target, []).append(properties)
        for nested in properties.get("sanctions") or []:
            if isinstance(nested, dict) and isinstance(nested.get("properties"), dict):
                sanctions.setdefault(str(entity.get("id")), []).append(nested["properties"])
    supporting = 0
    for number, entity in entities:
        schema = entity["schema"]
        where = f"line {number} (id {entity.get('id')})"
        if schema in LISTABLE_SCHEMATA and _is_target(entity):
            records.extend(_ftm_records(entity, where, sanctions.get(str(entity.get("id")), [])))
        elif schema == "Person" and _is_target(entity):
            records.append(Record(where, reason=_PERSON_REASON))
        elif _is_target(entity):
            records.append(Record(where, reason=f"a {schema}, not a company or organisation"))
        elif schema in LISTABLE_SCHEMATA:
            records.append(
                Record(where, reason="not a target (no sanction or export-control topic)")
            )
        else:
            supporting += 1
    return ParsedImport(FTM, tuple(records), supporting)


_PERSON_REASON = "a person: riskengine screens companies and organisations, not people"


def _ftm_records(
    entity: dict[str, Any], where: str, sanctions: list[dict[str, Any]]
) -> list[Record]:
    properties = entity["properties"]
    entity_id = str(entity.get("id"))
    name = _text(entity.get("caption")) or next(iter(_values(properties, "name")), None)
    if not name:
        return [Record(where, reason="no name")]
    aliases = [
        value
        for prop in ("name", *FTM_OTHER_NAMES)
        for value in _values(properties, prop)
        if value != name
    ]
    datasets = [str(dataset) for dataset in entity.get("datasets") or []]
    if not datasets:
        return [Record(where, reason="no dataset: cannot tell which list it is on")]
    country = None
    for prop in ("jurisdiction", "mainCountry", "country"):
        country = _one_country(_values(properties, prop))
        if country:
            break
    listed_on, note = _ftm_listing_date(entity, sanctions)
    if not listed_on:
        return [
            Record(
                where,
                reason="no listing date (a sanction's listingDate or startDate, createdAt or "
                "first_seen)",
            )
        ]
    reason = _joined(
        [
            *(value for sanction in sanctions for value in _values(sanction, "program")),
            *(value for sanction in sanctions for value in _values(sanction, "reason")),
            *_values(properties, "program"),
            ", ".join(_values(properties, "topics")) or None,
            note,
        ]
    )
    urls = [
        *_values(properties, "sourceUrl"),
        *(value for sanction in sanctions for value in _values(sanction, "sourceUrl")),
    ]
    records = []
    for dataset in datasets:
        authority = _authority_of_dataset(dataset, sanctions)
        label = f"{where}, dataset {dataset}"
        if authority is None:
            records.append(
                Record(
                    label,
                    reason=f"cannot tell the listing country of dataset {dataset!r} "
                    "(listed_entities needs an ISO 3166 country: the EU or the UN is none)",
                )
            )
            continue
        source = _joined(
            [
                f"OpenSanctions dataset {dataset}, entity {OPENSANCTIONS_URL.format(entity_id)}",
                *urls,
            ]
        )
        row = _listing_row(
            f"{dataset} (OpenSanctions)",
            authority,
            name,
            country,
            listed_on,
            reason,
            source or "",
            aliases,
            OPENSANCTIONS_CONFIDENCE,
        )
        records.append(Record(label, "listed_entities", row))
    return records


def _ftm_listing_date(
    entity: dict[str, Any], sanctions: list[dict[str, Any]]
) -> tuple[str | None, str | None]:
    """The date the entity was listed, and a note on where it came from when not a sanction.

    The earliest sanction ``listingDate`` or ``startDate``; else the entity's ``createdAt``;
    else ``first_seen`` (when OpenSanctions first saw it: late, never early).
    """
    candidates: list[tuple[str, str | None]] = [
        (value, None)
        for sanction in sanctions
        for prop in ("listingDate", "startDate")
        for value in _values(sanction, prop)
    ]
    candidates.sort(key=lambda candidate: _day(candidate[0])[0] or "9999")
    candidates += [(value, "createdAt") for value in _values(entity["properties"], "createdAt")]
    if entity.get("first_seen"):
        candidates.append((str(entity["first_seen"]), "first_seen"))
    for value, origin in candidates:
        day, partial = _day(value)
        if day:
            where = f"listed_on is the entity's {origin}" if origin else None
            return day, _joined([where, partial])
    return None, None


def _split_simple(cell: str | None) -> list[str]:
    """A ``;``-joined list cell of targets.simple.csv (CSV-quoted inside)."""
    if not cell:
        return []
    return [value.strip() for value in next(csv.reader(io.StringIO(cell), delimiter=";")) if value]


def _authority_of_title(title: str) -> str | None:
    words = title.split()
    for count in (1, 2):
        code = _country(" ".join(words[:count]))
        if code:
            return code
    return None


def _parse_targets_simple(frame: pl.DataFrame) -> ParsedImport:
    records: list[Record] = []
    for number, row in enumerate(frame.iter_rows(named=True), start=2):
        where = f"row {number} (id {row['id']})"
        schema = _text(row["schema"]) or ""
        name = _text(row["name"])
        if schema == "Person":
            records.append(Record(where, reason=_PERSON_REASON))
            continue
        if schema not in LISTABLE_SCHEMATA:
            records.append(
                Record(
                    where,
                    reason=f"a {schema or 'record'} with no schema a company or organisation has",
                )
            )
            continue
        if not name:
            records.append(Record(where, reason="no name"))
            continue
        sanction_dates = sorted(_ISO_DATE.findall(row["sanctions"] or ""))
        first_seen = _day(row["first_seen"])[0]
        if sanction_dates:
            listed_on, note = sanction_dates[0], None
        elif first_seen:
            listed_on, note = first_seen, "listed_on is the date OpenSanctions first saw the entry"
        else:
            records.append(Record(where, reason="no date in sanctions and no first_seen"))
            continue
        country = _one_country(value.upper() for value in _split_simple(row["countries"]))
        reason = _joined([row["sanctions"], note])
        titles = _split_simple(row["dataset"])
        if not titles:
            records.append(Record(where, reason="no dataset: cannot tell which list it is on"))
        for title in titles:
            label = f"{where}, dataset {title!r}"
            authority = _authority_of_title(title)
            if authority is None:
                records.append(
                    Record(
                        label,
                        reason="cannot tell the listing country from the dataset title "
                        "(listed_entities needs an ISO 3166 country: the EU or the UN is none)",
                    )
                )
                continue
            source = (
                f"OpenSanctions targets.simple.csv, dataset {title!r}, entity "
                f"{OPENSANCTIONS_URL.format(row['id'])}"
            )
            listing = _listing_row(
                title,
                authority,
                name,
                country,
                listed_on,
                reason,
                source,
                _split_simple(row["aliases"]),
                OPENSANCTIONS_CONFIDENCE,
            )
            records.append(Record(label, "listed_entities", listing))
    return ParsedImport(TARGETS_SIMPLE, tuple(records))


# ----------------------------------------------------------------- Consolidated Screening List


def _address_countries(cell: str | None) -> list[str]:
    """The country of each CSL address: the last comma-separated part (an ISO alpha-2 code)."""
    return [part.rsplit(",", 1)[-1].strip() for part in (cell or "").split(";") if part.strip()]


def _parse_csl(frame: pl.DataFrame) -> ParsedImport:
    records: list[Record] = []
    today = date.today().isoformat()
    for number, row in enumerate(frame.iter_rows(named=True), start=2):
        entry = _text(row.get("_id")) or _text(row.get("entity_number")) or "?"
        where = f"row {number} (_id {entry})"
        kind = (_text(row["type"]) or "").lower()
        name = _text(row["name"])
        if kind in CSL_PERSONS_AND_ASSETS:
            why = _PERSON_REASON if kind == "individual" else f"a {kind}, not an organisation"
            records.append(Record(where, reason=why))
            continue
        if not name:
            records.append(Record(where, reason="no name"))
            continue
        start = _text(row["start_date"])
        if not start:
            records.append(
                Record(where, reason="no start_date: riskengine needs the date of the listing")
            )
            continue
        end = _text(row.get("end_date"))
        if end and end[:10] <= today:
            records.append(
                Record(
                    where,
                    reason=f"the listing ended on {end[:10]} (listed_entities holds listings in "
                    "force; it has no end date)",
                )
            )
            continue
        source_list = _text(row["source"]) or "US Consolidated Screening List"
        reason = _joined(
            [
                row.get("programs"),
                row.get("license_requirement"),
                row.get("license_policy"),
                f"listing ends {end[:10]}" if end else None,
            ]
        )
        source = _joined(
            [
                f"US Consolidated Screening List (trade.gov), {source_list}, entry {entry}",
                row.get("federal_register_notice"),
                row.get("source_list_url"),
                row.get("source_information_url"),
            ]
        )
        listing = _listing_row(
            CSL_SHIPPED_LIST_NAMES.get(source_list, source_list),
            "USA",
            name,
            _one_country(_address_countries(row.get("addresses"))),
            start[:10],
            reason,
            source or "",
            (alias for alias in (row.get("alt_names") or "").split(";") if alias.strip()),
            "primary",
        )
        records.append(Record(where, "listed_entities", listing))
    return ParsedImport(CSL, tuple(records))


# ------------------------------------------------------------------------ Global Trade Alert


def _hs_digits(cell: str | None) -> list[str]:
    """The HS codes of a cell as digits (an odd length lost its leading zero: restored)."""
    codes = []
    for found in _HS_CODE.findall(cell or ""):
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
    text = _text(text)
    if text is None:
        return None, True
    match = _ISO_DATE.match(text)
    return (match.group(0), True) if match else (None, False)


def _parse_gta(frame: pl.DataFrame, label: str, normalised: dict[str, str]) -> ParsedImport:
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
        key = _text(cells["intervention_id"]) or f"(blank, row {number})"
        rows_by_id.setdefault(key, []).append((number, cells))
    records = [_gta_record(key, rows) for key, rows in rows_by_id.items()]
    return ParsedImport(GTA, tuple(records))


def _gta_record(intervention: str, rows: list[tuple[int, dict[str, Any]]]) -> Record:
    numbers = ", ".join(str(number) for number, _ in rows)
    where = f"intervention {intervention} (row {numbers})"
    first = rows[0][1]
    implementers = {_text(cells["implementer"]) for _, cells in rows} - {None}
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
    kind = _text(first["type"]) or ""
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
    evaluation = _text(first["evaluation"])
    affected = _joined((cells["affected"] for _, cells in rows), ", ")
    title = _text(first["title"]) or kind
    description = _joined(
        [
            title,
            f"GTA {kind}" + (f", {evaluation}" if evaluation else ""),
            f"HS {', '.join(codes)} -> catalog materials {', '.join(material_ids)}",
            f"affected jurisdictions: {affected}" if affected else None,
        ]
    )
    url = _text(first["url"]) or GTA_URL.format(intervention)
    state_act = _text(first["state_act_id"])
    source = _joined(
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


# ------------------------------------------------------------------- riskengine's own tables


def _parse_own(frame: pl.DataFrame, label: str, kind: str) -> ParsedImport:
    schema = POLICY_EVENTS if kind == OWN_EVENTS else LISTED_ENTITIES
    table = "policy_events" if kind == OWN_EVENTS else "listed_entities"
    columns = list(column_types(schema))
    # Columns that may be blank may also be absent (a team's file written before they existed).
    required = [name for name in columns if not schema.columns[name].nullable]
    require_columns(frame.columns, required, source=label)
    frame = frame.with_columns(
        pl.lit(None, dtype=pl.String).alias(name) for name in columns if name not in frame.columns
    )
    records = []
    for number, row in enumerate(frame.select(columns).iter_rows(named=True), start=2):
        first = row[columns[0]] if kind == OWN_EVENTS else row["entity_name"]
        where = f"row {number} ({first})"
        records.append(Record(where, table, {name: _text(row[name]) for name in columns}))
    return ParsedImport(kind, tuple(records))
