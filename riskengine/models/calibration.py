"""The calibration of the learnt hazard: a Platt map and its event-bootstrap replicates.

Plain numpy, so scoring applies it without importing scikit-learn; fitting lives in
:mod:`riskengine.models.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PlattMap:
    """``p = 1 / (1 + exp(-(slope * logit(raw) + intercept)))``: strictly increasing, no ties."""

    slope: float
    intercept: float

    def apply(self, raw: np.ndarray) -> np.ndarray:
        clipped = np.clip(raw, 1e-9, 1 - 1e-9)
        logit = np.log(clipped / (1 - clipped))
        return 1.0 / (1.0 + np.exp(-(self.slope * logit + self.intercept)))

    def to_list(self) -> list[float]:
        return [self.slope, self.intercept]


@dataclass
class Calibration:
    """The Platt map and its event-bootstrap replicates (for each score's interval)."""

    point: PlattMap
    replicates: list[PlattMap] = field(default_factory=list)

    def interval(self, raw: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ends of the ``level`` interval of the calibrated probability."""
        point = self.point.apply(raw)
        if not self.replicates:
            return point, point
        draws = np.vstack([replicate.apply(raw) for replicate in self.replicates])
        tail = (1 - level) / 2 * 100
        low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
        return np.minimum(low, point), np.maximum(high, point)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "platt on out-of-fold scores; event-bootstrap replicates",
            "point": self.point.to_list(),
            "replicates": [replicate.to_list() for replicate in self.replicates],
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Calibration:
        return cls(
            PlattMap(*values["point"]), [PlattMap(*pair) for pair in values.get("replicates", [])]
        )
