"""The feature registry: builders declare their output, family, keys and sources.

A builder is a pure function of polars LazyFrames with a keyword-only ``as_of``. Its name is
its output column. The runner (not the builder) filters sources to what was known at
``as_of``, validates the output and joins it onto the spine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import polars as pl

PAIR_KEY = "pair_id"
# What most builders read of a pair: the flow. Rows equal on these get equal features, so the
# runner builds them once per distinct flow, not once per input row.
FLOW_KEYS: tuple[str, ...] = ("material_id", "supplier_country", "buyer_country")

FeatureBuilder = Callable[..., pl.LazyFrame]
#: Sources that are facts about the user's input rather than reference tables (the runner
#: supplies them; the feature list names them "the input").
INPUT_SOURCES = frozenset({"sourcing_mix"})


@dataclass(frozen=True)
class FeatureSpec:
    """A registered feature builder.

    Attributes
    ----------
    name : str
        The output column, which is also the builder's function name.
    family : str
        ``concentration``, ``export_controls`` or ``policy``.
    description : str
        One line in plain words, shown by ``riskengine features list``.
    sources : tuple[str, ...]
        Reference tables the builder reads (names in ``TABLE_SCHEMAS``), passed as keywords;
        ``sourcing_mix`` is the whole input's own mix of supplier countries
        (:mod:`riskengine.features.sourcing_mix`).
    dtype : pl.DataType
        The declared output dtype, checked by the runner.
    keys : tuple[str, ...] | None
        The spine columns the builder reads; the runner runs it once per distinct combination
        of them. ``None`` for set-level builders that aggregate over all rows, which see the
        whole spine (of one chunk, when the input is read in chunks: a fact about the whole
        input comes in as a source, as the buyer's sourcing mix does).
    model_input : bool
        ``False`` for columns the model is not trained on: evidence (event ids, entity names),
        facts the public-events panel has no values for (names, the input's shares, import
        breakdowns published after the training period), and features that did not improve
        PR-AUC on the validation window before the test period (see README, "The model").
    """

    name: str
    family: str
    description: str
    sources: tuple[str, ...]
    dtype: pl.DataType | type[pl.DataType]
    builder: FeatureBuilder
    keys: tuple[str, ...] | None = FLOW_KEYS
    model_input: bool = True


def feature(
    *,
    family: str,
    description: str,
    sources: tuple[str, ...],
    dtype: pl.DataType | type[pl.DataType],
    keys: tuple[str, ...] | None = FLOW_KEYS,
    model_input: bool = True,
) -> Callable[[FeatureBuilder], FeatureBuilder]:
    """Mark a function as a feature builder; the registry collects it from its module."""

    def mark(function: FeatureBuilder) -> FeatureBuilder:
        function.feature_spec = FeatureSpec(  # type: ignore[attr-defined]
            name=function.__name__,
            family=family,
            description=description,
            sources=sources,
            dtype=dtype,
            builder=function,
            keys=keys,
            model_input=model_input,
        )
        return function

    return mark


def collect_specs(modules: tuple[ModuleType, ...]) -> tuple[FeatureSpec, ...]:
    """Collect the builders of the given modules in definition order; reject duplicates."""
    specs: list[FeatureSpec] = []
    seen: dict[str, str] = {}
    for module in modules:
        for value in vars(module).values():
            spec = getattr(value, "feature_spec", None)
            if not isinstance(spec, FeatureSpec) or value.__module__ != module.__name__:
                continue
            if spec.name in seen:
                raise ValueError(
                    f"feature {spec.name!r} is defined in both {seen[spec.name]} and "
                    f"{module.__name__}"
                )
            seen[spec.name] = module.__name__
            specs.append(spec)
    return tuple(specs)
