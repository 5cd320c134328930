"""What a purchase text says besides the material: its purity grade, a magnet grade or alloy
code, and the content share of the material's main element (from an alloy code or percentage,
or a formula's stoichiometry)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from riskengine.catalog import Material
from riskengine.mapping.formulas import COMMODITY_ELEMENTS, formula_key, mass_fraction
from riskengine.mapping.vocabulary import fold

PURITY_PERCENT = re.compile(r"(?<![\d.,])(9\d(?:[.,]\d+)?|100)\s*%")
PURITY_NINES = re.compile(r"(?<![A-Za-z0-9])([2-9])\s?N(\d)?(?![A-Za-z0-9])", re.IGNORECASE)
MAGNET_GRADE = re.compile(r"(?<![A-Za-z0-9])N(\d{2})(M|H|SH|UH|EH|AH|TH)?(?![A-Za-z0-9])", re.I)


ALLOY_CODE = re.compile(r"(?<![A-Za-z])Fe(V|Mo|Nb|W|Cr|Mn|Si|Ti)\s?(\d{2})(?!\d)", re.I)
_PERCENT = r"(\d{1,2}(?:[.,]\d+)?)(?:\s*[-–]\s*(\d{1,2}(?:[.,]\d+)?))?\s*%"

#: Words naming a hydrate, with the water of its formula.
_HYDRATE_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("heptahydrat", "七水", "칠수", "7수화", "7水和"), "·7H2O"),
    (("hexahydrat", "六水", "육수", "6수화", "6水和"), "·6H2O"),
    (("monohydrat", "一水", "单水", "일수", "1수화", "1水和"), "·H2O"),
)


def purity_grade(text: str) -> str | None:
    """The purity a text states, as nines ("5N", "4N5") or a percentage ("99.5%"); None if none."""
    nines = PURITY_NINES.search(text)
    if nines is not None:
        return f"{nines.group(1)}N{nines.group(2) or ''}".upper()
    percent = PURITY_PERCENT.search(text)
    if percent is not None:
        return f"{percent.group(1).replace(',', '.')}%"
    return None


def content_share(
    material: Material,
    text: str,
    formulas: Mapping[str, tuple[str, str]],
    element: str | None = None,
) -> tuple[str | None, float | None, str | None]:
    """Content share of the material's main element: from an alloy percentage or code in the
    text (FeV80, "Cr 65%"), else from the formula's stoichiometry for compounds.

    ``element`` is that element when the caller knows it (the matcher resolves it through the
    commodity's lineage, so a product commodity such as ferrochrome has Cr); else it is looked
    up for the material's primary commodity alone."""
    symbol = element or COMMODITY_ELEMENTS.get(material.primary_commodity)
    if symbol is None:
        return None, None, None
    if material.stage == "metal_alloy" and material.material_id.startswith(("ferro", "silico")):
        code = ALLOY_CODE.search(text)
        if code is not None and code.group(1).casefold() == symbol.casefold():
            return symbol, float(code.group(2)) / 100, f"alloy code {code.group(0)}"
        percent = re.search(
            rf"(?<![A-Za-z]){symbol}\s*{_PERCENT}|{_PERCENT}\s*{symbol}(?![a-z])", text
        )
        if percent is not None:
            low, high = (
                (percent.group(1), percent.group(2))
                if percent.group(1)
                else (percent.group(3), percent.group(4))
            )
            values = [float(value.replace(",", ".")) for value in (low, high) if value]
            share = sum(values) / len(values) / 100
            return symbol, round(share, 4), f"text: {percent.group(0).strip()}"
        return None, None, None
    if material.stage != "oxide_compound":
        return None, None, None
    chosen: str | None = None
    for token in re.split(r"[\s,;/|]+", unicodedata.normalize("NFKC", text)):
        found = formulas.get(formula_key(token.strip("()[]:-")))
        if found is not None and found[0] == material.material_id:
            chosen = found[1]
            break
    if chosen is None:
        own = [formula for owner, formula in formulas.values() if owner == material.material_id]
        # "Kobaltsulfat-Heptahydrat" is CoSO4·7H2O: a hydrate named in words picks the
        # formula with that water.
        folded = fold(text)
        for words, water in _HYDRATE_WORDS:
            if any(word in folded for word in words):
                own = [formula for formula in own if formula.endswith(water)] or own
                break
        else:
            own = [formula for formula in own if "·" not in formula] or own
        chosen = own[0] if own else None
    if chosen is None:
        return None, None, None
    fraction = mass_fraction(chosen, symbol)
    if fraction is None:
        return None, None, None
    return symbol, round(fraction, 4), f"stoichiometry {chosen} (IUPAC atomic weights)"
