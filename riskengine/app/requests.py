"""What a user asks of a job: the input file and how to read it, the output and how to write it,
and the question (as-of date, buyer, model).

The command line builds one request per command and passes it to one application function, so
the options that ``score``, ``features``, ``score-bom`` and ``map`` share are declared once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from riskengine.config import chunk_bytes_setting
from riskengine.errors import UserInputError
from riskengine.io import ChunkedTable, ReadOptions


def parse_as_of(text: str) -> date:
    """An as-of date given as text: YYYY-MM-DD or ``today``.

    Raises
    ------
    UserInputError
        When ``text`` is neither.
    """
    if text.strip().casefold() == "today":
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserInputError(
            f"--as-of {text!r} is not a date in YYYY-MM-DD form (or 'today')"
        ) from None


@dataclass(frozen=True)
class InputFile:
    """A user's input file, how to read it, the team's material mapping to apply, and where
    the countries of its supplier sites are."""

    path: str
    """A file path, or ``-`` for standard input."""
    read_options: ReadOptions = field(default_factory=ReadOptions)
    mapping_path: str | None = None
    """The team's reviewed ``riskengine map`` file, applied before the catalog."""
    supplier_sites: InputFile | None = None
    """A supplier-site export (Oracle's Supplier Sites: supplier, supplier site, country):
    a sourcing row without a country takes its supplier site's (``--supplier-sites``)."""

    @property
    def label(self) -> str:
        """The name messages give the input."""
        return "<stdin>" if self.path == "-" else self.path

    def chunks(self, chunk_bytes: int | None = None) -> ChunkedTable:
        """The input as chunks of about ``chunk_bytes`` (``RISKENGINE_CHUNK_BYTES`` or the
        default when None)."""
        return self.read_options.chunks(self.path, chunk_bytes or chunk_bytes_setting())

    def start_reading(self) -> ChunkedTable | None:
        """The input as chunks with its first chunk already being read on a thread
        (:meth:`ChunkedTable.read_first_ahead`), for a caller with other work to do first:
        the command line imports the scoring modules meanwhile. Pass it on to the job
        (``table=`` of :func:`riskengine.app.scoring.score_file`), which closes it.

        None for standard input, which another option may read too (``--mapping -``), and for
        an input that cannot be opened as asked (an unknown format): the job opens it, and
        reports why in its turn, after the errors it reports first. A job that stops on an
        error before it takes the chunk waits for the read first (for an input read whole,
        such as a workbook, the whole read).
        """
        if self.path == "-":
            return None
        try:
            table = self.chunks()
        except UserInputError:
            return None
        table.read_first_ahead()
        return table


@dataclass(frozen=True)
class OutputFile:
    """Where a job writes and in which form."""

    path: str
    """A file path, or ``-`` for standard output."""
    format: str | None = None
    """The format when the path is ``-`` or has no extension."""
    excel: bool = False
    """Write a CSV for Excel in any locale instead of mirroring the input's delimiter and
    encoding."""


@dataclass(frozen=True)
class ScoringRequest:
    """Score (or build the features of) the pairs of a sourcing list as of a date."""

    input: InputFile
    output: OutputFile
    as_of: date
    buyer_country: str | None = None
    """The buyer country of rows that do not give one."""
    buyer_name: str | None = None
    """The buyer of rows that do not give one, screened against the listed entities."""
    model_alias: str = "champion"
    """A registry alias or version (not used by ``features``)."""

    @classmethod
    def from_paths(
        cls,
        input_path: str,
        output_path: str,
        as_of: date,
        *,
        buyer_country: str | None = None,
        buyer_name: str | None = None,
    ) -> ScoringRequest:
        """A request to read ``input_path`` as detected and write ``output_path`` as its
        extension says (for scripts and notebooks)."""
        return cls(
            InputFile(input_path),
            OutputFile(output_path),
            as_of,
            buyer_country=buyer_country,
            buyer_name=buyer_name,
        )


@dataclass(frozen=True)
class BomRequest:
    """Score a sourcing list and roll it up over a bill of materials."""

    bom: InputFile
    scoring: ScoringRequest
    """The sourcing list, the products' output and the question."""
    lines_path: str | None = None
    """Also write the exploded lines here."""
    strict: bool = False
    """Shares that do not sum to 1 are an error instead of being normalised."""
    product: str | None = None
    """The top material of an indented BOM that starts at level 1 (``--product``); else
    taken from the export's "Material …" header line, when it has one."""


@dataclass(frozen=True)
class StressRequest:
    """Run scenarios of export measures on a bill of materials (``riskengine stress``)."""

    bom: InputFile
    sourcing: InputFile
    """The sourcing list, scored as of each scenario's start."""
    inventory: InputFile
    scenarios: tuple[str, ...]
    """Scenario TOML files or shipped scenario names."""
    output: OutputFile
    pairs_path: str | None = None
    """Also write the pairs scored before and after here."""
    plan: InputFile | None = None
    """The production plan: product, units per day, unit value."""
    buyer_country: str | None = None
    buyer_name: str | None = None
    target_country: str | None = None
    """Aim every measure at this country instead."""
    start: str | None = None
    """Move each scenario to start on this date (YYYY-MM-DD)."""
    military_end_use: bool = False
    """The products go to military end users, so measures on such users stop their flows."""
    model_alias: str = "champion"

    def scoring(self, as_of: date) -> ScoringRequest:
        """The sourcing list's scoring as of ``as_of`` (a scenario's start)."""
        return ScoringRequest(
            self.sourcing,
            self.output,
            as_of,
            buyer_country=self.buyer_country,
            buyer_name=self.buyer_name,
            model_alias=self.model_alias,
        )


@dataclass(frozen=True)
class BuyerJobRequest:
    """Score an uploaded sourcing list (and roll it up over a BOM) for the buyers' page: every
    file the job writes goes into ``directory``."""

    sourcing: InputFile
    directory: str
    """The job's own directory (the uploads are already in it)."""
    as_of: date
    bom: InputFile | None = None
    buyer_country: str | None = None
    buyer_name: str | None = None
    model_alias: str = "champion"

    def scoring(self, output: OutputFile) -> ScoringRequest:
        """The sourcing list's scoring, written to ``output``."""
        return ScoringRequest(
            self.sourcing,
            output,
            self.as_of,
            buyer_country=self.buyer_country,
            buyer_name=self.buyer_name,
            model_alias=self.model_alias,
        )


@dataclass(frozen=True)
class ReportRequest:
    """Render the HTML report of a scores file (``riskengine report``), with the optional
    sections the other commands' outputs fill."""

    scores_path: str
    """An output of ``riskengine score``."""
    output_path: str
    """The HTML file to write."""
    bom_scores_path: str | None = None
    """An output of ``riskengine score-bom`` (product exposure)."""
    stress_path: str | None = None
    """An output of ``riskengine stress`` (the scenario timeline)."""
    alternatives_path: str | None = None
    """An output of ``riskengine alternatives`` (the alternatives table)."""
    changes_path: str | None = None
    """An output of ``riskengine diff`` (the changes since the previous run)."""
    history_quarters: int = 8
