"""Screen buyer and supplier names against export-control and watch lists.

Two names are taken to be the same entity when, once normalised, they differ only in case,
accents, punctuation, legal form, a known abbreviation, word order or a one-letter typo in a
word. Characters are read first by the one name normaliser (:func:`_fold`, also behind
:func:`canonical_name`, which sourcing uses for duplicate pairs and supplier ids): NFKC,
invisible format characters dropped, and a look-alike letter of another script inside a word
(Unicode TR39 confusables) read in the word's own script, so that "T\u200bDK" or "SUBАRU"
with a Cyrillic "А" is not another company.

A name that has a word the other lacks, or a different number, is a different entity however
many characters the two share: the parent "Mitsubishi Heavy Industries, Ltd." is not
its listed subsidiary "Mitsubishi Heavy Industries Aero Engines, Ltd.", and CETC's 43rd
research institute is not its 58th. Such pairs are capped at :data:`DIFFERENT_ENTITY_CEILING`,
below the threshold, instead of being left to a character-level score that cannot tell them
apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

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

MINIMUM_NAME_LENGTH: int = 3
"""Names normalising to fewer characters than this score 0: too short to identify anyone."""

_SCORE_DECIMALS = 4
_CELLS_PER_CHUNK = 4_000_000  # bounds the score matrices to ~16 MB each for 100k x 5k names
_MAXIMUM_JOINED_WORDS = 3  # "l 3 harris" against "l3harris"

_LETTER_REPLACEMENTS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)
_APOSTROPHES = re.compile(r"['’‘`´]")
_AMPERSAND = re.compile(r"[&+]")
# Dotted initialisms such as "k.k.", "s.p.a." or "u.s.a." collapse into one word instead of
# splitting into single letters; other full stops separate words ("Ind.Aero").
_DOTTED_INITIALISM = re.compile(r"(?<!\w)[^\W\d_](?:\.[^\W\d_])+\.?(?!\w)")
_NON_WORD = re.compile(r"[\W_]+")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_DIGITS = re.compile(r"\d+")
_PARENTHESISED = re.compile(r"\(([^()]*)\)")
_ACRONYM = re.compile(r"[A-Z][A-Z0-9]{1,9}")

ABBREVIATIONS: dict[str, str] = {
    "hvy": "heavy",
    "ind": "industries",
    "inds": "industries",
    "indus": "industries",
    "industry": "industries",
    "mfg": "manufacturing",
    "intl": "international",
    "natl": "national",
    "tech": "technology",
    "eng": "engineering",
    "engg": "engineering",
    "sys": "systems",
    "svc": "service",
    "svcs": "services",
    "mach": "machinery",
    "equip": "equipment",
    "eqpt": "equipment",
    "mech": "mechanical",
    "univ": "university",
    "inst": "institute",
    "acad": "academy",
    "res": "research",
    "grp": "group",
    "hldg": "holding",
    "hldgs": "holdings",
    "defence": "defense",
    "centre": "center",
    # Group acronyms that listed names and buyers use in place of the group's name
    # ("MHI Aero Engines", "CASC 9th Academy"); a listed entity's own acronym is better
    # given in parentheses in the list, where it is picked up as an alias.
    "mhi": "mitsubishi heavy industries",
    "khi": "kawasaki heavy industries",
    "jmu": "japan marine united",
    "cetc": "china electronics technology group corporation",
    "casc": "china aerospace science and technology corporation",
    "jaxa": "japan aerospace exploration agency",
}

_LEGAL_FORMS_AT_END_TEXT: tuple[str, ...] = (
    "co ltd",
    "co limited",
    "company limited",
    "and co",
    "and company",
    "kabushiki kaisha",
    "kabushiki gaisha",
    "sdn bhd",
    "sa de cv",
    "s a",
    "s p a",
    "b v",
    "n v",
    "a g",
    "k k",
    "a s",
    "co",
    "ltd",
    "ltda",
    "limited",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "company",
    "kk",
    "kabushikigaisha",
    "gmbh",
    "ag",
    "kg",
    "sa",
    "sas",
    "sarl",
    "bhd",
    "jsc",
    "pjsc",
    "ojsc",
    "cjsc",
    "ooo",
    "oao",
    "zao",
    "pao",
    "llc",
    "llp",
    "lp",
    "plc",
    "pte",
    "pty",
    "bv",
    "nv",
    "srl",
    "spa",
    "oy",
    "oyj",
    "ab",
    "as",
    "tbk",
)


def _index_by_last_word(forms: Iterable[str]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Legal forms keyed by their last word, longest first, so that stripping a name's end
    looks only at the forms that can match it."""
    index: dict[str, tuple[tuple[str, ...], ...]] = {}
    for form in sorted((tuple(text.split()) for text in forms), key=len, reverse=True):
        index[form[-1]] = (*index.get(form[-1], ()), form)
    return index


