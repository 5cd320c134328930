"""Loading, validating and fingerprinting reference data; errors name file, line and column."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from pandera.errors import SchemaErrors

from riskengine import disk_cache
from riskengine.errors import MissingColumnsError, ReferenceDataError
from riskengine.reference import loader
from riskengine.reference.contracts import TABLE_SCHEMAS, column_types
from riskengine.reference.loader import (
    ReferenceData,
    load_reference,
    shipped_reference_dir,
    summarise_reference,
)
from riskengine.schemas import contract_failures


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


def reference_error(directory: Path, kind: type[Exception] = ReferenceDataError) -> str:
    with pytest.raises(kind) as caught:
        load_reference(directory)
    return str(caught.value)


def test_shipped_data_loads_and_every_table_has_rows() -> None:
    reference = load_reference()

    for name in TABLE_SCHEMAS:
        assert reference.table(name).height > 0, name


def test_tables_have_their_declared_types() -> None:
    reference = load_reference()

    for name, schema in TABLE_SCHEMAS.items():
        assert dict(reference.table(name).schema) == column_types(schema), name


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

    assert [summary.name for summary in summaries] == list(TABLE_SCHEMAS)
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

    message = reference_error(reference_copy, MissingColumnsError)

    assert message == f"{path}: missing column published"


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


# ------------------------------------------------------------------ the contracts, on tiny frames


def broken_rules(schema_name: str, frame: pl.DataFrame) -> set[tuple[int | None, str | None]]:
    """(row, column) of every rule the frame breaks; empty when it meets its contract."""
    try:
        TABLE_SCHEMAS[schema_name].validate(frame, lazy=True)
    except SchemaErrors as error:
        return {(failure.row, failure.column) for failure in contract_failures(error)}
    return set()


def policy_events(**changes: list[object]) -> pl.DataFrame:
    """Two valid policy events, with some columns replaced."""
    columns: dict[str, list[object]] = {
        "event_id": ["e1", "e2"],
        "country_iso3": ["CHN", "IDN"],
        "measure": ["export_licensing", "export_ban"],
        "materials": ["gallium", "nickel_ore"],
        "target_country_iso3": [None, "USA"],
        "announced": [date(2023, 7, 3), None],
        "effective": [date(2023, 8, 1), date(2020, 1, 1)],
        "ended": [None, date(2021, 1, 1)],
        "stages": [None, "ore_concentrate"],
        "scope": ["flow", "flow"],
        "description": ["licences", None],
        "source": ["MOFCOM", "ESDM"],
        "date_precision": ["day", "month"],
        "superseded_by": [None, "e1"],
        "confidence": ["primary", None],
    }
    columns.update(changes)
    return pl.DataFrame(columns, schema=column_types(TABLE_SCHEMAS["policy_events"]))


def test_valid_tiny_policy_events_meet_their_contract() -> None:
    assert broken_rules("policy_events", policy_events()) == set()


@pytest.mark.parametrize(
    ("changes", "broken"),
    [
        pytest.param({"source": ["MOFCOM", None]}, {(1, "source")}, id="required"),
        pytest.param({"measure": ["export_ban", "embargo"]}, {(1, "measure")}, id="allowed"),
        pytest.param({"country_iso3": ["XXA", "CHN"]}, {(0, "country_iso3")}, id="country"),
        pytest.param({"event_id": ["e1", "e1"]}, {(0, "event_id"), (1, "event_id")}, id="unique"),
        pytest.param(
            {"ended": [date(2023, 7, 31), None]}, {(0, "ended")}, id="ends-before-effective"
        ),
        pytest.param({"date_precision": ["day", None]}, {(1, "date_precision")}, id="precision"),
        pytest.param({"superseded_by": ["e3", None]}, {(0, "superseded_by")}, id="successor"),
        pytest.param({"confidence": ["high", None]}, {(0, "confidence")}, id="confidence"),
    ],
)
def test_the_policy_events_contract_refuses(
    changes: dict[str, list[object]], broken: set[tuple[int, str]]
) -> None:
    assert broken_rules("policy_events", policy_events(**changes)) == broken


def test_the_production_contract_refuses_shares_and_quantities_out_of_range() -> None:
    frame = pl.DataFrame(
        {
            "material": ["gallium", "gallium", "gallium"],
            "stage": ["refining", "refining", "refining"],
            "country_iso3": ["CHN", "JPN", "KOR"],
            "year": [2024, 2024, 2024],
            "quantity": [10.0, -1.0, None],
            "unit": ["t", "t", None],
            "share": [0.9, 0.1, 1.5],
            "published": [date(2025, 1, 31)] * 3,
            "source": ["USGS"] * 3,
        },
        schema=column_types(TABLE_SCHEMAS["production"]),
    )

    # 0.9 + 0.1 + 1.5 also breaks the rule that the shares of a year sum to at most 1.
    whole_rows = {(row, "production.csv") for row in range(3)}
    assert broken_rules("production", frame) == {(1, "quantity"), (2, "share"), *whole_rows}


def test_a_column_of_the_wrong_type_is_refused() -> None:
    frame = policy_events().with_columns(pl.col("effective").cast(pl.String))

    assert (None, "effective") in broken_rules("policy_events", frame)


def test_contract_errors_name_file_line_column_and_value(reference_copy: Path) -> None:
    path = reference_copy / "policy_events.csv"
    rows = read_rows(path)[:4]
    header = rows[0]
    rows[2][header.index("event_id")] = rows[1][header.index("event_id")]
    rows[3][header.index("scope")] = "rumour"
    write_rows(path, rows)
    duplicated = rows[1][header.index("event_id")]

    message = reference_error(reference_copy)

    assert f"policy_events.csv:2: column event_id: {duplicated!r} is duplicated" in message
    assert f"policy_events.csv:3: column event_id: {duplicated!r} is duplicated" in message
    assert "policy_events.csv:4: column scope: 'rumour' is not one of flow, " in message


def test_an_unreadable_cell_is_reported_once(reference_copy: Path) -> None:
    path = reference_copy / "governance_wgi.csv"
    line = set_cell(path, 0, "wgi_score", "high")

    message = reference_error(reference_copy)

    assert message == (
        f"invalid reference data:\n{path}:{line}: column wgi_score: cannot read 'high' as Float64"
    )


def test_the_same_files_load_once_and_an_edited_file_loads_anew(
    empty_caches: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running process reuses a load while the bytes are the same; an edit of the same
    length (as fast as the file clock's tick) is still seen, and no caller's changes leak."""
    from riskengine.reference import loader

    loads: list[Path] = []
    uncached = loader._load_reference

    def counted(base: Path, **options: object) -> object:
        loads.append(base)
        return uncached(base, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "_load_reference", counted)
    directory = tmp_path / "reference"
    shutil.copytree(shipped_reference_dir(), directory)
    first = load_reference(directory)
    first.table_hashes["production"] = "changed by a caller"
    first.production.insert_column(0, pl.Series("extra", [0] * first.production.height))
    second = load_reference(directory)
    assert len(loads) == 1
    assert second.fingerprint == first.fingerprint
    assert second.table_hashes["production"] != "changed by a caller"
    assert "extra" not in second.production.columns

    governance = directory / "governance_wgi.csv"
    text = governance.read_text(encoding="utf-8")
    header, first_row, rest = text.split("\n", 2)
    country, year, score, rest_of_row = first_row.split(",", 3)
    score = score[:-1] + ("1" if score[-1] != "1" else "2")  # the last digit of the WGI score
    edited = ",".join([country, year, score, rest_of_row])
    assert edited != first_row and len(edited) == len(first_row)
    governance.write_text("\n".join([header, edited, rest]), encoding="utf-8")

    again = load_reference(directory)
    assert len(loads) == 2
    assert again.fingerprint != first.fingerprint


