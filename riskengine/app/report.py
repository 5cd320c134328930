"""The report job: ``riskengine report``: one self-contained HTML page from a scores file."""

from __future__ import annotations

from datetime import date

import polars as pl

from riskengine.app.requests import ReportRequest
from riskengine.config import Settings
from riskengine.io import read_table
from riskengine.reference.loader import load_reference
from riskengine.sourcing import prepare_pairs

SCORE_NUMBER_COLUMNS = (
    "risk_score",
    "risk_score_low",
    "risk_score_high",
    "model_score",
    "state_score",
)
BOM_NUMBER_COLUMNS = ("risk_score", "max_pair_risk", "exposure", "value_at_risk")


def _numbers(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    # Scores read back from CSV arrive as text.
    return frame.with_columns(
        pl.col(name).cast(pl.Float64, strict=False) for name in columns if name in frame.columns
    )


def report_file(settings: Settings, request: ReportRequest) -> str:
    """Render the HTML report of a scores file (and BOM scores), with the top pairs re-scored as
    of each of the last quarters and of the file's own as-of date by the model version that
    scored them, each with its own input (buyer name column, resolved buyer country); and the
    scenario timeline, alternatives and changes when their files are given.

    Raises
    ------
    UserInputError
        A file that is not the named command's output (its missing columns named), a bad cell,
        or scores from more than one model version or as-of date. Nothing is written then.
    """
    from riskengine.io import write_text
    from riskengine.io.columns import resolve_columns
    from riskengine.models.loading import load_model
    from riskengine.prediction import score_pairs
    from riskengine.report import (
        REQUIRED_ALTERNATIVES_COLUMNS,
        REQUIRED_CHANGES_COLUMNS,
        REQUIRED_STRESS_COLUMNS,
        ModelCard,
        quarter_starts,
        render_report,
        require_output,
        top_pairs,
    )
    from riskengine.schemas import SCORE_OUTPUT_COLUMNS

    scores_path = request.scores_path
    scores = _numbers(read_table(scores_path), SCORE_NUMBER_COLUMNS)
    bom_products = (
        _numbers(read_table(request.bom_scores_path), BOM_NUMBER_COLUMNS)
        if request.bom_scores_path
        else None
    )
    # The other commands' outputs are checked before the model loads: a wrong file fails fast.
    impact = {}
    sources = {}
    for name, path, required, command in (
        ("stress", request.stress_path, REQUIRED_STRESS_COLUMNS, "stress"),
        ("alternatives", request.alternatives_path, REQUIRED_ALTERNATIVES_COLUMNS, "alternatives"),
        ("changes", request.changes_path, REQUIRED_CHANGES_COLUMNS, "diff"),
    ):
        if path:
            impact[name] = read_table(path)
            sources[name] = path
            require_output(impact[name], required, path, command)
    versions = scores["model_version"].drop_nulls().unique().to_list()
    as_of_values = scores["as_of"].drop_nulls().unique().to_list()
    if len(versions) != 1 or len(as_of_values) != 1:
        from riskengine.errors import UserInputError

        raise UserInputError(
            f"{scores_path}: a report needs scores from one model version and one as-of date "
            f"(found versions {versions}, as-of dates {as_of_values})"
        )
    as_of = date.fromisoformat(as_of_values[0])
    reference = load_reference(settings.reference_dir)
    model = load_model(settings, versions[0])

    top = top_pairs(scores)
    input_columns = [name for name in scores.columns if name not in SCORE_OUTPUT_COLUMNS]
    # Each pair is re-scored with its own input: its buyer name is an input column when the input
    # had one, and its buyer country is the one the file resolved (from a column or from
    # --buyer-country), which takes the place of the input's own buyer-country column.
    buyer_country_column = resolve_columns(input_columns, source=scores_path, required=()).get(
        "buyer_country", "buyer_country"
    )
    pairs = top.select(input_columns).with_columns(
        top["buyer_country_iso3"].alias(buyer_country_column)
    )
    prepared = prepare_pairs(pairs, source=scores_path, buyer_country=None, buyer_name=None)
    # The quarters' first days, then the file's own as-of date: the last point is the score the
    # file holds.
    dates = quarter_starts(as_of, request.history_quarters)
    if dates[-1] != as_of:
        dates.append(as_of)
    history_frames = []
    for day in dates:
        rescored = score_pairs(prepared, reference, model, as_of=day)
        history_frames.append(
            pl.DataFrame(
                {
                    "pair_label": top["pair_label"],
                    "quarter": [day] * top.height,
                    "risk_score": rescored["risk_score"],
                }
            )
        )
    # A score the file's columns cannot reproduce (a buyer given with --buyer is not written to
    # the scores) would end its line away from the file's: say so on the chart.
    differing = top.filter(
        (rescored["risk_score"] - top["risk_score"]).abs().fill_null(1.0) > 1e-9
    ).height
    history_note = (
        f"{differing} of {top.height} pairs re-scored as of {as_of} do not reproduce their score "
        "in the file: it lacks an input they were scored with (a buyer given with --buyer is not "
        "written to the scores; give it as a column), so their lines end away from it."
        if differing
        else None
    )
    history = pl.concat(history_frames) if history_frames else None
    from riskengine.bands import DEFAULT_CUTOFFS
    from riskengine.models.tracking import run_document

    card = ModelCard(
        model_version=model.version,
        run_id=model.run_id,
        metrics=model.metrics,
        reference_fingerprint=reference.fingerprint,
        as_of=as_of.isoformat(),
        trained_on="public-events panel (see the MLflow run)",
        band_cutoffs=model.band_cutoffs or dict(DEFAULT_CUTOFFS),
        validation=run_document(settings, model.run_id, "validation_summary.json") or [],
        bands=run_document(settings, model.run_id, "validation_bands.json") or [],
    )
    html = render_report(
        scores,
        history=history,
        history_note=history_note,
        bom_products=bom_products,
        model_card=card,
        stress=impact.get("stress"),
        alternatives=impact.get("alternatives"),
        changes=impact.get("changes"),
        sources=sources,
    )
    write_text(html, request.output_path)
    return request.output_path