_LEGAL_FORMS_BY_LAST_WORD = _index_by_last_word(_LEGAL_FORMS_AT_END_TEXT)
_LEGAL_FORMS_AT_START: tuple[tuple[str, ...], ...] = (
    ("kabushiki", "kaisha"),
    ("kabushikigaisha",),
    ("kk",),
    ("jsc",),
    ("pjsc",),
    ("ojsc",),
    ("cjsc",),
    ("ooo",),
    ("oao",),
    ("zao",),
    ("pao",),
    ("pt",),
    ("the",),
)
# Legal forms that never carry a company's identity, so comparison ignores them wherever they
# stand ("China Electronics Technology Group Corporation 43 Research Institute").
_LEGAL_WORDS_ANYWHERE = frozenset(
    {"corporation", "corp", "incorporated", "inc", "limited", "ltd", "llc", "plc", "gmbh", "kk"}
)
_STOPWORDS = frozenset({"and", "of", "the", "for"})


def _visible(text: str) -> str:
    """NFKC-compose and drop invisible format characters (Unicode category Cf).

    NFKC reads full-width and compatibility forms ("ＴＤＫ", "ﬁ") as the letters they stand
    for. Zero-width spaces and joiners, soft hyphens, byte-order marks and bidirectional marks
    are Cf: they come with names pasted from web pages and PDFs, show nothing, and would
    otherwise split a word in two ("T\u200bDK", "Indus\u00adtries").
    """
    if text.isascii():
        return text
    composed = unicodedata.normalize("NFKC", text)
    return "".join(character for character in composed if unicodedata.category(character) != "Cf")


# Scripts whose letters are drawn alike: a Cyrillic "а" or a Greek "ο" inside a Latin word is
# a look-alike, not a spelling. Han, kana and Hangul are left out, so that a Japanese name
# mixing them (as Japanese does) or a Latin brand written next to them is never remapped.
_ALPHABETIC_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE")
_LETTER_RUN = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=4096)
def _script(character: str) -> str:
    from confusable_homoglyphs.categories import alias

    return str(alias(character))


@lru_cache(maxsize=4096)
def _look_alike(character: str, script: str) -> str | None:
    """A letter of ``script`` that Unicode's confusables data (UTS #39, via
    confusable_homoglyphs) gives as drawn like ``character``, casefolded; ASCII preferred."""
    from confusable_homoglyphs.confusables import confusables_data

    candidates = [
        entry["c"]
        for form in dict.fromkeys((character, character.upper()))
        for entry in confusables_data.get(form, ())
        if len(entry["c"]) == 1 and _script(entry["c"]) == script
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda candidate: (not candidate.isascii(), candidate)).casefold()


def _unmix_scripts(word: str) -> str:
    """A word mixing alphabetic scripts written in its main one, as UTS #39 mixed-script
    detection would flag it: "subаru" with a Cyrillic "а" becomes Latin "subaru", and
    "рoсатом" with a Latin "o" Cyrillic. Words in one script, however foreign, are kept."""
    scripts = [_script(character) for character in word]
    counts = {script: scripts.count(script) for script in _ALPHABETIC_SCRIPTS}
    if sum(count > 0 for count in counts.values()) < 2:
        return word
    # Most letters wins; a tie goes to Latin, the script of the listed names.
    main = max(_ALPHABETIC_SCRIPTS, key=lambda script: counts[script])
    return "".join(
        (_look_alike(character, main) or character)
        if script != main and script in _ALPHABETIC_SCRIPTS
        else character
        for character, script in zip(word, scripts, strict=True)
    )


