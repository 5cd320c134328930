"""Material master mapping: purchase texts and part numbers to catalog materials.

Two halves, both pure:

* :func:`propose_material` reads one purchase text ("Dysprosiumoxid Dy2O3 99,5%",
  "GERMANIUM TETRACHLORIDE GECL4 6N", "硫酸コバルト 七水和物") and proposes a catalog material
  with a confidence, the evidence that matched, a purity grade and, where the text or the
  formula gives one, the content share of the material's main element. Matching uses, in
  order: the catalog's own names (all its languages), chemical formulas, magnet grades, words
  translated from German, French, Spanish, Japanese, Korean and Chinese (and ERP
  abbreviations such as OXID, PULV, DRAHT), then rapidfuzz as a last resort that is never
  confident.
* :class:`MaterialMapping` is the team's reviewed mapping file, validated, applied before the
  catalog resolves a text: rows ``accepted`` or ``proposed`` are applied, ``review`` rows are
  not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from riskengine.catalog import Catalog, Material, normalise_material_text
from riskengine.errors import UserInputError

#: A proposal at or above this confidence is ``proposed`` (applied when the file is used
#: unchanged); below it, ``review`` (never applied until a person accepts it).
PROPOSE_THRESHOLD = 0.8
STATUS_PROPOSED = "proposed"
STATUS_REVIEW = "review"
STATUS_ACCEPTED = "accepted"
APPLIED_STATUSES = (STATUS_ACCEPTED, STATUS_PROPOSED)
MAPPING_STATUSES = (STATUS_ACCEPTED, STATUS_PROPOSED, STATUS_REVIEW)

#: Columns of a mapping file, in the order ``riskengine map`` writes them.
MAPPING_COLUMNS = (
    "part_number",
    "description",
    "rows",
    "material_id",
    "material",
    "stage",
    "confidence",
    "status",
    "reason",
    "content_element",
    "content_share",
    "content_basis",
    "purity",
)

#: Headers that carry a part number (SAP MATNR / IDNRK, Oracle "Item") and a purchase text
#: (SAP MAKTX / TXZ01, Oracle "Item Description"), as :func:`riskengine.io.columns`
#: normalises headers. Used by ``map`` and by ``--mapping`` only.
PART_NUMBER_ALIASES = (
    "part_number",
    "part_no",
    "matnr",
    "material_number",
    "item",
    "item_number",
    "idnrk",
    "materialnummer",
    "자재",
    "品目",
    "物料",
)
DESCRIPTION_ALIASES = (
    "material",
    "description",
    "material_description",
    "material_name",
    "maktx",
    "txz01",
    "item_description",
    "component_description",
    "ojtxp",
    "materialkurztext",
    "자재내역",
    "品目テキスト",
    "物料描述",
)

# --- elements ---------------------------------------------------------------------------------

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


# --- words of purchase texts ------------------------------------------------------------------

#: Words of purchase texts in German, French, Spanish, Japanese, Korean and Chinese, and ERP
#: abbreviations, translated into the English words of catalog names. Element names map to
#: the commodity's English name; forms to the word catalog names use.
_TRANSLATIONS: dict[str, tuple[str, ...]] = {
    "oxide": ("oxid", "ox", "oxyde", "oxido", "酸化", "산화", "氧化", "酸化物"),
    "dioxide": ("dioxid", "dioxyde", "dioxido", "二酸化", "이산화", "二氧化"),
    "metal": ("metall", "met", "metal", "metallique", "metalico", "メタル", "金属", "금속"),
    "sulphate": ("sulfat", "sulfate", "sulfato", "sulphate", "sulf", "硫酸", "황산"),
    "hydroxide": ("hydroxid", "hydroxyde", "hidroxido", "水酸化", "수산화", "氢氧化"),
    "carbonate": ("carbonat", "karbonat", "carbonato", "炭酸", "탄산", "碳酸"),
    "concentrate": (
        "konzentrat", "konz", "conc", "concentre", "concentrado", "精鉱", "정광", "精矿",
    ),
    "ore": ("erz", "minerai", "mineral", "鉱石", "광석", "矿"),
    "powder": ("pulver", "pulv", "pulv.", "poudre", "polvo", "粉", "粉末", "파우더", "분말"),
    "wire": ("draht", "drht", "fil", "alambre", "線", "선", "线"),
    "magnet": ("magnet", "magnete", "aimant", "iman", "磁石", "자석", "磁体", "磁铁"),
    "chloride": ("chlorid", "chlorure", "cloruro", "塩化", "염화", "氯化"),
    "tetrachloride": (
        "tetrachlorid", "tetrachlorure", "tetracloruro", "四塩化", "사염화", "四氯化",
    ),
    "carbide": ("carbid", "karbid", "carbure", "carburo", "炭化", "탄화", "碳化"),
    "steel": ("stahl", "acier", "acero", "鋼", "강", "钢"),
    "sponge": ("schwamm", "eponge", "esponja", "スポンジ", "스펀지", "海绵"),
    "cathode": ("kathode", "kathoden", "cathode", "catodo", "カソード", "캐소드", "阴极"),
    "ingot": ("barren", "lingot", "lingote", "インゴット", "잉곳", "锭"),
    "dysprosium": ("dysprosium", "disprosio", "dy", "ジスプロシウム", "디스프로슘", "镝"),
    "terbium": ("terbium", "terbio", "tb", "テルビウム", "테르븀", "铽"),
    "neodymium": ("neodym", "neodyme", "neodimio", "nd", "ネオジム", "네오디뮴", "钕"),
    "praseodymium": (
        "praseodym", "praseodyme", "praseodimio", "プラセオジム", "프라세오디뮴", "镨",
    ),
    "samarium": ("samario", "サマリウム", "사마륨", "钐"),
    "gadolinium": ("gadolinio", "ガドリニウム", "가돌리늄", "钆"),
    "yttrium": ("itrio", "イットリウム", "이트륨", "钇"),
    "lanthanum": ("lanthan", "lanthane", "lantano", "ランタン", "란탄", "镧"),
    "cerium": ("cer", "cerio", "セリウム", "세륨", "铈"),
    "cobalt": ("kobalt", "cobalto", "co", "コバルト", "코발트", "钴"),
    "nickel": ("nickel", "niquel", "ni", "ニッケル", "니켈", "镍"),
    "manganese": ("mangan", "manganese", "manganeso", "mn", "マンガン", "망간", "锰"),
    "lithium": ("lithium", "litio", "li", "リチウム", "리튬", "锂"),
    "gallium": ("gallium", "galio", "ga", "ガリウム", "갈륨", "镓"),
    "germanium": ("germanium", "germanio", "ge", "ゲルマニウム", "게르마늄", "锗"),
    "indium": ("indio", "インジウム", "인듐", "铟"),
    "titanium": ("titan", "titane", "titanio", "ti", "チタン", "티타늄", "钛"),
    "tungsten": ("wolfram", "tungstene", "wolframio", "タングステン", "텅스텐", "钨"),
    "molybdenum": (
        "molybdan", "molybdaen", "molybdene", "molibdeno", "モリブデン", "몰리브덴", "钼",
    ),
    "vanadium": ("vanadio", "バナジウム", "바나듐", "钒"),
    "niobium": ("niob", "niobio", "ニオブ", "니오븀", "铌"),
    "chromium": ("chrom", "chrome", "cromo", "クロム", "크롬", "铬"),
    "antimony": ("antimon", "antimoine", "antimonio", "アンチモン", "안티몬", "锑"),
    "tin": ("zinn", "etain", "estano", "スズ", "주석", "锡"),
    "tantalum": ("tantal", "tantale", "tantalo", "タンタル", "탄탈럼", "钽"),
    "silicon": ("silizium", "silicium", "silicio", "シリコン", "실리콘", "硅"),
    "copper": ("kupfer", "cuivre", "cobre", "cu", "銅", "구리", "铜"),
    "aluminium": ("aluminium", "aluminio", "アルミニウム", "알루미늄", "铝"),
    "magnesium": ("magnesio", "マグネシウム", "마그네슘", "镁"),
    "bismuth": ("bismut", "wismut", "bismuto", "ビスマス", "비스무트", "铋"),
    "platinum": ("platin", "platine", "platino", "pt", "白金", "プラチナ", "백금", "铂"),
    "palladium": ("palladio", "pd", "パラジウム", "팔라듐", "钯"),
    "rhodium": ("rhodio", "rh", "ロジウム", "로듐", "铑"),
    "iridium": ("iridio", "ir", "イリジウム", "이리듐", "铱"),
    "ruthenium": ("rutenio", "ru", "ルテニウム", "루테늄", "钌"),
    "graphite": ("graphit", "grafito", "黒鉛", "흑연", "石墨"),
}  # fmt: skip

#: Words that say nothing about which material it is: grades, packaging, units, forms of
#: delivery, hydrates and coatings. They neither count for nor against a proposal.
_NOISE_WORDS = frozenset(
    # A block of words reads (and is edited) more easily than a list literal.
    """
    kg g t mt lb lbs to tonne tonnes ton tons mm cm um µm m mesh drum drums fass sack bag
    bags bigbag big box kiste palette pallet pal lot charge batch grade grad gr qualitat
    quality qualite calidad purity reinheit purete pureza typ type art nr no item pos de en
    fur for und and et y mit with the der die das le la el los las of von du del para pour
    high low hochrein rein pure ultra ultrahigh battery batterie bateria bat bg eg ev hp
    hpa tech technical technisch technique tecnico sorte std standard spec premium a b c
    heptahydrat heptahydrate hexahydrat hexahydrate monohydrat monohydrate hydrat hydrate
    七水 六水 一水 七水和物 六水和物 一水和物 水和物 칠수화물 육수화물 일수화물
    基板 기판 衬底 ウェハ ウエハ 웨이퍼 晶圆 晶片 粉 めっき メッキ 도금 镀层 电镀
    배터리급 전지급 電池グレード 電池用 グレード 电池级 工业级 太阳能级
    flasche flaschen flaschenbundel bundel
    cylinder zylinder dewar vernickelt nickel-plated beschichtet coated revetu recubierto
    nicuni lose bulk granulat granules granulate flakes flake chips chip stueck stuck
    pieces powder sponge schwamm ingot cathode wafer wafers substrat substrate zoll inch in
    awg min max hc lc mc lump lumps block barren cathodes sheet sheets coil coils blech
    band strip roh raw neu new ware goods material werkstoff rohstoff
    """.split()  # noqa: SIM905
)

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_PURITY_PERCENT = re.compile(r"(?<![\d.,])(9\d(?:[.,]\d+)?|100)\s*%")
_PURITY_NINES = re.compile(r"(?<![A-Za-z0-9])([2-9])\s?N(\d)?(?![A-Za-z0-9])", re.IGNORECASE)
_MAGNET_GRADE = re.compile(r"(?<![A-Za-z0-9])N(\d{2})(M|H|SH|UH|EH|AH|TH)?(?![A-Za-z0-9])", re.I)
_HYDRATE_WORD = re.compile(r"^\d*(수화물|水和物|水合物|hydrat|hydrate)$")
_NUMBERISH = re.compile(r"^[\d.,x×/%+\-±ø]+[a-zµ]*$|^[a-z]?\d[\d.,x×/\-]*[a-z]{0,3}$")
_ALLOY_CODE = re.compile(r"(?<![A-Za-z])Fe(V|Mo|Nb|W|Cr|Mn|Si|Ti)\s?(\d{2})(?!\d)", re.I)
_PERCENT = r"(\d{1,2}(?:[.,]\d+)?)(?:\s*[-–]\s*(\d{1,2}(?:[.,]\d+)?))?\s*%"

#: Words naming a hydrate, with the water of its formula.
_HYDRATE_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("heptahydrat", "七水", "칠수"), "·7H2O"),
    (("hexahydrat", "六水", "육수"), "·6H2O"),
    (("monohydrat", "一水", "单水", "일수"), "·H2O"),
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
class Proposal:
    """What :func:`propose_material` proposes for one text (``material_id`` None: nothing)."""

    material_id: str | None
    stage: str | None
    confidence: float
    reason: str
    content_element: str | None = None
    content_share: float | None = None
    content_basis: str | None = None
    purity: str | None = None

    @property
    def status(self) -> str:
        """``proposed`` at or above :data:`PROPOSE_THRESHOLD`, else ``review``."""
        if self.material_id is not None and self.confidence >= PROPOSE_THRESHOLD:
            return STATUS_PROPOSED
        return STATUS_REVIEW


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
        self._names = {_compose(key): value for key, value in catalog.material_names().items()}
        self._translation = {
            _fold(word): english for english, words in _TRANSLATIONS.items() for word in words
        }
        for english in _TRANSLATIONS:
            self._translation.setdefault(english, english)
        # Two-letter element symbols written as words ("Cr 65%", "Co 20%"), except those
        # that are common words in the languages read ("la", "ce", "in", "he").
        for commodity, symbol in COMMODITY_ELEMENTS.items():
            if len(symbol) == 2 and symbol.casefold() not in {"la", "ce", "in", "he"}:
                self._translation.setdefault(symbol.casefold(), commodity)
        # Noise words written without spaces ("硫酸ニッケル六水和物") must not stop a word
        # from splitting into known pieces.
        for word in _NOISE_WORDS:
            if _CJK.search(word):
                self._translation.setdefault(word, word)
        self._formulas: dict[str, tuple[str, str]] = {}
        self._name_words: list[tuple[frozenset[str], str, str]] = []
        for key, material_id in self._names.items():
            words = frozenset(key.split())
            if not _CJK.search(key):
                self._name_words.append((words, material_id, key))
        for material_id in catalog.material_ids:
            for formula in _catalog_formulas(catalog, material_id):
                self._formulas.setdefault(_formula_key(formula), (material_id, formula))
        self._cjk_names = sorted(
            ((key.replace(" ", ""), material_id) for key, material_id in self._names.items()
             if _CJK.search(key)),
            key=lambda item: -len(item[0]),
        )  # fmt: skip
        self._lexicon = sorted(self._translation, key=len, reverse=True)
        # Names as the catalog writes them, for reasons: normalised keys lose the Japanese
        # voicing marks ("コハルト" for "コバルト").
        self._written: dict[str, str] = {}
        for material_id in catalog.material_ids:
            for alias in catalog.material_aliases(material_id):
                key = _compose(normalise_material_text(alias))
                self._written.setdefault(key, alias)
                self._written.setdefault(key.replace(" ", ""), alias)

    def propose(self, text: str) -> Proposal:
        """The best catalog material for ``text``, with confidence and evidence."""
        original = unicodedata.normalize("NFKC", text).strip()
        if not original:
            return Proposal(None, None, 0.0, "empty text")
        purity = _purity(original)
        whole = _compose(normalise_material_text(original))
        if whole in self._names:
            return self._finish(
                _Evidence(self._names[whole], _EXACT, frozenset(), f"catalog name {whole!r}"),
                original,
                purity,
                unexplained=(),
                conflicts=(),
            )
        evidence: list[_Evidence] = []
        cleaned = _PURITY_NINES.sub(" ", _PURITY_PERCENT.sub(" ", original))
        raw_tokens = [token for token in re.split(r"[\s,;/|]+", cleaned) if token]
        used: set[str] = set()
        for token in raw_tokens:
            bare = token.strip("()[]:-")
            found = self._formulas.get(_formula_key(bare))
            if found is not None and len(bare) > 2:
                evidence.append(
                    _Evidence(found[0], _FORMULA, frozenset(), f"formula {bare} = {found[1]}")
                )
                used.add(_fold(bare))
        grade = _MAGNET_GRADE.search(cleaned)
        if grade is not None and "ndfeb_magnet" in self._catalog.material_ids:
            evidence.append(
                _Evidence(
                    "ndfeb_magnet",
                    _MAGNET,
                    frozenset({"magnet"}),
                    f"magnet grade {grade.group(0).upper()}",
                )
            )
            used.add(_fold(grade.group(0)))
        words = [_fold(word) for word in re.split(r"[\W_]+", cleaned) if word]
        for code in _ALLOY_CODE.finditer(cleaned):
            used.add(_fold(code.group(0)))
        words = [word for word in words if word not in used]
        for key, material_id in self._cjk_names:
            if any(key in word for word in words):
                evidence.append(self._name_evidence(material_id, frozenset(), key))
                # What is left of the word ("基板" of "窒化ガリウム基板") is read on.
                words = [piece for word in words for piece in word.replace(key, " ").split()]
            elif key in "".join(words):
                # A name written with spaces ("네오디뮴 자석"): its words are used up.
                evidence.append(self._name_evidence(material_id, frozenset(), key))
                words = [word for word in words if word not in key]
        english: list[str] = []
        origin: dict[str, str] = {}
        for word in words:
            for piece in self._segment(word):
                english.append(piece)
                origin.setdefault(piece, word)
        present = set(english) | set(words)
        for name_words, material_id, key in self._name_words:
            if name_words <= present:
                evidence.append(self._name_evidence(material_id, name_words, key))
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
                        and word not in _NOISE_WORDS
                        and not _NUMBERISH.match(word)
                        and not _HYDRATE_WORD.match(word)
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
        strong = len(words) > 1 or len(key) >= 8 or bool(_CJK.search(key))
        strength = _NAME_LONG if strong else _NAME_SHORT
        return _Evidence(material_id, strength, words, f"name {written!r}")

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
                if len(candidate) < 3 and not _CJK.search(candidate):
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
            _compose(normalise_material_text(text)), list(self._names), scorer=fuzz.WRatio
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
        element, share, basis = _content(material, text, self._formulas)
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


def _compose(text: str) -> str:
    # The catalog's keys are decomposed (NFKD); recomposed, Hangul is in syllables again.
    return unicodedata.normalize("NFC", text)


def _fold(text: str) -> str:
    """Casefolded, without accents, recomposed (NFC) so Hangul stays in syllables."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", stripped)


