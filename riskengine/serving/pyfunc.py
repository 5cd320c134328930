"""The registered model as a full scorer: raw sourcing pairs in, the columns of
``riskengine score`` out, for ``mlflow.pyfunc.load_model`` and ``mlflow models serve``.

A registered version's directory holds the scikit-learn model (``model.skops``, its ``sklearn``
flavour, what ``riskengine score`` loads) and, for its ``python_function`` flavour, a
``scorer/`` directory written at training by :func:`write_scorer_files`: the reference tables
the model was trained with (the full tables, and the overlay read on top of them, if any),
the catalog, and ``scorer.json`` (the version, the reference fingerprint, the catalog's
hashes, and what the driver texts and the calibration need: feature names, neutral values,
calibration, band cut-offs). The wording of the drivers is riskengine's own code, pinned by
the model's requirements.

MLflow imports this module by name (the flavour's ``loader_module``) and calls
:func:`_load_pyfunc`: no code is read from the model's directory and nothing is unpickled
(the estimator is read by skops with riskengine's allow-list). Scoring goes through
:func:`riskengine.scoring.score_frame`, the path of ``riskengine score``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import polars as pl

from riskengine.catalog import catalog_files, normalise_country
from riskengine.errors import CountryError, ModelIntegrityError, UserInputError
from riskengine.io.reading import check_flat_columns
from riskengine.reference.contracts import TABLE_SCHEMAS, file_name
from riskengine.reference.loader import ReferenceData, load_reference
from riskengine.reference.overlay import MANIFEST_FILE
from riskengine.schemas import SCORE_OUTPUT_COLUMNS
from riskengine.scoring import score_frame, score_part
from riskengine.sourcing import InputContext

LOADER_MODULE = __name__
SCORER_DIRECTORY = "scorer"
DESCRIPTION_FILE = "scorer.json"
DESCRIPTION_FORMAT = "riskengine-scorer/1"
TABLES_DIRECTORY = "reference"
OVERLAY_DIRECTORY = "reference_overlay"
CATALOG_DIRECTORY = "catalog"
#: The parameters of ``predict``: the date the scores describe (required), the buyer
#: country and buyer of rows that do not give one (``--buyer-country``, ``--buyer``), and the
#: whole input's first pass when the input is one part of a larger one (:data:`FIRST_PASS`).
FIRST_PASS = "first_pass"
PARAMETERS = ("as_of", "buyer_country", "buyer", FIRST_PASS)
#: With a first pass, the input column of each row's place in the whole input (1 for its first
#: data row); it comes back as the output's first column, to sort the parts' outputs by.
ROW_COLUMN = "input_row"
#: The output columns that hold numbers; the others hold text.
NUMBER_COLUMNS = ("risk_score", "risk_score_low", "risk_score_high", "model_score", "state_score")
#: The date of the logged input example's parameters.
EXAMPLE_AS_OF = "2026-03-01"
INPUT_LABEL = "model input"

logger = logging.getLogger("riskengine")


@dataclass(frozen=True)
class ScorerModel:
    """The estimator and what scoring needs beside it (a :class:`riskengine.prediction.
    ScoringModel`), as the model's directory describes them."""

    model: Any
    version: str
    feature_names: tuple[str, ...]
    neutral_values: dict[str, float]
    calibration: dict[str, Any] = field(default_factory=dict)
    band_cutoffs: dict[str, float] = field(default_factory=dict)


# -- writing, at training ---------------------------------------------------------------------


