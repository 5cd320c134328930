"""Scoring query names against listed names: character similarity of the comparison keys,
capped at :data:`DIFFERENT_ENTITY_CEILING` when a word or a number has no counterpart."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from riskengine.names.entities import comparison_key, name_variants

LISTING_MATCH_THRESHOLD: float = 0.9
"""A query is flagged as a listed entity when its score is at least this.

Calibrated on the 327 labelled pairs in ``tests/data/name_pairs.csv`` (201 same-entity, 126
near misses), each query screened against the whole shipped list; the same names with invisible
and look-alike characters (``tests/data/name_pairs_unicode.csv``, 240 pairs) score as their
plain forms. Same-entity variants score
0.92 (a one-letter typo in a short name: "Yusokki", "Fuji Aerospace Technologies") to 1.0.
Near misses score at most 0.83: pairs whose words or numbers differ are capped at
:data:`DIFFERENT_ENTITY_CEILING` (0.80), and the only ones above that are one-letter
look-alikes of six-letter names ("Yusuki", "Subaro"), which keep every word and score
1 - 1/6. Any threshold from 0.84 to 0.92 separates the set; 0.90 keeps the larger margin on
the side of false alarms because a one-letter difference in a short name is as likely another
company as a typo: it accepts a one-letter substitution only in names of ten characters or more.
"""

DIFFERENT_ENTITY_CEILING: float = 0.8
"""Highest score a pair can get when its words or numbers do not all correspond."""


_SCORE_DECIMALS = 4
_CELLS_PER_CHUNK = 4_000_000  # bounds the score matrices to ~16 MB each for 100k x 5k names
_MAXIMUM_JOINED_WORDS = 3  # "l 3 harris" against "l3harris"


_DIGITS = re.compile(r"\d+")


def _sorted_words(key: str) -> str:
    return " ".join(sorted(key.split()))


def _stem(word: str) -> str:
    """Crude plural folding so that "systems" corresponds to "system"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _typo_tolerant(word: str) -> bool:
    """Words of four letters or more may carry one typo; numbers and short words may not."""
    return len(word) >= 4 and not any(character.isdigit() for character in word)


class _WordProfile(NamedTuple):
    """A comparison key's words, prepared for :func:`_all_words_covered`."""

    words: tuple[str, ...]
    stems: tuple[str, ...]
    joins: tuple[tuple[str, int, int], ...]
    """Runs of two or three adjacent words written together, with the span they cover."""
    forms: frozenset[str]
    """Words and joins, as written and plural-folded."""
    word_forms: frozenset[str]
    """Words only, as written and plural-folded."""
    tolerant_forms: tuple[str, ...]
    tolerant_word_forms: tuple[str, ...]


@lru_cache(maxsize=65_536)
def _word_profile(key: str) -> _WordProfile:
    words = tuple(key.split())
    joins = tuple(
        ("".join(words[start:end]), start, end)
        for start in range(len(words))
        for end in range(start + 2, min(start + _MAXIMUM_JOINED_WORDS, len(words)) + 1)
    )
    word_forms = frozenset(words) | {_stem(word) for word in words}
    forms = word_forms | {join for join, _, _ in joins} | {_stem(join) for join, _, _ in joins}
    return _WordProfile(
        words=words,
        stems=tuple(_stem(word) for word in words),
        joins=joins,
        forms=forms,
        word_forms=word_forms,
        tolerant_forms=tuple(sorted(form for form in forms if _typo_tolerant(form))),
        tolerant_word_forms=tuple(sorted(form for form in word_forms if _typo_tolerant(form))),
    )


def _has_counterpart(
    word: str, exact_forms: frozenset[str], tolerant_forms: tuple[str, ...]
) -> bool:
    """Whether a word equals one of the forms up to plural and one typo (OSA distance 1)."""
    stem = _stem(word)
    if word in exact_forms or stem in exact_forms:
        return True
    if not _typo_tolerant(word):
        return False
    # Raw and folded forms both, since folding can turn one typo into two ("industires").
    return any(
        process.extractOne(form, tolerant_forms, scorer=OSA.distance, score_cutoff=1) is not None
        for form in {word, stem}
    )


def _all_words_covered(profile: _WordProfile, other: _WordProfile) -> bool:
    """Whether every word of one key has a counterpart in the other: a word, or words written
    together on one side and apart on the other ("aero engines" and "aeroengines")."""
    uncovered = {
        position
        for position, word in enumerate(profile.words)
        if not _has_counterpart(word, other.forms, other.tolerant_forms)
    }
    for join, start, end in profile.joins:
        if not uncovered:
            break
        if uncovered.intersection(range(start, end)) and _has_counterpart(
            join, other.word_forms, other.tolerant_word_forms
        ):
            uncovered.difference_update(range(start, end))
    return not uncovered


