"""The one way scoring loads a registered version: remembered while the registry is
unchanged (:mod:`riskengine.models.resolution`, no MLflow), else through MLflow
(:mod:`riskengine.models.tracking`)."""

from __future__ import annotations

from riskengine.config import CHAMPION_ALIAS, Settings
from riskengine.models.resolution import load_remembered
from riskengine.models.versions import RegisteredModel


def load_model(settings: Settings, alias_or_version: str = CHAMPION_ALIAS) -> RegisteredModel:
    """A registered version by alias or number: from the record while the registry is
    unchanged, else through MLflow (:func:`riskengine.models.tracking.load_registered_model`,
    whose errors this raises)."""
    remembered = load_remembered(settings, alias_or_version)
    if remembered is not None:
        return remembered
    from riskengine.models.tracking import load_registered_model

    return load_registered_model(settings, alias_or_version)
