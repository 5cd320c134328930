"""OpenSanctions exports: FollowTheMoney entities (JSON lines) and ``targets.simple.csv``.

Companies, organisations and legal entities that are targets become ``listed_entities`` rows,
one per dataset (list) they are on, their other names as ``aliases``; a ``Sanction`` gives the
listing date, programme and reason.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import polars as pl

from riskengine.errors import InputFileError
from riskengine.reference.importers.common import (
    FTM,
    ISO_DATE,
    PERSON_REASON,
    TARGETS_SIMPLE,
    ParsedImport,
    Record,
    cell_text,
    country_code,
    joined,
    listing_row,
    one_country,
    partial_day,
)

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
OPENSANCTIONS_URL = "https://www.opensanctions.org/entities/{}/"
#: OpenSanctions aggregates official lists (a database, so ``secondary`` in the contract's
#: terms); the Consolidated Screening List is the US government's own (``primary``).
OPENSANCTIONS_CONFIDENCE = "secondary"
#: FtM name properties that are other names of the entity (``weakAlias`` is, by FtM's own
#: description, not for matching).
FTM_OTHER_NAMES = ("alias", "previousName")


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
        code = one_country(_values(sanction, "country"))
        if code:
            return code
    prefix = dataset.split("_", 1)[0]
    return country_code(prefix.upper()) if len(prefix) == 2 else None


def parse_ftm(text: str, label: str) -> ParsedImport:
    """Map FollowTheMoney entities (JSON lines) to ``listed_entities`` records.

    Raises
    ------
    InputFileError
        When no line holds a FollowTheMoney entity.
    """
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
            records.append(Record(where, reason=PERSON_REASON))
        elif _is_target(entity):
            records.append(Record(where, reason=f"a {schema}, not a company or organisation"))
        elif schema in LISTABLE_SCHEMATA:
            records.append(
                Record(where, reason="not a target (no sanction or export-control topic)")
            )
        else:
            supporting += 1
    return ParsedImport(FTM, tuple(records), supporting)


def _ftm_records(
    entity: dict[str, Any], where: str, sanctions: list[dict[str, Any]]
) -> list[Record]:
    properties = entity["properties"]
    entity_id = str(entity.get("id"))
    name = cell_text(entity.get("caption")) or next(iter(_values(properties, "name")), None)
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
        country = one_country(_values(properties, prop))
        if country:
            break
    listed_on, note = _ftm_listing_date(entity, sanctions)
    removed_on = _ftm_removal_date(sanctions)
    if not listed_on:
        return [
            Record(
                where,
                reason="no listing date (a sanction's listingDate or startDate, createdAt or "
                "first_seen)",
            )
        ]
    reason = joined(
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
        source = joined(
            [
                f"OpenSanctions dataset {dataset}, entity {OPENSANCTIONS_URL.format(entity_id)}",
                *urls,
            ]
        )
        row = listing_row(
            f"{dataset} (OpenSanctions)",
            authority,
            name,
            country,
            listed_on,
            reason,
            source or "",
            aliases,
            OPENSANCTIONS_CONFIDENCE,
            removed_on=removed_on,
            removal_source=f"endDate of the sanctions naming entity {entity_id} (OpenSanctions)"
            if removed_on
            else None,
        )
        records.append(Record(label, "listed_entities", row))
    return records


def _ftm_removal_date(sanctions: list[dict[str, Any]]) -> str | None:
    """The day the listing ended: the latest sanction ``endDate``, when every sanction has one.

    A sanction without an end keeps the listing in force, so then there is no removal.
    """
    ends = []
    for sanction in sanctions:
        days = [partial_day(value)[0] for value in _values(sanction, "endDate")]
        known = [day for day in days if day]
        if not known:
            return None
        ends.append(max(known))
    return max(ends) if ends else None


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
    candidates.sort(key=lambda candidate: partial_day(candidate[0])[0] or "9999")
    candidates += [(value, "createdAt") for value in _values(entity["properties"], "createdAt")]
    if entity.get("first_seen"):
        candidates.append((str(entity["first_seen"]), "first_seen"))
    for value, origin in candidates:
        day, partial = partial_day(value)
        if day:
            where = f"listed_on is the entity's {origin}" if origin else None
            return day, joined([where, partial])
    return None, None


def _split_simple(cell: str | None) -> list[str]:
    """A ``;``-joined list cell of targets.simple.csv (CSV-quoted inside)."""
    if not cell:
        return []
    return [value.strip() for value in next(csv.reader(io.StringIO(cell), delimiter=";")) if value]


def _authority_of_title(title: str) -> str | None:
    words = title.split()
    for count in (1, 2):
        code = country_code(" ".join(words[:count]))
        if code:
            return code
    return None


def parse_targets_simple(frame: pl.DataFrame) -> ParsedImport:
    """Map the rows of OpenSanctions' ``targets.simple.csv`` to ``listed_entities`` records."""
    records: list[Record] = []
    for number, row in enumerate(frame.iter_rows(named=True), start=2):
        where = f"row {number} (id {row['id']})"
        schema = cell_text(row["schema"]) or ""
        name = cell_text(row["name"])
        if schema == "Person":
            records.append(Record(where, reason=PERSON_REASON))
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
        sanction_dates = sorted(ISO_DATE.findall(row["sanctions"] or ""))
        first_seen = partial_day(row["first_seen"])[0]
        if sanction_dates:
            listed_on, note = sanction_dates[0], None
        elif first_seen:
            listed_on, note = first_seen, "listed_on is the date OpenSanctions first saw the entry"
        else:
            records.append(Record(where, reason="no date in sanctions and no first_seen"))
            continue
        country = one_country(value.upper() for value in _split_simple(row["countries"]))
        reason = joined([row["sanctions"], note])
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
            listing = listing_row(
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
