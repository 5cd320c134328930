"""The one character normaliser behind every name comparison (screening, duplicate pairs,
supplier ids): NFKC, invisible format characters dropped, casefolded, accents stripped, and a
look-alike letter of another script inside a word (Unicode TR39 confusables) read in the
word's own script, so that "T\u200bDK" or "SUBАRU" with a Cyrillic "А" is not another company."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import polars as pl

_LETTER_REPLACEMENTS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


def visible(text: str) -> str:
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


def fold(text: str) -> str:
    """The one character normaliser behind every name comparison (screening, duplicate pairs,
    supplier ids): NFKC, invisible format characters dropped, casefolded, accents stripped
    (keeping letters that have no decomposition readable), and look-alike letters of another
    script mapped (:func:`_unmix_name`). Pure-ASCII text only casefolds.
    """
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", visible(text).casefold())
    stripped = "".join(
        character for character in decomposed if not unicodedata.combining(character)
    ).translate(_LETTER_REPLACEMENTS)
    if stripped.isascii():
        return stripped
    return _unmix_name(stripped)


def canonical_name(name: str) -> str:
    """A name or id as identity compares it: :func:`fold`, with runs of whitespace as one
    space, so "Acme", "ACME" and "Acme\u200b" are one supplier.

    Unlike :func:`~riskengine.names.entities.normalise_entity_name` it keeps punctuation,
    legal forms and abbreviations: "Acme Ltd" and "Acme Inc" may be two companies, and two
    rows are refused as duplicates only when they name one supplier beyond doubt.
    """
    return " ".join(fold(name).split())


def canonical_names(names: pl.Series) -> pl.Series:
    """:func:`canonical_name` of each cell (null stays null), each distinct value once.

    Pure-ASCII cells are lower-cased by polars, which agrees with :func:`canonical_name` on
    ASCII; only the distinct non-ASCII cells go through Python, so a column of millions of
    rows costs about as much as its distinct foreign names.
    """
    text = names.cast(pl.String)
    distinct = text.unique()
    # Sourcing lists repeat their suppliers, buyers and materials on many rows: normalising
    # each distinct value once and looking the rows up is 3-5 times faster on such columns.
    if 2 * distinct.len() < text.len():
        normalised = _canonical_cells(distinct)
        return text.replace_strict(
            distinct, normalised, default=None, return_dtype=pl.String
        ).alias(names.name)
    return _canonical_cells(text).alias(names.name)


def _canonical_cells(text: pl.Series) -> pl.Series:
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
        return lowered.alias(text.name)
    remapped = text.replace_strict(mapping, default=None, return_dtype=pl.String)
    return lowered.zip_with(ascii_cells.fill_null(True), remapped).alias(text.name)
