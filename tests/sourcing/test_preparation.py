"""Preparing a sourcing list whole or in chunks: every row gets the same answer."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.errors import UserInputError
from riskengine.features.registry import PAIR_KEY
from riskengine.sourcing import preparation
from riskengine.sourcing.context import InputContext
from riskengine.sourcing.preparation import (
    PreparedPairs,
    prepare_chunks,
    prepare_pairs,
    prepare_part,
)

_MATERIALS = ["Dy2O3", "dysprosium oxide", "NdPr oxide", "gallium", "unobtainium", ""]


_COUNTRIES = ["CN", "China", "VN", "MY", "Atlantis", "Korea", ""]


_SHARES = ["0.5", "50", "70", "1", "0,25", "-1", "abc", "", "40%"]


@st.composite
def sourcing_lists(draw: st.DrawFn) -> pl.DataFrame:
    """Small sourcing lists full of repeats: duplicate pairs, ids with two countries, odd shares."""
    rows = draw(st.integers(min_value=1, max_value=25))
    pick = lambda values: draw(st.lists(st.sampled_from(values), min_size=rows, max_size=rows))  # noqa: E731
    return pl.DataFrame(
        {
            "material": pick(_MATERIALS),
            "supplier": pick(["Baotou Co", "Hanoi JSC", "Kuantan Sdn Bhd", ""]),
            "supplier_country": pick(_COUNTRIES),
            "supplier_id": pick(["0001", "0002", "0003", ""]),
            "share": pick(_SHARES),
        }
    )


@pytest.mark.few_examples(15)
@settings(max_examples=60, deadline=None)
@given(sourcing=sourcing_lists(), cuts=st.lists(st.integers(0, 25), max_size=4))
def test_preparing_in_chunks_gives_every_row_the_answer_it_gets_whole(
    sourcing: pl.DataFrame, cuts: list[int]
) -> None:
    whole = prepare_pairs(sourcing, source="s.csv", buyer_country="JP", buyer_name=None)
    bounds = sorted({0, sourcing.height, *(min(cut, sourcing.height) for cut in cuts)})
    chunks = [sourcing.slice(start, end - start) for start, end in pairwise(bounds)]
    context, prepared = prepare_chunks(chunks, source="s.csv", buyer_country="JP", buyer_name=None)
    pieces = [piece.resolved.drop(PAIR_KEY) for piece in prepared]
    assert context.rows == sourcing.height
    assert pl.concat(pieces).equals(whole.resolved.drop(PAIR_KEY))
    assert context.notes == whole.notes


def test_a_quoted_line_break_streams_across_chunks_as_the_file_prepared_whole(
    tmp_path: Path,
) -> None:
    from riskengine.io import ChunkedTable, read_table

    source = tmp_path / "notes.csv"
    source.write_text(
        'material,supplier,supplier_country,note\nDy2O3,Baotou Co,CN,"two\nlines"\n'
        "gallium,Yunnan Co,CN,plain\nDy2O3,Baotou Co,China,again\n",
        encoding="utf-8",
    )
    table = ChunkedTable(str(source), chunk_bytes=30)
    context, prepared = prepare_chunks(
        table, source="notes.csv", buyer_country="JP", buyer_name=None
    )
    pieces = [piece.resolved.drop(PAIR_KEY) for piece in prepared]
    whole = prepare_pairs(
        read_table(str(source)), source="notes.csv", buyer_country="JP", buyer_name=None
    )
    assert len(pieces) > 1  # streamed: no fallback to reading the file whole
    assert pl.concat(pieces).equals(whole.resolved.drop(PAIR_KEY))
    assert context.rows == 3
    assert pieces[0]["reason"][0] == "duplicate pair: data rows 1, 3 repeat it"


@pytest.mark.few_examples(15)
@settings(max_examples=60, deadline=None)
@given(sourcing=sourcing_lists(), sides=st.lists(st.booleans(), min_size=25, max_size=25))
def test_parts_prepared_with_the_broadcast_first_pass_get_the_answers_of_the_whole(
    sourcing: pl.DataFrame, sides: list[bool]
) -> None:
    # Two parts of rows in any order, as Spark's partitions may hold them; the first pass
    # travels as JSON, as it is broadcast.
    context, prepared = prepare_chunks(
        [sourcing], source="s.csv", buyer_country="JP", buyer_name=None
    )
    whole = next(prepared).resolved.drop(PAIR_KEY)
    broadcast = InputContext.from_json(context.to_json())
    numbered = sourcing.with_row_index("row", offset=1)
    answers = []
    for side in (True, False):
        part = numbered.filter(pl.Series(sides[: sourcing.height]) == side)
        prepared_part = prepare_part(part.drop("row"), broadcast, part["row"])
        answers.append(prepared_part.resolved.drop(PAIR_KEY).with_columns(part["row"]))
        assert prepared_part.sourcing_mix is not None
        assert prepared_part.sourcing_mix.equals(context.sourcing_mix)
    assert pl.concat(answers).sort("row").drop("row").equals(whole)


#: Rows 1 to 3 make one partition, 6, 5 and 4 (in that order) the other: supplier id 0001 is
#: given with CN in one and VN in the other, rows 2 and 5 are one pair, and only the first
#: part's shares (60, 40) show that the column is in percent.
_SPLIT = pl.DataFrame(
    {
        "material": ["Dy2O3", "NdPr oxide", "gallium", "Dy2O3", "NdPr oxide", "gallium"],
        "supplier": [
            "Baotou Co",
            "Kuantan Sdn Bhd",
            "Yunnan Co",
            "Baotou Co",
            "Kuantan Sdn Bhd",
            "Hanoi JSC",
        ],
        "supplier_country": ["CN", "MY", "CN", "VN", "MY", "VN"],
        "supplier_id": ["0001", "0002", "0003", "0001", "0002", "0004"],
        "share": ["60", "40", "", "", "", "1"],
    }
)
_PARTS = ([1, 2, 3], [6, 5, 4])


def test_split_rejections_and_percentages_survive_only_with_the_first_pass() -> None:
    context, _ = prepare_chunks([_SPLIT], source="s.csv", buyer_country="JP", buyer_name=None)
    broadcast = InputContext.from_json(context.to_json())
    with_first_pass: dict[int, tuple[float | None, str | None]] = {}
    alone: dict[int, tuple[float | None, str | None]] = {}
    for rows in _PARTS:
        part = _SPLIT[[row - 1 for row in rows]]
        shared = prepare_part(part, broadcast, pl.Series(rows)).resolved
        _, own = prepare_chunks([part], source="s.csv", buyer_country="JP", buyer_name=None)
        by_itself = next(own).resolved
        for index, row in enumerate(rows):
            with_first_pass[row] = (shared["share"][index], shared["reason"][index])
            alone[row] = (by_itself["share"][index], by_itself["reason"][index])

    conflict = "supplier_id 0001 appears with several countries (CHN, VNM)"
    duplicate = "duplicate pair: data rows 2, 5 repeat it"
    assert with_first_pass == {
        1: (0.6, conflict),
        2: (0.4, duplicate),
        3: (None, None),
        4: (None, conflict),
        5: (None, duplicate),
        6: (0.01, None),
    }
    # What each part finds by itself: both rejections lost, and 1 read as 100 %.
    assert [reason for _, reason in alone.values()] == [None] * 6
    assert alone[6] == (1.0, None)


def test_a_part_must_name_each_of_its_rows_place_in_the_input_once() -> None:
    context, _ = prepare_chunks([_SPLIT], source="s.csv", buyer_country="JP", buyer_name=None)
    part = _SPLIT.head(2)
    for rows in ([1, 1], [1], [0, 1], [6, 7], [1, None]):
        with pytest.raises(ValueError, match="one distinct number from 1 to 6"):
            prepare_part(part, context, pl.Series(rows))


def _spilling_into(monkeypatch: pytest.MonkeyPatch, directory: Path) -> Path:
    """Spill every chunk (nothing fits in memory) into temporary directories under
    ``directory``."""
    from riskengine.sourcing import preparation

    directory.mkdir()
    monkeypatch.setattr(preparation, "KEPT_CHUNK_BYTES", 0)
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


_SPILLED_LIST = pl.DataFrame(
    {
        "material": ["Dy2O3", "gallium", "dysprosium oxide", "gallium", "unobtainium"],
        "supplier": ["Baotou Co", "Yunnan Co", "Baotou Co", "Yunnan Co", "Hanoi JSC"],
        "supplier_country": ["CN", "CN", "China", "VN", "VN"],
        "supplier_id": [None, "0007", None, "0007", None],
        "share": ["50", "100", "50", "0", "30"],
    }
)


def _prepare_in_chunks_of_two() -> tuple[InputContext, Iterator[PreparedPairs]]:
    chunks = [_SPILLED_LIST.slice(start, 2) for start in range(0, _SPILLED_LIST.height, 2)]
    return prepare_chunks(chunks, source="s.csv", buyer_country="JP", buyer_name=None)


def _assert_prepared_as_whole(
    context: InputContext, prepared: Iterator[PreparedPairs], whole: PreparedPairs
) -> None:
    pieces = [piece.resolved.drop(PAIR_KEY) for piece in prepared]
    assert pl.concat(pieces).equals(whole.resolved.drop(PAIR_KEY))
    assert context.notes == whole.notes


def test_chunks_spilled_between_passes_get_the_answers_of_the_whole_and_leave_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spill = _spilling_into(monkeypatch, tmp_path / "spill")
    whole = prepare_pairs(_SPILLED_LIST, source="s.csv", buyer_country="JP", buyer_name=None)
    context, prepared = _prepare_in_chunks_of_two()
    spilled = sorted(path.name for path in spill.rglob("*.arrow"))

    # Three chunks, each raw and resolved, written by the first pass and read by the others.
    assert len(spilled) == 6
    _assert_prepared_as_whole(context, prepared, whole)
    assert list(spill.iterdir()) == []


def test_chunks_are_spilled_on_a_thread_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    _spilling_into(monkeypatch, tmp_path / "spill")
    writers: list[threading.Thread] = []
    write_chunk = preparation._write_chunk

    def recorded(*args: object) -> None:
        writers.append(threading.current_thread())
        write_chunk(*args)

    whole = prepare_pairs(_SPILLED_LIST, source="s.csv", buyer_country="JP", buyer_name=None)
    monkeypatch.setattr(preparation, "_write_chunk", recorded)
    context, prepared = _prepare_in_chunks_of_two()

    _assert_prepared_as_whole(context, prepared, whole)
    assert len(writers) == 3
    assert all(writer is not threading.current_thread() for writer in writers)


def test_a_spill_that_fails_otherwise_than_for_space_is_deleted_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error reaches the user and the spill directory is gone with it, while the error
    (and whatever its traceback holds) is still kept."""
    spill = _spilling_into(monkeypatch, tmp_path / "spill")

    def broken(*args: object) -> None:
        raise ValueError("an Arrow type the IPC writer refuses")

    monkeypatch.setattr(preparation, "_write_chunk", broken)
    with pytest.raises(ValueError, match="IPC writer") as kept:
        _prepare_in_chunks_of_two()
    assert list(spill.iterdir()) == []
    assert kept.traceback  # held to here


