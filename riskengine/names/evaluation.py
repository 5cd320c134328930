"""Precision and recall of the name matching on labelled pairs (``riskengine screening-eval``
and the calibration of :data:`~riskengine.names.matching.LISTING_MATCH_THRESHOLD`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from riskengine.names.matching import LISTING_MATCH_THRESHOLD, match_names


def evaluate_name_matching(
    pairs: Iterable[tuple[str, str, bool]],
    listed_names: Sequence[str] | None = None,
    threshold: float = LISTING_MATCH_THRESHOLD,
) -> dict[str, float | int]:
    """Precision and recall of ``score >= threshold`` on labelled (query, listed name, same) pairs.

    Each query is matched against the whole list, as in screening. A same-entity pair is a true
    positive when the query's best match passes the threshold and is that listed name, otherwise
    a false negative. A flag counts as a false positive when it names a listed entity that no
    pair labels as the query's own (so a listed subsidiary flagged for its parent is one, but
    "IHI Aerospace Engineering" flagged as itself is not, even where it is paired with "IHI
    Aerospace" as a near miss).

    Parameters
    ----------
    pairs : Iterable[tuple[str, str, bool]]
        ``(query, listed_name, is_same_entity)``; ``listed_name`` must be in the list.
    listed_names : Sequence[str] | None
        The full list to screen against; by default the distinct listed names in ``pairs``.
    threshold : float
        Score at or above which a query is flagged.

    Returns
    -------
    dict[str, float | int]
        ``precision``, ``recall``, ``threshold``, ``true_positive``, ``false_positive`` and
        ``false_negative``. Precision (recall) is 1.0 when nothing was flagged (expected).
    """
    pair_list = [(query, listed, bool(same)) for query, listed, same in pairs]
    if listed_names is None:
        listed_names = list(dict.fromkeys(listed for _, listed, _ in pair_list))
    known_names = set(listed_names)
    unknown = sorted({listed for _, listed, _ in pair_list} - known_names)
    if unknown:
        raise ValueError(f"labelled listed names missing from the list: {unknown[:5]}")

    own_entities: dict[str, set[str]] = {}
    for query, listed, same in pair_list:
        own_entities.setdefault(query, set())
        if same:
            own_entities[query].add(listed)
    queries = list(own_entities)
    flagged: dict[str, str | None] = {}
    for query, (score, listed_index) in zip(
        queries, match_names(queries, listed_names), strict=True
    ):
        flagged[query] = (
            listed_names[listed_index] if listed_index is not None and score >= threshold else None
        )

    true_positive = false_positive = false_negative = 0
    for query, listed, same in pair_list:
        prediction = flagged[query]
        if same:
            if prediction == listed:
                true_positive += 1
            else:
                false_negative += 1
        if prediction is not None and prediction not in own_entities[query]:
            false_positive += 1
    flagged_count = true_positive + false_positive
    expected_count = true_positive + false_negative
    return {
        "precision": true_positive / flagged_count if flagged_count else 1.0,
        "recall": true_positive / expected_count if expected_count else 1.0,
        "threshold": threshold,
        "true_positive": true_positive,
        "false_positive": false_positive,
        "false_negative": false_negative,
    }
