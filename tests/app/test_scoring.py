"""Scoring a file: the same bytes however it is read, and the command line's summary."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from riskengine.app.requests import ScoringRequest
from riskengine.app.scoring import score_file
from riskengine.config import Settings
from riskengine.errors import UserInputError
from riskengine.sourcing import preparation


def _request(source: Path, output: Path | str, buyer_country: str = "JP") -> ScoringRequest:
    """A request to score ``source`` as of 2026-03-01 into ``output``."""
    return ScoringRequest.from_paths(
        str(source), str(output), date(2026, 3, 1), buyer_country=buyer_country
    )


def test_scoring_twice_gives_byte_identical_files(
    trained_settings: Settings, tmp_path: Path, example_sourcing: pl.DataFrame
) -> None:
    source = tmp_path / "sourcing.csv"
    example_sourcing.write_csv(source)
    outputs = []
    for name in ("first.csv", "second.csv"):
        score_file(trained_settings, _request(source, tmp_path / name))
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]


def test_the_first_chunks_names_are_screened_ahead_on_the_loading_thread(
    trained_settings: Settings,
    tmp_path: Path,
    example_sourcing: pl.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from riskengine.app import scoring
    from riskengine.names import matching

    source = tmp_path / "sourcing.csv"
    example_sourcing.write_csv(source)
    original = scoring._warm_screening
    heard: list[tuple[str, list[str | None]]] = []

    def warm(names: pl.DataFrame) -> None:
        heard.append((threading.current_thread().name, names["supplier"].to_list()))
        original(names)

    handed: list[list[str]] = []
    prepare = scoring.prepare_input

    def prepare_input(*args: object, first_resolved: Any, **kwargs: object) -> Any:
        def hand_on(chunk: pl.DataFrame) -> object:
            handed.append(chunk.columns)
            return first_resolved(chunk)

        return prepare(*args, first_resolved=hand_on, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scoring, "prepare_input", prepare_input)
    outputs = []
    for warming in (lambda names: None, warm):
        matching._query_keys.cache_clear()
        monkeypatch.setattr(scoring, "_warm_screening", warming)
        output = tmp_path / f"scores_{len(outputs)}.csv"
        score_file(trained_settings, _request(source, output))
        outputs.append(output.read_bytes())
    # The warming is queued behind the loading, on the loading thread; it may be cancelled
    # if the first pass ends first, so only what it was given is checked when it ran.
    for thread, suppliers in heard:
        assert thread.startswith("riskengine-load")
        assert suppliers == example_sourcing["Supplier"].str.strip_chars().to_list()
    assert len(heard) <= 1
    assert len(handed) == 2  # the first chunk of each run, once
    assert outputs[0] == outputs[1]


def test_an_input_already_being_read_is_scored_as_one_opened_by_the_job(
    trained_settings: Settings, tmp_path: Path, example_sourcing: pl.DataFrame
) -> None:
    source = tmp_path / "sourcing.csv"
    example_sourcing.write_csv(source)
    opened, early = (
        _request(source, tmp_path / "opened.csv"),
        _request(source, tmp_path / "early.csv"),
    )
    score_file(trained_settings, opened)
    score_file(trained_settings, early, table=early.input.start_reading())
    assert (tmp_path / "opened.csv").read_bytes() == (tmp_path / "early.csv").read_bytes()
    other = tmp_path / "other.csv"
    example_sourcing.head(1).write_csv(other)
    request = _request(source, tmp_path / "mixed.csv")
    wrong = _request(other, "-").input.start_reading()
    with pytest.raises(ValueError, match="the input is"):
        score_file(trained_settings, request, table=wrong)
    assert not (tmp_path / "mixed.csv").exists()


def test_a_table_read_ahead_is_let_go_when_the_job_stops_before_taking_it(
    trained_settings: Settings, tmp_path: Path, example_sourcing: pl.DataFrame
) -> None:
    source = tmp_path / "sourcing.csv"
    example_sourcing.write_csv(source)
    request = _request(source, tmp_path / "out.csv", buyer_country="Congo")
    table = request.input.start_reading()
    assert table is not None
    with pytest.raises(UserInputError, match="--buyer-country"):
        score_file(trained_settings, request, table=table)
    assert table._first_ahead is None  # waited for and closed, not left reading
    assert not (tmp_path / "out.csv").exists()


def test_standard_input_and_an_unknown_format_are_not_read_ahead(tmp_path: Path) -> None:
    from riskengine.app.requests import InputFile

    (tmp_path / "list.unknown").write_text("a,b\n")
    assert InputFile("-").start_reading() is None  # --mapping - may read it too
    # Refused by the job, in its turn (after a bad mapping, say).
    assert InputFile(str(tmp_path / "list.unknown")).start_reading() is None
    with pytest.raises(UserInputError):
        InputFile(str(tmp_path / "list.unknown")).chunks()  # as the job's own opening does


def test_the_columns_the_writer_does_not_search_hold_no_formula_start(
    trained_settings: Settings, tmp_path: Path, example_sourcing: pl.DataFrame
) -> None:
    from riskengine.io.workbook import _FORMULA_AFTER_DELIMITER, _FORMULA_START
    from riskengine.schemas import FORMULA_FREE_SCORE_COLUMNS

    source = tmp_path / "sourcing.csv"
    # Scored, rejected (an unknown material and country) and unresolved rows alike.
    example_sourcing.write_csv(source)
    output = tmp_path / "scores.parquet"  # unescaped: the cells as the engine made them
    score_file(trained_settings, _request(source, output))
    scores = pl.read_parquet(output)
    assert scores["status"].n_unique() > 1
    for column in FORMULA_FREE_SCORE_COLUMNS:
        cells = scores[column].drop_nulls()
        assert cells.len() > 0, column
        assert not cells.str.contains(_FORMULA_START).any(), column
        assert not cells.str.contains(_FORMULA_AFTER_DELIMITER).any(), column


def test_cli_score_writes_output_and_summary(
    trained_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    example_sourcing: pl.DataFrame,
) -> None:
    from typer.testing import CliRunner

    from riskengine.cli import app

    monkeypatch.setenv("RISKENGINE_HOME", str(trained_settings.home))
    monkeypatch.setenv("RISKENGINE_TRACKING_URI", trained_settings.tracking_uri)
    source = tmp_path / "sourcing.csv"
    example_sourcing.write_csv(source)
    output = tmp_path / "scores.parquet"
    result = CliRunner().invoke(
        app,
        ["score", str(source), "-o", str(output), "--as-of", "2026-03-01", "--buyer-country", "JP"],
    )
    assert result.exit_code == 0, result.output
    assert "6 scored, 2 rejected" in result.stderr
    assert pl.read_parquet(output).height == example_sourcing.height


def test_cli_score_counts_blocked_sources_apart_from_rejected_rows(
    trained_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    example_sourcing: pl.DataFrame,
) -> None:
    from typer.testing import CliRunner

    from riskengine.cli import app

    monkeypatch.setenv("RISKENGINE_HOME", str(trained_settings.home))
    monkeypatch.setenv("RISKENGINE_TRACKING_URI", trained_settings.tracking_uri)
    source = tmp_path / "sourcing.csv"
    statuses = ["Approved"] * 7 + ["Debarred"]
    example_sourcing.with_columns(pl.Series("ASL Status", statuses)).with_columns(
        # The debarred row's country resolves, so nothing but its status keeps it out.
        pl.col("Supplier Country").replace("Atlantis", "CN")
    ).write_csv(source)
    output = tmp_path / "scores.csv"
    result = CliRunner().invoke(
        app,
        ["score", str(source), "-o", str(output), "--as-of", "2026-03-01", "--buyer-country", "JP"],
    )
    assert result.exit_code == 0, result.output
    assert "6 scored, 1 blocked source(s), 1 rejected" in result.stderr
    scores = pl.read_csv(output)
    assert scores["status"].to_list() == ["scored"] * 6 + ["rejected", "blocked"]
    assert scores["risk_score"][7] is None


@pytest.mark.parametrize("between_passes", ["kept", "spilled", "read again"])
def test_scoring_in_chunks_of_any_size_writes_the_same_bytes(
    trained_settings: Settings,
    tmp_path: Path,
    keep_chunks: Callable[[str], None],
    between_passes: str,
    example_sourcing: pl.DataFrame,
) -> None:
    keep_chunks(between_passes)
    # Three copies of the list; the first two share supplier ids, so their rows repeat.
    ids = [
        f"{index % 8 if index < 16 else index:04d}" for index in range(3 * example_sourcing.height)
    ]
    sourcing = pl.concat([example_sourcing] * 3).with_columns(
        pl.Series("Supplier ID", ids),
        # Percentages (read as such only because the whole column sums past 1.5) and SAP
        # validity dates: both must read the same in every chunk.
        pl.Series("share", ["40", "60", "100", "x", "50", "50", "100", "100"] * 3),
        pl.Series("VDATU", ["20200101", "", "01.01.2027", "", "", "", "", ""] * 3),
    )
    source = tmp_path / "sourcing.csv"
    sourcing.write_csv(source)
    written = {}
    # Every size with the chunks kept; one of a few rows a chunk once they are spilled or read
    # again (what differs there is the passes, not the size).
    sizes = (None, 40, 300, 1000) if between_passes == "kept" else (None, 40)
    for chunk_bytes in sizes:
        output = tmp_path / f"scores_{chunk_bytes}.csv"
        outcome = score_file(
            trained_settings,
            ScoringRequest.from_paths(
                str(source), str(output), date(2026, 3, 1), buyer_country="JP"
            ),
            chunk_bytes=chunk_bytes,
        )
        written[chunk_bytes] = output.read_bytes()
        assert outcome.rows == sourcing.height
        assert any("read as percentages" in note for note in outcome.notes)
        assert outcome.top["risk_score"].to_list() == sorted(
            outcome.top["risk_score"].to_list(), reverse=True
        )
    assert len(set(written.values())) == 1
    scores = pl.read_csv(tmp_path / "scores_40.csv", infer_schema=False)
    assert scores.height == sourcing.height
    assert scores["Supplier ID"].to_list() == sourcing["Supplier ID"].to_list()
    # Both copies of a pair are refused, naming each other, across chunks of 40 bytes; in the
    # third copy the bad share, the not-yet-valid record and the unknown material and country.
    assert scores.filter(pl.col("status") == "rejected").height == 16 + 4
    assert scores["reason"][0] == "duplicate pair: data rows 1, 9 repeat it"
    assert scores["reason"][8] == "duplicate pair: data rows 1, 9 repeat it"


def test_the_scores_say_which_buyer_each_row_was_screened_as(
    trained_settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "sourcing.csv"
    source.write_text(
        "material,supplier,supplier_country,buyer\n"
        "Dy2O3,Baotou Example,CN,\n"
        "Dy2O3,Hanoi Example,VN,Osaka Works Ltd\n"
    )
    output = tmp_path / "scores.csv"
    request = ScoringRequest.from_paths(
        str(source), str(output), date(2026, 3, 1), buyer_country="JP", buyer_name="Kanto K.K."
    )

    score_file(trained_settings, request)

    scores = pl.read_csv(output, infer_schema=False)
    assert scores["screened_buyer"].to_list() == ["Kanto K.K.", "Osaka Works Ltd"]


@pytest.mark.parametrize("between_passes", ["kept", "spilled", "read again"])
def test_features_in_chunks_of_any_size_see_the_whole_files_sourcing_mix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    keep_chunks: Callable[[str], None],
    between_passes: str,
) -> None:
    from riskengine.app.scoring import features_file
    from riskengine.config import load_settings

    keep_chunks(between_passes)
    monkeypatch.setenv("RISKENGINE_HOME", str(tmp_path))
    # Dysprosium oxide's suppliers are spread over the file, so chunks of 40 bytes see one
    # at a time. Percentages (the column sums past 1.5); an expired record, a duplicate pair
    # and a supplier id with two countries do not count in the mix.
    source = tmp_path / "sourcing.csv"
    source.write_text(
        "material,supplier,supplier_country,share,supplier_id,valid_to\n"
        "Dy2O3,Baotou,CN,50,,\n"
        "gallium,Yunnan,CN,100,,\n"
        "Dy2O3,Hanoi,VN,30,,\n"
        "Dy2O3,Old Mine,MY,90,,2020-12-31\n"
        "gallium,Twice,DE,10,,\n"
        "gallium,Twice,DE,10,,\n"
        "Dy2O3,Split,AU,40,0042,\n"
        "NdPr oxide,Split,FR,100,0042,\n"
        "dysprosium oxide,Ganzhou,China,20,,\n",
        encoding="utf-8",
    )
    written = {}
    for chunk_bytes in (None, 40, 300, 1000):
        output = tmp_path / f"features_{chunk_bytes}.csv"
        features_file(
            load_settings(),
            ScoringRequest.from_paths(str(source), str(output), date(2026, 3, 1)),
            chunk_bytes=chunk_bytes,
        )
        written[chunk_bytes] = output.read_bytes()
    assert len(set(written.values())) == 1
    table = pl.read_csv(tmp_path / "features_40.csv", infer_schema=False)
    assert table["status"].to_list() == ["scored", "scored", "scored"] + ["rejected"] * 5 + [
        "scored"
    ]
    # The whole file's mix: dysprosium oxide 70 % China, 30 % Vietnam; gallium from China only.
    hhi = [float(value) if value else None for value in table["buyer_sourcing_hhi"]]
    assert hhi == pytest.approx([0.7**2 + 0.3**2, 1.0, 0.58] + [None] * 5 + [0.58])
    assert table["single_source_country"].to_list() == ["false", "true", "false"] + [None] * 5 + [
        "false"
    ]


def test_a_run_that_fails_after_spilling_leaves_neither_output_nor_spill(
    trained_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    example_sourcing: pl.DataFrame,
) -> None:
    from riskengine.errors import UserInputError

    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setattr(preparation, "KEPT_CHUNK_BYTES", 0)
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    # An output column in the input is refused when the first chunk is scored, after the
    # first pass has spilled every chunk.
    source = tmp_path / "sourcing.csv"
    example_sourcing.with_columns(pl.lit("x").alias("risk_score")).write_csv(source)
    output = tmp_path / "scores.csv"
    request = ScoringRequest.from_paths(
        str(source), str(output), date(2026, 3, 1), buyer_country="JP"
    )

    spilled = []
    add = preparation._SpilledChunks.add

    def counted(self: preparation._SpilledChunks, *chunk: pl.DataFrame) -> object:
        spilled.append(chunk[0].height)
        return add(self, *chunk)

    monkeypatch.setattr(preparation._SpilledChunks, "add", counted)

    with pytest.raises(UserInputError, match="already has output column"):
        score_file(trained_settings, request, chunk_bytes=200)

    assert sum(spilled) == example_sourcing.height  # every chunk was spilled
    assert not output.exists()
    assert list(spill.iterdir()) == []
