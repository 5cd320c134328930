"""The model registry: promotion, rollback and the list of versions with their aliases."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest

from riskengine.app.registry import list_models, promote, rollback
from riskengine.config import Settings
from riskengine.errors import ModelNotFoundError
from riskengine.models import tracking


def test_promote_and_rollback_move_the_champion_and_list_shows_aliases(
    store_settings: Settings, tiny_model_registrar: Callable[[Settings], str]
) -> None:
    settings = store_settings
    for expected in ("1", "2", "3"):
        assert tiny_model_registrar(settings) == expected
    assert promote(settings, "1").message == "version 1 is champion"
    assert promote(settings, "3").message == "version 3 is champion (was version 1)"
    tracking.set_challenger(settings, "2")
    listed = list_models(settings)
    assert listed["version"].to_list() == ["3", "2", "1"]
    assert dict(zip(listed["version"], listed["aliases"], strict=True)) == {
        "3": "champion",
        "2": "challenger",
        "1": "",
    }
    assert listed.filter(pl.col("model_sha256") == "").is_empty()
    assert rollback(settings).message == "champion rolled back from version 3 to version 1"
    assert tracking.champion_version(settings) == "1"
    with pytest.raises(ModelNotFoundError, match="no previous champion"):
        rollback(settings)
    with pytest.raises(ModelNotFoundError, match="no version"):
        promote(settings, "9")
