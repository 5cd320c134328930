"""What a mapping row says: a proposed material, its confidence and its status, and the
columns ``riskengine map`` writes."""

from __future__ import annotations

from dataclasses import dataclass

#: A proposal at or above this confidence is ``proposed`` (applied when the file is used
#: unchanged); below it, ``review`` (never applied until a person accepts it).
PROPOSE_THRESHOLD = 0.8
STATUS_PROPOSED = "proposed"
STATUS_REVIEW = "review"
STATUS_ACCEPTED = "accepted"
APPLIED_STATUSES = (STATUS_ACCEPTED, STATUS_PROPOSED)
MAPPING_STATUSES = (STATUS_ACCEPTED, STATUS_PROPOSED, STATUS_REVIEW)

#: Columns of a mapping file, in the order ``riskengine map`` writes them.
MAPPING_COLUMNS = (
    "part_number",
    "description",
    "rows",
    "material_id",
    "material",
    "stage",
    "confidence",
    "status",
    "reason",
    "content_element",
    "content_share",
    "content_basis",
    "purity",
)


@dataclass(frozen=True)
class Proposal:
    """What :meth:`~riskengine.mapping.matcher.MaterialMatcher.propose` proposes for one text
    (``material_id`` None: nothing)."""

    material_id: str | None
    stage: str | None
    confidence: float
    reason: str
    content_element: str | None = None
    content_share: float | None = None
    content_basis: str | None = None
    purity: str | None = None

    @property
    def status(self) -> str:
        """``proposed`` at or above :data:`PROPOSE_THRESHOLD`, else ``review``."""
        if self.material_id is not None and self.confidence >= PROPOSE_THRESHOLD:
            return STATUS_PROPOSED
        return STATUS_REVIEW
