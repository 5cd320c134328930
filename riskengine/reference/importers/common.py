"""What every import format shares: the format names, the record types, and the helpers that
read a cell (text, dates, countries) and write a ``listed_entities`` row."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from riskengine.catalog import normalise_country
from riskengine.errors import CountryError

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

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
MAX_TEXT = 400
PERSON_REASON = "a person: riskengine screens companies and organisations, not people"


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


def normalise_header(name: str) -> str:
    """A header compared by words: lower case, runs of other characters as one space."""
    return re.sub(r"[^0-9a-z]+", " ", name.lower()).strip()


def cell_text(value: Any) -> str | None:
    """A cell as stripped text; ``None`` for a missing or blank cell."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def shortened(text: str) -> str:
    """``text`` cut to :data:`MAX_TEXT` characters, an ellipsis marking the cut."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3].rstrip() + "..."


def joined(values: Iterable[str | None], separator: str = "; ") -> str | None:
    """The distinct non-blank values joined by ``separator`` (shortened), or ``None``."""
    seen: list[str] = []
    for value in values:
        text = cell_text(value)
        if text and text not in seen:
            seen.append(text)
    return shortened(separator.join(seen)) if seen else None


def country_code(text: str | None) -> str | None:
    """The ISO alpha-3 code of ``text``, or None when it names no single country."""
    if not text:
        return None
    try:
        return normalise_country(text)
    except CountryError:
        return None


def one_country(values: Iterable[str | None]) -> str | None:
    """The country when the values name exactly one; None for none or several."""
    codes = {code for code in (country_code(value) for value in values) if code}
    return codes.pop() if len(codes) == 1 else None


def partial_day(text: str | None) -> tuple[str | None, str | None]:
    """An ISO date (a year or month given as its first day) and a note when it was partial."""
    match = PARTIAL_DATE.match(text or "")
    if not match:
        return None, None
    year, month, day = match.groups()
    if day:
        return f"{year}-{month}-{day}", None
    if month:
        return f"{year}-{month}-01", "listing date given to the month"
    return f"{year}-01-01", "listing date given to the year"


def listing_row(
    list_name: str,
    authority: str,
    name: str,
    country: str | None,
    listed_on: str,
    reason: str | None,
    source: str,
    aliases: Iterable[str],
    confidence: str,
    removed_on: str | None = None,
    removal_source: str | None = None,
) -> Row:
    """A ``listed_entities`` row; aliases equal to the name are dropped, repeats kept once."""
    other_names = [alias.replace(";", ",") for alias in aliases if alias.strip() != name]
    return {
        "list_name": list_name,
        "listing_authority_iso3": authority,
        "entity_name": name,
        "entity_country_iso3": country,
        "listed_on": listed_on,
        "reason": reason,
        "source": shortened(source),
        "aliases": ";".join(dict.fromkeys(alias.strip() for alias in other_names)) or None,
        "parent_entity": None,
        "relation": None,
        "confidence": confidence,
        "removed_on": removed_on,
        "removal_source": removal_source,
    }
