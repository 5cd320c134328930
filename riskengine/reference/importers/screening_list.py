"""The US Consolidated Screening List (trade.gov CSV): one ``listed_entities`` row per entity
that is not an individual, a vessel or an aircraft, ``alt_names`` as ``aliases``."""

from __future__ import annotations

import polars as pl

from riskengine.reference.importers.common import (
    CSL,
    PERSON_REASON,
    ParsedImport,
    Record,
    cell_text,
    joined,
    listing_row,
    one_country,
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


def _address_countries(cell: str | None) -> list[str]:
    """The country of each CSL address: the last comma-separated part (an ISO alpha-2 code)."""
    return [part.rsplit(",", 1)[-1].strip() for part in (cell or "").split(";") if part.strip()]


def parse_csl(frame: pl.DataFrame) -> ParsedImport:
    """Map the rows of the Consolidated Screening List to ``listed_entities`` records."""
    records: list[Record] = []
    for number, row in enumerate(frame.iter_rows(named=True), start=2):
        entry = cell_text(row.get("_id")) or cell_text(row.get("entity_number")) or "?"
        where = f"row {number} (_id {entry})"
        kind = (cell_text(row["type"]) or "").lower()
        name = cell_text(row["name"])
        if kind in CSL_PERSONS_AND_ASSETS:
            why = PERSON_REASON if kind == "individual" else f"a {kind}, not an organisation"
            records.append(Record(where, reason=why))
            continue
        if not name:
            records.append(Record(where, reason="no name"))
            continue
        start = cell_text(row["start_date"])
        if not start:
            records.append(
                Record(where, reason="no start_date: riskengine needs the date of the listing")
            )
            continue
        end = cell_text(row.get("end_date"))
        source_list = cell_text(row["source"]) or "US Consolidated Screening List"
        reason = joined(
            [
                row.get("programs"),
                row.get("license_requirement"),
                row.get("license_policy"),
            ]
        )
        source = joined(
            [
                f"US Consolidated Screening List (trade.gov), {source_list}, entry {entry}",
                row.get("federal_register_notice"),
                row.get("source_list_url"),
                row.get("source_information_url"),
            ]
        )
        listing = listing_row(
            CSL_SHIPPED_LIST_NAMES.get(source_list, source_list),
            "USA",
            name,
            one_country(_address_countries(row.get("addresses"))),
            start[:10],
            reason,
            source or "",
            (alias for alias in (row.get("alt_names") or "").split(";") if alias.strip()),
            "primary",
            # A listing that has ended (or will) keeps its dates: screening as of a date
            # before the end still finds it.
            removed_on=end[:10] if end else None,
            removal_source=f"US Consolidated Screening List (trade.gov), {source_list}, entry "
            f"{entry}, end_date"
            if end
            else None,
        )
        records.append(Record(where, "listed_entities", listing))
    return ParsedImport(CSL, tuple(records))
