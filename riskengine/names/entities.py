"""Company names as screening compares them: punctuation, ordinals, abbreviations and legal
forms read away (:func:`normalise_entity_name`), and the forms a name is compared under."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from riskengine.names.characters import fold, visible

MINIMUM_NAME_LENGTH: int = 3
"""Names normalising to fewer characters than this score 0: too short to identify anyone."""


_APOSTROPHES = re.compile(r"['’‘`´]")
_AMPERSAND = re.compile(r"[&+]")
# Dotted initialisms such as "k.k.", "s.p.a." or "u.s.a." collapse into one word instead of
# splitting into single letters; other full stops separate words ("Ind.Aero").
_DOTTED_INITIALISM = re.compile(r"(?<!\w)[^\W\d_](?:\.[^\W\d_])+\.?(?!\w)")
_NON_WORD = re.compile(r"[\W_]+")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")


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


def _index_by_first_word(
    forms: Iterable[tuple[str, ...]],
) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Legal forms keyed by their first word, in their given order, so that stripping a
    name's start looks only at the forms that can match it (screening normalises every
    distinct supplier of a list)."""
    index: dict[str, tuple[tuple[str, ...], ...]] = {}
    for form in forms:
        index[form[0]] = (*index.get(form[0], ()), form)
    return index


_LEGAL_FORMS_BY_FIRST_WORD = _index_by_first_word(_LEGAL_FORMS_AT_START)
# Legal forms that never carry a company's identity, so comparison ignores them wherever they
# stand ("China Electronics Technology Group Corporation 43 Research Institute").
LEGAL_WORDS_ANYWHERE = frozenset(
    {"corporation", "corp", "incorporated", "inc", "limited", "ltd", "llc", "plc", "gmbh", "kk"}
)
STOPWORDS = frozenset({"and", "of", "the", "for"})


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
    for form in _LEGAL_FORMS_BY_FIRST_WORD.get(tokens[0], ()) if tokens else ():
        if len(tokens) > len(form) and tuple(tokens[: len(form)]) == form:
            tokens = tokens[len(form) :]
            break
    return tokens


def normalise_entity_name(name: str) -> str:
    """Normalise a company name for matching; keep the raw name for display.

    Reads characters as :func:`~riskengine.names.characters.fold` does (NFKC; invisible format
    characters such as zero-width spaces and soft hyphens dropped; look-alike letters of
    another script inside a word mapped to the word's script), casefolds, strips accents
    (NFKD), reads '&' and '+' as 'and', drops punctuation (dotted initialisms such as "K.K."
    become one word), turns ordinals into numbers ("45th" -> "45", "No. 43" -> "43"), expands
    abbreviations and group acronyms (Hvy -> heavy, Ind./Inds -> industries, Mfg ->
    manufacturing, Intl -> international, MHI -> mitsubishi heavy industries) and removes
    legal forms: stacked at the end ("Co., Ltd.", "Corporation", "K.K.", "GmbH", "Sdn Bhd",
    "& Co." ...) and prefixed ("Kabushiki Kaisha", "PJSC", "The"). At least one word is
    always kept.

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
    text = _APOSTROPHES.sub("", fold(name))
    text = _AMPERSAND.sub(" and ", text)
    text = _DOTTED_INITIALISM.sub(lambda match: match.group(0).replace(".", ""), text)
    raw_tokens = _NON_WORD.sub(" ", text).split()
    tokens: list[str] = []
    for position, token in enumerate(raw_tokens):
        # str.isdigit takes every character \d does (and more), so it rules words out first.
        if token[0].isdigit():
            ordinal = _ORDINAL.match(token)
            if ordinal:
                token = ordinal.group(1)
        if token == "no":
            next_token = raw_tokens[position + 1] if position + 1 < len(raw_tokens) else ""
            if next_token.isdigit() or _ORDINAL.match(next_token):
                continue
        expanded = ABBREVIATIONS.get(token)
        if expanded is None:
            tokens.append(token)
        else:
            tokens.extend(expanded.split())
    return " ".join(_strip_legal_forms(tokens))


def _is_acronym_of(candidate: str, preceding_text: str) -> bool:
    """Whether a parenthesised word abbreviates the words before it ("NUDT", "CASC")."""
    if not _ACRONYM.fullmatch(candidate):
        return False
    letters = "".join(character for character in fold(preceding_text) if character.isalnum())
    acronym = candidate.casefold()
    if not letters or letters[0] != acronym[0]:
        return False
    remaining = iter(letters)
    return all(character in remaining for character in acronym)


# Screening meets the same supplier names again for every buyer country and every feature
# that reads them; normalising a name once saves most of the screening time on large inputs.
@lru_cache(maxsize=1 << 18)
def name_variants(name: str, acronym_aliases: bool) -> tuple[str, ...]:
    """Normalised forms a name is compared under.

    A parenthesised acronym ("National University of Defense Technology (NUDT)") repeats the
    words before it, so the name is compared without it; with ``acronym_aliases`` (listed
    names) also as the acronym followed by the words after it ("NUDT"). Queries get no such
    alias, which would drop whatever words they put before the acronym.
    """
    name = visible(name)
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


def comparison_key(normalised: str) -> str:
    """The words that identify an entity, in name order: no stopwords, no legal forms."""
    words = normalised.split()
    kept = [word for word in words if word not in STOPWORDS and word not in LEGAL_WORDS_ANYWHERE]
    return " ".join(kept or words)


# Every word of a legal form, wherever it may stand: a name made only of these ("Co., Ltd.",
# "The Company Inc.") identifies nobody and would match every company of that form.
_LEGAL_FORM_WORDS = (
    frozenset(
        word
        for form in (*_LEGAL_FORMS_AT_END_TEXT, *(" ".join(form) for form in _LEGAL_FORMS_AT_START))
        for word in form.split()
    )
    | LEGAL_WORDS_ANYWHERE
)


def has_distinctive_word(name: str) -> bool:
    """Whether a name keeps a word once legal forms and stopwords are set aside.

    "Co., Ltd." and "The Company Inc." have none; "Acme Co., Ltd." has "acme".
    """
    words = normalise_entity_name(name).split()
    return any(word not in _LEGAL_FORM_WORDS and word not in STOPWORDS for word in words)