def _latin_look_alike_word(word: str) -> str:
    """A word written wholly in another alphabet inside a Latin name ("ΝΕϹ" in Greek capitals
    in "ΝΕϹ Aerospace Systems"), in Latin when every letter has a Latin look-alike; otherwise
    as it is (a real Greek or Cyrillic word keeps its letters)."""
    scripts = {_script(character) for character in word}
    if len(scripts) != 1 or scripts & {"LATIN"} or not scripts <= set(_ALPHABETIC_SCRIPTS):
        return word
    latin = [_look_alike(character, "LATIN") for character in word]
    if any(letter is None for letter in latin):
        return word
    return "".join(letter for letter in latin if letter is not None)


def _unmix_name(text: str) -> str:
    """Mixed-script reading of a whole name (UTS #39 flags mixed scripts per identifier, not
    per word): each word mixing alphabets in its main script, then, when the name is mostly
    Latin, whole words of look-alike letters from another alphabet in Latin. A name mostly in
    another script is not pulled towards Latin: its Latin legal form ("Co", "OOO") stays."""
    words = [match.group(0) for match in _LETTER_RUN.finditer(text)]
    unmixed = {word: _unmix_scripts(word) for word in words}
    latin = sum(_script(character) == "LATIN" for word in unmixed.values() for character in word)
    letters = sum(len(word) for word in unmixed.values())
    mostly_latin = 2 * latin > letters

    def read(match: re.Match[str]) -> str:
        word = unmixed[match.group(0)]
        return _latin_look_alike_word(word) if mostly_latin else word

    return _LETTER_RUN.sub(read, text)


def _fold(text: str) -> str:
    """The one character normaliser behind every name comparison (screening, duplicate pairs,
    supplier ids): NFKC, invisible format characters dropped, casefolded, accents stripped
    (keeping letters that have no decomposition readable), and look-alike letters of another
    script mapped (:func:`_unmix_name`). Pure-ASCII text only casefolds.
    """
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", _visible(text).casefold())
    stripped = "".join(
        character for character in decomposed if not unicodedata.combining(character)
    ).translate(_LETTER_REPLACEMENTS)
    if stripped.isascii():
        return stripped
    return _unmix_name(stripped)


def canonical_name(name: str) -> str:
    """A name or id as identity compares it: :func:`_fold`, with runs of whitespace as one
    space, so "Acme", "ACME" and "Acme\u200b" are one supplier.

    Unlike :func:`normalise_entity_name` it keeps punctuation, legal forms and abbreviations:
    "Acme Ltd" and "Acme Inc" may be two companies, and two rows are refused as duplicates
    only when they name one supplier beyond doubt.
    """
    return " ".join(_fold(name).split())


def canonical_names(names: pl.Series) -> pl.Series:
    """:func:`canonical_name` of each cell (null stays null), each distinct value once.

    Pure-ASCII cells are lower-cased by polars, which agrees with :func:`canonical_name` on
    ASCII; only the distinct non-ASCII cells go through Python, so a column of millions of
    rows costs about as much as its distinct foreign names.
    """
    text = names.cast(pl.String)
    # One byte per character is ASCII in UTF-8.
    ascii_cells = text.str.len_bytes() == text.str.len_chars()
    foreign = text.filter(~ascii_cells.fill_null(True)).unique()
    mapping = {value: canonical_name(value) for value in foreign.to_list()}
    lowered = text.str.to_lowercase()
    # Python's str.split() whitespace within ASCII. Most names have only single spaces, and
    # three plain checks are cheaper than rewriting every cell.
    irregular_spacing = (
        text.str.contains("  ", literal=True)
        | text.str.contains(r"[\t\n\x0b\x0c\r\x1c-\x1f]")
        | text.str.starts_with(" ")
        | text.str.ends_with(" ")
    )
    if irregular_spacing.any():
        lowered = lowered.str.replace_all(r"[\t\n\x0b\x0c\r\x1c-\x1f ]+", " ").str.strip_chars(" ")
    if not mapping:
        return lowered.alias(names.name)
    remapped = text.replace_strict(mapping, default=None, return_dtype=pl.String)
    return lowered.zip_with(ascii_cells.fill_null(True), remapped).alias(names.name)


