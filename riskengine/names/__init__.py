"""Screen buyer and supplier names against export-control and watch lists.

Two names are taken to be the same entity when, once normalised, they differ only in case,
accents, punctuation, legal form, a known abbreviation, word order or a one-letter typo in a
word. Characters are read first by the one name normaliser
(:func:`~riskengine.names.characters.fold`, also behind :func:`canonical_name`, which sourcing
uses for duplicate pairs and supplier ids): NFKC, invisible format characters dropped, and a
look-alike letter of another script inside a word (Unicode TR39 confusables) read in the
word's own script, so that "T\u200bDK" or "SUBАRU" with a Cyrillic "А" is not another company.

A name that has a word the other lacks, or a different number, is a different entity however
many characters the two share: the parent "Mitsubishi Heavy Industries, Ltd." is not
its listed subsidiary "Mitsubishi Heavy Industries Aero Engines, Ltd.", and CETC's 43rd
research institute is not its 58th. Such pairs are capped at :data:`DIFFERENT_ENTITY_CEILING`,
below the threshold, instead of being left to a character-level score that cannot tell them
apart.

One module per step, each using only the ones before it:

* :mod:`~riskengine.names.characters`: the one character normaliser, and the canonical names
  identity compares;
* :mod:`~riskengine.names.entities`: company names normalised for screening (legal forms,
  abbreviations, acronyms) and the forms a name is compared under;
* :mod:`~riskengine.names.matching`: scoring queries against the listed names;
* :mod:`~riskengine.names.evaluation`: precision and recall on labelled pairs.
"""

from riskengine.names.characters import canonical_name, canonical_names
from riskengine.names.entities import (
    ABBREVIATIONS,
    MINIMUM_NAME_LENGTH,
    has_distinctive_word,
    normalise_entity_name,
)
from riskengine.names.evaluation import evaluate_name_matching
from riskengine.names.matching import DIFFERENT_ENTITY_CEILING, LISTING_MATCH_THRESHOLD, match_names

__all__ = [
    "ABBREVIATIONS",
    "DIFFERENT_ENTITY_CEILING",
    "LISTING_MATCH_THRESHOLD",
    "MINIMUM_NAME_LENGTH",
    "canonical_name",
    "canonical_names",
    "evaluate_name_matching",
    "has_distinctive_word",
    "match_names",
    "normalise_entity_name",
]