def _formula_key(text: str) -> str:
    return re.sub(r"[\s·•∙*.\-]", "", text).casefold()


def _catalog_formulas(catalog: Catalog, material_id: str) -> list[str]:
    """The aliases of a material that are chemical formulas containing its main element
    (Dy2O3, GeCl4, CoSO4·7H2O, FeV), so "SC6" (a spodumene grade) is not read as S + C6."""
    material = catalog.material(material_id)
    symbol = COMMODITY_ELEMENTS.get(material.primary_commodity)
    formulas = []
    for name in catalog.material_aliases(material_id):
        compact = name.replace(" ", "")
        counts = parse_formula(compact) if re.fullmatch(r"[A-Za-z0-9()·.]+", compact) else None
        if counts and symbol in counts and (len(counts) > 1 or any(c.isdigit() for c in compact)):
            formulas.append(compact)
    return formulas


def _purity(text: str) -> str | None:
    nines = _PURITY_NINES.search(text)
    if nines is not None:
        return f"{nines.group(1)}N{nines.group(2) or ''}".upper()
    percent = _PURITY_PERCENT.search(text)
    if percent is not None:
        return f"{percent.group(1).replace(',', '.')}%"
    return None


def _content(
    material: Material, text: str, formulas: Mapping[str, tuple[str, str]]
) -> tuple[str | None, float | None, str | None]:
    """Content share of the material's main element: from an alloy percentage or code in the
    text (FeV80, "Cr 65%"), else from the formula's stoichiometry for compounds."""
    symbol = COMMODITY_ELEMENTS.get(material.primary_commodity)
    if symbol is None:
        return None, None, None
    if material.stage == "metal_alloy" and material.material_id.startswith(("ferro", "silico")):
        code = _ALLOY_CODE.search(text)
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
        found = formulas.get(_formula_key(token.strip("()[]:-")))
        if found is not None and found[0] == material.material_id:
            chosen = found[1]
            break
    if chosen is None:
        own = [formula for owner, formula in formulas.values() if owner == material.material_id]
        # "Kobaltsulfat-Heptahydrat" is CoSO4·7H2O: a hydrate named in words picks the
        # formula with that water.
        folded = _fold(text)
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