def _strip_legal_forms(tokens: list[str]) -> list[str]:
    """Remove stacked legal forms at the end and a legal form at the start, keeping one word."""
    stripped = True
    while stripped:
        stripped = False
        for form in _LEGAL_FORMS_BY_LAST_WORD.get(tokens[-1], ()) if tokens else ():
            if len(tokens) > len(form) and tuple(tokens[-len(form) :]) == form:
                tokens = tokens[: -len(form)]
                stripped = True
                break
        # "& Co., Ltd.": once "co ltd" is gone, the "and" left dangling belongs to it.
        if stripped and len(tokens) > 1 and tokens[-1] == "and":
            tokens = tokens[:-1]
    for form in _LEGAL_FORMS_AT_START:
        if len(tokens) > len(form) and tuple(tokens[: len(form)]) == form:
            tokens = tokens[len(form) :]
            break
    return tokens


def normalise_entity_name(name: str) -> str:
    """Normalise a company name for matching; keep the raw name for display.

    Reads characters as :func:`_fold` does (NFKC; invisible format characters such as
    zero-width spaces and soft hyphens dropped; look-alike letters of another script inside a
    word mapped to the word's script), casefolds, strips accents (NFKD), reads '&' and '+' as
    'and', drops punctuation (dotted
    initialisms such as "K.K." become one word), turns ordinals into numbers ("45th" -> "45",
    "No. 43" -> "43"), expands abbreviations and group acronyms (Hvy -> heavy, Ind./Inds ->
    industries, Mfg -> manufacturing, Intl -> international, MHI -> mitsubishi heavy
    industries) and removes legal forms: stacked at the end ("Co., Ltd.", "Corporation",
    "K.K.", "GmbH", "Sdn Bhd", "& Co." ...) and prefixed ("Kabushiki Kaisha", "PJSC", "The").
    At least one word is always kept.

    Parameters
    ----------
    name : str
        Raw company name.

    Returns
    -------
    str
        Lower-case words separated by single spaces; empty for an empty name.
    """
    if not name:
        return ""
    text = _APOSTROPHES.sub("", _fold(name))
    text = _AMPERSAND.sub(" and ", text)
    text = _DOTTED_INITIALISM.sub(lambda match: match.group(0).replace(".", ""), text)
    raw_tokens = _NON_WORD.sub(" ", text).split()
    tokens: list[str] = []
    for position, token in enumerate(raw_tokens):
        ordinal = _ORDINAL.match(token)
        if ordinal:
            token = ordinal.group(1)
        next_token = raw_tokens[position + 1] if position + 1 < len(raw_tokens) else ""
        if token == "no" and (next_token.isdigit() or _ORDINAL.match(next_token)):
            continue
        tokens.extend(ABBREVIATIONS.get(token, token).split())
    return " ".join(_strip_legal_forms(tokens))


def _is_acronym_of(candidate: str, preceding_text: str) -> bool:
    """Whether a parenthesised word abbreviates the words before it ("NUDT", "CASC")."""
    if not _ACRONYM.fullmatch(candidate):
        return False
    letters = "".join(character for character in _fold(preceding_text) if character.isalnum())
    acronym = candidate.casefold()
    if not letters or letters[0] != acronym[0]:
        return False
    remaining = iter(letters)
    return all(character in remaining for character in acronym)


# Screening meets the same supplier names again for every buyer country and every feature
# that reads them; normalising a name once saves most of the screening time on large inputs.
@lru_cache(maxsize=1 << 18)
def _name_variants(name: str, acronym_aliases: bool) -> tuple[str, ...]:
    """Normalised forms a name is compared under.

    A parenthesised acronym ("National University of Defense Technology (NUDT)") repeats the
    words before it, so the name is compared without it; with ``acronym_aliases`` (listed
    names) also as the acronym followed by the words after it ("NUDT"). Queries get no such
    alias, which would drop whatever words they put before the acronym.
    """
    name = _visible(name)
    acronyms = [
        match
        for match in _PARENTHESISED.finditer(name)
        if _is_acronym_of(match.group(1).strip(), name[: match.start()])
    ]
    forms = [name]
    if acronyms:
        pieces = []
        previous_end = 0
        for match in acronyms:
            pieces.append(name[previous_end : match.start()])
            previous_end = match.end()
        pieces.append(name[previous_end:])
        forms = [" ".join(pieces)]
        if acronym_aliases:
            forms.extend(match.group(1).strip() + " " + name[match.end() :] for match in acronyms)
    variants: list[str] = []
    for form in forms:
        normalised = normalise_entity_name(form)
        if len(normalised) >= MINIMUM_NAME_LENGTH and normalised not in variants:
            variants.append(normalised)
    return tuple(variants)


