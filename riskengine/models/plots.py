"""Figures logged with training and backtest runs (matplotlib, headless)."""

from __future__ import annotations

from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def reliability_figure(reliability: dict[str, list[float]]) -> Any:
    """Observed frequency against mean predicted probability on the held-out period."""
    return reliability_comparison_figure(
        {"model": reliability}, "Reliability on the held-out period"
    )


def reliability_comparison_figure(
    curves: dict[str, dict[str, list[float]]], title: str = "Reliability, pooled backtest"
) -> Any:
    """One reliability curve per model (``predicted`` and ``observed`` per quantile bin).

    Both axes are logarithmic: the probabilities that matter here are between 0.1% and 50%.
    """
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(5.5, 5))
    points = [value for curve in curves.values() for value in curve["predicted"] if value > 0]
    low = max(min(points, default=1e-4) / 2, 1e-5)
    axes.plot([low, 1], [low, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, curve in curves.items():
        pairs = [
            (predicted, max(observed, low))
            for predicted, observed in zip(curve["predicted"], curve["observed"], strict=True)
            if predicted > 0
        ]
        axes.plot([p for p, _ in pairs], [o for _, o in pairs], marker="o", label=name)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("mean predicted probability (quantile bins)")
    axes.set_ylabel("observed frequency (zero drawn at the axis floor)")
    axes.set_title(title)
    axes.legend(loc="upper left")
    figure.tight_layout()
    return figure


def close_figures(figures: dict[str, Any]) -> None:
    """Release figures once logged (pyplot keeps every open figure alive)."""
    pyplot = _pyplot()
    for figure in figures.values():
        pyplot.close(figure)
