"""Loading, validating and fingerprinting reference data; errors name file, line and column."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest

from riskengine.errors import ReferenceDataError
from riskengine.reference.loader import (
    TABLE_SPECS,
    load_reference,
    shipped_reference_dir,
    summarise_reference,
)


@pytest.fixture
def reference_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped reference directory."""
    target = tmp_path / "reference"
    shutil.copytree(shipped_reference_dir(), target)
    return target


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def set_cell(path: Path, row_index: int, column: str, value: str) -> int:
    """Set one cell of data row ``row_index`` (0-based); return its line (header is line 1)."""
    rows = read_rows(path)
    rows[row_index + 1][rows[0].index(column)] = value
    write_rows(path, rows)
    return row_index + 2


def reference_error(directory: Path) -> str:
    with pytest.raises(ReferenceDataError) as caught:
        load_reference(directory)
    return str(caught.value)


def test_shipped_data_loads_and_every_table_has_rows() -> None:
    reference = load_reference()

    for name in TABLE_SPECS:
        assert reference.table(name).height > 0, name


def test_tables_have_their_declared_types() -> None:
    reference = load_reference()

    for name, spec in TABLE_SPECS.items():
        assert dict(reference.table(name).schema) == spec.columns, name


def test_fingerprint_is_16_hex_characters_and_stable() -> None:
    first = load_reference().fingerprint
    second = load_reference(shipped_reference_dir()).fingerprint

    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert first == second


def test_a_copy_has_the_same_fingerprint(reference_copy: Path) -> None:
    assert load_reference(reference_copy).fingerprint == load_reference().fingerprint


def test_summary_has_one_line_per_table() -> None:
    reference = load_reference()

    summaries = summarise_reference(reference)

    assert [summary.name for summary in summaries] == list(TABLE_SPECS)
    for summary in summaries:
        assert summary.rows == reference.table(summary.name).height
        assert re.fullmatch(r"[0-9a-f]{16}", summary.sha256)


def test_changing_one_byte_of_a_description_changes_the_fingerprint(
    reference_copy: Path,
) -> None:
    before = load_reference(reference_copy).fingerprint
    path = reference_copy / "policy_events.csv"
    rows = read_rows(path)
    description = rows[1][rows[0].index("description")]
    changed = description[:-1] + ("X" if description[-1] != "X" else "Y")
    text = path.read_text(encoding="utf-8")
    assert text.count(description) >= 1
    path.write_text(text.replace(description, changed, 1), encoding="utf-8")

    after = load_reference(reference_copy)

    assert after.fingerprint != before
    assert after.policy_events.height == load_reference().policy_events.height


def test_a_malformed_date_names_file_line_and_column(reference_copy: Path) -> None:
    path = reference_copy / "policy_events.csv"
    line = set_cell(path, 2, "effective", "2023-02-30")

    message = reference_error(reference_copy)

    assert f"policy_events.csv:{line}:" in message
    assert "column effective" in message
    assert "2023-02-30" in message


def test_an_unknown_country_code_names_file_line_and_column(reference_copy: Path) -> None:
    path = reference_copy / "listed_entities.csv"
    line = set_cell(path, 3, "entity_country_iso3", "XXA")

    message = reference_error(reference_copy)

    assert f"listed_entities.csv:{line}:" in message
    assert "column entity_country_iso3" in message
    assert "'XXA'" in message


def test_an_event_ending_before_it_takes_effect_is_refused(reference_copy: Path) -> None:
    path = reference_copy / "policy_events.csv"
    rows = read_rows(path)
    header = rows[0]
    effective, ended = header.index("effective"), header.index("ended")
    row_index = next(index for index, row in enumerate(rows[1:]) if row[effective] and row[ended])
    line = set_cell(path, row_index, "ended", "1999-01-01")

    message = reference_error(reference_copy)

    assert f"policy_events.csv:{line}:" in message
    assert "column ended" in message


def test_a_missing_table_file_is_named(reference_copy: Path) -> None:
    (reference_copy / "governance_wgi.csv").unlink()

    message = reference_error(reference_copy)

    assert "governance_wgi.csv" in message
    assert "missing" in message


def test_a_missing_column_is_listed(reference_copy: Path) -> None:
    path = reference_copy / "production.csv"
    rows = read_rows(path)
    drop = rows[0].index("published")
    write_rows(path, [row[:drop] + row[drop + 1 :] for row in rows])

    message = reference_error(reference_copy)

    assert "production.csv" in message
    assert "published" in message


def test_a_missing_required_value_names_line_and_column(reference_copy: Path) -> None:
    path = reference_copy / "governance_wgi.csv"
    line = set_cell(path, 0, "wgi_score", "")

    message = reference_error(reference_copy)

    assert f"governance_wgi.csv:{line}: column wgi_score: value is required" in message


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    message = reference_error(missing)

    assert str(missing) in message


def test_line_numbers_count_lines_of_the_file_not_records(reference_copy: Path) -> None:
    path = reference_copy / "policy_events.csv"
    rows = read_rows(path)[:3]
    rows[1][rows[0].index("description")] = "first line\nsecond line"
    rows[2][rows[0].index("effective")] = "2023-02-30"
    write_rows(path, rows)
    lines = path.read_text(encoding="utf-8").splitlines()
    bad_line = next(number for number, text in enumerate(lines, 1) if "2023-02-30" in text)
    assert bad_line == 4

    message = reference_error(reference_copy)

    assert f"policy_events.csv:{bad_line}: column effective" in message


@pytest.mark.parametrize("blank", ["   ", '""'])
def test_a_blank_required_text_cell_is_refused(reference_copy: Path, blank: str) -> None:
    path = reference_copy / "policy_events.csv"
    rows = read_rows(path)[:2]
    rows[1][rows[0].index("source")] = "BLANK_CELL"
    write_rows(path, rows)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("BLANK_CELL", blank), encoding="utf-8")

    message = reference_error(reference_copy)

    assert "policy_events.csv:2: column source: value is required" in message