@lru_cache(maxsize=65_536)
def _digits(key: str) -> tuple[str, ...]:
    return tuple(sorted(_DIGITS.findall(key)))


def _same_identifying_words(query_key: str, listed_key: str) -> bool:
    """Guard against subsets and look-alikes: same numbers, and every word on each side
    corresponds to one on the other."""
    if _digits(query_key) != _digits(listed_key):
        return False
    query_profile = _word_profile(query_key)
    listed_profile = _word_profile(listed_key)
    if set(query_profile.stems) == set(listed_profile.stems):
        return True
    return _all_words_covered(query_profile, listed_profile) and _all_words_covered(
        listed_profile, query_profile
    )


def _best_matches(
    query_keys: list[str],
    listed_keys: list[str],
    listed_key_indices: np.ndarray,
    threshold: float | None = None,
) -> list[tuple[float, int | None]]:
    """Best (score, listed index) per query key; listed keys are ordered by listed index.

    With a ``threshold``, only matches scoring at least that are sought, and a key with none
    gets ``(0.0, None)``: such a match needs two keys of similar lengths, so each key is
    compared with the listed keys of lengths near its own only.
    """
    if threshold is None:
        return _scored_best_matches(query_keys, listed_keys, listed_key_indices)
    results: list[tuple[float, int | None]] = [(0.0, None)] * len(query_keys)
    listed_sorted = [_sorted_words(key) for key in listed_keys]
    listed_lengths = np.array([len(key) for key in listed_keys], dtype=np.int64)
    sorted_lengths = np.array([len(key) for key in listed_sorted], dtype=np.int64)
    rows_by_lengths: dict[tuple[int, int], list[int]] = {}
    for row, key in enumerate(query_keys):
        rows_by_lengths.setdefault((len(key), len(_sorted_words(key))), []).append(row)
    for (length, sorted_length), rows in rows_by_lengths.items():
        # Columns kept in listed order, so that ties still go to the lowest listed index.
        columns = np.flatnonzero(
            _reachable(length, listed_lengths, threshold)
            | _reachable(sorted_length, sorted_lengths, threshold)
        )
        if not columns.size:
            continue
        found = _scored_best_matches(
            [query_keys[row] for row in rows],
            [listed_keys[column] for column in columns.tolist()],
            listed_key_indices[columns],
            [listed_sorted[column] for column in columns.tolist()],
        )
        for row, (score, index) in zip(rows, found, strict=True):
            if score >= threshold:
                results[row] = (score, index)
    return results


def _reachable(length: int, other_lengths: np.ndarray, threshold: float) -> np.ndarray:
    """Which of ``other_lengths`` a text of ``length`` characters may score ``threshold``
    against: the Indel ratio of two texts is at most 2 * shorter / (shorter + longer)."""
    shorter = np.minimum(other_lengths, length)
    # Half a rounding step below the threshold, as scores are compared once rounded.
    return 2 * shorter >= (threshold - 0.5 * 10.0**-_SCORE_DECIMALS) * (other_lengths + length)


