"""Prepare a sourcing list for scoring: resolve materials, countries and shares; give every
unusable row its reason. Pure functions of frames; reading happens in :mod:`riskengine.io`.

* :mod:`~riskengine.sourcing.preparation`: :func:`prepare_chunks` and :func:`prepare_pairs`,
  the two passes over an input and the prepared frame of each chunk;
* :mod:`~riskengine.sourcing.resolution`: one chunk's rows resolved, each problem a reason;
* :mod:`~riskengine.sourcing.part_numbers`: part numbers as ERP systems compare them, and the
  team's mapping applied;
* :mod:`~riskengine.sourcing.context`: what a row's outcome depends on across the whole input
  (duplicate pairs, conflicting supplier countries, the share column, share sums, the sourcing
  mix): the first pass, which the parts of an input scored apart share (:func:`prepare_part`).
"""

from riskengine.sourcing.context import InputContext
from riskengine.sourcing.preparation import (
    PreparedPairs,
    prepare_chunks,
    prepare_pairs,
    prepare_part,
)

__all__ = ["InputContext", "PreparedPairs", "prepare_chunks", "prepare_pairs", "prepare_part"]