def test_a_spill_abandoned_is_deleted_even_when_an_interrupt_ends_the_wait_for_its_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from riskengine.errors import Interrupted
    from riskengine.io.background import Pending
    from riskengine.sourcing.resolution import resolve_chunk

    spill_directory = _spilling_into(monkeypatch, tmp_path / "spill")
    raw = _SPILLED_LIST.slice(0, 2)
    resolved = resolve_chunk(
        raw, source="s.csv", buyer_country="JP", buyer_name=None, as_of=None, mapping=None
    )
    writing = threading.Event()
    write_chunk = preparation._write_chunk

    def slow(*args: object) -> None:
        writing.wait(10)  # the write under way when the run is abandoned
        write_chunk(*args)

    monkeypatch.setattr(preparation, "_write_chunk", slow)
    spill = preparation._SpilledChunks.start([])
    assert spill is not None
    spill = spill.add(raw, resolved)
    assert spill is not None

    def interrupted_wait(self: Pending[object]) -> None:
        raise Interrupted(2)  # Ctrl-C while the main thread waits

    monkeypatch.setattr(Pending, "wait", interrupted_wait)
    with pytest.raises(Interrupted):
        spill.abandon(interrupted=False)
    writing.set()
    deadline = time.monotonic() + 10
    while list(spill_directory.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(spill_directory.iterdir()) == []


def test_when_the_spill_cannot_be_written_the_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spill = _spilling_into(monkeypatch, tmp_path / "spill")
    writes = []

    def disk_full(frame: pl.DataFrame, *args: object, **kwargs: object) -> None:
        writes.append(frame.height)
        raise OSError(28, "No space left on device")

    whole = prepare_pairs(_SPILLED_LIST, source="s.csv", buyer_country="JP", buyer_name=None)
    monkeypatch.setattr(pl.DataFrame, "write_ipc", disk_full)

    context, prepared = _prepare_in_chunks_of_two()

    _assert_prepared_as_whole(context, prepared, whole)
    assert writes == [2]  # tried once, then given up
    assert list(spill.iterdir()) == []


def test_a_spill_left_by_a_killed_run_is_removed_by_the_next_one_and_a_live_runs_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    from riskengine.sourcing.preparation import SPILL_PREFIX

    spill = _spilling_into(monkeypatch, tmp_path / "spill")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = spill / f"{SPILL_PREFIX}{gone.pid}-abcd"
    live = spill / f"{SPILL_PREFIX}{os.getppid()}-efgh"  # the test runner's parent: alive
    # A directory of a process gone, but written to a moment ago: perhaps a run in another
    # process namespace, whose processes this one cannot see.
    recent = spill / f"{SPILL_PREFIX}{gone.pid}-ijkl"
    for directory in (stale, live, recent):
        directory.mkdir()
        (directory / "000000-raw.arrow").write_bytes(b"")
    an_hour_ago = time.time() - 3600
    for directory in (stale, live):
        os.utime(directory, (an_hour_ago, an_hour_ago))
    (spill / "unrelated-1-x").mkdir()

    _, prepared = prepare_chunks(
        [_SPILLED_LIST.slice(0, 2), _SPILLED_LIST.slice(2)],
        source="s.csv",
        buyer_country="JP",
        buyer_name=None,
    )
    list(prepared)

    assert sorted(path.name for path in spill.iterdir()) == sorted(
        [live.name, recent.name, "unrelated-1-x"]
    )


def test_chunks_read_ahead_come_in_order_and_an_error_where_it_was_raised() -> None:
    from riskengine.sourcing.preparation import _read_ahead

    def chunks() -> Iterator[pl.DataFrame]:
        for number in range(3):
            yield pl.DataFrame({"chunk": [number]})
        raise UserInputError("list.csv, line 9: 3 fields, the header has 4")

    read = _read_ahead(chunks())
    assert [next(read)["chunk"].item() for _ in range(3)] == [0, 1, 2]
    with pytest.raises(UserInputError, match="line 9"):
        next(read)
    assert list(_read_ahead(iter([]))) == []


def test_a_consumer_that_stops_closes_the_source_before_going_on() -> None:
    """The source's clean-up (a spill's files deleted) has run when the consumer goes on, not
    when some thread lets go of the source later."""
    from riskengine.sourcing.preparation import _read_ahead

    cleaned = []

    def chunks() -> Iterator[int]:
        try:
            yield from range(10)
        finally:
            cleaned.append(True)

    read = _read_ahead(chunks())
    assert next(read) == 0
    read.close()
    assert cleaned == [True]


def test_the_first_chunk_is_read_on_the_calling_thread_and_the_next_ones_ahead() -> None:
    """An input read whole (standard input among them) is one chunk, read where a signal can
    interrupt it: only the main thread receives signals."""
    import threading

    from riskengine.sourcing.preparation import _read_ahead

    readers = []

    def chunks() -> Iterator[int]:
        for number in range(3):
            readers.append(threading.current_thread())
            yield number

    assert list(_read_ahead(chunks())) == [0, 1, 2]
    assert readers[0] is threading.current_thread()
    assert all(reader is not threading.current_thread() for reader in readers[1:])


def test_an_interrupted_consumer_does_not_wait_for_the_chunk_being_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read that blocks (a stalled pipe, a slow disk) must not keep an interrupted run."""
    import signal
    import threading

    from riskengine import errors
    from riskengine.sourcing.preparation import _read_ahead

    release, finished = threading.Event(), threading.Event()

    def chunks() -> Iterator[int]:
        yield 1
        release.wait(timeout=30)  # the second chunk is read until the test lets it end
        finished.set()
        yield 2

    read = _read_ahead(chunks())
    assert next(read) == 1
    # As the command's signal handler records a signal.
    monkeypatch.setattr(errors, "RECEIVED_SIGNALS", [signal.SIGINT])
    read.close()
    # Had closing waited for the read, the read would have timed out and finished first.
    assert not finished.is_set()
    release.set()


@pytest.mark.parametrize("between_passes", ["kept", "spilled", "read again"])
def test_the_first_resolved_chunk_is_handed_on_once_in_the_first_pass(
    keep_chunks: Callable[[str], None], between_passes: str
) -> None:
    keep_chunks(between_passes)
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "gallium", "Dy2O3", "NdPr oxide", "Dy2O3"],
            "supplier": [" Baotou Co", "Hanoi JSC", " Baotou Co", "Kuantan Sdn Bhd", "Other"],
            "supplier_country": ["CN", "VN", "CN", "MY", "CN"],
        }
    )
    chunks = [sourcing.slice(0, 2), sourcing.slice(2, 2), sourcing.slice(4, 1)]
    heard: list[pl.DataFrame] = []
    _, prepared = prepare_chunks(
        chunks, source="s.csv", buyer_country="JP", buyer_name="Kanto", first_resolved=heard.append
    )
    pieces = [piece.resolved for piece in prepared]
    _, unheard = prepare_chunks(chunks, source="s.csv", buyer_country="JP", buyer_name="Kanto")
    assert all(piece.equals(other.resolved) for piece, other in zip(pieces, unheard, strict=True))
    # Rows 1 and 3 repeat a pair: their reasons come from a pass over those rows alone.
    assert pieces[0]["reason"][0] is not None
    assert len(heard) == 1
    assert heard[0]["supplier"].to_list() == ["Baotou Co", "Hanoi JSC"]
    assert heard[0]["buyer"].to_list() == ["Kanto", "Kanto"]


#: What prepare_chunks hands its resolved chunks, for the tests that make them directly.
_OPTIONS = {
    "source": "s.csv",
    "buyer_country": "JP",
    "buyer_name": None,
    "as_of": None,
    "mapping": None,
    "sites": None,
}


@pytest.mark.parametrize("kept", [True, False])
def test_the_first_resolved_chunk_is_handed_on_once_however_many_passes_resolve(
    monkeypatch: pytest.MonkeyPatch, kept: bool
) -> None:
    if not kept:  # every pass reads and resolves the chunks again
        monkeypatch.setattr(preparation, "KEPT_CHUNK_BYTES", 0)
        monkeypatch.setattr(preparation, "SPILL_CHUNKS", False)
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "gallium"],
            "supplier": ["A Co", "B Co"],
            "supplier_country": ["CN", "VN"],
        }
    )
    heard: list[pl.DataFrame] = []
    resolved = preparation._ResolvedChunks(
        [sourcing.slice(0, 1), sourcing.slice(1, 1)], dict(_OPTIONS), heard.append
    )
    for _ in range(3):  # the first pass, then passes over what it kept or the file again
        assert sum(chunk.height for chunk in resolved.resolved()) == 2
    assert len(heard) == 1


def test_a_first_pass_left_early_hands_the_first_chunk_on_once_and_keeps_no_chunk_twice() -> None:
    sourcing = pl.DataFrame(
        {"material": ["Dy2O3"], "supplier": ["A Co"], "supplier_country": ["CN"]}
    )
    heard: list[pl.DataFrame] = []
    resolved = preparation._ResolvedChunks([sourcing, sourcing], dict(_OPTIONS), heard.append)
    passing = resolved.resolved()
    next(passing)
    passing.close()  # the first pass is not done: the next one is a first pass again
    assert sum(chunk.height for chunk in resolved.resolved()) == 2
    assert sum(chunk.height for chunk in resolved.resolved()) == 2  # each chunk kept once
    assert len(heard) == 1
