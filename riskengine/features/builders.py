"""Every registered feature: the builder modules, listed explicitly, collected once.

Kept apart from :mod:`riskengine.features.registry` (the declarations builders import) so
that no import runs in a circle.
"""

from __future__ import annotations

from functools import cache

from riskengine.features import concentration, export_controls, policy
from riskengine.features.registry import FeatureSpec, collect_specs


@cache
def registry() -> tuple[FeatureSpec, ...]:
    """Every registered feature, in module order."""
    return collect_specs((concentration, export_controls, policy))


def model_feature_names() -> tuple[str, ...]:
    """The columns the model is trained on, in registry order."""
    return tuple(spec.name for spec in registry() if spec.model_input)
