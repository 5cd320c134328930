"""Chemical formulas: element counts, mass fractions (IUPAC atomic weights), and the
catalog aliases that are formulas."""

from __future__ import annotations

import re

from riskengine.catalog import Catalog

#: Standard atomic weights (abridged, four or five significant figures) from IUPAC, "Standard
#: atomic weights of the elements 2021" (Pure Appl. Chem. 2022; CIAAW table at
#: https://www.ciaaw.org/atomic-weights.htm, conventional values for interval elements).
#: Only the elements purchase texts of this catalog name.
ATOMIC_WEIGHTS: dict[str, float] = {
    "H": 1.008, "He": 4.0026, "Li": 6.94, "B": 10.81, "C": 12.011, "N": 14.007,
    "O": 15.999, "F": 18.998, "Na": 22.990, "Mg": 24.305, "Al": 26.982, "Si": 28.085,
    "P": 30.974, "S": 32.06, "Cl": 35.45, "K": 39.098, "Ca": 40.078, "Sc": 44.956,
    "Ti": 47.867, "V": 50.942, "Cr": 51.996, "Mn": 54.938, "Fe": 55.845, "Co": 58.933,
    "Ni": 58.693, "Cu": 63.546, "Zn": 65.38, "Ga": 69.723, "Ge": 72.630, "As": 74.922,
    "Se": 78.971, "Y": 88.906, "Zr": 91.224, "Nb": 92.906, "Mo": 95.95, "Ru": 101.07,
    "Rh": 102.91, "Pd": 106.42, "Ag": 107.87, "In": 114.82, "Sn": 118.71, "Sb": 121.76,
    "Te": 127.60, "La": 138.91, "Ce": 140.12, "Pr": 140.91, "Nd": 144.24, "Sm": 150.36,
    "Eu": 151.96, "Gd": 157.25, "Tb": 158.93, "Dy": 162.50, "Ho": 164.93, "Er": 167.26,
    "Tm": 168.93, "Yb": 173.05, "Lu": 174.97, "Hf": 178.49, "Ta": 180.95, "W": 183.84,
    "Re": 186.21, "Ir": 192.22, "Pt": 195.08, "Au": 196.97, "Bi": 208.98,
}  # fmt: skip

#: The element whose share describes a commodity's content (commodity id -> symbol).
COMMODITY_ELEMENTS: dict[str, str] = {
    "lanthanum": "La", "cerium": "Ce", "praseodymium": "Pr", "neodymium": "Nd",
    "samarium": "Sm", "europium": "Eu", "gadolinium": "Gd", "terbium": "Tb",
    "dysprosium": "Dy", "holmium": "Ho", "erbium": "Er", "thulium": "Tm", "ytterbium": "Yb",
    "lutetium": "Lu", "yttrium": "Y", "scandium": "Sc", "gallium": "Ga", "germanium": "Ge",
    "antimony": "Sb", "tungsten": "W", "cobalt": "Co", "lithium": "Li", "nickel": "Ni",
    "aluminium": "Al", "magnesium": "Mg", "indium": "In", "bismuth": "Bi", "vanadium": "V",
    "tin": "Sn", "molybdenum": "Mo", "tantalum": "Ta", "niobium": "Nb", "manganese": "Mn",
    "chromium": "Cr", "platinum": "Pt", "palladium": "Pd", "rhodium": "Rh", "iridium": "Ir",
    "ruthenium": "Ru", "silicon": "Si", "titanium": "Ti", "tellurium": "Te", "copper": "Cu",
    "iron": "Fe", "helium": "He",
}  # fmt: skip

_FORMULA_PART = re.compile(r"([A-Z][a-z]?)(\d*(?:\.\d+)?)|(\()|(\))(\d*(?:\.\d+)?)")
_HYDRATE = re.compile(r"^(\d*)(.+)$")


def parse_formula(formula: str) -> dict[str, float] | None:
    """Element counts of a chemical formula written with its capitals ("Dy2O3",
    "NiSO4·6H2O", "Co(OH)2", "Ni0.8Co0.1Mn0.1(OH)2"); None when it is not one."""
    counts: dict[str, float] = {}
    for index, part in enumerate(re.split(r"[·•∙*]|\.(?=\d*[A-Z])", formula)):
        match = _HYDRATE.match(part.strip())
        if match is None or (index == 0 and match.group(1)):
            return None
        multiplier = float(match.group(1) or 1)
        parsed = _parse_group(match.group(2))
        if parsed is None:
            return None
        for symbol, count in parsed.items():
            counts[symbol] = counts.get(symbol, 0.0) + multiplier * count
    return counts or None


def _parse_group(text: str) -> dict[str, float] | None:
    stack: list[dict[str, float]] = [{}]
    position = 0
    while position < len(text):
        match = _FORMULA_PART.match(text, position)
        if match is None:
            return None
        symbol, count, opening, closing, group_count = match.groups()
        if symbol:
            if symbol not in ATOMIC_WEIGHTS:
                return None
            stack[-1][symbol] = stack[-1].get(symbol, 0.0) + float(count or 1)
        elif opening:
            stack.append({})
        elif closing:
            if len(stack) < 2:
                return None
            inner = stack.pop()
            for inner_symbol, inner_count in inner.items():
                stack[-1][inner_symbol] = stack[-1].get(inner_symbol, 0.0) + inner_count * float(
                    group_count or 1
                )
        position = match.end()
    return stack[0] if len(stack) == 1 and stack[0] else None


def mass_fraction(formula: str, symbol: str) -> float | None:
    """Share by mass of ``symbol`` in ``formula`` (Dy2O3, Dy -> 0.871); None if absent."""
    counts = parse_formula(formula)
    if not counts or symbol not in counts:
        return None
    total = sum(ATOMIC_WEIGHTS[element] * count for element, count in counts.items())
    return ATOMIC_WEIGHTS[symbol] * counts[symbol] / total


def formula_key(text: str) -> str:
    """A formula as lookups compare it: no spaces, middle dots or hyphens, casefolded."""
    return re.sub(r"[\s·•∙*.\-]", "", text).casefold()


def commodity_element(catalog: Catalog, commodity_id: str) -> str | None:
    """The element describing a commodity's content: its own, else its nearest ancestor's (a
    product commodity such as ferrochrome, under chromium, takes Cr); None if none has one."""
    for commodity in catalog.commodity_lineage(commodity_id):
        symbol = COMMODITY_ELEMENTS.get(commodity)
        if symbol is not None:
            return symbol
    return None


def catalog_formulas(catalog: Catalog, material_id: str) -> list[str]:
    """The aliases of a material that are chemical formulas containing its main element
    (Dy2O3, GeCl4, CoSO4·7H2O, FeV), so "SC6" (a spodumene grade) is not read as S + C6."""
    material = catalog.material(material_id)
    symbol = commodity_element(catalog, material.primary_commodity)
    formulas = []
    for name in catalog.material_aliases(material_id):
        compact = name.replace(" ", "")
        counts = parse_formula(compact) if re.fullmatch(r"[A-Za-z0-9()·.]+", compact) else None
        if counts and symbol in counts and (len(counts) > 1 or any(c.isdigit() for c in compact)):
            formulas.append(compact)
    return formulas
