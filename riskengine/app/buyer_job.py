"""The buyers' page job (``riskengine serve``): score an uploaded sourcing list, roll it up over a
BOM when one is given, and write the downloads and the HTML report into the job's directory.

Each step is the command line's own job (:func:`~riskengine.app.scoring.score_file`,
:func:`~riskengine.app.bom.score_bom_file`, :func:`~riskengine.app.report.report_file`), so the
page validates, scores and writes exactly as ``score``, ``score-bom`` and ``report`` do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from riskengine.app.bom import BomOutcome, score_bom_file
from riskengine.app.report import report_file
from riskengine.app.requests import BomRequest, BuyerJobRequest, OutputFile, ReportRequest
from riskengine.app.scoring import ScoreOutcome, score_file
from riskengine.config import Settings
from riskengine.errors import UserInputError
from riskengine.io import read_table, write_table
from riskengine.schemas import SCORE_OUTPUT_COLUMNS
from riskengine.scoring import MAPPING_FINGERPRINT_COLUMN

#: The typed scores every other file of the job is written from.
SCORES_TABLE = "scores.parquet"
SCORES_CSV = "scores.csv"
SCORES_XLSX = "scores.xlsx"
PRODUCTS_CSV = "products.csv"
PRODUCTS_XLSX = "products.xlsx"
REPORT_HTML = "report.html"
#: What the page offers for download, in the order it lists them.
DOWNLOADS = (SCORES_CSV, SCORES_XLSX, PRODUCTS_CSV, PRODUCTS_XLSX, REPORT_HTML)

#: Columns the same on every row (the page states them once, above the table).
RUN_COLUMNS = ("model_version", "as_of", "reference_fingerprint", MAPPING_FINGERPRINT_COLUMN)
#: The output's columns a buyer reads first, right after the input's own; the resolved ids
#: and the two parts of the score follow.
LEADING_COLUMNS = (
    "risk_band",
    "risk_score",
    "risk_score_low",
    "risk_score_high",
    "restriction_state",
    "drivers",
    "status",
    "reason",
)


@dataclass(frozen=True)
class BuyerJobOutcome:
    """What a job wrote: the scoring's outcome, the roll-up's (with a BOM) and its files."""

    scores: ScoreOutcome
    products: BomOutcome | None
    files: tuple[str, ...]
    """The names of the files written in the job's directory, of :data:`DOWNLOADS`."""
    notes: tuple[str, ...]


@dataclass(frozen=True)
class PageTable:
    """The scored rows the page shows, and where each came from."""

    rows: pl.DataFrame
    row_numbers: list[int]
    """Each shown row's 1-based position in the input."""
    total: int
    """Rows in the whole output; more than shown when the output is longer than the page's
    limit (the riskiest rows are then shown)."""


def run_buyer_job(
    settings: Settings,
    request: BuyerJobRequest,
    *,
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> BuyerJobOutcome:
    """Score the sourcing list, write it as CSV and XLSX, roll it up over the BOM (if given)
    and write the HTML report, all in ``request.directory``.

    ``on_stage`` hears each stage as it starts, ``on_progress`` the rows scored so far and
    the total, ``on_ready`` the name of each download once it is complete (and
    :data:`SCORES_TABLE` once :func:`page_table` can read it). The CSV is written as
    ``riskengine score`` writes it (mirroring the input's delimiter and encoding). A table too
    large for a workbook gets no XLSX and a note instead.

    Raises
    ------
    UserInputError
        The uploads cannot be used as given, with the message ``score`` would print.
    """
    stage = on_stage or (lambda name: None)
    ready = on_ready or (lambda name: None)
    directory = Path(request.directory)
    written: list[str] = []
    notes: list[str] = []

    def done(name: str) -> None:
        if name != SCORES_TABLE:
            written.append(name)
        ready(name)

    table_path = str(directory / SCORES_TABLE)
    scores = score_file(
        settings,
        request.scoring(OutputFile(table_path)),
        on_stage=on_stage,
        on_progress=on_progress,
    )
    notes.extend(scores.notes)
    done(SCORES_TABLE)
    stage("writing the CSV and XLSX downloads")
    scored = read_table(table_path)
    write_table(scored, str(directory / SCORES_CSV), style=scores.csv_style, notes=notes)
    done(SCORES_CSV)
    if _write_workbook(scored, directory / SCORES_XLSX, notes):
        done(SCORES_XLSX)
    products = None
    if request.bom is not None:
        products = score_bom_file(
            settings,
            BomRequest(request.bom, request.scoring(OutputFile(str(directory / PRODUCTS_CSV)))),
            on_stage=on_stage,
        )
        notes.extend(note for note in products.notes if note not in notes)
        done(PRODUCTS_CSV)
        if _write_workbook(products.products, directory / PRODUCTS_XLSX, notes):
            done(PRODUCTS_XLSX)
    stage("writing the HTML report")
    report_file(
        settings,
        ReportRequest(
            scores_path=str(directory / SCORES_CSV),
            output_path=str(directory / REPORT_HTML),
            bom_scores_path=str(directory / PRODUCTS_CSV) if products is not None else None,
        ),
    )
    done(REPORT_HTML)
    return BuyerJobOutcome(scores, products, tuple(written), tuple(notes))


def _write_workbook(frame: pl.DataFrame, path: Path, notes: list[str]) -> bool:
    # A workbook holds at most about a million rows and 32,767 characters a cell: past that
    # the CSV still has everything, so the job goes on without the XLSX.
    try:
        write_table(frame, str(path))
    except UserInputError as error:
        notes.append(f"no {path.name}: {error}")
        return False
    return True


def page_table(directory: str, limit: int) -> PageTable:
    """The scores of the job in ``directory`` as the page shows them: every row up to
    ``limit`` rows in input order, else the ``limit`` riskiest (rejected rows last); the
    input's columns, then :data:`LEADING_COLUMNS`, then the other scoring columns, without
    those the same on every row (:data:`RUN_COLUMNS`)."""
    scored = read_table(str(Path(directory) / SCORES_TABLE))
    positions = pl.Series("position", range(1, scored.height + 1))
    inputs = [name for name in scored.columns if name not in SCORE_OUTPUT_COLUMNS]
    leading = [name for name in LEADING_COLUMNS if name in scored.columns]
    rest = [
        name
        for name in SCORE_OUTPUT_COLUMNS
        if name in scored.columns and name not in (*leading, *RUN_COLUMNS)
    ]
    shown = scored.select(*inputs, *leading, *rest)
    if scored.height > limit:
        # Riskiest first; a stable sort keeps input order among equal scores.
        order = scored.select(
            pl.int_range(pl.len(), dtype=pl.UInt32)
            .sort_by("risk_score", descending=True, nulls_last=True, maintain_order=True)
            .head(limit)
        ).to_series()
        shown = shown[order]
        positions = positions[order]
    return PageTable(shown, positions.to_list(), scored.height)
