"""The team's reviewed mapping file: validated, and looked up by part number or text before
the catalog resolves a text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from riskengine.catalog import Catalog, normalise_material_text
from riskengine.errors import UserInputError
from riskengine.mapping.proposal import APPLIED_STATUSES, MAPPING_STATUSES

#: Headers that carry a part number (SAP MATNR / IDNRK, Oracle "Item") and a purchase text
#: (SAP MAKTX / TXZ01, Oracle "Item Description"), as :func:`riskengine.io.columns`
#: normalises headers. Used by ``map`` and by ``--mapping`` only.
PART_NUMBER_ALIASES = (
    "part_number",
    "part_no",
    "matnr",
    "material_number",
    "item",
    "item_number",
    "idnrk",
    "materialnummer",
    "자재",
    "品目",
    "物料",
)
DESCRIPTION_ALIASES = (
    "material",
    "description",
    "material_description",
    "material_name",
    "maktx",
    "txz01",
    "item_description",
    "component_description",
    "ojtxp",
    "materialkurztext",
    "자재내역",
    "品目テキスト",
    "物料描述",
)


def part_number_key(part_number: str) -> str:
    """A part number as ERP systems compare it: trimmed, upper case, and an all-digit number
    without SAP's leading zeros (ALPHA conversion), so 000000000000104711 is 104711. Digits
    are 0-9 only, as in :func:`riskengine.sourcing.part_numbers.without_padding_zeros`: "0١٢"
    and "00²" are kept whole by both."""
    cleaned = part_number.strip().upper()
    # str.isdigit alone also takes other scripts' digits and superscripts.
    if cleaned.isascii() and cleaned.isdigit():
        return cleaned.lstrip("0") or "0"
    return cleaned


@dataclass(frozen=True)
class MappingEntry:
    """One row of a mapping file, as it is applied."""

    line: int
    material_id: str | None
    status: str
    confidence: str | None

    @property
    def applied(self) -> bool:
        return self.status in APPLIED_STATUSES and self.material_id is not None


@dataclass(frozen=True)
class MaterialMapping:
    """A validated mapping file: part numbers and texts to catalog material ids.

    A row with a part number is found by that part number (ALPHA zeros ignored); a row
    without one by its description, normalised as the catalog compares names.
    """

    source: str
    sha256: str
    by_part_number: Mapping[str, MappingEntry]
    by_description: Mapping[str, MappingEntry]

    def lookup(self, part_number: str | None, text: str | None) -> MappingEntry | None:
        """The entry for a row's part number, else for its text; None when neither is in
        the mapping."""
        if part_number:
            entry = self.by_part_number.get(part_number_key(part_number))
            if entry is not None:
                return entry
        if text:
            entry = self.by_description.get(normalise_material_text(text))
            if entry is not None:
                return entry
            # A BOM may name a leaf by its part number in the component column.
            return self.by_part_number.get(part_number_key(text))
        return None

    def review_reason(self, entry: MappingEntry, written: str) -> str:
        """Why a row the mapping holds for review is not scored."""
        proposed = f" (proposed {entry.material_id}" if entry.material_id else " (nothing proposed"
        confidence = f", confidence {entry.confidence})" if entry.confidence else ")"
        return (
            f"material {written!r}: the mapping ({self.source} line {entry.line}) left it for "
            f"review{proposed}{confidence}; accept or correct that row"
        )


def parse_mapping(
    rows: Iterable[Mapping[str, Any]],
    *,
    columns: Iterable[str],
    source: str,
    sha256: str,
    catalog: Catalog,
) -> MaterialMapping:
    """Validate a mapping file's rows (text cells) into a :class:`MaterialMapping`.

    Raises
    ------
    UserInputError
        Naming the file and line of each problem: a missing ``material_id`` or ``status``
        column, a row with neither part number nor description, an unknown status, a
        ``material_id`` the catalog does not know, an applied row without one, or a part number
        or description given twice.
    """
    names = set(columns)
    missing = [name for name in ("material_id", "status") if name not in names]
    if missing or not names & {"part_number", "description"}:
        raise UserInputError(
            f"{source}: a mapping needs columns material_id, status and part_number or "
            f"description (as riskengine map writes them); missing: "
            f"{', '.join(missing) or 'part_number/description'}"
        )
    known = set(catalog.material_ids)
    problems: list[str] = []
    by_part: dict[str, MappingEntry] = {}
    by_text: dict[str, MappingEntry] = {}
    for line, row in enumerate(rows, start=2):
        part = _cell(row.get("part_number"))
        description = _cell(row.get("description"))
        material_id = _cell(row.get("material_id"))
        status = (_cell(row.get("status")) or "").casefold()
        where = f"{source} line {line}"
        if part is None and description is None:
            problems.append(f"{where}: neither part_number nor description")
            continue
        if status not in MAPPING_STATUSES:
            problems.append(
                f"{where}: status {status or '(empty)'!r} is not one of "
                + ", ".join(MAPPING_STATUSES)
            )
            continue
        if material_id is not None and material_id not in known:
            problems.append(f"{where}: unknown material_id {material_id!r}")
            continue
        if material_id is None and status in APPLIED_STATUSES:
            problems.append(f"{where}: status {status} needs a material_id")
            continue
        entry = MappingEntry(line, material_id, status, _cell(row.get("confidence")))
        table, key, label = (
            (by_part, part_number_key(part), f"part_number {part!r}")
            if part is not None
            else (
                by_text,
                normalise_material_text(description or ""),
                f"description {description!r}",
            )
        )
        if key in table:
            problems.append(f"{where}: {label} repeats line {table[key].line}")
            continue
        table[key] = entry
    if problems:
        shown = problems[:12]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise UserInputError("mapping file is unusable:\n" + "\n".join(shown) + more)
    return MaterialMapping(source, sha256, by_part, by_text)


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