# --- the mapping file -------------------------------------------------------------------------


def part_number_key(part_number: str) -> str:
    """A part number as ERP systems compare it: trimmed, upper case, and an all-digit number
    without SAP's leading zeros (ALPHA conversion), so 000000000000104711 is 104711."""
    cleaned = part_number.strip().upper()
    if cleaned.isdigit():
        return cleaned.lstrip("0") or "0"
    return cleaned


@dataclass(frozen=True)
class MappingEntry:
    """One row of a mapping file, as it is applied."""

    line: int
    material_id: str | None
    status: str
    confidence: str | None

    @property
    def applied(self) -> bool:
        return self.status in APPLIED_STATUSES and self.material_id is not None


@dataclass(frozen=True)
class MaterialMapping:
    """A validated mapping file: part numbers and texts to catalog material ids.

    A row with a part number is found by that part number (ALPHA zeros ignored); a row
    without one by its description, normalised as the catalog compares names.
    """

    source: str
    sha256: str
    by_part_number: Mapping[str, MappingEntry]
    by_description: Mapping[str, MappingEntry]

    def lookup(self, part_number: str | None, text: str | None) -> MappingEntry | None:
        """The entry for a row's part number, else for its text; None when neither is in
        the mapping."""
        if part_number:
            entry = self.by_part_number.get(part_number_key(part_number))
            if entry is not None:
                return entry
        if text:
            entry = self.by_description.get(normalise_material_text(text))
            if entry is not None:
                return entry
            # A BOM may name a leaf by its part number in the component column.
            return self.by_part_number.get(part_number_key(text))
        return None

    def review_reason(self, entry: MappingEntry, written: str) -> str:
        """Why a row the mapping holds for review is not scored."""
        proposed = f" (proposed {entry.material_id}" if entry.material_id else " (nothing proposed"
        confidence = f", confidence {entry.confidence})" if entry.confidence else ")"
        return (
            f"material {written!r}: the mapping ({self.source} line {entry.line}) left it for "
            f"review{proposed}{confidence}; accept or correct that row"
        )