def write_scorer_files(
    model_directory: Path,
    *,
    reference: ReferenceData,
    version: str,
    model_file: str,
    explanation: dict[str, Any],
) -> None:
    """Write ``scorer/`` into a model's directory: the reference snapshot, the catalog and
    ``scorer.json`` (see the module's description).

    ``explanation`` is what the training run logs as ``explain.json``; ``model_file`` the
    estimator's file in the model's directory; ``version`` the registry version the model
    becomes.
    """
    scorer = model_directory / SCORER_DIRECTORY
    full_tables = Path(reference.base_directory or reference.directory)
    _copy_tables(full_tables, scorer / TABLES_DIRECTORY)
    if reference.base_directory is not None:
        overlay = scorer / OVERLAY_DIRECTORY
        _copy_tables(Path(reference.directory), overlay)
        shutil.copyfile(Path(reference.directory) / MANIFEST_FILE, overlay / MANIFEST_FILE)
    catalog = scorer / CATALOG_DIRECTORY
    catalog.mkdir(parents=True)
    files = catalog_files()
    for name, data in files.items():
        (catalog / name).write_bytes(data)
    description = {
        "format": DESCRIPTION_FORMAT,
        "model_version": version,
        "model_file": model_file,
        "reference_fingerprint": reference.fingerprint,
        "catalog_sha256": _catalog_hashes(files),
        **explanation,
    }
    (scorer / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2, sort_keys=True))


def _copy_tables(source: Path, target: Path) -> None:
    """Copy the reference tables ``source`` holds (an overlay holds only some)."""
    target.mkdir(parents=True)
    for schema in TABLE_SCHEMAS.values():
        path = source / file_name(schema)
        if path.is_file():
            shutil.copyfile(path, target / file_name(schema))


def _catalog_hashes(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}


def pinned_requirements() -> list[str]:
    """riskengine and each of its runtime dependencies at the version installed now (the
    versions a model is trained with), for the model's ``requirements.txt``."""
    from packaging.requirements import Requirement

    names = ["riskengine"]
    for text in metadata.requires("riskengine") or []:
        requirement = Requirement(text)
        if requirement.marker is None:
            extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
            names.append(requirement.name + extras)
    return [f"{name}=={metadata.version(name.split('[')[0])}" for name in names]


def signature_document() -> dict[str, str | None]:
    """The model's signature as MLflow's ``ModelSignature.from_dict`` reads it.

    No input schema: MLflow drops the columns a schema does not name, and the scorer keeps
    every input column and accepts the aliases ``score`` accepts (``MAKTX``, ``LIFNR`` ...),
    checking its input as ``score`` does. The outputs are the columns the scorer adds after
    the input's own; the parameters are :data:`PARAMETERS`, none with a default.
    """
    outputs = [
        {"name": name, "type": "double" if name in NUMBER_COLUMNS else "string", "required": False}
        for name in SCORE_OUTPUT_COLUMNS
    ]
    params = [{"name": name, "type": "string", "default": None} for name in PARAMETERS]
    return {"inputs": None, "outputs": json.dumps(outputs), "params": json.dumps(params)}


def input_example() -> tuple[Any, dict[str, str]]:
    """Three rows of the demo sourcing list, as text as ``score`` reads a CSV, and the
    parameters of a request."""
    data = resources.files("riskengine").joinpath("demo", "sourcing.csv").read_bytes()
    rows = pl.read_csv(data, infer_schema=False).head(3).to_pandas()
    return rows, {"as_of": EXAMPLE_AS_OF}


# -- loading and scoring ----------------------------------------------------------------------


