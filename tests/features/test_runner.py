"""Running the builders: a cache shared by the chunks of one input changes no value."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine.features import runner
from riskengine.features.registry import PAIR_KEY
from riskengine.features.runner import FeatureCache, build_features
from riskengine.reference.loader import ReferenceData
from riskengine.sourcing import prepare_pairs

_SOURCING = pl.DataFrame(
    {
        "material": ["Dy2O3", "NdPr oxide", "gallium", "Dy2O3", "cobalt metal", "gallium"],
        "supplier": ["Baotou Co", "Kuantan Sdn Bhd", "Yunnan Co", "Hanoi JSC", "Katanga", "Z"],
        "supplier_country": ["CN", "MY", "CN", "VN", "CD", "DE"],
        "buyer_country": ["JP", "JP", "US", "JP", "DE", "JP"],
        "share": ["0.5", "0.3", "1", "0.5", "1", "0.2"],
    }
)


def _spine(rows: list[int]) -> pl.DataFrame:
    sourcing = _SOURCING[rows]
    prepared = prepare_pairs(sourcing, source="s.csv", buyer_country="JP", buyer_name=None)
    return prepared.valid.drop("reason")


@pytest.mark.few_examples(5)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.integers(0, _SOURCING.height - 1), min_size=1, max_size=12),
    cuts=st.lists(st.integers(0, 12), max_size=3),
)
def test_chunks_sharing_a_feature_cache_get_the_values_they_get_alone(
    reference: ReferenceData, rows: list[int], cuts: list[int]
) -> None:
    bounds = sorted({0, len(rows), *(min(cut, len(rows)) for cut in cuts)})
    cache = FeatureCache()
    as_of = date(2026, 3, 1)
    for start, end in pairwise(bounds):
        spine = _spine(rows[start:end])
        alone = build_features(spine, reference, as_of=as_of)
        shared = build_features(spine, reference, as_of=as_of, cache=cache)
        assert shared.equals(alone)


def test_a_cached_group_of_builders_runs_only_on_keys_no_earlier_chunk_had(
    reference: ReferenceData, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_on: list[int] = []
    collect_all = pl.collect_all

    def counted(plans: list[pl.LazyFrame], **options: Any) -> list[pl.DataFrame]:
        outputs = collect_all(plans, **options)
        built_on.append(sum(output.height for output in outputs))
        return outputs

    # Prepared first: preparing collects plans of its own.
    spine, reversed_spine = _spine([0, 1]), _spine([1, 0])
    monkeypatch.setattr(runner.pl, "collect_all", counted)
    cache = FeatureCache()
    as_of = date(2026, 3, 1)
    first = build_features(spine, reference, as_of=as_of, cache=cache)
    again = build_features(reversed_spine, reference, as_of=as_of, cache=cache)

    assert built_on[0] > 0
    # The same pairs again: only the builders of the input's own sourcing mix run.
    assert 0 < built_on[1] < built_on[0]
    assert again.drop(PAIR_KEY).reverse().equals(first.drop(PAIR_KEY))
    assert set(cache.tables) == {
        spec.keys for spec in runner.registry() if runner._cached_group([spec])
    }
