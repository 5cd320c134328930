"""Proposals for purchase texts: the catalog material a text names, with a confidence and
the evidence that matched."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from riskengine.catalog import Catalog, normalise_material_text
from riskengine.mapping.content import (
    ALLOY_CODE,
    MAGNET_GRADE,
    PURITY_NINES,
    PURITY_PERCENT,
    content_share,
    purity_grade,
)
from riskengine.mapping.formulas import (
    COMMODITY_ELEMENTS,
    catalog_formulas,
    commodity_element,
    formula_key,
    parse_formula,
)
from riskengine.mapping.proposal import Proposal
from riskengine.mapping.vocabulary import (
    CJK,
    GRADE_CODE,
    HYDRATE_WORD,
    NOISE_WORDS,
    NUMBERISH,
    SCRIPT_BOUNDARY,
    TRANSLATIONS,
    USE_WORDS,
    compose,
    fold,
)

#: Confidence of each kind of evidence before penalties.
_EXACT = 1.0
_FORMULA = 0.95
_NAME_LONG = 0.92
_NAME_SHORT = 0.85
_MAGNET = 0.9
_FUZZY_WEIGHT = 0.6
# Below this WRatio similarity the closest name is noise ("Schrauben" ~ "sc6"), not a lead.
_FUZZY_CUTOFF = 85
_UNEXPLAINED_PENALTY = 0.12
_CONFLICT_PENALTY = 0.35


@dataclass(frozen=True)
class _Evidence:
    material_id: str
    strength: float
    words: frozenset[str]
    said: str
    element: str | None = None
    """The commodity, when the evidence is only an element's bare name ("nickel", "ニッケル"):
    weak evidence, which another material's name outranks."""


