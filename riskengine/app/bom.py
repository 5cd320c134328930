"""The BOM job: ``riskengine score-bom``: score the sourcing list, explode the BOM over it, roll
up per product and write the products (and the exploded lines)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from riskengine.app.requests import BomRequest
from riskengine.app.scoring import load_mapping_option, output_style, prepare_input
from riskengine.config import Settings
from riskengine.io import check_outputs, write_tables
from riskengine.reference.loader import load_reference
from riskengine.scoring import check_as_of, with_mapping_fingerprint

#: How many stages :func:`score_bom_file` announces (the progress bar).
BOM_STAGES = 5


@dataclass(frozen=True)
class BomOutcome:
    """What ``riskengine score-bom`` produced."""

    products: pl.DataFrame
    lines: pl.DataFrame
    problems: tuple
    model_version: str
    notes: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """One line for the console: products per status, problems and the model version."""
        counts = self.products.group_by("status").len().sort("status").iter_rows()
        per_status = ", ".join(f"{count} {status}" for status, count in counts)
        return (
            f"{self.products.height} products ({per_status}); {len(self.problems)} problems; "
            f"model version {self.model_version}"
        )


def score_bom_file(
    settings: Settings,
    request: BomRequest,
    *,
    on_stage: Callable[[str], None] | None = None,
) -> BomOutcome:
    """Score the sourcing list, explode the BOM over it and write one row per top-level product
    (and, with ``lines_path``, the exploded lines). Nothing is written when the inputs fail,
    and the two files are written all or nothing: both targets are checked before any work
    (two names for one file are refused) and renamed into place together. A mapping applies
    to the sourcing list's materials and to the BOM's leaves, and its SHA-256 goes into the
    products' ``mapping_sha256`` column. CSV outputs mirror the sourcing list's delimiter and
    encoding, or are written for Excel (as ``riskengine score`` writes them)."""
    from riskengine.bom import score_bom
    from riskengine.bom.reading import product_from_title
    from riskengine.models.loading import load_model
    from riskengine.prediction import score_pairs

    stage = on_stage or (lambda name: None)
    scoring = request.scoring
    as_of = scoring.as_of
    date_notes = check_as_of(as_of)
    output_path = scoring.output.path
    output_paths = (
        [output_path] if request.lines_path is None else [output_path, request.lines_path]
    )
    check_outputs(output_paths)
    mapping = load_mapping_option(scoring.input.mapping_path)
    stage(f"reading {request.bom.path} and {scoring.input.path}")
    bom, bom_metadata = request.bom.read_options.read_with_metadata(request.bom.path)
    context, prepared_chunks, table = prepare_input(scoring, mapping=mapping)
    stage("loading reference data and the model")
    reference = load_reference(settings.reference_dir)
    model = load_model(settings, scoring.model_alias)
    stage(f"scoring {context.rows:,} sourcing rows as of {as_of}")
    # The roll-up needs every scored row, so the scored chunks are gathered.
    driver_cache: dict[tuple, str] = {}
    scored = pl.concat(
        score_pairs(prepared, reference, model, as_of=as_of, driver_cache=driver_cache)
        for prepared in prepared_chunks
    )
    stage(f"exploding {bom.height:,} BOM rows and rolling up")
    result = score_bom(
        bom,
        scored,
        source=request.bom.label,
        strict=request.strict,
        mapping=mapping,
        product=request.product or product_from_title(bom_metadata["title"]),
    )
    stage(f"writing {output_path}")
    products = with_mapping_fingerprint(
        result.products.with_columns(
            pl.lit(model.version).alias("model_version"), pl.lit(as_of.isoformat()).alias("as_of")
        ),
        mapping,
    )
    outputs: list[tuple[pl.DataFrame, str, str | None]] = [
        (products, output_path, scoring.output.format)
    ]
    if request.lines_path is not None:
        outputs.append((result.lines, request.lines_path, None))
    write_notes: list[str] = []
    write_tables(outputs, style=output_style(table, excel=scoring.output.excel), notes=write_notes)
    return BomOutcome(
        products,
        result.lines,
        result.problems,
        model.version,
        (*date_notes, *context.notes, *write_notes),
    )
