"""The disk cache's shared parts: the code digest, entry keys, trust, marks and pruning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from riskengine import disk_cache
from riskengine.config import CACHE_DIR_ENV
from riskengine.reference.loader import shipped_reference_dir


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_code_digest_covers_the_catalog_and_leaves_the_tables_to_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert disk_cache.CODE_DIGEST is not None
    assert disk_cache._code_digest() == disk_cache.CODE_DIGEST
    package = Path(disk_cache.__file__).resolve().parent
    read = Path.read_bytes
    for changed, counts in (
        # The contracts check event tags and materials against the catalog's files.
        (next((package / "catalog_data").glob("*.csv")), True),
        (package / "features" / "runner.py", True),
        (next(shipped_reference_dir().resolve().glob("*.csv")), False),
        (next((package / "demo").glob("*.csv")), False),
    ):
        monkeypatch.setattr(
            Path, "read_bytes", lambda self, c=changed: read(self) + (b"x" if self == c else b"")
        )
        assert (disk_cache._code_digest() != disk_cache.CODE_DIGEST) is counts, changed
        monkeypatch.setattr(Path, "read_bytes", read)


def test_an_entry_key_tells_its_parts_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    key = disk_cache.entry_key("catalog", "a.csv", b"12")
    assert key is not None and disk_cache.ENTRY_NAME.fullmatch(key)
    assert key == disk_cache.entry_key("catalog", "a.csv", b"12")
    # Where one part ends and the next begins is part of the key.
    assert key != disk_cache.entry_key("catalog", "a.csv1", b"2")
    assert key != disk_cache.entry_key("reference", "a.csv", b"12")
    monkeypatch.setattr(disk_cache, "CODE_DIGEST", "other code")
    assert key != disk_cache.entry_key("catalog", "a.csv", b"12")
    monkeypatch.setattr(disk_cache, "CODE_DIGEST", None)
    assert disk_cache.entry_key("catalog", "a.csv", b"12") is None


def test_a_mark_is_kept_and_read_back(cache_home: Path) -> None:
    key = disk_cache.entry_key("catalog", b"tables")
    assert not disk_cache.is_marked("catalog", key)
    disk_cache.mark("catalog", key)
    assert disk_cache.is_marked("catalog", key)
    assert not disk_cache.is_marked("catalog", disk_cache.entry_key("catalog", b"others"))
    assert not disk_cache.is_marked("catalog", None)
    [entry] = (cache_home / "catalog").iterdir()
    assert entry.stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(os.name != "posix", reason="modes and owners are POSIX")
@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda entry, key: entry.chmod(0o666), id="others-may-write"),
        pytest.param(lambda entry, key: entry.parent.chmod(0o777), id="directory-others-write"),
        pytest.param(lambda entry, key: entry.write_text("another key"), id="names-another-key"),
        pytest.param(
            lambda entry, key: (entry.rename(entry.parent / "real"), entry.symlink_to("real")),
            id="symlink",
        ),
    ],
)
def test_a_mark_that_cannot_be_trusted_is_not_read(cache_home: Path, spoil: object) -> None:
    key = disk_cache.entry_key("catalog", b"tables")
    assert key is not None
    disk_cache.mark("catalog", key)
    entry = cache_home / "catalog" / key
    spoil(entry, key)  # type: ignore[operator]
    assert not disk_cache.is_marked("catalog", key)


def test_marks_work_under_a_umask_that_lets_the_group_write(cache_home: Path) -> None:
    key = disk_cache.entry_key("catalog", b"tables")
    previous = os.umask(0o002)
    try:
        disk_cache.mark("catalog", key)
    finally:
        os.umask(previous)
    assert disk_cache.is_marked("catalog", key)


@pytest.mark.usefixtures("unwritable_cache_directory")
def test_marking_where_nothing_can_be_written_fails_nothing() -> None:
    key = disk_cache.entry_key("catalog", b"tables")
    disk_cache.mark("catalog", key)
    assert not disk_cache.is_marked("catalog", key)


def test_only_the_most_recent_marks_are_kept_and_nothing_else_is_deleted(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(disk_cache, "KEPT_ENTRIES", 2)
    root = cache_home / "catalog"
    root.mkdir(parents=True, mode=0o700)
    (root / "notes").write_text("the user's own")
    keys = [disk_cache.entry_key("catalog", str(index)) for index in range(3)]
    for age, key in enumerate(keys):
        disk_cache.mark("catalog", key)
        os.utime(root / str(key), (1_000_000 + age, 1_000_000 + age))
    disk_cache.forget_old_entries(root)
    assert sorted(path.name for path in root.iterdir()) == sorted(["notes", *map(str, keys[1:])])


def test_a_key_asked_with_panderas_checks_off_or_cut_short_is_another_key() -> None:
    from pandera.config import config_context

    checked = disk_cache.entry_key("catalog", b"tables")
    with config_context(validation_enabled=False):
        assert disk_cache.entry_key("catalog", b"tables") != checked
    with config_context(validation_depth="SCHEMA_ONLY"):
        assert disk_cache.entry_key("catalog", b"tables") != checked
    assert disk_cache.entry_key("catalog", b"tables") == checked


def test_checked_once_marks_only_what_passed(cache_home: Path) -> None:
    files = {"a.csv": b"1,2\n"}
    told: list[bool] = []

    def failing(checked: bool) -> None:
        told.append(checked)
        raise ValueError("a broken rule")

    with pytest.raises(ValueError, match="broken rule"):
        disk_cache.checked_once("catalog", files, failing)
    assert disk_cache.checked_once("catalog", files, lambda checked: told.append(checked)) is None
    disk_cache.checked_once("catalog", files, lambda checked: told.append(checked))
    disk_cache.checked_once(
        "catalog", files, lambda checked: told.append(checked), trust_mark=False
    )
    # Failed, then checked and marked, then taken from the mark, then checked whatever it says.
    assert told == [False, False, True, False]