def _comparison_key(normalised: str) -> str:
    """The words that identify an entity, in name order: no stopwords, no legal forms."""
    words = normalised.split()
    kept = [word for word in words if word not in _STOPWORDS and word not in _LEGAL_WORDS_ANYWHERE]
    return " ".join(kept or words)


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
    query_keys: list[str], listed_keys: list[str], listed_key_indices: np.ndarray
) -> list[tuple[float, int | None]]:
    """Best (score, listed index) per query key; listed keys are ordered by listed index."""
    results: list[tuple[float, int | None]] = []
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


def match_names(
    query_names: Sequence[str | None], listed_names: Sequence[str]
) -> list[tuple[float, int | None]]:
    """Best-matching listed name for each query name.

    Parameters
    ----------
    query_names : Sequence[str | None]
        Buyer or supplier names as entered; None or empty for unknown.
    listed_names : Sequence[str]
        Listed entity names (e.g. ``entity_name`` of the listed-entities table), raw.

    Returns
    -------
    list[tuple[float, int | None]]
        One ``(score, listed_index)`` per query, in order. The score is in [0, 1]; compare it
        with :data:`LISTING_MATCH_THRESHOLD`. The index is None when the query is null, empty,
        shorter than :data:`MINIMUM_NAME_LENGTH` once normalised, or scores 0 against every
        listed name. Deterministic; ties go to the lowest listed index.
    """
    results: list[tuple[float, int | None]] = [(0.0, None)] * len(query_names)

    listed_key_index: dict[str, int] = {}
    for listed_index, listed_name in enumerate(listed_names):
        if not isinstance(listed_name, str):
            continue
        for variant in _name_variants(listed_name, acronym_aliases=True):
            listed_key_index.setdefault(_comparison_key(variant), listed_index)
    ordered_listed = sorted(listed_key_index.items(), key=lambda item: (item[1], item[0]))
    listed_keys = [key for key, _ in ordered_listed]
    listed_key_indices = np.array([index for _, index in ordered_listed], dtype=np.int64)

    positions_by_query: dict[str, list[int]] = {}
    for position, query_name in enumerate(query_names):
        if isinstance(query_name, str) and query_name.strip():
            positions_by_query.setdefault(query_name, []).append(position)
    if not listed_keys or not positions_by_query:
        return results

    keys_by_query = {
        query_name: [
            _comparison_key(variant)
            for variant in _name_variants(query_name, acronym_aliases=False)
        ]
        for query_name in positions_by_query
    }
    unique_query_keys = list(dict.fromkeys(key for keys in keys_by_query.values() for key in keys))
    best_by_key = dict(
        zip(
            unique_query_keys,
            _best_matches(unique_query_keys, listed_keys, listed_key_indices),
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


# Every word of a legal form, wherever it may stand: a name made only of these ("Co., Ltd.",
# "The Company Inc.") identifies nobody and would match every company of that form.
_LEGAL_FORM_WORDS = (
    frozenset(
        word
        for form in (*_LEGAL_FORMS_AT_END_TEXT, *(" ".join(form) for form in _LEGAL_FORMS_AT_START))
        for word in form.split()
    )
    | _LEGAL_WORDS_ANYWHERE
)


def has_distinctive_word(name: str) -> bool:
    """Whether a name keeps a word once legal forms and stopwords are set aside.

    "Co., Ltd." and "The Company Inc." have none; "Acme Co., Ltd." has "acme".
    """
    words = normalise_entity_name(name).split()
    return any(word not in _LEGAL_FORM_WORDS and word not in _STOPWORDS for word in words)
