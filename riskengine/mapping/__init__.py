"""Material master mapping: purchase texts and part numbers to catalog materials.

Two halves, both pure:

* :class:`MaterialMatcher` (:mod:`~riskengine.mapping.matcher`) reads one purchase text
  ("Dysprosiumoxid Dy2O3 99,5%", "GERMANIUM TETRACHLORIDE GECL4 6N", "硫酸コバルト 七水和物")
  and proposes a catalog material with a confidence, the evidence that matched, a purity grade
  and, where the text or the formula gives one, the content share of the material's main
  element. Matching uses, in order: the catalog's own names (all its languages), chemical
  formulas (:mod:`~riskengine.mapping.formulas`), magnet grades, words translated from German,
  French, Spanish, Japanese, Korean and Chinese (and ERP abbreviations such as OXID, PULV,
  DRAHT; :mod:`~riskengine.mapping.vocabulary`), then rapidfuzz as a last resort that is never
  confident. Purity and content shares come from :mod:`~riskengine.mapping.content`.
* :class:`MaterialMapping` (:mod:`~riskengine.mapping.file`) is the team's reviewed mapping
  file, validated, applied before the catalog resolves a text: rows ``accepted`` or
  ``proposed`` are applied, ``review`` rows are not.

:mod:`~riskengine.mapping.proposal` holds what both halves share: a proposal, the statuses of
a mapping row and the columns of the file.
"""

from riskengine.mapping.file import (
    DESCRIPTION_ALIASES,
    PART_NUMBER_ALIASES,
    MappingEntry,
    MaterialMapping,
    parse_mapping,
    part_number_key,
)
from riskengine.mapping.formulas import (
    ATOMIC_WEIGHTS,
    COMMODITY_ELEMENTS,
    mass_fraction,
    parse_formula,
)
from riskengine.mapping.matcher import MaterialMatcher
from riskengine.mapping.proposal import (
    APPLIED_STATUSES,
    MAPPING_COLUMNS,
    MAPPING_STATUSES,
    PROPOSE_THRESHOLD,
    STATUS_ACCEPTED,
    STATUS_PROPOSED,
    STATUS_REVIEW,
    Proposal,
)

__all__ = [
    "APPLIED_STATUSES",
    "ATOMIC_WEIGHTS",
    "COMMODITY_ELEMENTS",
    "DESCRIPTION_ALIASES",
    "MAPPING_COLUMNS",
    "MAPPING_STATUSES",
    "PART_NUMBER_ALIASES",
    "PROPOSE_THRESHOLD",
    "STATUS_ACCEPTED",
    "STATUS_PROPOSED",
    "STATUS_REVIEW",
    "MappingEntry",
    "MaterialMapping",
    "MaterialMatcher",
    "Proposal",
    "mass_fraction",
    "parse_formula",
    "parse_mapping",
    "part_number_key",
]
