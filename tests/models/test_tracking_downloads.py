"""A version's files downloaded for a loader of their own (Spark's workers) are checked as
``score`` checks them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from riskengine.config import Settings
from riskengine.errors import ModelIntegrityError, ModelNotFoundError
from riskengine.models.tracking import download_verified_version


def test_the_champions_files_come_down_checked(registered: Settings, tmp_path: Path) -> None:
    version, local = download_verified_version(registered, "champion", str(tmp_path))

    assert version == "1"
    assert (local / "MLmodel").is_file() and (local / "scorer" / "scorer.json").is_file()


def test_a_tampered_file_or_an_unknown_version_is_refused(
    registered: Settings, stored_file: Callable[[Settings, str], Path], tmp_path: Path
) -> None:
    with pytest.raises(ModelNotFoundError, match="'7'"):
        download_verified_version(registered, "7", str(tmp_path))
    stored = stored_file(registered, "model.skops")
    stored.write_bytes(stored.read_bytes() + b"\0")

    with pytest.raises(ModelIntegrityError, match=r"version 1 was modified.*model\.skops"):
        download_verified_version(registered, "1", str(tmp_path))