def _scored_best_matches(
    query_keys: list[str],
    listed_keys: list[str],
    listed_key_indices: np.ndarray,
    listed_sorted: list[str] | None = None,
) -> list[tuple[float, int | None]]:
    """Best (score, listed index) per query key, every listed key compared."""
    results: list[tuple[float, int | None]] = []
    if listed_sorted is None:
        listed_sorted = [_sorted_words(key) for key in listed_keys]
    ceiling = DIFFERENT_ENTITY_CEILING * 100
    rows_per_chunk = max(1, _CELLS_PER_CHUNK // len(listed_keys))
    for chunk_start in range(0, len(query_keys), rows_per_chunk):
        chunk = query_keys[chunk_start : chunk_start + rows_per_chunk]
        # Indel similarity of the names as written catches joined words ("aeroengines");
        # of the sorted words, word order. Neither gives a subset full marks, unlike WRatio,
        # partial_ratio or token_set_ratio.
        scores = process.cdist(chunk, listed_keys, scorer=fuzz.ratio, dtype=np.float32, workers=-1)
        np.maximum(
            scores,
            process.cdist(
                [_sorted_words(key) for key in chunk],
                listed_sorted,
                scorer=fuzz.ratio,
                dtype=np.float32,
                workers=-1,
            ),
            out=scores,
        )
        for row, column in zip(*np.nonzero(scores > ceiling), strict=True):
            if not _same_identifying_words(chunk[row], listed_keys[column]):
                scores[row, column] = ceiling
        # argmax takes the first maximum; columns are in listed order, so ties go to the
        # lowest listed index.
        best_columns = scores.argmax(axis=1)
        best_scores = scores[np.arange(len(chunk)), best_columns]
        for column, score in zip(best_columns.tolist(), best_scores.tolist(), strict=True):
            rounded = round(score / 100, _SCORE_DECIMALS)
            results.append(
                (rounded, int(listed_key_indices[column])) if rounded > 0 else (0.0, None)
            )
    return results


# Screening matches one input's names against several lists (every list, then each buyer
# country's), chunk after chunk: a name's keys and a list's keys are worked out once.
@lru_cache(maxsize=16)
def _listed_keys(listed_names: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    """The comparison keys of ``listed_names`` (each key once, for the first name giving it)
    in listed order, and the listed index of each."""
    listed_key_index: dict[str, int] = {}
    for listed_index, listed_name in enumerate(listed_names):
        if not isinstance(listed_name, str):
            continue
        for variant in name_variants(listed_name, acronym_aliases=True):
            listed_key_index.setdefault(comparison_key(variant), listed_index)
    ordered_listed = sorted(listed_key_index.items(), key=lambda item: (item[1], item[0]))
    return (
        [key for key, _ in ordered_listed],
        np.array([index for _, index in ordered_listed], dtype=np.int64),
    )


# About 0.55 KB a name: 32,768 names (18 MiB) cover the suppliers of a million-row list.
@lru_cache(maxsize=1 << 15)
def _query_keys(query_name: str) -> tuple[str, ...]:
    """The comparison keys a buyer or supplier name is matched under."""
    return tuple(
        comparison_key(variant) for variant in name_variants(query_name, acronym_aliases=False)
    )


def warm_query_keys(query_names: Iterable[str | None]) -> int:
    """Work out ahead the comparison keys :func:`match_names` looks up for ``query_names``,
    as many distinct names as it remembers; return how many were worked out.

    Pure Python: run on a thread while the caller's work is in polars (outside the
    interpreter lock), it takes this part of screening off the caller's path. Matches do not
    change, only when their keys are worked out.
    """
    distinct = [
        name for name in dict.fromkeys(query_names) if isinstance(name, str) and name.strip()
    ]
    capacity = _query_keys.cache_info().maxsize
    if capacity is not None:
        distinct = distinct[:capacity]
    for query_name in distinct:
        _query_keys(query_name)
    return len(distinct)


def match_names(
    query_names: Sequence[str | None],
    listed_names: Sequence[str],
    *,
    threshold: float | None = None,
) -> list[tuple[float, int | None]]:
    """Best-matching listed name for each query name.

    Parameters
    ----------
    query_names : Sequence[str | None]
        Buyer or supplier names as entered; None or empty for unknown.
    listed_names : Sequence[str]
        Listed entity names (e.g. ``entity_name`` of the listed-entities table), raw.
    threshold : float, optional
        Seek only matches scoring at least this (such as :data:`LISTING_MATCH_THRESHOLD`),
        for callers that need no lower score: faster, and a query without one gets
        ``(0.0, None)``. Those that do match get the score and index they get without it.

    Returns
    -------
    list[tuple[float, int | None]]
        One ``(score, listed_index)`` per query, in order. The score is in [0, 1]; compare it
        with :data:`LISTING_MATCH_THRESHOLD`. The index is None when the query is null, empty,
        shorter than :data:`~riskengine.names.entities.MINIMUM_NAME_LENGTH` once normalised,
        or scores 0 against every listed name. Deterministic; ties go to the lowest listed
        index.
    """
    results: list[tuple[float, int | None]] = [(0.0, None)] * len(query_names)
    listed_keys, listed_key_indices = _listed_keys(tuple(listed_names))

    positions_by_query: dict[str, list[int]] = {}
    for position, query_name in enumerate(query_names):
        if isinstance(query_name, str) and query_name.strip():
            positions_by_query.setdefault(query_name, []).append(position)
    if not listed_keys or not positions_by_query:
        return results

    keys_by_query = {query_name: _query_keys(query_name) for query_name in positions_by_query}
    unique_query_keys = list(dict.fromkeys(key for keys in keys_by_query.values() for key in keys))
    best_by_key = dict(
        zip(
            unique_query_keys,
            _best_matches(unique_query_keys, listed_keys, listed_key_indices, threshold),
            strict=True,
        )
    )
    for query_name, keys in keys_by_query.items():
        best_score = 0.0
        best_index: int | None = None
        for score, candidate_index in (best_by_key[key] for key in keys):
            if candidate_index is None:
                continue
            if (
                best_index is None
                or score > best_score
                or (score == best_score and candidate_index < best_index)
            ):
                best_score, best_index = score, candidate_index
        for position in positions_by_query[query_name]:
            results[position] = (best_score, best_index)
    return results