# --- the disk cache of validated tables ---------------------------------------------------------


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty disk cache of the test's own, and nothing loaded in this process yet."""
    from riskengine.config import CACHE_DIR_ENV

    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(loader, "_LOADED", {})
    return tmp_path / "cache"


def _forget_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a new process: nothing loaded in memory (the disk cache is kept)."""
    monkeypatch.setattr(loader, "_LOADED", {})


def _same_load(left: ReferenceData, right: ReferenceData) -> bool:
    return (
        (left.directory, left.fingerprint, left.table_hashes, left.base_directory)
        == (right.directory, right.fingerprint, right.table_hashes, right.base_directory)
    ) and all(left.table(name).equals(right.table(name)) for name in TABLE_SCHEMAS)


def _expect_validated_again(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """As a new process, loading ``directory`` validates its tables (the cache serves none)."""
    _forget_in_memory(monkeypatch)
    _validation_refused(monkeypatch)
    with pytest.raises(AssertionError, match="validated again"):
        load_reference(directory)


def _validation_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> ReferenceData:
        raise AssertionError("validated again")

    monkeypatch.setattr(loader, "_load_reference", refuse)


def test_a_new_process_reads_the_validated_tables_back_from_the_disk_cache(
    empty_caches: Path, reference_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    validated = load_reference(reference_copy)
    assert len(list((empty_caches / "reference").iterdir())) == 1
    _forget_in_memory(monkeypatch)
    _validation_refused(monkeypatch)
    cached = load_reference(reference_copy)
    assert _same_load(cached, validated)
    assert all(cached.table(name).schema == validated.table(name).schema for name in TABLE_SCHEMAS)


def test_an_overlay_comes_back_from_the_disk_cache_as_it_was_validated(
    empty_caches: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskengine.reference.overlay import read_manifest, write_manifest

    overlay = tmp_path / "overlay"
    overlay.mkdir()
    write_manifest(overlay, read_manifest(overlay))
    rows = read_rows(shipped_reference_dir() / "governance_wgi.csv")
    write_rows(overlay / "governance_wgi.csv", rows[:2])
    validated = load_reference(overlay)
    assert validated.base_directory is not None
    _forget_in_memory(monkeypatch)
    _validation_refused(monkeypatch)
    assert _same_load(load_reference(overlay), validated)


def test_an_edited_table_is_validated_again_whatever_the_cache_holds(
    empty_caches: Path, reference_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_reference(reference_copy)
    _forget_in_memory(monkeypatch)
    line = set_cell(reference_copy / "policy_events.csv", 0, "effective", "2025-13-40")
    message = reference_error(reference_copy)
    assert f"policy_events.csv:{line}" in message


def test_a_damaged_cache_entry_is_validated_again_and_gives_the_same_tables(
    empty_caches: Path, reference_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    validated = load_reference(reference_copy)
    [entry] = (empty_caches / "reference").iterdir()
    damaged = entry / "policy_events.arrow"
    damaged.write_bytes(damaged.read_bytes()[:-100] + bytes(100))
    _forget_in_memory(monkeypatch)
    calls = []
    original = loader._load_reference
    monkeypatch.setattr(
        loader, "_load_reference", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    assert _same_load(load_reference(reference_copy), validated)
    assert calls == [1]


@pytest.mark.usefixtures("unwritable_cache_directory")
def test_loading_works_where_the_cache_cannot_be_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "_LOADED", {})
    assert load_reference().production.height > 0


def _described(directory: Path, suffix: str) -> None:
    """Valid tables of other bytes: one event's description ends in ``suffix``."""
    path = directory / "policy_events.csv"
    rows = read_rows(path)
    rows[1][rows[0].index("description")] += suffix
    write_rows(path, rows)