class SourcingScorer:
    """What ``mlflow.pyfunc.load_model`` returns the implementation of: ``predict`` takes raw
    sourcing pairs and answers what ``riskengine score`` writes."""

    def __init__(self, model: ScorerModel, reference: ReferenceData) -> None:
        self.model = model
        self.reference = reference

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """Score raw pairs (a pandas or polars frame with the columns ``score`` reads).

        ``params``: ``as_of`` (YYYY-MM-DD, required), ``buyer_country`` and ``buyer`` for rows
        that do not give them. Returns a pandas frame of Python values (None where missing):
        every input row, in order, the input columns kept, then the scoring columns; a
        rejected row carries its reason. The notes
        ``score`` prints (shares summing above 1, a future date) are logged as warnings.

        When the input is one part of a larger one (a Spark partition), ``first_pass`` is the
        whole input's :class:`~riskengine.sourcing.InputContext` as JSON
        (:meth:`~riskengine.sourcing.InputContext.to_json`) and the input has a
        :data:`ROW_COLUMN` column: each row is then answered as the whole input scored at
        once answers it (duplicates and conflicting supplier countries across parts, the
        share column as a whole reads), and the output starts with :data:`ROW_COLUMN`. The
        first pass's notes are not logged (they are the whole input's).

        Raises
        ------
        UserInputError
            For a missing or malformed parameter, an input that is not a frame, missing
            required columns, or a column named like an output column; with a first pass,
            one gathered with another date or defaults, or a missing or bad row column.
        """
        as_of, buyer_country, buyer = _parameters(params)
        frame = _input_frame(model_input)
        first_pass = (params or {}).get(FIRST_PASS)
        if first_pass:
            context = _first_pass(str(first_pass), as_of, buyer_country, buyer)
            if ROW_COLUMN not in frame.columns:
                raise UserInputError(
                    f"{INPUT_LABEL}: with a first pass, a column {ROW_COLUMN} gives each row's "
                    "place in the whole input"
                )
            output = score_part(
                frame.drop(ROW_COLUMN), frame[ROW_COLUMN], context, self.reference, self.model
            ).insert_column(0, frame[ROW_COLUMN])
        else:
            output, notes = score_frame(
                frame,
                self.reference,
                self.model,
                as_of=as_of,
                source=INPUT_LABEL,
                buyer_country=buyer_country,
                buyer_name=buyer,
            )
            for note in notes:
                logger.warning(note)
        return _python_values(output)


def _python_values(output: pl.DataFrame) -> Any:
    """The output as a pandas frame of Python values."""
    frame = output.to_pandas()
    # pandas marks a missing cell NaN, which MLflow's server writes as a bare NaN (not
    # JSON); a None is written null.
    return frame.astype(object).where(frame.notna(), None)


def _parameters(params: dict[str, Any] | None) -> tuple[date, str | None, str | None]:
    given = {name: value for name, value in (params or {}).items() if value not in (None, "")}
    if "as_of" not in given:
        raise UserInputError("params as_of is required: the date the scores describe, YYYY-MM-DD")
    try:
        as_of = date.fromisoformat(str(given["as_of"]).strip())
    except ValueError as error:
        raise UserInputError(
            f"params as_of {given['as_of']!r} is not a date (YYYY-MM-DD)"
        ) from error
    buyer_country = given.get("buyer_country")
    if buyer_country is not None:
        try:
            normalise_country(str(buyer_country))
        except CountryError as error:
            raise UserInputError(f"params buyer_country: {error}") from error
    buyer = given.get("buyer")
    return (
        as_of,
        None if buyer_country is None else str(buyer_country),
        None if buyer is None else str(buyer),
    )


def _first_pass(
    text: str, as_of: date, buyer_country: str | None, buyer: str | None
) -> InputContext:
    """The first pass a part is scored with, gathered with the request's date and defaults
    (else the part's rows would be resolved otherwise than the first pass counted them)."""
    try:
        context = InputContext.from_json(text)
    except ValueError as error:
        raise UserInputError(f"params {FIRST_PASS}: {error}") from error
    requested = {"as_of": as_of, "buyer_country": buyer_country, "buyer": buyer}
    gathered = {
        "as_of": context.as_of,
        "buyer_country": context.buyer_country,
        "buyer": context.buyer_name,
    }
    differing = [name for name in requested if requested[name] != gathered[name]]
    if differing:
        raise UserInputError(
            f"params {FIRST_PASS} was gathered with other "
            + ", ".join(f"{name} ({gathered[name]}, not {requested[name]})" for name in differing)
        )
    return context


def _input_frame(model_input: Any) -> pl.DataFrame:
    if isinstance(model_input, pl.DataFrame):
        frame = model_input
    else:
        import pandas as pd

        if not isinstance(model_input, pd.DataFrame):
            raise UserInputError(
                f"{INPUT_LABEL}: a pandas or polars frame of sourcing rows is needed, not "
                f"{type(model_input).__name__}"
            )
        frame = pl.from_pandas(model_input)
    check_flat_columns(frame, INPUT_LABEL)
    return frame


