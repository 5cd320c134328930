"""The material matcher, built once from the shipped catalog for the mapping tests."""

from __future__ import annotations

import pytest

from riskengine.catalog import load_catalog
from riskengine.mapping.matcher import MaterialMatcher


@pytest.fixture(scope="session")
def matcher() -> MaterialMatcher:
    return MaterialMatcher(load_catalog())