def test_the_disk_cache_keeps_the_most_recently_used_loads(
    empty_caches: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(disk_cache, "KEPT_ENTRIES", 2)
    copies = []
    for index in range(3):
        copy = tmp_path / f"copy{index}"
        shutil.copytree(shipped_reference_dir(), copy)
        _described(copy, f" ({index})")
        load_reference(copy)
        copies.append(copy)
    assert len(list((empty_caches / "reference").iterdir())) == 2
    _forget_in_memory(monkeypatch)
    _validation_refused(monkeypatch)
    load_reference(copies[2])  # the newest is kept
    with pytest.raises(AssertionError, match="validated again"):
        load_reference(copies[0])  # the oldest is not


def test_the_same_tables_in_another_directory_share_the_entry_and_keep_their_own_path(
    empty_caches: Path, reference_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "elsewhere"
    shutil.copytree(reference_copy, other)
    first = load_reference(reference_copy)
    _forget_in_memory(monkeypatch)
    _validation_refused(monkeypatch)
    moved = load_reference(other)
    assert moved.directory == str(other) and first.directory == str(reference_copy)
    assert moved.fingerprint == first.fingerprint
    assert len(list((empty_caches / "reference").iterdir())) == 1


def test_other_riskengine_code_validates_again(
    empty_caches: Path, reference_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_reference(reference_copy)
    _forget_in_memory(monkeypatch)
    monkeypatch.setattr(disk_cache, "CODE_DIGEST", "another catalog or contract")
    _validation_refused(monkeypatch)
    with pytest.raises(AssertionError, match="validated again"):
        load_reference(reference_copy)


def test_a_damaged_entry_is_replaced_by_the_next_load(
    empty_caches: Path, reference_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_reference(reference_copy)
    [entry] = (empty_caches / "reference").iterdir()
    (entry / "governance.arrow").write_bytes(b"not arrow")
    _forget_in_memory(monkeypatch)
    load_reference(reference_copy)  # validated again, and kept anew
    _forget_in_memory(monkeypatch)
    _validation_refused(monkeypatch)
    load_reference(reference_copy)


def test_an_entry_others_may_write_is_not_read(
    empty_caches: Path, reference_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_reference(reference_copy)
    [entry] = (empty_caches / "reference").iterdir()
    entry.chmod(0o777)
    _expect_validated_again(monkeypatch, reference_copy)


def test_an_entry_that_cannot_be_marked_used_still_serves(
    empty_caches: Path, reference_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_reference(reference_copy)
    _forget_in_memory(monkeypatch)
    _validation_refused(monkeypatch)

    def read_only(*args: object, **kwargs: object) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(disk_cache.os, "utime", read_only)
    assert load_reference(reference_copy).production.height > 0


def test_loading_works_without_a_home_for_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskengine.config import CACHE_DIR_ENV

    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", no_home)
    monkeypatch.setattr(loader, "_LOADED", {})
    assert load_reference().production.height > 0


def test_what_killed_runs_left_half_written_is_deleted_after_an_hour(
    empty_caches: Path, tmp_path: Path
) -> None:
    root = empty_caches / "reference"
    root.mkdir(parents=True)
    old, recent = root / ".writing-old", root / ".writing-recent"
    for path in (old, recent):
        path.mkdir()
        (path / "production.arrow").write_bytes(b"half")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    copy = tmp_path / "copy"
    shutil.copytree(shipped_reference_dir(), copy)
    _described(copy, " (kept)")
    load_reference(copy)
    assert not old.exists() and recent.exists()


def test_the_cache_directory_is_named_by_the_environment_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskengine.config import CACHE_DIR_ENV, cache_directory

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "own"))
    assert cache_directory() == tmp_path / "own"
    monkeypatch.delenv(CACHE_DIR_ENV)
    assert cache_directory() == tmp_path / "xdg" / "riskengine"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    assert cache_directory() == tmp_path / "home" / ".cache" / "riskengine"


def test_reference_check_validates_whatever_the_caches_hold(
    empty_caches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskengine.app.reference import check_reference
    from riskengine.config import load_settings

    load_reference()  # kept on disk and in memory
    _validation_refused(monkeypatch)
    load_reference()  # from memory
    with pytest.raises(AssertionError, match="validated again"):
        check_reference(load_settings())


def test_reference_check_checks_the_catalog_its_contracts_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The catalog's mark stands in for its contracts in scoring, never in the check."""
    import riskengine.catalog as catalog_module
    from riskengine.app.reference import check_reference
    from riskengine.config import load_settings

    checked: list[bool] = []
    monkeypatch.setattr(catalog_module, "check_shipped_catalog", lambda: checked.append(True))
    check_reference(load_settings())
    assert checked == [True]


def test_an_entry_swapped_in_under_another_name_is_not_read(
    empty_caches: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for copy, suffix in ((first, " (1)"), (second, " (2)")):
        shutil.copytree(shipped_reference_dir(), copy)
        _described(copy, suffix)
        load_reference(copy)
    entries = sorted((empty_caches / "reference").iterdir(), key=lambda path: path.stat().st_mtime)
    # The second load's entry renamed to the first's name: consistent in itself, wrong here.
    shutil.rmtree(entries[0])
    entries[1].rename(entries[0])
    _expect_validated_again(monkeypatch, first)


def test_a_symlinked_entry_is_not_read(
    empty_caches: Path, reference_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_reference(reference_copy)
    [entry] = (empty_caches / "reference").iterdir()
    elsewhere = tmp_path / "elsewhere"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere, target_is_directory=True)
    _expect_validated_again(monkeypatch, reference_copy)


def test_pruning_leaves_what_it_did_not_write(
    empty_caches: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(disk_cache, "KEPT_ENTRIES", 1)
    root = empty_caches / "reference"
    (root / "notes").mkdir(parents=True)
    for index in range(2):
        copy = tmp_path / f"copy{index}"
        shutil.copytree(shipped_reference_dir(), copy)
        _described(copy, f" ({index})")
        load_reference(copy)
    assert (root / "notes").is_dir()
    assert len([path for path in root.iterdir() if path.name != "notes"]) == 1


def test_the_cache_serves_under_a_umask_that_lets_the_group_write(
    empty_caches: Path, reference_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = os.umask(0o002)
    try:
        load_reference(reference_copy)
    finally:
        os.umask(previous)
    _forget_in_memory(monkeypatch)
    _validation_refused(monkeypatch)
    assert load_reference(reference_copy).production.height > 0
