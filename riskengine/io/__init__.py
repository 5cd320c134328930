"""The only place that reads and writes user files (csv, tsv, xlsx, parquet, json, jsonl; ``-``).

The bottom layer: it imports nothing of riskengine but :mod:`riskengine.errors`.

* :mod:`~riskengine.io.formats`: format inference and the check of a file's first bytes;
* :mod:`~riskengine.io.sources`: input files and standard input (regular files only, the size
  cap, gzip and zstd);
* :mod:`~riskengine.io.decoding`: encoding detection and strict decoding;
* :mod:`~riskengine.io.delimited`: the strict CSV/TSV reader;
* :mod:`~riskengine.io.reading`: reading any table whole;
* :mod:`~riskengine.io.chunks`: large CSV/TSV files streamed in chunks;
* :mod:`~riskengine.io.workbook`: xlsx reading and writing, formula escaping;
* :mod:`~riskengine.io.writing`: atomic writes to regular files or standard output, several
  files all or nothing;
* :mod:`~riskengine.io.cells`: numbers, shares and dates from text cells (the number
  classification in :mod:`~riskengine.io.numbertext`);
* :mod:`~riskengine.io.columns`: column aliases and header checks.
"""

from riskengine.io.chunks import DEFAULT_CHUNK_BYTES, ChunkedTable, ReadOptions
from riskengine.io.decoding import DETECTABLE_ENCODINGS
from riskengine.io.delimited import DELIMITERS
from riskengine.io.formats import FORMATS, STDIO, infer_format
from riskengine.io.reading import TableMetadata, read_table, read_table_with_metadata, read_text
from riskengine.io.workbook import (
    XLSX_MAX_CELL_CHARACTERS,
    XLSX_MAX_COLUMNS,
    XLSX_MAX_ROWS,
    XLSX_SHEET_NAME,
    escape_spreadsheet_formulas,
)
from riskengine.io.writing import (
    EXCEL_CSV,
    CsvStyle,
    check_outputs,
    write_table,
    write_table_chunks,
    write_tables,
    write_text,
)

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "DELIMITERS",
    "DETECTABLE_ENCODINGS",
    "EXCEL_CSV",
    "FORMATS",
    "STDIO",
    "XLSX_MAX_CELL_CHARACTERS",
    "XLSX_MAX_COLUMNS",
    "XLSX_MAX_ROWS",
    "XLSX_SHEET_NAME",
    "ChunkedTable",
    "CsvStyle",
    "ReadOptions",
    "TableMetadata",
    "check_outputs",
    "escape_spreadsheet_formulas",
    "infer_format",
    "read_table",
    "read_table_with_metadata",
    "read_text",
    "write_table",
    "write_table_chunks",
    "write_tables",
    "write_text",
]