class MaterialMatcher:
    """Proposes catalog materials for purchase texts (built once per catalog)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._names = {compose(key): value for key, value in catalog.material_names().items()}
        self._translation = {
            fold(word): english for english, words in TRANSLATIONS.items() for word in words
        }
        for english in TRANSLATIONS:
            self._translation.setdefault(english, english)
        # Two-letter element symbols written as words ("Cr 65%", "Co 20%"), except those
        # that are common words in the languages read ("la", "ce", "in", "he").
        for commodity, symbol in COMMODITY_ELEMENTS.items():
            if len(symbol) == 2 and symbol.casefold() not in {"la", "ce", "in", "he"}:
                self._translation.setdefault(symbol.casefold(), commodity)
        # Noise words written without spaces ("硫酸ニッケル六水和物") must not stop a word
        # from splitting into known pieces.
        for word in NOISE_WORDS:
            if CJK.search(word):
                self._translation.setdefault(word, word)
        self._formulas: dict[str, tuple[str, str]] = {}
        for material_id in catalog.material_ids:
            for formula in catalog_formulas(catalog, material_id):
                self._formulas.setdefault(formula_key(formula), (material_id, formula))
        self._lexicon = sorted(self._translation, key=len, reverse=True)
        # Each Latin name with its words and what they mean in English ("naturgraphit":
        # natural, graphite), so that a name saying more ("spherical natural graphite")
        # outranks it whichever language either is written in.
        self._name_words: list[tuple[frozenset[str], str, str, frozenset[str]]] = []
        for key, material_id in self._names.items():
            if not CJK.search(key):
                words = frozenset(key.split())
                meaning = frozenset(piece for word in words for piece in self._segment(word))
                self._name_words.append((words, material_id, key, meaning))
        self._cjk_names = sorted(
            (_CjkName(key.replace(" ", ""), tuple(key.split()), material_id,
                      self._english_words(key))
             for key, material_id in self._names.items() if CJK.search(key)),
            key=lambda name: -len(name.key),
        )  # fmt: skip
        # Names as the catalog writes them, for reasons: normalised keys lose the Japanese
        # voicing marks ("コハルト" for "コバルト").
        self._written: dict[str, str] = {}
        for material_id in catalog.material_ids:
            for alias in catalog.material_aliases(material_id):
                key = compose(normalise_material_text(alias))
                self._written.setdefault(key, alias)
                self._written.setdefault(key.replace(" ", ""), alias)

    def propose(self, text: str) -> Proposal:
        """The best catalog material for ``text``, with confidence and evidence."""
        original = unicodedata.normalize("NFKC", text).strip()
        if not original:
            return Proposal(None, None, 0.0, "empty text")
        purity = purity_grade(original)
        whole = compose(normalise_material_text(original))
        if whole in self._names:
            return self._finish(
                _Evidence(self._names[whole], _EXACT, frozenset(), f"catalog name {whole!r}"),
                original,
                purity,
                unexplained=(),
                conflicts=(),
            )
        evidence: list[_Evidence] = []
        cleaned = PURITY_NINES.sub(" ", PURITY_PERCENT.sub(" ", original))
        # "NCM811前驱体", "N48SHネオジム磁石": a code runs into a CJK word without a space.
        cleaned = SCRIPT_BOUNDARY.sub(" ", cleaned)
        raw_tokens = [token for token in re.split(r"[\s,;/|]+", cleaned) if token]
        used: set[str] = set()
        for token in raw_tokens:
            bare = token.strip("()[]:-")
            found = self._formulas.get(formula_key(bare))
            if found is not None and len(bare) > 2:
                evidence.append(
                    _Evidence(found[0], _FORMULA, frozenset(), f"formula {bare} = {found[1]}")
                )
                used.add(fold(bare))
        grade = MAGNET_GRADE.search(cleaned)
        if grade is not None and "ndfeb_magnet" in self._catalog.material_ids:
            evidence.append(
                _Evidence(
                    "ndfeb_magnet",
                    _MAGNET,
                    frozenset({"magnet"}),
                    f"magnet grade {grade.group(0).upper()}",
                )
            )
            used.add(fold(grade.group(0)))
        words = [fold(word) for word in re.split(r"[\W_]+", cleaned) if word]
        for code in ALLOY_CODE.finditer(cleaned):
            used.add(fold(code.group(0)))
        words = [word for word in words if word not in used]
        codes, code_letters = _grade_codes(raw_tokens, used)
        # The English words of the catalog names found in CJK script ("천연흑연": natural,
        # graphite), so a more specific name read from the other words ("구형화": spherical)
        # can outrank them.
        named_words: set[str] = set()
        for name in self._cjk_names:
            if any(name.key in word for word in words):
                evidence.append(self._name_evidence(name.material_id, name.english, name.key))
                # What is left of the word ("基板" of "窒化ガリウム基板") is read on.
                words = [piece for word in words for piece in word.replace(name.key, " ").split()]
            elif name.key in "".join(words) or (
                len(name.parts) > 1 and all(part in words for part in name.parts)
            ):
                # A name written with spaces, in its order ("네오디뮴 자석") or not ("전기강판
                # 무방향성" for 무방향성 전기강판): its words are used up.
                evidence.append(self._name_evidence(name.material_id, name.english, name.key))
                words = [word for word in words if word not in name.key and word not in name.parts]
            else:
                continue
            named_words |= name.english
        english: list[str] = []
        origin: dict[str, str] = {}
        for word in words:
            for piece in self._segment(word):
                english.append(piece)
                origin.setdefault(piece, word)
        present = set(english) | set(words) | named_words | code_letters
        for name_words, material_id, key, meaning in self._name_words:
            if name_words <= present:
                evidence.append(self._name_evidence(material_id, meaning, key))
        evidence = _most_specific(evidence)
        if not evidence:
            return self._fuzzy(original, purity)
        named = [item for item in evidence if item.element is None] or evidence
        best = max(named, key=lambda item: (item.strength, len(item.words)))
        own = set(self._catalog.material(best.material_id).commodities)
        explained = set().union(*(item.words for item in evidence))
        # Naming the material's own element again ("Co 20%" beside "cobalt sulphate") is
        # no new evidence and no contradiction; another element ("NI COATED" on a magnet) is
        # a word not understood, not a rival material.
        explained |= own
        lineage = {
            ancestor for commodity in own for ancestor in self._catalog.commodity_lineage(commodity)
        }
        explained |= {use for use, served in USE_WORDS.items() if served & lineage}
        stray_elements = [
            item.element
            for item in evidence
            if item.element is not None and item.element not in own and item not in named
        ]
        unexplained = tuple(
            dict.fromkeys(
                [
                    *(
                        origin.get(word, word)
                        for word in english
                        if word not in explained
                        and word not in NOISE_WORDS
                        and origin.get(word, word) not in codes
                        and not NUMBERISH.match(word)
                        and not HYDRATE_WORD.match(word)
                        and len(word) > 1
                    ),
                    *(element for element in stray_elements if element not in english),
                ]
            )
        )
        conflicts = tuple(item for item in named if item.material_id != best.material_id)

        return self._finish(best, original, purity, unexplained, conflicts, evidence)

    def _name_evidence(self, material_id: str, words: frozenset[str], key: str) -> _Evidence:
        """Evidence of a catalog name found in the text; an element's bare name is weak."""
        written = self._written.get(key, key)
        element = self._translation.get(key, key.replace(" ", ""))
        if element in COMMODITY_ELEMENTS:
            return _Evidence(material_id, _NAME_SHORT, words, f"name {written!r}", element)
        strong = len(words) > 1 or len(key) >= 8 or bool(CJK.search(key))
        strength = _NAME_LONG if strong else _NAME_SHORT
        return _Evidence(material_id, strength, words, f"name {written!r}")

    def _english_words(self, key: str) -> frozenset[str]:
        """The English words of a catalog name in CJK script when every part of it translates
        ("천연흑연": natural, graphite); empty when a part does not."""
        pieces = [piece for part in key.split() for piece in self._segment(part)]
        if not set(pieces) <= set(self._translation.values()):
            return frozenset()
        return frozenset(piece for piece in pieces if piece not in NOISE_WORDS)

    def _segment(self, word: str) -> list[str]:
        """A word as English catalog words: itself translated, or split into known words
        ("kobaltsulfat" -> cobalt, sulphate; "酸化ジスプロシウム" -> oxide, dysprosium)."""
        if word in self._translation:
            return [self._translation[word]]
        pieces: list[str] = []
        position = 0
        while position < len(word):
            for candidate in self._lexicon:
                # Short Latin abbreviations ("co", "ni") only count as whole words.
                if len(candidate) < 3 and not CJK.search(candidate):
                    continue
                if word.startswith(candidate, position):
                    pieces.append(self._translation[candidate])
                    position += len(candidate)
                    break
            else:
                return [word]
        return pieces

    def _fuzzy(self, text: str, purity: str | None) -> Proposal:
        """No name, formula or grade matched: the closest catalog name is only named in the
        reason, and proposed (for review, never above it) only when it is close."""
        match = process.extractOne(
            compose(normalise_material_text(text)), list(self._names), scorer=fuzz.WRatio
        )
        if match is None or match[1] < _FUZZY_CUTOFF:
            closest = f"; closest catalog name {match[0]!r} ({match[1]:.0f})" if match else ""
            return Proposal(
                None, None, 0.0, f"no catalog name or formula found{closest}", purity=purity
            )
        key, score, _ = match
        material = self._catalog.material(self._names[key])
        return Proposal(
            material.material_id,
            material.stage,
            round(score / 100 * _FUZZY_WEIGHT, 2),
            f"closest catalog name {key!r} (similarity {score:.0f}); no word or formula matched",
            purity=purity,
        )

    def _finish(
        self,
        best: _Evidence,
        text: str,
        purity: str | None,
        unexplained: Iterable[str],
        conflicts: Iterable[_Evidence],
        evidence: Iterable[_Evidence] = (),
    ) -> Proposal:
        material = self._catalog.material(best.material_id)
        unexplained = tuple(unexplained)
        conflicts = tuple(conflicts)
        confidence = best.strength - min(0.4, _UNEXPLAINED_PENALTY * len(unexplained))
        if conflicts:
            confidence -= _CONFLICT_PENALTY
        said = list(
            dict.fromkeys(item.said for item in evidence if item.material_id == best.material_id)
        )
        said = said[:3] or [best.said]
        reason = "matched " + ", ".join(said)
        if unexplained:
            reason += f"; not understood: {' '.join(unexplained)}"
        if conflicts:
            others = dict.fromkeys(f"{item.material_id} ({item.said})" for item in conflicts)
            reason += f"; also suggests {', '.join(others)}"
        element, share, basis = content_share(
            material,
            text,
            self._formulas,
            commodity_element(self._catalog, material.primary_commodity),
        )
        return Proposal(
            material.material_id,
            material.stage,
            round(max(0.0, min(1.0, confidence)), 2),
            reason,
            element,
            share,
            basis,
            purity,
        )


