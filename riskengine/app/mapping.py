"""The mapping jobs: ``riskengine map`` proposes a material for each distinct part number or
text of a sourcing list or BOM; :func:`load_mapping` reads the team's reviewed file for
``score``, ``score-bom`` and ``features --mapping``."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from riskengine.app.requests import InputFile, OutputFile
from riskengine.catalog import load_catalog, normalise_material_text
from riskengine.errors import UserInputError
from riskengine.io import read_table_with_metadata, write_table
from riskengine.io.columns import BOM_ALIASES, resolve_columns
from riskengine.mapping import (
    DESCRIPTION_ALIASES,
    MAPPING_COLUMNS,
    PART_NUMBER_ALIASES,
    STATUS_PROPOSED,
    MaterialMapping,
    MaterialMatcher,
    parse_mapping,
    part_number_key,
)


@dataclass(frozen=True)
class MapOutcome:
    """What ``riskengine map`` wrote: distinct keys, and how many were proposed."""

    rows: int
    keys: int
    proposed: int
    kind: str

    @property
    def summary(self) -> str:
        review = self.keys - self.proposed
        return (
            f"{self.rows} {self.kind} rows, {self.keys} distinct part numbers/texts: "
            f"{self.proposed} proposed, {review} for review"
        )


def map_file(source: InputFile, output: OutputFile) -> MapOutcome:
    """Propose a catalog material for each distinct part number and/or text of a sourcing
    list (MATNR/MAKTX, Item/Item Description...) or of a BOM's leaves, and write the mapping.

    Raises
    ------
    UserInputError
        When the input has neither a part-number nor a description column.
    """
    frame = source.read_options.read(source.path)
    keys, kind = _keys(frame, source.label)
    catalog = load_catalog()
    matcher = MaterialMatcher(catalog)
    rows = []
    for part_number, description, count in keys.iter_rows():
        proposal = matcher.propose(description or "")
        material = catalog.material(proposal.material_id) if proposal.material_id else None
        rows.append(
            {
                "part_number": part_number,
                "description": description,
                "rows": count,
                "material_id": proposal.material_id,
                "material": material.display_name if material else None,
                "stage": proposal.stage,
                "confidence": proposal.confidence,
                "status": proposal.status,
                "reason": proposal.reason,
                "content_element": proposal.content_element,
                "content_share": proposal.content_share,
                "content_basis": proposal.content_basis,
                "purity": proposal.purity,
            }
        )
    schema = {
        name: pl.Int64
        if name == "rows"
        else pl.Float64
        if name in ("confidence", "content_share")
        else pl.String
        for name in MAPPING_COLUMNS
    }
    mapping = pl.DataFrame(rows, schema=schema, orient="row")
    write_table(mapping, output.path, output.format)
    proposed = mapping.filter(pl.col("status") == STATUS_PROPOSED).height
    return MapOutcome(rows=frame.height, keys=mapping.height, proposed=proposed, kind=kind)


def _keys(frame: pl.DataFrame, source: str) -> tuple[pl.DataFrame, str]:
    """``part_number, description, rows`` for each distinct key, in order of appearance."""
    is_bom = _bom_columns(frame, source)
    described = resolve_columns(
        frame.columns,
        source=source,
        aliases={"part_number": PART_NUMBER_ALIASES, "description": DESCRIPTION_ALIASES},
        required=(),
        fallbacks={},
    )
    if is_bom is not None:
        parents = set(_text(frame, is_bom["parent"]).drop_nulls().to_list())
        component = _text(frame, is_bom["component"])
        text = _text(frame, described["description"]) if "description" in described else component
        part = (
            component
            if "description" in described
            else pl.repeat(None, frame.height, dtype=pl.String, eager=True)
        )
        table = pl.DataFrame({"part_number": part, "description": text, "component": component})
        # Only leaves are bought materials; assemblies are the BOM's own products.
        table = table.filter(~pl.col("component").is_in(sorted(parents))).drop("component")
        kind = "BOM"
    else:
        if not described:
            raise UserInputError(
                f"{source}: no part-number or description column (accepted: "
                f"{', '.join(PART_NUMBER_ALIASES)}; {', '.join(DESCRIPTION_ALIASES)})"
            )
        none = pl.repeat(None, frame.height, dtype=pl.String, eager=True)
        table = pl.DataFrame(
            {
                "part_number": _text(frame, described["part_number"])
                if "part_number" in described
                else none,
                "description": _text(frame, described["description"])
                if "description" in described
                else none,
            }
        )
        kind = "sourcing"
    key = (
        pl.when(pl.col("part_number").is_not_null())
        .then(
            pl.concat_str(
                pl.lit("part:"),
                pl.col("part_number").map_elements(part_number_key, return_dtype=pl.String),
            )
        )
        .otherwise(
            pl.concat_str(
                pl.lit("text:"),
                # As the mapping file's lookup compares texts, so no two rows collide there.
                pl.col("description").map_elements(normalise_material_text, return_dtype=pl.String),
            )
        )
    )
    grouped = (
        table.filter(pl.col("part_number").is_not_null() | pl.col("description").is_not_null())
        .with_columns(key.alias("key"))
        .group_by("key", maintain_order=True)
        .agg(pl.col("part_number").first(), pl.col("description").drop_nulls().first(), pl.len())
        .select("part_number", "description", pl.col("len").cast(pl.Int64).alias("rows"))
    )
    return grouped, kind


def _bom_columns(frame: pl.DataFrame, source: str) -> dict[str, str] | None:
    try:
        columns = resolve_columns(
            frame.columns,
            source=source,
            aliases={name: BOM_ALIASES[name] for name in ("parent", "component", "quantity")},
            required=("parent", "component", "quantity"),
            fallbacks={},
        )
    except UserInputError:
        return None
    return columns


def _text(frame: pl.DataFrame, column: str) -> pl.Series:
    return frame[column].cast(pl.String).str.strip_chars().replace("", None)


def load_mapping(path: str) -> MaterialMapping:
    """The team's mapping file (CSV or XLSX as ``riskengine map`` writes it), validated, with
    the SHA-256 of its bytes as its fingerprint.

    Raises
    ------
    UserInputError
        When the file cannot be read or a row is unusable (naming the file and line).
    """
    frame, metadata = read_table_with_metadata(path)
    assert metadata["sha256"] is not None  # asked for by default
    headers = {column: column.strip().lstrip("\ufeff").casefold() for column in frame.columns}
    frame = frame.rename(headers).with_columns(pl.all().cast(pl.String))
    return parse_mapping(
        frame.iter_rows(named=True),
        columns=frame.columns,
        source=path,
        sha256=metadata["sha256"],
        catalog=load_catalog(),
    )