def load_scorer(model_directory: Path) -> SourcingScorer:
    """The scorer of a model's directory, its snapshot checked.

    Raises
    ------
    ModelIntegrityError
        When ``scorer.json`` is missing or of another format, the catalog the model carries
        was edited or differs from this installation's (the one scoring resolves materials
        with), the reference snapshot's fingerprint is not the recorded one, or the estimator
        needs types outside :data:`riskengine.models.trust.SKOPS_TRUSTED_TYPES`.
    """
    scorer = model_directory / SCORER_DIRECTORY
    description = read_description(scorer / DESCRIPTION_FILE)
    recorded = description["catalog_sha256"]
    carried = _catalog_hashes(
        {path.name: path.read_bytes() for path in (scorer / CATALOG_DIRECTORY).glob("*.csv")}
    )
    if carried != recorded:
        raise ModelIntegrityError(
            f"{scorer / CATALOG_DIRECTORY}: the catalog the model carries was edited since "
            "training; refusing to load it"
        )
    installed = _catalog_hashes(catalog_files())
    if installed != recorded:
        differing = sorted(
            name for name in {*installed, *recorded} if installed.get(name) != recorded.get(name)
        )
        raise ModelIntegrityError(
            f"the model was trained with another catalog than this installation's "
            f"({', '.join(differing)} differ); score with the riskengine version in the "
            "model's requirements.txt"
        )
    overlay = scorer / OVERLAY_DIRECTORY
    tables = scorer / TABLES_DIRECTORY
    if overlay.is_dir():
        reference = load_reference(overlay, overlay_base=tables)
    else:
        reference = load_reference(tables)
    if reference.fingerprint != description["reference_fingerprint"]:
        raise ModelIntegrityError(
            f"{scorer}: the reference snapshot's fingerprint is {reference.fingerprint}, not the "
            f"{description['reference_fingerprint']} recorded at training; it was edited"
        )
    model = ScorerModel(
        model=_estimator(model_directory, description["model_file"]),
        version=str(description["model_version"]),
        feature_names=tuple(description["feature_names"]),
        neutral_values=description["neutral_values"],
        calibration=description.get("calibration", {}),
        band_cutoffs=description.get("band_cutoffs", {}),
    )
    return SourcingScorer(model, reference)


def read_description(path: Path) -> dict[str, Any]:
    """A version's ``scorer.json``, refused unless it is a scorer description of this format."""
    try:
        description = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelIntegrityError(f"{path}: not a readable scorer description: {error}") from error
    if not isinstance(description, dict) or description.get("format") != DESCRIPTION_FORMAT:
        raise ModelIntegrityError(f"{path}: not a scorer of this version ({DESCRIPTION_FORMAT})")
    return description


def _estimator(model_directory: Path, model_file: str) -> Any:
    """The tree scorer the version carries (as ``riskengine score`` loads it, so both give the
    same bits), else the skops file read with riskengine's allow-list."""
    from riskengine.models import tree_scorer

    if tree_scorer.present(model_directory):
        try:
            return tree_scorer.load(model_directory)
        except ValueError as error:
            raise ModelIntegrityError(f"{model_directory}: {error}; refusing to load it") from error
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    from riskengine.models.trust import SKOPS_TRUSTED_TYPES

    path = model_directory / model_file

    try:
        return skops.io.load(path, trusted=SKOPS_TRUSTED_TYPES)
    except UntrustedTypesFoundException as error:
        raise ModelIntegrityError(
            f"{path}: needs types outside riskengine's allow-list ({error}); refusing to load it"
        ) from error


def _load_pyfunc(path: str) -> SourcingScorer:
    """MLflow's entry point (``loader_module``): the scorer of the model directory ``path``."""
    return load_scorer(Path(path))
