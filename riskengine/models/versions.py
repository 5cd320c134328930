"""What the registry holds about a model version, as :mod:`riskengine.models.tracking` reads
it: plain records, with no MLflow in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The training run's artifact with what scoring needs beside the model (feature names,
# neutral values, calibration, band cut-offs).
EXPLAIN_ARTIFACT = "explain.json"


@dataclass(frozen=True)
class RegisteredModel:
    """A model version in the registry and the metadata scoring needs."""

    model: Any
    version: str
    run_id: str
    feature_names: tuple[str, ...]
    neutral_values: dict[str, float]
    metrics: dict[str, float]
    artifact_sha256: str = ""
    # How the model's raw output becomes a probability with an interval, and the band
    # cut-offs; empty for a model whose output is already calibrated (own-history training).
    calibration: dict[str, Any] = field(default_factory=dict)
    band_cutoffs: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_explanation(
        cls,
        model: Any,
        *,
        version: str,
        run_id: str,
        explanation: dict[str, Any],
        metrics: dict[str, float],
        artifact_sha256: str,
    ) -> RegisteredModel:
        """The record of a loaded version, its scoring metadata read from the training run's
        ``explain.json`` (``explanation``)."""
        return cls(
            model=model,
            version=version,
            run_id=run_id,
            feature_names=tuple(explanation["feature_names"]),
            neutral_values=explanation["neutral_values"],
            calibration=explanation.get("calibration", {}),
            band_cutoffs=explanation.get("band_cutoffs", {}),
            metrics=metrics,
            artifact_sha256=artifact_sha256,
        )


@dataclass(frozen=True)
class VersionDetails:
    """One registered version: its aliases, tags and its training run's metrics."""

    version: str
    run_id: str
    created_ms: int
    aliases: tuple[str, ...]
    tags: dict[str, str]
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