def parse_mapping(
    rows: Iterable[Mapping[str, Any]],
    *,
    columns: Iterable[str],
    source: str,
    sha256: str,
    catalog: Catalog,
) -> MaterialMapping:
    """Validate a mapping file's rows (text cells) into a :class:`MaterialMapping`.

    Raises
    ------
    UserInputError
        Naming the file and line of each problem: a missing ``material_id`` or ``status``
        column, a row with neither part number nor description, an unknown status, a
        ``material_id`` the catalog does not know, an applied row without one, or a part number
        or description given twice.
    """
    names = set(columns)
    missing = [name for name in ("material_id", "status") if name not in names]
    if missing or not names & {"part_number", "description"}:
        raise UserInputError(
            f"{source}: a mapping needs columns material_id, status and part_number or "
            f"description (as riskengine map writes them); missing: "
            f"{', '.join(missing) or 'part_number/description'}"
        )
    known = set(catalog.material_ids)
    problems: list[str] = []
    by_part: dict[str, MappingEntry] = {}
    by_text: dict[str, MappingEntry] = {}
    for line, row in enumerate(rows, start=2):
        part = _cell(row.get("part_number"))
        description = _cell(row.get("description"))
        material_id = _cell(row.get("material_id"))
        status = (_cell(row.get("status")) or "").casefold()
        where = f"{source} line {line}"
        if part is None and description is None:
            problems.append(f"{where}: neither part_number nor description")
            continue
        if status not in MAPPING_STATUSES:
            problems.append(
                f"{where}: status {status or '(empty)'!r} is not one of "
                + ", ".join(MAPPING_STATUSES)
            )
            continue
        if material_id is not None and material_id not in known:
            problems.append(f"{where}: unknown material_id {material_id!r}")
            continue
        if material_id is None and status in APPLIED_STATUSES:
            problems.append(f"{where}: status {status} needs a material_id")
            continue
        entry = MappingEntry(line, material_id, status, _cell(row.get("confidence")))
        table, key, label = (
            (by_part, part_number_key(part), f"part_number {part!r}")
            if part is not None
            else (
                by_text,
                normalise_material_text(description or ""),
                f"description {description!r}",
            )
        )
        if key in table:
            problems.append(f"{where}: {label} repeats line {table[key].line}")
            continue
        table[key] = entry
    if problems:
        shown = problems[:12]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise UserInputError("mapping file is unusable:\n" + "\n".join(shown) + more)
    return MaterialMapping(source, sha256, by_part, by_text)


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
