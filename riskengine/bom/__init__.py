"""Explode multi-level bills of materials and roll supplier risk up to each top-level product.

A BOM is a list of edges ``parent → component`` with the quantity of component needed for one
unit of parent (DESIGN §7). Top-level products are parents that are never components; leaves are
components that are never parents, and each leaf is a catalog material bought from the suppliers
of a scored sourcing list (the output of :func:`riskengine.scoring.score_pairs`).

Nothing is dropped silently: every top-level product gets a row (``scored``, ``partial``,
``refused`` or ``unscored``) with a reason, every exploded path gets at least one line, and
every BOM row that is not exploded (text and document items, unusable quantities, cycles no
product reaches) is a :class:`BomProblem`. Rows are named "``<source>`` row N", N counting
data rows from 1.

Modules, in pipeline order: :mod:`~riskengine.bom.reading` (BOM rows),
:mod:`~riskengine.bom.graph` (graph, cycles, explosion), :mod:`~riskengine.bom.sourcing`
(shares per material and sourcing group), :mod:`~riskengine.bom.findings` (problems and
refusals), :mod:`~riskengine.bom.rollup` (product figures), :mod:`~riskengine.bom.wording`
(the tables in words) and :mod:`~riskengine.bom.pipeline` (:func:`score_bom`). Pure functions
of polars frames; reading and writing files happen in :mod:`riskengine.io`.
"""

from riskengine.bom.pipeline import score_bom
from riskengine.bom.results import (
    LINE_SCHEMA,
    LINE_STATUSES,
    PROBLEM_KINDS,
    PRODUCT_PARTIAL,
    PRODUCT_REFUSED,
    PRODUCT_SCHEMA,
    PRODUCT_SCORED,
    PRODUCT_UNSCORED,
    BomProblem,
    BomResult,
)
from riskengine.io.columns import BOM_ALIASES, BOM_REQUIRED

__all__ = [
    "BOM_ALIASES",
    "BOM_REQUIRED",
    "LINE_SCHEMA",
    "LINE_STATUSES",
    "PROBLEM_KINDS",
    "PRODUCT_PARTIAL",
    "PRODUCT_REFUSED",
    "PRODUCT_SCHEMA",
    "PRODUCT_SCORED",
    "PRODUCT_UNSCORED",
    "BomProblem",
    "BomResult",
    "score_bom",
]
