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

One module per family of sources (:mod:`.opensanctions`, :mod:`.screening_list`,
:mod:`.trade_alert`, :mod:`.own_tables`), the helpers they share in :mod:`.common`; this module
tells the format and hands the file to its reader.
"""

from __future__ import annotations

from riskengine.errors import InputFileError
from riskengine.io.delimited import read_delimited
from riskengine.reference.importers.common import (
    CSL,
    FORMAT_TITLES,
    FTM,
    GTA,
    OWN_EVENTS,
    OWN_LISTINGS,
    TARGETS_SIMPLE,
    ParsedImport,
    Record,
    normalise_header,
)
from riskengine.reference.importers.opensanctions import parse_ftm, parse_targets_simple
from riskengine.reference.importers.own_tables import parse_own
from riskengine.reference.importers.screening_list import parse_csl
from riskengine.reference.importers.trade_alert import parse_gta

__all__ = [
    "CSL",
    "FORMAT_TITLES",
    "FTM",
    "GTA",
    "OWN_EVENTS",
    "OWN_LISTINGS",
    "TARGETS_SIMPLE",
    "ParsedImport",
    "Record",
    "parse_import",
]


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
        return parse_ftm(text, label)
    if head.startswith("["):
        raise InputFileError(
            f"{label}: a JSON array; OpenSanctions FollowTheMoney entities are read as JSON "
            "lines (one entity per line, as in entities.ftm.json)"
        )
    frame, _, _, _ = read_delimited(text, label, None, False)
    columns = set(frame.columns)
    normalised = {normalise_header(column): column for column in frame.columns}
    if {"id", "schema", "name", "dataset", "sanctions", "first_seen"} <= columns:
        return parse_targets_simple(frame)
    if {"source", "entity_number", "programs", "name", "start_date", "source_list_url"} <= columns:
        return parse_csl(frame)
    if "intervention id" in normalised:
        return parse_gta(frame, label, normalised)
    if "event_id" in columns:
        return parse_own(frame, label, OWN_EVENTS)
    if {"list_name", "entity_name"} <= columns:
        return parse_own(frame, label, OWN_LISTINGS)
    shown = ", ".join(frame.columns[:12]) + (", ..." if frame.width > 12 else "")
    raise InputFileError(
        f"{label}: not a format riskengine can import (its columns are {shown}); expected "
        + "; ".join(FORMAT_TITLES.values())
    )
