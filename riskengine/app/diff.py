"""The diff job: ``riskengine diff OLD_SCORES NEW_SCORES -o OUT``: what changed between two
runs of ``riskengine score``, pair by pair, and why (:mod:`riskengine.impact.diff`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from riskengine.config import Settings
from riskengine.impact.diff import (
    CAUSE_SEPARATOR,
    CHANGE_CHANGED,
    DEFAULT_THRESHOLD,
    ScoreDiff,
    diff_scores,
    read_score_run,
)
from riskengine.io import ReadOptions, write_table
from riskengine.reference.loader import load_reference

#: How many listed pairs the summary on stderr shows.
SHOWN_CHANGES = 10


@dataclass(frozen=True)
class DiffOutcome:
    """What a diff found, for the summary on stderr."""

    diff: ScoreDiff
    threshold: float

    @property
    def summary(self) -> str:
        """ "N pairs compared, M changed: ..." in one line."""
        diff = self.diff
        changed = diff.changes.filter(diff.changes["change"] == CHANGE_CHANGED).height
        parts = [
            f"{diff.band_changes} band changes",
            f"{diff.score_moves} scores moved by more than {self.threshold:g}",
        ]
        if diff.status_changes:
            parts.append(f"{diff.status_changes} scored in one run only")
        parts += [f"{diff.added} pairs added", f"{diff.removed} removed"]
        causes = ", ".join(f"{kind} {count}" for kind, count in diff.cause_counts)
        return f"{diff.compared} pairs compared, {changed} changed: {', '.join(parts)}" + (
            f"; causes: {causes}" if causes else ""
        )

    def change_lines(self, limit: int = SHOWN_CHANGES) -> tuple[str, ...]:
        """The first ``limit`` listed pairs in words, each with its first cause."""
        lines = []
        for row in self.diff.changes.head(limit).iter_rows(named=True):
            scores = " -> ".join(_side_text(row, side) for side in ("old", "new"))
            first_cause = (row["causes"] or "").split(CAUSE_SEPARATOR)[0]
            more = (row["causes"] or "").count(CAUSE_SEPARATOR)
            lines.append(
                f"  {row['change']}: {row['material']} from {row['supplier']} "
                f"({row['supplier_country_iso3']}): {scores}; {first_cause}"
                + (f" (+{more} more)" if more else "")
            )
        hidden = self.diff.changes.height - limit
        if hidden > 0:
            lines.append(f"  ... and {hidden} more in the output")
        return tuple(lines)


def _side_text(row: dict, side: str) -> str:
    """A pair's band and score in one run ("high (0.553)"), or its status when unscored."""
    score = row[f"{side}_risk_score"]
    if score is None:
        return str(row[f"{side}_status"] or "absent")
    return f"{row[f'{side}_risk_band']} ({score:.3f})"


def diff_files(
    settings: Settings,
    *,
    old_path: str,
    new_path: str,
    output_path: str,
    threshold: float = DEFAULT_THRESHOLD,
    buyer_name: str | None = None,
    old_reference_dir: Path | None = None,
    read_options: ReadOptions | None = None,
    output_format: str | None = None,
) -> DiffOutcome:
    """Compare two scores files and write one row per changed, added or removed pair.

    The new run's facts are read from the reference data in ``settings`` (``--reference-dir``),
    the old run's from ``old_reference_dir`` when given, else from the same data. Nothing is
    written on error.
    """
    options = read_options or ReadOptions()
    runs = []
    for path in (old_path, new_path):
        runs.append(read_score_run(options.read(path), label="<stdin>" if path == "-" else path))
    new_reference = load_reference(settings.reference_dir)
    old_reference = (
        load_reference(old_reference_dir) if old_reference_dir is not None else new_reference
    )
    diff = diff_scores(
        runs[0],
        runs[1],
        old_reference=old_reference,
        new_reference=new_reference,
        threshold=threshold,
        buyer_name=buyer_name,
    )
    write_table(diff.changes, output_path, output_format)
    return DiffOutcome(diff=diff, threshold=threshold)
