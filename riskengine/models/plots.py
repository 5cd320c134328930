"""Figures logged with training runs (matplotlib, headless)."""

from __future__ import annotations

from typing import Any


def reliability_figure(reliability: dict[str, list[float]]) -> Any:
    """Observed frequency against mean predicted probability on the held-out period."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    axes.plot(reliability["predicted"], reliability["observed"], marker="o", label="model")
    axes.set_xlabel("mean predicted probability (held-out period)")
    axes.set_ylabel("observed frequency")
    axes.set_title("Reliability on the held-out period")
    axes.legend(loc="upper left")
    figure.tight_layout()
    return figure
