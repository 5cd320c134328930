"""The shortage arithmetic of ``riskengine stress``: pure functions of numbers (README, "Stress
scenarios").

Time is counted in days from the scenario's start (day 0) and use in days of normal use: an
input whose deliveries bring a share ``s`` of its daily use on a day falls ``1 - s`` short that
day, and its stock (``days_of_cover`` days of normal use) absorbs the shortfalls in turn. A day
is short once the shortfalls so far exceed the cover; the part of that day's use left uncovered
is what is lost. Once another source is qualified (``lead_time_days`` after the start) the input
is supplied in full again, as it is when the measure ends: deliveries resume that day, and stock
is not rebuilt within the timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Shortfalls below this (floating-point residue of cumulative sums) are not a short day.
SHORT_TOLERANCE = 1e-9
DAYS_LOST_DECIMALS = 6


def measure_flow(
    kind: str,
    *,
    offset: int,
    days: int,
    horizon: int,
    share: float = 0.0,
    approval_rate: float = 0.0,
    delay_days: int = 0,
) -> np.ndarray:
    """The share of a flow's normal supply that still arrives on each day of the horizon under
    one measure starting on day ``offset`` for ``days`` days (1 outside the measure).

    A ban lets nothing through; a quota lets ``share`` through; licensing lets nothing through
    for ``delay_days`` (applications pending), then ``approval_rate``.
    """
    flow = np.ones(horizon)
    first, last = max(offset, 0), min(offset + days, horizon)
    if first >= last:
        return flow
    if kind == "ban":
        flow[first:last] = 0.0
    elif kind == "quota":
        flow[first:last] = share
    elif kind == "licensing":
        pending_end = min(max(offset + delay_days, first), last)
        flow[first:pending_end] = 0.0
        flow[pending_end:last] = approval_rate
    else:
        raise ValueError(f"kind must be ban, quota or licensing, not {kind!r}")
    return flow


def uncovered_use(
    days_of_cover: np.ndarray, supply: np.ndarray, lead_time_days: np.ndarray | None = None
) -> np.ndarray:
    """Per input (rows) and day (columns), the share of the day's use that neither deliveries
    nor stock cover.

    Parameters
    ----------
    days_of_cover
        Stock per input in days of normal use (one value per row of ``supply``).
    supply
        Share of normal daily use delivered, per input and day (clipped to [0, 1]).
    lead_time_days
        Per input, the day from which another qualified source supplies it in full (inf or
        NaN: none).

    Returns
    -------
    numpy.ndarray
        ``min(shortfall that day, max(0, shortfalls so far - cover))``; 0 on covered days.
    """
    supply = np.clip(np.asarray(supply, dtype=float), 0.0, 1.0)
    if lead_time_days is not None:
        lead = np.nan_to_num(np.asarray(lead_time_days, dtype=float), nan=np.inf)
        days = np.arange(supply.shape[1])
        supply = np.where(days[None, :] >= lead[:, None], 1.0, supply)
    shortfall = 1.0 - supply
    beyond_cover = np.cumsum(shortfall, axis=1) - np.asarray(days_of_cover, dtype=float)[:, None]
    lost = np.minimum(shortfall, np.clip(beyond_cover, 0.0, None))
    return np.where(lost > SHORT_TOLERANCE, lost, 0.0)


@dataclass(frozen=True)
class Shortage:
    """One input's (or product's) shortage: first short day (days from the start; None when
    never short), the number of short days and the days of production lost in all."""

    first_short_day: int | None
    days_short: int
    days_lost: float


def summarise(lost: np.ndarray) -> Shortage:
    """The :class:`Shortage` of one row of :func:`uncovered_use` (or a product's maximum)."""
    short = np.flatnonzero(lost > 0.0)
    return Shortage(
        first_short_day=int(short[0]) if short.size else None,
        days_short=int(short.size),
        # Rounded: cumulative sums leave residue in the last digits (34.499999999999886).
        days_lost=round(float(lost.sum()), DAYS_LOST_DECIMALS),
    )


def short_runs(lost: np.ndarray) -> list[tuple[int, int]]:
    """The runs of consecutive short days of one row of :func:`uncovered_use`, as (first, last)
    days from the start, both included: a scenario whose measures leave a gap has several.

    >>> short_runs(np.array([0.0, 0.5, 1.0, 0.0, 0.2]))
    [(1, 2), (4, 4)]
    """
    short = np.flatnonzero(lost > 0.0)
    if not short.size:
        return []
    # A run ends where the next short day is not the next day.
    breaks = np.flatnonzero(np.diff(short) > 1)
    firsts = np.concatenate(([short[0]], short[breaks + 1]))
    lasts = np.concatenate((short[breaks], [short[-1]]))
    return [(int(first), int(last)) for first, last in zip(firsts, lasts, strict=True)]


def shortage(
    days_of_cover: float, supply: Sequence[float], lead_time_days: float | None = None
) -> Shortage:
    """The shortage of one input: ``supply`` is the share of daily use delivered on each day
    from the start, ``days_of_cover`` the stock in days of normal use.

    Examples
    --------
    One input 100% from the banned country, 60 days of cover, a 90-day ban: short from day 60
    (2027-01-30 for a ban from 2026-12-01) for 30 days, when deliveries resume.

    >>> shortage(60, [0.0] * 90)
    Shortage(first_short_day=60, days_short=30, days_lost=30.0)
    """
    lead = None if lead_time_days is None else np.array([lead_time_days], dtype=float)
    lost = uncovered_use(
        np.array([days_of_cover], dtype=float), np.array([supply], dtype=float), lead
    )
    return summarise(lost[0])
