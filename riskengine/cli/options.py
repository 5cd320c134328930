"""The options commands share, and how they become a request's parts."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from riskengine.app.requests import InputFile
    from riskengine.io import ReadOptions

T = TypeVar("T")

ReferenceDirOption = Annotated[
    Path | None,
    typer.Option(
        "--reference-dir",
        help="Directory of reference CSVs replacing the shipped set, or an overlay directory "
        "(reference import) read on top of it.",
        envvar="RISKENGINE_REFERENCE_DIR",
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str,
    typer.Option(
        "--as-of",
        help="Date the scores describe (YYYY-MM-DD or today); facts known by then.",
    ),
]
BuyerCountryOption = Annotated[
    str | None, typer.Option("--buyer-country", help="Buyer country for rows that do not give one.")
]
BuyerOption = Annotated[
    str | None, typer.Option("--buyer", help="Buyer name, screened against listed entities.")
]
OutputOption = Annotated[
    str, typer.Option("--output", "-o", help="Output file (.csv, .parquet, .json) or -.")
]
FormatOption = Annotated[
    str | None, typer.Option("--format", help="Output format when - or no extension.")
]
EncodingOption = Annotated[
    str | None,
    typer.Option("--encoding", help="Input encoding when not UTF-8 and not detected (cp1252...)."),
]
SheetOption = Annotated[
    str | None,
    typer.Option("--sheet", help="Worksheet of an .xlsx input (name or 1-based number)."),
]
ModelOption = Annotated[str, typer.Option("--model", help="Registry alias or version.")]
MappingOption = Annotated[
    str | None,
    typer.Option(
        "--mapping",
        help="Reviewed material mapping (from `riskengine map`): its accepted and proposed rows "
        "are applied before the catalog; review rows are not.",
    ),
]
SupplierSitesOption = Annotated[
    str | None,
    typer.Option(
        "--supplier-sites",
        help="Supplier-site export (Oracle Supplier Sites: Supplier, Supplier Site, Country; "
        "any input format): rows without a country take their supplier site's.",
        show_default=False,
    ),
]
DelimiterOption = Annotated[
    str | None, typer.Option("--delimiter", help="CSV delimiter when sniffing is not enough.")
]
ExcelOption = Annotated[
    bool,
    typer.Option(
        "--excel",
        help="Write a CSV output that Excel opens correctly in any locale (UTF-8 with a "
        "byte-order mark, TAB-separated) instead of the input's delimiter and encoding.",
    ),
]
ColumnsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--columns",
        help='Name the input\'s columns: material="Item Description",share="Allocation %" '
        "(repeatable or comma-separated; wins over the recognised header names).",
        show_default=False,
    ),
]
HeaderRowOption = Annotated[
    int | None,
    typer.Option(
        "--header-row",
        min=1,
        help="1-based row of the header in a CSV or workbook (title rows above it are "
        "otherwise detected: rows with at most one non-empty cell).",
        show_default=False,
    ),
]


def named_columns_in_force(values: list[str] | None) -> contextlib.AbstractContextManager[None]:
    """The ``--columns`` pairs in force for the command (exit 2 on an unknown name)."""
    from riskengine.io.columns import nameable_columns, named_columns, parse_named_columns

    return named_columns(parse_named_columns(values or [], nameable_columns()))


def with_named_columns(values: list[str] | None, body: Callable[[], T]) -> T:
    """Run ``body`` with the ``--columns`` names in force."""
    with named_columns_in_force(values):
        return body()


def written_to(output: str) -> str:
    """The end of a summary line naming the file written (nothing for standard output)."""
    return f" -> {output}" if output != "-" else ""


@dataclass(frozen=True)
class Reading:
    """How a command reads its input files: the options of :func:`reads_input`."""

    encoding: str | None = None
    sheet: str | None = None
    delimiter: str | None = None
    header_row: int | None = None
    columns: list[str] | None = None

    def read_options(self) -> ReadOptions:
        """The options for the readers of :mod:`riskengine.io`."""
        from riskengine.io import ReadOptions

        return ReadOptions(
            encoding=self.encoding,
            sheet=self.sheet,
            delimiter=self.delimiter,
            header_row=self.header_row,
        )

    def input_file(
        self, path: str, mapping_path: str | None = None, supplier_sites: str | None = None
    ) -> InputFile:
        """An input of a request, read with these options. Its supplier-site export is read
        as detected: these options describe the input itself."""
        from riskengine.app.requests import InputFile

        sites = InputFile(supplier_sites) if supplier_sites is not None else None
        return InputFile(path, self.read_options(), mapping_path, sites)

    def run(self, body: Callable[[], T]) -> T:
        """Run ``body`` with the ``--columns`` names in force (exit 2 on an unknown name)."""
        return with_named_columns(self.columns, body)


_READING_PARAMETERS = tuple(
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
    for name, annotation in (
        ("encoding", EncodingOption),
        ("sheet", SheetOption),
        ("delimiter", DelimiterOption),
        ("columns", ColumnsOption),
        ("header_row", HeaderRowOption),
    )
)


def reads_input(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the options that say how to read its input (``--encoding``, ``--sheet``,
    ``--delimiter``, ``--columns``, ``--header-row``), declared once for every command that
    reads a user's file.

    The command takes a keyword ``reading: Reading`` in their place; typer sees the options
    through the wrapper's signature.
    """
    signature = inspect.signature(command, eval_str=True)
    own = [parameter for name, parameter in signature.parameters.items() if name != "reading"]

    @functools.wraps(command)
    def wrapper(**arguments: Any) -> None:
        reading = Reading(**{name: arguments.pop(name) for name in _reading_names()})
        command(**arguments, reading=reading)

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*own, *_READING_PARAMETERS]
    )
    wrapper.__annotations__ = {
        parameter.name: parameter.annotation for parameter in (*own, *_READING_PARAMETERS)
    } | {"return": signature.return_annotation}
    return wrapper


def _reading_names() -> tuple[str, ...]:
    return tuple(parameter.name for parameter in _READING_PARAMETERS)