@dataclass(frozen=True)
class _CjkName:
    """A catalog name in CJK script: without spaces, its space-separated parts, its material
    and its English words (empty when a part does not translate)."""

    key: str
    parts: tuple[str, ...]
    material_id: str
    english: frozenset[str]


def _grade_codes(tokens: Iterable[str], used: set[str]) -> tuple[set[str], set[str]]:
    """The words of grade and type codes ("AG-15", "SG17", "35PN250", "NCM811"), which say
    nothing against a material, and their runs of letters ("ncm"), which a catalog name may
    use ("NCM precursor"). A token that is a chemical formula ("CuSO4") is no code: a formula
    the catalog does not know counts against."""
    words: set[str] = set()
    letters: set[str] = set()
    for token in tokens:
        bare = token.strip("()[]:-")
        if fold(bare) in used or not GRADE_CODE.match(bare) or parse_formula(bare) is not None:
            continue
        runs = re.findall(r"[A-Za-z]+", bare)
        # Symbols in their capitals ("X5CrNi18-10", a steel's composition) are no code.
        if any(run not in (run.upper(), run.lower()) for run in runs):
            continue
        words.update(fold(word) for word in re.split(r"[\W_]+", bare) if word)
        letters.update(fold(run) for run in runs)
    return words, letters


def _most_specific(evidence: list[_Evidence]) -> list[_Evidence]:
    """Drop name evidence whose words are a strict subset of another material's ("cobalt"
    inside "cobalt sulphate"), so the bare element does not compete with the compound."""
    kept = []
    for item in evidence:
        subsumed = any(
            other.material_id != item.material_id and item.words and item.words < other.words
            for other in evidence
        )
        if not subsumed:
            kept.append(item)
    return kept
